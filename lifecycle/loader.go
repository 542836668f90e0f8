package lifecycle

import (
	"context"
	"fmt"

	"github.com/spendsync/spendsync/internal/model"
	"zombiezen.com/go/sqlite"
)

// Loader fetches single stored persons and their contracts: the ingest
// asks for the few whose hashes changed instead of loading every one.
// Its queries stay prepared on the store's connection.
type Loader struct {
	s *Store
}

var (
	loadPerson    = `SELECT ` + personCols + ` FROM persons WHERE employee_number = ?`
	loadContracts = `SELECT ` + contractCols + ` FROM contracts WHERE employee_number = ?`
)

// NewLoader makes a Loader; Close it.
func (s *Store) NewLoader(ctx context.Context) (*Loader, error) { return &Loader{s: s}, nil }

// Close releases the Loader.
func (l *Loader) Close() {}

// Person returns the stored person, or nil.
func (l *Loader) Person(ctx context.Context, emp string) (*Person, error) {
	var p *Person
	err := l.s.do(ctx, func(c *sqlite.Conn) error {
		_, err := first(c, loadPerson, func(st *sqlite.Stmt) { p = readPerson(st) }, emp)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load person %s: %w", emp, err)
	}
	return p, nil
}

// Contracts returns the person's stored contracts by key.
func (l *Loader) Contracts(ctx context.Context, emp string) (map[string]model.Contract, error) {
	out := map[string]model.Contract{}
	err := l.s.do(ctx, func(c *sqlite.Conn) error {
		return each(c, loadContracts, func(st *sqlite.Stmt) error {
			c := readContract(st, 0)
			out[c.Key] = c
			return nil
		}, emp)
	})
	if err != nil {
		return nil, fmt.Errorf("load contracts of %s: %w", emp, err)
	}
	return out, nil
}
