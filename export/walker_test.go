package export_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/model"
)

func cfg(t *testing.T, mod func(*export.Config)) *export.Config {
	t.Helper()
	c := &export.Config{}
	if mod != nil {
		mod(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

var rules = export.Rules{NameStyle: export.StyleHelloID, RemoveDiacritics: true, GenderMap: map[string]string{"M": "M", "V": "V"}}

func person(emp, last, user string, contracts ...model.Contract) export.Input {
	for i := range contracts {
		contracts[i].EmployeeNumber = emp
	}
	return export.Input{Person: model.Person{EmployeeNumber: emp, FirstName: "F" + emp, LastName: last, Username: user, Gender: "M"}, Contracts: contracts}
}

func empty() *export.Previous { return export.NewPrevious() }

func render(t *testing.T, d *export.Dump, c *export.Config) (string, string) {
	t.Helper()
	p, r, _, err := export.Render(d, "id", c)
	if err != nil {
		t.Fatal(err)
	}
	return string(p), string(r)
}

func TestActiveOnLeadAndGraceBoundaries(t *testing.T) {
	c := model.Contract{StartDate: "2024-03-10", EndDate: "2024-03-20"}
	cases := []struct {
		lead, grace int
		date        string
		active      bool
	}{
		{0, 0, "2024-03-09", false}, {0, 0, "2024-03-10", true}, {0, 0, "2024-03-20", true}, {0, 0, "2024-03-21", false},
		{2, 3, "2024-03-07", false}, {2, 3, "2024-03-08", true}, {2, 3, "2024-03-23", true}, {2, 3, "2024-03-24", false},
		{0, 1, "2024-03-21", true}, // grace across the end
	}
	for _, tc := range cases {
		if got := c.ActiveOn(tc.date, tc.lead, tc.grace); got != tc.active {
			t.Errorf("lead %d grace %d on %s: active %v, want %v", tc.lead, tc.grace, tc.date, got, tc.active)
		}
	}
	open := model.Contract{StartDate: "2024-03-10"}
	if !open.ActiveOn("2099-01-01", 0, 0) || open.ActiveOn("2024-03-09", 0, 0) {
		t.Error("open-ended contract")
	}
	// Month and year boundaries shift correctly.
	edge := model.Contract{StartDate: "2025-01-01", EndDate: "2024-12-31"}
	if !(model.Contract{StartDate: "2025-01-01"}).ActiveOn("2024-12-31", 1, 0) || edge.ActiveOn("2024-12-30", 0, 0) {
		t.Error("year boundary")
	}
}

func TestBuildSelectsActiveUnblockedPersonsAndMergesRoles(t *testing.T) {
	c := cfg(t, nil)
	in := []export.Input{
		person("002", "B", "b", model.Contract{Key: "1", OUCode: "HR", OUName: "Personeel", FunctionCode: "X"},
			model.Contract{Key: "2", OUCode: "HR", OUName: "Personeel", FunctionCode: "X", FunctionName: "dup"},
			model.Contract{Key: "3", OUCode: "FIN", OUName: "Financiën", FunctionCode: "Y"}),
		person("001", "A", "a", model.Contract{Key: "1", StartDate: "2024-01-01", EndDate: "2024-01-31", OUCode: "OLD"},
			model.Contract{Key: "2", StartDate: "2024-02-01", OUCode: "NEW", OUName: "Nieuw", FunctionCode: "Z"}),
		person("003", "C", "c", model.Contract{Key: "1", EndDate: "2024-01-31"}),
		person("004", "D", "d", model.Contract{Key: "1", StartDate: "2024-03-01"}),
		{Person: model.Person{EmployeeNumber: "005", LastName: "E", Username: "e"}, Blocked: true, Contracts: []model.Contract{{Key: "1"}}},
	}
	d := export.Build(in, empty(), "2024-02-15", c, rules)
	persons, roles := render(t, d, c)
	wantP := "\ufeff\"externalId\";\"voornaam\";\"tussenvoegsel\";\"achternaam\";\"geslacht\";\"email\";\"gebruikersnaam\"\r\n" +
		"\"001\";\"F001\";\"\";\"A\";\"M\";\"\";\"a\"\r\n" +
		"\"002\";\"F002\";\"\";\"B\";\"M\";\"\";\"b\"\r\n"
	wantR := "\ufeff\"externalId\",\"Organisatorische Eenheid\",\"Gebruikersnaam\",\"Functieprofiel Code\"\r\n" +
		"\"001\",\"Nieuw\",\"a\",\"Z\"\r\n" +
		"\"002\",\"Financiën\",\"b\",\"Y\"\r\n" +
		"\"002\",\"Personeel\",\"b\",\"X\"\r\n"
	if persons != wantP || roles != wantR {
		t.Fatalf("persons:\n%q\nwant\n%q\nroles:\n%q\nwant\n%q", persons, wantP, roles, wantR)
	}
}

func TestCSVFormatOptions(t *testing.T) {
	in := []export.Input{person("001", `O"Brien; Jr`, "a,b", model.Contract{Key: "1", OUName: "line\nbreak"})}
	cases := []struct {
		name          string
		mod           func(*export.Config)
		persons, role string
	}{
		{"defaults quote all, double quotes, BOM, CRLF", nil,
			"\ufeff\"externalId\";\"achternaam\"\r\n\"001\";\"O\"\"Brien; Jr\"\r\n",
			"\ufeff\"externalId\",\"Organisatorische Eenheid\"\r\n\"001\",\"line\nbreak\"\r\n"},
		{"minimal quoting, no BOM, LF", func(c *export.Config) {
			no := false
			c.BOM, c.Quote, c.LineEnding = &no, "minimal", "lf"
		}, "externalId;achternaam\n001;\"O\"\"Brien; Jr\"\n",
			"externalId,Organisatorische Eenheid\n001,\"line\nbreak\"\n"},
		{"other delimiters", func(c *export.Config) {
			no := false
			c.BOM, c.Quote, c.LineEnding = &no, "minimal", "lf"
			c.Persons.Delimiter, c.Roles.Delimiter = "\t", ";"
		}, "externalId\tachternaam\n001\t\"O\"\"Brien; Jr\"\n", // a field holding a quote is always quoted
			"externalId;Organisatorische Eenheid\n001;\"line\nbreak\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg(t, func(c *export.Config) {
				c.Persons.Columns = []export.Column{{Header: "externalId", Field: "employee_number"}, {Header: "achternaam", Field: "last_name"}}
				c.Roles.Columns = []export.Column{{Header: "externalId", Field: "employee_number"}, {Header: "Organisatorische Eenheid", Field: "ou_name"}}
				if tc.mod != nil {
					tc.mod(c)
				}
			})
			p, r := render(t, export.Build(in, empty(), "2024-01-01", c, rules), c)
			if p != tc.persons || r != tc.role {
				t.Fatalf("persons %q want %q\nroles %q want %q", p, tc.persons, r, tc.role)
			}
		})
	}
}

