package connector_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/spendsync/spendsync/connector"
)

// loadWithLookups writes the persons, contracts and side files into one
// folder, points the lookups at the side files by name and loads the source.
func loadWithLookups(t *testing.T, src connector.Source, persons, contracts string, side map[string][]byte) (*connector.Result, error) {
	t.Helper()
	dir := t.TempDir()
	src.Name = "hr"
	src.Persons = writeFile(t, dir, "persons.csv", []byte(persons))
	if contracts != "" {
		src.Contracts = writeFile(t, dir, "contracts.csv", []byte(contracts))
	}
	for name, data := range side {
		writeFile(t, dir, name, data)
	}
	for _, l := range src.Lookups {
		l.File = filepath.Join(dir, l.File)
	}
	if err := src.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return connector.Load(context.Background(), &src, connector.Rules{}, nil, nil)
}

func TestLookupsFillOnlyEmptyFieldsInTheSourcesEncodingAndDelimiter(t *testing.T) {
	cp := func(s string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	src := connector.Source{
		Encoding: "windows-1252", Delimiter: "|",
		Lookups: []*connector.Lookup{
			{File: "ou.csv", Key: map[string]string{"ou_code": "[ID]"}, Fill: map[string]string{"ou_name": "[Naam]"}},
			{File: "phone.csv", Key: map[string]string{"employee_number": "[Nr]"}, Fill: map[string]string{"email": "[Nummer]"},
				Where: map[string]string{"[Type]": "EML"}},
		},
	}
	persons := "employee_number|last_name|email\n1|Eén|\n2|Twee|own@example.nl\n3|Drie|\n"
	contracts := "employee_number|ou_code|ou_name\n1|FIN|\n2|FIN|Eigen naam\n3|XXX|\n"
	res, err := loadWithLookups(t, src, persons, contracts, map[string][]byte{
		"ou.csv":    cp("[ID]|[Naam]\nFIN|Financiën\n"),
		"phone.csv": cp("[Nr]|[Type]|[Nummer]\n1|CPC|0612345678\n1|EML|een@example.nl\n2|EML|twee@example.nl\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejects) > 0 {
		t.Fatalf("rejects: %+v", res.Rejects)
	}
	emails := map[string]string{}
	for emp, p := range res.Persons {
		emails[emp] = p.Email
	}
	if emails["1"] != "een@example.nl" || emails["2"] != "own@example.nl" || emails["3"] != "" {
		t.Errorf("emails %v: want the EML row for 1, the file's own value for 2, empty for a missing key", emails)
	}
	ous := map[string]string{}
	for _, c := range res.Contracts {
		ous[c.EmployeeNumber] = c.OUName
	}
	if ous["1"] != "Financiën" || ous["2"] != "Eigen naam" || ous["3"] != "" {
		t.Errorf("ou names %v: want Financiën decoded from windows-1252, the file's own value, and empty", ous)
	}
	if len(res.Files) != 4 {
		t.Errorf("files %v: the lookup files must be listed", res.Files)
	}
}

func TestLookupFilledFieldsAreValidatedAndMappedLikeTheFilesOwn(t *testing.T) {
	src := connector.Source{
		DateFormat: "20060102",
		NamingMap:  map[string]string{"4": "P"},
		Lookups: []*connector.Lookup{
			{File: "extra.csv", Key: map[string]string{"employee_number": "nr"},
				Fill: map[string]string{"email": "mail", "naming_convention": "conv"}},
			{File: "ends.csv", Key: map[string]string{"employee_number": "nr"}, Fill: map[string]string{"end_date": "einde"}},
		},
	}
	persons := "employee_number;last_name\n1;Een\n2;Twee\n"
	contracts := "employee_number;start_date\n1;20200101\n2;20200101\n"
	res, err := loadWithLookups(t, src, persons, contracts, map[string][]byte{
		"extra.csv": []byte("nr;mail;conv\n1;een@example.nl;4\n2;not an address;1\n"),
		"ends.csv":  []byte("nr;einde\n1;20261231\n2;31-12-2026\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Persons["1"]
	if p == nil || p.NamingConvention != "P" || p.Email != "een@example.nl" {
		t.Fatalf("person 1 %+v: the looked-up naming code must go through naming_map", p)
	}
	if res.Persons["2"] != nil {
		t.Error("person 2's looked-up email is malformed: the row must be rejected")
	}
	var reasons []string
	for _, r := range res.Rejects {
		reasons = append(reasons, r.Reason)
	}
	got := strings.Join(reasons, "\n")
	if !strings.Contains(got, `malformed email "not an address"`) || !strings.Contains(got, `date "31-12-2026" does not match`) {
		t.Errorf("rejects:\n%s", got)
	}
	for _, c := range res.Contracts {
		if c.EmployeeNumber == "1" && c.EndDate != "2026-12-31" {
			t.Errorf("end date %q: a looked-up date must be parsed with date_format", c.EndDate)
		}
	}
}

func TestDuplicateLookupKeysAreAnErrorNamingTheFileAndBothLines(t *testing.T) {
	src := connector.Source{Lookups: []*connector.Lookup{
		{File: "Eenheid.csv", Key: map[string]string{"ou_code": "id"}, Fill: map[string]string{"ou_name": "naam"}},
	}}
	_, err := loadWithLookups(t, src, "employee_number;ou_code\n1;A\n", "", map[string][]byte{
		"Eenheid.csv": []byte("id;naam\nA;Eerste\nB;Tweede\n\nA;Derde\n"),
	})
	if err == nil {
		t.Fatal("duplicate keys loaded")
	}
	for _, want := range []string{"Eenheid.csv", `duplicate key "A"`, "lines 2 and 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestABadLookupRowRejectsOnlyTheRowsThatUseIt(t *testing.T) {
	src := connector.Source{Lookups: []*connector.Lookup{
		{File: "names.csv", Key: map[string]string{"employee_number": "nr"}, Fill: map[string]string{"first_name": "naam"}},
	}}
	res, err := loadWithLookups(t, src, "employee_number;last_name\n1;Een\n2;Twee\n", "", map[string][]byte{
		"names.csv": []byte("nr;naam\n1;Jan\x07\n2;Piet\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Persons["2"] == nil || res.Persons["2"].FirstName != "Piet" {
		t.Errorf("person 2: %+v", res.Persons["2"])
	}
	if len(res.Rejects) != 1 || res.Rejects[0].EmployeeNumber != "1" || !strings.Contains(res.Rejects[0].Reason, "lookup "+filepath.Join(filepath.Dir(res.Files[0]), "names.csv")+" line 2") {
		t.Errorf("rejects %+v: want person 1 rejected, naming the lookup file and line", res.Rejects)
	}
	if !res.Protected["1"] {
		t.Error("person 1 must keep its last good state")
	}
}

func TestLookupColumnsMustExist(t *testing.T) {
	src := connector.Source{Lookups: []*connector.Lookup{
		{File: "ou.csv", Key: map[string]string{"ou_code": "id"}, Fill: map[string]string{"ou_name": "naam"}, Where: map[string]string{"soort": "X"}},
	}}
	_, err := loadWithLookups(t, src, "employee_number;ou_code\n1;A\n", "", map[string][]byte{"ou.csv": []byte("id;naam\nA;Een\n")})
	if err == nil || !strings.Contains(err.Error(), `no column "soort"`) || !strings.Contains(err.Error(), "ou.csv line 1") {
		t.Fatalf("error %v: want the missing where column named with file and line", err)
	}
}

func TestLookupConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name string
		l    connector.Lookup
		want string
	}{
		{"no file", connector.Lookup{Key: map[string]string{"ou_code": "a"}, Fill: map[string]string{"ou_name": "b"}}, "lookups[0].file: required"},
		{"two keys", connector.Lookup{File: "f", Key: map[string]string{"ou_code": "a", "function_code": "c"}, Fill: map[string]string{"ou_name": "b"}}, "lookups[0].key: must name exactly one field"},
		{"unknown key field", connector.Lookup{File: "f", Key: map[string]string{"department": "a"}, Fill: map[string]string{"ou_name": "b"}}, "lookups[0].key.department: unknown field"},
		{"no fill", connector.Lookup{File: "f", Key: map[string]string{"ou_code": "a"}}, "lookups[0].fill: required"},
		{"person field by contract key", connector.Lookup{File: "f", Key: map[string]string{"ou_code": "a"}, Fill: map[string]string{"email": "b"}}, "lookups[0].fill.email: a person field needs a person key"},
		{"contract field by person key", connector.Lookup{File: "f", Key: map[string]string{"username": "a"}, Fill: map[string]string{"ou_name": "b"}}, "lookups[0].fill.ou_name: a contract field needs a contract key"},
		{"fill the key", connector.Lookup{File: "f", Key: map[string]string{"ou_code": "a"}, Fill: map[string]string{"ou_code": "b"}}, "lookups[0].fill.ou_code: a lookup cannot fill its own key"},
		{"empty column", connector.Lookup{File: "f", Key: map[string]string{"ou_code": "a"}, Fill: map[string]string{"ou_name": " "}}, "lookups[0].fill.ou_name: empty column name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.l
			src := connector.Source{Name: "hr", Persons: "p.csv", Lookups: []*connector.Lookup{&l}}
			err := src.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestAStaleLookupFileIsAStaleSource(t *testing.T) {
	dir := t.TempDir()
	src := connector.Source{Name: "hr", MaxAge: time.Hour,
		Persons: writeFile(t, dir, "p.csv", []byte("employee_number\n1\n")),
		Lookups: []*connector.Lookup{{File: writeFile(t, dir, "side.csv", []byte("nr;naam\n")),
			Key: map[string]string{"employee_number": "nr"}, Fill: map[string]string{"first_name": "naam"}}},
	}
	if err := src.Validate(); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(src.Lookups[0].File, old, old); err != nil {
		t.Fatal(err)
	}
	if err := src.CheckAge(time.Now()); !errors.Is(err, connector.ErrStale) || !strings.Contains(err.Error(), "side.csv") {
		t.Fatalf("got %v, want the lookup file named as stale", err)
	}
}

func TestALookupMayHaveItsOwnEncodingAndDelimiter(t *testing.T) {
	src := connector.Source{
		Encoding: "windows-1252", Delimiter: "|",
		Lookups: []*connector.Lookup{
			{File: "ou.csv", Key: map[string]string{"ou_code": "id"}, Fill: map[string]string{"ou_name": "naam"},
				Encoding: "utf-8", Delimiter: ","},
		},
	}
	res, err := loadWithLookups(t, src, "employee_number|ou_code\n1|FIN\n", "", map[string][]byte{
		"ou.csv": []byte("\ufeffid,naam\nFIN,Financiën\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contracts) != 1 || res.Contracts[0].OUName != "Financiën" {
		t.Fatalf("contracts %+v", res.Contracts)
	}
	bad := connector.Source{Name: "hr", Persons: "p.csv", Lookups: []*connector.Lookup{{File: "f", Key: map[string]string{"ou_code": "a"},
		Fill: map[string]string{"ou_name": "b"}, Encoding: "ebcdic"}}}
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), `lookups[0].encoding: unknown encoding "ebcdic"`) {
		t.Fatalf("got %v", err)
	}
}

func TestAnUnreadableLookupLineRejectsOnlyThePersonItNames(t *testing.T) {
	src := connector.Source{Delimiter: "|", Lookups: []*connector.Lookup{
		{File: "Echtgenoot.csv", Key: map[string]string{"employee_number": "[Dossiernummer]"},
			Fill: map[string]string{"partner_prefix": "[Voorvoegsels]", "partner_last_name": "[Achternaam]"}},
	}}
	// Raet writes 't as "t: a bare quote the CSV reader cannot read.
	res, err := loadWithLookups(t, src, "employee_number|last_name\n1|Een\n2|Twee\n3|Drie\n", "", map[string][]byte{
		"Echtgenoot.csv": []byte("[Dossiernummer]|[Voorvoegsels]|[Achternaam]\n1|de|Vries\n2|van \"t|Veld\n3|van|Dijk\n"),
	})
	if err != nil {
		t.Fatalf("one unreadable line stopped the source: %v", err)
	}
	if res.Persons["1"] == nil || res.Persons["1"].PartnerLastName != "Vries" || res.Persons["3"] == nil || res.Persons["3"].PartnerLastName != "Dijk" {
		t.Errorf("persons 1 and 3 must be filled: %+v %+v", res.Persons["1"], res.Persons["3"])
	}
	if res.Persons["2"] != nil || len(res.Rejects) != 1 || res.Rejects[0].EmployeeNumber != "2" || !strings.Contains(res.Rejects[0].Reason, "Echtgenoot.csv line 3: unreadable CSV") {
		t.Errorf("rejects %+v: want person 2 rejected naming the lookup line", res.Rejects)
	}
}
