package ingest

import (
	"crypto/sha256"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/connector"
)

// The rows of an unchanged person are dropped by the hash of their record
// before they are checked or mapped (connector/rowhash.go). These tests
// fail if a row that maps otherwise than last time were dropped.

const rawPersons = "employee_number;first_name;last_name;email;naming_convention\n" +
	"001;Jan;Boele;jan@example.nl;B\n" +
	"002;Anna;Jansen;anna@example.nl;B\n" +
	"003;Noor;Visser;noor@example.nl;B\n"

const rawContracts = contractsHeader + "001;c1;2020-01-01;;FIN;CTRL\n002;c2;2021-01-01;;HR;HRA\n003;c3;2022-01-01;;FIN;CRED\n"

func TestAByteChangedInAnyMappedColumnIsNeverDroppedAsUnchanged(t *testing.T) {
	lines := strings.Split(rawPersons, "\n")
	for col, changed := range []string{"002;Anno;Jansen;anna@example.nl;B", "002;Anna;Jansem;anna@example.nl;B",
		"002;Anna;Jansen;anne@example.nl;B", "002;Anna;Jansen;anna@example.nl;P"} {
		e := newEnv(t)
		e.mustIngest(e.source("hr", "", rawPersons, rawContracts))
		day2 := withLine(lines, 2, changed)
		eq(t, "column "+strings.Split(lines[0], ";")[col+1], e.mustIngest(e.source("hr", "", day2, rawContracts)),
			[]string{"person.changed 002"})
	}
}

// withLookup gives src a lookup file of data, keyed and filling as
// given, and validates it again.
func (e *env) withLookup(src *connector.Source, file, data string, key, fill map[string]string) *connector.Source {
	e.t.Helper()
	src.Lookups = []*connector.Lookup{{File: e.write(file, data), Key: key, Fill: fill}}
	if err := src.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return src
}

func withLine(lines []string, i int, s string) string {
	out := append([]string(nil), lines...)
	out[i] = s
	return strings.Join(out, "\n")
}

func TestAChangedLookupFileChangesTheRowsItFills(t *testing.T) {
	e := newEnv(t)
	persons := "employee_number;first_name;last_name\n001;Jan;Boele\n002;Anna;Jansen\n"
	withLookup := func(mails string) *connector.Source {
		return e.withLookup(e.source("hr", "", persons, rawContracts), "mail.csv", "emp;mail\n"+mails,
			map[string]string{"employee_number": "emp"}, map[string]string{"email": "mail"})
	}
	e.mustIngest(withLookup("001;jan@example.nl\n002;anna@example.nl\n"))
	eq(t, "a lookup row changed", e.mustIngest(withLookup("001;jan@example.nl\n002;a.jansen@example.nl\n")),
		[]string{"person.changed 002"})
}

func TestAChangedSettingOrRuleRemapsEveryRow(t *testing.T) {
	e := newEnv(t)
	naming := func(code string) *connector.Source {
		src := e.source("hr", "", strings.ReplaceAll(rawPersons, ".nl;B", ".nl;X"), rawContracts)
		src.NamingMap = map[string]string{"X": code}
		return src
	}
	e.mustIngest(naming("P"))
	eq(t, "naming_map changed", e.mustIngest(naming("BP")),
		[]string{"person.changed 001", "person.changed 002", "person.changed 003"})

	// A rule that now rejects what it let through: the rows are checked
	// again, not dropped as they were.
	_, rep, err := e.ingest(Config{Force: true, Rules: connector.Rules{VerifiedDomains: []string{"other.nl"}, RejectUnverified: true}}, naming("BP"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejects != 3 {
		t.Fatalf("%d rows rejected under a rule that rejects all three", rep.Rejects)
	}
}

// A database whose hashes were of the mapped fields (before the rows were
// hashed as read) compares every person once, with no spurious events,
// and records the hashes of the records.
// After a change of what the rows' hashes are seeded with (here a rule
// that maps no row otherwise; after an upgrade, the binary), every row
// hashes anew: each is compared with its stored person as it is read, so
// only the changed person is kept for the diff, the others' new hashes
// are recorded, and the next ingest drops them by hash again.
func TestARowThatOnlyHashesAnewIsComparedAsReadAndNotKept(t *testing.T) {
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", rawPersons, rawContracts))
	rules := connector.Rules{VerifiedDomains: []string{"example.nl"}}
	day2 := strings.Replace(rawPersons, "Jansen", "Jansen-Smit", 1)
	got, rep, err := e.ingest(Config{Rules: rules}, e.source("hr", "", day2, rawContracts))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"person.changed 002"}) {
		t.Fatalf("events after the seed changed: %v", got)
	}
	if n := rep.Plans[0].rehashed; n != 2 {
		t.Fatalf("%d rows compared as read and not kept, want 2 (001 and 003)", n)
	}
	day3 := strings.Replace(day2, "Noor", "Nora", 1)
	got, rep, err = e.ingest(Config{Rules: rules}, e.source("hr", "", day3, rawContracts))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"person.changed 003"}) || rep.Plans[0].rehashed != 0 {
		t.Fatalf("the next day: events %v, %d compared as read (their new hashes were not recorded)", got, rep.Plans[0].rehashed)
	}
}

