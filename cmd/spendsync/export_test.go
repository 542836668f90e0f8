package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/lifecycle"
)

var update = flag.Bool("update", false, "rewrite golden files")

// events returns "kind employee" for the events of kinds with prefix.
func eventsOf(t *testing.T, cfg, prefix string) []string {
	t.Helper()
	code, out, stderr := cli(t, "--config", cfg, "events", "--kind", prefix, "--format", "json")
	if code != 0 {
		t.Fatalf("events: %s", stderr)
	}
	var evs []lifecycle.Event
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Kind+" "+e.EmployeeNumber)
	}
	return got
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := cli(t, args...)
	if code != 0 {
		t.Fatalf("%q: exit %d\n%s", args, code, stderr)
	}
	return out
}

func outDir(t *testing.T, cfg string) string {
	t.Helper()
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c.Export.Dir
}

func TestExportMatchesGoldenFilesAndIsByteIdenticalWhenRepeated(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	out := outDir(t, cfg)
	for _, name := range []string{"persons.csv", "roles.csv"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("..", "..", "testdata", "golden", "demo-"+name)
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			os.WriteFile(golden, got, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\n%s", name, golden, got)
		}
	}
	side := filepath.Join(t.TempDir(), "again")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23", "--out", side)
	for _, name := range []string{"persons.csv", "roles.csv"} {
		a, _ := os.ReadFile(filepath.Join(out, name))
		b, _ := os.ReadFile(filepath.Join(side, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: same state and date gave different bytes", name)
		}
	}
	if _, err := os.Stat(filepath.Join(side, "export.json")); err != nil {
		t.Error("--out did not write export.json")
	}
}

func TestJoinerMoverLeaverAcrossExportDates(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2024-01-15")
	first := eventsOf(t, cfg, "account.")
	if len(first) != 10 || first[0] != "account.create 000101" {
		t.Fatalf("first export: %q", first)
	}
	if held := eventsOf(t, cfg, "export.held"); len(held) != 1 || held[0] != "export.held 000108" {
		t.Fatalf("held: %q", held)
	}
	all := mustEvents(t, cfg, "")
	firstLast := all[len(all)-1].ID

	// Leaver: 000109's contract ended on 2024-01-31.
	mustCLI(t, "--config", cfg, "export", "--date", "2024-02-01")
	// Mover: a new surname and another OU for 000102.
	dir := filepath.Dir(cfg)
	edit(t, filepath.Join(dir, "hr", "medewerkers.csv"), "000102;Anna;;Jansen;", "000102;Anna;;Jansen-Bos;")
	edit(t, filepath.Join(dir, "hr", "dienstverbanden.csv"), "000102;102-1;15-03-2018;;HR;Personeelszaken;HRA", "000102;102-1;15-03-2018;;FIN;Financiën;HRA")
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2024-02-01")
	// Joiner: 000110 starts on 2030-01-01.
	mustCLI(t, "--config", cfg, "export", "--date", "2030-01-01")

	var got []string
	for _, e := range mustEvents(t, cfg, "") {
		if e.ID > firstLast && (strings.HasPrefix(e.Kind, "account.") || strings.HasPrefix(e.Kind, "role.")) {
			got = append(got, e.Kind+" "+e.EmployeeNumber)
		}
	}
	sort.Strings(got)
	want := []string{
		"account.create 000110",
		"account.remove 000109",
		"account.update 000102",
		"role.grant 000102",
		"role.grant 000110",
		"role.revoke 000102",
		"role.revoke 000109",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after the first export:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	upd, _ := json.Marshal(mustEvents(t, cfg, "account.update")[0].Details["columns"])
	if string(upd) != `{"achternaam":{"new":"Jansen-Bos","old":"Jansen"}}` {
		t.Fatalf("update columns %s", upd)
	}
}

func mustEvents(t *testing.T, cfg, kind string) []lifecycle.Event {
	t.Helper()
	var evs []lifecycle.Event
	json.Unmarshal([]byte(mustCLI(t, "--config", cfg, "events", "--kind", kind, "--format", "json")), &evs)
	return evs
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s lacks %q", path, old)
	}
	os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o600)
}

func checksums(t *testing.T, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, root := range paths {
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return nil
			}
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s %x\n", p, sha256.Sum256(data))
			return nil
		})
	}
	return b.String()
}

