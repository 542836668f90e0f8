package transport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// File is one file to deliver, in delivery order.
type File struct {
	Name string
	Data []byte
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
	if w := h.Progress(f.Name, int64(len(f.Data))); w != nil {
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
		sum := sha256.Sum256(f.Data)
		out[i] = Delivered{Name: f.Name, Size: int64(len(f.Data)), SHA256: hex.EncodeToString(sum[:])}
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
