package lifecycle

import (
	"context"
	"fmt"
	"strings"
)

// The access report's queries. Each streams its rows (or returns an
// aggregate SQLite computed): none reads the event log whole. A period is
// [From, To) in RFC 3339 UTC, which compares as text with events.time.

// ReportPeriod bounds the report's events.
type ReportPeriod struct{ From, To string }

// ReportColumns names the export headers the report reads from the
// provisioning events' details: the person row's email and the role row's
// role profile (function code, or role from export.role_map).
type ReportColumns struct{ Email, Role string }

func jsonKey(prefix, header string) string {
	return prefix + `."` + strings.ReplaceAll(header, `"`, `\"`) + `"`
}

// ReportHasEvents reports whether any event falls in the period.
func (s *Store) ReportHasEvents(ctx context.Context, p ReportPeriod) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE time >= ? AND time < ?)`, p.From, p.To).Scan(&n); err != nil {
		return false, fmt.Errorf("read events: %w", err)
	}
	return n == 1, nil
}

// AccountsAt counts the accounts in the dump just before t: persons whose
// last account.create or account.remove before t is a create.
func (s *Store) AccountsAt(ctx context.Context, t string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM events e JOIN (
			SELECT MAX(id) AS id FROM events WHERE kind IN ('account.create', 'account.remove') AND time < ?
			GROUP BY employee_number) last ON e.id = last.id
		WHERE e.kind = 'account.create'`, t).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count accounts: %w", err)
	}
	return n, nil
}

// ReportCount is one cell of the per-month, per-role tables.
type ReportCount struct {
	Month, Kind, Role string
	N                 int
}

