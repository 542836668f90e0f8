package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/lifecycle"
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

// The safety stops are counted during the walk, after the files were
// staged: a stop must leave the export folder, the database and a new
// --out folder as they were.
func TestExportSafetyStopAfterStagingLeavesFoldersAndDatabaseAsTheyWere(t *testing.T) {
	e, p := threePersons(t, lifecycle.Thresholds{MaxRemovals: 1})
	cfg := p.Settings.Export
	if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-01"}); err != nil {
		t.Fatal(err)
	}
	// Every file as it was (the folder's own time may show temporary files
	// that came and went).
	listing := func(dir string) []string {
		var out []string
		filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				out = append(out, fmt.Sprintf("%s %d %v", path, fi.Size(), fi.ModTime()))
			}
			return nil
		})
		return out
	}
	before := listing(cfg.Dir)
	events, _ := e.store.Events(context.Background(), lifecycle.EventFilter{})
	// Two of three leave: more than max_removals.
	e.mustIngest(e.source("hr", "", hrWithContract+"001;A;L;u1;2020-01-01;FIN;Fin;F\n", ""))
	eventsBefore, _ := e.store.Events(context.Background(), lifecycle.EventFilter{})
	side := filepath.Join(e.dir, "side")
	for _, out := range []string{"", side} {
		p.RunID++
		_, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-01", Out: out})
		if !errors.Is(err, fault.ErrSafetyStop) {
			t.Fatalf("out %q: %v, want a safety stop", out, err)
		}
	}
	if after := listing(cfg.Dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("export folder changed:\n%s\nwas\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	if _, err := os.Lstat(side); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--out folder left behind: %v", err)
	}
	eventsAfter, _ := e.store.Events(context.Background(), lifecycle.EventFilter{})
	if len(eventsAfter) != len(eventsBefore) || len(events) == 0 {
		t.Errorf("events %d -> %d after a stop", len(eventsBefore), len(eventsAfter))
	}
	plan, err := p.PlanExport(context.Background(), pipeline.ExportOptions{Date: "2025-01-01", Force: true})
	if err != nil || plan.Stats.Removals != 2 || plan.Stats.Before != 3 {
		t.Fatalf("the last export changed: %+v %v", plan, err)
	}
}

// diff and dry runs list the changes as they always did (account changes,
// removes, then roles, each by employee), though the walk finds them
// person by person.
func TestPlannedChangesAreListedAccountsThenRemovesThenRoles(t *testing.T) {
	e, p := threePersons(t, lifecycle.Thresholds{})
	if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-01"}); err != nil {
		t.Fatal(err)
	}
	e.mustIngest(e.source("hr", "", hrWithContract+"001;A;L2;u1;2020-01-01;ICT;Ict;F\n003;C;L;u3;2020-01-01;FIN;Fin;F\n004;D;L;u4;2020-01-01;FIN;Fin;F\n", ""))
	plan, err := p.PlanExport(context.Background(), pipeline.ExportOptions{Date: "2025-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range plan.Changes {
		got = append(got, c.Kind+" "+c.EmployeeNumber)
	}
	want := "account.update 001,account.create 004,account.remove 002,role.grant 001,role.revoke 001,role.revoke 002,role.grant 004"
	if strings.Join(got, ",") != want {
		t.Fatalf("changes\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
}

// hrWithContract is a persons file header whose rows are also contracts.
const hrWithContract = "employee_number;first_name;last_name;username;start_date;ou_code;ou_name;function_code\n"

// threePersons ingests three persons with a contract each and returns a
// pipeline that exports them (HelloID names) into out/ with thresholds.
func threePersons(t *testing.T, th lifecycle.Thresholds) (*env, *pipeline.Pipeline) {
	t.Helper()
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", hrWithContract+"001;A;L;u1;2020-01-01;FIN;Fin;F\n002;B;L;u2;2020-01-01;FIN;Fin;F\n003;C;L;u3;2020-01-01;FIN;Fin;F\n", ""))
	cfg := export.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.Join(e.dir, "out")
	return e, &pipeline.Pipeline{Store: e.store, RunID: 10, Settings: &pipeline.Settings{Export: &cfg,
		ExportRules: export.Rules{NameStyle: export.StyleHelloID}, Thresholds: th}}
}