func TestFormulaGuard(t *testing.T) {
	hostile := []string{"=cmd|' /C calc'!A0", "+SUM(1)", "-1+2", "@HYPERLINK()", "\tTAB", "\rCR"}
	for _, h := range hostile {
		for _, mode := range []string{"off", "warn", "reject", "escape"} {
			c := cfg(t, func(c *export.Config) { c.FormulaGuard = mode })
			in := []export.Input{person("001", "L", "u", model.Contract{Key: "1"})}
			in[0].Person.FirstName = h // names are trimmed; first names are exported as given
			d := export.Build(in, empty(), "2024-01-01", c, rules)
			var got string
			if len(d.Persons) == 1 {
				got = d.Persons[0].Get("first_name")
			}
			want := map[string]string{"off": h, "warn": h, "reject": "", "escape": "'" + h}[mode]
			if got != want {
				t.Errorf("%s %q: exported %q, want %q", mode, h, got, want)
			}
			if (mode == "warn") != (len(d.Stats.Formulas) == 1) || (mode == "reject") != (len(d.Stats.Held) == 1) {
				t.Errorf("%s %q: formulas %v held %v", mode, h, d.Stats.Formulas, d.Stats.Held)
			}
		}
	}
}

// The keys are what Spend Cloud's import matches accounts on: escape must
// never rewrite them, in whichever file and under whichever header they
// are exported, while other fields are escaped as before.
func TestFormulaGuardNeverRewritesTheKeyColumns(t *testing.T) {
	const emp, user, first, ou = "-001", "+jan", "=cmd", "@OU"
	for _, mode := range []string{"off", "warn", "reject", "escape"} {
		t.Run(mode, func(t *testing.T) {
			c := cfg(t, func(c *export.Config) {
				c.FormulaGuard = mode
				c.Persons.Columns = []export.Column{{Header: "externalId", Field: "employee_number"}, {Header: "voornaam", Field: "first_name"},
					{Header: "achternaam", Field: "last_name"}, {Header: "gebruikersnaam", Field: "username"}}
				c.Roles.Columns = []export.Column{{Header: "externalId", Field: "employee_number"}, {Header: "Organisatorische Eenheid", Field: "ou_name"},
					{Header: "Gebruikersnaam", Field: "username"}}
			})
			in := []export.Input{person(emp, "L", user, model.Contract{Key: "1", OUName: ou})}
			in[0].Person.FirstName = first
			d := export.Build(in, empty(), "2024-01-01", c, rules)
			if mode == "reject" {
				if len(d.Persons) != 0 || len(d.Stats.Held) != 1 {
					t.Fatalf("reject: persons %v held %+v", d.Persons, d.Stats.Held)
				}
				return
			}
			if len(d.Persons) != 1 || len(d.Roles) != 1 {
				t.Fatalf("persons %v roles %v", d.Persons, d.Roles)
			}
			wantFirst, wantOU := first, ou
			if mode == "escape" {
				wantFirst, wantOU = "'"+first, "'"+ou
			}
			p, role := d.Persons[0], d.Roles[0]
			r := struct{ Get func(string) string }{func(f string) string { return role[slices.Index(export.RoleFields, f)] }}
			for _, got := range []struct{ what, got, want string }{
				{"persons employee_number", p.Get("employee_number"), emp},
				{"persons username", p.Get("username"), user},
				{"roles employee_number", r.Get("employee_number"), emp},
				{"roles username", r.Get("username"), user},
				{"persons first_name", p.Get("first_name"), wantFirst},
				{"roles ou_name", r.Get("ou_name"), wantOU},
			} {
				if got.got != got.want {
					t.Errorf("%s: exported %q, want %q", got.what, got.got, got.want)
				}
			}
			// The files as written: the keys exactly as HR has them.
			persons, roles := render(t, d, c)
			wantPersons := "\ufeff\"externalId\";\"voornaam\";\"achternaam\";\"gebruikersnaam\"\r\n\"-001\";\"" + wantFirst + "\";\"L\";\"+jan\"\r\n"
			wantRoles := "\ufeff\"externalId\",\"Organisatorische Eenheid\",\"Gebruikersnaam\"\r\n\"-001\",\"" + wantOU + "\",\"+jan\"\r\n"
			if persons != wantPersons || roles != wantRoles {
				t.Errorf("persons.csv %q\nwant        %q\nroles.csv %q\nwant      %q", persons, wantPersons, roles, wantRoles)
			}
			// warn reports every field; escape reports the keys it left.
			var found []string
			for _, f := range d.Stats.Formulas {
				found = append(found, f.Fields...)
			}
			want := map[string]string{"off": "[]", "warn": "[employee_number first_name username role.employee_number role.ou_name role.username]",
				"escape": "[employee_number username role.employee_number role.username]"}[mode]
			if fmt.Sprint(found) != want && !(mode == "off" && len(found) == 0) {
				t.Errorf("findings %v, want %s", found, want)
			}
		})
	}
}