// ReportCounts counts account creates and removes and role grants and
// revokes per month (YYYY-MM) and, for roles, per role profile.
func (s *Store) ReportCounts(ctx context.Context, p ReportPeriod, cols ReportColumns) ([]ReportCount, error) {
	rows, err := s.query(ctx, `SELECT substr(time, 1, 7) AS month, kind,
			CASE WHEN kind LIKE 'role.%' THEN COALESCE(json_extract(details, ?), '') ELSE '' END AS role, COUNT(*)
		FROM events WHERE kind IN ('account.create', 'account.remove', 'role.grant', 'role.revoke') AND time >= ? AND time < ?
		GROUP BY month, kind, role ORDER BY month, kind, role`, jsonKey("$.role", cols.Role), p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("count changes: %w", err)
	}
	var out []ReportCount
	err = eachRow(rows, func() error {
		var c ReportCount
		if err := rows.Scan(&c.Month, &c.Kind, &c.Role, &c.N); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count changes: %w", err)
	}
	return out, nil
}

// ReportLeaver is one leaver's way out: the HR end date (empty when not
// known), when an ingest saw the leave, when an export removed the account
// and when a delivery first carried that export (or a later one). Empty
// times have not happened by the period's end.
type ReportLeaver struct {
	EmployeeNumber string
	HREndDate      string
	LeftSeen       string
	Removed        string
	ExportID       string
	Delivered      string
	Target         string
	Suspended      string // set active: false at the SCIM service (target.scim)
}

// ReportLeavers streams the period's leavers: every account removed in
// the period, and every person who left HR in it while holding an account.
func (s *Store) ReportLeavers(ctx context.Context, p ReportPeriod, fn func(ReportLeaver) error) error {
	// The unary + keeps a person's lookups on events_employee: on
	// events_kind each would walk every later removal.
	rows, err := s.query(ctx, `WITH
		lv AS (SELECT employee_number AS emp, MIN(id) AS id, MIN(time) AS time FROM events
			WHERE kind = 'person.left' AND time >= ?1 AND time < ?2 GROUP BY employee_number),
		held AS (SELECT lv.* FROM lv WHERE (SELECT kind FROM events e WHERE e.employee_number = lv.emp
			AND +e.kind IN ('account.create', 'account.remove') AND e.id < lv.id ORDER BY e.id DESC LIMIT 1) = 'account.create'),
		rm AS (SELECT employee_number AS emp, MIN(id) AS id FROM events
			WHERE kind = 'account.remove' AND time >= ?1 AND time < ?2 GROUP BY employee_number),
		who AS (SELECT emp FROM held UNION SELECT emp FROM rm),
		way AS MATERIALIZED (SELECT who.emp, held.time AS left_seen, held.id AS left_id,
			COALESCE((SELECT MIN(e.id) FROM events e WHERE e.employee_number = who.emp AND +e.kind = 'account.remove'
				AND e.id > COALESCE(held.id, 0) AND e.time < ?2), 0) AS rm_id
			FROM who LEFT JOIN held ON held.emp = who.emp),
		dl AS MATERIALIZED (SELECT way.*, (SELECT MIN(d.id) FROM events d WHERE d.kind = 'delivery.ok' AND d.id > way.rm_id AND d.time < ?2) AS dl_id
			FROM way)
		SELECT dl.emp,
			COALESCE(NULLIF((SELECT json_extract(l.details, '$.hr_end') FROM events l WHERE l.id = dl.left_id), ''),
				(SELECT CASE WHEN SUM(end_date = '') > 0 THEN '' ELSE MAX(end_date) END FROM contracts c
				WHERE c.employee_number = dl.emp), ''),
			COALESCE(dl.left_seen, ''),
			COALESCE(r.time, ''), COALESCE(json_extract(r.details, '$.export_id'), ''),
			COALESCE(d.time, ''), COALESCE(json_extract(d.details, '$.target'), ''),
			-- The suspension that followed the leave (or the block that
			-- removed the account).
			COALESCE((SELECT MIN(s.time) FROM events s WHERE s.employee_number = dl.emp AND +s.kind = 'connect.suspended'
				AND s.id > COALESCE(dl.left_id, (SELECT MAX(b.id) FROM events b WHERE b.employee_number = dl.emp
					AND +b.kind = 'person.blocked' AND b.id < dl.rm_id), dl.rm_id) AND s.time < ?2), '')
		FROM dl LEFT JOIN events r ON r.id = dl.rm_id AND dl.rm_id > 0
		LEFT JOIN events d ON d.id = dl.dl_id AND dl.rm_id > 0
		ORDER BY dl.emp`, p.From, p.To)
	if err != nil {
		return fmt.Errorf("read leavers: %w", err)
	}
	err = eachRow(rows, func() error {
		var l ReportLeaver
		if err := rows.Scan(&l.EmployeeNumber, &l.HREndDate, &l.LeftSeen, &l.Removed, &l.ExportID, &l.Delivered, &l.Target, &l.Suspended); err != nil {
			return err
		}
		return fn(l)
	})
	if err != nil {
		return fmt.Errorf("read leavers: %w", err)
	}
	return nil
}

// ReportAction is an override, a manual action or a hold: an event, or a
// run that ended in a safety stop (Kind "safety_stop", its summary as
// Details).
type ReportAction struct {
	Time, Kind, Actor, EmployeeNumber, Details string
}

// ReportActionKinds are the events the report lists as actions.
var ReportActionKinds = []string{Force, PersonBlocked, Unblocked, AccountRenameAllowed, AccountRenamed,
	AccountRenameHeld, ExportHeld, ExportEmailReused, PersonHeld}

// ReportActions streams the period's actions in time order.
func (s *Store) ReportActions(ctx context.Context, p ReportPeriod, fn func(ReportAction) error) error {
	in := "'" + strings.Join(ReportActionKinds, "', '") + "'"
	rows, err := s.query(ctx, `SELECT time, kind, actor, employee_number, details FROM (
			SELECT time, kind, actor, employee_number, details, id AS k FROM events
				WHERE kind IN (`+in+`) AND time >= ?1 AND time < ?2
			UNION ALL
			SELECT started, 'safety_stop', actor, '',
				command || ' stopped (exit 3)' || CASE WHEN summary IN ('', '{}') THEN '' ELSE ': ' || summary END, -id FROM runs
				WHERE exit_code = 3 AND started >= ?1 AND started < ?2)
		ORDER BY time, k`, p.From, p.To)
	if err != nil {
		return fmt.Errorf("read actions: %w", err)
	}
	err = eachRow(rows, func() error {
		var a ReportAction
		if err := rows.Scan(&a.Time, &a.Kind, &a.Actor, &a.EmployeeNumber, &a.Details); err != nil {
			return err
		}
		return fn(a)
	})
	if err != nil {
		return fmt.Errorf("read actions: %w", err)
	}
	return nil
}

// ReportDeliveries streams the period's delivery attempts in order.
func (s *Store) ReportDeliveries(ctx context.Context, p ReportPeriod, fn func(Delivery) error) error {
	rows, err := s.query(ctx, `SELECT time, export_id, target, ok, details FROM deliveries
		WHERE time >= ? AND time < ? ORDER BY id`, p.From, p.To)
	if err != nil {
		return fmt.Errorf("read deliveries: %w", err)
	}
	err = eachRow(rows, func() error {
		var d Delivery
		var details string
		if err := rows.Scan(&d.Time, &d.ExportID, &d.Target, &d.OK, &details); err != nil {
			return err
		}
		d.Details = []byte(details)
		return fn(d)
	})
	if err != nil {
		return fmt.Errorf("read deliveries: %w", err)
	}
	return nil
}

// ReportAccount is an account in the dump at a moment: its email and how
// many roles it holds.
type ReportAccount struct {
	EmployeeNumber, Email string
	Roles                 int
}

// ReportAccountsAt streams the accounts in the dump just before t, as the
// provisioning events built it: the email of the last create or update
// that set one, the roles granted and not revoked.
func (s *Store) ReportAccountsAt(ctx context.Context, t string, cols ReportColumns, fn func(ReportAccount) error) error {
	rowKey, colKey := jsonKey("$.row", cols.Email), jsonKey("$.columns", cols.Email)+".new"
	// One pass over the provisioning events by kind (a few per person),
	// grouped per person in SQLite; a lookup per person would read every
	// event of theirs.
	rows, err := s.query(ctx, `WITH per AS (SELECT employee_number AS emp,
			MAX(CASE WHEN kind IN ('account.create', 'account.remove') THEN id END) AS acct,
			MAX(CASE WHEN kind = 'account.create' OR (kind = 'account.update' AND json_extract(details, ?3) IS NOT NULL) THEN id END) AS mail,
			SUM(CASE kind WHEN 'role.grant' THEN 1 WHEN 'role.revoke' THEN -1 ELSE 0 END) AS roles
		FROM events WHERE kind IN ('account.create', 'account.remove', 'account.update', 'role.grant', 'role.revoke') AND time < ?1
		GROUP BY employee_number)
		SELECT per.emp, COALESCE(json_extract(m.details, ?2), json_extract(m.details, ?3), ''), per.roles
		FROM per JOIN events a ON a.id = per.acct AND a.kind = 'account.create'
		LEFT JOIN events m ON m.id = per.mail
		ORDER BY per.emp`, t, rowKey, colKey)
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	err = eachRow(rows, func() error {
		var a ReportAccount
		if err := rows.Scan(&a.EmployeeNumber, &a.Email, &a.Roles); err != nil {
			return err
		}
		return fn(a)
	})
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	return nil
}
