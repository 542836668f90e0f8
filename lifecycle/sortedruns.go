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

// run gathers one table's rows; safe for several goroutines. Rows that
// come in key order (files in employee order) go to the writer at once,
// as they would unsorted: gathering them only delayed the inserts. From
// the first row out of order on, until Flush, the rows wait in runs.
type run struct {
	mu       sync.Mutex
	in       *inserter
	rows     []stagedRow
	last     stagedRow // the last row handed over in order
	shuffled bool
}

func (r *run) add(st *Stage, row stagedRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.shuffled {
		if r.last.emp == "" || compareRows(r.last, row) < 0 {
			r.last = row
			r.queue(st, &row)
			return
		}
		r.shuffled = true
	}
	r.rows = append(r.rows, row)
	if len(r.rows) >= runRows {
		r.flushLocked(st)
	}
}

func compareRows(a, b stagedRow) int {
	return cmp.Or(cmp.Compare(a.src, b.src), strings.Compare(a.emp, b.emp), cmp.Compare(a.line, b.line))
}

// handOver gives the rows waiting to the stage's writer; the next
// source's rows start in order again.
func (r *run) handOver(st *Stage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushLocked(st)
	r.last, r.shuffled = stagedRow{}, false
}

// flushLocked sorts the run by the table's key and queues its rows; a
// failure is Flush's to report.
func (r *run) flushLocked(st *Stage) {
	slices.SortFunc(r.rows, compareRows)
	for i := range r.rows {
		r.queue(st, &r.rows[i])
	}
	clear(r.rows)
	r.rows = r.rows[:0]
}

// queue hands one row to the stage's writer.
func (r *run) queue(st *Stage, row *stagedRow) {
	st.bg.add(r.in, func(vals []value) []value {
		vals = append(vals, integer(int64(row.src)), text(row.emp), integer(int64(row.line)), blob(row.data))
		if row.hashed {
			vals = append(vals, value{kind: kindHash, h: row.hash})
		}
		return vals
	})
}
