package reconcile

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

// exportedRow is the stored last-export row of a person.
func exportedRow(fields map[string]string) string {
	r := make(export.Row, len(export.PersonFields))
	for f, v := range fields {
		r[slices.Index(export.PersonFields, f)] = v
	}
	return export.EncodePerson(r)
}

func TestCompareSaysWhatSpendsyncKnowsOfEachAccount(t *testing.T) {
	known := []lifecycle.KnownPerson{
		{EmployeeNumber: "1", Email: "a@x.nl", FirstName: "Ann", Prefix: "van", LastName: "Dijk", Known: true,
			ExportedRow: exportedRow(map[string]string{"employee_number": "1", "email": "a@x.nl", "first_name": "Ann", "prefix": "van", "last_name": "Dijk van"})},
		{EmployeeNumber: "2", Email: "left@x.nl", FirstName: "Lea", LastName: "Ver", LeftAt: "2026-03-31T00:00:00Z", Known: true},
		{EmployeeNumber: "3", Email: "blocked@x.nl", Blocked: true, BlockReason: "fraud\x1b[2J", Known: true},
		{EmployeeNumber: "4", ExportedRow: exportedRow(map[string]string{"employee_number": "4", "email": "gone@x.nl"})},
		// An old address of person 5 another person now has: the exported
		// person wins the match by email.
		{EmployeeNumber: "5", Email: "shared@x.nl", LeftAt: "2025-01-01", Known: true},
		{EmployeeNumber: "6", Email: "shared@x.nl", Known: true, ExportedRow: exportedRow(map[string]string{"employee_number": "6", "email": "shared@x.nl"})},
	}
	m := Mapping{Columns: map[string]string{"email": "E", "active": "S", "first_name": "F", "last_name": "L"}, ActiveValues: []string{"on"}}
	accounts := []Account{
		{Line: 2, Email: "A@x.nl", FirstName: "ann", LastName: "van Dijk", Active: true}, // names match with the prefix
		{Line: 3, Email: "left@x.nl", Active: true},
		{Line: 4, Email: "blocked@x.nl", Active: true},
		{Line: 5, Email: "gone@x.nl", Active: false, Status: "off"},
		{Line: 6, Email: "shared@x.nl", FirstName: "Sam", Active: true},
	}
	rep, err := Compare(accounts, known, m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"only_there": {`3 left@x.nl: active there, not in spendsync's last export: Lea Ver, employee 2, left on 2026-03-31 (a missed leaver?)`,
			`4 blocked@x.nl: active there, not in spendsync's last export: employee 3, blocked in spendsync: "fraud\x1b[2J"`},
		"missing_there": {`5 gone@x.nl: inactive there ("off") but in the last export: did its import fail?`},
		"different":     {`6 shared@x.nl: first_name there "Sam", spendsync exported ""`},
	}
	got := map[string][]string{}
	for name, items := range map[string][]Item{"only_there": rep.OnlyThere, "missing_there": rep.MissingThere, "different": rep.Different} {
		for _, it := range items {
			got[name] = append(got[name], strings.Join([]string{strconv.Itoa(it.Line), it.Email + ":", it.Detail}, " "))
		}
	}
	for name := range want {
		if strings.Join(got[name], "\n") != strings.Join(want[name], "\n") {
			t.Errorf("%s:\ngot  %q\nwant %q", name, got[name], want[name])
		}
	}
}
