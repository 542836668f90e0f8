package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/lifecycle"
)

// Every duration the command line takes goes through internal/duration, so
// days and weeks work there as they do in the config.
func TestDurationFlagsTakeDaysAndWeeks(t *testing.T) {
	cfg := demo(t)
	if code, _, errOut := cli(t, "--config", cfg, "ingest"); code != 0 {
		t.Fatalf("ingest: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, "--config", cfg, "events", "--since", "2w", "--kind", "person.joined")
	if code != 0 || !strings.Contains(out, "person.joined") {
		t.Fatalf("events --since 2w: %d %q %s", code, out, errOut)
	}
	if code, out, _ := cli(t, "--config", cfg, "events", "--until", "1d", "--kind", "person.joined"); code != 0 || strings.Contains(out, "person.joined") {
		t.Errorf("events --until 1d (a day ago) should list nothing yet: %d %q", code, out)
	}
	// Nothing delivered yet: a stale delivery is exit 3, not a usage error.
	if code, _, errOut := cli(t, "--config", cfg, "status", "--max-age", "2d"); code != 3 {
		t.Errorf("status --max-age 2d = %d, want 3: %s", code, errOut)
	}
	code, _, errOut = cli(t, "--config", cfg, "status", "--max-age", "26")
	if code != 2 || !strings.Contains(errOut, "needs a unit") {
		t.Errorf("status --max-age 26 = %d %q, want exit 2 asking for a unit", code, errOut)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spendsync.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Config errors name the key path and the line it stands on, say what the
// key expects without YAML or Go internals, and never echo a value that
// came from an environment variable.
func TestConfigErrorsGiveKeyPathLineAndNoInternals(t *testing.T) {
	t.Setenv("SS_TEST_PW", "S3cr3tPassw0rd")
	t.Setenv("SS_TEST_PIN", "918273")
	const src = "database: d\nsources:\n  - name: a\n    persons: p.csv\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key in flow list", "database: d\nrules:\n  verified_domain: [example.nl]\n", ":3: rules.verified_domain: unknown key"},
		{"unknown key in block list", "database: d\nrules:\n  verified_domain:\n    - example.nl\n", ":3: rules.verified_domain: unknown key"},
		{"type error says what fits", "database: d\nrules:\n  lead_days: soon\n", `:3: rules.lead_days: expects a whole number, got "soon"`},
		{"bool", "database: d\nexport:\n  bom: sometimes\n", ":3: export.bom: expects true or false"},
		{"list expected", "database: d\nrules:\n  verified_domains: example.nl\n", ":3: rules.verified_domains: expects a list"},
		{"bad indent of a key", src + "   contracts: c.csv\nrules:\n  lead_days: 3\n", ":5: not valid YAML"},
		{"bad indent after a value", "database: d\nrules:\n  lead_days: 3\n   grace_days: 4\n", ":4: not valid YAML"},
		{"secret in a duration", "database: d\ntarget:\n  sftp:\n    host: h\n    timeout: ${SS_TEST_PW}\n", ":5: target.sftp.timeout: the value of ${SS_TEST_PW}: not a duration"},
		{"secret in a number", "database: d\ntarget:\n  sftp: {host: h, port: \"${SS_TEST_PW}\"}\n", "target.sftp.port: the value of ${SS_TEST_PW}: expects a whole number"},
		{"numeric secret in a duration", "database: d\ntarget:\n  sftp:\n    timeout: ${SS_TEST_PIN}\n", "target.sftp.timeout: the value of ${SS_TEST_PIN}: a number needs a unit"},
		{"bare seconds are refused", src + "    max_age: 3600\n", ":5: sources[0].max_age: a number needs a unit"},
		{"not UTF-8", "database: caf\xe9\n", ":1: not valid YAML: not UTF-8 text"},
		{"tab quoted escaped", "database: d\nrules:\n\tlead_days: 3\n", `:3: not valid YAML: found character '\t'`},
		{"values: a mapping where a value or list goes", "database: d\nrules:\n  scope:\n    include: [{ou_code: {a: b}}]\n", ":4: rules.scope.include[0].ou_code: give a value or a list"},
		{"secret in a validated value", src + "    encoding: ${SS_TEST_PW}\n", `:5: sources[0].encoding: unknown encoding the value of ${SS_TEST_PW}`},
		{"numeric secret in a validated value", "database: d\ntarget:\n  sftp:\n    host: h\n    user: u\n    key_file: k\n    known_hosts: kh\n    port: ${SS_TEST_PIN}\n", "target.sftp.port: ${SS_TEST_PIN} is not a TCP port"},
		{"validation errors carry the line", src + "    encoding: latin9\n", `:5: sources[0].encoding: unknown encoding "latin9"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(t, "--config", writeConfig(t, tc.yaml), "status")
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 with %q", code, stderr, tc.want)
			}
			for _, leak := range []string{"unmarshal", "!!", "Go struct", "time.Duration", "S3cr3t", "918273", "[0].verified_domain", "\n ", "\t"} {
				if strings.Contains(stderr, leak) {
					t.Errorf("stderr %q shows %q", stderr, leak)
				}
			}
		})
	}
}

// max_age: 0 switches the check off (issue 13 defect 5); days and weeks
// work in every duration key.
func TestConfigDurationsTakeZeroDaysAndWeeks(t *testing.T) {
	cfg, err := parseConfig(filepath.Join(t.TempDir(), "c.yaml"), []byte(
		"database: d\nsources:\n  - {name: a, persons: p.csv, max_age: 0}\n  - {name: b, persons: q.csv, max_age: 2d}\n"+
			"target:\n  sftp: {host: h, user: u, key_file: k, known_hosts: kh, timeout: 90s}\nretention: {events: 2w, leavers: 400d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	const day = 24 * time.Hour
	if cfg.Sources[0].MaxAge != 0 || cfg.Sources[1].MaxAge != 2*day {
		t.Errorf("max_age: %v, %v", cfg.Sources[0].MaxAge, cfg.Sources[1].MaxAge)
	}
	if cfg.Target.SFTP.Timeout != 90*time.Second || cfg.Retention.Events != 14*day || cfg.Retention.Leavers != 400*day {
		t.Errorf("timeout %v, retention %+v", cfg.Target.SFTP.Timeout, cfg.Retention)
	}
}

// Notepad saves UTF-8 with a byte order mark; that is still the file's
// first key, not an unknown one.
func TestConfigWithAByteOrderMarkLoads(t *testing.T) {
	if _, err := parseConfig(filepath.Join(t.TempDir(), "c.yaml"), []byte("\ufeffdatabase: d\n")); err != nil {
		t.Fatal(err)
	}
}

func lastRuns(t *testing.T, cfg string) map[string]lifecycle.Run {
	t.Helper()
	code, out, errOut := cli(t, "--config", cfg, "status", "--json")
	var st struct {
		Runs []lifecycle.Run `json:"last_runs"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status --json: %d %s %s", code, out, errOut)
	}
	m := map[string]lifecycle.Run{}
	for _, r := range st.Runs {
		m[r.Command] = r
	}
	return m
}

// Usage and config errors are not runs: status keeps showing the last run
// that did work, with its counts.
func TestUsageErrorsAreNotRecordedAsRuns(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "run")
	before := lastRuns(t, cfg)
	for _, args := range [][]string{
		{"export", "--date", "2026-13-01"},
		{"ingest", "nosuchsource"},
		{"export", "--date", "2026-02-30"},
		{"ingest", "afas", "nosuchsource"},
	} {
		code, _, errOut := cli(t, append([]string{"--config", cfg}, args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
		if want := "see spendsync " + args[0] + " --help"; !strings.Contains(errOut, want) {
			t.Errorf("%v: hint %q lacks %q", args, errOut, want)
		}
	}
	after := lastRuns(t, cfg)
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("usage errors were recorded as runs:\nbefore %+v\nafter  %+v", before, after)
	}
}

// Library errors are translated: a bad flag value says what the flag
// expects, a foreign database is named as such.
func TestLibraryErrorsAreTranslated(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	code, _, errOut := cli(t, "--config", cfg, "rejects", "--run", "abc")
	if code != exitUsage || !strings.Contains(errOut, `--run "abc": expects a whole number`) || strings.Contains(errOut, "strconv") {
		t.Errorf("rejects --run abc: %d %q", code, errOut)
	}
	foreign := filepath.Join(t.TempDir(), "other.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE accounts (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	text := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(text, []byte("not a database at all, just some text that is long enough to be read as a header\n"), 0o600)
	for file, want := range map[string]string{
		foreign: "is not a HelloID SpendCloud database: it has no persons table",
		text:    "is not a SQLite database",
	} {
		code, _, errOut := cli(t, "--config", cfg, "migrate", "--from-helloid", file)
		if code != exitFailed || !strings.Contains(errOut, want) || strings.Contains(errOut, "SQL logic error") {
			t.Errorf("migrate %s: %d %q, want exit 1 with %q", filepath.Base(file), code, errOut, want)
		}
	}
}

// A second migrate would overwrite what was exported since: refused
// without --force, and the refusal is not a run.
func TestSecondMigrateNeedsForce(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "golden")
	persons, _ := os.ReadFile(filepath.Join(golden, "demo-persons.csv"))
	roles, _ := os.ReadFile(filepath.Join(golden, "demo-roles.csv"))
	hid := helloIDDatabase(t, persons, roles)
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "migrate", "--from-helloid", hid)
	before := lastRuns(t, cfg)
	code, _, errOut := cli(t, "--config", cfg, "migrate", "--from-helloid", hid)
	if code != exitUsage || !strings.Contains(errOut, "already migrated") || !strings.Contains(errOut, "--force") {
		t.Fatalf("second migrate: %d %q", code, errOut)
	}
	if after := lastRuns(t, cfg); !reflect.DeepEqual(before, after) {
		t.Errorf("the refused migrate was recorded: %+v", after["migrate"])
	}
	if n := len(mustEvents(t, cfg, lifecycle.Migrated)); n != 1 {
		t.Errorf("%d migrate events after a refusal, want 1", n)
	}
	mustCLI(t, "--config", cfg, "migrate", "--from-helloid", hid, "--force")
	if n := len(mustEvents(t, cfg, lifecycle.Migrated)); n != 2 {
		t.Errorf("%d migrate events after --force, want 2", n)
	}
}

func TestVersionFlagPrintsWhatVersionPrints(t *testing.T) {
	_, cmdOut, _ := cli(t, "version")
	code, flagOut, errOut := cli(t, "--version")
	if code != 0 || flagOut != cmdOut || !strings.HasPrefix(flagOut, "spendsync ") {
		t.Fatalf("--version: %d %q %q; version: %q", code, flagOut, errOut, cmdOut)
	}
}

// Flag values and arguments complete; an unknown shell is a usage error.
func TestCompletionOffersFlagValuesSourcesAndEmployees(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"events", "--format", ""}, []string{"table", "json", "csv"}, nil},
		{[]string{"diff", "--format", ""}, []string{"table", "json"}, []string{"csv"}},
		{[]string{"status", "--log-format", ""}, []string{"text", "json"}, nil},
		{[]string{"events", "--kind", ""}, []string{"person.", "person.joined", "row.warning"}, nil}, // a joiner's contracts are in its person.joined
		{[]string{"reconcile", "--kind", ""}, []string{"connect", "spendcloud"}, []string{"person."}},
		{[]string{"ingest", ""}, []string{"afas", "ad"}, nil},
		{[]string{"ingest", "afas", ""}, []string{"ad"}, []string{"afas"}},
		{[]string{"person", "show", "00010"}, []string{"000101", "000105"}, nil},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}, nil},
	} {
		code, out, errOut := cli(t, append([]string{"--config", cfg, "__complete"}, tc.args...)...)
		var lines []string // the words offered, without their descriptions
		for _, l := range strings.Split(out, "\n") {
			w, _, _ := strings.Cut(l, "\t")
			if slices.Contains(lines, w) {
				t.Errorf("complete %v offers %q twice", tc.args, w)
			}
			lines = append(lines, w)
		}
		if code != 0 {
			t.Errorf("complete %v: exit %d %s", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !slices.Contains(lines, w) {
				t.Errorf("complete %v: %q lacks %q", tc.args, out, w)
			}
		}
		for _, w := range tc.not {
			if slices.Contains(lines, w) {
				t.Errorf("complete %v: %q offers %q", tc.args, out, w)
			}
		}
	}
	if code, _, errOut := cli(t, "completion", "tcsh"); code != exitUsage || !strings.Contains(errOut, `"tcsh"`) {
		t.Errorf("completion tcsh: exit %d %q, want 2", code, errOut)
	}
	if code, out, _ := cli(t, "completion", "fish"); code != 0 || !strings.Contains(out, "complete") {
		t.Errorf("completion fish: exit %d", code)
	}
}

