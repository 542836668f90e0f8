package lifecycle

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"zombiezen.com/go/sqlite"
)

// How an apply keeps the index copies true (indexcopy.go). BeginApply,
// before it writes anything, finds which copies are true and which of the
// tables are empty; the edits the changes make to the index and to the
// source's hashes are merged into them in employee-number order. The
// joiners a Writer streams arrive in that order too (the stage hands them
// over sorted): on a store that held nobody they are merged as they come,
// and the chunks go through the background writer. Everything else is
// written at Commit: merged with the old copy read a chunk at a time, or
// rebuilt from the rows.

// personEdit is what the changes do to one person's index entry:
// Changes.Persons puts it (the source owns it, current), Changes.Leave
// marks it left if it exists.
type personEdit struct {
	emp   string
	put   bool
	owner string
	leave bool
}

// hashEdit is what the changes do to one person's hashes of a source: a
// void removes them, then a put records the known ones (an unknown hash
// keeps what was recorded, as hashUpsert does).
type hashEdit struct {
	emp  string
	void bool
	put  bool
	h    Hashes
}

func (e *hashEdit) apply(h Hashes, present bool) (Hashes, bool) {
	if e.void {
		h, present = Hashes{}, false
	}
	if !e.put {
		return h, present
	}
	if !present {
		return e.h, true
	}
	if e.h.Person.Known() {
		h.Person = e.h.Person
	}
	if e.h.Contracts.Known() {
		h.Contracts = e.h.Contracts
	}
	return h, true
}

// copyMerge merges one copy: the old entries (none, or a true copy read
// a chunk at a time) with the edits, into w.
type copyMerge[E any, V any] struct {
	w     *copyWriter
	old   *copyReader // nil: no old entries
	tail  func([]byte) (V, int, error)
	edits []E
	key   func(*E) string
	edit  func(*E, V, bool) (V, bool)
	write func(emp string, v V) error
	// the next old entry, read ahead
	oemp string
	ov   V
	ook  bool
	i    int
}

func (m *copyMerge[E, V]) advance() error {
	if m.old == nil {
		m.ook = false
		return nil
	}
	var v V
	emp, _, ok, err := m.old.next(func(b []byte) (int, error) {
		var n int
		var err error
		v, n, err = m.tail(b)
		return n, err
	})
	m.oemp, m.ov, m.ook = emp, v, ok
	return err
}

// upto writes every entry before limit (every entry, with all), and
// drops the edit and the old entry at limit, which a streamed joiner
// replaces.
func (m *copyMerge[E, V]) upto(limit string, all bool) error {
	for {
		haveEdit := m.i < len(m.edits)
		if !m.ook && !haveEdit {
			return nil
		}
		k := m.oemp
		if !m.ook || haveEdit && m.key(&m.edits[m.i]) < k {
			k = m.key(&m.edits[m.i])
		}
		if !all && k >= limit {
			if m.ook && m.oemp == limit {
				if err := m.advance(); err != nil {
					return err
				}
			}
			if m.i < len(m.edits) && m.key(&m.edits[m.i]) == limit {
				m.i++
			}
			return nil
		}
		var v V
		present := false
		if m.ook && m.oemp == k {
			v, present = m.ov, true
		}
		if haveEdit && m.key(&m.edits[m.i]) == k {
			v, present = m.edit(&m.edits[m.i], v, present)
			m.i++
		}
		if present {
			// k may point into the old copy's chunk: write it before
			// reading on.
			if err := m.write(k, v); err != nil {
				return err
			}
		}
		if m.ook && m.oemp == k {
			if err := m.advance(); err != nil {
				return err
			}
		}
	}
}

type personValue struct {
	owner string
	left  bool
}

type personMerge = copyMerge[personEdit, personValue]
type hashMerge = copyMerge[hashEdit, Hashes]

