package lifecycle

import (
	"context"
	"fmt"
	"github.com/spendsync/spendsync/internal/sqlrows"
	"strings"

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

// The stored columns are the canonical fields (model) between the store's
// own: a canonical field is a column of the same name.
var (
	personCols   = model.KeyField + ", source, " + strings.Join(model.PersonFields, ", ") + ", blocked, block_reason, left_at IS NOT NULL"
	contractCols = strings.Join(contractWriteCols, ", ")
)

func scanPerson(sc interface{ Scan(...any) error }) (*Person, error) {
	p := &Person{}
	dest := []any{&p.EmployeeNumber, &p.Source}
	dest = appendPtrs(dest, p.FieldPtrs())
	err := sc.Scan(append(dest, &p.Blocked, &p.BlockReason, &p.Left)...)
	return p, err
}

func scanContract(sc interface{ Scan(...any) error }) (model.Contract, error) {
	var c model.Contract
	err := sc.Scan(appendPtrs([]any{&c.EmployeeNumber, &c.Key}, c.FieldPtrs())...)
	return c, err
}

func appendPtrs(dest []any, ptrs []*string) []any {
	for _, p := range ptrs {
		dest = append(dest, p)
	}
	return dest
}

// EachPerson calls fn for every stored person, leavers included.
func (s *Store) EachPerson(ctx context.Context, fn func(*Person)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT `+personCols+` FROM persons`)
	if err != nil {
		return fmt.Errorf("load persons: %w", err)
	}
	if err := sqlrows.Each(rows, func() error {
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
	if err := sqlrows.Each(rows, func() error {
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
