package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture copies testdata/<name> into a temp folder, points
// ${SPENDSYNC_FIXTURE_OUT} at a state folder beside it and returns the copy.
func fixture(t *testing.T, name string) string {
	t.Helper()
	dir := copyTestdata(t, name)
	t.Setenv("SPENDSYNC_FIXTURE_OUT", filepath.Join(dir, "state"))
	return dir
}

// copyTestdata copies testdata/<name> into a temp folder, files 0600 in
// 0700 folders, and returns the copy.
func copyTestdata(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", name)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// csvRows reads an exported file (BOM, any delimiter) as rows joined by |.
func csvRows(t *testing.T, path string, comma rune) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.Comma = comma
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs[1:] {
		out = append(out, strings.Join(rec, "|"))
	}
	return out
}

func TestRaetHRCoreWithLookupsGivesTheSameDumpAsOneAFASExport(t *testing.T) {
	dir := fixture(t, "raet-hrcore")
	raet, afas := filepath.Join(dir, "spendsync.yaml"), filepath.Join(dir, "afas", "spendsync.yaml")
	for _, cfg := range []string{raet, afas} {
		mustCLI(t, "--config", cfg, "ingest")
		mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	}
	for _, name := range []string{"persons.csv", "roles.csv"} {
		got, err := os.ReadFile(filepath.Join(outDir(t, raet), name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(outDir(t, afas), name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s from Raet HR Core differs from the AFAS-style export:\n%s\nwant\n%s", name, got, want)
		}
		golden := filepath.Join("..", "..", "testdata", "golden", "raet-hrcore-"+name)
		if *update {
			os.WriteFile(golden, got, 0o644)
		}
		if g, err := os.ReadFile(golden); err != nil || !bytes.Equal(got, g) {
			t.Errorf("%s differs from %s (err %v):\n%s", name, golden, err, got)
		}
	}
	// The side files did the work: partner names (current row only), work
	// email (EML, current row), OU and function names, the username from the
	// main position.
	persons := strings.Join(csvRows(t, filepath.Join(outDir(t, raet), "persons.csv"), ';'), "\n")
	for _, want := range []string{
		"1001|Jan|van den|Boele van den|M|jan.boele@example.nl|jboele@example.nl",
		"1006|Els|van 't|Veld van 't|V|els.terhorst@example.nl|ehorst@example.nl", // P: the current partner
		"1004|Sven||Muller|M|sven.orsted@example.nl|sorsted@example.nl",
	} {
		if !strings.Contains(persons, want) {
			t.Errorf("persons.csv lacks %q:\n%s", want, persons)
		}
	}
	roles := strings.Join(csvRows(t, filepath.Join(outDir(t, raet), "roles.csv"), ','), "\n")
	for _, want := range []string{"1001|Inkoop|jboele@example.nl|BUD", "1003|Informatievoorziening|nbruine@example.nl|DEV", "1008||tberg@example.nl|INK"} {
		if !strings.Contains(roles, want) {
			t.Errorf("roles.csv lacks %q:\n%s", want, roles)
		}
	}
}

func TestChangingOnlyALookupFileIsSeenByTheNextIngest(t *testing.T) {
	dir := fixture(t, "raet-hrcore")
	cfg := filepath.Join(dir, "spendsync.yaml")
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "ingest")
	if got := mustEvents(t, cfg, "person.changed"); len(got) != 0 {
		t.Fatalf("an unchanged source changed %d persons", len(got))
	}
	edit(t, filepath.Join(dir, "Telefoon.csv"), "noel.debruine@example.nl", "noel.bruine@example.nl")
	mustCLI(t, "--config", cfg, "ingest")
	got := mustEvents(t, cfg, "person.changed")
	if len(got) != 1 || got[0].EmployeeNumber != "1003" || !strings.Contains(compactJSON(got[0].Details), "noel.bruine@example.nl") {
		t.Fatalf("after editing only Telefoon.csv: %+v", got)
	}
}

func TestADuplicateKeyInALookupFileStopsTheIngestNamingBothLines(t *testing.T) {
	dir := fixture(t, "raet-hrcore")
	cfg := filepath.Join(dir, "spendsync.yaml")
	f, err := os.OpenFile(filepath.Join(dir, "Eenheid.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("FIN|FIN2|Financiën en Control|DIR\r\n")
	f.Close()
	code, _, stderr := cli(t, "--config", cfg, "ingest")
	if code != exitFailed || !strings.Contains(stderr, "Eenheid.csv") || !strings.Contains(stderr, "lines 2 and 7") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if n := len(mustEvents(t, cfg, "person.joined")); n != 0 {
		t.Fatalf("%d persons joined from a source whose lookup failed", n)
	}
}

// demoWith rewrites the demo config with extra rules: and export: keys
// (each line indented two spaces in its section).
func demoWith(t *testing.T, cfg, rules, export string) {
	t.Helper()
	text := fmt.Sprintf(`database: ${SPENDSYNC_DEMO_OUT}/spendsync.db
sources:
  - name: afas
    profile: afas
    persons: hr/medewerkers.csv
    contracts: hr/dienstverbanden.csv
    date_format: "02-01-2006"
  - name: ad
    profile: ad
    persons: ad/users.csv
    provides: [username, email]
rules:
  verified_domains: [example.nl]
%s
export:
  dir: ${SPENDSYNC_DEMO_OUT}/out
%s
`, rules, export)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

const financeAndPurchasing = `  scope:
    include:
      - {ou_code: [FIN, INK]}`

const controllersAndEveryoneElse = `  role_map:
    - {function_code: [CTRL], role: CONTROLLER}
    - {role: MEDEWERKER}
  roles:
    columns: [{externalId: employee_number}, {Gebruikersnaam: username}, {Functieprofiel Code: role}]`

func TestFinanceAndPurchasingOnlyWithControllerAndMedewerkerRoles(t *testing.T) {
	cfg := demo(t)
	demoWith(t, cfg, financeAndPurchasing, controllersAndEveryoneElse)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	out := outDir(t, cfg)
	var emps []string
	for _, r := range csvRows(t, filepath.Join(out, "persons.csv"), ';') {
		emps = append(emps, strings.SplitN(r, "|", 2)[0])
	}
	// 000101 counts by FIN (its DIR contract does not); 000104 FIN; 000112
	// INK. 000108 (INK) lacks a username and is held back; 000109 left.
	if strings.Join(emps, ",") != "000101,000104,000112" {
		t.Errorf("persons %v", emps)
	}
	roles := csvRows(t, filepath.Join(out, "roles.csv"), ',')
	want := []string{
		"000101|jan.boele@example.nl|CONTROLLER",
		"000104|sven.orsted@example.nl|MEDEWERKER",
		"000112|tom.vanderberg@example.nl|MEDEWERKER", // INK and BUD: one row
	}
	if !slices.Equal(roles, want) {
		t.Errorf("roles.csv\n%s\nwant\n%s", strings.Join(roles, "\n"), strings.Join(want, "\n"))
	}
}

func TestNarrowingTheScopeGoesThroughDiffSafetyStopsAndForceLikeHRNews(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	before := checksums(t, outDir(t, cfg))
	if n := len(csvRows(t, filepath.Join(outDir(t, cfg), "persons.csv"), ';')); n != 9 {
		t.Fatalf("%d accounts before", n)
	}
	// HR and the receptionist drop out: 3 of 9 accounts (33%).
	demoWith(t, cfg, "  scope:\n    exclude:\n      - {ou_code: [HR]}\n      - {function_code: [REC]}", "")

	var changes []struct {
		Kind           string `json:"kind"`
		EmployeeNumber string `json:"employee_number"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "--config", cfg, "diff", "--date", "2026-11-23", "--format", "json")), &changes); err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, c := range changes {
		if c.Kind == "account.remove" {
			removed = append(removed, c.EmployeeNumber)
		}
	}
	if strings.Join(removed, ",") != "000102,000107,000111" {
		t.Fatalf("diff shows removals %v", removed)
	}

	code, _, stderr := cli(t, "--config", cfg, "export", "--date", "2026-11-23")
	if code != exitSafety || !strings.Contains(stderr, "remove 3 of 9 accounts") {
		t.Fatalf("exit %d, stderr %s: want a safety stop", code, stderr)
	}
	if checksums(t, outDir(t, cfg)) != before || len(mustEvents(t, cfg, "account.remove")) != 0 {
		t.Fatal("a safety stop changed the export")
	}

	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23", "--force")
	if got := eventsOf(t, cfg, "account.remove"); strings.Join(got, ",") != "account.remove 000102,account.remove 000107,account.remove 000111" {
		t.Errorf("removals %v", got)
	}
	if len(mustEvents(t, cfg, "force")) != 1 {
		t.Error("--force was not recorded")
	}
}

func TestChangingTheRoleMapGrantsAndRevokesRolesAndHoldsContractsWithoutOne(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	grantsBefore := len(mustEvents(t, cfg, "role.grant"))

	// Controllers only: every other contract has no role.
	demoWith(t, cfg, "", `  role_map:
    - {function_code: [CTRL], role: CONTROLLER}
  roles:
    columns: [{externalId: employee_number}, {Gebruikersnaam: username}, {Functieprofiel Code: role}]`)
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	grants := mustEvents(t, cfg, "role.grant")[grantsBefore:]
	if len(grants) != 1 || grants[0].EmployeeNumber != "000101" || !strings.Contains(compactJSON(grants[0].Details), "CONTROLLER") {
		t.Errorf("grants %+v", grants)
	}
	// Roles are compared as the new columns show them: each of the 9
	// accounts had one row with an empty role.
	if n := len(mustEvents(t, cfg, "role.revoke")); n != 9 {
		t.Errorf("%d revokes, want one per account", n)
	}
	if n := len(mustEvents(t, cfg, "account.remove")); n != 0 {
		t.Errorf("%d accounts removed: a contract without a role still counts", n)
	}
	var held []string
	for _, e := range mustEvents(t, cfg, "export.held") {
		if slices.Contains(anyStrings(e.Details["fields"]), "role") {
			held = append(held, e.EmployeeNumber)
		}
	}
	// 000101's DIR contract, and the only contracts of 102-107, 111, 112 (2).
	if len(held) != 10 || !slices.Contains(held, "000101") || slices.Contains(held, "000108") {
		t.Errorf("held for lack of a role: %v", held)
	}
	roles := csvRows(t, filepath.Join(outDir(t, cfg), "roles.csv"), ',')
	if !slices.Equal(roles, []string{"000101|jan.boele@example.nl|CONTROLLER"}) {
		t.Errorf("roles.csv %v", roles)
	}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestScopeRoleMapAndLookupConfigErrorsExit2NamingTheKey(t *testing.T) {
	base := "database: db.sqlite\nsources:\n  - name: a\n    persons: p.csv\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown scope field", base + "rules:\n  scope:\n    include: [{department: [X]}]\n", "rules.scope.include[0].department: unknown field"},
		{"empty scope entry", base + "rules:\n  scope:\n    exclude: [{}]\n", "rules.scope.exclude[0]: an entry needs at least one field"},
		{"nested value", base + "rules:\n  scope:\n    include:\n      - ou_code: {a: b}\n", "rules.scope.include[0].ou_code"},
		{"role_map entry without role", base + "export:\n  role_map: [{function_code: [F1]}]\n", "export.role_map[0].role: required"},
		{"role column without role_map", base + "export:\n  roles:\n    columns: [{Rol: role}]\n", "export.roles.columns[0].Rol: the role field needs export.role_map"},
		{"lookup without key", base + "    lookups:\n      - {file: x.csv, fill: {ou_name: N}}\n", "sources[0].lookups[0].key: must name exactly one field"},
		{"lookup fills a person field by OU", base + "    lookups:\n      - {file: x.csv, key: {ou_code: C}, fill: {email: E}}\n", "sources[0].lookups[0].fill.email: a person field needs a person key"},
		{"unknown lookup key", base + "    lookups:\n      - {file: x.csv, key: {ou_code: C}, fill: {ou_name: N}, wher: {}}\n", "sources[0].lookups[0].wher: unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "spendsync.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			code, _, stderr := cli(t, "--config", path, "status")
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 naming %q", code, stderr, tc.want)
			}
		})
	}
}

func TestMigratingAHelloIDCustomerWithRoleProfilesShowsNoRoleChanges(t *testing.T) {
	helloidColumns := controllersAndEveryoneElse[:strings.Index(controllersAndEveryoneElse, "  roles:")] + `  roles:
    columns: [{externalId: employee_number}, {Organisatorische Eenheid: ou_name}, {Gebruikersnaam: username},
              {Functieprofiel Code: role}]`
	// What HelloID delivered, with its business rules giving the profile.
	first := demo(t)
	demoWith(t, first, financeAndPurchasing, helloidColumns)
	mustCLI(t, "--config", first, "ingest")
	mustCLI(t, "--config", first, "export", "--date", "2026-11-23")
	persons, _ := os.ReadFile(filepath.Join(outDir(t, first), "persons.csv"))
	roles, _ := os.ReadFile(filepath.Join(outDir(t, first), "roles.csv"))
	if !bytes.Contains(roles, []byte(`"CONTROLLER"`)) {
		t.Fatalf("roles.csv %s", roles)
	}
	hid := helloIDDatabase(t, persons, roles)

	cfg := demo(t)
	demoWith(t, cfg, financeAndPurchasing, helloidColumns)
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "migrate", "--from-helloid", hid)
	mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
	if got := append(eventsOf(t, cfg, "account."), eventsOf(t, cfg, "role.")...); len(got) != 0 {
		t.Fatalf("after migrate: %q, want no changes", got)
	}
}

func TestAnEmptyLookupFileThatWouldClearNamesIsASafetyStop(t *testing.T) {
	dir := fixture(t, "raet-hrcore")
	cfg := filepath.Join(dir, "spendsync.yaml")
	mustCLI(t, "--config", cfg, "ingest")
	// Eenheid.csv arrives with its header only: every OU name would go.
	eenheid := filepath.Join(dir, "Eenheid.csv")
	data, err := os.ReadFile(eenheid)
	if err != nil {
		t.Fatal(err)
	}
	header := data[:bytes.IndexByte(data, '\n')+1]
	os.WriteFile(eenheid, header, 0o600)
	code, _, stderr := cli(t, "--config", cfg, "ingest")
	if code != exitSafety || !strings.Contains(stderr, "Eenheid.csv has no rows to use") || !strings.Contains(stderr, "ou_name") {
		t.Fatalf("exit %d, want 3 naming the lookup file and the field: %s", code, stderr)
	}
	if n := len(mustEvents(t, cfg, "contract.changed")); n != 0 {
		t.Fatalf("a safety stop changed %d contracts", n)
	}
	if code, _, stderr := cli(t, "--config", cfg, "ingest", "--force"); code != exitOK && code != exitRejected {
		t.Fatalf("--force must let it through once: exit %d %s", code, stderr)
	}
	if n := len(mustEvents(t, cfg, "force")); n != 1 {
		t.Fatalf("the override must be recorded: %d force events", n)
	}
}

func TestAnEmptyLookupFileThatClearsNothingIsNoStop(t *testing.T) {
	dir := fixture(t, "raet-hrcore")
	cfg := filepath.Join(dir, "spendsync.yaml")
	// A school where nobody has a partner: Echtgenoot.csv is empty from the
	// first day, and stays so. That is no broken export.
	echtgenoot := filepath.Join(dir, "Echtgenoot.csv")
	data, err := os.ReadFile(echtgenoot)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(echtgenoot, data[:bytes.IndexByte(data, '\n')+1], 0o600)
	for range 2 {
		if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != exitOK && code != exitRejected {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
}

// Raet HR Core's Aanstellingen carry no contract id: two identical
// part-time appointments of one person are one contract (merged and
// counted), not two rejects that cost the person the role; only rows that
// share start date, OU and function but differ otherwise are rejects.
// The dump stays the AFAS original's, on a first ingest (joiners staged
// on disk), a dry run (planned in memory) and a later ingest (stored
// persons, rows filtered by their hashes).
func TestIdenticalContractRowsWithoutAnIDMergeAndOnlyTrueConflictsAreRejected(t *testing.T) {
	extra := "1001|1001|3|20200601||INK|BUD|N|18,00|jboele@example.nl\r\n" + // identical to line 3
		"1008|1008|3|20170401||INK|INK|N|4,00|tberg@example.nl\r\n" + // identical to line 12
		"1005|1005|3|20100101|20191231|ICT|BEH|N|36,00|famrani@example.nl\r\n" // conflicts with line 7: another end date
	appendTo := func(t *testing.T, path string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(extra)
		f.Close()
	}
	sameDumpAsAFAS := func(t *testing.T, dir string) {
		t.Helper()
		raet, afas := filepath.Join(dir, "spendsync.yaml"), filepath.Join(dir, "afas", "spendsync.yaml")
		mustCLI(t, "--config", afas, "ingest")
		for _, cfg := range []string{raet, afas} {
			mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
		}
		for _, name := range []string{"persons.csv", "roles.csv"} {
			got, _ := os.ReadFile(filepath.Join(outDir(t, raet), name))
			want, _ := os.ReadFile(filepath.Join(outDir(t, afas), name))
			if len(want) == 0 || !bytes.Equal(got, want) {
				t.Errorf("%s from Raet HR Core differs from the AFAS-style export:\n%s\nwant\n%s", name, got, want)
			}
		}
	}
	// Exactly the two conflicting lines of 1005 are rejected.
	realRejects := func(t *testing.T, cfg, stdout string) {
		t.Helper()
		if !strings.Contains(stdout, "2 contract rows merged") || !strings.Contains(stdout, "2 rejected") {
			t.Errorf("summary: %s", stdout)
		}
		var rejects []struct {
			File           string `json:"file"`
			Line           int    `json:"line"`
			Reason         string `json:"reason"`
			EmployeeNumber string `json:"employee_number"`
		}
		if err := json.Unmarshal([]byte(mustCLI(t, "--config", cfg, "rejects", "--format", "json")), &rejects); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, r := range rejects {
			lines = append(lines, fmt.Sprintf("%s:%d:%s", filepath.Base(r.File), r.Line, r.EmployeeNumber))
			if !strings.Contains(r.Reason, "conflicting rows for contract 2010-01-01|ICT|BEH") || !strings.Contains(r.Reason, "end_date") {
				t.Errorf("reason %q", r.Reason)
			}
		}
		slices.Sort(lines)
		if want := []string{"Aanstellingen.csv:16:1005", "Aanstellingen.csv:7:1005"}; !slices.Equal(lines, want) {
			t.Errorf("rejects %v, want %v", lines, want)
		}
	}

	t.Run("first ingest", func(t *testing.T) {
		dir := fixture(t, "raet-hrcore")
		cfg := filepath.Join(dir, "spendsync.yaml")
		appendTo(t, filepath.Join(dir, "Aanstellingen.csv"))
		code, out, stderr := cli(t, "--config", cfg, "--log-format", "json", "ingest")
		if code != exitRejected || !strings.Contains(stderr, `"merged":2`) {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
		realRejects(t, cfg, out)
		for _, j := range mustEvents(t, cfg, "person.joined") {
			if n := len(j.Details["contracts"].([]any)); j.EmployeeNumber == "1001" && n != 2 {
				t.Errorf("1001 joined with %d contracts, want 2: %v", n, j.Details["contracts"])
			}
		}
		sameDumpAsAFAS(t, dir)
	})
	t.Run("later ingest", func(t *testing.T) {
		dir := fixture(t, "raet-hrcore")
		cfg := filepath.Join(dir, "spendsync.yaml")
		mustCLI(t, "--config", cfg, "ingest")
		appendTo(t, filepath.Join(dir, "Aanstellingen.csv"))
		code, out, stderr := cli(t, "--config", cfg, "ingest", "--dry-run")
		if code != exitRejected || !strings.Contains(out, "2 contract rows merged") || !strings.Contains(out, "2 rejected") {
			t.Fatalf("dry run: exit %d\n%s\n%s", code, out, stderr)
		}
		code, out, stderr = cli(t, "--config", cfg, "--log-format", "json", "ingest")
		if code != exitRejected || !strings.Contains(stderr, `"merged":2`) {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
		realRejects(t, cfg, out)
		for _, kind := range []string{"contract.added", "contract.removed", "contract.changed", "contract.ended"} {
			if evs := mustEvents(t, cfg, kind); len(evs) != 0 {
				t.Errorf("%d %s events for rows that change nothing: %+v", len(evs), kind, evs)
			}
		}
		// An end date on both identical rows is one contract ending, not a
		// remove-and-add and not a reject.
		path := filepath.Join(dir, "Aanstellingen.csv")
		edit(t, path, "1001|1001|2|20200601||", "1001|1001|2|20200601|20261231|")
		edit(t, path, "1001|1001|3|20200601||", "1001|1001|3|20200601|20261231|")
		code, out, stderr = cli(t, "--config", cfg, "ingest")
		if code != exitRejected || !strings.Contains(out, "2 contract rows merged") || !strings.Contains(out, "2 rejected") {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
		ended := mustEvents(t, cfg, "contract.ended")
		if len(ended) != 1 || ended[0].EmployeeNumber != "1001" || ended[0].Details["key"] != "2020-06-01|INK|BUD" {
			t.Fatalf("contract.ended events: %+v", ended)
		}
		edit(t, filepath.Join(dir, "afas", "dienstverbanden.csv"), "1001;01-06-2020;;", "1001;01-06-2020;31-12-2026;")
		sameDumpAsAFAS(t, dir)
	})
}
