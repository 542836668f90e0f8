package lifecycle

import (
	"database/sql"
	"fmt"

	"github.com/spendsync/spendsync/internal/model"
)

// stored is a person as the database holds it.
type stored struct {
	model.Person
	Source      string
	Left        bool
	Blocked     bool
	BlockReason string
}

// State is the stored persons and contracts, loaded once per run so every
// source of the run is diffed against what the earlier sources left.
type State struct {
	persons   map[string]*stored
	contracts map[string]map[string]model.Contract // employee number -> key -> contract
}

const personCols = `employee_number, source, first_name, prefix, last_name, partner_prefix, partner_last_name,
	naming_convention, gender, email, username, blocked, block_reason, left_at IS NOT NULL`

func scanPerson(sc interface{ Scan(...any) error }) (*stored, error) {
	p := &stored{}
	err := sc.Scan(&p.EmployeeNumber, &p.Source, &p.FirstName, &p.Prefix, &p.LastName, &p.PartnerPrefix,
		&p.PartnerLastName, &p.NamingConvention, &p.Gender, &p.Email, &p.Username, &p.Blocked, &p.BlockReason, &p.Left)
	return p, err
}

const contractCols = `employee_number, key, contract_id, start_date, end_date, ou_code, ou_name, function_code, function_name`

func scanContract(sc interface{ Scan(...any) error }) (model.Contract, error) {
	var c model.Contract
	err := sc.Scan(&c.EmployeeNumber, &c.Key, &c.ContractID, &c.StartDate, &c.EndDate, &c.OUCode, &c.OUName, &c.FunctionCode, &c.FunctionName)
	return c, err
}

// LoadState reads all persons and contracts.
func (s *Store) LoadState() (*State, error) {
	st := &State{persons: map[string]*stored{}, contracts: map[string]map[string]model.Contract{}}
	rows, err := s.db.Query(`SELECT ` + personCols + ` FROM persons`)
	if err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	if err := eachRow(rows, func() error {
		p, err := scanPerson(rows)
		st.persons[p.EmployeeNumber] = p
		return err
	}); err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	rows, err = s.db.Query(`SELECT ` + contractCols + ` FROM contracts`)
	if err != nil {
		return nil, fmt.Errorf("load contracts: %w", err)
	}
	if err := eachRow(rows, func() error {
		c, err := scanContract(rows)
		st.contractsOf(c.EmployeeNumber)[c.Key] = c
		return err
	}); err != nil {
		return nil, fmt.Errorf("load contracts: %w", err)
	}
	return st, nil
}

func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
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
