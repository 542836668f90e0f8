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

// How an apply keeps the index copy true (indexcopy.go). BeginApply,
// before it writes anything, finds whether the copy is true or the store
// holds nobody; the changes' edits to the index are merged into the copy
// in employee-number order at Commit, when the connection is free to read
// the old copy a chunk at a time. The joiners a Writer streams arrive in
// that order too (the stage hands them over sorted): into a store that
// held nobody (a first ingest) they are merged as they come and the
// chunks go through the background writer; otherwise the few of a day
// are gathered and merged at Commit.

// personEdit is what the changes do to one person's index entry:
// Changes.Persons and a streamed joiner put it (the source owns it,
// current), Changes.Leave marks it left if it exists.
type personEdit struct {
	emp   string
	put   bool
	owner string
	leave bool
}

// personValue is an index entry's value.
type personValue struct {
	owner string
	left  bool
}

// apply is what e makes of the entry v (present: it exists).
func (e *personEdit) apply(v personValue, present bool) (personValue, bool) {
	if e.put {
		v, present = personValue{owner: e.owner}, true
	}
	if e.leave && present {
		v.left = true
	}
	return v, present
}

// personMerge merges the old entries (none, or a true copy read a chunk
// at a time) with sorted edits into w, or with w nil only finds whether
// the edits change anything (changed).
type personMerge struct {
	w       *copyWriter
	old     *copyReader // nil: no old entries
	edits   []personEdit
	i       int
	changed bool
	// the next old entry, read ahead
	oemp string
	ov   personValue
	ook  bool
}

func newPersonMerge(w *copyWriter, old *copyReader, edits []personEdit) (*personMerge, error) {
	m := &personMerge{w: w, old: old, edits: edits}
	return m, m.advance()
}

func (m *personMerge) advance() error {
	if m.old == nil {
		m.ook = false
		return nil
	}
	var v personValue
	emp, _, ok, err := m.old.next(func(_ string, b []byte) (int, error) {
		owner, left, n, err := m.old.h.person(b)
		if err != nil {
			return 0, err
		}
		v = personValue{m.old.h.owners[owner-1], left}
		return n, nil
	})
	m.oemp, m.ov, m.ook = emp, v, ok
	return err
}

