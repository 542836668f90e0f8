// Package fault declares the two error shapes every stage of spendsync
// shares, so the command maps each to its exit code in one place.
package fault

import (
	"errors"
	"fmt"
)

// ErrSafetyStop marks a refusal to apply a change that looks like a broken
// source or state rather than real HR news (exit 3). --force lets it through
// once, recorded as a force event.
var ErrSafetyStop = errors.New("safety stop")

// KeyError names the configuration key that is wrong, relative to the
// section that validated it; the config loader prefixes the section's path.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// Key returns a *KeyError for key with a formatted message.
func Key(key, format string, args ...any) error {
	return &KeyError{Key: key, Err: fmt.Errorf(format, args...)}
}