func TestExportSafetyStopWritesNothingAndForceIsAudited(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	// HR now lists one person: ingest needs --force, then export must stop.
	persons := filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv")
	data, _ := os.ReadFile(persons)
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(persons, []byte(lines[0]+lines[1]), 0o600)
	contracts := filepath.Join(filepath.Dir(cfg), "hr", "dienstverbanden.csv")
	data, _ = os.ReadFile(contracts)
	lines = strings.SplitAfter(string(data), "\n")
	os.WriteFile(contracts, []byte(lines[0]+lines[1]+lines[2]), 0o600)
	if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != exitSafety || !strings.Contains(stderr, "max_removals") && !strings.Contains(stderr, "max_removal_percent") {
		t.Fatalf("ingest: %d %s", code, stderr)
	}
	mustCLI(t, "--config", cfg, "ingest", "--force")
	c, _ := loadConfig(cfg)
	before := checksums(t, c.Export.Dir, c.Database)
	code, _, stderr := cli(t, "--config", cfg, "export", "--date", "2026-11-23")
	if code != exitSafety || !strings.Contains(stderr, "would remove 8 of 9 accounts") || !strings.Contains(stderr, "--force") {
		t.Fatalf("export: %d %s", code, stderr)
	}
	if got := eventsOf(t, cfg, "account.remove"); len(got) != 0 {
		t.Fatalf("stopped export recorded %q", got)
	}
	if after := checksums(t, c.Export.Dir); !strings.Contains(before, after) {
		t.Fatal("stopped export changed the export folder")
	}
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23", "--force")
	forced := mustEvents(t, cfg, "force")
	if len(forced) != 2 || forced[1].Source != "export" || !strings.Contains(forced[1].Details["overridden"].(string), "max_removal") {
		t.Fatalf("force events %+v", forced)
	}
	if got := eventsOf(t, cfg, "account.remove"); len(got) != 8 {
		t.Fatalf("forced export removed %q", got)
	}
}

func TestDryRunExportLeavesFolderAndDatabaseUntouched(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	edit(t, filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv"), ";Jansen;", ";Jansen-Bos;")
	mustCLI(t, "--config", cfg, "ingest")
	c, _ := loadConfig(cfg)
	before := checksums(t, c.Export.Dir, filepath.Dir(c.Database))
	out := mustCLI(t, "--config", cfg, "-v", "export", "--dry-run", "--date", "2026-11-23")
	if !strings.Contains(out, "would export: 9 persons") || !strings.Contains(out, "account.update 000102") {
		t.Fatalf("dry run said %s", out)
	}
	if after := checksums(t, c.Export.Dir, filepath.Dir(c.Database)); after != before {
		t.Fatalf("dry run changed files:\n%s\n%s", before, after)
	}
	out = mustCLI(t, "--config", cfg, "diff", "--date", "2026-11-23", "--format", "json")
	var diff []map[string]any
	if json.Unmarshal([]byte(out), &diff) != nil || len(diff) != 2 || diff[0]["kind"] != "account.update" || diff[1]["kind"] != "export.held" {
		t.Fatalf("diff %s", out)
	}
}

// helloIDDatabase writes a HelloID SpendCloud connector database holding
// the given export files' content.
func helloIDDatabase(t *testing.T, persons, roles []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "SpendCloud.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE persons (externalId TEXT, achternaam TEXT, voornaam TEXT, tussenvoegsel TEXT, gebruikersnaam TEXT, geslacht TEXT, email TEXT, createtime TEXT)`,
		`CREATE TABLE roles (gebruikersnaam TEXT, ou TEXT, functie TEXT, oucode TEXT, functiecode TEXT, createtime TEXT)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	parse := func(data []byte, sep string) [][]string {
		var out [][]string
		for _, line := range strings.Split(strings.TrimPrefix(string(data), "\ufeff"), "\r\n")[1:] {
			if line == "" {
				continue
			}
			f := strings.Split(line, sep)
			for i := range f {
				f[i] = strings.Trim(f[i], `"`)
			}
			out = append(out, f)
		}
		return out
	}
	for _, p := range parse(persons, ";") {
		db.Exec(`INSERT INTO persons VALUES (?, ?, ?, ?, ?, ?, ?, '2024-01-01 00:00:00')`, p[0], p[3], p[1], p[2], p[6], p[4], p[5])
	}
	for _, r := range parse(roles, ",") {
		db.Exec(`INSERT INTO roles VALUES (?, ?, 'Functie', 'OUCODE', ?, '2024-01-01 00:00:00')`, r[2], r[1], r[3])
	}
	return path
}

func TestMigrateFromHelloIDThenExportShowsOnlyRealChanges(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "golden")
	persons, _ := os.ReadFile(filepath.Join(golden, "demo-persons.csv"))
	roles, _ := os.ReadFile(filepath.Join(golden, "demo-roles.csv"))
	// HelloID knew 000104 by an older surname.
	persons = bytes.Replace(persons, []byte(`"Muller"`), []byte(`"Muller-Oud"`), 1)
	hid := helloIDDatabase(t, persons, roles)
	before, _ := os.ReadFile(hid)

	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	out := mustCLI(t, "--config", cfg, "migrate", "--from-helloid", hid)
	if !strings.Contains(out, "9 persons, 11 roles (0 roles matched no person)") {
		t.Fatalf("migrate: %s", out)
	}
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	got := append(eventsOf(t, cfg, "account."), eventsOf(t, cfg, "role.")...)
	if strings.Join(got, ",") != "account.update 000104" {
		t.Fatalf("after migrate: %q, want only the one real change", got)
	}
	if after, _ := os.ReadFile(hid); !bytes.Equal(before, after) {
		t.Fatal("migrate wrote to the HelloID database")
	}
	if code, _, stderr := cli(t, "--config", cfg, "migrate", "--from-helloid", filepath.Join(t.TempDir(), "missing.db")); code != exitFailed || !strings.Contains(stderr, "missing.db") {
		t.Fatalf("missing file: %d %s", code, stderr)
	}
}

