package lifecycle

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Writeback is a goroutine and two open files while a transaction runs:
// stopping it (twice, as Rollback after Commit does) ends both.
func TestWritebackLetsItsFilesGoWhenStopped(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "spendsync.db"), Create)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := s.writeback()
	time.Sleep(3 * writebackEvery)
	stop()
	stop()
	if runtime.GOOS != "linux" {
		return
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, s.Path()) {
			open++
		}
	}
	// SQLite's own: the database, its WAL and its shared memory.
	if open > 3 {
		t.Errorf("%d files of the database open after writeback stopped, want SQLite's 3", open)
	}
}
