package main

import (
	"time"

	"github.com/spendsync/spendsync/internal/duration"
)

// durationFlag is a flag read by the same parser as the config's durations,
// so --max-age 7d works as max_age: 7d does.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return "0"
	}
	return duration.String(*f.d)
}

func (f durationFlag) Set(s string) error {
	d, err := duration.Parse(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (f durationFlag) Type() string { return "duration" }
