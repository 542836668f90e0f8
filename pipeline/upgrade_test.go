package pipeline_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// A database written by schema version 1 upgrades in place (persons,
// contracts and exported rows become WITHOUT ROWID tables), and exporting
// it twice records its provisioning once: nothing spurious on the second.
func TestV1DatabaseUpgradesAndExportsWithoutSpuriousEvents(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.db")
	st := openV1(t, path)
	defer st.Close()
	cfg := export.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.Join(dir, "out")
	p := &pipeline.Pipeline{Store: st, Settings: &pipeline.Settings{Export: &cfg,
		ExportRules: export.Rules{NameStyle: "helloid", GenderMap: map[string]string{"M": "M", "V": "V"}}}}
	kinds := func(run int64) []string { return eventLines(t, st, run) }
	p.RunID = 10
	if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-03"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds(10), ","); got != "account.create 000101,role.grant 000101" {
		t.Fatalf("first export after the upgrade: %s", got)
	}
	p.RunID = 11
	if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-03"}); err != nil {
		t.Fatal(err)
	}
	if got := kinds(11); len(got) != 0 {
		t.Fatalf("second export of an unchanged upgraded state recorded %v", got)
	}
	var withoutRowid int
	st.Close()
	db, _ := sql.Open("sqlite", path)
	defer db.Close()
	db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name IN ('persons', 'contracts', 'exported_persons', 'export_held')
		AND sql LIKE '%WITHOUT ROWID'`).Scan(&withoutRowid)
	if withoutRowid != 4 {
		t.Fatalf("%d of 4 key-addressed tables are WITHOUT ROWID after the upgrade", withoutRowid)
	}
}

// openV1 writes a database as schema version 1 left it (the fixture in
// testdata/schema) at path and opens it, which upgrades it.
func openV1(t *testing.T, path string) *lifecycle.Store {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "testdata", "schema", "v1.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(text)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := lifecycle.Open(path, lifecycle.Existing)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// A database whose last export schema 6 stored (role rows in a table of
// their own) upgrades to one row per person with its roles in order, and
// its next export finds every person unchanged: no spurious events.
func TestV6LastExportUpgradesWithoutSpuriousEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "v6.db")
	openV1(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// A second person with three roles that roles.csv sorts by OU, not
	// by contract key.
	exec(`INSERT INTO persons (employee_number, source, first_name, prefix, last_name, partner_prefix, partner_last_name,
		naming_convention, gender, email, username, updated) VALUES ('000102', 'afas', 'Els', '', 'Ørsted', '', '', 'B', 'V',
		'els@example.nl', 'els@example.nl', '2025-01-02T06:15:01Z')`)
	for i, ou := range []string{"ZZ", "AA", "MM"} {
		exec(`INSERT INTO contracts (employee_number, key, contract_id, start_date, end_date, ou_code, ou_name, function_code,
			function_name) VALUES ('000102', ?, ?, '2015-01-01', '', ?, ?, 'F', 'Functie "x"')`, i, i, ou, "OU "+ou)
	}
	cfg := export.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.Join(dir, "out")
	export1 := func(run int64) []string {
		t.Helper()
		st, err := lifecycle.Open(path, lifecycle.Existing)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p := &pipeline.Pipeline{Store: st, RunID: run, Settings: &pipeline.Settings{Export: &cfg,
			ExportRules: export.Rules{NameStyle: "helloid", GenderMap: map[string]string{"M": "M", "V": "V"}}}}
		if _, err := p.Export(ctx, pipeline.ExportOptions{Date: "2025-01-03"}); err != nil {
			t.Fatal(err)
		}
		return eventLines(t, st, run)
	}
	if got := export1(10); len(got) != 6 {
		t.Fatalf("first export: %v", got)
	}
	// Put the last export back as schema 6 kept it.
	var want string
	if err := db.QueryRow(`SELECT roles FROM exported_persons WHERE employee_number = '000102'`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(want, lifecycle.RoleSep); n != 2 {
		t.Fatalf("stored roles %q", want)
	}
	exec(`CREATE TABLE exported_roles (employee_number TEXT NOT NULL, row TEXT NOT NULL)`)
	exec(`CREATE INDEX exported_roles_employee ON exported_roles (employee_number)`)
	for _, emp := range []string{"000101", "000102"} {
		var roles string
		if err := db.QueryRow(`SELECT roles FROM exported_persons WHERE employee_number = ?`, emp).Scan(&roles); err != nil {
			t.Fatal(err)
		}
		for _, r := range strings.Split(roles, lifecycle.RoleSep) {
			exec(`INSERT INTO exported_roles (employee_number, row) VALUES (?, ?)`, emp, r)
		}
	}
	exec(`ALTER TABLE exported_persons DROP COLUMN roles`)
	exec(`UPDATE meta SET value = '6' WHERE key = 'schema_version'`)
	// Without hashes the next export reads every stored row back and
	// compares it field by field.
	exec(`UPDATE exported_persons SET hash = x''`)

	st, err := lifecycle.Open(path, lifecycle.Existing)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var got string
	if err := db.QueryRow(`SELECT roles FROM exported_persons WHERE employee_number = '000102'`).Scan(&got); err != nil || got != want {
		t.Fatalf("roles after the upgrade %q (%v), want %q", got, err, want)
	}
	if got := export1(11); len(got) != 0 {
		t.Fatalf("export after the upgrade from schema 6 recorded %v", got)
	}
	var tables int
	db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'exported_roles%'`).Scan(&tables)
	if tables != 0 {
		t.Fatalf("exported_roles and its index still there (%d)", tables)
	}
}
