package lifecycle

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/spendsync/spendsync/internal/atomicfile"
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
	// Never through a symbolic link: a run writes and truncates this file,
	// so a link planted here would let anyone who can write to the folder
	// empty any file the run may write.
	// SQLite opens the database and its -wal, -shm and -journal files
	// following links: refuse those too, before anything is opened.
	for _, p := range []string{path, dbPath, dbPath + "-wal", dbPath + "-shm", dbPath + "-journal"} {
		if err := atomicfile.RefuseLink(p); err != nil {
			return nil, fmt.Errorf("writer lock: %w", err)
		}
	}
	// Create it private first: flock's own create gives 0600 on Unix,
	// but on Windows only the folder's inherited ACL.
	if f, err := atomicfile.CreatePrivate(path); err == nil {
		f.Close()
	}
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|atomicfile.NoFollow), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		if rerr := atomicfile.RefuseLink(path); rerr != nil {
			return nil, fmt.Errorf("writer lock: %w", rerr)
		}
		return nil, atomicfile.Wrap("lock", path, err)
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
	_ = rewrite(path, strconv.Itoa(os.Getpid())+"\n")
	return &Lock{fl: fl, path: path}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error {
	_ = rewrite(l.path, "")
	return l.fl.Unlock()
}

// rewrite replaces the lock file's content, refusing a link swapped in
// since it was locked.
func rewrite(path, content string) error {
	f, err := atomicfile.OpenNoFollow(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteString(content)
	return err
}