func newPersonMerge(w *copyWriter, old *copyReader, edits []personEdit) (*personMerge, error) {
	m := &personMerge{w: w, old: old, edits: edits,
		tail: func(b []byte) (personValue, int, error) {
			owner, left, n, err := decodePerson(b)
			if err != nil || owner == 0 || owner > uint64(len(old.h.owners)) {
				return personValue{}, 0, errBadCopy
			}
			return personValue{old.h.owners[owner-1], left}, n, nil
		},
		key: func(e *personEdit) string { return e.emp },
		edit: func(e *personEdit, v personValue, present bool) (personValue, bool) {
			if e.put {
				v, present = personValue{owner: e.owner}, true
			}
			if e.leave && present {
				v.left = true
			}
			return v, present
		},
		write: func(emp string, v personValue) error { return w.person(emp, v.owner, v.left) },
	}
	return m, m.advance()
}

func newHashMerge(w *copyWriter, old *copyReader, edits []hashEdit) (*hashMerge, error) {
	m := &hashMerge{w: w, old: old, edits: edits,
		tail:  decodeHashes,
		key:   func(e *hashEdit) string { return e.emp },
		edit:  func(e *hashEdit, h Hashes, present bool) (Hashes, bool) { return e.apply(h, present) },
		write: w.hashes,
	}
	return m, m.advance()
}

// personEdits are ch's edits to the index, sorted.
func personEdits(ch *Changes) []personEdit {
	byEmp := map[string]*personEdit{}
	for _, p := range ch.Persons {
		byEmp[p.EmployeeNumber] = &personEdit{emp: p.EmployeeNumber, put: true, owner: p.Source}
	}
	for _, emp := range ch.Leave {
		e := byEmp[emp]
		if e == nil {
			e = &personEdit{emp: emp}
			byEmp[emp] = e
		}
		e.leave = true
	}
	return sortedEdits(byEmp, func(e *personEdit) string { return e.emp })
}

// hashEdits are the edits to source's hashes, sorted: the voids, and
// (for the changes' own source) the puts.
func hashEdits(void []string, put map[string]Hashes) []hashEdit {
	byEmp := map[string]*hashEdit{}
	for _, emp := range void {
		byEmp[emp] = &hashEdit{emp: emp, void: true}
	}
	for emp, h := range put {
		e := byEmp[emp]
		if e == nil {
			e = &hashEdit{emp: emp}
			byEmp[emp] = e
		}
		e.put, e.h = true, h
	}
	return sortedEdits(byEmp, func(e *hashEdit) string { return e.emp })
}

func sortedEdits[E any](byEmp map[string]*E, key func(*E) string) []E {
	keys := slices.Sorted(maps.Keys(byEmp))
	out := make([]E, len(keys))
	for i, k := range keys {
		out[i] = *byEmp[k]
	}
	return out
}

// copyPlan is what an apply does to the copies, from BeginApply to Commit.
type copyPlan struct {
	gen     int64 // the generation the apply began at
	source  string
	persons *copyTarget
	hashes  *copyTarget // the source's own
	// others: other sources' hashes copies true at gen, kept true by
	// merging the voids into them; with drop, deleted instead.
	others []*copyHead
	drop   bool
	// streaming: the Writer merges streamed joiners as they come; with
	// joinHashes set, it gathers them (joined, and their hashes by source)
	// for Commit.
	streaming  bool
	joined     []string
	joinHashes map[string]map[string]Hashes
	pm         *personMerge
	hm         *hashMerge
	pending    string // the last streamed joiner, whose hashes may follow
	pendingH   Hashes
	pendingOK  bool
}

// copyTarget is one copy the apply writes.
type copyTarget struct {
	head    *copyHead
	old     *copyHead // a true copy to merge into; nil with empty or rebuild
	empty   bool      // the table held no entries of it at BeginApply
	rebuild bool      // written from the rows at Commit
}

// newSlot is the slot the copy is written to: the other one.
func (t *copyTarget) newSlot() int64 {
	if t.head.exists {
		return 1 - t.head.slot
	}
	return 0
}

// touchesIndex reports whether ch changes the index or the hashes.
func (ch *Changes) touchesIndex() bool {
	return len(ch.Persons) > 0 || len(ch.Leave) > 0 || len(ch.Hashes) > 0 || len(ch.VoidHashes) > 0 || ch.Streamed > 0
}

