package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/lifecycle"
)

// cli runs spendsync in-process and returns exit code, stdout and stderr.
func cli(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// demo copies the bundled demo into a temp folder and returns its config.
func demo(t *testing.T) string {
	t.Helper()
	dir := copyTestdata(t, "demo")
	t.Setenv("SPENDSYNC_DEMO_OUT", filepath.Join(dir, "state"))
	return filepath.Join(dir, "spendsync.yaml")
}

func TestConfigErrorsExit2AndNameTheKey(t *testing.T) {
	base := "database: db.sqlite\nsources:\n  - name: a\n    persons: p.csv\n  - name: b\n    persons: q.csv\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown encoding", base + "    encoding: latin9\n", `sources[1].encoding: unknown encoding "latin9"`},
		{"unknown key", base + "    colums: {}\n", "sources[1].colums: unknown key"},
		{"unknown top-level key", base + "databse: x\n", "databse: unknown key"},
		{"wrong type", base + "rules:\n  lead_days: soon\n", `rules.lead_days: expects a whole number, got "soon"`},
		{"negative number", base + "rules:\n  grace_days: -1\n", "rules.grace_days: must not be negative"},
		{"bad duration", base + "    max_age: a while\n", "sources[1].max_age"},
		{"duplicate source names", "database: d\nsources:\n  - {name: a, persons: p}\n  - {name: a, persons: q}\n", `sources[1].name: "a" is already the name of sources[0]`},
		{"missing database", "sources: []\n", "database: required"},
		{"unset variable", "database: ${SPENDSYNC_TEST_UNSET_VAR}/db\n", "database: environment variable SPENDSYNC_TEST_UNSET_VAR is not set"},
		{"YAML syntax", "database: [unclosed\n", "not valid YAML"},
		{"empty file", "", "empty"},
		{"sftp without known_hosts", "database: d\ntarget:\n  sftp: {host: h, user: u, key_file: k}\n", "target.sftp.known_hosts: required"},
		{"bad export column", "database: d\nexport:\n  persons:\n    columns: [{naam: salary}]\n", `export.persons.columns[0].naam: unknown field "salary"`},
		{"bad name style", "database: d\nrules: {name_style: fancy}\n", "rules.name_style"},
		{"bad gender map", "database: d\nrules: {gender_map: {X: Q}}\n", "rules.gender_map.X"},
		{"negative threshold", "database: d\nrules: {thresholds: {max_removals: -5}}\n", "rules.thresholds.max_removals"},
		{"bad retention", "database: d\nretention: {events: forever}\n", "retention.events"},
		{"scim over plain http", "database: d\ntarget:\n  scim: {url: \"http://connect.example/scim/v2\", token_env: T}\n", "target.scim.url: must be https://"},
		{"scim without token", "database: d\ntarget:\n  scim: {url: \"https://connect.example/scim/v2\"}\n", "target.scim.token_env: set one of token_env and token_file"},
		{"scim bad match", "database: d\ntarget:\n  scim: {url: \"https://c.example\", token_env: T, match: email}\n", "target.scim.match"},
		{"scim negative deadline", "database: d\ntarget:\n  scim: {url: \"https://c.example\", token_env: T, deadline: -1s}\n", "target.scim.deadline"},
		{"scim parallel", "database: d\ntarget:\n  scim: {url: \"https://c.example\", token_env: T, parallel: 100}\n", "target.scim.parallel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spendsync.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			code, _, stderr := cli(t, "--config", path, "status")
			if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, path) {
				t.Fatalf("exit %d, stderr %q; want exit 2 naming %q", code, stderr, tc.want)
			}
		})
	}
}

func TestConfigExpandsVariablesAndUsesDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SPENDSYNC_TEST_HR", "/data/hr")
	t.Setenv("SPENDSYNC_TEST_DAYS", "3")
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte("database: state/db\nsources:\n  - {name: a, persons: \"${SPENDSYNC_TEST_HR}/p.csv\"}\nrules:\n  lead_days: ${SPENDSYNC_TEST_DAYS}\n  thresholds: {max_rejects: 7}\n"), 0o600)
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	// On Windows a rooted path is on the config's drive (resolve_windows.go).
	if cfg.Sources[0].Persons != filepath.VolumeName(dir)+"/data/hr/p.csv" || cfg.Rules.LeadDays != 3 {
		t.Fatalf("expansion: %+v %+v", cfg.Sources[0], cfg.Rules)
	}
	if cfg.Database != filepath.Join(dir, "state", "db") {
		t.Fatalf("database %q is not relative to the config", cfg.Database)
	}
	th := cfg.Rules.Thresholds
	if th.MaxRejects != 7 || th.MaxRemovals != 50 || th.MaxRemovalPercent != 10 {
		t.Fatalf("thresholds %+v: unset keys must keep their defaults", th)
	}
	if cfg.Rules.NameStyle != "helloid" || !*cfg.Rules.RemoveDiacritics || cfg.Sources[0].Mode != "snapshot" {
		t.Fatalf("defaults %+v", cfg.Rules)
	}
}

