package lifecycle

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unsafe"

	"zombiezen.com/go/sqlite"
)

// An ingest starts from the index: every stored person's owner and
// whether they left, 100k rows at 100k persons, which read row by row
// took a sixth of a day's ingest. So the store keeps a copy of it as a
// few large blobs (index_chunks, chunks of copyChunk bytes in
// employee-number order, under a head in index_heads), and Index reads
// the copy while it is true.
//
// The copy is true while its head records the state generation of now.
// The apply that changes the index keeps it true in its own transaction:
// it merges its changes into the copy it found true (both in
// employee-number order), or rebuilds it from the rows, and stamps it with
// the generation it leaves; an apply that changes no owner and no leaver
// (a day of changed names) writes nothing and only restamps it.
// Everything else that changes the state bumps the generation
// (bumpGeneration) and so leaves the copy stale; a schema upgrade deletes
// it (migrate). A stale copy is never read: Index reads the rows, and the
// next apply rebuilds it.
//
// (The source's hashes were kept the same way at first: a day's changes
// touch every chunk of them, so rewriting them cost what reading them
// saved, and they are read as rows.)
//
// A copy is a cache of rows in the same database, never a source of
// truth: with SPENDSYNC_CHECK_INDEX_COPY=1 (set by make test) every apply
// compares the copy it wrote with the rows before it commits.

// copyChunk is how large a copy's chunk grows before it is written: the
// copy is merged and rebuilt a chunk at a time, so its memory stays flat.
const copyChunk = 256 << 10

// personsCopy names the index's copy.
const personsCopy = "persons"

// copyHead is a copy's row in index_heads.
type copyHead struct {
	name             string
	gen, slot        int64
	chunks, entries  int64
	owners           []string // the index: the sources its entries number from 1
	exists, readable bool     // a head is stored; it is true now and decodes
}

// readHead reads name's head and whether it is true at generation gen.
func readHead(c *sqlite.Conn, name string, gen int64) (*copyHead, error) {
	h := &copyHead{name: name}
	var owners string
	found, err := first(c, `SELECT generation, slot, chunks, entries, owners FROM index_heads WHERE name = ?`, func(st *sqlite.Stmt) {
		h.gen, h.slot, h.chunks, h.entries, owners = st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2), st.ColumnInt64(3), st.ColumnText(4)
	}, name)
	if err != nil {
		return nil, fmt.Errorf("read index copy %s: %w", name, err)
	}
	h.exists = found
	if !found || h.gen != gen {
		return h, nil
	}
	if json.Unmarshal([]byte(owners), &h.owners) != nil {
		return h, nil // not true: the rows are read instead
	}
	h.readable = true
	return h, nil
}

// headNow reads name's head and whether it is true at the generation of
// now.
func headNow(c *sqlite.Conn, name string) (*copyHead, error) {
	gen, err := generation(c)
	if err != nil {
		return nil, err
	}
	return readHead(c, name, gen)
}

// entryDecoder reads a copy's entries: it gets each employee number (valid
// during the call) and the entry's bytes after it, and returns how many of
// them it used.
type entryDecoder func(emp string, rest []byte) (int, error)

var errBadCopy = errors.New("index copy does not decode")

