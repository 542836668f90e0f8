package lifecycle

import (
	"context"
	"fmt"

	"zombiezen.com/go/sqlite"
)

// The username is Spend Cloud's key: a changed username makes a new
// employee there and deactivates the old one. So the export holds a rename
// of an exported account unless rules.username_change allows all, or an
// operator allowed that person's (person allow-rename): an allowance waits
// in rename_allowed until an export lets the rename through.
const (
	AccountRenameHeld    = "account.rename_held"    // the dump keeps the old username
	AccountRenamed       = "account.renamed"        // a rename let through
	AccountRenameAllowed = "account.rename_allowed" // person allow-rename
)

// Allowance is an operator's leave for one person's rename.
type Allowance struct {
	Reason, Actor, Time string
}

// AllowRename records that the next export may let emp's username change
// through, with an event. An earlier allowance not yet used is replaced.
func (s *Store) AllowRename(ctx context.Context, runID int64, emp, reason string) error {
	return s.tx(ctx, func(c *sqlite.Conn) error {
		var n int
		if _, err := oneConn(c, `SELECT COUNT(*) FROM persons WHERE employee_number = ?`, []any{&n}, emp); err != nil {
			return fmt.Errorf("read person %s: %w", emp, err)
		}
		if n == 0 {
			return fmt.Errorf("employee number %q: %w", emp, ErrNotFound)
		}
		t := now()
		if err := exec(c, `INSERT INTO rename_allowed (employee_number, reason, actor, time, run_id) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (employee_number) DO UPDATE SET reason = excluded.reason, actor = excluded.actor, time = excluded.time,
				run_id = excluded.run_id`, emp, reason, Actor(), t, runID); err != nil {
			return fmt.Errorf("allow rename of %s: %w", emp, err)
		}
		return insertEvents(c, []Event{{Source: "manual", Kind: AccountRenameAllowed, EmployeeNumber: emp,
			Details: map[string]any{"reason": reason}}}, runID, t)
	})
}

// RenameAllowances are the allowances no export has used yet.
func (s *Store) RenameAllowances(ctx context.Context) (map[string]Allowance, error) {
	out := map[string]Allowance{}
	err := s.each(ctx, `SELECT employee_number, reason, actor, time FROM rename_allowed`, func(st *sqlite.Stmt) error {
		var emp string
		var a Allowance
		scan(st, &emp, &a.Reason, &a.Actor, &a.Time)
		out[emp] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rename allowances: %w", err)
	}
	return out, nil
}

// useAllowances removes the allowances an export used, in its transaction.
func useAllowances(c *sqlite.Conn, emps []string) error {
	for _, emp := range emps {
		if err := exec(c, `DELETE FROM rename_allowed WHERE employee_number = ?`, emp); err != nil {
			return fmt.Errorf("record export: %w", err)
		}
	}
	return nil
}
