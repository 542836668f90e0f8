package export_test

import (
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/configfile"
	"github.com/spendsync/spendsync/internal/model"
)

// decode reads YAML with the config file's own parser, told of export's
// types as cmd/spendsync tells it.
func decode(data []byte, v any) error {
	_, err := configfile.Decode(data, v,
		configfile.OneKeyMap(func(c *export.Column, header, field string) { c.Header, c.Field = header, field }, "a column is a one-key map"),
		configfile.ValueList[export.Values]("give a value or a list of values"))
	return err
}

// scopeOf decodes a rules.scope block as the config file would.
func scopeOf(t *testing.T, text string) export.Scope {
	t.Helper()
	var s export.Scope
	if err := decode([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScopeMatching(t *testing.T) {
	p := model.Person{EmployeeNumber: "000101", LastName: "Boele", Email: "jan@extern.nl"}
	c := model.Contract{OUCode: "OU10", OUName: "Inkoop [NL]/Oost", FunctionCode: "F910", FunctionName: "Stagiair"}
	cases := []struct {
		name, scope string
		counts      bool
	}{
		{"no scope counts everything", `{}`, true},
		{"include by exact value", `include: [{ou_code: [OU10]}]`, true},
		{"include one of a list", `include: [{ou_code: [OU20, OU10]}]`, true},
		{"include a single value without a list", `include: [{ou_code: OU10}]`, true},
		{"not included", `include: [{ou_code: [OU20]}]`, false},
		{"values match whole, not as substrings", `include: [{ou_code: [OU1]}]`, false},
		{"matching is case-sensitive", `include: [{ou_code: [ou10]}]`, false},
		{"fields in an entry are ANDed", `include: [{ou_code: [OU10], function_code: [F100]}]`, false},
		{"entries are ORed", `include: [{ou_code: [OU20]}, {function_code: [F910]}]`, true},
		{"prefix glob", `include: [{function_code: ["F9*"]}]`, true},
		{"suffix glob", `include: [{function_code: ["*10"]}]`, true},
		{"inner glob", `include: [{ou_name: ["Inkoop*Oost"]}]`, true},
		{"glob spans slashes and brackets are plain", `include: [{ou_name: ["Inkoop [NL]*"]}]`, true},
		{"glob needs the fixed parts", `include: [{function_code: ["F8*"]}]`, false},
		{"glob that would overlap", `include: [{function_code: ["F91*910"]}]`, false},
		{"star alone matches anything", `include: [{function_name: ["*"]}]`, true},
		{"person field", `include: [{email: ["*@extern.nl"]}]`, true},
		{"employee number", `include: [{employee_number: ["000101"]}]`, true},
		{"excluded", `exclude: [{function_code: ["F9*"]}]`, false},
		{"exclude needs all its fields", `exclude: [{ou_code: [OU30], function_code: [F910]}]`, true},
		{"exclude wins over include", `{include: [{ou_code: [OU10]}], exclude: [{email: ["*@extern.nl"]}]}`, false},
		{"empty value matches an empty field", `include: [{end_date: [""]}]`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := scopeOf(t, tc.scope)
			if got := s.Counts(&p, &c); got != tc.counts {
				t.Fatalf("counts = %v, want %v", got, tc.counts)
			}
		})
	}
}

func TestScopeConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct{ scope, want string }{
		{`include: [{department: [X]}]`, "include[0].department: unknown field"},
		{`exclude: [{}]`, "exclude[0]: an entry needs at least one field"},
		{`include: [{ou_code: []}]`, "include[0].ou_code: an empty list matches nothing"},
	}
	for _, tc := range cases {
		var s export.Scope
		if err := decode([]byte(tc.scope), &s); err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.scope, err, tc.want)
		}
	}
}

