package pipeline

import (
	"context"
	"encoding/json"
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

// ExportPlan is a computed export, not yet written.
type ExportPlan struct {
	Date    string
	Prev    *export.Previous
	last    *lifecycle.Exported
	Dump    *export.Dump
	Changes []export.Change
	forced  []lifecycle.Event
}

// PlanExport computes the dump for the date and its diff against the last
// export, and applies the safety stops (Force records them instead).
func (p *Pipeline) PlanExport(ctx context.Context, o ExportOptions) (*ExportPlan, error) {
	date := o.Date
	if date == "" {
		date = time.Now().Format(model.DateLayout)
	}
	// Sized once: growing a slice of 100k inputs by append copies it
	// about twenty times.
	current, _, _, err := p.Store.Counts(ctx)
	if err != nil {
		return nil, err
	}
	in := make([]export.Input, 0, current)
	if err := p.Store.Current(ctx, func(person *model.Person, blocked bool, contracts []model.Contract) error {
		in = append(in, export.Input{Person: *person, Blocked: blocked, Contracts: slices.Clone(contracts)})
		return nil
	}); err != nil {
		return nil, err
	}
	last, err := p.Store.LastExport(ctx)
	if err != nil {
		return nil, err
	}
	prev := &export.Previous{ID: last.ID, Persons: last.Persons, Roles: last.Roles}
	s := p.Settings
	plan := &ExportPlan{Date: date, Prev: prev, last: last}
	ph := p.Phases.Start("export", -1)
	plan.Dump = export.Build(in, prev, date, s.Export, s.ExportRules)
	ph.Done()
	ph = p.Phases.Start("diff", -1)
	plan.Changes = export.Diff(prev, plan.Dump, s.Export)
	ph.Done()
	th := s.Thresholds
	if err := (export.Limits{MaxRemovals: th.MaxRemovals, MaxRemovalPercent: th.MaxRemovalPercent}).Check(prev, plan.Dump, plan.Changes); err != nil {
		if !o.Force {
			return nil, err
		}
		plan.forced = append(plan.forced, lifecycle.Event{Source: "export", Kind: lifecycle.Force, Details: map[string]any{"overridden": err.Error()}})
	}
	return plan, nil
}

// Summary is a one-line account of the export.
func (e *ExportPlan) Summary() string {
	return fmt.Sprintf("%d persons, %d roles for %s; %d create, %d update, %d remove, %d grant, %d revoke; %d held back",
		len(e.Dump.Persons), len(e.Dump.Roles), e.Date, export.Count(e.Changes, export.AccountCreate),
		export.Count(e.Changes, export.AccountUpdate), export.Count(e.Changes, export.AccountRemove),
		export.Count(e.Changes, export.RoleGrant), export.Count(e.Changes, export.RoleRevoke), len(e.Dump.Held))
}

// Export plans and (unless dry) writes an export and records it. With Out
// the files go to that folder only: a side copy that changes neither the
// export folder nor the last export.
func (p *Pipeline) Export(ctx context.Context, o ExportOptions) (*export.Manifest, error) {
	plan, err := p.PlanExport(ctx, o)
	if err != nil {
		return nil, err
	}
	log, out, cfg := p.log(), p.stdout(), p.Settings.Export
	for _, h := range plan.Dump.Held {
		log.Warn("held back", "employee", h.EmployeeNumber, "reason", h.Reason, "fields", h.Fields, "kept_last_export", h.Kept)
	}
	for _, h := range plan.Dump.Formulas {
		log.Warn("field starts like a spreadsheet formula", "employee", h.EmployeeNumber, "fields", h.Fields)
	}
	if o.DryRun {
		fmt.Fprintln(out, "would export: "+plan.Summary())
		if p.Verbose {
			for _, c := range plan.Changes {
				fmt.Fprintf(out, "%s %s %s\n", c.Kind, c.EmployeeNumber, compactJSON(c.Details))
			}
		}
		return nil, nil
	}
	id := fmt.Sprintf("%s-%d", time.Now().UTC().Format("20060102T150405Z"), p.RunID)
	persons, roles, m, err := export.Render(plan.Dump, id, cfg)
	if err != nil {
		return nil, err
	}
	if o.Out != "" {
		if err := export.Write(o.Out, persons, roles, m, false, 0); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "exported %s to %s: %s\n", id, o.Out, plan.Summary())
		return m, nil
	}
	// Files first, then the database: a crash in between leaves the old
	// last export, so the next export recomputes and records the same diff.
	ph := p.Phases.Start("write", -1)
	err = export.Write(cfg.Dir, persons, roles, m, true, p.Settings.Retention.Exports)
	ph.Done()
	if err != nil {
		return nil, err
	}
	lastHeld, err := p.Store.LastHeld(ctx)
	if err != nil {
		return nil, err
	}
	// RecordExport reports no progress of its own: a spinner with the count.
	ph = p.Phases.Start(fmt.Sprintf("events (%d)", len(plan.Changes)), -1)
	err = p.Store.RecordExport(ctx, p.RunID, plan.last, exportRecord(m, "export", plan.Dump, plan.Changes, plan.forced, lastHeld))
	ph.Done()
	if err != nil {
		return nil, err
	}
	if err := p.Store.Summarize(p.RunID, map[string]any{"export": map[string]any{"id": id, "date": plan.Date, "persons": len(plan.Dump.Persons),
		"roles": len(plan.Dump.Roles), "held": len(plan.Dump.Held), "changes": len(plan.Changes)}}); err != nil {
		return nil, err
	}
	log.Info("export", "export_id", id, "dir", cfg.Dir, "persons", len(plan.Dump.Persons), "roles", len(plan.Dump.Roles),
		"changes", len(plan.Changes), "held", len(plan.Dump.Held))
	fmt.Fprintf(out, "exported %s: %s\n", id, plan.Summary())
	return m, nil
}