func TestHashesOfMappedFieldsAreReplacedWithoutSpuriousEvents(t *testing.T) {
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", rawPersons, rawContracts))
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "db", "spendsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Such a database is older than the index copies, so it has none.
	if _, err := db.Exec(`DELETE FROM index_heads`); err != nil {
		t.Fatal(err)
	}
	for _, emp := range []string{"001", "002", "003"} {
		old := sha256.Sum256([]byte("fields of " + emp))
		if _, err := db.Exec(`UPDATE source_hashes SET person = ? WHERE source = 'hr' AND employee_number = ?`, old[:16], emp); err != nil {
			t.Fatal(err)
		}
	}
	before := rowOf(t, filepath.Join(e.dir, "db", "spendsync.db"), `SELECT employee_number, hex(person) FROM source_hashes ORDER BY 1`)
	day2 := strings.Replace(rawPersons, "Jansen", "Jansen-Smit", 1)
	eq(t, "first ingest over old hashes", e.mustIngest(e.source("hr", "", day2, rawContracts)), []string{"person.changed 002"})
	after := rowOf(t, filepath.Join(e.dir, "db", "spendsync.db"), `SELECT employee_number, hex(person) FROM source_hashes ORDER BY 1`)
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	if len(a) != 3 {
		t.Fatalf("hashes after: %s", after)
	}
	for i := range a {
		if a[i] == b[i] {
			t.Fatalf("hash kept as it was: %s", a[i])
		}
	}
	// Now recorded as read: a file that changes elsewhere compares only
	// the changed person.
	day3 := strings.Replace(day2, "Visser", "Visser-Bos", 1)
	eq(t, "the next ingest", e.mustIngest(e.source("hr", "", day3, rawContracts)), []string{"person.changed 003"})
}

// A row rejected last time was never recorded: the same row again is
// checked, and rejected, again; the good row back is as the state holds it.
func TestARowRejectedLastTimeIsCheckedAgain(t *testing.T) {
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", rawPersons, rawContracts))
	bad := strings.Replace(rawPersons, "anna@example.nl", "anna@@example.nl", 1)
	for day := 2; day <= 3; day++ {
		// A changed contracts file each day, so the source is read again.
		contracts := rawContracts + strings.Repeat("\n", day)
		_, rep, err := e.ingest(Config{Force: true}, e.source("hr", "", bad, contracts))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rejects != 1 {
			t.Fatalf("day %d: %d rows rejected, want the bad one", day, rep.Rejects)
		}
	}
	eq(t, "the good row back", e.mustIngest(e.source("hr", "", rawPersons, rawContracts)), nil)
}

// The new hashes of rows that only hashed anew stay in the index entries
// until the store writes them: a source that more follow copies them out
// first, or the next source's hashes would take their place unwritten.
func TestRowsThatOnlyHashAnewAreRecordedForEverySourceOfARun(t *testing.T) {
	e := newEnv(t)
	hr2Persons := "employee_number;first_name;last_name;email;naming_convention\n005;Piet;Smit;piet@example.nl;B\n"
	hr2Contracts := contractsHeader + "005;c5;2020-01-01;;FIN;CTRL\n"
	e.mustIngest(e.source("hr", "", rawPersons, rawContracts), e.source("hr2", "", hr2Persons, hr2Contracts))
	rules := connector.Rules{VerifiedDomains: []string{"example.nl"}} // every row's seed changes
	for day, want := range [][2]int{{3, 1}, {0, 0}} {
		// A line more each day, so neither source is skipped as unchanged.
		pad := strings.Repeat("\n", day+1)
		_, rep, err := e.ingest(Config{Rules: rules}, e.source("hr", "", rawPersons+pad, rawContracts), e.source("hr2", "", hr2Persons+pad, hr2Contracts))
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]int{rep.Plans[0].rehashed, rep.Plans[1].rehashed}; got != want {
			t.Fatalf("day %d: rows compared as read and not kept %v, want %v", day+2, got, want)
		}
	}
}