// roleMapOf decodes an export block with a role_map.
func roleMapOf(t *testing.T, text string) *export.Config {
	t.Helper()
	var c export.Config
	if err := decode([]byte(text), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestRoleMapping(t *testing.T) {
	c := roleMapOf(t, `role_map:
  - {function_code: [F100], role: CONTROLLER}
  - {ou_code: [OU20, OU21], function_code: ["I*"], role: INKOPER}
  - {email: ["*@extern.nl"], role: ""}
  - {role: MEDEWERKER}
`)
	cases := []struct {
		name, ou, function, email, role string
	}{
		{"first entry", "OU10", "F100", "a@example.nl", "CONTROLLER"},
		{"first match wins over later ones", "OU20", "F100", "a@example.nl", "CONTROLLER"},
		{"all fields of an entry", "OU21", "INK", "a@example.nl", "INKOPER"},
		{"one field of an entry is not enough", "OU10", "INK", "a@example.nl", "MEDEWERKER"},
		{"an explicit empty role", "OU10", "F200", "b@extern.nl", ""},
		{"the default", "OU99", "F999", "a@example.nl", "MEDEWERKER"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := model.Person{EmployeeNumber: "1", Email: tc.email}
			k := model.Contract{OUCode: tc.ou, FunctionCode: tc.function}
			if got := export.RoleOf(c.RoleMap, &p, &k); got != tc.role {
				t.Fatalf("role %q, want %q", got, tc.role)
			}
		})
	}
	noDefault := roleMapOf(t, "role_map: [{function_code: F100, role: CONTROLLER}]\n")
	if got := export.RoleOf(noDefault.RoleMap, &model.Person{}, &model.Contract{FunctionCode: "F200"}); got != "" {
		t.Errorf("no entry matches: role %q, want empty", got)
	}
}

func TestRoleMapConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct{ text, want string }{
		{"role_map: [{function_code: [F100]}]", "role_map[0].role: required"},
		{"role_map: [{role: A}, {department: X, role: B}]", "role_map[1].department: unknown field"},
		{"role_map: [{role: [A, B]}]", "role_map[0].role: required: one role"},
		{"roles: {columns: [{Functieprofiel Code: role}]}", "roles.columns[0].Functieprofiel Code: the role field needs export.role_map"},
	}
	for _, tc := range cases {
		var c export.Config
		if err := decode([]byte(tc.text), &c); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestScopeAndRolesShapeTheDump(t *testing.T) {
	c := cfg(t, func(c *export.Config) {
		c.RoleMap = []export.Condition{
			{"function_code": {"CTRL"}, "role": {"CONTROLLER"}},
			{"ou_code": {"FIN", "INK"}, "role": {"MEDEWERKER"}},
		}
		c.Roles.Columns = []export.Column{{Header: "externalId", Field: "employee_number"}, {Header: "Functieprofiel Code", Field: "role"}}
	})
	r := rules
	r.Scope = export.Scope{Include: []export.Condition{{"ou_code": {"FIN", "INK", "ICT"}}}}
	in := []export.Input{
		person("1", "Een", "u1", model.Contract{Key: "a", OUCode: "FIN", FunctionCode: "CTRL"}),
		// Two contracts with the same role: one row in roles.csv.
		person("2", "Twee", "u2", model.Contract{Key: "a", OUCode: "FIN", FunctionCode: "BOEK"}, model.Contract{Key: "b", OUCode: "INK", FunctionCode: "INK"}),
		// Out of scope: no account.
		person("3", "Drie", "u3", model.Contract{Key: "a", OUCode: "HR", FunctionCode: "HRA"}),
		// In scope, but role_map gives ICT no role: an account, no role row, held.
		person("4", "Vier", "u4", model.Contract{Key: "a", OUCode: "ICT", FunctionCode: "DEV"}, model.Contract{Key: "b", OUCode: "FIN", FunctionCode: "BOEK"}),
	}
	d := export.Build(in, empty(), "2026-01-01", c, r)
	_, roles := render(t, d, c)
	want := "\ufeff\"externalId\",\"Functieprofiel Code\"\r\n\"1\",\"CONTROLLER\"\r\n\"2\",\"MEDEWERKER\"\r\n\"4\",\"MEDEWERKER\"\r\n"
	if roles != want {
		t.Errorf("roles.csv\n%q\nwant\n%q", roles, want)
	}
	var emps []string
	for _, p := range d.Persons {
		emps = append(emps, p.Get("employee_number"))
	}
	if strings.Join(emps, ",") != "1,2,4" {
		t.Errorf("persons %v: 3 has no contract in scope", emps)
	}
	if held := d.Stats.Held; len(held) != 1 || held[0].EmployeeNumber != "4" || held[0].Fields[0] != "role" || !strings.Contains(held[0].Reason, "contract a") {
		t.Errorf("held %+v: want 4's ICT contract held for lack of a role", held)
	}
}
