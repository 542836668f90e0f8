package export_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/spendsync/spendsync/export"
)

func TestStoredRowsRoundTripAnyText(t *testing.T) {
	rows := []map[string]string{
		{},
		{"employee_number": "001", "last_name": ""},
		{"first_name": `a,b:"c"\d`, "last_name": "two\nlines\x00\x1f😀", "prefix": "'); DROP TABLE x;--", "email": "=1+1"},
	}
	for _, m := range rows {
		r := export.PersonRow(m)
		got, err := export.DecodePerson(export.EncodePerson(r))
		if err != nil || !slices.Equal(got, r) {
			t.Fatalf("%q -> %q -> %q, %v", r, export.EncodePerson(r), got, err)
		}
	}
	legacy, err := export.DecodePerson(`{"employee_number":"001","last_name":"Boele","gone":"x"}`)
	if err != nil || legacy.Get("last_name") != "Boele" {
		t.Fatalf("JSON rows of earlier versions: %v %v", legacy, err)
	}
	// A role row stored without the role field (no role_map) reads as an
	// empty role.
	role, err := export.DecodeRole(`employee_number:"001",ou_name:"X"`)
	if err != nil || !slices.Equal(role, export.RoleRow(map[string]string{"employee_number": "001", "ou_name": "X"})) {
		t.Fatalf("role %q %v", role, err)
	}
	for _, bad := range []string{"k", `k:"unterminated`, `k:x`} {
		if _, err := export.DecodePerson(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestHashSeesEveryFieldAndTheRoles(t *testing.T) {
	p := &export.PersonRows{Person: export.PersonRow(map[string]string{"employee_number": "1", "email": "a"}),
		Roles: []export.Row{export.RoleRow(map[string]string{"employee_number": "1", "ou_code": "X"})}}
	h := export.Hash(p)
	q := &export.PersonRows{Person: slices.Clone(p.Person), Roles: []export.Row{slices.Clone(p.Roles[0])}}
	if !bytes.Equal(export.Hash(q), h) {
		t.Fatal("equal rows, different hashes")
	}
	q.Roles[0][len(q.Roles[0])-1] = "R"
	if bytes.Equal(export.Hash(q), h) {
		t.Fatal("a role's field is not in the hash")
	}
	q.Roles = nil
	q.Person[1] = "b"
	if bytes.Equal(export.Hash(q), h) || bytes.Equal(export.Hash(q), export.Hash(&export.PersonRows{Person: p.Person})) {
		t.Fatal("a person field or the roles are not in the hash")
	}
}
