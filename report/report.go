// Package report builds the auditor's access report from the store and
// writes it as one self-contained HTML page, as CSV tables or as JSON.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/show"
	"github.com/spendsync/spendsync/lifecycle"
)

// Options choose the period and the export columns the report reads.
type Options struct {
	From, To time.Time // days, inclusive; To's whole day is in the period
	Columns  lifecycle.ReportColumns
	Verified []string // rules.verified_domains
	Now      time.Time
}

// Report is every table of the access report.
type Report struct {
	From        string        `json:"from"`
	To          string        `json:"to"`
	Generated   string        `json:"generated"`
	Empty       bool          `json:"empty"`
	Summary     []SummaryRow  `json:"summary"`
	Months      []MonthRow    `json:"months"`
	Roles       []RoleRow     `json:"roles"`
	Revoke      []BucketRow   `json:"time_to_revoke"`
	Slowest     []LeaverRow   `json:"slowest"`
	Open        []LeaverRow   `json:"open"`
	Actions     []ActionRow   `json:"actions"`
	Held        []ActionRow   `json:"held"`
	Deliveries  []DeliveryRow `json:"deliveries"`
	Unverified  []AccountRow  `json:"unverified_domains"`
	WithoutRole []AccountRow  `json:"without_role"`
	Notes       []NoteRow     `json:"notes"`
	revoked     int           // leavers whose removal was delivered
	months      map[string]*MonthRow
}

// SummaryRow is one figure of the period.
type SummaryRow struct {
	Measure string `json:"measure" csv:"measure"`
	Value   int    `json:"value" csv:"value"`
}

// MonthRow counts a month's joiners (accounts created), leavers (accounts
// removed), role grants and revokes.
type MonthRow struct {
	Month    string `json:"month" csv:"month"`
	Joiners  int    `json:"joiners" csv:"joiners"`
	Leavers  int    `json:"leavers" csv:"leavers"`
	Grants   int    `json:"grants" csv:"grants"`
	Revokes  int    `json:"revokes" csv:"revokes"`
	Accounts int    `json:"accounts_at_end" csv:"accounts_at_end"`
}

// RoleRow counts a role profile's grants and revokes in a month.
type RoleRow struct {
	Month   string `json:"month" csv:"month"`
	Role    string `json:"role_profile" csv:"role_profile"`
	Grants  int    `json:"grants" csv:"grants"`
	Revokes int    `json:"revokes" csv:"revokes"`
}

// BucketRow is one bar of the time-to-revoke distribution.
type BucketRow struct {
	Days    string `json:"days" csv:"days"`
	Leavers int    `json:"leavers" csv:"leavers"`
}

// LeaverRow is one leaver's way out. Days runs from the HR end date (or,
// when HR gave none, the ingest that saw the leave, or the removal) to the
// delivery; -1 while open.
type LeaverRow struct {
	EmployeeNumber string `json:"employee_number" csv:"employee_number"`
	HREndDate      string `json:"hr_end_date" csv:"hr_end_date"`
	LeftSeen       string `json:"left_seen" csv:"left_seen"`
	Removed        string `json:"removed" csv:"removed"`
	ExportID       string `json:"export_id" csv:"export_id"`
	Delivered      string `json:"delivered" csv:"delivered"`
	Target         string `json:"target" csv:"target"`
	From           string `json:"measured_from" csv:"measured_from"`
	Days           int    `json:"days" csv:"days"`
	// Suspended is when the SCIM service (Visma Connect, target.scim) was
	// told the person left; empty without that target, or not yet.
	Suspended string `json:"connect_suspended" csv:"connect_suspended"`
}

// ActionRow is an override, a manual action, a rename let through, a
// safety stop or a hold.
type ActionRow struct {
	Time           string `json:"time" csv:"time"`
	Kind           string `json:"kind" csv:"kind"`
	Actor          string `json:"actor" csv:"actor"`
	EmployeeNumber string `json:"employee_number" csv:"employee_number"`
	Reason         string `json:"reason" csv:"reason"`
}

// DeliveryRow is one file of one delivery attempt.
type DeliveryRow struct {
	Time     string `json:"time" csv:"time"`
	Target   string `json:"target" csv:"target"`
	ExportID string `json:"export_id" csv:"export_id"`
	OK       bool   `json:"ok" csv:"ok"`
	File     string `json:"file" csv:"file"`
	Size     int64  `json:"size" csv:"size"`
	SHA256   string `json:"sha256" csv:"sha256"`
}

// AccountRow is an account at the end of the period.
type AccountRow struct {
	EmployeeNumber string `json:"employee_number" csv:"employee_number"`
	Email          string `json:"email" csv:"email"`
	Roles          int    `json:"roles" csv:"roles"`
}

// NoteRow is something the report cannot know or leaves out.
type NoteRow struct {
	Note string `json:"note" csv:"note"`
}

// Buckets are the time-to-revoke distribution's bars, in days.
var Buckets = []struct {
	Label    string
	Min, Max int
}{{"0", -1 << 30, 0}, {"1", 1, 1}, {"2", 2, 2}, {"3-7", 3, 7}, {"8-14", 8, 14}, {"15-30", 15, 30}, {"31+", 31, 1 << 30}}

