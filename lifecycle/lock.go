package lifecycle

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// ErrLocked means another spendsync holds the writer lock.
var ErrLocked = errors.New("another spendsync holds the lock on this database")

// Lock is the one-writer-per-database lock, a file beside the database.
type Lock struct {
	fl   *flock.Flock
	path string
}

// Acquire takes the writer lock for the database at dbPath without waiting.
// The holder's pid is written into the lock file so the refusal can name it.
func Acquire(dbPath string) (*Lock, error) {
	path := dbPath + ".lock"
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		// The holder writes its pid just after locking: give it a moment.
		holder := "unknown pid"
		for range 10 {
			if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				holder = "pid " + strings.TrimSpace(string(b))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		return nil, fmt.Errorf("%s (%s, lock file %s): %w", dbPath, holder, path, ErrLocked)
	}
	// Best effort: Windows forbids writing a locked range through a second
	// handle, and then the refusal says "unknown pid".
	_ = os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return &Lock{fl: fl, path: path}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	_ = os.Truncate(l.path, 0)
	return l.fl.Unlock()
}
