// Package atomicfile writes files so that a reader sees either the old
// content or the complete new content, never a partial file, even when the
// process is killed mid-write.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TempPrefix starts the name of every temporary file this package creates,
// so leftovers of a killed run can be recognised and removed.
const TempPrefix = ".spendsync-"

// ErrSymlink means a path spendsync would create, replace or truncate is a
// symbolic link. spendsync never writes through a link: anyone who can
// write to the folder could otherwise point it at any file the run may
// write.
var ErrSymlink = errors.New("is a symbolic link; spendsync does not write through links (remove it or name the real file)")

// RefuseLink returns an error wrapping ErrSymlink when path is a symbolic
// link, and nil when it is anything else or does not exist.
func RefuseLink(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s %w", path, ErrSymlink)
	}
	return nil
}

// OpenNoFollow is os.OpenFile that refuses a symbolic link at path (with
// O_NOFOLLOW where the system has it, so a link swapped in after the
// check is refused too).
func OpenNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if err := RefuseLink(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|NoFollow, perm)
	if err != nil && isLinkError(err) {
		return nil, fmt.Errorf("%s %w", path, ErrSymlink)
	}
	return f, err
}

// WriteNew creates path as a new private file (0600; on Windows the
// owner, SYSTEM and Administrators only) holding data and fsyncs it. It
// refuses a path that already exists, a symbolic link included: for files
// that are written once under a fresh name (kept API responses).
func WriteNew(path string, data []byte) (err error) {
	if err := RefuseLink(path); err != nil {
		return err
	}
	f, err := CreatePrivate(path)
	if err != nil {
		if isLinkError(err) {
			return fmt.Errorf("%s %w", path, ErrSymlink)
		}
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// Write creates path as a private file (see CreatePrivate) from what fn
// writes: it writes to a temporary file in the same folder, fsyncs it and
// renames it into place (Rename: the folder is fsynced on Unix, the move
// written through on Windows). On error the temporary file is removed.
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
// fsyncs and closes it. A symbolic link at path is refused (ErrSymlink);
// the temporary file is created with O_EXCL, which never follows a link.
func Stage(path string, fn func(w io.Writer) error) (*Pending, error) {
	s, err := Begin(path)
	if err != nil {
		return nil, err
	}
	if err := fn(s.f); err != nil {
		s.Abort()
		return nil, Wrap("write", s.f.Name(), err)
	}
	return s.Done()
}

// Staging is a temporary file being written next to path, for content
// written piece by piece; Done makes it a Pending.
type Staging struct {
	f    *os.File
	path string
}

// Begin creates the temporary file for path (private, O_EXCL); a symbolic
// link at path is refused.
func Begin(path string) (_ *Staging, err error) {
	if err := RefuseLink(path); err != nil {
		return nil, err
	}
	dir, base := filepath.Split(path)
	f, err := CreatePrivateTemp(dir, TempPrefix+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	return &Staging{f: f, path: path}, nil
}

// CreatePrivateTemp is os.CreateTemp for private files (CreatePrivate):
// a new file in dir named by pattern, its last "*" replaced by a random
// number.
func CreatePrivateTemp(dir, pattern string) (*os.File, error) {
	if dir == "" {
		dir = "."
	}
	prefix, suffix := pattern, ""
	if i := strings.LastIndexByte(pattern, '*'); i >= 0 {
		prefix, suffix = pattern[:i], pattern[i+1:]
	}
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		f, err := CreatePrivate(name)
		if errors.Is(err, os.ErrExist) && try < 10000 {
			continue
		}
		return f, err
	}
}

// Write appends to the temporary file.
func (s *Staging) Write(p []byte) (int, error) { return s.f.Write(p) }

// Done fsyncs and closes the temporary file; on error it is removed.
func (s *Staging) Done() (_ *Pending, err error) {
	tmp := s.f.Name()
	defer func() {
		if err != nil {
			s.f.Close()
			os.Remove(tmp)
		}
	}()
	if err = s.f.Sync(); err != nil {
		return nil, Wrap("sync", tmp, err)
	}
	// Close before rename: Windows cannot rename an open file.
	if err = s.f.Close(); err != nil {
		return nil, Wrap("close", tmp, err)
	}
	return &Pending{tmp: tmp, path: s.path}, nil
}

// Abort closes and removes the temporary file.
func (s *Staging) Abort() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// Commit renames the file into place and makes the rename durable (see
// Rename). A symbolic
// link put at the path since Stage is refused; rename itself replaces a
// link rather than writing through it, so a later swap cannot redirect it.
func (p *Pending) Commit() error {
	if err := RefuseLink(p.path); err != nil {
		os.Remove(p.tmp)
		return err
	}
	if err := rename(p.tmp, p.path); err != nil {
		os.Remove(p.tmp)
		return Wrap("rename "+p.tmp+" to", p.path, err)
	}
	return SyncDir(filepath.Dir(p.path))
}

// Rename moves old to new, replacing new, so that the new name survives a
// power cut: on Unix a rename and a fsync of the folder, on Windows
// MoveFileEx with MOVEFILE_WRITE_THROUGH (Windows cannot sync a folder).
func Rename(old, new string) error {
	if err := rename(old, new); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(new))
}

// Discard removes the temporary file.
func (p *Pending) Discard() { os.Remove(p.tmp) }

// Temp is the path of the temporary file, for a caller that renames a set
// of files itself (the folder target puts back what it replaced).
func (p *Pending) Temp() string { return p.tmp }

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
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

// Wrap adds "op path: " to err unless err already names path, as every
// *os.PathError and *os.LinkError does: a message names each file once
// ("write x.tmp: no space left on device", not "write x.tmp: write x.tmp:
// no space left on device").
func Wrap(op, path string, err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && (pe.Path == path || filepath.Clean(pe.Path) == filepath.Clean(path)):
		return err
	case errors.As(err, &le) && (le.New == path || le.Old == path):
		return err
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}
