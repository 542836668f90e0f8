package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// A preview (diff --sources, run --dry-run) does a real run's work on a
// copy of the database: one consistent snapshot in a private folder beside
// it, removed afterwards. The folder's name starts with atomicfile's
// temporary prefix and the copy sits inside it, so nothing takes it for
// the database; a lock file inside tells a live preview's folder from one
// a killed preview left.
const copyPattern = atomicfile.TempPrefix + "preview-*"

// staleCopyAge: a folder without its lock taken is only removed once it is
// this old, so a preview that has just created its folder and not yet
// locked it keeps it.
const staleCopyAge = time.Minute

// Copy is a private, writable copy of a database; Close removes it.
type Copy struct {
	*Store
	dir  string
	lock *flock.Flock
}

// OpenCopy copies the database into a new 0700 folder beside it (VACUUM
// INTO: one snapshot, read while writers go on, without the writer lock)
// and opens the copy (0600) for writing. The database itself is only read.
// It first removes the folders of earlier previews that were killed.
func (s *Store) OpenCopy(ctx context.Context) (*Copy, error) {
	parent := filepath.Dir(s.path)
	removeStaleCopies(parent)
	dir, err := os.MkdirTemp(parent, copyPattern) // 0700
	if err != nil {
		return nil, fmt.Errorf("preview copy: %w", err)
	}
	c := &Copy{dir: dir}
	c.lock = flock.New(filepath.Join(dir, "lock"), flock.SetFlag(os.O_CREATE|os.O_RDWR|atomicfile.NoFollow), flock.SetPermissions(0o600))
	if ok, err := c.lock.TryLock(); err != nil || !ok {
		c.Close()
		if err == nil {
			err = ErrLocked
		}
		return nil, fmt.Errorf("preview copy: lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, "copy.db")
	f, err := atomicfile.OpenNoFollow(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err == nil {
		f.Close()
		err = s.vacuumInto(ctx, path)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("preview copy of %s: %w", s.path, err)
	}
	if c.Store, err = Open(path, Existing); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Dir is the copy's private folder: scratch space for the preview.
func (c *Copy) Dir() string { return c.dir }

// Close closes the copy and removes its folder with everything in it.
func (c *Copy) Close() error {
	if c.Store != nil {
		c.Store.Close()
	}
	if c.lock != nil {
		c.lock.Unlock()
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove preview copy: %w", err)
	}
	return nil
}

// removeStaleCopies removes the preview folders in dir whose preview is
// gone (killed before it could remove its own): their lock is free.
func removeStaleCopies(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, copyPattern))
	for _, p := range old {
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleCopyAge {
			continue
		}
		fl := flock.New(filepath.Join(p, "lock"), flock.SetFlag(os.O_CREATE|os.O_RDWR|atomicfile.NoFollow), flock.SetPermissions(0o600))
		if ok, err := fl.TryLock(); err != nil || !ok {
			continue // a live preview's
		}
		fl.Unlock()
		os.RemoveAll(p)
	}
}

// vacuumInto writes one consistent snapshot of the database into path, an
// empty file the caller created (0600): VACUUM INTO fills it.
func (s *Store) vacuumInto(ctx context.Context, path string) error {
	// Readers hold query_only connections, which refuse VACUUM INTO even
	// though it does not change the source: use a plain one.
	c, err := openConn(s.path)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetInterrupt(ctx.Done())
	return sqlitex.ExecuteTransient(c, `VACUUM INTO ?`, &sqlitex.ExecOptions{Args: []any{path}})
}

// LastEventID is the id of the newest event, 0 for none: the events a
// run records next come after it.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	if _, err := s.one(ctx, `SELECT coalesce(max(id), 0) FROM events`, []any{&id}); err != nil {
		return 0, fmt.Errorf("query events: %w", err)
	}
	return id, nil
}

// EachEvent calls fn with every event whose id is after after and (unless
// through is 0) at most through, one at a time (streamed, never all held):
// oldest first, or with rank by the rank of their kind (kinds rank does
// not name after all others), then employee number, then id.
func (s *Store) EachEvent(ctx context.Context, after, through int64, rank map[string]int, fn func(Event) error) error {
	q := `SELECT id, time, run_id, actor, source, kind, employee_number, details FROM events WHERE id > ?`
	args := []any{after}
	if through > 0 {
		q += ` AND id <= ?`
		args = append(args, through)
	}
	if len(rank) == 0 {
		q += ` ORDER BY id`
	} else {
		var b strings.Builder
		b.WriteString(q + ` ORDER BY CASE kind`)
		last := 0
		for _, k := range slices.Sorted(maps.Keys(rank)) {
			b.WriteString(` WHEN ? THEN ?`)
			args = append(args, k, rank[k])
			last = max(last, rank[k]+1)
		}
		b.WriteString(` ELSE ? END, employee_number, id`)
		args = append(args, last)
		q = b.String()
	}
	err := s.each(ctx, q, func(st *sqlite.Stmt) error {
		e, err := readEvent(st)
		if err != nil {
			return err
		}
		return fn(e)
	}, args...)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}
