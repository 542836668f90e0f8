package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// ExportOptions steer one export.
type ExportOptions struct {
	Date          string // YYYY-MM-DD; empty: today
	Out           string // a side copy into this folder only
	DryRun, Force bool
}

// ExportPlan is a computed export, not written: its counts, held-back
// persons and changes.
type ExportPlan struct {
	Date    string
	Stats   export.Stats
	Changes []export.Change
	forced  []lifecycle.Event
}

// PlanExport computes the dump for the date and its diff against the last
// export, writing nothing, and applies the safety stops (Force records
// them instead). The changes are collected: dry runs and diff show them.
func (p *Pipeline) PlanExport(ctx context.Context, o ExportOptions) (*ExportPlan, error) {
	plan := &ExportPlan{Date: exportDate(o)}
	sink := &planSink{plan: plan}
	allowed, err := p.Store.RenameAllowances(ctx)
	if err != nil {
		return nil, err
	}
	removed, err := p.removedEmails(ctx)
	if err != nil {
		return nil, err
	}
	stats, _, err := p.walkExport(ctx, plan.Date, sink, allowed, removed)
	if err != nil {
		return nil, err
	}
	plan.Stats = *stats
	// Shown as diff and dry runs always listed them: account creates and
	// updates, then removes, then role grants and revokes, each by
	// employee (the walk gives them person by person).
	slices.SortStableFunc(plan.Changes, func(a, b export.Change) int {
		if c := cmp.Compare(changeGroup(a.Kind), changeGroup(b.Kind)); c != 0 {
			return c
		}
		return strings.Compare(a.EmployeeNumber, b.EmployeeNumber)
	})
	if plan.forced, err = p.exportLimits(stats, o.Force); err != nil {
		return nil, err
	}
	return plan, nil
}

// removedEmails are the emails of accounts removed within
// rules.email_reuse_days, unless email_reuse allows them anyway.
func (p *Pipeline) removedEmails(ctx context.Context) (map[string]string, error) {
	if p.Settings.ExportRules.EmailReuse == "allow" {
		return nil, nil
	}
	return p.Store.RemovedEmails(ctx, time.Now().AddDate(0, 0, -p.Settings.EmailReuseDays))
}

func changeGroup(kind string) int {
	switch kind {
	case export.AccountCreate, export.AccountUpdate:
		return 0
	case export.AccountRemove:
		return 1
	}
	return 2
}

func exportDate(o ExportOptions) string {
	if o.Date != "" {
		return o.Date
	}
	return time.Now().Format(model.DateLayout)
}

// walkExport streams the current persons and the last export side by side
// through a Walker into sink, or, when the last export was computed from
// the same inputs, copies its stored rows (exportcopy.go). It returns the
// basis to record with this export, nil when its dump depends on more.
// allowed are the persons whose username change an operator let through,
// removed the emails of accounts removed lately (removedEmails).
func (p *Pipeline) walkExport(ctx context.Context, date string, sink export.Sink, allowed map[string]lifecycle.Allowance, removed map[string]string) (*export.Stats, *lifecycle.ExportBasis, error) {
	rd, err := p.Store.ReadExport(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	s := p.Settings
	rules := s.ExportRules
	rules.Allowed = map[string]bool{}
	for emp := range allowed {
		rules.Allowed[emp] = true
	}
	rules.Removed = removed
	digest, err := exportDigest(s.Export, rules)
	if err != nil {
		return nil, nil, err
	}
	basis := &lifecycle.ExportBasis{Generation: rd.Generation(), Digest: digest, Date: date}
	done := func(stats *export.Stats) (*export.Stats, *lifecycle.ExportBasis, error) {
		if !clean(stats) {
			return stats, nil, nil
		}
		basis.WithoutRole = stats.WithoutRole
		return stats, basis, nil
	}
	ph := p.Phases.Start("export", -1)
	defer ph.Done()
	last, moved, err := onLastSettings(rd, digest, date, rules)
	if err != nil {
		return nil, nil, err
	}
	var lastFiles *export.Manifest
	if last != nil {
		if lastFiles, err = lastManifest(rd); err != nil {
			return nil, nil, err
		}
	}
	if last != nil && last.Generation == rd.Generation() && len(moved) == 0 {
		stats, ok, err := copyFiles(rd, sink, s.Export.Dir, lastFiles)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			if stats, err = copyStored(rd, sink); err != nil {
				return nil, nil, err
			}
		}
		return done(stats)
	}
	w := export.NewWalker(&lastExport{r: rd}, sink, date, s.Export, rules)
	changed, err := changedSince(rd, last, lastFiles, moved)
	if err != nil {
		return nil, nil, err
	}
	if changed != nil {
		// Only the changed persons are walked; the rest are carried: their
		// bytes copied from the last files, or else their stored rows.
		carryingWalks++
		if sp, ok := sink.(splicer); ok {
			spliced, err := sp.splice(rd, s.Export.Dir, lastFiles, changed)
			if err != nil {
				return nil, nil, err
			}
			if spliced {
				splicingWalks++
				stats, err := walkSpliced(rd, w, sp, changed)
				if err != nil {
					return nil, nil, err
				}
				return done(stats)
			}
		}
		w.Carry = func(emp string) bool { _, found := slices.BinarySearch(changed, emp); return !found }
		if err := rd.CurrentOf(changed, w.Person); err != nil {
			return nil, nil, err
		}
	} else if err := rd.Current(w.Person); err != nil {
		return nil, nil, err
	}
	if err := w.Finish(); err != nil {
		return nil, nil, err
	}
	return done(&w.Stats)
}