// planCopies looks at the copies before ch is written.
func planCopies(c *sqlite.Conn, ch *Changes) (*copyPlan, error) {
	gen, err := generation(c)
	if err != nil {
		return nil, err
	}
	p := &copyPlan{gen: gen, source: ch.Source}
	if !ch.touchesIndex() {
		return p, nil // the copies stay as true as they were
	}
	target := func(name, emptyQuery string, args ...any) (*copyTarget, error) {
		h, err := readHead(c, name, gen)
		if err != nil {
			return nil, err
		}
		t := &copyTarget{head: h}
		if h.readable {
			t.old = h
			return t, nil
		}
		if _, err := first(c, emptyQuery, func(st *sqlite.Stmt) { t.empty = st.ColumnBool(0) }, args...); err != nil {
			return nil, fmt.Errorf("read index copy %s: %w", name, err)
		}
		t.rebuild = !t.empty
		return t, nil
	}
	if p.persons, err = target(personsCopy, `SELECT NOT EXISTS (SELECT 1 FROM persons)`); err != nil {
		return nil, err
	}
	if p.hashes, err = target(hashesCopy(ch.Source), `SELECT NOT EXISTS (SELECT 1 FROM source_hashes WHERE source = ?)`, ch.Source); err != nil {
		return nil, err
	}
	err = each(c, `SELECT name FROM index_heads WHERE generation = ? AND name LIKE 'hashes:%' AND name != ?`, func(st *sqlite.Stmt) error {
		h, err := readHead(c, st.ColumnText(0), gen)
		if err == nil && h.readable {
			p.others = append(p.others, h)
		}
		return err
	}, gen, hashesCopy(ch.Source))
	if err != nil {
		return nil, fmt.Errorf("read index copies: %w", err)
	}
	// Streamed joiners are merged as they come into copies that held
	// nobody (a first ingest): an old copy cannot be read while the
	// background writer holds the connection. Into others they are
	// gathered (a day's few joiners) and merged at Commit.
	if ch.Streamed > 0 {
		empty := func(t *copyTarget) bool { return t.empty || t.old != nil && t.old.entries == 0 }
		if empty(p.persons) && empty(p.hashes) {
			p.streaming, p.drop = true, true
			for _, t := range []*copyTarget{p.persons, p.hashes} {
				t.old, t.empty = nil, true
			}
		} else {
			p.joinHashes = map[string]map[string]Hashes{}
		}
	}
	return p, nil
}

// clearSlot removes what an earlier copy left in the slot about to be
// written.
func clearSlot(c *sqlite.Conn, t *copyTarget) error {
	return exec(c, `DELETE FROM index_chunks WHERE name = ? AND slot = ?`, t.head.name, t.newSlot())
}

// startStreaming prepares the merges the streamed joiners go into; the
// chunks are queued through queue (the background writer).
func (p *copyPlan) startStreaming(c *sqlite.Conn, ch *Changes, queue func(name string, slot, seq int64, data []byte) error) error {
	for _, t := range []*copyTarget{p.persons, p.hashes} {
		if err := clearSlot(c, t); err != nil {
			return err
		}
	}
	put := func(t *copyTarget) func(seq int64, data []byte) error {
		name, slot := t.head.name, t.newSlot()
		return func(seq int64, data []byte) error { return queue(name, slot, seq, data) }
	}
	var err error
	if !p.persons.rebuild {
		if p.pm, err = newPersonMerge(newCopyWriter(personsCopy, p.persons.newSlot(), put(p.persons)), nil, personEdits(ch)); err != nil {
			return err
		}
	}
	if !p.hashes.rebuild {
		if p.hm, err = newHashMerge(newCopyWriter(p.hashes.head.name, p.hashes.newSlot(), put(p.hashes)), nil, hashEdits(ch.VoidHashes, ch.Hashes)); err != nil {
			return err
		}
	}
	return nil
}

