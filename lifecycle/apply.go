package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/spendsync/spendsync/connector"
)

// Apply writes the plan (state changes, events, rejects) in one
// transaction: a crash leaves the previous state intact.
func (s *Store) Apply(ctx context.Context, plan *Plan, runID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t := now()
		if err := withStmt(tx, `INSERT INTO persons (employee_number, source, first_name, prefix, last_name, partner_prefix,
			partner_last_name, naming_convention, gender, email, username, blocked, block_reason, left_at, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)
			ON CONFLICT (employee_number) DO UPDATE SET source = excluded.source, first_name = excluded.first_name,
				prefix = excluded.prefix, last_name = excluded.last_name, partner_prefix = excluded.partner_prefix,
				partner_last_name = excluded.partner_last_name, naming_convention = excluded.naming_convention,
				gender = excluded.gender, email = excluded.email, username = excluded.username,
				left_at = NULL, updated = excluded.updated`, func(st *sql.Stmt) error {
			for _, emp := range sortedKeys(plan.persons) {
				p := plan.persons[emp]
				if _, err := st.Exec(p.EmployeeNumber, p.Source, p.FirstName, p.Prefix, p.LastName, p.PartnerPrefix,
					p.PartnerLastName, p.NamingConvention, p.Gender, p.Email, p.Username, p.Blocked, p.BlockReason, t); err != nil {
					return fmt.Errorf("store person %s: %w", emp, err)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		for _, emp := range plan.leave {
			if _, err := tx.Exec(`UPDATE persons SET left_at = ?, updated = ? WHERE employee_number = ?`, t, t, emp); err != nil {
				return fmt.Errorf("record leaver %s: %w", emp, err)
			}
			if _, err := tx.Exec(`DELETE FROM contracts WHERE employee_number = ?`, emp); err != nil {
				return fmt.Errorf("remove contracts of %s: %w", emp, err)
			}
		}
		for _, c := range plan.delContracts {
			if _, err := tx.Exec(`DELETE FROM contracts WHERE employee_number = ? AND key = ?`, c.EmployeeNumber, c.Key); err != nil {
				return fmt.Errorf("remove contract %s of %s: %w", c.Key, c.EmployeeNumber, err)
			}
		}
		if err := withStmt(tx, `INSERT INTO contracts (`+contractCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (employee_number, key) DO UPDATE SET contract_id = excluded.contract_id,
				start_date = excluded.start_date, end_date = excluded.end_date, ou_code = excluded.ou_code,
				ou_name = excluded.ou_name, function_code = excluded.function_code, function_name = excluded.function_name`,
			func(st *sql.Stmt) error {
				for _, c := range plan.putContracts {
					if _, err := st.Exec(c.EmployeeNumber, c.Key, c.ContractID, c.StartDate, c.EndDate, c.OUCode, c.OUName,
						c.FunctionCode, c.FunctionName); err != nil {
						return fmt.Errorf("store contract %s of %s: %w", c.Key, c.EmployeeNumber, err)
					}
				}
				return nil
			}); err != nil {
			return err
		}
		if err := insertEvents(tx, plan.Events, runID, t); err != nil {
			return err
		}
		return insertRejects(tx, plan.Source, plan.Rejects, runID, t)
	})
}

func withStmt(tx *sql.Tx, query string, fn func(*sql.Stmt) error) error {
	st, err := tx.Prepare(query)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer st.Close()
	return fn(st)
}

func insertEvents(tx *sql.Tx, events []Event, runID int64, t string) error {
	return withStmt(tx, `INSERT INTO events (time, run_id, actor, source, kind, employee_number, details)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, func(st *sql.Stmt) error {
		for _, e := range events {
			details, err := json.Marshal(e.Details)
			if err != nil {
				return fmt.Errorf("encode event: %w", err)
			}
			if _, err := st.Exec(t, runID, Actor(), e.Source, e.Kind, e.EmployeeNumber, string(details)); err != nil {
				return fmt.Errorf("record event %s: %w", e.Kind, err)
			}
		}
		return nil
	})
}

func insertRejects(tx *sql.Tx, source string, rejects []connector.Reject, runID int64, t string) error {
	return withStmt(tx, `INSERT INTO rejects (run_id, time, source, file, line, col, reason, raw, employee_number)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, func(st *sql.Stmt) error {
		for _, r := range rejects {
			if _, err := st.Exec(runID, t, source, r.File, r.Line, r.Column, r.Reason, r.Raw, r.EmployeeNumber); err != nil {
				return fmt.Errorf("record reject: %w", err)
			}
		}
		return nil
	})
}

// Record writes events outside a plan (manual actions, force, deliveries).
func (s *Store) Record(ctx context.Context, runID int64, events ...Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertEvents(tx, events, runID, now()) })
}
