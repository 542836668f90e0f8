// Package duration is the one way spendsync reads a period of time, in the
// config (max_age, retention, timeouts) and on the command line (--since,
// --until, --max-age, --timeout): Go durations plus days and weeks, so
// "7d", "26h", "2w" and "1d12h" all work.
package duration

import (
	"errors"
	"strings"
	"time"

	"github.com/xhit/go-str2duration/v2"
)

// Examples is how messages tell a user what a duration looks like.
const Examples = "such as 90s, 30m, 26h, 7d or 2w"

// Parse reads a non-negative duration. "0" is zero (the usual "off"); any
// other bare number is refused, because "max_age: 26" could mean seconds,
// hours or days and a wrong guess is silent.
func Parse(s string) (time.Duration, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, errors.New("empty: expected a duration " + Examples)
	}
	if v == "0" {
		return 0, nil
	}
	if strings.Trim(v, "0123456789.") == "" {
		return 0, errors.New("a number needs a unit, " + Examples + " (0 switches it off)")
	}
	if strings.HasPrefix(v, "-") {
		return 0, errors.New("must not be negative")
	}
	d, err := str2duration.ParseDuration(v)
	if err != nil || d < 0 { // d < 0: the sum overflowed
		return 0, errors.New("not a duration " + Examples)
	}
	return d, nil
}

// String writes d the way Parse reads it, in the largest whole units
// ("7d", "26h", "1d12h" rather than "36h0m0s").
func String(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return str2duration.String(d)
}
