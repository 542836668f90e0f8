package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/report"
)

// reportHistory is a half year of 2020 built through the real commands,
// each step's rows dated afterwards (events, deliveries and runs carry the
// wall clock, which is long past 2020):
//
// A role row carries the username, so the rename is a revoke and a grant:
// 8 grants (5, 003's F2, 005 renamed, 006) and 7 revokes.
//
//	01-10  run: 001..005 join (005 on partner.example.com), 5 creates, 5 grants
//	02-05  run: 002's contract ended 02-01 (removed, delivered: 4 days);
//	       003 moves from F1 to F2 (a revoke and a grant)
//	03-01  block 004 "fraud inquiry", run: removed (0 days, from the removal)
//	03-15  001 and 003 leave HR: run stops (max_removals 1, exit 3),
//	       ingest --force, export --force; 03-18 push (3 days from the leave seen)
//	04-01  005's username changes: run holds the rename (exit 5)
//	04-20  006 joins; allow-rename 005; run: the rename goes through
//	05-10  006's contract ended 05-09: ingest, export, no push: still open
type reportHistory struct {
	t                  *testing.T
	dir, cfg, db, drop string
	persons, contracts string
}

func newReportHistory(t *testing.T) *reportHistory {
	t.Helper()
	dir := t.TempDir()
	h := &reportHistory{t: t, dir: dir, cfg: filepath.Join(dir, "spendsync.yaml"), db: filepath.Join(dir, "state", "db"),
		drop: filepath.Join(dir, "drop"), persons: filepath.Join(dir, "persons.csv"), contracts: filepath.Join(dir, "contracts.csv")}
	if err := os.MkdirAll(h.drop, 0o700); err != nil {
		t.Fatal(err)
	}
	yaml := "database: state/db\nsources:\n  - {name: hr, persons: persons.csv, contracts: contracts.csv}\n" +
		"rules:\n  verified_domains: [example.nl]\n  thresholds: {max_removals: 1, max_removal_percent: 0}\n" +
		"export: {dir: out}\ntarget: {dir: {path: drop}}\n"
	if err := os.WriteFile(h.cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *reportHistory) files(persons, contracts string) {
	h.t.Helper()
	if err := os.WriteFile(h.persons, []byte("employee_number;last_name;username;email\n"+persons), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(h.contracts, []byte("employee_number;contract_id;start_date;end_date;ou_code;function_code\n"+contracts), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func (h *reportHistory) cmd(want int, args ...string) {
	h.t.Helper()
	code, _, stderr := cli(h.t, append([]string{"--config", h.cfg, "-q"}, args...)...)
	if code != want {
		h.t.Fatalf("%v: exit %d, want %d: %s", args, code, want, stderr)
	}
}

// at dates every row not yet dated (its time after 2020) to noon of day.
func (h *reportHistory) at(day string) {
	h.t.Helper()
	db, err := sql.Open("sqlite", h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	ts := day + "T12:00:00Z"
	for _, q := range []string{
		`UPDATE events SET time = ? WHERE time > '2021'`,
		`UPDATE deliveries SET time = ? WHERE time > '2021'`,
		`UPDATE runs SET started = ? WHERE started > '2021'`,
		`UPDATE runs SET finished = ?1 WHERE finished > '2021'`,
	} {
		if _, err := db.Exec(q, ts); err != nil {
			h.t.Fatalf("%s: %v", q, err)
		}
	}
}

const rp = "001;Aa;a@example.nl;a@example.nl\n002;Bb;b@example.nl;b@example.nl\n003;Cc;c@example.nl;c@example.nl\n" +
	"004;Dd;d@example.nl;d@example.nl\n"

func buildReportHistory(t *testing.T) *reportHistory {
	h := newReportHistory(t)
	p5 := "005;Ee;e@partner.example.com;e@partner.example.com\n"
	c := map[string]string{"001": "001;c1;2019-01-01;;OU1;F1\n", "002": "002;c2;2019-01-01;;OU1;F1\n",
		"003": "003;c3;2019-01-01;;OU1;F1\n", "004": "004;c4;2019-01-01;;OU1;F2\n", "005": "005;c5;2019-01-01;;OU2;F2\n"}
	all := func(over map[string]string, skip ...string) string {
		var b strings.Builder
		for _, k := range []string{"001", "002", "003", "004", "005", "006"} {
			v, ok := over[k]
			if !ok {
				v = c[k]
			}
			skipped := false
			for _, s := range skip {
				skipped = skipped || s == k
			}
			if !skipped {
				b.WriteString(v)
			}
		}
		return b.String()
	}
	h.files(rp+p5, all(nil))
	h.cmd(0, "run")
	h.at("2020-01-10")

	moved := map[string]string{"002": "002;c2;2019-01-01;2020-02-01;OU1;F1\n", "003": "003;c3;2019-01-01;;OU1;F2\n"}
	h.files(rp+p5, all(moved))
	h.cmd(0, "run")
	h.at("2020-02-05")

	h.cmd(0, "person", "block", "004", "--reason", "fraud inquiry")
	h.cmd(0, "run")
	h.at("2020-03-01")

	gone := strings.NewReplacer("001;Aa;a@example.nl;a@example.nl\n", "", "003;Cc;c@example.nl;c@example.nl\n", "").Replace(rp)
	h.files(gone+p5, all(moved, "001", "003"))
	h.cmd(3, "run")
	h.cmd(0, "ingest", "--force")
	h.cmd(0, "export", "--force")
	h.at("2020-03-15")
	h.cmd(0, "push")
	h.at("2020-03-18")

	p5new := "005;Ee;ee@partner.example.com;e@partner.example.com\n"
	h.files(gone+p5new, all(moved, "001", "003"))
	h.cmd(5, "run")
	h.at("2020-04-01")

	p6 := "006;Ff;f@example.nl;f@example.nl\n"
	h.files(gone+p5new+p6, all(map[string]string{"002": moved["002"], "006": "006;c6;2019-01-01;;OU1;F1\n"}, "001", "003"))
	h.cmd(0, "person", "allow-rename", "005", "--reason", "married, renamed in Spend Cloud")
	h.cmd(0, "run")
	h.at("2020-04-20")

	h.files(gone+p5new+p6, all(map[string]string{"002": moved["002"], "006": "006;c6;2019-01-01;2020-05-09;OU1;F1\n"}, "001", "003"))
	h.cmd(0, "ingest")
	h.cmd(0, "export")
	h.at("2020-05-10")
	return h
}

func reportJSON(t *testing.T, h *reportHistory, args ...string) report.Report {
	t.Helper()
	code, out, stderr := cli(t, append([]string{"--config", h.cfg, "report", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report json: %v\n%s", err, out)
	}
	return r
}

func TestReportCountsAKnownHistoryExactly(t *testing.T) {
	h := buildReportHistory(t)
	r := reportJSON(t, h, "--from", "2020-01-01", "--to", "2020-06-30")
	summary := map[string]int{}
	for _, s := range r.Summary {
		summary[s.Measure] = s.Value
	}
	want := map[string]int{"accounts at start": 0, "accounts at end": 1, "joiners": 6, "leavers": 5,
		"role grants": 8, "role revokes": 7, "leavers revoked": 4, "leavers still open": 1,
		"overrides and manual actions": 6, "holds": 1, "accounts on unverified domains": 1, "accounts without a role": 0}
	for k, v := range want {
		if summary[k] != v {
			t.Errorf("summary %q = %d, want %d", k, summary[k], v)
		}
	}
	months := map[string][2]int{}
	for _, m := range r.Months {
		months[m.Month] = [2]int{m.Joiners, m.Leavers}
	}
	wantMonths := map[string][2]int{"2020-01": {5, 0}, "2020-02": {0, 1}, "2020-03": {0, 3}, "2020-04": {1, 0}, "2020-05": {0, 1}}
	if len(months) != len(wantMonths) {
		t.Errorf("months %v, want %v", months, wantMonths)
	}
	for k, v := range wantMonths {
		if months[k] != v {
			t.Errorf("month %s joiners, leavers = %v, want %v", k, months[k], v)
		}
	}
	buckets := map[string]int{}
	for _, b := range r.Revoke {
		buckets[b.Days] = b.Leavers
	}
	if buckets["0"] != 1 || buckets["3-7"] != 3 || len(r.Revoke) != len(report.Buckets) {
		t.Errorf("time to revoke %v, want 0: 1 (the block), 3-7: 3", r.Revoke)
	}
	days := map[string]int{}
	for _, l := range r.Slowest {
		days[l.EmployeeNumber] = l.Days
	}
	if want := map[string]int{"001": 3, "002": 4, "003": 3, "004": 0}; len(days) != 4 || days["001"] != 3 || days["002"] != 4 || days["003"] != 3 || days["004"] != 0 {
		t.Errorf("slowest %v, want %v", days, want)
	}
	if r.Slowest[0].EmployeeNumber != "002" || r.Slowest[0].HREndDate != "2020-02-01" {
		t.Errorf("slowest first %+v, want 002 with HR end date 2020-02-01", r.Slowest[0])
	}
	if len(r.Open) != 1 || r.Open[0].EmployeeNumber != "006" || r.Open[0].Removed == "" || r.Open[0].Delivered != "" {
		t.Errorf("open %+v, want 006 removed, not delivered", r.Open)
	}
	kinds := map[string]int{}
	for _, a := range r.Actions {
		kinds[a.Kind]++
	}
	if want := map[string]int{"force": 2, "person.blocked": 1, "safety_stop": 1, "account.rename_allowed": 1, "account.renamed": 1}; len(kinds) != len(want) {
		t.Errorf("actions %v, want %v", kinds, want)
	} else {
		for k, v := range want {
			if kinds[k] != v {
				t.Errorf("actions %v, want %v", kinds, want)
			}
		}
	}
	if len(r.Held) != 1 || r.Held[0].Kind != "account.rename_held" || !strings.Contains(r.Held[0].Reason, "ee@partner.example.com") {
		t.Errorf("held %+v, want 005's held rename with the new name", r.Held)
	}
	if len(r.Unverified) != 1 || r.Unverified[0].EmployeeNumber != "005" {
		t.Errorf("unverified %+v, want 005", r.Unverified)
	}
	// Six pushes of two files each: the 03-15 run stopped before its
	// push, the 04-01 run delivered beside its held rename.
	if len(r.Deliveries) != 12 {
		t.Errorf("deliveries: %d files, want 12", len(r.Deliveries))
	}
	for _, d := range r.Deliveries {
		if len(d.SHA256) != 64 || d.Size <= 0 || !d.OK {
			t.Errorf("delivery %+v: want a size and a SHA-256", d)
		}
	}
}

func TestReportCSVMatchesGolden(t *testing.T) {
	h := buildReportHistory(t)
	code, out, stderr := cli(t, "--config", h.cfg, "report", "--from", "2020-01-01", "--to", "2020-06-30", "--format", "csv")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	// The export ids, folders and actor are the machine's; number them.
	ids := map[string]string{}
	out = regexp.MustCompile(`\d{8}T\d{6}Z-\d+`).ReplaceAllStringFunc(out, func(id string) string {
		if ids[id] == "" {
			ids[id] = "EXPORT-" + string(rune('A'+len(ids)))
		}
		return ids[id]
	})
	out = strings.ReplaceAll(out, h.dir+string(filepath.Separator), "DIR/")
	out = strings.ReplaceAll(out, h.dir, "DIR")
	out = strings.ReplaceAll(out, actorForTest(t, h), "ACTOR")
	golden := filepath.Join("testdata", "report", "history.csv")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if out != string(want) {
		t.Errorf("report csv differs from %s (run with -update after checking):\n%s", golden, out)
	}
}

func actorForTest(t *testing.T, h *reportHistory) string {
	t.Helper()
	code, out, _ := cli(t, "--config", h.cfg, "events", "--kind", "person.blocked", "--format", "json")
	var evs []struct {
		Actor string `json:"actor"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) == 0 {
		t.Fatalf("events: %d %s", code, out)
	}
	return evs[0].Actor
}

func TestReportOfAPeriodWithoutEventsSaysSo(t *testing.T) {
	h := buildReportHistory(t)
	for _, format := range []string{"json", "csv", "html"} {
		code, out, stderr := cli(t, "--config", h.cfg, "report", "--from", "2019-01-01", "--to", "2019-12-31", "--format", format)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		if !strings.Contains(out, "no events in this period") && !strings.Contains(out, "No events in this period") {
			t.Errorf("%s: the report does not say the period has no events:\n%.500s", format, out)
		}
	}
	r := reportJSON(t, h, "--from", "2019-01-01", "--to", "2019-12-31")
	if !r.Empty || len(r.Months) != 0 || len(r.Deliveries) != 0 {
		t.Errorf("empty period: %+v", r)
	}
	// After the history the one account left is still there.
	if r := reportJSON(t, h, "--from", "2020-07-01", "--to", "2020-07-31"); !r.Empty || r.Summary[0].Value != 1 || r.Summary[1].Value != 1 {
		t.Errorf("a quiet month after the history: %+v, want 1 account at start and end", r.Summary[:2])
	}
}

func TestReportRefusesFromAfterToAndBadDates(t *testing.T) {
	h := newReportHistory(t)
	out := filepath.Join(h.dir, "r.html")
	for _, args := range [][]string{
		{"--from", "2020-02-01", "--to", "2020-01-31"},
		{"--from", "31-01-2020"},
		{"--format", "pdf"},
	} {
		code, _, stderr := cli(t, append([]string{"--config", h.cfg, "report", "--out", out}, args...)...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("%v: exit %d, want 2 naming %s: %s", args, code, args[0], stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: a refused report wrote %s", args, out)
		}
	}
}

// TestReportKeepsHostileTextInert: a function code from HR that a
// spreadsheet would run as a formula reaches the CSV guarded; a block
// reason (a user's text) with a control character and markup reaches the
// CSV escaped and the HTML as text.
func TestReportKeepsHostileTextInert(t *testing.T) {
	h := newReportHistory(t)
	h.files("001;Aa;a@example.nl;a@example.nl\n", "001;c1;2019-01-01;;OU1;=SUM(1+1)\n")
	h.cmd(0, "run")
	hostile := "=HYPERLINK(\"http://evil.example\")\x1b[31m<script>alert(1)</script>"
	h.cmd(0, "person", "block", "001", "--reason", hostile)
	code, csvOut, stderr := cli(t, "--config", h.cfg, "report", "--format", "csv")
	if code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	if !strings.Contains(csvOut, `,'=SUM(1+1),1,0`) {
		t.Errorf("the role profile is not guarded in the CSV:\n%s", csvOut)
	}
	if !strings.Contains(csvOut, `"reason: =HYPERLINK(""http://evil.example"")\x1b[31m<script>`) {
		t.Errorf("the reason's control character is not escaped in the CSV:\n%s", csvOut)
	}
	if strings.Contains(csvOut, "\x1b") {
		t.Errorf("a raw control character reached the CSV")
	}
	code, page, stderr := cli(t, "--config", h.cfg, "report")
	if code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the reason's markup is not escaped in the HTML")
	}
}

func TestReportDefaultsToTheLast365DaysUpToToday(t *testing.T) {
	h := newReportHistory(t)
	h.files("001;Aa;a@example.nl;a@example.nl\n", "001;c1;2019-01-01;;OU1;F1\n")
	h.cmd(0, "run")
	r := reportJSON(t, h)
	to := time.Now().UTC()
	from := to.AddDate(0, 0, -364)
	if r.To != to.Format("2006-01-02") || r.From != from.Format("2006-01-02") {
		t.Errorf("default period %s to %s, want %s to %s", r.From, r.To, from.Format("2006-01-02"), to.Format("2006-01-02"))
	}
	// Today's run is in it, and its account is there at the end.
	if r.Empty || r.Summary[1].Value != 1 || len(r.Deliveries) != 2 {
		t.Errorf("today's run is missing from the default period: %+v", r.Summary)
	}
}
