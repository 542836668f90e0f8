package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/atomicfile"
)

// victim is a file an attacker would like spendsync to overwrite.
func victim(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "important")
	if err := os.WriteFile(p, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func intact(t *testing.T, p string) {
	t.Helper()
	if data, err := os.ReadFile(p); err != nil || string(data) != "keep me" {
		t.Fatalf("the link's target changed: %q %v", data, err)
	}
}

func TestWritingNeverFollowsASymlinkAtTheTarget(t *testing.T) {
	writers := map[string]func(path string) error{
		"Write": func(p string) error {
			return atomicfile.Write(p, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err })
		},
		"WriteBytes": func(p string) error { return atomicfile.WriteBytes(p, []byte("x")) },
		"WriteNew":   func(p string) error { return atomicfile.WriteNew(p, []byte("x")) },
		"OpenNoFollow": func(p string) error {
			f, err := atomicfile.OpenNoFollow(p, os.O_WRONLY|os.O_TRUNC, 0)
			if err == nil {
				f.Close()
			}
			return err
		},
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			target := victim(t)
			dir := t.TempDir()
			link := filepath.Join(dir, "metrics.prom")
			accesstest.Symlink(t, target, link)
			err := write(link)
			if !errors.Is(err, atomicfile.ErrSymlink) || !strings.Contains(err.Error(), link) {
				t.Fatalf("err = %v, want ErrSymlink naming %s", err, link)
			}
			intact(t, target)
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("left %d entries in the folder", len(entries))
			}
		})
	}
}

func TestCommitRefusesALinkPutThereAfterStaging(t *testing.T) {
	target := victim(t)
	path := filepath.Join(t.TempDir(), "persons.csv")
	p, err := atomicfile.Stage(path, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err })
	if err != nil {
		t.Fatal(err)
	}
	accesstest.Symlink(t, target, path)
	if err := p.Commit(); !errors.Is(err, atomicfile.ErrSymlink) {
		t.Fatalf("err = %v", err)
	}
	intact(t, target)
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatal("the temporary file was left behind")
	}
}

func TestAFailedWriteNamesTheFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "persons.csv")
	_, err := atomicfile.Stage(path, func(w io.Writer) error {
		f := w.(*os.File)
		f.Close() // the next write fails with an *os.PathError, as a full disk does
		_, err := f.Write([]byte("x"))
		return err
	})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	tmp := msg[strings.Index(msg, " ")+1 : strings.Index(msg, ".tmp")+4]
	if strings.Count(msg, tmp) != 1 || !strings.HasPrefix(msg, "write ") {
		t.Fatalf("message %q names %s %d times", msg, tmp, strings.Count(msg, tmp))
	}
}

func TestWrapAddsContextOnlyWhenTheErrorLacksThePath(t *testing.T) {
	_, err := os.Open("/nonexistent/x")
	cases := []struct {
		err  error
		want string
	}{
		{err, "open /nonexistent/x: " + errors.Unwrap(err).Error()}, // the system's wording
		{errors.New("disk on fire"), "write /nonexistent/x: disk on fire"},
		{&os.LinkError{Op: "rename", Old: "a", New: "/nonexistent/x", Err: errors.New("busy")}, "rename a /nonexistent/x: busy"},
	}
	for _, tc := range cases {
		if got := atomicfile.Wrap("write", "/nonexistent/x", tc.err).Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
