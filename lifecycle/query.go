package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
	"zombiezen.com/go/sqlite"
)

// EventFilter selects events; zero fields match everything.
type EventFilter struct {
	EmployeeNumber string
	Kind           string // exact, or a prefix ending in "." such as "person."
	Since, Until   string // RFC 3339, inclusive
	RunID          int64
	Limit          int // newest N when set
}

// Events returns matching events, oldest first.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	var where []string
	var args []any
	if f.EmployeeNumber != "" {
		where, args = append(where, "employee_number = ?"), append(args, f.EmployeeNumber)
	}
	if strings.HasSuffix(f.Kind, ".") {
		where, args = append(where, "substr(kind, 1, ?) = ?"), append(args, len(f.Kind), f.Kind)
	} else if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.Since != "" {
		where, args = append(where, "time >= ?"), append(args, f.Since)
	}
	if f.Until != "" {
		where, args = append(where, "time <= ?"), append(args, f.Until)
	}
	if f.RunID != 0 {
		where, args = append(where, "run_id = ?"), append(args, f.RunID)
	}
	q := `SELECT id, time, run_id, actor, source, kind, employee_number, details FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit > 0 {
		q = `SELECT * FROM (` + q + ` ORDER BY id DESC LIMIT ?) ORDER BY id`
		args = append(args, f.Limit)
	} else {
		q += " ORDER BY id"
	}
	var out []Event
	err := s.each(ctx, q, func(st *sqlite.Stmt) error {
		e, err := readEvent(st)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// RejectRow is a stored reject.
type RejectRow struct {
	ID             int64  `json:"id"`
	RunID          int64  `json:"run_id"`
	Time           string `json:"time"`
	Source         string `json:"source"`
	File           string `json:"file"`
	Line           int    `json:"line"`
	Column         string `json:"column"`
	Reason         string `json:"reason"`
	EmployeeNumber string `json:"employee_number"`
	Raw            string `json:"raw"`
}

// Rejects returns the rejects of a run; runID 0 means the last run that
// ingested anything.
func (s *Store) Rejects(ctx context.Context, runID int64) ([]RejectRow, error) {
	if runID == 0 {
		_, err := s.one(ctx, `SELECT COALESCE(MAX(id), 0) FROM runs WHERE command IN ('ingest', 'run') AND finished IS NOT NULL`, []any{&runID})
		if err != nil {
			return nil, fmt.Errorf("find last ingest: %w", err)
		}
	}
	var out []RejectRow
	err := s.each(ctx, `SELECT id, run_id, time, source, file, line, col, reason, employee_number, raw
		FROM rejects WHERE run_id = ? ORDER BY id`, func(st *sqlite.Stmt) error {
		var p RejectRow
		scan(st, &p.ID, &p.RunID, &p.Time, &p.Source, &p.File, &p.Line, &p.Column, &p.Reason, &p.EmployeeNumber, &p.Raw)
		out = append(out, p)
		return nil
	}, runID)
	if err != nil {
		return nil, fmt.Errorf("read rejects: %w", err)
	}
	return out, nil
}

// PersonRecord is a person with its contracts, as stored.
type PersonRecord struct {
	model.Person
	Source      string           `json:"source"`
	Left        bool             `json:"left"`
	Blocked     bool             `json:"blocked"`
	BlockReason string           `json:"block_reason,omitempty"`
	Contracts   []model.Contract `json:"contracts"`
}

// ErrNotFound means no person has that employee number.
var ErrNotFound = errors.New("no such person")

// Person returns one person with its contracts.
func (s *Store) Person(ctx context.Context, emp string) (*PersonRecord, error) {
	var p *Person
	err := s.do(ctx, func(c *sqlite.Conn) error {
		_, err := first(c, loadPerson, func(st *sqlite.Stmt) { p = readPerson(st) }, emp)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read person %s: %w", emp, err)
	}
	if p == nil {
		return nil, fmt.Errorf("employee number %s: %w", show.Quote(emp), ErrNotFound)
	}
	rec := &PersonRecord{Person: p.Person, Source: p.Source, Left: p.Left, Blocked: p.Blocked, BlockReason: p.BlockReason}
	err = s.each(ctx, `SELECT `+contractCols+` FROM contracts WHERE employee_number = ? ORDER BY start_date, key`, func(st *sqlite.Stmt) error {
		rec.Contracts = append(rec.Contracts, readContract(st, 0))
		return nil
	}, emp)
	if err != nil {
		return nil, fmt.Errorf("read contracts of %s: %w", emp, err)
	}
	return rec, nil
}

// Run is one recorded command.
type Run struct {
	ID       int64           `json:"id"`
	Command  string          `json:"command"`
	Started  string          `json:"started"`
	Finished string          `json:"finished,omitempty"`
	Actor    string          `json:"actor"`
	ExitCode *int            `json:"exit_code"`
	Summary  json.RawMessage `json:"summary"`
}

// LastRuns returns the newest run of each command.
func (s *Store) LastRuns(ctx context.Context) ([]Run, error) {
	var out []Run
	err := s.each(ctx, `SELECT id, command, started, COALESCE(finished, ''), actor, exit_code, summary
		FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY command) ORDER BY command`, func(st *sqlite.Stmt) error {
		var r Run
		var summary string
		scan(st, &r.ID, &r.Command, &r.Started, &r.Finished, &r.Actor)
		if !st.ColumnIsNull(5) {
			c := st.ColumnInt(5)
			r.ExitCode = &c
		}
		summary = st.ColumnText(6)
		r.Summary = json.RawMessage(summary)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query runs: %w", err)
	}
	return out, nil
}

// Counts returns the number of current persons, contracts and blocked persons.
func (s *Store) Counts(ctx context.Context) (persons, contracts, blocked int, err error) {
	_, err = s.one(ctx, `SELECT
		(SELECT COUNT(*) FROM persons WHERE left_at IS NULL),
		(SELECT COUNT(*) FROM contracts),
		(SELECT COUNT(*) FROM persons WHERE left_at IS NULL AND blocked)`, []any{&persons, &contracts, &blocked})
	if err != nil {
		err = fmt.Errorf("count state: %w", err)
	}
	return
}

// RunSummary returns the JSON summary the run recorded ("{}" when none).
func (s *Store) RunSummary(ctx context.Context, runID int64) (string, error) {
	var summary string
	found, err := s.one(ctx, `SELECT summary FROM runs WHERE id = ?`, []any{&summary}, runID)
	if err == nil && !found {
		err = errNoRow
	}
	if err != nil {
		return "", fmt.Errorf("read summary of run %d: %w", runID, err)
	}
	return summary, nil
}

// EventKinds lists the distinct event kinds recorded (read off the kind
// index), for shell completion.
func (s *Store) EventKinds(ctx context.Context) ([]string, error) {
	return s.strings(ctx, `SELECT DISTINCT kind FROM events ORDER BY kind`)
}

// EmployeeNumbers lists up to limit stored employee numbers starting with
// prefix, for shell completion.
func (s *Store) EmployeeNumbers(ctx context.Context, prefix string, limit int) ([]string, error) {
	return s.strings(ctx, `SELECT employee_number FROM persons WHERE substr(employee_number, 1, length(?1)) = ?1
		ORDER BY employee_number LIMIT ?2`, prefix, limit)
}

func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	var out []string
	err := s.each(ctx, query, func(st *sqlite.Stmt) error {
		out = append(out, st.ColumnText(0))
		return nil
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("list for completion: %w", err)
	}
	return out, nil
}

// DumpStatus is whether a person is in the last export and, if that export
// held it back, why (the export.held details).
type DumpStatus struct {
	Exported bool     `json:"in_last_export"`
	Held     []string `json:"held_back,omitempty"`
}

// DumpStatus returns where the last export left the person.
func (s *Store) DumpStatus(ctx context.Context, emp string) (*DumpStatus, error) {
	var d DumpStatus
	_, err := s.one(ctx, `SELECT EXISTS (SELECT 1 FROM exported_persons WHERE employee_number = ?)`, []any{&d.Exported}, emp)
	if err != nil {
		return nil, fmt.Errorf("read the last export of %s: %w", emp, err)
	}
	held, err := s.strings(ctx, `SELECT details FROM export_held WHERE employee_number = ? ORDER BY details`, emp)
	if err != nil {
		return nil, fmt.Errorf("read the last export of %s: %w", emp, err)
	}
	d.Held = held
	return &d, nil
}

// readEvent reads one row of id, time, run_id, actor, source, kind,
// employee_number, details.
func readEvent(st *sqlite.Stmt) (Event, error) {
	var e Event
	var details string
	scan(st, &e.ID, &e.Time, &e.RunID, &e.Actor, &e.Source, &e.Kind, &e.EmployeeNumber, &details)
	if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
		return e, fmt.Errorf("event %d: %w", e.ID, err)
	}
	return e, nil
}