const day = "2006-01-02"

// Build reads the period's tables from the store.
func Build(ctx context.Context, st *lifecycle.Store, o Options) (*Report, error) {
	from := o.From.UTC().Truncate(24 * time.Hour)
	end := o.To.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	p := lifecycle.ReportPeriod{From: from.Format(time.RFC3339), To: end.Format(time.RFC3339)}
	r := &Report{From: from.Format(day), To: o.To.UTC().Format(day), Generated: o.Now.UTC().Format(time.RFC3339),
		months: map[string]*MonthRow{}}
	has, err := st.ReportHasEvents(ctx, p)
	if err != nil {
		return nil, err
	}
	r.Empty = !has
	if r.Empty {
		r.Notes = append(r.Notes, NoteRow{"no events in this period"})
	}
	start, err := st.AccountsAt(ctx, p.From)
	if err != nil {
		return nil, err
	}
	endN, err := st.AccountsAt(ctx, p.To)
	if err != nil {
		return nil, err
	}
	if err := r.counts(ctx, st, p, o.Columns); err != nil {
		return nil, err
	}
	if err := r.monthEnds(ctx, st); err != nil {
		return nil, err
	}
	var joiners, leavers, grants, revokes int
	for _, m := range r.Months {
		joiners, leavers, grants, revokes = joiners+m.Joiners, leavers+m.Leavers, grants+m.Grants, revokes+m.Revokes
	}
	if err := r.leavers(ctx, st, p); err != nil {
		return nil, err
	}
	if err := r.actions(ctx, st, p); err != nil {
		return nil, err
	}
	if err := r.deliveries(ctx, st, p); err != nil {
		return nil, err
	}
	if err := r.accounts(ctx, st, p, o); err != nil {
		return nil, err
	}
	r.Summary = []SummaryRow{{"accounts at start", start}, {"accounts at end", endN}, {"joiners", joiners},
		{"leavers", leavers}, {"role grants", grants}, {"role revokes", revokes},
		{"leavers revoked", r.revoked}, {"leavers still open", len(r.Open)},
		{"overrides and manual actions", len(r.Actions)}, {"holds", len(r.Held)},
		{"delivered files", len(r.Deliveries)}, {"accounts on unverified domains", len(r.Unverified)},
		{"accounts without a role", len(r.WithoutRole)}}
	r.Notes = append(r.Notes, NoteRow{"time to revoke ends at the delivery of the dump that removed the account; where target.scim is configured, each leaver's suspension at Visma Connect is listed beside it (connect_suspended)"})
	return r, nil
}

func (r *Report) month(m string) *MonthRow {
	if r.months[m] == nil {
		r.months[m] = &MonthRow{Month: m}
	}
	return r.months[m]
}

func (r *Report) counts(ctx context.Context, st *lifecycle.Store, p lifecycle.ReportPeriod, cols lifecycle.ReportColumns) error {
	cs, err := st.ReportCounts(ctx, p, cols)
	if err != nil {
		return err
	}
	roles := map[[2]string]*RoleRow{}
	for _, c := range cs {
		m := r.month(c.Month)
		switch c.Kind {
		case "account.create":
			m.Joiners += c.N
		case "account.remove":
			m.Leavers += c.N
		case "role.grant", "role.revoke":
			k := [2]string{c.Month, show.Text(c.Role)}
			if roles[k] == nil {
				roles[k] = &RoleRow{Month: c.Month, Role: k[1]}
			}
			if c.Kind == "role.grant" {
				m.Grants += c.N
				roles[k].Grants += c.N
			} else {
				m.Revokes += c.N
				roles[k].Revokes += c.N
			}
		}
	}
	for _, m := range r.months {
		r.Months = append(r.Months, *m)
	}
	slices.SortFunc(r.Months, func(a, b MonthRow) int { return strings.Compare(a.Month, b.Month) })
	for _, v := range roles {
		r.Roles = append(r.Roles, *v)
	}
	slices.SortFunc(r.Roles, func(a, b RoleRow) int {
		return strings.Compare(a.Month+"\x00"+a.Role, b.Month+"\x00"+b.Role)
	})
	return nil
}

// monthEnds counts the accounts at the end of each month listed.
func (r *Report) monthEnds(ctx context.Context, st *lifecycle.Store) error {
	for i := range r.Months {
		t, err := time.Parse("2006-01", r.Months[i].Month)
		if err != nil {
			return fmt.Errorf("month %q: %w", r.Months[i].Month, err)
		}
		if r.Months[i].Accounts, err = st.AccountsAt(ctx, t.AddDate(0, 1, 0).Format(time.RFC3339)); err != nil {
			return err
		}
	}
	return nil
}

func daysBetween(from, to string) int {
	a, err1 := time.Parse(day, from[:min(len(from), 10)])
	b, err2 := time.Parse(day, to[:min(len(to), 10)])
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(b.Sub(a).Hours() / 24)
}

