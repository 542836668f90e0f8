package ingest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The contracts file is read a second time only when a row of it must
// be kept (sourceFilter.KeepsNoContracts). These fail if that second
// pass were skipped when a changed contract, a leaver's or an unknown
// person's rows needed it, or if skipping it changed an event or the
// plan's summary.
func TestTheSecondContractsPassIsSkippedOnlyWhenItWouldKeepNoRow(t *testing.T) {
	persons := strings.Split(rawPersons, "\n")
	contracts := strings.Split(rawContracts, "\n")
	const none = ", 0 removed, 0 rejected"
	for _, c := range []struct {
		name               string
		persons, contracts string
		want               []string
	}{
		{"only a persons row changed", withLine(persons, 2, "002;Anna;Jansem;anna@example.nl;B"), rawContracts,
			[]string{"person.changed 002", "6 rows, 0 joined, 1 changed, 0 left, 0 contracts added, 0 changed, 0 ended" + none}},
		{"only a contract changed", rawPersons, withLine(contracts, 2, "002;c2;2021-01-01;;FIN;HRA"),
			[]string{"contract.changed 002", "6 rows, 0 joined, 0 changed, 0 left, 0 contracts added, 1 changed, 0 ended" + none}},
		{"a contract added to an unchanged person", rawPersons, rawContracts + "003;c4;2023-01-01;;HR;HRA\n",
			[]string{"contract.added 003", "7 rows, 0 joined, 0 changed, 0 left, 1 contracts added, 0 changed, 0 ended" + none}},
		{"a person gone from the persons file, its contract still listed", withLine(persons, 3, ""), rawContracts,
			[]string{"person.left 003", "5 rows, 0 joined, 0 changed, 1 left, 0 contracts added, 0 changed, 0 ended" + none +
				", 1 orphan contract rows skipped; first orphan: 003 (hr-contracts.csv line 4)"}},
		{"a contract of a person no file lists", rawPersons, rawContracts + "099;c9;2023-01-01;;HR;HRA\n",
			[]string{"7 rows, 0 joined, 0 changed, 0 left, 0 contracts added, 0 changed, 0 ended" + none +
				", 1 orphan contract rows skipped; first orphan: 099 (hr-contracts.csv line 5)"}},
	} {
		e := newEnv(t)
		e.mustIngest(e.source("hr", "", rawPersons, rawContracts))
		evs, rep, err := e.ingest(Config{}, e.source("hr", "", c.persons, c.contracts))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, p := range rep.Plans {
			s := strings.TrimPrefix(p.Summary(), "hr: ")
			if p.OrphanExample != "" {
				s += "; first orphan: " + strings.ReplaceAll(p.OrphanExample, e.dir+string(filepath.Separator), "")
			}
			evs = append(evs, s)
		}
		eq(t, c.name, evs, c.want)
	}
}

// A person an earlier source of the run staged as a joiner has no index
// entry: the later source's contract rows for it are kept by the second
// pass, never summed.
func TestALaterSourceKeepsTheContractsOfAJoinerAnEarlierOneStaged(t *testing.T) {
	e := newEnv(t)
	hr2Persons := "employee_number;first_name;last_name;email;naming_convention\n005;Piet;Smit;piet@example.nl;B\n"
	hr2Contracts := contractsHeader + "005;c5;2020-01-01;;FIN;CTRL\n"
	e.mustIngest(e.source("hr", "", rawPersons, rawContracts), e.source("hr2", "", hr2Persons, hr2Contracts))
	got := e.mustIngest(e.source("hr", "", rawPersons+"004;Els;Bos;els@example.nl;B\n", rawContracts),
		e.source("hr2", "", hr2Persons+"004;Els;Bos;els@example.nl;B\n", hr2Contracts+"004;c6;2024-01-01;;HR;HRA\n"))
	eq(t, "day 2", got, []string{"person.joined 004", "contract.added 004"})
	p, err := e.store.Person(context.Background(), "004")
	if err != nil || p == nil || len(p.Contracts) != 1 || p.Contracts[0].Key != "c6" {
		t.Fatalf("004: %+v %v", p, err)
	}
}
