package pipeline

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