// A second block (or unblock) says so, changes nothing and records nothing.
func TestRepeatedBlockAndUnblockChangeAndRecordNothing(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "person", "block", "000101", "--reason", "ticket 1")
	runs := lastRuns(t, cfg)
	if out := mustCLI(t, "--config", cfg, "person", "block", "000101", "--reason", "ticket 2"); !strings.Contains(out, "already blocked") {
		t.Errorf("second block: %q", out)
	}
	if got := lastRuns(t, cfg); !reflect.DeepEqual(runs, got) {
		t.Errorf("the second block was recorded as a run: %+v", got["block"])
	}
	if n := len(mustEvents(t, cfg, lifecycle.PersonBlocked)); n != 1 {
		t.Errorf("%d block events, want 1", n)
	}
	mustCLI(t, "--config", cfg, "person", "unblock", "000101")
	runs = lastRuns(t, cfg)
	if out := mustCLI(t, "--config", cfg, "person", "unblock", "000101"); !strings.Contains(out, "not blocked") {
		t.Errorf("second unblock: %q", out)
	}
	if got := lastRuns(t, cfg); !reflect.DeepEqual(runs, got) {
		t.Errorf("the second unblock was recorded as a run: %+v", got["unblock"])
	}
	if n := len(mustEvents(t, cfg, lifecycle.Unblocked)); n != 1 {
		t.Errorf("%d unblock events, want 1", n)
	}
}

