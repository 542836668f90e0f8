package duration

import (
	"strings"
	"testing"
	"time"
)

func TestParseAcceptsDaysWeeksAndGoDurations(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"7d", 7 * day},
		{"26h", 26 * time.Hour},
		{"2w", 14 * day},
		{"1d12h", 36 * time.Hour},
		{"90m", 90 * time.Minute},
		{"45s", 45 * time.Second},
		{"1.5h", 90 * time.Minute},
		{"400d", 400 * day},
		{" 3d ", 3 * day},
		{"0s", 0},
		{"500ms", 500 * time.Millisecond},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRefusesWithAMessageThatSaysWhatFits(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"3601", "a number needs a unit"},
		{"3600", "a number needs a unit"},
		{"-7d", "must not be negative"},
		{"7 days", "not a duration such as"},
		{"7x", "not a duration such as"},
		{"d", "not a duration"},
		{"99999999999w", "not a duration"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
		if err != nil && len(tc.in) > 1 && strings.Contains(err.Error(), tc.in) {
			t.Errorf("Parse(%q) error echoes the value: %v", tc.in, err)
		}
	}
}

func TestStringRoundTripsThroughParse(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 26 * time.Hour, 7 * 24 * time.Hour, 36 * time.Hour, 90 * time.Minute} {
		back, err := Parse(String(d))
		if err != nil || back != d {
			t.Errorf("Parse(String(%v)) = Parse(%q) = %v, %v", d, String(d), back, err)
		}
	}
	if got := String(7 * 24 * time.Hour); got != "1w" && got != "7d" {
		t.Errorf("String(7 days) = %q", got)
	}
}
