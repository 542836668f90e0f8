package export

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// A splice makes an export from the last one's files when only some
// persons changed since (the caller walks those): every other person's
// rows are the bytes the last files hold, copied as they are, where the
// layout (layout.go) says they are. The walk's rows for the changed
// persons go in between, in employee-number order; the changed persons'
// old bytes are read past.
type splice struct {
	w       *Writer
	layout  *layoutReader
	changed []string // sorted
	files   [2]*spliced
	next    layoutEntry // read ahead
	have    bool
	done    bool
	carried Carried
}

// Carried counts the persons a splice copied from the last export.
type Carried struct {
	Persons, Roles, WithoutRole int
}

// spliced is one of the last files, read once from the start, every byte
// summed.
type spliced struct {
	f    *os.File
	r    *bufio.Reader
	sum  hash.Hash
	info FileInfo
	dst  *csvWriter
}

// Splice sets the writer up to copy, from the last export's files in dir
// (described by last and laid out as layout's chunks say: chunk 0 first,
// then the rest in order, nil at the end), the rows of every person not
// in changed (sorted): from now on Rows copies the persons before the one
// it is given, and SpliceRest the persons after the last. It reports
// false, having written nothing, unless the files are the ones last
// describes, byte for byte, under this configuration's names and header,
// and the layout names them and adds up to them; layout is then read
// twice (a function that starts it).
func (w *Writer) Splice(dir string, last *Manifest, layout func() func() ([]byte, error), changed []string) (bool, error) {
	if w.splice != nil {
		return false, nil
	}
	heads, ok, err := w.sameFiles(dir, last)
	if !ok || err != nil {
		return false, err
	}
	lr, ok, err := openLayout(layout(), last)
	if !ok || err != nil {
		return false, err
	}
	sums, err := lr.check()
	if errors.Is(err, errLayout) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if sums.persons != int64(last.Persons.Rows) || sums.roles != int64(last.Roles.Rows) ||
		sums.personBytes != last.Persons.Size-int64(len(heads[0])) || sums.roleBytes != last.Roles.Size-int64(len(heads[1])) {
		return false, nil
	}
	if lr, ok, err = openLayout(layout(), last); !ok || err != nil {
		return false, err
	}
	s := &splice{w: w, layout: lr, changed: changed}
	for i, f := range []struct {
		info FileInfo
		dst  *csvWriter
	}{{last.Persons, w.pw}, {last.Roles, w.rw}} {
		sp := &spliced{sum: sha256.New(), info: f.info, dst: f.dst}
		if sp.f, err = openRegular(filepath.Join(dir, f.info.File)); err != nil {
			s.close()
			return false, nil // gone since the check: the caller builds the rows
		}
		s.files[i] = sp
		sp.r = bufio.NewReaderSize(io.TeeReader(io.LimitReader(sp.f, f.info.Size+1), sp.sum), 256<<10)
		if _, err := sp.r.Discard(len(heads[i])); err != nil {
			s.close()
			return false, nil
		}
	}
	w.splice = s
	return true, nil
}

// sameFiles checks that the writer has written no row yet and that dir
// holds the files last describes, under this configuration's names and
// starting with the header it writes, and returns the headers.
func (w *Writer) sameFiles(dir string, last *Manifest) (heads [2][]byte, ok bool, err error) {
	if w.pw.rows+w.rw.rows > 0 || last.Persons.File != w.cfg.Persons.File || last.Roles.File != w.cfg.Roles.File {
		return heads, false, nil
	}
	for i, f := range []struct {
		c    *csvWriter
		fc   FileConfig
		info FileInfo
	}{{w.pw, w.cfg.Persons, last.Persons}, {w.rw, w.cfg.Roles, last.Roles}} {
		// The writer has its BOM and header already: the same bytes must
		// start the old file.
		var head bytes.Buffer
		h := newCSV(&head, f.fc, f.c.cols, w.cfg)
		if err := h.bw.Flush(); err != nil {
			return heads, false, err
		}
		heads[i] = head.Bytes()
		if ok, _ := sameFile(filepath.Join(dir, f.info.File), f.info, heads[i], io.Discard); !ok {
			return heads, false, nil // changed or gone: the caller builds the rows
		}
	}
	return heads, true, nil
}

// upTo copies the last export's persons before emp (every one left, with
// all), and reads past emp's own rows there and the changed persons'.
func (s *splice) upTo(emp string, all bool) error {
	for {
		if !s.have && !s.done {
			e, ok, err := s.layout.read()
			if err != nil {
				return s.fail(err)
			}
			s.next, s.have, s.done = e, ok, !ok
		}
		if !s.have || (!all && s.next.emp > emp) {
			return nil
		}
		s.have = false
		_, changed := slices.BinarySearch(s.changed, s.next.emp)
		if err := s.take(s.next, !changed && (all || s.next.emp != emp)); err != nil {
			return err
		}
	}
}

// take copies e's bytes from both files into the new ones (keep), or
// reads past them.
func (s *splice) take(e layoutEntry, keep bool) error {
	for i, n := range []int64{e.persons, e.roles} {
		if err := s.files[i].copy(n, keep); err != nil {
			return s.fail(err)
		}
	}
	if !keep {
		return nil
	}
	s.w.pw.rows++
	s.w.rw.rows += int(e.nroles)
	s.carried.Persons++
	s.carried.Roles += int(e.nroles)
	if e.nroles == 0 {
		s.carried.WithoutRole++
	}
	if s.w.layout != nil {
		return s.w.layout.add(e)
	}
	return nil
}

// copy moves n bytes on, into the new file when keep.
func (f *spliced) copy(n int64, keep bool) error {
	for n > 0 {
		k := int(min(n, int64(f.r.Size())))
		b, err := f.r.Peek(k)
		if err != nil {
			return err
		}
		if keep {
			f.dst.bw.Write(b) // its error is the file's, reported at finish
		}
		f.r.Discard(k)
		n -= int64(k)
	}
	return nil
}

func (s *splice) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, errLayout) {
		err = errors.New("it changed while it was copied")
	}
	return fmt.Errorf("copy the last export's files: %w", err)
}

// SpliceRest copies the last export's persons after the last one Rows
// was given, checks that the last files were read whole and unchanged,
// and returns how many persons were copied. Without Splice it does
// nothing.
func (w *Writer) SpliceRest() (Carried, error) {
	s := w.splice
	if s == nil {
		return Carried{}, nil
	}
	w.splice = nil
	defer s.close()
	if err := s.upTo("", true); err != nil {
		return Carried{}, err
	}
	for _, f := range s.files {
		if _, err := f.r.ReadByte(); err != io.EOF || hex.EncodeToString(f.sum.Sum(nil)) != f.info.SHA256 {
			return Carried{}, fmt.Errorf("copy the last export's %s: it changed while it was copied", f.info.File)
		}
	}
	return s.carried, nil
}

func (s *splice) close() {
	for _, f := range s.files {
		if f != nil {
			f.f.Close()
		}
	}
}