// walkSpliced walks the changed persons beside their own last rows only:
// the splice copies everyone else's, so an exported person the walk
// passes over is one that is no longer in the dump.
func walkSpliced(rd *lifecycle.ExportReader, w *export.Walker, sp splicer, changed []string) (*export.Stats, error) {
	if err := rd.Only(changed); err != nil {
		return nil, err
	}
	if err := rd.CurrentOf(changed, w.Person); err != nil {
		return nil, err
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	c, err := sp.spliceRest()
	if err != nil {
		return nil, err
	}
	st := &w.Stats
	st.Before += c.Persons
	st.Persons += c.Persons
	st.Roles += c.Roles
	st.WithoutRole += c.WithoutRole
	return st, nil
}

// exportLimits applies the safety stops to a walk; with force a stop is
// returned as the force event to record instead.
func (p *Pipeline) exportLimits(stats *export.Stats, force bool) ([]lifecycle.Event, error) {
	th := p.Settings.Thresholds
	if err := (export.Limits{MaxRemovals: th.MaxRemovals, MaxRemovalPercent: th.MaxRemovalPercent, MaxRenames: th.MaxRenames}).Check(stats); err != nil {
		if !force {
			return nil, err
		}
		if p.stopped != nil {
			p.stopped("export", err)
		}
		return []lifecycle.Event{{Source: "export", Kind: lifecycle.Force, Details: map[string]any{"overridden": err.Error()}}}, nil
	}
	return nil, nil
}

// lastExport reads the store's last export for a Walker.
type lastExport struct {
	r       *lifecycle.ExportReader
	carried export.PersonRows // Carried's, reused: the walker writes it out before it reads on
}

func (l *lastExport) Next() (string, []byte, bool, error) { return l.r.Next() }

func (l *lastExport) Rows(emp string) (*export.PersonRows, error) {
	person, roles, err := l.r.Rows(emp)
	if err != nil {
		return nil, err
	}
	return decodeStored(emp, person, roles)
}

func (l *lastExport) Carried() (*export.PersonRows, error) {
	person, roles := l.r.StoredRows()
	p := &l.carried
	var err error
	if p.Person, err = export.DecodePersonInto(p.Person, person); err != nil {
		return nil, fmt.Errorf("last export row: %w", err)
	}
	for len(p.Roles) < len(roles) {
		p.Roles = append(p.Roles, nil)
	}
	p.Roles = p.Roles[:len(roles)]
	for i, r := range roles {
		if p.Roles[i], err = export.DecodeRoleInto(p.Roles[i], r); err != nil {
			return nil, fmt.Errorf("last export row: %w", err)
		}
	}
	return p, nil
}

// decodeStored decodes a person's stored rows.
func decodeStored(emp, person string, roles []string) (*export.PersonRows, error) {
	var err error
	out := &export.PersonRows{Roles: make([]export.Row, len(roles))}
	if out.Person, err = export.DecodePerson(person); err != nil {
		return nil, fmt.Errorf("last export row of %s: %w", emp, err)
	}
	for i, r := range roles {
		if out.Roles[i], err = export.DecodeRole(r); err != nil {
			return nil, fmt.Errorf("last export row of %s: %w", emp, err)
		}
	}
	return out, nil
}

// planSink keeps a walk's changes and nothing else.
type planSink struct{ plan *ExportPlan }

func (s *planSink) Rows(*export.PersonRows) error { return nil }
func (s *planSink) Change(c export.Change) error {
	s.plan.Changes = append(s.plan.Changes, c)
	return nil
}
func (s *planSink) Store(string, *export.PersonRows, []byte, bool) error { return nil }
func (s *planSink) Drop(string, *export.PersonRows) error                { return nil }

// exportSink writes a walk's rows into the staged files and, unless it is
// a side copy (db nil), hands its changes and new last-export rows to the
// export's transaction, whose writer inserts them in the background while
// the walk goes on.
type exportSink struct {
	files   *export.Writer
	db      *lifecycle.ExportWriter
	id      string
	origin  string
	details []byte
	rows    []byte // scratch: a person's encoded rows
}

func (s *exportSink) Rows(p *export.PersonRows) error { return s.files.Rows(p) }

func (s *exportSink) Change(c export.Change) error {
	if s.db == nil {
		return nil
	}
	c.Details["export_id"] = s.id
	var err error
	if s.details, err = lifecycle.EncodeDetails(s.details, c.Details); err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return s.db.EncodedEvent(s.origin, c.Kind, c.EmployeeNumber, string(s.details))
}

// DetailExtra and EncodedChange make exportSink an export.EncodingSink:
// the walk encodes most changes' details itself, export_id included.
func (s *exportSink) DetailExtra() (key, value string) { return "export_id", s.id }

func (s *exportSink) EncodedChange(kind, emp string, details []byte) error {
	if s.db == nil {
		return nil
	}
	return s.db.EncodedEvent(s.origin, kind, emp, string(details))
}

func (s *exportSink) Store(emp string, p *export.PersonRows, hash []byte, _ bool) error {
	if s.db == nil {
		return nil
	}
	// The person's encoded rows in one string: its person row, then its
	// role rows joined as the store keeps them.
	s.rows = export.AppendPerson(s.rows[:0], p.Person)
	n := len(s.rows)
	for i, r := range p.Roles {
		if i > 0 {
			s.rows = append(s.rows, lifecycle.RoleSep...)
		}
		s.rows = export.AppendRole(s.rows, r)
	}
	all := string(s.rows)
	return s.db.Put(emp, all[:n], all[n:], hash)
}

func (s *exportSink) Drop(emp string, prev *export.PersonRows) error {
	if s.db == nil {
		return nil
	}
	return s.db.Drop(emp, export.Email(prev.Person))
}

// Summary is a one-line account of the export.
func (e *ExportPlan) Summary() string { return summary(e.Date, &e.Stats) }

func summary(date string, s *export.Stats) string {
	c := s.Changes
	text := fmt.Sprintf("%d persons, %d roles for %s; %d create, %d update, %d remove, %d grant, %d revoke; %d held back",
		s.Persons, s.Roles, date, c[export.AccountCreate], c[export.AccountUpdate], c[export.AccountRemove],
		c[export.RoleGrant], c[export.RoleRevoke], len(s.Held))
	if n := s.HeldRenames(); n > 0 || len(s.Renames) > 0 {
		text += fmt.Sprintf("; %d renamed, %d renames held", len(s.Renames)-n, n)
	}
	if s.WithoutRole > 0 {
		text += fmt.Sprintf("; %d without a role", s.WithoutRole)
	}
	return text
}

// Export plans and (unless dry) writes an export and records it. With Out
// the files go to that folder only: a side copy that changes neither the
// export folder nor the last export.
//
// It streams: the current persons and the last export are read side by
// side in employee order; each person's rows go straight into the staged
// files, and its changes and new stored rows into a write transaction
// opened first. The safety stops are checked before the files are made
// visible; files first, then the database: a crash in between leaves the
// old last export, so the next export recomputes and records the same diff.
func (p *Pipeline) Export(ctx context.Context, o ExportOptions) (*export.Manifest, error) {
	m, _, err := p.export(ctx, o)
	return m, err
}

// export is Export, also returning the walk's counts (nil for a dry run).
func (p *Pipeline) export(ctx context.Context, o ExportOptions) (*export.Manifest, *export.Stats, error) {
	log, out, cfg := p.log(), p.stdout(), p.Settings.Export
	if o.DryRun {
		plan, err := p.PlanExport(ctx, o)
		if err != nil {
			return nil, nil, err
		}
		logHeld(p, &plan.Stats)
		fmt.Fprintln(out, "would export: "+plan.Summary())
		if p.Verbose {
			for _, c := range plan.Changes {
				fmt.Fprintf(out, "%s %s %s\n", c.Kind, c.EmployeeNumber, compactJSON(c.Details))
			}
		}
		return nil, nil, nil
	}
	date := exportDate(o)
	id := fmt.Sprintf("%s-%d", time.Now().UTC().Format("20060102T150405Z"), p.RunID)
	sink := &exportSink{id: id, origin: "export"}
	// Read before the export's transaction takes the store's connection.
	allowed, err := p.Store.RenameAllowances(ctx)
	if err != nil {
		return nil, nil, err
	}
	removed, err := p.removedEmails(ctx)
	if err != nil {
		return nil, nil, err
	}
	var lastHeld map[lifecycle.HeldEntry]bool
	var db *lifecycle.ExportWriter
	dir := o.Out
	if o.Out == "" {
		dir = cfg.Dir
		var err error
		if lastHeld, err = p.Store.LastHeld(ctx); err != nil {
			return nil, nil, err
		}
		if db, err = p.Store.BeginExport(ctx, p.RunID); err != nil {
			return nil, nil, err
		}
		defer db.Rollback()
		sink.db = db
	}
	if sink.files, err = export.NewWriter(dir, cfg); err != nil {
		return nil, nil, err
	}
	defer sink.files.Discard()
	if db != nil {
		sink.files.RecordLayout(db.Layout)
	}
	stats, basis, err := p.walkExport(ctx, date, sink, allowed, removed)
	if err != nil {
		return nil, nil, err
	}
	forced, err := p.exportLimits(stats, o.Force)
	if err != nil {
		return nil, nil, err
	}
	logHeld(p, stats)
	m, err := sink.files.Close(id, date)
	if err != nil {
		return nil, nil, err
	}
	if o.Out != "" {
		if err := sink.files.Commit(m, false, 0); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(out, "exported %s to %s: %s\n", id, o.Out, summary(date, stats))
		return m, stats, nil
	}
	ph := p.Phases.Start("write", -1)
	err = sink.files.Commit(m, true, p.Settings.Retention.Exports)
	ph.Done()
	if err != nil {
		return nil, nil, err
	}
	changes := 0
	for _, n := range stats.Changes {
		changes += n
	}
	held, events := heldEvents(m.ExportID, "export", stats, lastHeld)
	renamed, renameEvents := renameEvents(m.ExportID, stats, allowed)
	// The changes' events are in the transaction already; this commits
	// them with the rest (a spinner with the count).
	ph = p.Phases.Start(fmt.Sprintf("events (%d)", changes), -1)
	err = db.Commit(lifecycle.ExportRecord{ID: m.ExportID, Date: m.Date, Origin: "export", Persons: stats.Persons,
		Roles: stats.Roles, Held: held, Manifest: m, Events: slices.Concat(forced, events, renameEvents), Renamed: renamed, Basis: basis})
	ph.Done()
	if err != nil {
		return nil, nil, err
	}
	if err := p.Store.Summarize(p.RunID, map[string]any{"export": map[string]any{"id": id, "date": date, "persons": stats.Persons,
		"roles": stats.Roles, "held": len(stats.Held), "changes": changes, "without_role": stats.WithoutRole}}); err != nil {
		return nil, nil, err
	}
	log.Info("export", "export_id", id, "dir", cfg.Dir, "persons", stats.Persons, "roles", stats.Roles,
		"changes", changes, "held", len(stats.Held))
	fmt.Fprintf(out, "exported %s: %s\n", id, summary(date, stats))
	if renames, emails := stats.Findings(); renames+emails > 0 {
		return m, stats, &heldError{renames: renames, emails: emails}
	}
	return m, stats, nil
}

// ErrHeld ends an export that was written and recorded but held back a
// change Spend Cloud must not see unasked (a rename): exit 5.
var ErrHeld = errors.New("changes were held back")

type heldError struct{ renames, emails int }

func (e *heldError) Error() string {
	var parts []string
	if e.renames > 0 {
		n := fmt.Sprintf("%d username changes", e.renames)
		if e.renames == 1 {
			n = "1 username change"
		}
		parts = append(parts, n+" held: the dump keeps the old username, since Spend Cloud would make a new employee (spendsync status lists them; spendsync person allow-rename N lets one through)")
	}
	if e.emails > 0 {
		n := fmt.Sprintf("%d persons", e.emails)
		if e.emails == 1 {
			n = "1 person"
		}
		parts = append(parts, n+" held back: their email belongs to an employee removed within rules.email_reuse_days, which Spend Cloud refuses (spendsync diff names the earlier employee)")
	}
	return strings.Join(parts, "; ")
}

func (e *heldError) Is(target error) bool { return target == ErrHeld }

// renameEvents are an export's renames let through (account.renamed, with
// the allowance that let it through) and the allowances they used. Held
// renames are recorded with the held persons (heldEvents).
func renameEvents(id string, s *export.Stats, allowed map[string]lifecycle.Allowance) ([]string, []lifecycle.Event) {
	var used []string
	var events []lifecycle.Event
	for _, r := range s.Renames {
		if r.Held {
			continue
		}
		det := map[string]any{"old": r.Old, "new": r.New, "export_id": id}
		if a, ok := allowed[r.EmployeeNumber]; ok {
			det["allowed_by"], det["reason"], det["allowed_at"] = a.Actor, a.Reason, a.Time
			used = append(used, r.EmployeeNumber)
		} else {
			det["allowed_by"] = "rules.username_change: allow"
		}
		events = append(events, lifecycle.Event{Source: "export", Kind: lifecycle.AccountRenamed, EmployeeNumber: r.EmployeeNumber, Details: det})
	}
	return used, events
}

// HeldRename is the reason a held rename is stored with.
const HeldRename = "username change held"

func logHeld(p *Pipeline, s *export.Stats) {
	log := p.log()
	for _, r := range s.Renames {
		if r.Held {
			log.Warn("username change held: Spend Cloud would make a new employee; spendsync person allow-rename lets it through",
				"employee", r.EmployeeNumber, "old", r.Old, "new", r.New)
		}
	}
	for _, h := range s.Held {
		log.Warn("held back", "employee", h.EmployeeNumber, "reason", h.Reason, "fields", h.Fields, "kept_last_export", h.Kept, "earlier_employee", h.Earlier)
	}
	for _, h := range s.Formulas {
		log.Warn("field starts like a spreadsheet formula", "employee", h.EmployeeNumber, "fields", h.Fields)
	}
	for _, h := range s.Reused {
		log.Warn("email belongs to an employee removed within rules.email_reuse_days; Spend Cloud may refuse it", "employee", h.EmployeeNumber,
			"earlier_employee", h.Earlier)
	}
	if s.WithoutRole > 0 {
		log.Warn("persons in the dump without a role cannot log in to Spend Cloud (export.require_role: hold keeps them out)", "persons", s.WithoutRole)
	}
}

// heldEvents are an export's held-back persons as the store keeps them,
// with their events: export.held for a new or changed hold (one that
// differs from lastHeld, the last export's), export.released for a hold
// that ended, and the formula findings. A hold that stays as it was is
// not recorded again.
func heldEvents(id, origin string, s *export.Stats, lastHeld map[lifecycle.HeldEntry]bool) ([]lifecycle.HeldEntry, []lifecycle.Event) {
	var events []lifecycle.Event
	var held []lifecycle.HeldEntry
	seen := map[lifecycle.HeldEntry]bool{}
	for _, r := range s.Renames {
		if !r.Held {
			continue
		}
		det := map[string]any{"reason": HeldRename, "old": r.Old, "new": r.New}
		e := lifecycle.HeldEntry{EmployeeNumber: r.EmployeeNumber, Details: compactJSON(det)}
		seen[e] = true
		held = append(held, e)
		if !lastHeld[e] {
			det["export_id"] = id
			events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.AccountRenameHeld, EmployeeNumber: r.EmployeeNumber, Details: det})
		}
	}
	for _, h := range s.Held {
		det := map[string]any{"reason": h.Reason, "fields": h.Fields, "kept_last_export": h.Kept}
		if h.Earlier != "" {
			det["earlier_employee"] = h.Earlier
		}
		e := lifecycle.HeldEntry{EmployeeNumber: h.EmployeeNumber, Details: compactJSON(det)}
		if seen[e] {
			continue
		}
		seen[e] = true
		held = append(held, e)
		if !lastHeld[e] {
			det["export_id"] = id
			events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.ExportHeld, EmployeeNumber: h.EmployeeNumber, Details: det})
		}
	}
	for _, e := range slices.SortedFunc(maps.Keys(lastHeld), func(a, b lifecycle.HeldEntry) int {
		return strings.Compare(a.EmployeeNumber+"\x00"+a.Details, b.EmployeeNumber+"\x00"+b.Details)
	}) {
		if !seen[e] {
			var det map[string]any
			json.Unmarshal([]byte(e.Details), &det) // written by compactJSON above
			if det == nil {
				det = map[string]any{}
			}
			det["export_id"] = id
			events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.ExportReleased, EmployeeNumber: e.EmployeeNumber, Details: det})
		}
	}
	for _, h := range s.Formulas {
		events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.ExportFormula, EmployeeNumber: h.EmployeeNumber,
			Details: map[string]any{"reason": h.Reason, "fields": h.Fields, "export_id": id}})
	}
	for _, h := range s.Reused {
		events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.ExportEmailReused, EmployeeNumber: h.EmployeeNumber,
			Details: map[string]any{"reason": h.Reason, "earlier_employee": h.Earlier, "export_id": id}})
	}
	return held, events
}
