package lifecycle

import (
	"context"
	"fmt"

	"zombiezen.com/go/sqlite"
)

// KnownPerson is what the store knows of a person, for reconciling the
// target's own account list: the state, and the row the last export gave
// (empty when the person is not in it).
type KnownPerson struct {
	EmployeeNumber string
	Email          string
	Username       string
	FirstName      string
	Prefix         string
	LastName       string
	Blocked        bool
	BlockReason    string
	LeftAt         string
	// Known is false for a person the last export holds but the state
	// no longer does (forgotten by retention).
	Known       bool
	ExportedRow string
}

// KnownPersons returns every person of the state and of the last export.
func (s *Store) KnownPersons(ctx context.Context) ([]KnownPerson, error) {
	var out []KnownPerson
	err := s.each(ctx, `
		SELECT p.employee_number, p.email, p.username, p.first_name, p.prefix, p.last_name, p.blocked, p.block_reason,
			coalesce(p.left_at, ''), 1, coalesce(e.row, '')
		FROM persons p LEFT JOIN exported_persons e ON e.employee_number = p.employee_number
		UNION ALL
		SELECT e.employee_number, '', '', '', '', '', 0, '', '', 0, e.row
		FROM exported_persons e WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.employee_number = e.employee_number)
		ORDER BY 1`, func(st *sqlite.Stmt) error {
		var k KnownPerson
		scan(st, &k.EmployeeNumber, &k.Email, &k.Username, &k.FirstName, &k.Prefix, &k.LastName, &k.Blocked,
			&k.BlockReason, &k.LeftAt, &k.Known, &k.ExportedRow)
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read persons: %w", err)
	}
	return out, nil
}
