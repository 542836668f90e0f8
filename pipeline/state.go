package pipeline

import (
	"context"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// State is the stored persons and contracts, loaded once per run so every
// source of the run is diffed against what the earlier sources left.
type State struct {
	persons   map[string]*lifecycle.Person
	contracts map[string]map[string]model.Contract // employee number -> key -> contract
}

// loadState reads all persons and contracts from the store.
func loadState(ctx context.Context, s *lifecycle.Store) (*State, error) {
	st := &State{persons: map[string]*lifecycle.Person{}, contracts: map[string]map[string]model.Contract{}}
	if err := s.EachPerson(ctx, func(p *lifecycle.Person) { st.persons[p.EmployeeNumber] = p }); err != nil {
		return nil, err
	}
	if err := s.EachContract(ctx, func(c model.Contract) { st.contractsOf(c.EmployeeNumber)[c.Key] = c }); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *State) contractsOf(emp string) map[string]model.Contract {
	m := st.contracts[emp]
	if m == nil {
		m = map[string]model.Contract{}
		st.contracts[emp] = m
	}
	return m
}

// present reports whether emp is a current (not left) person.
func (st *State) present(emp string) bool {
	p, ok := st.persons[emp]
	return ok && !p.Left
}
