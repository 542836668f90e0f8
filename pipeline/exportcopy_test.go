package pipeline_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/pipeline"
)

// copyEnv ingests hr (canonical columns, end_date included) and returns a
// pipeline exporting it with the default settings into out/.
func copyEnv(t *testing.T, hr string) (*env, *pipeline.Pipeline) {
	t.Helper()
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", hr, ""))
	cfg := export.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Dir = filepath.Join(e.dir, "out")
	return e, &pipeline.Pipeline{Store: e.store, RunID: 10, Settings: &pipeline.Settings{Export: &cfg,
		ExportRules: export.Rules{NameStyle: export.StyleHelloID}}}
}

const hrDated = "employee_number;first_name;last_name;username;start_date;end_date;ou_code;ou_name;function_code\n"

func exportOn(t *testing.T, p *pipeline.Pipeline, date string) (persons, roles string) {
	t.Helper()
	p.RunID++
	if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: date}); err != nil {
		t.Fatalf("export on %s: %v", date, err)
	}
	return readDump(t, p.Settings.Export.Dir)
}

func readDump(t *testing.T, dir string) (persons, roles string) {
	t.Helper()
	pb, err := os.ReadFile(filepath.Join(dir, "persons.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := os.ReadFile(filepath.Join(dir, "roles.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pb), string(rb)
}

// sneak changes the state behind the store's back (no generation bump),
// so an export that copies the last export's rows does not see it and one
// that walks the state does.
func sneak(t *testing.T, e *env, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", e.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatal(err)
	}
}

