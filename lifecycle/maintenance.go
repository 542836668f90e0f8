package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"zombiezen.com/go/sqlite"
)

// Pruned is what a prune removed.
type Pruned struct {
	Events  int64 `json:"events"`
	Rejects int64 `json:"rejects"`
	Leavers int64 `json:"leavers"`
}

// Prune removes events and rejects older than r.Events and persons who left
// longer than r.Leavers ago, and records a prune event with the counts.
// Export history is pruned by the export package.
func (s *Store) Prune(ctx context.Context, runID int64, r Retention, at time.Time) (Pruned, error) {
	var p Pruned
	err := s.tx(ctx, func(c *sqlite.Conn) error {
		if r.Events > 0 {
			cutoff := at.Add(-r.Events).UTC().Format(time.RFC3339)
			if err := exec(c, `DELETE FROM events WHERE time < ?`, cutoff); err != nil {
				return fmt.Errorf("prune events: %w", err)
			}
			p.Events = int64(c.Changes())
			if err := exec(c, `DELETE FROM rejects WHERE time < ?`, cutoff); err != nil {
				return fmt.Errorf("prune rejects: %w", err)
			}
			p.Rejects = int64(c.Changes())
		}
		if r.Leavers > 0 {
			cutoff := at.Add(-r.Leavers).UTC().Format(time.RFC3339)
			if err := exec(c, `DELETE FROM persons WHERE left_at IS NOT NULL AND left_at < ?`, cutoff); err != nil {
				return fmt.Errorf("prune leavers: %w", err)
			}
			if p.Leavers = int64(c.Changes()); p.Leavers > 0 {
				if err := bumpGeneration(c); err != nil {
					return err
				}
			}
		}
		return insertEvents(c, []Event{{Source: "prune", Kind: "prune", Details: map[string]any{
			"events": p.Events, "rejects": p.Rejects, "leavers": p.Leavers}}}, runID, now())
	})
	return p, err
}

// Backup writes a consistent copy of the database to path (0600) with
// VACUUM INTO, which reads one snapshot while writers go on (WAL), and
// verifies the copy with PRAGMA integrity_check before it takes the name.
func (s *Store) Backup(ctx context.Context, path string) error {
	if err := atomicfile.RefuseLink(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup %s: %w", path, os.ErrExist)
	}
	dir := filepath.Dir(path)
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return err
	}
	// An empty 0600 file first: VACUUM INTO fills it with the copy.
	f, err := atomicfile.CreatePrivateTemp(dir, atomicfile.TempPrefix+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := s.vacuumInto(ctx, tmp); err != nil {
		return fmt.Errorf("backup %s: %w", s.path, err)
	}
	if err := IntegrityCheck(ctx, tmp); err != nil {
		return fmt.Errorf("backup %s failed verification: %w", path, err)
	}
	// Rename replaces whatever took the name meanwhile (a link included)
	// instead of writing through it; refuse a link anyway, as Stage does.
	if err := atomicfile.RefuseLink(path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := atomicfile.Rename(tmp, path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// ErrCorrupt means PRAGMA integrity_check found a problem.
var ErrCorrupt = errors.New("integrity check failed")

// IntegrityCheck runs PRAGMA integrity_check on the database file at path.
func IntegrityCheck(ctx context.Context, path string) error {
	c, err := openConn(path, "query_only = 1")
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetInterrupt(ctx.Done())
	var result string
	if _, err := oneConn(c, `PRAGMA integrity_check`, []any{&result}); err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if result != "ok" {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, path, result)
	}
	return nil
}
