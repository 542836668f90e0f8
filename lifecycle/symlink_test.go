package lifecycle_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/lifecycle"
)

func important(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "important")
	if err := os.WriteFile(p, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func stillIntact(t *testing.T, p string) {
	t.Helper()
	if data, err := os.ReadFile(p); err != nil || string(data) != "keep me" {
		t.Fatalf("the link's target changed: %q %v", data, err)
	}
}

func TestWriterLockRefusesASymlinkAndLeavesItsTargetAlone(t *testing.T) {
	for _, dangling := range []bool{false, true} {
		name := "link to a file"
		if dangling {
			name = "link to a missing file"
		}
		t.Run(name, func(t *testing.T) {
			target := important(t)
			if dangling {
				target = filepath.Join(t.TempDir(), "created-through-the-link")
			}
			db := filepath.Join(t.TempDir(), "spendsync.db")
			accesstest.Symlink(t, target, db+".lock")
			l, err := lifecycle.Acquire(db)
			if err == nil {
				l.Release()
			}
			if !errors.Is(err, atomicfile.ErrSymlink) || !strings.Contains(err.Error(), db+".lock is a symbolic link") {
				t.Fatalf("err = %v", err)
			}
			if dangling {
				if _, err := os.Lstat(target); !os.IsNotExist(err) {
					t.Fatal("the lock created the link's target")
				}
			} else {
				stillIntact(t, target)
			}
		})
	}
}

func TestReleaseDoesNotTruncateThroughALinkSwappedIn(t *testing.T) {
	target := important(t)
	db := filepath.Join(t.TempDir(), "spendsync.db")
	l, err := lifecycle.Acquire(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Release() }) // when Symlink skips: Windows cannot remove an open file
	os.Remove(db + ".lock")
	accesstest.Symlink(t, target, db+".lock")
	l.Release()
	stillIntact(t, target)
}

func TestBackupRefusesASymlinkedDestination(t *testing.T) {
	e := newEnv(t)
	target := important(t)
	out := filepath.Join(t.TempDir(), "backup.db")
	accesstest.Symlink(t, target, out)
	if err := e.store.Backup(context.Background(), out); !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err = %v", err)
	}
	stillIntact(t, target)
}

func TestAWriterRefusesASymlinkedDatabaseOrWAL(t *testing.T) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		t.Run("spendsync.db"+suffix, func(t *testing.T) {
			target := important(t)
			db := filepath.Join(t.TempDir(), "spendsync.db")
			accesstest.Symlink(t, target, db+suffix)
			l, err := lifecycle.Acquire(db)
			if err == nil {
				l.Release()
			}
			if !errors.Is(err, atomicfile.ErrSymlink) || !strings.Contains(err.Error(), db+suffix+" is a symbolic link") {
				t.Fatalf("err = %v", err)
			}
			stillIntact(t, target)
		})
	}
}
