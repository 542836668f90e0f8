package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

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

// ReadHelloID reads a HelloID SpendCloud connector database (tables
// persons and roles), read-only, as the export Spend Cloud last received.
// Roles whose gebruikersnaam matches no person cannot be keyed and are
// counted in orphans.
func ReadHelloID(ctx context.Context, path string) (prev *export.Previous, orphans int, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, 0, err
	}
	if _, err := statFile(abs); err != nil {
		return nil, 0, err
	}
	db, err := sql.Open("sqlite", readOnlyURI(abs))
	if err != nil {
		return nil, 0, fmt.Errorf("open HelloID database %s: %w", path, err)
	}
	defer db.Close()
	if err := checkHelloID(ctx, db, path); err != nil {
		return nil, 0, err
	}
	prev = &export.Previous{Persons: map[string]export.Row{}, Roles: map[string][]export.Row{}}
	byUser := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT CAST(externalId AS TEXT), COALESCE(voornaam, ''), COALESCE(tussenvoegsel, ''),
		COALESCE(achternaam, ''), COALESCE(geslacht, ''), COALESCE(email, ''), COALESCE(gebruikersnaam, '') FROM persons`)
	if err != nil {
		return nil, 0, fmt.Errorf("read persons of HelloID database %s: %w", path, err)
	}
	if err := eachRow(rows, func() error {
		var emp, first, prefix, last, gender, email, user string
		if err := rows.Scan(&emp, &first, &prefix, &last, &gender, &email, &user); err != nil {
			return err
		}
		prev.Persons[emp] = export.Row{"employee_number": emp, "first_name": first, "prefix": prefix, "last_name": last,
			"gender": gender, "email": email, "username": user}
		if user != "" {
			byUser[strings.ToLower(user)] = emp
		}
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("read persons of HelloID database %s: %w", path, err)
	}
	rows, err = db.QueryContext(ctx, `SELECT COALESCE(gebruikersnaam, ''), COALESCE(ou, ''), COALESCE(functie, ''),
		COALESCE(oucode, ''), COALESCE(functiecode, '') FROM roles`)
	if err != nil {
		return nil, 0, fmt.Errorf("read roles of HelloID database %s: %w", path, err)
	}
	if err := eachRow(rows, func() error {
		var user, ou, function, ouCode, functionCode string
		if err := rows.Scan(&user, &ou, &function, &ouCode, &functionCode); err != nil {
			return err
		}
		emp, ok := byUser[strings.ToLower(user)]
		if !ok {
			orphans++
			return nil
		}
		// functiecode is what HelloID delivered as the role profile, whether
		// the connector filled it from the function or a business rule: it
		// stands for both function_code and role, so a role_map that
		// reproduces the business rule shows no change.
		prev.Roles[emp] = append(prev.Roles[emp], export.Row{"employee_number": emp, "username": user, "ou_code": ouCode,
			"ou_name": ou, "function_code": functionCode, "function_name": function, "role": functionCode})
		return nil
	}); err != nil {
		return nil, 0, fmt.Errorf("read roles of HelloID database %s: %w", path, err)
	}
	return prev, orphans, nil
}

// helloIDColumns are the columns migrate reads, per table.
var helloIDColumns = map[string][]string{
	"persons": {"externalId", "voornaam", "tussenvoegsel", "achternaam", "geslacht", "email", "gebruikersnaam"},
	"roles":   {"gebruikersnaam", "ou", "functie", "oucode", "functiecode"},
}

// checkHelloID makes sure path is a HelloID SpendCloud database before it
// is read, so a wrong file is named as such rather than by SQLite's "no
// such table".
func checkHelloID(ctx context.Context, db *sql.DB, path string) error {
	for _, table := range slices.Sorted(maps.Keys(helloIDColumns)) {
		rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			if strings.Contains(err.Error(), "file is not a database") {
				return fmt.Errorf("%s is not a SQLite database (expected the HelloID SpendCloud connector's SpendCloud.db)", path)
			}
			return fmt.Errorf("open HelloID database %s: %w", path, err)
		}
		have := map[string]bool{}
		err = eachRow(rows, func() error {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			have[strings.ToLower(name)] = true
			return nil
		})
		if err != nil {
			if strings.Contains(err.Error(), "file is not a database") {
				return fmt.Errorf("%s is not a SQLite database (expected the HelloID SpendCloud connector's SpendCloud.db)", path)
			}
			return fmt.Errorf("open HelloID database %s: %w", path, err)
		}
		if len(have) == 0 {
			return fmt.Errorf("%s is not a HelloID SpendCloud database: it has no %s table", path, table)
		}
		for _, c := range helloIDColumns[table] {
			if !have[strings.ToLower(c)] {
				return fmt.Errorf("%s is not a HelloID SpendCloud database: table %s has no column %s", path, table, c)
			}
		}
	}
	return nil
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

// readOnlyURI is a SQLite URI opening the file at abs read-only; a
// Windows path (C:\x) becomes file:///C:/x, and URI-special characters in
// folder names are escaped.
func readOnlyURI(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: "mode=ro"}
	return u.String()
}

// Domain is an email domain in the state.
type Domain struct {
	Domain   string `json:"domain"`
	Persons  int    `json:"persons"`
	Verified bool   `json:"verified"`
}

// Domains counts current persons per email domain.
func (s *Store) Domains(ctx context.Context, verified []string) ([]Domain, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lower(substr(email, instr(email, '@') + 1)) AS d, COUNT(*)
		FROM persons WHERE left_at IS NULL AND instr(email, '@') > 0 GROUP BY d ORDER BY d`)
	if err != nil {
		return nil, fmt.Errorf("count domains: %w", err)
	}
	var out []Domain
	err = eachRow(rows, func() error {
		var d Domain
		if err := rows.Scan(&d.Domain, &d.Persons); err != nil {
			return err
		}
		for _, v := range verified {
			if strings.EqualFold(v, d.Domain) {
				d.Verified = true
			}
		}
		out = append(out, d)
		return nil
	})
	return out, err
}