// joiner merges a streamed joiner: current, owned by the changes'
// source, its hashes voided (hashed follows with the new ones).
func (p *copyPlan) joiner(emp string) error {
	if p.joinHashes != nil {
		p.joined = append(p.joined, strings.Clone(emp))
		return nil
	}
	if !p.streaming {
		return nil
	}
	if err := p.flushPending(); err != nil {
		return err
	}
	if p.pm != nil {
		if err := p.pm.upto(emp, false); err != nil {
			return err
		}
		if err := p.pm.w.person(emp, p.source, false); err != nil {
			return err
		}
	}
	if p.hm != nil {
		if err := p.hm.upto(emp, false); err != nil {
			return err
		}
		p.pending, p.pendingH, p.pendingOK = emp, Hashes{}, false
	}
	return nil
}

// hashed merges a streamed joiner's hashes.
func (p *copyPlan) hashed(source, emp string, h Hashes) {
	if p.joinHashes != nil {
		m := p.joinHashes[source]
		if m == nil {
			m = map[string]Hashes{}
			p.joinHashes[source] = m
		}
		old, ok := m[emp]
		e := hashEdit{put: true, h: h}
		m[strings.Clone(emp)], _ = e.apply(old, ok)
		return
	}
	if !p.streaming {
		return
	}
	if source != p.source {
		p.drop = true // another source's hashes: its copy goes
		return
	}
	if p.hm == nil {
		return
	}
	if emp != p.pending {
		p.hm.w.unordered = true // not after its joiner: rebuilt from the rows
		return
	}
	e := hashEdit{put: true, h: h}
	p.pendingH, p.pendingOK = e.apply(p.pendingH, p.pendingOK)
}

func (p *copyPlan) flushPending() error {
	if p.hm == nil || p.pending == "" {
		return nil
	}
	emp, h, ok := p.pending, p.pendingH, p.pendingOK
	p.pending, p.pendingOK = "", false
	if !ok {
		return nil
	}
	return p.hm.w.hashes(emp, h)
}