// upto writes every entry before limit (every entry, with all), and
// drops the edit and the old entry at limit, which a streamed joiner
// replaces.
func (m *personMerge) upto(limit string, all bool) error {
	for {
		haveEdit := m.i < len(m.edits)
		if !m.ook && !haveEdit {
			return nil
		}
		k := m.oemp
		if !m.ook || haveEdit && m.edits[m.i].emp < k {
			k = m.edits[m.i].emp
		}
		if !all && k >= limit {
			if m.ook && m.oemp == limit {
				if err := m.advance(); err != nil {
					return err
				}
			}
			if m.i < len(m.edits) && m.edits[m.i].emp == limit {
				m.i++
			}
			return nil
		}
		var v personValue
		present := false
		if m.ook && m.oemp == k {
			v, present = m.ov, true
		}
		if haveEdit && m.edits[m.i].emp == k {
			nv, np := m.edits[m.i].apply(v, present)
			m.changed = m.changed || np != present || nv != v
			v, present = nv, np
			m.i++
		}
		if present && m.w != nil {
			// k may point into the old copy's chunk: write it before
			// reading on.
			if err := m.w.person(k, v.owner, v.left); err != nil {
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

// personEdits are ch's edits to the index, with the joiners a Writer
// streamed after them, sorted.
func personEdits(ch *Changes, joined []string) []personEdit {
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
	for _, emp := range joined {
		byEmp[emp] = &personEdit{emp: emp, put: true, owner: ch.Source}
	}
	keys := slices.Sorted(maps.Keys(byEmp))
	out := make([]personEdit, len(keys))
	for i, k := range keys {
		out[i] = *byEmp[k]
	}
	return out
}

// copyPlan is what an apply does to the copy, from BeginApply to Commit.
type copyPlan struct {
	gen    int64 // the generation the apply began at
	source string
	head   *copyHead
	touch  bool // the changes edit the index
	// old is the copy to merge into; with none, empty says the store held
	// nobody, and otherwise the copy is rebuilt from the rows.
	old   *copyHead
	empty bool
	// streaming: the Writer merges streamed joiners as they come (into an
	// empty store), into pm; otherwise it gathers them in joined.
	streaming bool
	pm        *personMerge
	joined    []string
}

// touchesIndex reports whether ch changes the index.
func (ch *Changes) touchesIndex() bool {
	return len(ch.Persons) > 0 || len(ch.Leave) > 0 || ch.Streamed > 0
}

// planCopies looks at the copy before ch is written.
func planCopies(c *sqlite.Conn, ch *Changes) (*copyPlan, error) {
	gen, err := generation(c)
	if err != nil {
		return nil, err
	}
	p := &copyPlan{gen: gen, source: ch.Source, touch: ch.touchesIndex()}
	if !p.touch {
		return p, nil // the copy stays as true as it was
	}
	if p.head, err = readHead(c, personsCopy, gen); err != nil {
		return nil, err
	}
	if p.head.readable {
		p.old = p.head
	} else if _, err := first(c, `SELECT NOT EXISTS (SELECT 1 FROM persons)`, func(st *sqlite.Stmt) { p.empty = st.ColumnBool(0) }); err != nil {
		return nil, fmt.Errorf("read index copy: %w", err)
	}
	// An old copy cannot be read while the background writer holds the
	// connection: streamed joiners are merged as they come only into a
	// store that held nobody.
	p.streaming = ch.Streamed > 0 && (p.empty || p.old != nil && p.old.entries == 0)
	return p, nil
}

// newSlot is the slot the copy is written to: the other one.
func (p *copyPlan) newSlot() int64 {
	if p.head.exists {
		return 1 - p.head.slot
	}
	return 0
}

// clearSlot removes what an earlier copy left in the slot about to be
// written.
func (p *copyPlan) clearSlot(c *sqlite.Conn) error {
	return exec(c, `DELETE FROM index_chunks WHERE name = ? AND slot = ?`, personsCopy, p.newSlot())
}

// startStreaming prepares the merge streamed joiners go into; its chunks
// are queued through queue (the background writer).
func (p *copyPlan) startStreaming(c *sqlite.Conn, ch *Changes, queue func(name string, slot, seq int64, data []byte) error) error {
	if err := p.clearSlot(c); err != nil {
		return err
	}
	slot := p.newSlot()
	w := newCopyWriter(personsCopy, slot, func(seq int64, data []byte) error { return queue(personsCopy, slot, seq, data) })
	var err error
	p.pm, err = newPersonMerge(w, nil, personEdits(ch, nil))
	return err
}

// joiner merges or gathers a streamed joiner: current, owned by the
// changes' source.
func (p *copyPlan) joiner(emp string) error {
	if !p.streaming {
		p.joined = append(p.joined, strings.Clone(emp))
		return nil
	}
	if err := p.pm.upto(emp, false); err != nil {
		return err
	}
	return p.pm.w.person(emp, p.source, false)
}

// commit writes the copy, after every row is in, true at the generation
// the changes left.
func (p *copyPlan) commit(c *sqlite.Conn, ch *Changes) error {
	if !p.touch {
		return restamp(c, p.gen)
	}
	direct := func(slot int64) func(seq int64, data []byte) error {
		return func(seq int64, data []byte) error {
			return exec(c, `INSERT INTO index_chunks (name, slot, seq, data) VALUES (?, ?, ?, ?)`, personsCopy, slot, seq, data)
		}
	}
	var w *copyWriter
	switch {
	case p.streaming && !p.pm.w.unordered:
		w = p.pm.w
		w.put = direct(w.slot)
		if err := p.pm.upto("", true); err != nil {
			return err
		}
	case p.old == nil && !p.empty || p.streaming:
		// Out of order, or no copy to merge into: from the rows.
		if err := p.clearSlot(c); err != nil {
			return err
		}
		w = newCopyWriter(personsCopy, p.newSlot(), direct(p.newSlot()))
		if err := rebuildCopy(c, w); err != nil {
			return err
		}
	default:
		edits := personEdits(ch, p.joined)
		if p.old != nil {
			// Most days change no owner and no leaver: nothing to write.
			dry, err := newPersonMerge(nil, &copyReader{c: c, h: p.old}, edits)
			if err == nil {
				err = dry.upto("", true)
			}
			if err != nil {
				return err
			}
			if !dry.changed {
				return restamp(c, p.gen)
			}
		}
		if err := p.clearSlot(c); err != nil {
			return err
		}
		w = newCopyWriter(personsCopy, p.newSlot(), direct(p.newSlot()))
		var old *copyReader
		if p.old != nil {
			old = &copyReader{c: c, h: p.old}
		}
		m, err := newPersonMerge(w, old, edits)
		if err == nil {
			err = m.upto("", true)
		}
		if err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	gen, err := generation(c)
	if err != nil {
		return err
	}
	if err := w.head(c, gen); err != nil {
		return fmt.Errorf("write index copy: %w", err)
	}
	// The old slot's chunks go once the head names the new one.
	if err := exec(c, `DELETE FROM index_chunks WHERE name = ? AND slot = ?`, personsCopy, 1-w.slot); err != nil {
		return fmt.Errorf("write index copy: %w", err)
	}
	if checkCopies() {
		return checkCopy(c)
	}
	return nil
}

// restamp marks a copy true at gen (before the changes) true at the
// generation now: the changes left it as it was.
func restamp(c *sqlite.Conn, gen int64) error {
	now, err := generation(c)
	if err != nil || now == gen {
		return err
	}
	if err := exec(c, `UPDATE index_heads SET generation = ? WHERE generation = ?`, now, gen); err != nil {
		return fmt.Errorf("restamp index copy: %w", err)
	}
	if checkCopies() {
		return checkCopy(c)
	}
	return nil
}

// rebuildCopy writes the copy from the rows.
func rebuildCopy(c *sqlite.Conn, w *copyWriter) error {
	err := each(c, `SELECT employee_number, source, left_at IS NOT NULL FROM persons ORDER BY employee_number`, func(st *sqlite.Stmt) error {
		return w.person(st.ColumnText(0), st.ColumnText(1), st.ColumnBool(2))
	})
	if err != nil {
		return fmt.Errorf("write index copy: %w", err)
	}
	if w.unordered {
		return errors.New("write index copy: the rows are not in employee-number order")
	}
	return nil
}

// checkCopies: compare the copy an apply leaves true with the rows before
// it commits (tests, and make test through the environment).
var checkCopies = func() bool { return testing.Testing() || os.Getenv("SPENDSYNC_CHECK_INDEX_COPY") == "1" }

var errCopyDiffers = errors.New("index copy differs from the rows")

// checkCopy compares the copy, if it is true, with the rows.
func checkCopy(c *sqlite.Conn) error {
	type row struct {
		emp, owner string
		left       bool
	}
	h, err := headNow(c, personsCopy)
	if err != nil || !h.readable {
		return err
	}
	var rows, copied []row
	err = each(c, `SELECT employee_number, source, left_at IS NOT NULL FROM persons ORDER BY employee_number`, func(st *sqlite.Stmt) error {
		rows = append(rows, row{st.ColumnText(0), st.ColumnText(1), st.ColumnBool(2)})
		return nil
	})
	if err == nil {
		err = eachEntry(c, h, func(emp string, rest []byte) (int, error) {
			owner, left, n, err := h.person(rest)
			if err != nil {
				return 0, err
			}
			copied = append(copied, row{strings.Clone(emp), h.owners[owner-1], left})
			return n, nil
		})
	}
	if err != nil {
		return fmt.Errorf("check index copy: %w", err)
	}
	if len(rows) != len(copied) {
		return fmt.Errorf("%w: %d entries, the rows %d", errCopyDiffers, len(copied), len(rows))
	}
	for i := range rows {
		if rows[i] != copied[i] {
			return fmt.Errorf("%w: entry %d is %v, the row %v", errCopyDiffers, i, copied[i], rows[i])
		}
	}
	return nil
}
