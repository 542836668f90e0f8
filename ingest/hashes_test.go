package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/lifecycle"
)

// A provider's recorded hash must not outlive the person: a leaver who
// comes back is a new person whose provided fields are empty until the
// provider fills them again, even with the very row it gave before.
func TestProviderRefillsAReturningLeaversFields(t *testing.T) {
	e := newEnv(t)
	ad := &connector.Source{Name: "ad", Profile: "ad", Provides: []string{"username", "email"},
		Persons: e.write("ad.csv", "employeeID,mail,userPrincipalName\n001,a@example.nl,a@example.nl\n")}
	if err := ad.Validate(); err != nil {
		t.Fatal(err)
	}
	both := "employee_number;last_name\n001;A\n002;B\n"
	eq(t, "day 1", e.mustIngest(e.source("hr", "", both, ""), ad), []string{"person.joined 001", "person.joined 002"})
	if n := rowOf(t, e.store.Path(), `SELECT CAST(count(*) AS TEXT) FROM source_hashes`); n != `["3"]` {
		t.Fatalf("hashes recorded: %s, want one per person and source (3)", n)
	}
	eq(t, "day 2", e.mustIngest(e.source("hr", "", "employee_number;last_name\n002;B\n", ""), ad), []string{"person.left 001"})
	eq(t, "day 3", e.mustIngest(e.source("hr", "", both, ""), ad), []string{"person.joined 001"})
	p, err := e.store.Person(context.Background(), "001")
	if err != nil || p.Username != "a@example.nl" || p.Email != "a@example.nl" {
		t.Fatalf("returning leaver's provided fields: %+v %v", p, err)
	}
}

// A person another source took over is diffed in full when the first
// source lists it again, even with the row it recorded before.
func TestAPersonTakenOverByAnotherSourceIsDiffedInFull(t *testing.T) {
	e := newEnv(t)
	a1 := e.source("a", "", "employee_number;last_name\n001;Alpha\n100;Other\n", "")
	eq(t, "a lists 001", e.mustIngest(a1), []string{"person.joined 001", "person.joined 100"})
	b := e.source("b", "", "employee_number;last_name\n001;Beta\n", "")
	eq(t, "b takes 001 over", e.mustIngest(b), []string{"person.changed 001"})
	// The same row for 001 as a recorded; another row changed so the file
	// is not skipped as a whole.
	a2 := e.source("a", "", "employee_number;last_name\n001;Alpha\n100;Other2\n", "")
	eq(t, "a lists 001 again", e.mustIngest(a2), []string{"person.changed 001", "person.changed 100"})
	p, err := e.store.Person(context.Background(), "001")
	if err != nil || p.LastName != "Alpha" || p.Source != "a" {
		t.Fatalf("person 001 after a listed it again: %+v %v", p, err)
	}
}

// A database from before the hashes compares every person in full once:
// its first ingest of the same data records nothing, and from then on a
// change is still seen.
func TestUpgradedDatabaseIngestsTheSameDataWithoutEvents(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "old.db")
	st := openV1(t, path)
	defer st.Close()
	e.store = st
	e.run = 20
	person := "employee_number;first_name;prefix;last_name;partner_prefix;partner_last_name;naming_convention;gender;email;username\n" +
		"000101;Jan;van den;%s;;;B;M;jan@example.nl;jan@example.nl\n"
	contracts := "employee_number;contract_id;start_date;end_date;ou_code;ou_name;function_code;function_name\n" +
		"000101;101-1;2015-01-01;;FIN;Financiën;CTRL;Controller\n"
	same := e.source("afas", "", fmt.Sprintf(person, "Boele"), contracts)
	eq(t, "first ingest after the upgrade", e.mustIngest(same), nil)
	if n := rowOf(t, path, `SELECT CAST(count(*) AS TEXT) FROM source_hashes WHERE source = 'afas'`); n != `["1"]` {
		t.Fatalf("hashes recorded after the upgrade: %s", n)
	}
	eq(t, "a change after that", e.mustIngest(e.source("afas", "", fmt.Sprintf(person, "Boele-Smit"), contracts)),
		[]string{"person.changed 000101"})
}

