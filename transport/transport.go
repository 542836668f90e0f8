package transport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"
)

// File is one file to deliver, in delivery order: the local file at Path,
// which must hold Size bytes with the SHA-256 SHA256 (lowercase hex). It
// is streamed, never held in memory, and every attempt opens it afresh
// and hashes what it sends: what was not the described file is never
// renamed into place.
type File struct {
	Name   string // the name in the drop
	Path   string // the local file
	Size   int64
	SHA256 string
}

// ErrChanged means a local file did not hold the bytes its File describes
// when it was sent (it changed after it was checked): nothing of it was
// put under a final name, and no retry can mend it.
var ErrChanged = errors.New("changed after it was checked")

// source is one attempt's read of a File: it hashes what it reads and
// reads at most one byte more than Size, so a grown file is found without
// sending all of it.
type source struct {
	f    File
	file *os.File
	r    io.Reader
	sum  hash.Hash
	n    int64
}

func openSource(f File) (*source, error) {
	file, err := os.Open(f.Path)
	if err != nil {
		return nil, err // names the path
	}
	return &source{f: f, file: file, r: io.LimitReader(file, f.Size+1), sum: sha256.New()}, nil
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.sum.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// Len is what is left to send as the File describes it, for pkg/sftp's
// choice of how to write (a bytes.Reader gave it before).
func (s *source) Len() int { return int(max(s.f.Size-s.n, 0)) }

func (s *source) Close() error { return s.file.Close() }

// check, once everything was read, says whether it was the described file.
func (s *source) check() error {
	if s.n > s.f.Size {
		return fmt.Errorf("%s %w: it is longer than the %d bytes expected", s.f.Path, ErrChanged, s.f.Size)
	}
	if got := hex.EncodeToString(s.sum.Sum(nil)); s.n != s.f.Size || got != s.f.SHA256 {
		return fmt.Errorf("%s %w: it has %d bytes with sha256 %s, expected %d bytes with sha256 %s", s.f.Path, ErrChanged, s.n, got, s.f.Size, s.f.SHA256)
	}
	return nil
}

// Delivered describes a delivered file.
type Delivered struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Target is a drop that files can be delivered to.
type Target interface {
	// Name identifies the target without secrets, e.g. sftp://import@host:22/import.
	Name() string
	// Deliver puts the files in place: each is written to a temporary name
	// and checked, then they are renamed in the given order, so nothing
	// partial ever stands under a final name. Temporary files of an earlier
	// failed delivery are removed first. When a rename fails, the files
	// renamed before it are put back (the previous file, or none where
	// there was none): an error means the drop holds what it held before,
	// unless the error says the previous files could not be put back
	// either (the connection was lost for good, or a kill).
	Deliver(ctx context.Context, id string, files []File) ([]Delivered, error)
	// Clean removes spendsync's own temporary files left in the drop by a
	// killed or failed delivery and returns their names. Deliver does the
	// same first; Clean is for when there is nothing new to deliver.
	Clean(ctx context.Context) ([]string, error)
	// Check connects and checks that the drop folder is there and
	// writable enough to list, without writing (for --dry-run).
	Check(ctx context.Context) error
}

// Hooks let the caller see what a delivery does; both are optional.
type Hooks struct {
	Logf     func(msg string, args ...any)           // retries, cleanups
	Progress func(name string, size int64) io.Writer // fed the bytes uploaded
}

func (h Hooks) progress(f File) io.Writer {
	if h.Progress == nil {
		return io.Discard
	}
	if w := h.Progress(f.Name, f.Size); w != nil {
		return w
	}
	return io.Discard
}

// Open returns the configured target.
func Open(cfg *Config, hooks Hooks) (Target, error) {
	if hooks.Logf == nil {
		hooks.Logf = func(string, ...any) {}
	}
	switch {
	case cfg.SFTP != nil:
		return &sftpTarget{cfg: cfg.SFTP, hooks: hooks, backoff: time.Second}, nil
	case cfg.Dir != nil:
		return &folderTarget{dir: cfg.Dir.Path, hooks: hooks}, nil
	}
	return nil, fmt.Errorf("no target configured (set target.sftp or target.dir)")
}

func describe(files []File) []Delivered {
	out := make([]Delivered, len(files))
	for i, f := range files {
		out[i] = Delivered{Name: f.Name, Size: f.Size, SHA256: f.SHA256} // what source.check found sent
	}
	return out
}

// tempName is the temporary upload name of a file: hidden, marked as ours
// and as temporary, so importers skip it and leftovers can be found.
func tempName(name, id string) string {
	return TempPrefix + name + "." + strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, id) + ".tmp"
}

// TempPrefix starts every temporary file spendsync leaves in a drop.
const TempPrefix = ".spendsync-"

func isTemp(name string) bool {
	return strings.HasPrefix(name, TempPrefix) && strings.HasSuffix(name, ".tmp")
}
