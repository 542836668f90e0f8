package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/show"
)

// Apply writes the plan (state changes, events, rejects) in one
// transaction: a crash leaves the previous state intact.
func (s *Store) Apply(ctx context.Context, plan *Plan, runID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t := now()
		rows := make([][]any, 0, len(plan.persons))
		for _, emp := range slices.Sorted(maps.Keys(plan.persons)) {
			p := plan.persons[emp]
			rows = append(rows, []any{p.EmployeeNumber, p.Source, p.FirstName, p.Prefix, p.LastName, p.PartnerPrefix,
				p.PartnerLastName, p.NamingConvention, p.Gender, p.Email, p.Username, p.Blocked, p.BlockReason, nil, t})
		}
		if err := insertBatch(tx, "persons", personWriteCols, `ON CONFLICT (employee_number) DO UPDATE SET
				source = excluded.source, first_name = excluded.first_name, prefix = excluded.prefix,
				last_name = excluded.last_name, partner_prefix = excluded.partner_prefix,
				partner_last_name = excluded.partner_last_name, naming_convention = excluded.naming_convention,
				gender = excluded.gender, email = excluded.email, username = excluded.username,
				left_at = NULL, updated = excluded.updated`, rows); err != nil {
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
		rows = rows[:0]
		for _, c := range plan.putContracts {
			rows = append(rows, []any{c.EmployeeNumber, c.Key, c.ContractID, c.StartDate, c.EndDate, c.OUCode, c.OUName,
				c.FunctionCode, c.FunctionName})
		}
		if err := insertBatch(tx, "contracts", strings.Split(contractCols, ", "), `ON CONFLICT (employee_number, key) DO UPDATE SET
				contract_id = excluded.contract_id, start_date = excluded.start_date, end_date = excluded.end_date,
				ou_code = excluded.ou_code, ou_name = excluded.ou_name, function_code = excluded.function_code,
				function_name = excluded.function_name`, rows); err != nil {
			return err
		}
		if err := insertEvents(tx, plan.Events, runID, t); err != nil {
			return err
		}
		if err := insertRejects(tx, plan.Source, plan.Rejects, runID, t); err != nil {
			return err
		}
		if plan.changes() {
			if err := bumpGeneration(tx); err != nil {
				return err
			}
		}
		if plan.digest == "" {
			return nil
		}
		return recordSourceState(tx, plan, runID)
	})
}

var personWriteCols = []string{"employee_number", "source", "first_name", "prefix", "last_name", "partner_prefix",
	"partner_last_name", "naming_convention", "gender", "email", "username", "blocked", "block_reason", "left_at", "updated"}

func insertEvents(tx *sql.Tx, events []Event, runID int64, t string) error {
	actor := Actor()
	return insertEach(tx, "events", []string{"time", "run_id", "actor", "source", "kind", "employee_number", "details"}, "",
		len(events), func(i int) ([]any, error) {
			e := events[i]
			details, err := json.Marshal(e.Details)
			if err != nil {
				return nil, fmt.Errorf("encode event: %w", err)
			}
			return []any{t, runID, actor, e.Source, e.Kind, e.EmployeeNumber, string(details)}, nil
		})
}

func insertRejects(tx *sql.Tx, source string, rejects []connector.Reject, runID int64, t string) error {
	rows := make([][]any, 0, len(rejects))
	for _, r := range rejects {
		// A multi-megabyte broken row is evidence enough in its first 4 KiB.
		rows = append(rows, []any{runID, t, source, r.File, r.Line, r.Column, r.Reason, show.Raw(r.Raw), r.EmployeeNumber})
	}
	return insertBatch(tx, "rejects", []string{"run_id", "time", "source", "file", "line", "col", "reason", "raw", "employee_number"}, "", rows)
}

// Record writes events outside a plan (manual actions, force, deliveries).
func (s *Store) Record(ctx context.Context, runID int64, events ...Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertEvents(tx, events, runID, now()) })
}
