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
	kinds := func(run int64) []string {
		t.Helper()
		evs, err := st.Events(context.Background(), lifecycle.EventFilter{RunID: run})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.Kind+" "+e.EmployeeNumber)
		}
		return out
	}
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
	st, err := lifecycle.Open(path, false, false)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
