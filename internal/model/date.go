package model

import "time"

// DateLayout is how dates are stored and compared: ISO, so text order is
// date order.
const DateLayout = "2006-01-02"

func shift(date string, days int) string {
	if days == 0 {
		return date
	}
	t, err := time.Parse(DateLayout, date)
	if err != nil {
		return date
	}
	return t.AddDate(0, 0, days).Format(DateLayout)
}
