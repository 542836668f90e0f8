//go:build unix

package export

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A pipe or a link in place of a last export's file is not that file: the
// whole-file copy and the splice decline it and Verify refuses it, at once
// (opening a pipe would block until something wrote to it).
func TestALastFileThatIsNotAFileIsDeclinedWithoutWaiting(t *testing.T) {
	cfg := validConfig(t)
	for _, kind := range []string{"pipe", "link"} {
		t.Run(kind, func(t *testing.T) {
			dir, c := t.TempDir(), chunks{}
			m, _, _ := writeRows(t, dir, cfg, spliceRows(numbers(1, 50), "x"), c)
			path := filepath.Join(dir, m.Persons.File)
			moved := filepath.Join(t.TempDir(), "persons.csv")
			if err := os.Rename(path, moved); err != nil {
				t.Fatal(err)
			}
			var err error
			if kind == "pipe" {
				err = syscall.Mkfifo(path, 0o600)
			} else {
				err = os.Symlink(moved, path) // the same bytes, elsewhere
			}
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if ok, err := copyWriter(t, cfg).Copy(dir, m); ok || err != nil {
					t.Errorf("copy of a %s: %v %v", kind, ok, err)
				}
				if ok, err := copyWriter(t, cfg).Splice(dir, m, c.reader, nil); ok || err != nil {
					t.Errorf("splice of a %s: %v %v", kind, ok, err)
				}
				if err := Verify(dir, m); !errors.Is(err, ErrInconsistent) {
					t.Errorf("verify of a %s: %v", kind, err)
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				// Unblock the open so the test can end.
				if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("reading a %s in the export folder blocked", kind)
			}
		})
	}
}