// Rows that hash as last time are dropped while the file is read; when a
// later line duplicates one of them, both lines are still rejected with
// their raw text, and nothing about that person changes.
func TestDuplicateOfAnUnchangedRowIsRejectedWithBothLines(t *testing.T) {
	e := newEnv(t)
	persons := personsHeader + "001;Jan;Boele;jan@example.nl\n002;Anna;Jansen;anna@example.nl\n"
	contracts := contractsHeader + "001;c1;2020-01-01;;FIN;CTRL\n002;c2;2021-01-01;;HR;HRA\n"
	eq(t, "day 1", e.mustIngest(e.source("hr", "", persons, contracts)), []string{"person.joined 001", "person.joined 002"})

	day2 := e.source("hr", "", persons+"001;Jan;Dubbel;jan@example.nl\n",
		contracts+"002;c2;2021-01-01;;ICT;HRA\n")
	out, rep, err := e.ingest(Config{}, day2)
	if err != nil {
		t.Fatal(err)
	}
	// 001 has no good row left: its removal is held back by the rejected rows.
	eq(t, "day 2", out, []string{"person.held 001"})
	if rep.Rejects != 4 {
		t.Fatalf("rejects %d, want both persons lines of 001 and both contract lines of c2", rep.Rejects)
	}
	rejects, err := e.store.Rejects(context.Background(), e.run)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"2": "001;Jan;Boele;jan@example.nl", "4": "001;Jan;Dubbel;jan@example.nl",
		"3": "002;c2;2021-01-01;;HR;HRA", "4c": "002;c2;2021-01-01;;ICT;HRA",
	}
	for _, r := range rejects {
		key := fmt.Sprint(r.Line)
		if strings.Contains(r.File, "contracts") && r.Line == 4 {
			key = "4c"
		}
		if strings.TrimRight(r.Raw, "\r\n") != want[key] {
			t.Errorf("reject %s line %d raw %q, want %q", r.File, r.Line, r.Raw, want[key])
		}
	}
	p, err := e.store.Person(context.Background(), "001")
	if err != nil || p.LastName != "Boele" || len(p.Contracts) != 1 {
		t.Fatalf("person 001 after its duplicate: %+v %v", p, err)
	}
}

// Two sources listing the same person in one run: the later one's row is
// diffed even when it hashes as it did last time, because the earlier
// source of the same run may change that person first. The later source
// wins, as it did before rows were dropped while read.
func TestTheLaterOfTwoSourcesListingAPersonWinsEvenWhenUnchanged(t *testing.T) {
	e := newEnv(t)
	// With a contracts file each, so unchanged persons rows are dropped
	// while read.
	a := func(name string) *connector.Source {
		return e.source("a", "", "employee_number;last_name\n001;"+name+"\n100;Other\n", contractsHeader)
	}
	b := func() *connector.Source {
		return e.source("b", "", "employee_number;last_name\n001;Beta\n200;Else\n", contractsHeader)
	}
	eq(t, "run 1", e.mustIngest(a("Alpha")), []string{"person.joined 001", "person.joined 100"})
	eq(t, "run 2", e.mustIngest(a("Alpha"), b()), []string{"person.changed 001", "person.joined 200"})
	// Both rows for 001 hash as their sources recorded; another row of a
	// changes so neither file is skipped whole.
	aNext := e.source("a", "", "employee_number;last_name\n001;Alpha\n100;Other2\n", contractsHeader)
	eq(t, "run 3", e.mustIngest(aNext, b()), []string{"person.changed 001", "person.changed 100", "person.changed 001"})
	p, err := e.store.Person(context.Background(), "001")
	if err != nil || p.LastName != "Beta" || p.Source != "b" {
		t.Fatalf("person 001 after both sources listed it: %+v %v", p, err)
	}
}

// A dry run reads through the same filter as a real ingest: it plans the
// same changes and records nothing, hashes included.
func TestDryRunThroughTheFilterPlansTheSameAndRecordsNoHashes(t *testing.T) {
	e := newEnv(t)
	persons := personsHeader + "001;Jan;Boele;jan@example.nl\n002;Anna;Jansen;anna@example.nl\n"
	contracts := contractsHeader + "001;c1;2020-01-01;;FIN;CTRL\n002;c2;2021-01-01;;HR;HRA\n"
	e.mustIngest(e.source("hr", "", persons, contracts))
	hashes := func() string {
		return rowOf(t, e.store.Path(), `SELECT source, employee_number, hex(person), hex(contracts) FROM source_hashes ORDER BY 1, 2`)
	}
	before := hashes()
	// Day 2 also has a joiner and the contract row of a number neither
	// the store nor the persons file knows (an orphan): a dry run plans
	// both in memory, through the filter.
	day2 := e.source("hr", "", strings.Replace(persons, "Boele", "Boele-Smit", 1)+"003;Piet;Smit;piet@example.nl\n",
		strings.Replace(contracts, "HR;HRA", "ICT;HRA", 1)+"003;c3;2022-01-01;;FIN;CTRL\n099;c9;2019-01-01;2020-01-01;FIN;CTRL\n")
	_, rep, err := e.ingest(Config{DryRun: true}, day2)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Plans[0].Summary(); !strings.Contains(got, "1 joined, 1 changed, 0 left, 0 contracts added, 1 changed") {
		t.Fatalf("dry run: %s", got)
	}
	if got := rep.Plans[0].Orphans; got != 1 {
		t.Fatalf("dry run counted %d orphan rows, want the one of 099", got)
	}
	if after := hashes(); after != before {
		t.Fatalf("a dry run recorded hashes:\n%s\n%s", before, after)
	}
	eq(t, "the real run", e.mustIngest(day2), []string{"person.changed 001", "contract.changed 002", "person.joined 003"})
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
