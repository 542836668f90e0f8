// Package atomicfile writes files so that a reader sees either the old
// content or the complete new content, never a partial file, even when the
// process is killed mid-write.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the name of every temporary file this package creates,
// so leftovers of a killed run can be recognised and removed.
const TempPrefix = ".spendsync-"

// Write creates path with mode 0600 from what fn writes: it writes to a
// temporary file in the same folder, fsyncs it, renames it into place and
// fsyncs the folder. On error the temporary file is removed.
func Write(path string, fn func(w io.Writer) error) error {
	p, err := Stage(path, fn)
	if err != nil {
		return err
	}
	return p.Commit()
}

// Pending is a complete, fsynced temporary file waiting to be renamed into
// place. Staging several files first and committing them together keeps a
// failure (disk full) from replacing only some of a set.
type Pending struct{ tmp, path string }

// Stage writes what fn writes to a temporary file next to path (0600),
// fsyncs and closes it.
func Stage(path string, fn func(w io.Writer) error) (_ *Pending, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, TempPrefix+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil && !isUnsupported(err) {
		return nil, fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err = fn(f); err != nil {
		return nil, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return nil, fmt.Errorf("sync %s: %w", tmp, err)
	}
	// Close before rename: Windows cannot rename an open file.
	if err = f.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", tmp, err)
	}
	return &Pending{tmp: tmp, path: path}, nil
}

// Commit renames the file into place and fsyncs the folder.
func (p *Pending) Commit() error {
	if err := os.Rename(p.tmp, p.path); err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("rename %s to %s: %w", p.tmp, p.path, err)
	}
	return SyncDir(filepath.Dir(p.path))
}

// Discard removes the temporary file.
func (p *Pending) Discard() { os.Remove(p.tmp) }

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir fsyncs a folder so a rename in it survives a power cut. Systems
// that cannot sync a folder (Windows) are tolerated.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !isUnsupported(err) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// CleanTemp removes temporary files left in dir by a killed run and returns
// their names.
func CleanTemp(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), TempPrefix) && strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
				return removed, err
			}
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

// MkdirPrivate creates dir (and parents) with mode 0700; personal data lives
// there.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create folder %s: %w", dir, err)
	}
	return nil
}

func isUnsupported(err error) bool {
	return strings.Contains(err.Error(), "not supported") || strings.Contains(err.Error(), "invalid argument")
}