// eachEntry calls dec with every entry of h's chunks, in order, and checks
// that they are ascending and as many as the head says.
func eachEntry(c *sqlite.Conn, h *copyHead, dec entryDecoder) error {
	r := &copyReader{c: c, h: h}
	var (
		n    int64
		last []byte
	)
	for {
		_, _, ok, err := r.next(func(emp string, rest []byte) (int, error) {
			if n > 0 && emp <= string(last) {
				return 0, errBadCopy
			}
			last = append(last[:0], emp...)
			n++
			return dec(emp, rest)
		})
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	if n != h.entries {
		return errBadCopy
	}
	return nil
}

// readCopy reads the copy name if it is true now, and reports whether
// it was. It reads the copy twice in one read transaction: first with
// check, so a copy that does not decode is found before anyone has seen
// any of it (the rows are read instead), then with what deliver returns
// for the head.
func readCopy(c *sqlite.Conn, name string, check, deliver func(*copyHead) entryDecoder) (bool, error) {
	ok := false
	err := inTx(c, "BEGIN", func(c *sqlite.Conn) error {
		h, err := headNow(c, name)
		if err != nil || !h.readable {
			return err
		}
		if err := eachEntry(c, h, check(h)); err != nil {
			if errors.Is(err, errBadCopy) {
				return nil
			}
			return err
		}
		ok = true
		return eachEntry(c, h, deliver(h))
	})
	if err != nil {
		return false, fmt.Errorf("read index copy %s: %w", name, err)
	}
	return ok, nil
}

// person decodes an entry's bytes after the employee number: the person's
// owner (its number in the head's owners, from 1) and whether they left,
// and how many bytes they took.
func (h *copyHead) person(rest []byte) (owner uint64, left bool, n int, err error) {
	owner, k := binary.Uvarint(rest)
	if k <= 0 || len(rest) < k+1 || rest[k] > 1 || owner == 0 || owner > uint64(len(h.owners)) {
		return 0, false, 0, errBadCopy
	}
	return owner, rest[k] == 1, k + 1, nil
}

// personsFromCopy is Index from a true copy: ok false, nothing was added.
func personsFromCopy(c *sqlite.Conn, size func(n int), add func(emp string, e Indexed)) (names []string, ok bool, err error) {
	ok, err = readCopy(c, personsCopy, func(h *copyHead) entryDecoder {
		return func(_ string, rest []byte) (int, error) {
			_, _, n, err := h.person(rest)
			return n, err
		}
	}, func(h *copyHead) entryDecoder {
		names = append([]string{""}, h.owners...)
		size(int(h.entries))
		return func(emp string, rest []byte) (int, error) {
			owner, left, n, _ := h.person(rest)
			add(emp, Indexed{Owner: uint16(owner), Left: left})
			return n, nil
		}
	})
	if !ok {
		return nil, false, err
	}
	return names, true, nil
}

// copyReader reads a true copy's entries one at a time, a chunk at a
// time, on a connection that may be writing meanwhile (an apply merging
// it into the other slot).
type copyReader struct {
	c    *sqlite.Conn
	h    *copyHead
	seq  int64
	buf  []byte
	rest []byte
}

// next returns the next entry's employee number and the bytes after it
// (a view of the chunk, valid until the next call), which tail measures,
// or ok false at the end.
func (r *copyReader) next(tail func(emp string, rest []byte) (int, error)) (emp string, rest []byte, ok bool, err error) {
	for len(r.rest) == 0 {
		if r.seq == r.h.chunks {
			return "", nil, false, nil
		}
		found, err := first(r.c, `SELECT data FROM index_chunks WHERE name = ? AND slot = ? AND seq = ?`, func(st *sqlite.Stmt) {
			r.buf = append(r.buf[:0], make([]byte, st.ColumnLen(0))...)
			st.ColumnBytes(0, r.buf)
		}, r.h.name, r.h.slot, r.seq)
		if err != nil {
			return "", nil, false, fmt.Errorf("read index copy %s: %w", r.h.name, err)
		}
		if !found {
			return "", nil, false, fmt.Errorf("read index copy %s: %w", r.h.name, errBadCopy)
		}
		r.rest = r.buf
		r.seq++
	}
	l, k := binary.Uvarint(r.rest)
	if k <= 0 || uint64(len(r.rest)-k) < l {
		return "", nil, false, fmt.Errorf("read index copy %s: %w", r.h.name, errBadCopy)
	}
	emp = unsafe.String(unsafe.SliceData(r.rest[k:]), int(l))
	rest = r.rest[k+int(l):]
	n, err := tail(emp, rest)
	if errors.Is(err, errBadCopy) {
		return "", nil, false, fmt.Errorf("read index copy %s: %w", r.h.name, err)
	}
	if err != nil {
		return "", nil, false, err
	}
	r.rest = rest[n:]
	return emp, rest, true, nil
}

// copyWriter writes one copy's entries, in ascending order, into chunks
// of a slot through put, and counts them for the head.
type copyWriter struct {
	name         string
	slot         int64
	buf, last    []byte
	seq, entries int64
	owners       []string // the index: the owner names, numbered from 1
	ownerIDs     map[string]uint64
	put          func(seq int64, data []byte) error
	// unordered: an entry came out of order, so the copy is not written
	// (the apply rebuilds it from the rows).
	unordered bool
}

func newCopyWriter(name string, slot int64, put func(seq int64, data []byte) error) *copyWriter {
	return &copyWriter{name: name, slot: slot, put: put, ownerIDs: map[string]uint64{}, buf: make([]byte, 0, copyChunk+256)}
}

func (w *copyWriter) begin(emp string) bool {
	if w.entries > 0 && emp <= string(w.last) {
		w.unordered = true
	}
	if w.unordered {
		return false
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(len(emp)))
	w.buf = append(w.buf, emp...)
	w.last = append(w.last[:0], emp...)
	w.entries++
	return true
}

func (w *copyWriter) end() error {
	if len(w.buf) < copyChunk {
		return nil
	}
	return w.flush()
}

// flush writes the chunk being filled. The chunk handed to put is put's
// from then on: a background writer may still hold it.
func (w *copyWriter) flush() error {
	if len(w.buf) == 0 || w.unordered {
		return nil
	}
	data := w.buf
	w.buf = make([]byte, 0, copyChunk+256)
	w.seq++
	return w.put(w.seq-1, data)
}

func (w *copyWriter) person(emp, owner string, left bool) error {
	if !w.begin(emp) {
		return nil
	}
	id, ok := w.ownerIDs[owner]
	if !ok {
		w.owners = append(w.owners, owner)
		id = uint64(len(w.owners))
		w.ownerIDs[owner] = id
	}
	w.buf = binary.AppendUvarint(w.buf, id)
	if left {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
	return w.end()
}

// head writes the copy's head, true at generation gen.
func (w *copyWriter) head(c *sqlite.Conn, gen int64) error {
	owners, err := json.Marshal(w.owners)
	if err != nil {
		return err
	}
	if w.owners == nil {
		owners = []byte("[]")
	}
	return exec(c, `INSERT INTO index_heads (name, generation, slot, chunks, entries, owners) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, slot = excluded.slot, chunks = excluded.chunks,
		entries = excluded.entries, owners = excluded.owners`, w.name, gen, w.slot, w.seq, w.entries, string(owners))
}
