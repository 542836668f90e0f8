package export

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// An export's layout says where each person's rows are in its two files:
// for every person, in employee-number order as the files list them, its
// number, the length in bytes of its persons.csv line, the length of its
// roles.csv lines and how many they are. A Writer records it as it writes
// (RecordLayout), in chunks the caller stores with the export; the next
// export, when only some persons changed, copies everyone else's bytes
// from the last files (Splice) instead of reading, decoding and writing
// their stored rows again.
//
// Chunk 0, written last, names the files the layout belongs to (their
// SHA-256 sums), so a layout is never used for other files: an export
// that copies the last files whole (Copy) keeps the last layout, since
// the files are the same, and any other export either records its own or
// leaves one that names other files.

// layoutChunk is how large a chunk grows before it is handed over.
const layoutChunk = 64 << 10

// layoutEntry is one person's part of the files.
type layoutEntry struct {
	emp            string
	persons, roles int64 // bytes in persons.csv and roles.csv
	nroles         int64 // lines in roles.csv
}

// layoutWriter encodes entries into chunks and hands each one over.
type layoutWriter struct {
	put func(seq int, data []byte) error
	buf []byte
	seq int
}

func (l *layoutWriter) add(e layoutEntry) error {
	l.buf = binary.AppendUvarint(l.buf, uint64(len(e.emp)))
	l.buf = append(l.buf, e.emp...)
	l.buf = binary.AppendUvarint(l.buf, uint64(e.persons))
	l.buf = binary.AppendUvarint(l.buf, uint64(e.roles))
	l.buf = binary.AppendUvarint(l.buf, uint64(e.nroles))
	if len(l.buf) < layoutChunk {
		return nil
	}
	return l.flush()
}

func (l *layoutWriter) flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	l.seq++
	// The chunk is the caller's to keep until it is stored: a new buffer.
	data := l.buf
	l.buf = make([]byte, 0, layoutChunk+64)
	return l.put(l.seq, data)
}

// finish hands over the last entries and then chunk 0, naming m's files.
func (l *layoutWriter) finish(m *Manifest) error {
	if err := l.flush(); err != nil {
		return err
	}
	return l.put(0, layoutIdentity(m))
}

func layoutIdentity(m *Manifest) []byte {
	return []byte("layout 1 " + m.Persons.SHA256 + " " + m.Roles.SHA256)
}

// layoutReader decodes a stored layout chunk by chunk; next returns the
// following chunk, nil at the end (its bytes need only last until the
// call after).
type layoutReader struct {
	next func() ([]byte, error)
	buf  []byte
}

var errLayout = errors.New("the last export's layout does not decode")

// openLayout reads chunk 0 and reports whether it names m's files.
func openLayout(next func() ([]byte, error), m *Manifest) (*layoutReader, bool, error) {
	id, err := next()
	if err != nil || id == nil || string(id) != string(layoutIdentity(m)) {
		return nil, false, err
	}
	return &layoutReader{next: next}, true, nil
}

// read returns the next entry; ok is false at the end.
func (r *layoutReader) read() (e layoutEntry, ok bool, err error) {
	for len(r.buf) == 0 {
		if r.buf, err = r.next(); err != nil {
			return e, false, err
		}
		if r.buf == nil {
			return e, false, nil
		}
	}
	n, k := binary.Uvarint(r.buf)
	if k <= 0 || uint64(len(r.buf)-k) < n {
		return e, false, errLayout
	}
	e.emp, r.buf = string(r.buf[k:k+int(n)]), r.buf[k+int(n):]
	for _, v := range []*int64{&e.persons, &e.roles, &e.nroles} {
		x, k := binary.Uvarint(r.buf)
		if k <= 0 || x > 1<<50 {
			return e, false, errLayout
		}
		*v, r.buf = int64(x), r.buf[k:]
	}
	return e, true, nil
}

// layoutSums is what a layout adds up to, to be checked against the files.
type layoutSums struct {
	persons, roles, personBytes, roleBytes int64
}

// check reads the whole layout, in strictly ascending employee numbers,
// and adds it up.
func (r *layoutReader) check() (layoutSums, error) {
	var s layoutSums
	prev, first := "", true
	for {
		e, ok, err := r.read()
		if err != nil {
			return s, err
		}
		if !ok {
			return s, nil
		}
		if !first && e.emp <= prev {
			return s, fmt.Errorf("%w: %q after %q", errLayout, e.emp, prev)
		}
		prev, first = e.emp, false
		s.persons++
		s.roles += e.nroles
		s.personBytes += e.persons
		s.roleBytes += e.roles
	}
}
