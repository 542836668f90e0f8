package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// leaverEnv is one snapshot source with a persons and a contracts file,
// written afresh before each ingest.
type leaverEnv struct {
	t                   *testing.T
	cfg, persons, contr string
}

func newLeaverEnv(t *testing.T) *leaverEnv {
	t.Helper()
	dir := t.TempDir()
	e := &leaverEnv{t: t, cfg: filepath.Join(dir, "spendsync.yaml"),
		persons: filepath.Join(dir, "persons.csv"), contr: filepath.Join(dir, "contracts.csv")}
	// No removal thresholds: these tests are about who leaves, not how many.
	yaml := "database: state/db\nsources:\n  - {name: hr, persons: persons.csv, contracts: contracts.csv}\n" +
		"rules: {thresholds: {max_removals: 0, max_removal_percent: 0}}\n"
	if err := os.WriteFile(e.cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *leaverEnv) ingest(persons, contracts string) (int, string, string) {
	e.t.Helper()
	os.WriteFile(e.persons, []byte("employee_number;last_name;username\n"+persons), 0o600)
	os.WriteFile(e.contr, []byte("employee_number;contract_id;start_date;end_date;ou_code;function_code\n"+contracts), 0o600)
	return cli(e.t, "--config", e.cfg, "ingest")
}

func (e *leaverEnv) events(kind string) string {
	e.t.Helper()
	code, out, stderr := cli(e.t, "--config", e.cfg, "events", "--kind", kind, "--format", "csv")
	if code != 0 {
		e.t.Fatalf("events: %d %s", code, stderr)
	}
	return out
}

const threePersons = "001;Aa;a\n002;Bb;b\n003;Cc;c\n"
const threeContracts = "001;c1;2020-01-01;;OU1;F1\n002;c2;2020-01-01;;OU1;F1\n003;c3;2020-01-01;;OU1;F1\n"

func TestLeaverLeavesBesideAnUnrelatedBadRow(t *testing.T) {
	e := newLeaverEnv(t)
	if code, _, stderr := e.ingest(threePersons, threeContracts); code != 0 {
		t.Fatalf("first ingest: %d %s", code, stderr)
	}
	// 003 left; a new hire's row is unreadable (broken quote) and names 004.
	code, out, stderr := e.ingest("001;Aa;a\n002;Bb;b\n004;\"Half typed;d\n", "001;c1;2020-01-01;;OU1;F1\n002;c2;2020-01-01;;OU1;F1\n")
	if code != exitRejected {
		t.Fatalf("exit %d, want 5 for the bad row: %s %s", code, out, stderr)
	}
	if left := e.events("person.left"); !strings.Contains(left, "003") {
		t.Fatalf("003 must leave in the same run despite an unrelated bad row; person.left events:\n%s", left)
	}
	if held := e.events("person.held"); strings.Count(held, "\n") != 1 { // the CSV header only
		t.Fatalf("nobody's removal should be held back:\n%s", held)
	}
}

func TestBadRowNamingALeaverHoldsBackOnlyThatRemoval(t *testing.T) {
	e := newLeaverEnv(t)
	if code, _, stderr := e.ingest(threePersons, threeContracts); code != 0 {
		t.Fatalf("first ingest: %d %s", code, stderr)
	}
	// 002's row is unreadable (its number is in the raw text); 003 is gone.
	code, out, stderr := e.ingest("001;Aa;a\n002;\"Bb;b\n", "001;c1;2020-01-01;;OU1;F1\n")
	if code != exitRejected {
		t.Fatalf("exit %d, want 5: %s %s", code, out, stderr)
	}
	left := e.events("person.left")
	if !strings.Contains(left, "003") || strings.Contains(left, ",002,") {
		t.Fatalf("003 must leave and 002 must stay; person.left:\n%s", left)
	}
	held := e.events("person.held")
	if !strings.Contains(held, "002") || !strings.Contains(held, "persons.csv") || !strings.Contains(held, `""line"":3`) {
		t.Fatalf("the held-back removal of 002 must be an event naming the file and line 3:\n%s", held)
	}
	if !strings.Contains(stderr, "removal held back") {
		t.Fatalf("the held-back removal must be logged: %s", stderr)
	}
	code, out, _ = cli(t, "--config", e.cfg, "person", "show", "002")
	if code != 0 || !regexp.MustCompile(`status +current`).MatchString(out) || !regexp.MustCompile(`c2 +2020-01-01`).MatchString(out) {
		t.Fatalf("002 must keep its last good state, contract included: %d %s", code, out)
	}
}

func TestOrphanContractRowsAreCountedNotRejected(t *testing.T) {
	e := newLeaverEnv(t)
	// 009 and 010 left long ago: HR still lists their ended employments.
	code, out, stderr := e.ingest(threePersons, threeContracts+"009;c9;2010-01-01;2012-12-31;OU1;F1\n010;c10;2011-01-01;2013-01-31;OU2;F2\n010;c11;2014-01-01;2015-01-31;OU2;F2\n")
	if code != 0 {
		t.Fatalf("orphans must not make the exit code 5: %d %s %s", code, out, stderr)
	}
	if !strings.Contains(out, "3 orphan contract rows") {
		t.Fatalf("the run summary must count the orphans: %s", out)
	}
	if strings.Count(stderr, "orphans") != 1 && !strings.Contains(stderr, `"orphans":3`) {
		t.Fatalf("orphans must be logged once with their count: %s", stderr)
	}
	code, rejects, _ := cli(t, "--config", e.cfg, "rejects", "--format", "csv")
	if code != 0 || strings.Contains(rejects, "009") {
		t.Fatalf("orphans are not rejects: %d %s", code, rejects)
	}
	if code, _, _ := cli(t, "--config", e.cfg, "person", "show", "009"); code == 0 {
		t.Fatal("an orphan contract row must create nobody")
	}
	code, status, _ := cli(t, "--config", e.cfg, "status")
	if code != 0 || !strings.Contains(status, "orphans") {
		t.Fatalf("status must show the orphans: %s", status)
	}
	// The same files again take the unchanged-source path: still counted.
	_, out, _ = e.ingest(threePersons, threeContracts+"009;c9;2010-01-01;2012-12-31;OU1;F1\n010;c10;2011-01-01;2013-01-31;OU2;F2\n010;c11;2014-01-01;2015-01-31;OU2;F2\n")
	if !strings.Contains(out, "unchanged since") || !strings.Contains(out, "3 orphan contract rows") {
		t.Fatalf("an unchanged re-ingest must still report the orphans: %s", out)
	}
}