// exportRecord is the dump as the store keeps it, with its events: extra
// (force events and the like), the provisioning changes, the formula
// findings, and the held-back persons that differ from lastHeld (the last
// export's): export.held for a new or changed hold, export.released for a
// hold that ended. A hold that stays as it was is not recorded again.
func exportRecord(m *export.Manifest, origin string, d *export.Dump, changes []export.Change, extra []lifecycle.Event,
	lastHeld map[lifecycle.HeldEntry]bool) lifecycle.ExportRecord {
	events := slices.Clone(extra)
	for _, c := range changes {
		det := maps.Clone(c.Details)
		det["export_id"] = m.ExportID
		events = append(events, lifecycle.Event{Source: origin, Kind: c.Kind, EmployeeNumber: c.EmployeeNumber, Details: det})
	}
	var held []lifecycle.HeldEntry
	seen := map[lifecycle.HeldEntry]bool{}
	for _, h := range d.Held {
		det := map[string]any{"reason": h.Reason, "fields": h.Fields, "kept_last_export": h.Kept}
		e := lifecycle.HeldEntry{EmployeeNumber: h.EmployeeNumber, Details: compactJSON(det)}
		if seen[e] {
			continue
		}
		seen[e] = true
		held = append(held, e)
		if !lastHeld[e] {
			det["export_id"] = m.ExportID
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
			det["export_id"] = m.ExportID
			events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.ExportReleased, EmployeeNumber: e.EmployeeNumber, Details: det})
		}
	}
	for _, h := range d.Formulas {
		events = append(events, lifecycle.Event{Source: origin, Kind: lifecycle.ExportFormula, EmployeeNumber: h.EmployeeNumber,
			Details: map[string]any{"reason": h.Reason, "fields": h.Fields, "export_id": m.ExportID}})
	}
	return lifecycle.ExportRecord{ID: m.ExportID, Date: m.Date, Origin: origin, Persons: d.Persons, Roles: d.Roles,
		Held: held, Manifest: m, Events: events}
}
