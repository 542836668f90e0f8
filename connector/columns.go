package connector

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

// columnMap binds canonical fields to the columns of one table.
type columnMap struct {
	t      rowSource
	idx    map[string]int
	sorted []string // the keys of idx in order, so every row checks its fields alike without sorting again
	// Resolved once (prepare), so a row is read by position, not by a map
	// lookup per field: cols[i] is idx[sorted[i]]; key, person and
	// contract hold the column of the employee number and of each of
	// model.PersonFields and model.ContractFields, -1 when absent.
	cols             []int
	key              int
	person, contract []int
}

// prepare resolves sorted and the columns of the canonical fields from
// idx; a map built outside bind (lookups) is prepared on first use.
func (m *columnMap) prepare() {
	m.sorted = slices.Sorted(maps.Keys(m.idx))
	m.cols = make([]int, len(m.sorted))
	for i, f := range m.sorted {
		m.cols[i] = m.idx[f]
	}
	m.key = m.column(model.KeyField)
	m.person = m.columns(model.PersonFields)
	m.contract = m.columns(model.ContractFields)
}

func (m *columnMap) column(f string) int {
	if i, ok := m.idx[f]; ok {
		return i
	}
	return -1
}

func (m *columnMap) columns(fields []string) []int {
	out := make([]int, len(fields))
	for i, f := range fields {
		out[i] = m.column(f)
	}
	return out
}

// at returns column i of rec with surrounding spaces trimmed, or "" when
// the column is absent (-1) or the row short.
func (m *columnMap) at(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.Trim(rec[i], " ")
}

// bind resolves fields against t's header. A field set explicitly in
// columns: must exist; a profile's may be missing (not every export has
// every column).
func (res *reader) bind(t rowSource, fields []string, contracts bool) (*columnMap, error) {
	cols, fromProfile := res.Source.columnsFor(contracts)
	m := &columnMap{t: t, idx: map[string]int{}}
	for _, f := range fields {
		h, ok := cols[f]
		if !ok {
			continue
		}
		i, err := t.index(h)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			if f == "employee_number" || !fromProfile[f] {
				hint := ""
				if strings.ContainsRune(strings.Join(t.head(), ""), 0) {
					hint = " (NUL bytes in the header: is the file UTF-16? set sources.encoding: utf-16)"
				}
				return nil, fmt.Errorf("%s line 1: no column %s for %s (sources.columns.%s); the header has: %s%s",
					t.name(), show.Quote(h), f, f, show.List(t.head()), hint)
			}
			continue
		}
		m.idx[f] = i
	}
	m.prepare()
	return m, nil
}

func (m *columnMap) has(f string) bool { _, ok := m.idx[f]; return ok }

// get returns the field's value with surrounding spaces trimmed.
func (m *columnMap) get(rec []string, f string) string { return m.at(rec, m.column(f)) }

func (m *columnMap) header(f string) string {
	if i, ok := m.idx[f]; ok {
		return m.t.head()[i]
	}
	return f
}
