package connector_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/connector"
)

func TestRaetHRCoreProfileReadsBracketHeadersPipesAndCompactDates(t *testing.T) {
	persons := "[Personeelsnummer]|[Roepnaam]|[Tussenvoegsel]|[Eigen naam]|[Naam samenstelling]\r\n" +
		"1001|Anna|de|Vries|1\r\n1002|Bert||Jansen|2\r\n1003|Carla|van|Dijk|3\r\n1004|Dirk||Bakker|4\r\n"
	contracts := "[Personeelsnummer]|[Begindatum]|[Einddatum]|[Afdelingscode]|[Functiecode]\r\n" +
		"1001|20240101|20261231|FIN|F01\r\n"
	res := load(t, connector.Source{Profile: "raet-hrcore"}, []byte(persons), []byte(contracts))
	if len(res.Rejects) > 0 {
		t.Fatalf("rejects: %+v", res.Rejects)
	}
	want := map[string]string{"1001": "B", "1002": "BP", "1003": "PB", "1004": "P"}
	for emp, conv := range want {
		if got := res.Persons[emp].NamingConvention; got != conv {
			t.Errorf("%s: naming convention %q, want %q", emp, got, conv)
		}
	}
	if p := res.Persons["1003"]; p.FirstName != "Carla" || p.Prefix != "van" || p.LastName != "Dijk" {
		t.Errorf("1003 = %+v", p.Person)
	}
	if len(res.Contracts) != 1 || res.Contracts[0].StartDate != "2024-01-01" || res.Contracts[0].EndDate != "2026-12-31" || res.Contracts[0].OUCode != "FIN" {
		t.Errorf("contracts = %+v", res.Contracts)
	}
}

func TestEveryProfileDescribesEachFieldItsDatesAndOrigin(t *testing.T) {
	want := []string{"ad", "adp", "afas", "entra", "raet", "raet-hrcore", "successfactors"}
	if got := connector.ProfileNames(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("profiles %v, want %v", got, want)
	}
	cases := map[string][]string{
		"afas":           {"employee_number    Medewerker", "naming_map: 0=B 1=PB 2=P 3=BP", "T4E_HelloID_Users"},
		"ad":             {"username           userPrincipalName"},
		"entra":          {"employee_number    employeeId", "end_date           employeeLeaveDateTime"},
		"raet":           {"email              emailAddresses[type=Business].address", "E=B", "0=PB"},
		"raet-hrcore":    {"[Personeelsnummer]", "date_format: 20060102", `delimiter: "|"`, "1=B 2=BP 3=PB 4=P"},
		"adp":            {"workerID.idValue", "workAssignments[].itemID", "tiva-wp=BP"},
		"successfactors": {"personIdExternal", "employee_number    userId", "EmpJob"},
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			ok, err := connector.WriteProfile(&b, name)
			if !ok || err != nil {
				t.Fatalf("WriteProfile: %v %v", ok, err)
			}
			out := b.String()
			for _, s := range append(cases[name], "names from: ", "employee_number ", "function_name ", "date_format: ") {
				if !strings.Contains(out, s) {
					t.Errorf("missing %q in\n%s", s, out)
				}
			}
		})
	}
	if ok, _ := connector.WriteProfile(&bytes.Buffer{}, "sap"); ok {
		t.Error("an unknown profile was described")
	}
}

func TestExplicitColumnsWinOverAProfile(t *testing.T) {
	persons := "Medewerker;Roepnaam;Voornaam;Geboortenaam\n1;Jo;Johanna;Smit\n"
	res := load(t, connector.Source{Profile: "afas", Columns: map[string]string{"first_name": "Voornaam"}}, []byte(persons), nil)
	if got := res.Persons["1"].FirstName; got != "Johanna" {
		t.Fatalf("first name %q, want the explicit column's Johanna", got)
	}
}

// The user docs list every profile's columns; a profile changed here must
// be changed there.
func TestProfilesDocListsEveryProfilesColumns(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "profiles.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range connector.ProfileNames() {
		var b bytes.Buffer
		connector.WriteProfile(&b, name)
		if !strings.Contains(string(doc), "## "+name+"\n") {
			t.Errorf("docs/profiles.md has no section %s", name)
		}
		for _, line := range strings.Split(b.String(), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[1] != "-" && !strings.Contains(line, ":") && f[0] != "field" {
				cell := "| " + f[0] + " | `" + strings.ReplaceAll(f[1], "|", `\|`) + "` |"
				if !strings.Contains(string(doc), cell) {
					t.Errorf("docs/profiles.md lacks %q (profile %s)", cell, name)
				}
			}
		}
	}
}
