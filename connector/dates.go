package connector

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

// dateLayouts are the common layouts a file's failing dates are tried
// against (those ParseDate accepts whatever the layout, ISO dates and
// timestamps, never fail). Day-first and month-first pairs are both
// listed: a file whose days are all 12 or less fits both.
var dateLayouts = []string{"02-01-2006", "01-02-2006", "20060102", "02/01/2006", "01/02/2006", "02.01.2006"}

// dateCheck counts the dates of one file against date_format and keeps,
// for the ones that fail, the common layouts that still fit every one of
// them: a failing value is tried only against those, so a file of bad
// dates costs a parse or two per value and a good file nothing.
type dateCheck struct {
	file          string
	total, failed int
	fits          []string // nil until the first failure
	example       string   // the first failing value, by line
	exampleLine   int
	line          int // of the row whose dates are seen
}

func (d *dateCheck) see(v string, ok bool) {
	if d == nil {
		return
	}
	d.total++
	if ok {
		return
	}
	// A second pass sees the rows the first left unchecked after it, so
	// the first failing value is the one of the lowest line.
	if d.failed == 0 || d.line < d.exampleLine {
		d.example, d.exampleLine = v, d.line
	}
	if d.failed == 0 {
		d.fits = slices.Clone(dateLayouts)
	}
	d.failed++
	d.fits = slices.DeleteFunc(d.fits, func(l string) bool { _, err := time.Parse(l, v); return err != nil })
}

// verdict is the config error of a file whose dates mostly fail
// date_format while one common layout fits all that fail: hundreds of
// rejects one by one would hide it (and persons would join without
// their contracts). Nil otherwise: a few bad dates stay rejects.
func (d *dateCheck) verdict(src *Source) error {
	if d == nil || d.failed == 0 || d.failed*2 <= d.total || len(d.fits) == 0 {
		return nil
	}
	key := "date_format"
	if src.Key != "" {
		key = src.Key + "." + key
	}
	what := fmt.Sprintf("%d of the %d dates in %s (first %s) do not match %q", d.failed, d.total, show.Text(d.file), show.Quote(d.example), src.DateFormat)
	if len(d.fits) == 1 {
		return &fault.KeyError{Key: key, Err: fmt.Errorf("%s; they all fit %q: set %s: %q", what, d.fits[0], key, d.fits[0])}
	}
	quoted := make([]string, len(d.fits))
	for i, l := range d.fits {
		quoted[i] = fmt.Sprintf("%q", l)
	}
	return &fault.KeyError{Key: key, Err: fmt.Errorf("%s; they all fit %s: every day and month in them is 12 or less, so the data cannot tell day-first from month-first apart; set %s to the one the HR system writes",
		what, strings.Join(quoted, " and "), key)}
}

// ParseDate reads a date in layout, or in an unambiguous ISO form (some
// exports switch to ISO timestamps), and returns it as YYYY-MM-DD.
func ParseDate(v, layout string) (string, error) {
	if iso, ok := numericDate(v, layout); ok {
		return iso, nil
	}
	for _, l := range []string{layout, model.DateLayout, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.Format(model.DateLayout), nil
		}
	}
	return "", fmt.Errorf("date %s does not match %q", show.Quote(v), layout)
}

// numericDate is ParseDate's quick way for a layout of the day (02), the
// month (01) and the year (2006) in digits between separators, the
// layouts HR exports use: time.Parse and Format cost a fifth of reading
// a contracts file. ok is false for anything it does not accept exactly
// as time.Parse would (then ParseDate tries the slow way, which also
// words the error).
func numericDate(v, layout string) (iso string, ok bool) {
	var year, month, day string
	i := 0
	for j := 0; j < len(layout); {
		var field *string
		var n int
		switch {
		case strings.HasPrefix(layout[j:], "2006"):
			field, n = &year, 4
		case strings.HasPrefix(layout[j:], "01"):
			field, n = &month, 2
		case strings.HasPrefix(layout[j:], "02"):
			field, n = &day, 2
		case strings.IndexByte("-/.", layout[j]) >= 0:
			if i >= len(v) || v[i] != layout[j] {
				return "", false
			}
			i, j = i+1, j+1
			continue
		default:
			return "", false
		}
		if *field != "" || i+n > len(v) || !digits(v[i:i+n]) {
			return "", false
		}
		*field = v[i : i+n]
		i, j = i+n, j+n
	}
	if i != len(v) || year == "" || month == "" || day == "" {
		return "", false
	}
	y, m, d := atoiDigits(year), atoiDigits(month), atoiDigits(day)
	if m < 1 || m > 12 || d < 1 || d > daysIn(m, y) {
		return "", false
	}
	if layout == model.DateLayout {
		return v, true
	}
	return year + "-" + month + "-" + day, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoiDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
