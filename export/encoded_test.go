package export_test

import (
	"encoding/json"
	"testing"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/model"
)

// encodingDump is a Dump that takes changes encoded, as the export's sink
// does.
type encodingDump struct {
	*export.Dump
	key, value string
	encoded    []string // kind, employee, details
}

func (d *encodingDump) DetailExtra() (string, string) { return d.key, d.value }

func (d *encodingDump) EncodedChange(kind, emp string, details []byte) error {
	d.encoded = append(d.encoded, kind, emp, string(details))
	return nil
}

func TestEncodedChangesAreTheirDetailsMarshalled(t *testing.T) {
	c := cfg(t, func(c *export.Config) {
		c.Persons.Columns = []export.Column{{Header: "naam", Field: "first_name"}, {Header: "<id>", Field: "employee_number"},
			{Header: "naam", Field: "last_name"}, {Header: "a&b", Field: "username"}}
		c.Roles.Columns = []export.Column{{Header: "z", Field: "ou_name"}, {Header: "row", Field: "employee_number"},
			{Header: "z", Field: "function_code"}}
	})
	odd := "<\"é\u2028\xff\\\n>"
	first := []export.Input{
		person("001", "A"+odd, "a", model.Contract{Key: "1", OUName: "X", FunctionCode: "F"}, model.Contract{Key: "2", OUName: odd}),
		person("002", "B", "b", model.Contract{Key: "1", OUName: "X"}),
	}
	second := []export.Input{
		person("001", "A2", "a", model.Contract{Key: "1", OUName: "Y", FunctionCode: "F"}),
		person("003", "C", odd, model.Contract{Key: "1", OUName: "X"}),
	}
	for _, extra := range [][2]string{{"export_id", "20240101T000000Z-1"}, {"role", "clash"}, {"a", odd}, {"zz", "last"}} {
		prev := export.NewPrevious()
		for _, in := range [][]export.Input{first, second} {
			want := export.Build(in, prev, "2024-01-01", c, rules)
			got := &encodingDump{Dump: &export.Dump{}, key: extra[0], value: extra[1]}
			w := export.NewWalker(prev.Cursor(), got, "2024-01-01", c, rules)
			for i := range in {
				if err := w.Person(&in[i].Person, in[i].Blocked, in[i].Contracts); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			var enc []string
			for _, ch := range want.Changes {
				if ch.Kind == export.AccountUpdate {
					continue // comes through Change
				}
				ch.Details[extra[0]] = extra[1]
				js, err := json.Marshal(ch.Details)
				if err != nil {
					t.Fatal(err)
				}
				enc = append(enc, ch.Kind, ch.EmployeeNumber, string(js))
			}
			if len(enc) == 0 || len(enc) != len(got.encoded) {
				t.Fatalf("extra %q: %d encoded changes, want %d", extra, len(got.encoded)/3, len(enc)/3)
			}
			for i := range enc {
				if enc[i] != got.encoded[i] {
					t.Errorf("extra %q: change %d:\n got %s\nwant %s", extra, i/3, got.encoded[i], enc[i])
				}
			}
			if updates := export.Count(want.Changes, export.AccountUpdate); len(got.Changes) != updates {
				t.Errorf("extra %q: %d updates through Change, want %d", extra, len(got.Changes), updates)
			}
			prev = want.PersonsOf()
		}
	}
}
