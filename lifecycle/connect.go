package lifecycle

import (
	"context"
	"fmt"

	"zombiezen.com/go/sqlite"
)

// Event kinds of the SCIM target (connect/): what spendsync told the
// login layer, or failed to.
const (
	ConnectSuspended   = "connect.suspended"
	ConnectReactivated = "connect.reactivated"
	ConnectCreated     = "connect.created"
	ConnectUpdated     = "connect.updated"
	ConnectFailed      = "connect.failed"
)

// ConnectState is what spendsync last did to, or saw of, one person's user
// at the SCIM service.
type ConnectState struct {
	SCIMID  string `json:"scim_id,omitempty"`
	Matched string `json:"matched,omitempty"` // the value the user was last found by
	// Active is the user's flag as last set or seen; nil: no user there
	// (or never looked).
	Active      *bool  `json:"active"`
	Synced      string `json:"-"` // hash of the attributes last written or seen equal
	SuspendedAt string `json:"suspended_at,omitempty"`
	Error       string `json:"error,omitempty"`
	Failures    int    `json:"failures,omitempty"`
	Attempted   string `json:"attempted,omitempty"`
}

// ConnectPerson is a person with its SCIM state, for the sync.
type ConnectPerson struct {
	PersonRecord
	State ConnectState
	Known bool // a state row exists
}

// ConnectCandidates lists the persons the SCIM sync must look at. With
// all false: those whose access changed since the last call (left or
// blocked with a user not known suspended, back with a user spendsync
// suspended) and those whose last call failed. With all: every person.
func (s *Store) ConnectCandidates(ctx context.Context, all bool) ([]ConnectPerson, error) {
	where := ` WHERE c.error != '' OR ((p.left_at IS NOT NULL OR p.blocked) AND (c.active IS NULL OR c.active = 1))
		OR (p.left_at IS NULL AND NOT p.blocked AND c.active = 0)`
	if all {
		where = ""
	}
	var out []ConnectPerson
	err := s.each(ctx, `SELECT p.employee_number, p.first_name, p.prefix, p.last_name, p.email, p.username,
		p.left_at IS NOT NULL, p.blocked, c.employee_number IS NOT NULL, coalesce(c.scim_id, ''), coalesce(c.matched, ''), c.active,
		coalesce(c.synced, ''), coalesce(c.suspended_at, ''), coalesce(c.error, ''), coalesce(c.failures, 0), coalesce(c.attempted, '')
		FROM persons p LEFT JOIN connect_state c ON c.employee_number = p.employee_number`+where+` ORDER BY p.employee_number`,
		func(row *sqlite.Stmt) error {
			var cp ConnectPerson
			p, st := &cp.PersonRecord, &cp.State
			scan(row, &p.EmployeeNumber, &p.FirstName, &p.Prefix, &p.LastName, &p.Email, &p.Username, &p.Left, &p.Blocked,
				&cp.Known, &st.SCIMID, &st.Matched, &st.Active, &st.Synced, &st.SuspendedAt, &st.Error, &st.Failures, &st.Attempted)
			out = append(out, cp)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the SCIM state: %w", err)
	}
	return out, nil
}

// ConnectResult is one person's outcome of a SCIM sync: its new state and
// the event, if any, to record.
type ConnectResult struct {
	EmployeeNumber string
	State          ConnectState
	Kind           string // "" records no event
	Details        map[string]any
}

// RecordConnect stores the outcomes and their events in one transaction.
func (s *Store) RecordConnect(ctx context.Context, runID int64, results []ConnectResult) error {
	if len(results) == 0 {
		return nil
	}
	return s.tx(ctx, func(c *sqlite.Conn) error {
		t := now()
		var events []Event
		for _, r := range results {
			st := r.State
			var active any
			if st.Active != nil {
				active = *st.Active
			}
			if err := exec(c, `INSERT INTO connect_state (employee_number, scim_id, matched, active, synced, suspended_at, error, failures, attempted)
				VALUES (?, ?, ?, ?, ?, nullif(?, ''), ?, ?, ?)
				ON CONFLICT (employee_number) DO UPDATE SET scim_id = excluded.scim_id, matched = excluded.matched, active = excluded.active,
				synced = excluded.synced, suspended_at = excluded.suspended_at, error = excluded.error, failures = excluded.failures,
				attempted = excluded.attempted`,
				r.EmployeeNumber, st.SCIMID, st.Matched, active, st.Synced, st.SuspendedAt, st.Error, st.Failures, t); err != nil {
				return fmt.Errorf("store the SCIM state of %s: %w", r.EmployeeNumber, err)
			}
			if r.Kind != "" {
				events = append(events, Event{Source: "connect", Kind: r.Kind, EmployeeNumber: r.EmployeeNumber, Details: r.Details})
			}
		}
		return insertEvents(c, events, runID, t)
	})
}

// ConnectStateOf is one person's SCIM state; nil when spendsync never
// called the service for it.
func (s *Store) ConnectStateOf(ctx context.Context, emp string) (*ConnectState, error) {
	var st ConnectState
	found, err := s.one(ctx, `SELECT scim_id, matched, active, synced, coalesce(suspended_at, ''), error, failures, coalesce(attempted, '')
		FROM connect_state WHERE employee_number = ?`, []any{&st.SCIMID, &st.Matched, &st.Active, &st.Synced, &st.SuspendedAt, &st.Error, &st.Failures, &st.Attempted}, emp)
	if err != nil {
		return nil, fmt.Errorf("read the SCIM state of %s: %w", emp, err)
	}
	if !found {
		return nil, nil
	}
	return &st, nil
}

// ConnectFailures counts the persons whose last SCIM call failed, with
// the oldest failing attempt's person.
func (s *Store) ConnectFailures(ctx context.Context) (n int, example string, err error) {
	_, err = s.one(ctx, `SELECT count(*), coalesce(min(employee_number), '') FROM connect_state WHERE error != ''`, []any{&n, &example})
	if err != nil {
		return 0, "", fmt.Errorf("read the SCIM failures: %w", err)
	}
	return n, example, nil
}