func TestPushDryRunToAFolderClaimsNoHostKey(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "run")
	out := mustCLI(t, "--config", cfg, "push", "--dry-run")
	if strings.Contains(out, "host key") || !strings.Contains(out, "folder present") {
		t.Fatalf("push --dry-run to a folder: %q", out)
	}
}

// Text logs show an event's details as key=value pairs, not a Go map.
func TestTextLogsShowEventDetailsAsKeyValue(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	edit(t, filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv"), ";Jansen;", ";Janssen;")
	code, _, errOut := cli(t, "--config", cfg, "--log-format", "text", "-v", "ingest")
	if code != 0 || !strings.Contains(errOut, "details.fields.last_name.new=Janssen details.fields.last_name.old=Jansen") || strings.Contains(errOut, "map[") {
		t.Fatalf("ingest -v text log: %d\n%s", code, errOut)
	}
}

// Ingest and export report their long phases; with the log interval at 0
// every phase logs its end, so the test sees each hook without waiting.
func TestIngestAndExportReportTheirPhasesInJSONLogs(t *testing.T) {
	cfg := demo(t)
	old := phaseLogEvery
	phaseLogEvery = 0
	defer func() { phaseLogEvery = old }()
	code, _, errOut := cli(t, "--config", cfg, "--log-format", "json", "run")
	if code != 0 {
		t.Fatalf("run: %d %s", code, errOut)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "phase done" {
			name, _ := rec["phase"].(string)
			name, _, _ = strings.Cut(name, " (")
			seen[name] = true
		}
	}
	for _, want := range []string{"diff", "write", "export", "events"} {
		if !seen[want] {
			t.Errorf("no %q phase in the JSON log; phases %v\n%s", want, seen, errOut)
		}
	}
}

// person show says whether the last export carried the person and why
// not, and lists the person's rejected rows of the last ingest.
func TestPersonShowSaysWhyAPersonIsOrIsNotInTheDump(t *testing.T) {
	cfg := demo(t)
	contracts := filepath.Join(filepath.Dir(cfg), "hr", "dienstverbanden.csv")
	data, _ := os.ReadFile(contracts)
	data = bytes.Replace(data, []byte("000102;102-1;15-03-2018;;"), []byte("000102;102-1;15-03-2018;31-12-2019;"), 1)
	data = append(data, "000103;103-9;99-99-2020;;ICT;Informatievoorziening;DEV;Ontwikkelaar\r\n"...)
	os.WriteFile(contracts, data, 0o600)
	if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != exitRejected {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	mustCLI(t, "--config", cfg, "export")
	for _, tc := range []struct{ emp, want string }{
		{"000101", "in the dump        yes, in the last export\n"},
		{"000102", "in the dump        no: no contract active today within rules.scope\n"},
		{"000108", "in the dump        no: held back: missing required field (username)\n"},
		{"000103", "rejected rows in the last ingest"},
	} {
		code, out, stderr := cli(t, "--config", cfg, "person", "show", tc.emp)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("person show %s: exit %d, lacks %q:\n%s%s", tc.emp, code, tc.want, out, stderr)
		}
	}
	if _, out, _ := cli(t, "--config", cfg, "person", "show", "000103"); !strings.Contains(out, "dienstverbanden.csv") || !strings.Contains(out, " 17 ") {
		t.Errorf("the rejected row is not named by file and line:\n%s", out)
	}
}

// status lists the last run of each command newest first, and says which
// command did the last ingest.
func TestStatusListsRunsNewestFirstAndNamesWhoIngested(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "run")
	mustCLI(t, "--config", cfg, "export")
	_, out, _ := cli(t, "--config", cfg, "status")
	e, r, i := strings.Index(out, "\nexport "), strings.Index(out, "\nrun "), strings.Index(out, "\ningest ")
	if e < 0 || !(e < r && r < i) || !strings.Contains(out, "last ingest (run id 2, spendsync run)") {
		t.Fatalf("status:\n%s", out)
	}
}
