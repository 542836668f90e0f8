package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/spendsync/spendsync/export"
)

// Export event kinds besides export's provisioning kinds.
const (
	ExportHeld    = "export.held"
	ExportFormula = "export.formula"
	Migrated      = "migrate.helloid"
)

// ExportInput returns every current person with its contracts, in
// employee-number order.
func (s *Store) ExportInput(ctx context.Context) ([]export.Input, error) {
	st, err := s.LoadState()
	if err != nil {
		return nil, err
	}
	out := make([]export.Input, 0, len(st.persons))
	for _, emp := range slices.Sorted(maps.Keys(st.persons)) {
		p := st.persons[emp]
		if p.Left {
			continue
		}
		in := export.Input{Person: p.Person, Blocked: p.Blocked}
		for _, key := range slices.Sorted(maps.Keys(st.contracts[emp])) {
			in.Contracts = append(in.Contracts, st.contracts[emp][key])
		}
		out = append(out, in)
	}
	return out, nil
}

// LastExport returns what the last export (or migrate) gave Spend Cloud.
func (s *Store) LastExport(ctx context.Context) (*export.Previous, error) {
	prev := &export.Previous{Persons: map[string]export.Row{}, Roles: map[string][]export.Row{}}
	err := s.db.QueryRowContext(ctx, `SELECT id FROM exports ORDER BY time DESC, rowid DESC LIMIT 1`).Scan(&prev.ID)
	if err == sql.ErrNoRows {
		return prev, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	if err := s.readRows(ctx, `SELECT employee_number, row FROM exported_persons`, func(emp string, r export.Row) {
		prev.Persons[emp] = r
	}); err != nil {
		return nil, err
	}
	err = s.readRows(ctx, `SELECT employee_number, row FROM exported_roles ORDER BY rowid`, func(emp string, r export.Row) {
		prev.Roles[emp] = append(prev.Roles[emp], r)
	})
	return prev, err
}

func (s *Store) readRows(ctx context.Context, q string, fn func(string, export.Row)) error {
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read last export: %w", err)
	}
	return eachRow(rows, func() error {
		var emp, data string
		if err := rows.Scan(&emp, &data); err != nil {
			return err
		}
		r, err := decodeRow(data)
		if err != nil {
			return fmt.Errorf("last export row of %s: %w", emp, err)
		}
		fn(emp, r)
		return nil
	})
}

// ExportRecord is one export to record as the new last export.
type ExportRecord struct {
	Manifest *export.Manifest
	Origin   string // export or migrate
	Dump     *export.Dump
	Changes  []export.Change
	Extra    []Event // force events and the like
}

// RecordExport makes the dump the last export and records its provisioning
// events, in one transaction. Only rows that differ are rewritten.
func (s *Store) RecordExport(ctx context.Context, runID int64, prev *export.Previous, rec ExportRecord) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t := now()
		next := map[string]export.Row{}
		nextRoles := map[string][]export.Row{}
		for _, r := range rec.Dump.Persons {
			next[r["employee_number"]] = r
		}
		for _, r := range rec.Dump.Roles {
			nextRoles[r["employee_number"]] = append(nextRoles[r["employee_number"]], r)
		}
		var personRows, roleRows [][]any
		for _, emp := range slices.Sorted(maps.Keys(prev.Persons)) {
			if _, ok := next[emp]; !ok {
				if _, err := tx.Exec(`DELETE FROM exported_persons WHERE employee_number = ?`, emp); err != nil {
					return fmt.Errorf("record export: %w", err)
				}
			}
		}
		for _, emp := range slices.Sorted(maps.Keys(next)) {
			if old, ok := prev.Persons[emp]; !ok || !maps.Equal(old, next[emp]) {
				personRows = append(personRows, []any{emp, encodeRow(next[emp])})
			}
		}
		emps := map[string]bool{}
		for emp := range prev.Roles {
			emps[emp] = true
		}
		for emp := range nextRoles {
			emps[emp] = true
		}
		for _, emp := range slices.Sorted(maps.Keys(emps)) {
			if sameRows(prev.Roles[emp], nextRoles[emp]) {
				continue
			}
			if _, err := tx.Exec(`DELETE FROM exported_roles WHERE employee_number = ?`, emp); err != nil {
				return fmt.Errorf("record export: %w", err)
			}
			for _, r := range nextRoles[emp] {
				roleRows = append(roleRows, []any{emp, encodeRow(r)})
			}
		}
		if err := insertBatch(tx, "exported_persons", []string{"employee_number", "row"},
			"ON CONFLICT (employee_number) DO UPDATE SET row = excluded.row", personRows); err != nil {
			return err
		}
		if err := insertBatch(tx, "exported_roles", []string{"employee_number", "row"}, "", roleRows); err != nil {
			return err
		}
		m := rec.Manifest
		if _, err := tx.Exec(`INSERT INTO exports (id, run_id, time, date, origin, persons, roles, held, manifest)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.ExportID, runID, t, m.Date, rec.Origin, m.Persons.Rows, m.Roles.Rows,
			len(rec.Dump.Held), mustJSON(m)); err != nil {
			return fmt.Errorf("record export: %w", err)
		}
		return insertEvents(tx, append(slices.Clone(rec.Extra), exportEvents(rec)...), runID, t)
	})
}

// exportEvents turns an export's changes, held persons and formula
// findings into events.
func exportEvents(rec ExportRecord) []Event {
	src := "export"
	if rec.Origin != "" {
		src = rec.Origin
	}
	id := ""
	if rec.Manifest != nil {
		id = rec.Manifest.ExportID
	}
	var out []Event
	for _, c := range rec.Changes {
		d := maps.Clone(c.Details)
		d["export_id"] = id
		out = append(out, Event{Source: src, Kind: c.Kind, EmployeeNumber: c.EmployeeNumber, Details: d})
	}
	for _, h := range rec.Dump.Held {
		out = append(out, Event{Source: src, Kind: ExportHeld, EmployeeNumber: h.EmployeeNumber,
			Details: map[string]any{"reason": h.Reason, "fields": h.Fields, "kept_last_export": h.Kept, "export_id": id}})
	}
	for _, h := range rec.Dump.Formulas {
		out = append(out, Event{Source: src, Kind: ExportFormula, EmployeeNumber: h.EmployeeNumber,
			Details: map[string]any{"reason": h.Reason, "fields": h.Fields, "export_id": id}})
	}
	return out
}

// sameRows reports whether a and b hold the same rows in any order (a
// person has a handful of roles, so pairwise search is cheapest).
func sameRows(a, b []export.Row) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, r := range a {
		for j, s := range b {
			if !used[j] && maps.Equal(r, s) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // maps of strings always encode
	}
	return string(b)
}

// DomainCount is an email domain of current persons and how many use it.
type DomainCount struct {
	Domain  string
	Persons int
}

// EmailDomains counts current persons per email domain, by domain.
func (s *Store) EmailDomains(ctx context.Context) ([]DomainCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lower(substr(email, instr(email, '@') + 1)) AS d, COUNT(*)
		FROM persons WHERE left_at IS NULL AND instr(email, '@') > 0 GROUP BY d ORDER BY d`)
	if err != nil {
		return nil, fmt.Errorf("count domains: %w", err)
	}
	var out []DomainCount
	err = eachRow(rows, func() error {
		var d DomainCount
		if err := rows.Scan(&d.Domain, &d.Persons); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}
