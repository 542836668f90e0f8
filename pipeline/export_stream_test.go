package pipeline_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/pipeline"
)

// The export reads persons and contracts packed into one text per row,
// joined by a control character; a value holding that character must be
// read column by column, and contracts of persons who left must not be
// given to the next person.
func TestExportReadsValuesHoldingThePackingSeparatorAndSkipsLeftPersons(t *testing.T) {
	e := newEnv(t)
	h := "employee_number;first_name;last_name;username;start_date;ou_code;ou_name;function_code\n"
	first := h + "001;A;L;u1;2020-01-01;FIN;Fin;F\n" +
		"002;Gone;L;u2;2020-01-01;GONE;Gone;G\n" +
		"003;BC;L;u3;2020-01-01;HR;HR;H\n" +
		"004;D;L;u4;2020-01-01;ICT;Ict;I\n"
	e.mustIngest(e.source("hr", "", first, ""))
	second := h + "001;A;L;u1;2020-01-01;FIN;Fin;F\n" +
		"003;BC;L;u3;2020-01-01;HR;HR;H\n" +
		"004;D;L;u4;2020-01-01;ICT;Ict;I\n"
	e.mustIngest(e.source("hr", "", second, ""))
	// Ingest refuses control characters; another writer of the state
	// (or a future source) might not.
	db, err := sql.Open("sqlite", e.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE persons SET first_name = 'B' || char(31) || 'C' WHERE employee_number = '003'`,
		`UPDATE contracts SET ou_name = 'H' || char(31) || 'R' WHERE employee_number = '003'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	cfg := export.Default()
	no := false
	cfg.BOM, cfg.Quote, cfg.LineEnding = &no, "minimal", "lf"
	cfg.Persons.Columns = []export.Column{{Header: "id", Field: "employee_number"}, {Header: "first", Field: "first_name"}}
	cfg.Roles.Columns = []export.Column{{Header: "id", Field: "employee_number"}, {Header: "ou", Field: "ou_name"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.Join(e.dir, "out")
	p := &pipeline.Pipeline{Store: e.store, RunID: 10, Settings: &pipeline.Settings{Export: &cfg,
		ExportRules: export.Rules{NameStyle: export.StyleHelloID}}}
	if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-01"}); err != nil {
		t.Fatal(err)
	}
	persons, _ := os.ReadFile(filepath.Join(cfg.Dir, "persons.csv"))
	roles, _ := os.ReadFile(filepath.Join(cfg.Dir, "roles.csv"))
	if want := "id;first\n001;A\n003;B\x1fC\n004;D\n"; string(persons) != want {
		t.Errorf("persons.csv %q, want %q", persons, want)
	}
	if want := "id,ou\n001,Fin\n003,H\x1fR\n004,Ict\n"; string(roles) != want {
		t.Errorf("roles.csv %q, want %q", roles, want)
	}
	// Nothing changed: the next export records nothing.
	p.RunID = 11
	plan, err := p.PlanExport(context.Background(), pipeline.ExportOptions{Date: "2025-01-01"})
	if err != nil || len(plan.Changes) != 0 {
		t.Fatalf("second export: %v %v", plan, err)
	}
}
