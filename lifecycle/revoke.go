package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Revocation is a leaver's time to revoke: each step that ends its access,
// with when it happened (nil: not yet, or not applicable).
type Revocation struct {
	EmployeeNumber string `json:"employee_number"`
	HREnd          string `json:"hr_end,omitempty"` // the last contract's end date in HR
	Ingest         *Step  `json:"ingest"`           // the ingest that saw the leave
	Export         *Step  `json:"export"`           // the export that removed the account
	Delivery       *Step  `json:"delivery"`         // the first delivery that carried it
	Connect        *Step  `json:"connect"`          // the SCIM suspension
	// Pending names what still gives access: "export" (the last export
	// still carries the account), "delivery" (removed, not yet
	// delivered), "connect" (the SCIM service was not told yet).
	Pending []string `json:"pending"`
}

// Step is one step of a revocation.
type Step struct {
	Time     string `json:"time"`
	RunID    int64  `json:"run_id,omitempty"`
	ExportID string `json:"export_id,omitempty"`
	Target   string `json:"target,omitempty"`
}

// Since is when the leaver's access should have ended: the ingest that saw
// the leave.
func (r *Revocation) Since() time.Time {
	if r.Ingest == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, r.Ingest.Time)
	return t
}

// Revocations lists the leavers' time to revoke (emp "" for all, else one
// person). The SCIM step counts once spendsync has told a SCIM service of
// anyone (target.scim in use).
func (s *Store) Revocations(ctx context.Context, emp string) ([]Revocation, error) {
	var scimInUse bool
	if err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connect_state)`).Scan(&scimInUse); err != nil {
		return nil, fmt.Errorf("read the SCIM state: %w", err)
	}
	q := `SELECT p.employee_number, coalesce(json_extract(le.details, '$.hr_end'),
			(SELECT max(end_date) FROM contracts c WHERE c.employee_number = p.employee_number), ''),
		le.id, le.time, coalesce(le.run_id, 0),
		EXISTS (SELECT 1 FROM exported_persons x WHERE x.employee_number = p.employee_number),
		cs.employee_number IS NOT NULL, cs.active, coalesce(cs.suspended_at, '')
		FROM persons p
		LEFT JOIN events le ON le.id = (SELECT id FROM events WHERE employee_number = p.employee_number AND kind = 'person.left' ORDER BY id DESC LIMIT 1)
		LEFT JOIN connect_state cs ON cs.employee_number = p.employee_number
		WHERE p.left_at IS NOT NULL`
	args := []any{}
	if emp != "" {
		q += ` AND p.employee_number = ?`
		args = append(args, emp)
	}
	rows, err := s.query(ctx, q+` ORDER BY p.employee_number`, args...)
	if err != nil {
		return nil, fmt.Errorf("read the leavers: %w", err)
	}
	type leaver struct {
		r        Revocation
		leftID   *int64
		exported bool
	}
	var ls []leaver
	for rows.Next() {
		var l leaver
		var leftTime *string
		var runID int64
		var known bool
		var active *bool
		var suspended string
		if err := rows.Scan(&l.r.EmployeeNumber, &l.r.HREnd, &l.leftID, &leftTime, &runID, &l.exported, &known, &active, &suspended); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the leavers: %w", err)
		}
		if leftTime != nil {
			l.r.Ingest = &Step{Time: *leftTime, RunID: runID}
		}
		switch {
		case suspended != "":
			l.r.Connect = &Step{Time: suspended}
		case known && active != nil && !*active:
			// No user at the service: nothing to suspend.
		case scimInUse:
			l.r.Pending = append(l.r.Pending, "connect")
		}
		ls = append(ls, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Revocation, 0, len(ls))
	for _, l := range ls {
		r := l.r
		if l.exported {
			r.Pending = append([]string{"export"}, r.Pending...)
		} else if l.leftID != nil {
			var st Step
			err := s.queryRow(ctx, `SELECT x.time, coalesce(x.run_id, 0), x.id FROM events ev JOIN exports x ON x.run_id = ev.run_id
				WHERE ev.employee_number = ? AND ev.kind = 'account.remove' AND ev.id > ? ORDER BY ev.id LIMIT 1`,
				r.EmployeeNumber, *l.leftID).Scan(&st.Time, &st.RunID, &st.ExportID)
			switch {
			case errors.Is(err, errNoRow):
				// Never exported: no account to remove.
			case err != nil:
				return nil, fmt.Errorf("read the export of %s: %w", r.EmployeeNumber, err)
			default:
				r.Export = &st
				var d Step
				err := s.queryRow(ctx, `SELECT d.time, coalesce(d.run_id, 0), d.export_id, d.target FROM deliveries d
					JOIN exports x ON x.id = d.export_id WHERE d.ok = 1 AND x.run_id >= ? ORDER BY d.id LIMIT 1`, st.RunID).
					Scan(&d.Time, &d.RunID, &d.ExportID, &d.Target)
				switch {
				case errors.Is(err, errNoRow):
					r.Pending = append([]string{"delivery"}, r.Pending...)
				case err != nil:
					return nil, fmt.Errorf("read the delivery of %s: %w", r.EmployeeNumber, err)
				default:
					r.Delivery = &d
				}
			}
		}
		if r.Pending == nil {
			r.Pending = []string{}
		}
		out = append(out, r)
	}
	return out, nil
}

// WithAccess counts the leavers that still have access somewhere and
// returns the one that has had it longest since the ingest saw the leave.
func WithAccess(rs []Revocation) (n int, oldest *Revocation) {
	for i := range rs {
		r := &rs[i]
		if len(r.Pending) == 0 {
			continue
		}
		n++
		if oldest == nil || (!r.Since().IsZero() && r.Since().Before(oldest.Since())) {
			oldest = r
		}
	}
	return n, oldest
}
