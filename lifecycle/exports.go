package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
)

// Export event kinds besides export's provisioning kinds.
const (
	ExportHeld     = "export.held"     // a person held back that was not, or not so, at the last export
	ExportReleased = "export.released" // a person the last export held back no longer is
	ExportFormula  = "export.formula"
	Migrated       = "migrate.helloid"
)

// Current calls fn for every current (not left) person with its contracts,
// in employee-number order. It streams one ordered query, so only one
// person is held at a time; contracts is reused between calls.
func (s *Store) Current(ctx context.Context, fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	rows, err := s.db.QueryContext(ctx, currentQuery)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	defer rows.Close()
	var cur, next model.Person
	var blocked, nextBlocked, have bool
	var contracts []model.Contract
	// A person without contracts has NULL contract columns (LEFT JOIN).
	var key sql.NullString
	cfields := make([]sql.NullString, len(model.ContractFields))
	dest := appendPtrs([]any{&next.EmployeeNumber}, next.FieldPtrs())
	dest = append(dest, &nextBlocked, &key)
	for i := range cfields {
		dest = append(dest, &cfields[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read state: %w", err)
		}
		if !have || next.EmployeeNumber != cur.EmployeeNumber {
			if have {
				if err := fn(&cur, blocked, contracts); err != nil {
					return err
				}
			}
			cur, blocked, have, contracts = next, nextBlocked, true, contracts[:0]
		}
		if key.Valid {
			c := model.Contract{EmployeeNumber: cur.EmployeeNumber, Key: key.String}
			for i, f := range c.FieldPtrs() {
				*f = cfields[i].String
			}
			contracts = append(contracts, c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	if have {
		return fn(&cur, blocked, contracts)
	}
	return nil
}

// currentQuery reads the current persons joined with their contracts, in
// the order Current streams them.
var currentQuery = "SELECT " + prefixed("p.", append([]string{model.KeyField}, model.PersonFields...)) + ", p.blocked, " +
	prefixed("c.", append([]string{"key"}, model.ContractFields...)) + `
		FROM persons p LEFT JOIN contracts c ON c.employee_number = p.employee_number
		WHERE p.left_at IS NULL ORDER BY p.employee_number, c.key`

func prefixed(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

// Exported is what the last export (or migrate) gave Spend Cloud, by
// canonical field.
type Exported struct {
	ID      string
	Persons map[string]map[string]string   // by employee number
	Roles   map[string][]map[string]string // by employee number
}

// LastExport returns what the last export (or migrate) gave Spend Cloud.
func (s *Store) LastExport(ctx context.Context) (*Exported, error) {
	var id string
	var persons int
	err := s.db.QueryRowContext(ctx, `SELECT id, persons FROM exports ORDER BY time DESC, rowid DESC LIMIT 1`).Scan(&id, &persons)
	if err == sql.ErrNoRows {
		return &Exported{Persons: map[string]map[string]string{}, Roles: map[string][]map[string]string{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	// Sized from the export's own count, so 100k entries are not rehashed
	// as they arrive.
	prev := &Exported{ID: id, Persons: make(map[string]map[string]string, persons), Roles: make(map[string][]map[string]string, persons)}
	if err := s.readRows(ctx, `SELECT employee_number, row FROM exported_persons`, func(emp string, r map[string]string) {
		prev.Persons[emp] = r
	}); err != nil {
		return nil, err
	}
	err = s.readRows(ctx, `SELECT employee_number, row FROM exported_roles ORDER BY rowid`, func(emp string, r map[string]string) {
		prev.Roles[emp] = append(prev.Roles[emp], r)
	})
	return prev, err
}

func (s *Store) readRows(ctx context.Context, q string, fn func(string, map[string]string)) error {
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
	ID, Date       string
	Origin         string // export or migrate
	Persons, Roles []map[string]string
	Held           []HeldEntry // the persons this export held back
	Manifest       any         // stored as JSON
	Events         []Event     // its provisioning, held-back and force events
}

// RecordExport makes the record the last export and records its events,
// in one transaction. Only rows that differ from prev are rewritten.
func (s *Store) RecordExport(ctx context.Context, runID int64, prev *Exported, rec ExportRecord) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t := now()
		next := map[string]map[string]string{}
		nextRoles := map[string][]map[string]string{}
		for _, r := range rec.Persons {
			next[r["employee_number"]] = r
		}
		for _, r := range rec.Roles {
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
		if _, err := tx.Exec(`INSERT INTO exports (id, run_id, time, date, origin, persons, roles, held, manifest)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.ID, runID, t, rec.Date, rec.Origin, len(rec.Persons), len(rec.Roles),
			len(rec.Held), mustJSON(rec.Manifest)); err != nil {
			return fmt.Errorf("record export: %w", err)
		}
		if _, err := tx.Exec(`DELETE FROM export_held`); err != nil {
			return fmt.Errorf("record export: %w", err)
		}
		if err := insertEach(tx, "export_held", []string{"employee_number", "details"}, "ON CONFLICT DO NOTHING", len(rec.Held),
			func(i int, args []any) ([]any, error) {
				return append(args, rec.Held[i].EmployeeNumber, rec.Held[i].Details), nil
			}); err != nil {
			return err
		}
		return insertEvents(tx, rec.Events, runID, t)
	})
}

// sameRows reports whether a and b hold the same rows in any order (a
// person has a handful of roles, so pairwise search is cheapest).
func sameRows(a, b []map[string]string) bool {
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

// Migrated reports the id of an earlier migrate's export, or "".
func (s *Store) Migrated(ctx context.Context) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM exports WHERE origin = 'migrate' ORDER BY time DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up earlier migrate: %w", err)
	}
	return id, nil
}

// HeldEntry is one reason the last export held a person back, its details
// as canonical JSON.
type HeldEntry struct{ EmployeeNumber, Details string }

// LastHeld returns what the last export held back.
func (s *Store) LastHeld(ctx context.Context) (map[HeldEntry]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT employee_number, details FROM export_held`)
	if err != nil {
		return nil, fmt.Errorf("read held persons: %w", err)
	}
	out := map[HeldEntry]bool{}
	err = eachRow(rows, func() error {
		var h HeldEntry
		if err := rows.Scan(&h.EmployeeNumber, &h.Details); err != nil {
			return err
		}
		out[h] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read held persons: %w", err)
	}
	return out, nil
}