func TestHeldBackPersonKeepsItsLastExportedRows(t *testing.T) {
	c := cfg(t, nil)
	prevRow := export.PersonRow(map[string]string{"employee_number": "001", "last_name": "Old", "username": "old"})
	prevRole := export.RoleRow(map[string]string{"employee_number": "001", "username": "old", "ou_name": "OU"})
	prev := export.NewPrevious()
	prev.Persons["001"] = &export.PersonRows{Person: prevRow, Roles: []export.Row{prevRole}}
	in := []export.Input{person("001", "New", "", model.Contract{Key: "1"}), person("002", "", "x", model.Contract{Key: "1"})}
	d := export.Build(in, prev, "2024-01-01", c, rules)
	if !reflect.DeepEqual(d.Persons, []export.Row{prevRow}) || !reflect.DeepEqual(d.Roles, []export.Row{prevRole}) {
		t.Fatalf("dump %v %v", d.Persons, d.Roles)
	}
	if held := d.Stats.Held; len(held) != 2 || !held[0].Kept || held[1].Kept || held[0].Fields[0] != "username" || held[1].Fields[0] != "last_name" {
		t.Fatalf("held %+v", held)
	}
	if ch := d.Changes; len(ch) != 0 || len(d.Stored) != 0 || len(d.Dropped) != 0 {
		t.Fatalf("holding back must not be a change: %+v", ch)
	}
}

