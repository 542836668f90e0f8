package lifecycle

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/spendsync/spendsync/internal/model"
)

// Person is a person as the store holds it.
type Person struct {
	model.Person
	Source      string
	Left        bool
	Blocked     bool
	BlockReason string
}

const personCols = `employee_number, source, first_name, prefix, last_name, partner_prefix, partner_last_name,
	naming_convention, gender, email, username, blocked, block_reason, left_at IS NOT NULL`

func scanPerson(sc interface{ Scan(...any) error }) (*Person, error) {
	p := &Person{}
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

// EachPerson calls fn for every stored person, leavers included.
func (s *Store) EachPerson(ctx context.Context, fn func(*Person)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+personCols+` FROM persons`)
	if err != nil {
		return fmt.Errorf("load persons: %w", err)
	}
	if err := eachRow(rows, func() error {
		p, err := scanPerson(rows)
		if err == nil {
			fn(p)
		}
		return err
	}); err != nil {
		return fmt.Errorf("load persons: %w", err)
	}
	return nil
}

// EachContract calls fn for every stored contract.
func (s *Store) EachContract(ctx context.Context, fn func(model.Contract)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+contractCols+` FROM contracts`)
	if err != nil {
		return fmt.Errorf("load contracts: %w", err)
	}
	if err := eachRow(rows, func() error {
		c, err := scanContract(rows)
		if err == nil {
			fn(c)
		}
		return err
	}); err != nil {
		return fmt.Errorf("load contracts: %w", err)
	}
	return nil
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