// commit writes the copies, true at the generation the changes left
// (gen), after every row is in.
func (p *copyPlan) commit(c *sqlite.Conn, ch *Changes) error {
	if p.persons == nil {
		return restamp(c, p.gen)
	}
	direct := func(name string, slot int64) func(seq int64, data []byte) error {
		return func(seq int64, data []byte) error {
			return exec(c, `INSERT INTO index_chunks (name, slot, seq, data) VALUES (?, ?, ?, ?)`, name, slot, seq, data)
		}
	}
	if err := p.flushPending(); err != nil {
		return err
	}
	var written []*copyWriter
	// finish ends the merge begun while streaming into t (streamed), or
	// writes t now: merged into its old entries, or from the rows.
	finish := func(t *copyTarget, streamed *copyWriter, merge func(w *copyWriter, old *copyReader) (func() error, error)) error {
		w := streamed
		switch {
		case w != nil && !w.unordered:
			w.put = direct(w.name, w.slot)
			if err := streamedRest(p, w); err != nil {
				return err
			}
		case w != nil || t.rebuild || p.streaming:
			// Out of order, an old copy a stream could not merge into,
			// or the rows were never merged: from the rows.
			if err := clearSlot(c, t); err != nil {
				return err
			}
			w = newCopyWriter(t.head.name, t.newSlot(), direct(t.head.name, t.newSlot()))
			if err := rebuildCopy(c, w); err != nil {
				return err
			}
		default:
			if err := clearSlot(c, t); err != nil {
				return err
			}
			w = newCopyWriter(t.head.name, t.newSlot(), direct(t.head.name, t.newSlot()))
			var old *copyReader
			if t.old != nil {
				old = &copyReader{c: c, h: t.old}
			}
			run, err := merge(w, old)
			if err != nil {
				return err
			}
			if err := run(); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		written = append(written, w)
		return nil
	}
	var pw, hw *copyWriter
	if p.pm != nil {
		pw = p.pm.w
	}
	if p.hm != nil {
		hw = p.hm.w
	}
	if err := finish(p.persons, pw, func(w *copyWriter, old *copyReader) (func() error, error) {
		m, err := newPersonMerge(w, old, p.joinedPersons(personEdits(ch)))
		return func() error { return m.upto("", true) }, err
	}); err != nil {
		return err
	}
	if err := finish(p.hashes, hw, func(w *copyWriter, old *copyReader) (func() error, error) {
		m, err := newHashMerge(w, old, p.joinedHashes(p.source, hashEdits(ch.VoidHashes, ch.Hashes)))
		return func() error { return m.upto("", true) }, err
	}); err != nil {
		return err
	}
	// Other sources' copies: the voids merged in, or deleted.
	var dropped []string
	for _, h := range p.others {
		if p.drop {
			dropped = append(dropped, h.name)
			continue
		}
		edits := p.joinedHashes(h.name[len("hashes:"):], hashEdits(ch.VoidHashes, nil))
		if len(edits) == 0 {
			continue // untouched: restamped below
		}
		t := &copyTarget{head: h, old: h}
		if err := finish(t, nil, func(w *copyWriter, old *copyReader) (func() error, error) {
			m, err := newHashMerge(w, old, edits)
			return func() error { return m.upto("", true) }, err
		}); err != nil {
			return err
		}
	}
	for _, name := range dropped {
		if err := exec(c, `DELETE FROM index_heads WHERE name = ?`, name); err != nil {
			return fmt.Errorf("drop index copy %s: %w", name, err)
		}
		if err := exec(c, `DELETE FROM index_chunks WHERE name = ?`, name); err != nil {
			return fmt.Errorf("drop index copy %s: %w", name, err)
		}
	}
	gen, err := generation(c)
	if err != nil {
		return err
	}
	if err := restamp(c, p.gen); err != nil {
		return err
	}
	for _, w := range written {
		if err := w.head(c, gen); err != nil {
			return fmt.Errorf("write index copy %s: %w", w.name, err)
		}
		// The old slot's chunks go once the head names the new one.
		if err := exec(c, `DELETE FROM index_chunks WHERE name = ? AND slot = ?`, w.name, 1-w.slot); err != nil {
			return fmt.Errorf("write index copy %s: %w", w.name, err)
		}
	}
	if checkCopies() {
		for _, w := range written {
			if err := checkCopy(c, w.name); err != nil {
				return err
			}
		}
	}
	return nil
}

// joinedPersons adds the gathered joiners to edits: each is put, owned by
// the changes' source, after what the changes did to it.
func (p *copyPlan) joinedPersons(edits []personEdit) []personEdit {
	if len(p.joined) == 0 {
		return edits
	}
	byEmp := map[string]*personEdit{}
	for i := range edits {
		byEmp[edits[i].emp] = &edits[i]
	}
	for _, emp := range p.joined {
		byEmp[emp] = &personEdit{emp: emp, put: true, owner: p.source}
	}
	return sortedEdits(byEmp, func(e *personEdit) string { return e.emp })
}

// joinedHashes adds to edits of source's hashes what the gathered joiners
// did: a joiner's hashes of every source are voided, then the streamed
// ones of source put.
func (p *copyPlan) joinedHashes(source string, edits []hashEdit) []hashEdit {
	puts := p.joinHashes[source]
	if len(p.joined) == 0 && len(puts) == 0 {
		return edits
	}
	byEmp := map[string]*hashEdit{}
	for i := range edits {
		byEmp[edits[i].emp] = &edits[i]
	}
	for _, emp := range p.joined {
		byEmp[emp] = &hashEdit{emp: emp, void: true}
	}
	for emp, h := range puts {
		e := byEmp[emp]
		if e == nil {
			e = &hashEdit{emp: emp}
			byEmp[emp] = e
		}
		if e.put {
			e.h, _ = (&hashEdit{put: true, h: h}).apply(e.h, true)
		} else {
			e.put, e.h = true, h
		}
	}
	return sortedEdits(byEmp, func(e *hashEdit) string { return e.emp })
}

// streamedRest writes what a streamed merge holds after the last joiner.
func streamedRest(p *copyPlan, w *copyWriter) error {
	if p.pm != nil && p.pm.w == w {
		return p.pm.upto("", true)
	}
	return p.hm.upto("", true)
}

// restamp marks the copies true at gen (before the changes) true at the
// generation now: the changes left them as they were.
func restamp(c *sqlite.Conn, gen int64) error {
	now, err := generation(c)
	if err != nil || now == gen {
		return err
	}
	if err := exec(c, `UPDATE index_heads SET generation = ? WHERE generation = ?`, now, gen); err != nil {
		return fmt.Errorf("restamp index copies: %w", err)
	}
	return nil
}

// rebuildCopy writes w's copy from the rows.
func rebuildCopy(c *sqlite.Conn, w *copyWriter) error {
	var err error
	if w.name == personsCopy {
		err = each(c, `SELECT employee_number, source, left_at IS NOT NULL FROM persons ORDER BY employee_number`, func(st *sqlite.Stmt) error {
			return w.person(st.ColumnText(0), st.ColumnText(1), st.ColumnBool(2))
		})
	} else {
		err = eachHashRow(c, w.name[len("hashes:"):], func(emp string, h Hashes) error { return w.hashes(emp, h) })
	}
	if err != nil {
		return fmt.Errorf("write index copy %s: %w", w.name, err)
	}
	if w.unordered {
		return fmt.Errorf("write index copy %s: the rows are not in employee-number order", w.name)
	}
	return nil
}

func eachHashRow(c *sqlite.Conn, source string, fn func(emp string, h Hashes) error) error {
	return each(c, `SELECT employee_number, person, contracts FROM source_hashes WHERE source = ? ORDER BY employee_number`, func(st *sqlite.Stmt) error {
		var h Hashes
		st.ColumnBytes(1, h.Person[:])
		st.ColumnBytes(2, h.Contracts[:])
		return fn(st.ColumnText(0), h)
	}, source)
}

// checkCopies: compare every copy an apply writes with the rows before
// it commits (tests, and make test through the environment).
var checkCopies = func() bool { return testing.Testing() || os.Getenv("SPENDSYNC_CHECK_INDEX_COPY") == "1" }

var errCopyDiffers = errors.New("index copy differs from the rows")

// checkCopy compares the copy name with the rows.
func checkCopy(c *sqlite.Conn, name string) error {
	type row struct {
		emp  string
		a, b any
	}
	var rows, copied []row
	var err error
	gen, err := generation(c)
	if err != nil {
		return err
	}
	h, err := readHead(c, name, gen)
	if err != nil {
		return err
	}
	if !h.readable {
		return fmt.Errorf("%w: %s is not true at generation %d", errCopyDiffers, name, gen)
	}
	if name == personsCopy {
		err = each(c, `SELECT employee_number, source, left_at IS NOT NULL FROM persons ORDER BY employee_number`, func(st *sqlite.Stmt) error {
			rows = append(rows, row{st.ColumnText(0), st.ColumnText(1), st.ColumnBool(2)})
			return nil
		})
		if err == nil {
			err = eachEntry(c, h, func(emp string, rest []byte) (int, error) {
				owner, left, n, err := decodePerson(rest)
				if err != nil || owner == 0 || owner > uint64(len(h.owners)) {
					return 0, errBadCopy
				}
				copied = append(copied, row{emp: string([]byte(emp)), a: h.owners[owner-1], b: left})
				return n, nil
			})
		}
	} else {
		err = eachHashRow(c, name[len("hashes:"):], func(emp string, h Hashes) error {
			rows = append(rows, row{emp, h.Person, h.Contracts})
			return nil
		})
		if err == nil {
			err = eachEntry(c, h, func(emp string, rest []byte) (int, error) {
				hs, n, err := decodeHashes(rest)
				copied = append(copied, row{emp: string([]byte(emp)), a: hs.Person, b: hs.Contracts})
				return n, err
			})
		}
	}
	if err != nil {
		return fmt.Errorf("check index copy %s: %w", name, err)
	}
	if len(rows) != len(copied) {
		return fmt.Errorf("%w: %s has %d entries, the rows %d", errCopyDiffers, name, len(copied), len(rows))
	}
	for i := range rows {
		if rows[i] != copied[i] {
			return fmt.Errorf("%w: %s entry %d is %v, the row %v", errCopyDiffers, name, i, copied[i], rows[i])
		}
	}
	return nil
}