func TestInitWritesALoadableSampleAndRefusesToOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	path := filepath.Join(dir, "spendsync.yaml")
	code, _, stderr := cli(t, "--config", path, "init")
	if code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatalf("sample does not load: %v", err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, cfg.Database: 0o600, dir: 0o700} {
		if perm := accesstest.Perm(t, p); perm != want {
			t.Errorf("%s: %v, want %v", p, perm, want)
		}
	}
	before, _ := os.ReadFile(path)
	os.WriteFile(path, append(before, []byte("# edited\n")...), 0o600)
	code, _, stderr = cli(t, "--config", path, "init")
	after, _ := os.ReadFile(path)
	if code != exitUsage || !strings.Contains(stderr, "does not overwrite") || !bytes.HasSuffix(after, []byte("# edited\n")) {
		t.Fatalf("second init: %d %s", code, stderr)
	}
	// Every top-level and rules key of SPEC.md's configuration is in the sample.
	for _, key := range []string{"database:", "sources:", "profile:", "mode:", "persons:", "contracts:", "delimiter:", "encoding:",
		"date_format:", "max_age:", "columns:", "naming_map:", "provides:", "lead_days:", "grace_days:", "name_style:",
		"remove_diacritics:", "gender_map:", "max_removals:", "max_removal_percent:", "max_rejects:", "verified_domains:",
		"unverified_email:", "export:", "dir:", "file:", "required:", "bom:", "line_ending:", "quote:", "formula_guard:",
		"target:", "sftp:", "host:", "port:", "user:", "key_file:", "known_hosts:", "remote_dir:", "timeout:", "retries:",
		"retention:", "events:", "exports:", "leavers:", "metrics:"} {
		if !bytes.Contains(before, []byte(key)) {
			t.Errorf("sample lacks %s", key)
		}
	}
}

// A command that finds no database says "run spendsync init"; for a
// hand-written config that advice must work and leave the config alone.
func TestInitCreatesTheMissingDatabaseOfAnExistingConfig(t *testing.T) {
	cfg := demo(t)
	before, _ := os.ReadFile(cfg)
	code, _, stderr := cli(t, "--config", cfg, "ingest", "--dry-run")
	if code != exitFailed || !strings.Contains(stderr, "run spendsync init") {
		t.Fatalf("dry run without a database: %d %s", code, stderr)
	}
	code, out, stderr := cli(t, "--config", cfg, "init")
	c, _ := loadConfig(cfg)
	if code != 0 || !strings.Contains(out, "kept "+cfg+" as it is and created "+c.Database) {
		t.Fatalf("init for an existing config: %d %s %s", code, out, stderr)
	}
	if after, _ := os.ReadFile(cfg); !bytes.Equal(before, after) {
		t.Fatal("init changed the existing config")
	}
	if perm := accesstest.Perm(t, c.Database); perm != 0o600 {
		t.Fatalf("database: %v", perm)
	}
	if code, out, stderr := cli(t, "--config", cfg, "ingest", "--dry-run"); code != 0 || !strings.Contains(out, "would: afas: 27 rows, 12 joined") {
		t.Fatalf("dry run after init: %d %s %s", code, out, stderr)
	}
}