func (r *Report) leavers(ctx context.Context, st *lifecycle.Store, p lifecycle.ReportPeriod) error {
	counts := make([]int, len(Buckets))
	err := st.ReportLeavers(ctx, p, func(l lifecycle.ReportLeaver) error {
		row := LeaverRow{EmployeeNumber: show.Text(l.EmployeeNumber), HREndDate: l.HREndDate, LeftSeen: l.LeftSeen,
			Removed: l.Removed, ExportID: l.ExportID, Delivered: l.Delivered, Target: l.Target, Days: -1, Suspended: l.Suspended}
		switch {
		case l.HREndDate != "":
			row.From = "hr_end_date"
		case l.LeftSeen != "":
			row.From = "left_seen"
		default:
			row.From = "removed"
		}
		if l.Delivered == "" {
			r.Open = append(r.Open, row)
			return nil
		}
		start := map[string]string{"hr_end_date": l.HREndDate, "left_seen": l.LeftSeen, "removed": l.Removed}[row.From]
		row.Days = daysBetween(start, l.Delivered)
		for i, b := range Buckets {
			if row.Days >= b.Min && row.Days <= b.Max {
				counts[i]++
			}
		}
		// Keep only the ten slowest: a year's 20k leavers stream through.
		r.revoked++
		i, _ := slices.BinarySearchFunc(r.Slowest, row, slower)
		if i < 10 {
			r.Slowest = slices.Insert(r.Slowest, i, row)[:min(10, len(r.Slowest)+1)]
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, b := range Buckets {
		r.Revoke = append(r.Revoke, BucketRow{b.Label, counts[i]})
	}
	return nil
}

// slower orders leavers slowest first, then by employee number.
func slower(a, b LeaverRow) int {
	if a.Days != b.Days {
		return b.Days - a.Days
	}
	return strings.Compare(a.EmployeeNumber, b.EmployeeNumber)
}

// reason is what an action's details say about why.
func reason(kind, details string) string {
	if kind == "safety_stop" {
		return details
	}
	var d map[string]any
	if json.Unmarshal([]byte(details), &d) != nil {
		return details
	}
	var parts []string
	for _, k := range []string{"overridden", "reason", "fields", "old", "new", "allowed_by", "earlier_employee", "file", "line"} {
		if v, ok := d[k]; ok && v != nil && v != "" {
			b, _ := json.Marshal(v)
			s := string(b)
			if str, ok := v.(string); ok {
				s = str
			}
			parts = append(parts, k+": "+s)
		}
	}
	return strings.Join(parts, "; ")
}

var holdKinds = map[string]bool{lifecycle.ExportHeld: true, lifecycle.AccountRenameHeld: true, lifecycle.PersonHeld: true,
	lifecycle.ExportEmailReused: true}

func (r *Report) actions(ctx context.Context, st *lifecycle.Store, p lifecycle.ReportPeriod) error {
	return st.ReportActions(ctx, p, func(a lifecycle.ReportAction) error {
		row := ActionRow{Time: a.Time, Kind: a.Kind, Actor: show.Text(a.Actor), EmployeeNumber: show.Text(a.EmployeeNumber),
			Reason: show.Line(reason(a.Kind, a.Details))}
		if holdKinds[a.Kind] {
			r.Held = append(r.Held, row)
		} else {
			r.Actions = append(r.Actions, row)
		}
		return nil
	})
}

func (r *Report) deliveries(ctx context.Context, st *lifecycle.Store, p lifecycle.ReportPeriod) error {
	return st.ReportDeliveries(ctx, p, func(d lifecycle.Delivery) error {
		var det struct {
			Files []struct {
				Name   string `json:"name"`
				Size   int64  `json:"size"`
				SHA256 string `json:"sha256"`
			} `json:"files"`
		}
		_ = json.Unmarshal(d.Details, &det) // a failed attempt may name no files
		if len(det.Files) == 0 {
			r.Deliveries = append(r.Deliveries, DeliveryRow{Time: d.Time, Target: d.Target, ExportID: d.ExportID, OK: d.OK})
		}
		for _, f := range det.Files {
			r.Deliveries = append(r.Deliveries, DeliveryRow{Time: d.Time, Target: d.Target, ExportID: d.ExportID, OK: d.OK,
				File: f.Name, Size: f.Size, SHA256: f.SHA256})
		}
		return nil
	})
}

func (r *Report) accounts(ctx context.Context, st *lifecycle.Store, p lifecycle.ReportPeriod, o Options) error {
	return st.ReportAccountsAt(ctx, p.To, o.Columns, func(a lifecycle.ReportAccount) error {
		row := AccountRow{EmployeeNumber: show.Text(a.EmployeeNumber), Email: show.Text(a.Email), Roles: a.Roles}
		if a.Roles <= 0 {
			row.Roles = 0
			r.WithoutRole = append(r.WithoutRole, row)
		}
		_, domain, ok := strings.Cut(a.Email, "@")
		if ok && !slices.ContainsFunc(o.Verified, func(v string) bool { return strings.EqualFold(v, domain) }) {
			r.Unverified = append(r.Unverified, row)
		}
		return nil
	})
}