func TestDiffReportsProvisioningChanges(t *testing.T) {
	c := cfg(t, nil)
	d1 := export.Build([]export.Input{person("001", "A", "a", model.Contract{Key: "1", OUName: "X", FunctionCode: "F"}),
		person("002", "B", "b", model.Contract{Key: "1", OUName: "X"})}, empty(), "2024-01-01", c, rules)
	d2 := export.Build([]export.Input{person("001", "A2", "a", model.Contract{Key: "1", OUName: "Y", FunctionCode: "F"}),
		person("003", "C", "c", model.Contract{Key: "1", OUName: "X"})}, d1.PersonsOf(), "2024-01-01", c, rules)
	var got []string
	for _, ch := range d2.Changes {
		got = append(got, fmt.Sprintf("%s %s %s", ch.Kind, ch.EmployeeNumber, compact(ch.Details)))
	}
	// Person by person in employee order: the account change, then its
	// grants, then its revokes.
	want := []string{
		"account.update 001 map[columns:map[achternaam:map[new:A2 old:A]]]",
		"role.grant 001 map[role:map[Functieprofiel Code:F Gebruikersnaam:a Organisatorische Eenheid:Y externalId:001]]",
		"role.revoke 001 map[role:map[Functieprofiel Code:F Gebruikersnaam:a Organisatorische Eenheid:X externalId:001]]",
		"account.remove 002 map[row:map[achternaam:B email: externalId:002 gebruikersnaam:b geslacht:M tussenvoegsel: voornaam:F002]]",
		"role.revoke 002 map[role:map[Functieprofiel Code: Gebruikersnaam:b Organisatorische Eenheid:X externalId:002]]",
		"account.create 003 map[row:map[achternaam:C email: externalId:003 gebruikersnaam:c geslacht:M tussenvoegsel: voornaam:F003]]",
		"role.grant 003 map[role:map[Functieprofiel Code: Gebruikersnaam:c Organisatorische Eenheid:X externalId:003]]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func compact(m map[string]any) string { return fmt.Sprint(m) }

func TestSafetyLimits(t *testing.T) {
	prev := empty()
	for i := range 10 {
		prev.Persons[fmt.Sprint(i)] = &export.PersonRows{Person: export.PersonRow(map[string]string{"employee_number": fmt.Sprint(i)})}
	}
	c := cfg(t, nil)
	cases := []struct {
		keep   int
		limits export.Limits
		want   string
	}{
		{0, export.Limits{}, "would be empty"},
		{7, export.Limits{MaxRemovals: 2}, "thresholds.max_removals 2"},
		{8, export.Limits{MaxRemovalPercent: 10}, "thresholds.max_removal_percent 10%"},
		{8, export.Limits{MaxRemovals: 2, MaxRemovalPercent: 20}, ""},
	}
	for _, tc := range cases {
		var in []export.Input
		for i := range tc.keep {
			in = append(in, person(fmt.Sprint(i), "L", "u", model.Contract{Key: "1"}))
		}
		d := export.Build(in, prev, "2024-01-01", c, rules)
		err := tc.limits.Check(&d.Stats)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("keep %d %+v: %v, want %q", tc.keep, tc.limits, err, tc.want)
		}
	}
}

func TestWriteIsAtomicKeepsHistoryAndPrunesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	c := cfg(t, nil)
	var ids []string
	for i := range 4 {
		d := export.Build([]export.Input{person("001", fmt.Sprint("L", i), "u", model.Contract{Key: "1"})}, empty(), "2024-01-01", c, rules)
		id := fmt.Sprintf("2024010%dT000000Z-%d", i+1, i)
		p, r, m, err := export.Render(d, id, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := export.Write(dir, p, r, m, true, 2); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if got, _ := os.ReadFile(filepath.Join(dir, "persons.csv")); !bytes.Equal(got, p) {
			t.Fatal("persons.csv is not the latest")
		}
		m2, err := export.ReadManifest(dir)
		if err != nil || m2.ExportID != id {
			t.Fatalf("manifest %+v %v", m2, err)
		}
		if err := export.Verify(dir, m2); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "history"))
	var hist []string
	for _, e := range entries {
		hist = append(hist, e.Name())
	}
	if !reflect.DeepEqual(hist, ids[1:3]) {
		t.Fatalf("history %v, want the 2 before the latest: %v", hist, ids[1:3])
	}
	old, _ := export.ReadManifest(filepath.Join(dir, "history", ids[2]))
	if err := export.Verify(filepath.Join(dir, "history", ids[2]), old); err != nil {
		t.Fatalf("history copy is not whole: %v", err)
	}
	// Modes: 0600 files, 0700 folders; no temporary files left behind.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if perm := accesstest.Perm(t, p); perm != want || strings.HasSuffix(p, ".tmp") {
			t.Errorf("%s: %v", p, perm)
		}
		return nil
	})
}

func TestVerifyCatchesAHalfReplacedExport(t *testing.T) {
	dir := t.TempDir()
	c := cfg(t, nil)
	d := export.Build([]export.Input{person("001", "L", "u", model.Contract{Key: "1"})}, empty(), "2024-01-01", c, rules)
	p, r, m, _ := export.Render(d, "a", c)
	if err := export.Write(dir, p, r, m, true, 0); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "roles.csv"), []byte("other"), 0o600)
	if err := export.Verify(dir, m); err == nil || !strings.Contains(err.Error(), "do not match export.json") {
		t.Fatalf("verify: %v", err)
	}
}
