package lifecycle

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unsafe"

	"github.com/spendsync/spendsync/internal/model"
	"zombiezen.com/go/sqlite"
)

// An export after a day's changes makes the last export's dump but for
// the persons whose inputs changed: their fields, block or contracts
// (marked here), or a contract whose window the date moved across
// (WindowMoved). So every write that changes what an export reads of a
// person marks them in person_marks with the generation it leaves, and
// the next export walks only the marked persons and carries everyone else
// from the last export's stored rows (pipeline). The marks are written only
// while an export basis is recorded (nothing else reads them) and go when
// an export is recorded: that export read every change before it.
//
// An export holds the write transaction from before its snapshot until it
// commits, so no apply commits in between: a change is either in the
// export's snapshot or marked after its basis.

// markingGen returns the generation the marks of a change made now
// carry (the one it leaves, as bumpGeneration counts), or 0 when no
// export basis is recorded and nothing is marked.
func markingGen(c *sqlite.Conn) (int64, error) {
	var basis bool
	if _, err := first(c, `SELECT EXISTS (SELECT 1 FROM meta WHERE key = ?)`, func(st *sqlite.Stmt) { basis = st.ColumnBool(0) }, basisKey); err != nil {
		return 0, fmt.Errorf("read export basis: %w", err)
	}
	if !basis {
		return 0, nil
	}
	g, err := generation(c)
	return g + 1, err
}

const markUpsert = "ON CONFLICT (employee_number) DO UPDATE SET changed = excluded.changed"

// newMarker is the inserter of marks of generation gen.
func newMarker(c *sqlite.Conn, gen int64) *inserter {
	return newInserter(c, "person_marks", []string{"changed", "employee_number"}, []value{integer(gen)}, markUpsert)
}

// markChanges marks the persons ch changes (gen 0: none).
func markChanges(c *sqlite.Conn, ch *Changes, gen int64) error {
	if gen == 0 {
		return nil
	}
	emps := map[string]bool{}
	for _, p := range ch.Persons {
		emps[p.EmployeeNumber] = true
	}
	for _, emp := range ch.Leave {
		emps[emp] = true
	}
	for _, k := range ch.PutContracts {
		emps[k.EmployeeNumber] = true
	}
	for _, k := range ch.DelContracts {
		emps[k.EmployeeNumber] = true
	}
	sorted := slices.Sorted(maps.Keys(emps))
	return insertEach(newMarker(c, gen), len(sorted), func(vals []value, i int) []value { return append(vals, text(sorted[i])) })
}

// clearMarks removes the marks an export has read: all of them, since it
// held the write transaction since its snapshot.
func clearMarks(c *sqlite.Conn) error {
	if err := exec(c, `DELETE FROM person_marks`); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	return nil
}

// Marked returns, sorted, the persons marked as changed after generation
// since.
func (r *ExportReader) Marked(since int64) ([]string, error) {
	var out []string
	err := each(r.conn, `SELECT employee_number FROM person_marks WHERE changed > ? ORDER BY employee_number`, func(st *sqlite.Stmt) error {
		out = append(out, st.ColumnText(0))
		return nil
	}, since)
	if err != nil {
		return nil, fmt.Errorf("read changed persons: %w", err)
	}
	return out, nil
}

// WindowMoved returns, sorted, the persons with a contract that counts on
// one of the two dates and not on the other, with lead and grace days as
// the export applies them.
func (r *ExportReader) WindowMoved(from, to string, leadDays, graceDays int) ([]string, error) {
	if from == to {
		return nil, nil
	}
	var out []string
	err := each(r.conn, `SELECT employee_number, start_date, end_date FROM contracts ORDER BY employee_number`, func(st *sqlite.Stmt) error {
		c := model.Contract{StartDate: st.ColumnText(1), EndDate: st.ColumnText(2)}
		if c.ActiveOn(from, leadDays, graceDays) != c.ActiveOn(to, leadDays, graceDays) {
			if emp := st.ColumnText(0); len(out) == 0 || out[len(out)-1] != emp {
				out = append(out, emp)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read contract dates: %w", err)
	}
	return out, nil
}

// CurrentOf calls fn, as Current does, for those of emps that are current
// persons in the reader's snapshot, in employee-number order: one query,
// not one per person.
func (r *ExportReader) CurrentOf(emps []string, fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	if len(emps) == 0 {
		return nil
	}
	list, err := json.Marshal(emps)
	if err != nil {
		return err
	}
	return scanPersons(r.conn, currentOfQuery, fn, string(list))
}

// StoredRows returns the stored rows of the person Next returned last, from
// the row Next read: Rows without a second lookup. The strings are valid
// until the next call of Next: a carried person's rows are written out
// before the walk reads on, so they are not copied.
func (r *ExportReader) StoredRows() (person string, roles []string) {
	r.stored = columnBytes(r.last, 2, r.stored[:0])
	n := len(r.stored)
	r.stored = append(r.stored, columnBytes(r.last, 3, r.stored[n:])...)
	person = unsafe.String(unsafe.SliceData(r.stored), n)
	r.roles = r.roles[:0]
	if joined := unsafe.String(unsafe.SliceData(r.stored[n:]), len(r.stored)-n); joined != "" {
		for part := range strings.SplitSeq(joined, RoleSep) {
			r.roles = append(r.roles, part)
		}
	}
	return person, r.roles
}
