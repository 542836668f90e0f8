package lifecycle

import (
	"fmt"
	"strings"

	"zombiezen.com/go/sqlite"
)

// batchRows is how many rows go into one multi-row INSERT: each statement
// run costs a trip through SQLite's VM setup, a row in a batch only its
// bindings.
const batchRows = 200

// value is one bound value of a row: text, an integer, a blob or NULL.
// Rows are kept as values, not as []any, so queueing one allocates
// nothing.
type value struct {
	kind byte
	s    string
	i    int64
	b    []byte
	h    Hash // kindHash: held in the value, so queueing one copies no slice
}

const (
	kindNull byte = iota
	kindText
	kindInt
	kindBlob
	kindHash
)

func text(s string) value   { return value{kind: kindText, s: s} }
func integer(i int64) value { return value{kind: kindInt, i: i} }
func boolean(b bool) value {
	if b {
		return integer(1)
	}
	return integer(0)
}

// blob is b as a BLOB; nil is NULL.
func blob(b []byte) value {
	if b == nil {
		return value{}
	}
	return value{kind: kindBlob, b: b}
}

func (v *value) bind(st *sqlite.Stmt, i int) {
	switch v.kind {
	case kindText:
		st.BindText(i, v.s)
	case kindInt:
		st.BindInt64(i, v.i)
	case kindBlob:
		st.BindBytes(i, v.b)
	case kindHash:
		st.BindBytes(i, v.h[:])
	default:
		st.BindNull(i)
	}
}

// appendTexts appends the strings ptrs point to.
func appendTexts(vals []value, ptrs []*string) []value {
	for _, p := range ptrs {
		vals = append(vals, text(*p))
	}
	return vals
}

// An inserter writes rows into one table with a multi-row INSERT of
// batchRows rows, prepared once and run for every full batch; a shorter
// last batch gets a statement of its own. The first len(fixed) columns
// take the same values in every row (an event's time, run and actor):
// they are bound once per statement as ?1, ?2, ..., so a row binds only
// its own values. With rows set to 1 and a query of its own it runs any
// one-row statement (a delete) in the same order as the inserts.
//
// An inserter belongs to one connection and is used by the goroutine that
// holds it: directly (add), or through a writer (writer.go).
type inserter struct {
	conn    *sqlite.Conn
	what    string // for errors: "insert into persons"
	query   func(rows int) string
	fixed   []value
	perRow  int // values per row besides the fixed ones
	rows    int // rows per statement
	full    *sqlite.Stmt
	pending []value // the queued rows' values
	n       int
}

// newInserter makes an inserter of cols into table; suffix is appended to
// the INSERT (ON CONFLICT ...).
func newInserter(c *sqlite.Conn, table string, cols []string, fixed []value, suffix string) *inserter {
	vals := make([]string, len(cols))
	for i := range vals {
		vals[i] = "?"
		if i < len(fixed) {
			vals[i] = fmt.Sprintf("?%d", i+1)
		}
	}
	one := "(" + strings.Join(vals, ", ") + ")"
	head := "INSERT OR FAIL INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	// OR FAIL: a multi-row INSERT that may abort part-way keeps a
	// statement journal, a copy of every existing page it changes, so it
	// can undo its own rows; at 100k persons a first export wrote 250 MB
	// of them to a temporary file. Undoing one statement buys nothing
	// here: any failed write fails the transaction, which rolls back.
	query := func(rows int) string {
		return head + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ") + " " + suffix
	}
	return &inserter{conn: c, what: "insert into " + table, query: query, fixed: fixed, perRow: len(cols) - len(fixed), rows: batchRows}
}

// newStatement makes an inserter that runs query (perRow values) once
// per row; what names it in errors.
func newStatement(c *sqlite.Conn, what, query string, perRow int) *inserter {
	return &inserter{conn: c, what: what, query: func(int) string { return query }, perRow: perRow, rows: 1}
}

// add queues one row, whose values fill appends, and writes a full batch.
func (in *inserter) add(fill func([]value) []value) error {
	in.pending = fill(in.pending)
	return in.added()
}

// added counts a row whose values are in pending.
func (in *inserter) added() error {
	if in.n++; in.n < in.rows {
		return nil
	}
	return in.flush()
}

// flush writes the rows queued.
func (in *inserter) flush() error {
	if in.n == 0 {
		return nil
	}
	if len(in.pending) != in.n*in.perRow {
		return fmt.Errorf("%s: %d values for %d rows of %d", in.what, len(in.pending), in.n, in.perRow)
	}
	st := in.full
	if in.n < in.rows || st == nil {
		var err error
		if st, _, err = in.conn.PrepareTransient(in.query(in.n)); err != nil {
			return fmt.Errorf("prepare %s: %w", in.what, err)
		}
		for i := range in.fixed {
			in.fixed[i].bind(st, i+1)
		}
		if in.n == in.rows {
			in.full = st
		} else {
			defer st.Finalize()
		}
	}
	for i := range in.pending {
		in.pending[i].bind(st, len(in.fixed)+i+1)
	}
	_, err := st.Step()
	if rerr := st.Reset(); err == nil {
		err = rerr
	}
	clear(in.pending)
	in.pending, in.n = in.pending[:0], 0
	if err != nil {
		return fmt.Errorf("%s: %w", in.what, err)
	}
	return nil
}

// close releases the prepared statement; rows still queued are dropped.
func (in *inserter) close() {
	if in.full != nil {
		in.full.Finalize()
		in.full = nil
	}
}

// insertEach inserts n rows, row i's values appended by fn, and closes
// the inserter.
func insertEach(in *inserter, n int, fn func(vals []value, i int) []value) error {
	defer in.close()
	for i := range n {
		if err := in.add(func(vals []value) []value { return fn(vals, i) }); err != nil {
			return err
		}
	}
	return in.flush()
}