// An export on the inputs of the last one copies its stored rows: the same
// files byte for byte, no events, an export record of its own.
func TestUnchangedExportCopiesTheStoredRowsIntoTheSameFiles(t *testing.T) {
	e, p := copyEnv(t, hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n002;B;L;u2;2020-01-01;;ICT;Ict;I\n")
	persons, roles := exportOn(t, p, "2025-01-01")
	sneak(t, e, `UPDATE persons SET first_name = 'Sneaked' WHERE employee_number = '001'`)
	again, againRoles := exportOn(t, p, "2025-01-01")
	if again != persons || againRoles != roles {
		t.Fatalf("unchanged export wrote other files:\n%q\n%q\nwant\n%q\n%q", again, againRoles, persons, roles)
	}
	if evs := eventLines(t, e.store, p.RunID); len(evs) != 0 {
		t.Errorf("unchanged export recorded events %v", evs)
	}
	// The export folder no longer as recorded (a hand edit): the stored
	// rows are copied instead of the files.
	if err := os.WriteFile(filepath.Join(p.Settings.Export.Dir, "persons.csv"), []byte("edited\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, againRoles = exportOn(t, p, "2025-01-01")
	if again != persons || againRoles != roles {
		t.Fatalf("unchanged export after an edited file wrote:\n%q\n%q\nwant\n%q\n%q", again, againRoles, persons, roles)
	}
	rd, err := e.store.ReadExport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id := rd.ID; !strings.HasSuffix(id, "-13") {
		t.Errorf("last export %q, want the third export's", id)
	}
	rd.Close()
	// A change through the store marks the person it changes: the next
	// export walks that person and carries the rest, so the change made
	// behind the store's back still does not show; a full walk sees both.
	e.mustIngest(e.source("hr", "", hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n002;B;Changed;u2;2020-01-01;;ICT;Ict;I\n", ""))
	walked, _ := exportOn(t, p, "2025-01-01")
	if strings.Contains(walked, "Sneaked") || !strings.Contains(walked, "Changed") {
		t.Errorf("export after an ingest did not walk only the changed person:\n%s", walked)
	}
	defer pipeline.WalkEveryone()()
	sneak(t, e, `UPDATE persons SET first_name = 'Sneaked again' WHERE employee_number = '001'`)
	e.mustIngest(e.source("hr", "", hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n002;B;Changed again;u2;2020-01-01;;ICT;Ict;I\n", ""))
	walked, _ = exportOn(t, p, "2025-01-01")
	if !strings.Contains(walked, "Sneaked again") || !strings.Contains(walked, "Changed again") {
		t.Errorf("a full walk did not rebuild:\n%s", walked)
	}
}

// A contract whose window (start minus lead_days, end plus grace_days)
// begins or ends between the last export's date and this one changes the
// dump although the state did not.
func TestExportRebuildsWhenTheDateCrossesAContractWindow(t *testing.T) {
	_, p := copyEnv(t, hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n002;Joiner;L;u2;2025-02-10;;ICT;Ict;I\n003;Leaver;L;u3;2020-01-01;2025-02-03;HR;Hr;H\n")
	p.Settings.ExportRules.LeadDays, p.Settings.ExportRules.GraceDays = 5, 2
	first, _ := exportOn(t, p, "2025-02-01")
	if strings.Contains(first, "Joiner") || !strings.Contains(first, "Leaver") {
		t.Fatalf("dump on 2025-02-01:\n%s", first)
	}
	// 2025-02-05: the joiner's lead days began, the leaver's grace did not end.
	mid, _ := exportOn(t, p, "2025-02-05")
	if !strings.Contains(mid, "Joiner") || !strings.Contains(mid, "Leaver") {
		t.Errorf("dump on 2025-02-05 kept the last one:\n%s", mid)
	}
	// 2025-02-06: the leaver's grace ended.
	last, _ := exportOn(t, p, "2025-02-06")
	if !strings.Contains(last, "Joiner") || strings.Contains(last, "Leaver") {
		t.Errorf("dump on 2025-02-06 kept the last one:\n%s", last)
	}
}

// Any export setting the walk reads forces a rebuild.
func TestExportRebuildsWhenExportSettingsChange(t *testing.T) {
	_, p := copyEnv(t, hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n")
	first, _ := exportOn(t, p, "2025-01-01")
	p.Settings.Export.Persons.Columns = append(p.Settings.Export.Persons.Columns, export.Column{Header: "Voornaam2", Field: "first_name"})
	second, _ := exportOn(t, p, "2025-01-01")
	if second == first || !strings.Contains(second, "Voornaam2") {
		t.Errorf("export after a column change copied the last one:\n%s", second)
	}
	p.Settings.ExportRules.GenderMap = map[string]string{"": "X"}
	third, _ := exportOn(t, p, "2025-01-01")
	if third == second {
		t.Errorf("export after a gender_map change copied the last one:\n%s", third)
	}
}

// Blocking a person changes the state: the export removes its account.
func TestExportRebuildsAfterABlock(t *testing.T) {
	e, p := copyEnv(t, hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n002;B;L;u2;2020-01-01;;ICT;Ict;I\n")
	exportOn(t, p, "2025-01-01")
	if _, err := e.store.SetBlocked(context.Background(), 20, "002", true, "test"); err != nil {
		t.Fatal(err)
	}
	persons, _ := exportOn(t, p, "2025-01-01")
	if strings.Contains(persons, "u2") {
		t.Errorf("blocked person still exported:\n%s", persons)
	}
	if evs := eventLines(t, e.store, p.RunID); !strings.Contains(strings.Join(evs, ","), export.AccountRemove+" 002") {
		t.Errorf("events %v, want the blocked person's account.remove", evs)
	}
}

// A held rename is reported by every export (exit 5) until allowed; an
// allowance lets it through at the next export.
func TestExportWithAHeldRenameWalksEveryTime(t *testing.T) {
	e, p := copyEnv(t, hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n")
	exportOn(t, p, "2025-01-01")
	e.mustIngest(e.source("hr", "", hrDated+"001;A;L;renamed;2020-01-01;;FIN;Fin;F\n", ""))
	for i := range 2 {
		p.RunID++
		if _, err := p.Export(context.Background(), pipeline.ExportOptions{Date: "2025-01-01"}); !errors.Is(err, pipeline.ErrHeld) {
			t.Fatalf("export %d after a rename: %v, want the rename held", i, err)
		}
	}
	if err := e.store.AllowRename(context.Background(), 30, "001", "test"); err != nil {
		t.Fatal(err)
	}
	persons, _ := exportOn(t, p, "2025-01-01")
	if !strings.Contains(persons, "renamed") {
		t.Errorf("allowed rename not let through:\n%s", persons)
	}
	again, _ := exportOn(t, p, "2025-01-01")
	if again != persons {
		t.Errorf("export after the allowed rename changed the dump:\n%s", again)
	}
}

// The export folder given relative once and absolute once (a scheduled
// task and a person at a prompt) is the same dump: the second export
// copies the first.
func TestTheSameExportFolderGivenAnotherWayStillCopies(t *testing.T) {
	e, p := copyEnv(t, hrDated+"001;A;L;u1;2020-01-01;;FIN;Fin;F\n")
	persons, _ := exportOn(t, p, "2025-01-01")
	sneak(t, e, `UPDATE persons SET first_name = 'Sneaked' WHERE employee_number = '001'`)
	t.Chdir(e.dir)
	p.Settings.Export.Dir = "out"
	if again, _ := exportOn(t, p, "2025-01-01"); again != persons {
		t.Fatalf("the folder given relative made the export walk:\n%s\nwant\n%s", again, persons)
	}
}
