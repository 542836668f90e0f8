package ingest

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/connector"
)

// The contract rows of a person whose rows the source recorded as read
// (lifecycle.Hashes.Raw) are summed as read and not checked; when the sum
// differs, the second pass checks them as the first would have. These
// fail if a day's changes came out otherwise through that path than
// through rows checked in the first pass: other events, rejects, merges,
// protections or date verdict, or raw hashes recorded that the next days
// would misread.

const rawBase = contractsHeader + "001;c1;2020-01-01;;FIN;CTRL\n002;c2;2021-01-01;;HR;HRA\n003;c3;2022-01-01;;FIN;CRED\n" +
	"003;c4;2022-02-01;;FIN;CRED\n004;;2022-01-01;;HR;HRA\n"

var rawBasePersons = rawPersons + "004;Piet;Smit;piet@example.nl;B\n"

func TestContractRowsComparedAsReadGiveWhatCheckedRowsGive(t *testing.T) {
	lines := strings.Split(rawBase, "\n")
	for _, c := range []struct{ name, day2 string }{
		{"nothing changed", rawBase},
		{"the rows in another order", contractsHeader + strings.Join([]string{lines[5], lines[3], lines[1], lines[4], lines[2]}, "\n") + "\n"},
		{"a contract changed", withLine(lines, 2, "002;c2;2021-01-01;2024-12-31;HR;HRA")},
		{"a contract added", rawBase + "002;c5;2023-01-01;;HR;HRB\n"},
		{"a contract removed", withLine(lines, 4, "")},
		{"every contract of a person removed", withLine(lines, 1, "")},
		{"a bad date", withLine(lines, 2, "002;c2;2021-13-01;;HR;HRA")},
		{"an end before its start", withLine(lines, 2, "002;c2;2021-01-01;2020-01-01;HR;HRA")},
		{"a duplicate contract id", rawBase + "002;c2;2021-03-01;;HR;HRA\n"},
		{"a row without an id repeated as it is (merged)", rawBase + "004;;2022-01-01;;HR;HRA\n"},
		{"rows without an id that conflict", rawBase + "004;;2022-01-01;2023-01-01;HR;HRA\n"},
		{"a row of another width", rawBase + "002;c6;2021-01-01\n"},
		{"a control character", rawBase + "002;c7;2021-01-01;;H\x01R;HRA\n"},
		{"a row for a person no file lists", rawBase + "099;c9;2021-01-01;;HR;HRA\n"},
		// Two of five dates in another layout: rejects, not a verdict on
		// date_format, since the unchecked rows' dates count as valid.
		{"two dates of five in another layout", withLineS(withLineS(rawBase, 1, "001;c1;01-01-2020;;FIN;CTRL"), 2, "002;c2;01-02-2021;;HR;HRA")},
		// Every date in another layout: the verdict, through both paths.
		{"every date in another layout", strings.NewReplacer("2020-01-01", "01-01-2020", "2021-01-01", "01-01-2021", "2022-01-01", "01-01-2022",
			"2022-02-01", "01-02-2022").Replace(rawBase)},
	} {
		t.Run(c.name, func(t *testing.T) {
			asRead, unchecked := rawDays(t, false, c.day2)
			checked, _ := rawDays(t, true, c.day2)
			eq(t, "compared as read, then checked", asRead, checked)
			if unchecked == 0 {
				t.Fatalf("no row was taken unchecked on day 2")
			}
		})
	}
}

func withLineS(s string, i int, line string) string { return withLine(strings.Split(s, "\n"), i, line) }

// rawDays ingests rawBase, then day2 three times, rawBase and day2 again, and
// returns what each day did: events, summary and rejects, or its error.
// checked clears the recorded raw hashes before each day, so every row is
// checked in the first pass. unchecked counts the rows day 2 took
// unchecked (-1: day 2 was refused).
func rawDays(t *testing.T, checked bool, day2 string) (out []string, unchecked int) {
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", rawBasePersons, rawBase))
	for day, contracts := range []string{day2, day2, day2, rawBase, day2} {
		if checked {
			clearRaw(t, e)
		}
		// A line more each day, so no day is skipped as unchanged.
		evs, rep, err := e.ingest(Config{Force: true}, e.source("hr", "", rawBasePersons+strings.Repeat("\n", day+1), contracts))
		out = append(out, fmt.Sprintf("day %d", day+2))
		if err != nil {
			out = append(out, strings.ReplaceAll(err.Error(), e.dir+string(filepath.Separator), ""))
			if day == 0 {
				unchecked = -1 // refused before anything was planned
			}
			continue
		}
		out = append(out, evs...)
		for _, p := range rep.Plans {
			out = append(out, strings.TrimPrefix(p.Summary(), "hr: "))
			for _, r := range p.Rejects {
				out = append(out, fmt.Sprintf("reject %s:%d %s %s %q", filepath.Base(r.File), r.Line, r.Column, r.Reason, r.EmployeeNumber))
			}
			if day == 0 && p.filter != nil {
				unchecked = p.filter.uncheckedRows
			}
		}
	}
	return out, unchecked
}

func clearRaw(t *testing.T, e *env) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(e.dir, "db", "spendsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE source_hashes SET raw = NULL`); err != nil {
		t.Fatal(err)
	}
}

// A contracts file whose seed changed (here its columns in another
// order; a new binary or new settings do the same) is compared as mapped
// for one day, with the mapped hashes the raw ones stood in for, and as
// read again from the next.
func TestANewContractsSeedComparesAsMappedForADay(t *testing.T) {
	swapped := strings.NewReplacer(";FIN;CTRL", ";CTRL;FIN", ";HR;HRA", ";HRA;HR", ";FIN;CRED", ";CRED;FIN",
		"ou_code;function_code", "function_code;ou_code").Replace(rawBase)
	e := newEnv(t)
	e.mustIngest(e.source("hr", "", rawBasePersons, rawBase))
	for day, want := range []struct {
		unchecked bool
	}{{false}, {true}} {
		evs, rep, err := e.ingest(Config{Force: true}, e.source("hr", "", rawBasePersons+strings.Repeat("\n", day+1), swapped))
		if err != nil {
			t.Fatal(err)
		}
		eq(t, fmt.Sprintf("day %d", day+2), evs, nil)
		f := rep.Plans[0].filter
		changed := 0
		f.st.index.each(func(_ string, e *entry) {
			if e.contractsChanged {
				changed++
			}
		})
		if got := f.uncheckedRows > 0; got != want.unchecked || changed > 0 {
			t.Fatalf("day %d: rows taken unchecked %v, want %v; %d persons' contracts compared as changed", day+2, got, want.unchecked, changed)
		}
	}
}

// The lookup files are in the contracts rows' seed: a changed one remaps
// the rows it fills, however unchanged they are as read.
func TestAChangedLookupFileRemapsTheContractRowsItFills(t *testing.T) {
	e := newEnv(t)
	withOUs := func(names string) *connector.Source {
		return e.withLookup(e.source("hr", "", rawBasePersons, rawBase), "ou.csv", "code;name\n"+names,
			map[string]string{"ou_code": "code"}, map[string]string{"ou_name": "name"})
	}
	e.mustIngest(withOUs("FIN;Finance\nHR;People\n"))
	eq(t, "an OU renamed in the lookup file", e.mustIngest(withOUs("FIN;Finance\nHR;Human Resources\n")),
		[]string{"contract.changed 002", "contract.changed 004"})
}