func TestIngestDemoThenReadersShowIt(t *testing.T) {
	cfg := demo(t)
	code, out, stderr := cli(t, "--config", cfg, "ingest")
	if code != 0 || !strings.Contains(out, "afas: 27 rows, 12 joined") {
		t.Fatalf("ingest: %d %s %s", code, out, stderr)
	}
	code, out, _ = cli(t, "--config", cfg, "ingest")
	// Nothing changed, AD included: both sources take the fast path.
	if code != 0 || !strings.Contains(out, "afas: 27 rows, unchanged since run 1") || !strings.Contains(out, "ad: 12 rows, unchanged since run 1") {
		t.Fatalf("re-ingest: %d %s", code, out)
	}
	code, out, _ = cli(t, "--config", cfg, "events", "--employee", "000105", "--format", "json")
	var evs []lifecycle.Event
	// One event holds the joiner: its fields, both contracts and what AD provided.
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 1 || evs[0].Kind != "person.joined" ||
		len(evs[0].Details["contracts"].([]any)) != 2 || fmt.Sprint(evs[0].Details["provided_by"]) != "[ad]" {
		t.Fatalf("events json: %d %s", code, out)
	}
	code, out, _ = cli(t, "--config", cfg, "events", "--kind", "person.", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 1+12 || recs[0][5] != "kind" {
		t.Fatalf("events csv: %d %v rows %d", code, err, len(recs))
	}
	code, out, _ = cli(t, "--config", cfg, "person", "show", "000105")
	if code != 0 || !strings.Contains(out, "105-2") || !strings.Contains(out, "yes") || !strings.Contains(out, "person.joined") {
		t.Fatalf("person show: %d %s", code, out)
	}
	code, _, stderr = cli(t, "--config", cfg, "person", "show", "nobody")
	if code != exitFailed || !strings.Contains(stderr, "no such person") {
		t.Fatalf("unknown person: %d %s", code, stderr)
	}
	code, out, _ = cli(t, "--config", cfg, "status")
	if code != 0 || !strings.Contains(out, "afas    27    0       0        0     0") {
		t.Fatalf("status per source:\n%s", out)
	}
	code, out, _ = cli(t, "--config", cfg, "status", "--json")
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["persons"] != float64(12) {
		t.Fatalf("status: %d %s", code, out)
	}
}

func TestIngestWithRejectsExits5AndListsThem(t *testing.T) {
	cfg := demo(t)
	persons := filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv")
	data, _ := os.ReadFile(persons)
	os.WriteFile(persons, append(data, []byte("000113;Bad;;Email;;;0;M;not-an-email;x@example.nl\n")...), 0o600)
	// A dry run records nothing, so it points at its own warnings.
	cli(t, "--config", cfg, "init")
	code, _, stderr := cli(t, "--config", cfg, "ingest", "--dry-run")
	if code != exitRejected || !strings.Contains(stderr, "1 row would be rejected; a dry run records nothing, so the warnings above list it") {
		t.Fatalf("ingest --dry-run: %d %s", code, stderr)
	}
	code, _, stderr = cli(t, "--config", cfg, "ingest")
	if code != exitRejected || !strings.Contains(stderr, "spendsync: warning: 1 row rejected: spendsync rejects --run 1 lists it\n") {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	code, out, _ := cli(t, "--config", cfg, "rejects", "--format", "json")
	var rejects []lifecycle.RejectRow
	if code != 0 || json.Unmarshal([]byte(out), &rejects) != nil || len(rejects) != 1 {
		t.Fatalf("rejects: %d %s", code, out)
	}
	r := rejects[0]
	if r.Line != 14 || r.Column != "Email_werk" || !strings.HasSuffix(r.File, "medewerkers.csv") || !strings.Contains(r.Reason, "malformed email") || !strings.HasPrefix(r.Raw, "000113;") {
		t.Fatalf("reject %+v", r)
	}
}

// Monitoring reads the JSON log: its counts are the summary's, field by
// field (an ended contract is not a changed one).
func TestTheJSONLogCountsWhatTheSummarySays(t *testing.T) {
	cfg := demo(t)
	cli(t, "--config", cfg, "ingest")
	contracts := filepath.Join(filepath.Dir(cfg), "hr", "dienstverbanden.csv")
	data, _ := os.ReadFile(contracts)
	os.WriteFile(contracts, bytes.Replace(data, []byte("000101;101-1;01-01-2015;;"), []byte("000101;101-1;01-01-2015;31-12-2099;"), 1), 0o600)
	code, out, stderr := cli(t, "--config", cfg, "--log-format", "json", "ingest", "afas")
	if code != 0 || !strings.Contains(out, "0 contracts added, 0 changed, 1 ended, 0 removed") {
		t.Fatalf("ingest: %d %s %s", code, out, stderr)
	}
	if !strings.Contains(stderr, `"contracts_added":0,"contracts_changed":0,"contracts_ended":1,"contracts_removed":0`) {
		t.Fatalf("the log's contract counts differ from the summary's:\n%s", stderr)
	}
}

func TestSecondWriterExits4NamingTheHolder(t *testing.T) {
	cfg := demo(t)
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(c.Database), 0o700)
	lock, err := lifecycle.Acquire(c.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	code, _, stderr := cli(t, "--config", cfg, "ingest")
	if code != exitLocked || !strings.Contains(stderr, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("exit %d %s", code, stderr)
	}
	if _, err := os.Stat(c.Database); err == nil {
		t.Fatal("the refused writer created the database")
	}
}

func TestDryRunIngestLeavesTheDatabaseUntouched(t *testing.T) {
	cfg := demo(t)
	cli(t, "--config", cfg, "ingest")
	c, _ := loadConfig(cfg)
	before, _ := os.ReadFile(c.Database)
	persons := filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv")
	data, _ := os.ReadFile(persons)
	os.WriteFile(persons, bytes.Replace(data, []byte("Jansen"), []byte("Jansen-Bos"), 1), 0o600)
	code, out, stderr := cli(t, "--config", cfg, "-v", "ingest", "--dry-run")
	if code != 0 || !strings.Contains(out, "would: afas: 27 rows, 0 joined, 1 changed") || !strings.Contains(out, `"kind":"person.changed"`) {
		t.Fatalf("dry run: %d %s %s", code, out, stderr)
	}
	// Each event once, on stdout, without the id, time and actor that only
	// recording gives it.
	if strings.Contains(out, `"id":`) || strings.Contains(out, `"actor":`) || strings.Contains(stderr, "person.changed") {
		t.Fatalf("dry run events shown with placeholders or twice:\n%s\n%s", out, stderr)
	}
	after, _ := os.ReadFile(c.Database)
	if !bytes.Equal(before, after) {
		t.Fatal("dry run changed the database file")
	}
	if _, err := os.Stat(c.Database + "-wal"); err == nil {
		if wal, _ := os.ReadFile(c.Database + "-wal"); len(wal) > 0 {
			t.Fatal("dry run wrote to the WAL")
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	cfg := demo(t)
	for _, args := range [][]string{
		{"--bogus"},
		{"nosuchcommand"},
		{"--config", cfg, "ingest", "--file", "x.csv"},
		{"--config", cfg, "ingest", "nosuchsource"},
		{"--config", cfg, "events", "--format", "xml"},
		{"--config", cfg, "events", "--since", "yesterday-ish"},
		{"--config", cfg, "person", "show"},
		{"--config", cfg, "--log-format", "xml", "status"},
		{"completion", "bash", "extra"}, // cobra's own cobra.NoArgs
	} {
		if code, _, stderr := cli(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d (%s), want 2", args, code, stderr)
		}
	}
}

func TestLogsAreJSONWhenStderrIsNotATerminal(t *testing.T) {
	cfg := demo(t)
	_, out, stderr := cli(t, "--config", cfg, "ingest")
	if strings.Contains(out, `"level"`) {
		t.Fatal("logs on stdout")
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
	}
}

func TestEveryCommandHasHelpWithAWorkedExample(t *testing.T) {
	root := newRootCommand(&globals{})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || strings.HasPrefix(c.CommandPath(), "spendsync completion") {
			return
		}
		if strings.TrimSpace(c.Example) == "" || c.Short == "" {
			t.Errorf("%s has no worked example or short help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for _, args := range [][]string{{"run", "--help"}, {"completion", "bash"}, {"completion", "zsh"}, {"completion", "fish"}, {"completion", "powershell"}} {
		if code, out, _ := cli(t, args...); code != 0 || len(out) < 100 {
			t.Errorf("%q: exit %d, %d bytes", args, code, len(out))
		}
	}
	code, out, _ := cli(t, "version")
	if code != 0 || !strings.HasPrefix(out, "spendsync ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %q", out)
	}
}

// A ${VAR} anywhere in the config is hidden when a run-time error quotes
// it, not only in config errors and pulls: someone put a secret in a path.
func TestARunTimeErrorShowsAVariableNotItsValue(t *testing.T) {
	cfg := demo(t)
	t.Setenv("SPENDSYNC_TEST_SECRET_DIR", "hunter2-s3cr3t")
	edit(t, cfg, "persons: hr/medewerkers.csv", "persons: hr/${SPENDSYNC_TEST_SECRET_DIR}/medewerkers.csv")
	code, _, stderr := cli(t, "--config", cfg, "ingest")
	if code != exitFailed || strings.Contains(stderr, "hunter2-s3cr3t") || !strings.Contains(stderr, "${SPENDSYNC_TEST_SECRET_DIR}") {
		t.Fatalf("exit %d, stderr shows the value or not the variable:\n%s", code, stderr)
	}
	// And in log lines: a rejected row names its file.
	edit(t, cfg, "persons: hr/${SPENDSYNC_TEST_SECRET_DIR}/medewerkers.csv", "persons: ${SPENDSYNC_TEST_SECRET_DIR}.csv")
	data, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv"))
	os.WriteFile(filepath.Join(filepath.Dir(cfg), "hunter2-s3cr3t.csv"), append(data, "000113;Bad;;Email;;;0;M;not-an-email;x@example.nl\n"...), 0o600)
	code, _, stderr = cli(t, "--config", cfg, "--log-format", "text", "ingest")
	if code != exitRejected || strings.Contains(stderr, "hunter2-s3cr3t") || !strings.Contains(stderr, "rejected row") {
		t.Fatalf("exit %d, a log line shows the value:\n%s", code, stderr)
	}
}