func TestDomainsCountsPersonsPerDomain(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	out := mustCLI(t, "--config", cfg, "domains", "--format", "json")
	var ds []domain
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Domain != "example.nl" || ds[0].Persons != 11 || !ds[0].Verified {
		t.Fatalf("domains %+v", ds)
	}
	edit(t, filepath.Join(filepath.Dir(cfg), "ad", "users.csv"), "000112,tberg,tom.vanderberg@example.nl", "000112,tberg,tom@Partner.COM")
	mustCLI(t, "--config", cfg, "ingest")
	out = mustCLI(t, "--config", cfg, "domains")
	if !strings.Contains(out, "partner.com  1        no") {
		t.Fatalf("domains table:\n%s", out)
	}
}

func TestMetricsTextfileParsesAndTracksRuns(t *testing.T) {
	cfg := demo(t)
	metrics := filepath.Join(filepath.Dir(cfg), "metrics", "spendsync.prom")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(data, []byte("metrics: metrics/spendsync.prom\n")...), 0o600)
	mustCLI(t, "--config", cfg, "run")
	read := func() map[string]*dto.MetricFamily { t.Helper(); return readMetrics(t, metrics) }
	fams := read()
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		fam := fams[name]
		if fam == nil {
			t.Fatalf("no %s", name)
		}
	next:
		for _, m := range fam.Metric {
			for _, l := range m.Label {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			if m.Gauge != nil {
				return m.Gauge.GetValue()
			}
			return m.Counter.GetValue()
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	if value("spendsync_export_persons", nil) != 9 || value("spendsync_export_roles", nil) != 11 || value("spendsync_export_held_back", nil) != 1 {
		t.Fatal("export counts")
	}
	if value("spendsync_last_exit_code", map[string]string{"command": "run"}) != 0 ||
		value("spendsync_last_success_timestamp_seconds", map[string]string{"command": "run"}) < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatal("run metrics")
	}
	if value("spendsync_deliveries_total", map[string]string{"result": "ok"}) != 1 || value("spendsync_persons", map[string]string{"state": "current"}) != 12 {
		t.Fatal("delivery and state metrics")
	}
	for name := range fams {
		if !strings.HasPrefix(name, "spendsync_") {
			t.Errorf("series %s is not named spendsync_*", name)
		}
	}
	edit(t, cfg, "persons: hr/medewerkers.csv", "persons: hr/missing.csv")
	if code, _, _ := cli(t, "--config", cfg, "run"); code != exitFailed {
		t.Fatal("run with a missing source succeeded")
	}
	fams = read()
	if value("spendsync_last_exit_code", map[string]string{"command": "run"}) != 1 {
		t.Fatal("the failed run is not in the metrics")
	}
	if perm := accesstest.Perm(t, metrics); perm != 0o600 {
		t.Fatalf("metrics mode %v", perm)
	}
}

// One box, many tenants, one node_exporter: each tenant's series carry its
// labels, so the collector can tell the files apart, and the file may be
// opened to node_exporter's user.
func TestMetricsCarryTheTenantsLabelsAndTheChosenMode(t *testing.T) {
	cfg := demo(t)
	metrics := filepath.Join(filepath.Dir(cfg), "spendsync-acme.prom")
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(data, "metrics: spendsync-acme.prom\nmetrics_labels: {tenant: acme}\nmetrics_mode: \"0640\"\n"...), 0o600)
	mustCLI(t, "--config", cfg, "ingest")
	fams := readMetrics(t, metrics)
	for name, fam := range fams {
		for _, m := range fam.Metric {
			if !slices.ContainsFunc(m.Label, func(l *dto.LabelPair) bool { return l.GetName() == "tenant" && l.GetValue() == "acme" }) {
				t.Errorf("a %s series lacks tenant=acme: %v", name, m.Label)
			}
		}
	}
	// Windows has no group to open the file to: metrics_mode is a Unix
	// setting, and the file stays private (SYSTEM, which
	// windows_exporter runs as, may read it).
	if want := metricsModeWant(); accesstest.Perm(t, metrics) != want {
		t.Errorf("metrics mode %v, want %v", accesstest.Perm(t, metrics), want)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"metrics_labels: {command: x}\n", `metrics_labels.command: the series carry a label "command" themselves`},
		{"metrics_labels: {9lives: x}\n", "metrics_labels.9lives: not a Prometheus label name"},
		{"metrics_mode: \"0666\"\n", `metrics_mode: must be 0600, 0640 or 0644, not "0666"`},
	} {
		os.WriteFile(cfg, append(data, tc.yaml...), 0o600)
		if code, _, stderr := cli(t, "--config", cfg, "status"); code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d %s", tc.yaml, code, stderr)
		}
	}
}

// readMetrics parses a Prometheus textfile as node_exporter would.
func readMetrics(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(f)
	if err != nil || len(fams) == 0 {
		t.Fatalf("metrics file does not parse: %v", err)
	}
	return fams
}
