package lifecycle

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// runRows is how many rows of one stage table wait to be sorted before
// they are inserted. The stage's tables are keyed (src, emp, line) so
// that they read back in employee order; rows of files in HR order (by
// name, say) came in at random places of the B-trees, each insert a seek
// through pages the stage's cache no longer held. Sorted, a run's rows
// land in key order, each leaf touched once per run. A run of 16k rows is
// a few MB whatever the files' size.
const runRows = 16384

// stagedRow is a row of the stage's persons or contracts table.
type stagedRow struct {
	src, line int
	emp       string
	data      []byte
	hash      Hash
	hashed    bool // the table has a hash column
}

// run gathers one table's rows; safe for several goroutines.
type run struct {
	mu   sync.Mutex
	in   *inserter
	rows []stagedRow
}

func (r *run) add(st *Stage, row stagedRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
	if len(r.rows) >= runRows {
		r.flushLocked(st)
	}
}

// handOver gives the rows waiting to the stage's writer.
func (r *run) handOver(st *Stage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked(st)
}

// flushLocked sorts the run by the table's key and queues its rows; a
// failure is Flush's to report.
func (r *run) flushLocked(st *Stage) {
	slices.SortFunc(r.rows, func(a, b stagedRow) int {
		return cmp.Or(cmp.Compare(a.src, b.src), strings.Compare(a.emp, b.emp), cmp.Compare(a.line, b.line))
	})
	for i := range r.rows {
		row := &r.rows[i]
		st.bg.add(r.in, func(vals []value) []value {
			vals = append(vals, integer(int64(row.src)), text(row.emp), integer(int64(row.line)), blob(row.data))
			if row.hashed {
				vals = append(vals, value{kind: kindHash, h: row.hash})
			}
			return vals
		})
	}
	clear(r.rows)
	r.rows = r.rows[:0]
}
