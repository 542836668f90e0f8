package ingest

import (
	"encoding/json"
	"testing"

	"github.com/spendsync/spendsync/internal/model"
)

// A joiner's person is stored exactly as a map of its non-empty fields
// would be: same keys, same order, same escaping.
func TestJoinedPersonRendersLikeAMapOfItsNonEmptyFields(t *testing.T) {
	for _, p := range []model.Person{
		{},
		{EmployeeNumber: "1", LastName: "Jansen"},
		{EmployeeNumber: "2", FirstName: "Zoë", Prefix: "van der", LastName: `O"Brien <b>&`, Email: "a@example.nl",
			Username: "u\u2028x", Gender: "\t", NamingConvention: "BP", PartnerLastName: `back\slash`},
	} {
		want := map[string]string{}
		for _, f := range model.PersonFields {
			if v := p.Field(f); v != "" {
				want[f] = v
			}
		}
		w, _ := json.Marshal(want)
		got, err := json.Marshal(joinedPerson{&p})
		if err != nil || string(got) != string(w) {
			t.Errorf("person %+v:\n got %s %v\nwant %s", p, got, err, w)
		}
	}
}

// A joiner's contracts are stored exactly as encoding/json renders the
// contracts: same keys, same order, same escaping.
func TestJoinedContractsRenderLikeTheContracts(t *testing.T) {
	plan := &Plan{putContracts: []*model.Contract{
		{EmployeeNumber: "9", Key: "x"},
		{EmployeeNumber: "1", Key: "c1", ContractID: "c1", StartDate: "2020-01-01", OUCode: "FIN", OUName: "Financiën & <Control>", FunctionCode: "CTRL"},
		{EmployeeNumber: "1", Key: "2020|A|B", StartDate: "2020-01-01", EndDate: "2024-12-31", OUName: `"quoted" \ back`, FunctionName: "tab\there"},
		{EmployeeNumber: "2", Key: "y"},
	}}
	for _, r := range [][2]int{{1, 2}, {1, 3}, {0, 4}} {
		want, _ := json.Marshal(plan.putContracts[r[0]:r[1]])
		got, err := json.Marshal(joinedContracts(plan.putContracts[r[0]:r[1]]))
		if err != nil || string(got) != string(want) {
			t.Errorf("contracts %v:\n got %s %v\nwant %s", r, got, err, want)
		}
	}
}

// A person.joined event is stored as the map of its details was: the
// person's non-empty fields, its contracts when it has any, the file and
// line, and the providers folded in when there are any.
func TestJoinedEventRendersLikeItsDetailsMap(t *testing.T) {
	p := model.Person{EmployeeNumber: "7", FirstName: "Zoë", LastName: "<Jansen>", Username: "z@example.nl"}
	plan := &Plan{putContracts: []*model.Contract{{EmployeeNumber: "7", Key: "c1", ContractID: "c1", OUCode: "FIN"}}}
	for _, tc := range []struct {
		event *joinedEvent
		want  map[string]any
	}{
		{&joinedEvent{person: joinedPerson{&p}, file: `C:\hr\"persons".csv`, line: 12},
			map[string]any{"person": map[string]string{"first_name": "Zoë", "last_name": "<Jansen>", "username": "z@example.nl"},
				"file": `C:\hr\"persons".csv`, "line": 12}},
		{&joinedEvent{person: joinedPerson{&p}, file: "p.csv", line: 2, contracts: plan.putContracts[0:1],
			providedBy: []string{"ad", "entra"}},
			map[string]any{"person": map[string]string{"first_name": "Zoë", "last_name": "<Jansen>", "username": "z@example.nl"},
				"file": "p.csv", "line": 2, "contracts": plan.putContracts, "provided_by": []string{"ad", "entra"}}},
	} {
		want, _ := json.Marshal(tc.want)
		got, err := json.Marshal(tc.event)
		if err != nil || string(got) != string(want) {
			t.Errorf("\n got %s %v\nwant %s", got, err, want)
		}
	}
}
