package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/lifecycle"
	_ "modernc.org/sqlite"
)

type env struct {
	t     *testing.T
	dir   string
	store *lifecycle.Store
	run   int64
}

func init() { minHalf = 1 }

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := lifecycle.Open(filepath.Join(dir, "db", "spendsync.db"), lifecycle.Create)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{t: t, dir: dir, store: st}
}

func (e *env) write(name, data string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) source(name, mode, persons, contracts string) *connector.Source {
	e.t.Helper()
	s := &connector.Source{Name: name, Mode: mode, Persons: e.write(name+"-persons.csv", persons)}
	if contracts != "" {
		s.Contracts = e.write(name+"-contracts.csv", contracts)
	}
	if err := s.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// ingest runs one ingest and returns its events as "kind emp" lines.
func (e *env) ingest(opts Config, sources ...*connector.Source) ([]string, *Report, error) {
	e.t.Helper()
	e.run++
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	rep, err := Run(context.Background(), e.store, e.run, sources, opts)
	if err != nil {
		return nil, rep, err
	}
	return eventLines(e.t, e.store, e.run), rep, nil
}

// eventLines returns a run's events as "kind emp" lines, in order.
func eventLines(t *testing.T, st *lifecycle.Store, run int64) []string {
	t.Helper()
	evs, err := st.Events(context.Background(), lifecycle.EventFilter{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Kind+" "+ev.EmployeeNumber)
	}
	return out
}

func (e *env) mustIngest(sources ...*connector.Source) []string {
	e.t.Helper()
	out, _, err := e.ingest(Config{}, sources...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

const personsHeader = "employee_number;first_name;last_name;email\n"
const contractsHeader = "employee_number;contract_id;start_date;end_date;ou_code;function_code\n"

func TestJoinerMoverLeaverOverThreeSnapshots(t *testing.T) {
	e := newEnv(t)
	day1 := e.source("hr", "", personsHeader+"001;Jan;Boele;jan@example.nl\n002;Anna;Jansen;anna@example.nl\n",
		contractsHeader+"001;c1;2020-01-01;;FIN;CTRL\n002;c2;2021-01-01;;HR;HRA\n")
	eq(t, "day 1", e.mustIngest(day1), []string{
		"person.joined 001", "person.joined 002"})

	day2 := e.source("hr", "", personsHeader+"001;Jan;Boele-Smit;jan@example.nl\n002;Anna;Jansen;anna@example.nl\n003;Noor;Visser;\n",
		contractsHeader+"001;c1;2020-01-01;;ICT;CTRL\n002;c2;2021-01-01;2024-06-30;HR;HRA\n003;c3;2024-05-01;;FIN;CRED\n")
	// A new person's rows are staged on disk and written after the
	// changes planned in memory: its person.joined comes last.
	eq(t, "day 2", e.mustIngest(day2), []string{
		"person.changed 001", "contract.changed 001", "contract.ended 002", "person.joined 003"})

	day3 := e.source("hr", "", personsHeader+"001;Jan;Boele-Smit;jan@example.nl\n003;Noor;Visser;\n",
		contractsHeader+"001;c1;2020-01-01;;ICT;CTRL\n003;c4;2024-07-01;;FIN;CTRL\n")
	eq(t, "day 3", e.mustIngest(day3), []string{"contract.added 003", "contract.removed 003", "person.left 002"})

	eq(t, "re-ingest of day 3", e.mustIngest(day3), nil)

	evs, err := e.store.Events(context.Background(), lifecycle.EventFilter{EmployeeNumber: "001", Kind: "person.changed"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	got := fmt.Sprint(evs[0].Details["fields"])
	if got != "map[last_name:map[new:Boele-Smit old:Boele]]" {
		t.Fatalf("changed fields %s", got)
	}
	if evs[0].Actor == "" || !strings.Contains(evs[0].Actor, "@") || evs[0].Source != "hr" || evs[0].RunID != 2 {
		t.Fatalf("event %+v", evs[0])
	}
	if _, err := time.Parse(time.RFC3339, evs[0].Time); err != nil || !strings.HasSuffix(evs[0].Time, "Z") {
		t.Fatalf("time %q is not UTC RFC 3339", evs[0].Time)
	}
	p, err := e.store.Person(context.Background(), "002")
	if err != nil || !p.Left || len(p.Contracts) != 0 {
		t.Fatalf("leaver %+v %v", p, err)
	}
}

func TestPersonsRowIsTheContractWithoutAContractsFile(t *testing.T) {
	e := newEnv(t)
	h := "employee_number;last_name;start_date;end_date;ou_code;function_code\n"
	eq(t, "first", e.mustIngest(e.source("hr", "", h+"001;A;2020-01-01;;FIN;CTRL\n", "")),
		[]string{"person.joined 001"})
	eq(t, "end date", e.mustIngest(e.source("hr", "", h+"001;A;2020-01-01;2024-01-31;FIN;CTRL\n", "")),
		[]string{"contract.ended 001"})
	eq(t, "moved OU", e.mustIngest(e.source("hr", "", h+"001;A;2020-01-01;2024-01-31;ICT;CTRL\n", "")),
		[]string{"contract.added 001", "contract.removed 001"})
}

func TestDeltaSourceAddsAndChangesButOnlyRemovesByFlag(t *testing.T) {
	e := newEnv(t)
	mk := func(data string) *connector.Source {
		s := &connector.Source{Name: "delta", Mode: "delta", Persons: e.write("delta.csv", data),
			Columns: map[string]string{"employee_number": "nr", "last_name": "naam", "end_date": "eind", "deleted": "weg"}}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		return s
	}
	eq(t, "first", e.mustIngest(mk("nr;naam;eind;weg\n001;A;;\n002;B;;\n")),
		[]string{"person.joined 001", "person.joined 002"})
	eq(t, "delta without 002 removes nobody", e.mustIngest(mk("nr;naam;eind;weg\n001;A2;;\n")),
		[]string{"person.changed 001"})
	eq(t, "end date ends the contract", e.mustIngest(mk("nr;naam;eind;weg\n002;B;2024-03-31;\n")),
		[]string{"contract.ended 002"})
	eq(t, "delete flag removes", e.mustIngest(mk("nr;naam;eind;weg\n001;;;1\n")),
		[]string{"person.left 001"})
}

func TestProviderFillsFieldsAndNeverCreatesOrRemoves(t *testing.T) {
	e := newEnv(t)
	hr := e.source("hr", "", "employee_number;last_name;username;email\n001;A;hr-user;hr@example.nl\n002;B;;\n", "")
	ad := &connector.Source{Name: "ad", Profile: "ad", Provides: []string{"username", "email"},
		Persons: e.write("ad.csv", "employeeID,mail,userPrincipalName\n001,a@example.nl,a@example.nl\n999,x@example.nl,x@example.nl\n")}
	if err := ad.Validate(); err != nil {
		t.Fatal(err)
	}
	out, rep, err := e.ingest(Config{}, ad, hr) // order in config does not matter
	if err != nil {
		t.Fatal(err)
	}
	// One event per joiner: AD's fields and the contract are folded in.
	eq(t, "first", out, []string{"person.joined 001", "person.joined 002"})
	evs, _ := e.store.Events(context.Background(), lifecycle.EventFilter{EmployeeNumber: "001"})
	d := evs[0].Details
	if person := d["person"].(map[string]any); person["username"] != "a@example.nl" || person["email"] != "a@example.nl" ||
		fmt.Sprint(d["provided_by"]) != "[ad]" || len(d["contracts"].([]any)) != 1 {
		t.Fatalf("joined event %v", d)
	}
	if rep.Plans[1].unknown != 1 || rep.Rejects != 0 {
		t.Fatalf("provider plan %+v", rep.Plans[1])
	}
	p, _ := e.store.Person(context.Background(), "001")
	if p.Username != "a@example.nl" || p.Email != "a@example.nl" {
		t.Fatalf("provided fields not filled: %+v", p.Person)
	}
	eq(t, "again: the HR values never fight the provider", e.mustIngest(hr, ad), nil)
	ad.Persons = e.write("ad.csv", "employeeID,mail,userPrincipalName\n")
	eq(t, "an empty provider removes no one", e.mustIngest(hr, ad), nil)
}

// rowOf returns a stored row as text, for byte-for-byte comparison.
func rowOf(t *testing.T, dbPath, query string, args ...any) string {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%q", vals))
	}
	return strings.Join(out, "\n")
}

func TestRejectedRowLeavesThePersonByteForByteUnchanged(t *testing.T) {
	e := newEnv(t)
	db := filepath.Join(e.dir, "db", "spendsync.db")
	good := personsHeader + "001;Jan;Boele;jan@example.nl\n002;Anna;Jansen;anna@example.nl\n"
	goodContracts := contractsHeader + "001;c1;2020-01-01;;FIN;CTRL\n002;c2;2020-01-01;;FIN;CTRL\n"
	e.mustIngest(e.source("hr", "", good, goodContracts))
	personBefore := rowOf(t, db, "SELECT * FROM persons WHERE employee_number = ?", "001")
	contractsBefore := rowOf(t, db, "SELECT * FROM contracts WHERE employee_number = ?", "001")

	cases := []struct{ name, persons, contracts string }{
		{"bad email on the persons row", personsHeader + "001;Jan;Changed;not-an-email\n002;Anna;Jansen;anna@example.nl\n", goodContracts},
		{"bad date on a contract row", good, contractsHeader + "001;c1;2020-01-01;31 december;FIN;CTRL\n002;c2;2020-01-01;;FIN;CTRL\n"},
		{"duplicate persons rows", good + "001;Jan;Other;jan@example.nl\n", goodContracts},
		{"persons row with too few fields", personsHeader + "001;Jan\n002;Anna;Jansen;anna@example.nl\n", goodContracts},
		{"unreadable row makes removals blind", personsHeader + "002;Anna;Jansen;anna@example.nl\n\"001;Jan\n", goodContracts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rep, err := e.ingest(Config{}, e.source("hr", "", tc.persons, tc.contracts))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rejects == 0 {
				t.Fatal("nothing rejected")
			}
			if got := rowOf(t, db, "SELECT * FROM persons WHERE employee_number = ?", "001"); got != personBefore {
				t.Fatalf("person changed:\n%s\n%s", personBefore, got)
			}
			if got := rowOf(t, db, "SELECT * FROM contracts WHERE employee_number = ?", "001"); got != contractsBefore {
				t.Fatalf("contracts changed:\n%s\n%s", contractsBefore, got)
			}
			rejects, err := e.store.Rejects(context.Background(), e.run)
			if err != nil || len(rejects) == 0 || rejects[0].Source != "hr" || rejects[0].File == "" || rejects[0].Line < 2 || rejects[0].Reason == "" || rejects[0].Raw == "" {
				t.Fatalf("stored rejects %+v %v", rejects, err)
			}
		})
	}
}

func TestHostileTextIsStoredVerbatim(t *testing.T) {
	e := newEnv(t)
	hostile := []string{
		"'); DROP TABLE persons;--",
		`Robert"); DELETE FROM events; --`,
		"two\nlines",
		"=cmd|' /C calc'!A0",
		"+SUM(1)",
		"emoji 😀 and 𝄞",
		`back\slash and 'quotes' and "double"`,
	}
	var b strings.Builder
	b.WriteString("employee_number;first_name;last_name\n")
	for i, h := range hostile {
		fmt.Fprintf(&b, "%03d;\"%s\";x\n", i, strings.ReplaceAll(h, `"`, `""`))
	}
	e.mustIngest(e.source("hr", "", b.String(), ""))
	for i, h := range hostile {
		p, err := e.store.Person(context.Background(), fmt.Sprintf("%03d", i))
		if err != nil || p.FirstName != h {
			t.Errorf("stored %q, want %q (%v)", p.FirstName, h, err)
		}
	}
	if _, err := e.store.Person(context.Background(), "'); DROP TABLE persons;--"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Fatalf("hostile lookup: %v", err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t)
	db := filepath.Join(e.dir, "db", "spendsync.db")
	e.mustIngest(e.source("hr", "", personsHeader+"001;Jan;Boele;\n", ""))
	before := rowOf(t, db, "SELECT COUNT(*), (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM rejects), (SELECT COUNT(*) FROM runs) FROM persons")
	_, rep, err := e.ingest(Config{DryRun: true}, e.source("hr", "", personsHeader+"002;Anna;Jansen;bad\n003;X;Y;\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Plans[0]
	if p.Count(lifecycle.PersonJoined) != 1 || p.Count(lifecycle.PersonLeft) != 1 || len(p.Rejects) != 1 {
		t.Fatalf("dry run plan %s", p.Summary())
	}
	if after := rowOf(t, db, "SELECT COUNT(*), (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM rejects), (SELECT COUNT(*) FROM runs) FROM persons"); after != before {
		t.Fatalf("dry run wrote: %s -> %s", before, after)
	}
}

func TestSafetyStopsChangeNothingUnlessForced(t *testing.T) {
	var b strings.Builder
	b.WriteString(personsHeader)
	for i := range 20 {
		fmt.Fprintf(&b, "%03d;F;L;\n", i)
	}
	full := b.String()
	cases := []struct {
		name    string
		th      lifecycle.Thresholds
		persons string
		mtime   time.Duration
		want    string
	}{
		{"empty snapshot", lifecycle.Thresholds{}, "", 0, "has no data rows"},
		{"header-only snapshot", lifecycle.Thresholds{}, personsHeader, 0, "has no data rows"},
		{"too many removals", lifecycle.Thresholds{MaxRemovals: 2}, personsHeader + "000;F;L;\n", 0, "thresholds.max_removals 2"},
		{"too large a share removed", lifecycle.Thresholds{MaxRemovalPercent: 10}, strings.Join(strings.Split(full, "\n")[:18], "\n") + "\n", 0, "thresholds.max_removal_percent 10%"},
		{"too many rejects", lifecycle.Thresholds{MaxRejects: 1}, full + "x1;F;L;bad\nx2;F;L;bad\n", 0, "thresholds.max_rejects 1"},
		{"stale file", lifecycle.Thresholds{}, full, 48 * time.Hour, "longer than sources.max_age 26h"},
		{"empty contracts file", lifecycle.Thresholds{}, full, 0, "has no data rows while its persons had 20 contracts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var contracts strings.Builder
			contracts.WriteString(contractsHeader)
			for i := range 20 {
				fmt.Fprintf(&contracts, "%03d;c%d;2020-01-01;;OU;F\n", i, i)
			}
			e.mustIngest(e.source("hr", "", full, contracts.String()))
			after := contracts.String()
			if tc.name == "empty contracts file" {
				after = contractsHeader
			}
			src := e.source("hr", "", tc.persons, after)
			src.MaxAge = 26 * time.Hour
			if tc.mtime > 0 {
				old := time.Now().Add(-tc.mtime)
				os.Chtimes(src.Persons, old, old)
			}
			_, _, err := e.ingest(Config{Thresholds: tc.th}, src)
			if !errors.Is(err, fault.ErrSafetyStop) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--force") {
				t.Fatalf("err = %v, want safety stop mentioning %q and --force", err, tc.want)
			}
			if n, _, _, _ := e.store.Counts(context.Background()); n != 20 {
				t.Fatalf("state changed: %d persons", n)
			}
			if evs, _ := e.store.Events(context.Background(), lifecycle.EventFilter{RunID: e.run}); len(evs) != 0 {
				t.Fatalf("events recorded: %v", evs)
			}
			out, _, err := e.ingest(Config{Thresholds: tc.th, Force: true}, src)
			if err != nil {
				t.Fatalf("forced: %v", err)
			}
			if len(out) == 0 || out[0] != "force " {
				t.Fatalf("forced run events %q, want a force event first", out)
			}
			forced, _ := e.store.Events(context.Background(), lifecycle.EventFilter{Kind: lifecycle.Force})
			if len(forced) != 1 || !strings.Contains(forced[0].Details["overridden"].(string), tc.want) || forced[0].Actor == "" {
				t.Fatalf("force event %+v", forced)
			}
		})
	}
}

func TestSecondWriterIsRefusedWhileTheFirstHoldsTheLock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "spendsync.db")
	first, err := lifecycle.Acquire(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lifecycle.Acquire(db)
	if !errors.Is(err, lifecycle.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second acquire: %v", err)
	}
	first.Release()
	again, err := lifecycle.Acquire(db)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

func TestDatabaseFilesArePrivate(t *testing.T) {
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", personsHeader+"001;Jan;Boele;\n", ""))
	for _, name := range []string{"spendsync.db", "spendsync.db-wal"} {
		if perm := accesstest.Perm(t, filepath.Join(e.dir, "db", name)); perm != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, perm)
		}
	}
	if perm := accesstest.Perm(t, filepath.Join(e.dir, "db")); perm != 0o700 {
		t.Errorf("folder mode %v, want 0700", perm)
	}
}

func TestReaderRunsWhileAWriterHoldsATransaction(t *testing.T) {
	e := newEnv(t)
	db := filepath.Join(e.dir, "db", "spendsync.db")
	e.mustIngest(e.source("hr", "", personsHeader+"001;Jan;Boele;\n", ""))
	w, err := sql.Open("sqlite", db+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE persons SET last_name = 'in progress'`); err != nil {
		t.Fatal(err)
	}
	r, err := lifecycle.Open(db, lifecycle.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := r.Person(ctx, "001")
	if err != nil || p.LastName != "Boele" {
		t.Fatalf("reader saw %+v, %v", p, err)
	}
}
