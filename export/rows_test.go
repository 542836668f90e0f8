package export_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/model"
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

// countingLast is a last export that counts the persons whose stored rows
// were read back, and can drop their hashes (rows stored by a version
// that kept none).
type countingLast struct {
	export.Last
	read     []string
	noHashes bool
}

func (c *countingLast) Next() (string, []byte, bool, error) {
	emp, hash, ok, err := c.Last.Next()
	if c.noHashes {
		hash = nil
	}
	return emp, hash, ok, err
}

func (c *countingLast) Rows(emp string) (*export.PersonRows, error) {
	c.read = append(c.read, emp)
	return c.Last.Rows(emp)
}

func TestWalkReadsBackOnlyTheStoredRowsOfPersonsThatChanged(t *testing.T) {
	c := cfg(t, nil)
	in := []export.Input{person("001", "A", "a", model.Contract{Key: "1", OUName: "X"}),
		person("002", "B", "b", model.Contract{Key: "1", OUName: "X"}),
		person("003", "C", "c", model.Contract{Key: "1", OUName: "X"})}
	prev := export.Build(in, empty(), "2024-01-01", c, rules).PersonsOf()
	in[1].Person.LastName = "B2"
	in = in[:2] // 003 leaves
	for _, noHashes := range []bool{false, true} {
		last := &countingLast{Last: prev.Cursor(), noHashes: noHashes}
		d := &export.Dump{}
		w := export.NewWalker(last, d, "2024-01-01", c, rules)
		for i := range in {
			if err := w.Person(&in[i].Person, false, in[i].Contracts); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ch := range d.Changes {
			kinds = append(kinds, ch.Kind+" "+ch.EmployeeNumber)
		}
		if want := "account.update 002,account.remove 003,role.revoke 003"; strings.Join(kinds, ",") != want {
			t.Errorf("hashes %v: changes %v, want %s", !noHashes, kinds, want)
		}
		wantRead, wantStored := "002,003", 1
		if noHashes {
			// Rows stored without a hash are compared field by field once,
			// without events, and stored again with their hash.
			wantRead, wantStored = "001,002,003", 2
		}
		if strings.Join(last.read, ",") != wantRead || len(d.Stored) != wantStored || strings.Join(d.Dropped, ",") != "003" {
			t.Errorf("hashes %v: read back %v, stored %d, dropped %v", !noHashes, last.read, len(d.Stored), d.Dropped)
		}
	}
}
