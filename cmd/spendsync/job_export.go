package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/phase"
	"github.com/spendsync/spendsync/lifecycle"
)

type exportOptions struct {
	date, out     string
	dryRun, force bool
}

// exportPlan is a computed export, not yet written.
type exportPlan struct {
	date    string
	prev    *export.Previous
	dump    *export.Dump
	changes []export.Change
	forced  []lifecycle.Event
}

func (c *config) exportRules() export.Rules {
	return export.Rules{LeadDays: c.Rules.LeadDays, GraceDays: c.Rules.GraceDays, NameStyle: c.Rules.NameStyle,
		RemoveDiacritics: *c.Rules.RemoveDiacritics, GenderMap: c.Rules.GenderMap, Scope: c.Rules.Scope}
}

// planExport computes the dump for the date and its diff against the last
// export, and applies the safety stops.
func planExport(ctx context.Context, cfg *config, st *lifecycle.Store, o exportOptions, phases *phase.Reporter) (*exportPlan, error) {
	date := o.date
	if date == "" {
		date = time.Now().Format(model.DateLayout)
	} else if _, err := time.Parse(model.DateLayout, date); err != nil {
		return nil, &usageError{fmt.Errorf("--date %q is not YYYY-MM-DD", date)}
	}
	in, err := st.ExportInput(ctx)
	if err != nil {
		return nil, err
	}
	prev, err := st.LastExport(ctx)
	if err != nil {
		return nil, err
	}
	p := &exportPlan{date: date, prev: prev}
	ph := phases.Start("export", -1)
	p.dump = export.Build(in, prev, date, &cfg.Export, cfg.exportRules())
	ph.Done()
	ph = phases.Start("diff", -1)
	p.changes = export.Diff(prev, p.dump, &cfg.Export)
	ph.Done()
	th := cfg.Rules.Thresholds
	if err := (export.Limits{MaxRemovals: th.MaxRemovals, MaxRemovalPercent: th.MaxRemovalPercent}).Check(prev, p.dump, p.changes); err != nil {
		if !o.force {
			return nil, err
		}
		p.forced = append(p.forced, lifecycle.Event{Source: "export", Kind: lifecycle.Force, Details: map[string]any{"overridden": err.Error()}})
	}
	return p, nil
}

func (p *exportPlan) summary() string {
	return fmt.Sprintf("%d persons, %d roles for %s; %d create, %d update, %d remove, %d grant, %d revoke; %d held back",
		len(p.dump.Persons), len(p.dump.Roles), p.date, export.Count(p.changes, export.AccountCreate),
		export.Count(p.changes, export.AccountUpdate), export.Count(p.changes, export.AccountRemove),
		export.Count(p.changes, export.RoleGrant), export.Count(p.changes, export.RoleRevoke), len(p.dump.Held))
}

// runExportJob plans and (unless dry) writes an export and records it.
// With --out the files go to that folder only: a side copy that changes
// neither the export folder nor the last export.
func runExportJob(ctx context.Context, g *globals, cfg *config, st *lifecycle.Store, runID int64, o exportOptions) (*export.Manifest, error) {
	phases := g.phases()
	p, err := planExport(ctx, cfg, st, o, phases)
	if err != nil {
		return nil, err
	}
	for _, h := range p.dump.Held {
		g.log.Warn("held back", "employee", h.EmployeeNumber, "reason", h.Reason, "fields", h.Fields, "kept_last_export", h.Kept)
	}
	for _, h := range p.dump.Formulas {
		g.log.Warn("field starts like a spreadsheet formula", "employee", h.EmployeeNumber, "fields", h.Fields)
	}
	if o.dryRun {
		fmt.Fprintln(g.stdout, "would export: "+p.summary())
		if g.verbose {
			for _, c := range p.changes {
				fmt.Fprintf(g.stdout, "%s %s %s\n", c.Kind, c.EmployeeNumber, compactJSON(c.Details))
			}
		}
		return nil, nil
	}
	id := fmt.Sprintf("%s-%d", time.Now().UTC().Format("20060102T150405Z"), runID)
	persons, roles, m, err := export.Render(p.dump, id, &cfg.Export)
	if err != nil {
		return nil, err
	}
	if o.out != "" {
		if err := export.Write(o.out, persons, roles, m, false, 0); err != nil {
			return nil, err
		}
		fmt.Fprintf(g.stdout, "exported %s to %s: %s\n", id, o.out, p.summary())
		return m, nil
	}
	// Files first, then the database: a crash in between leaves the old
	// last export, so the next export recomputes and records the same diff.
	ph := phases.Start("write", -1)
	err = export.Write(cfg.Export.Dir, persons, roles, m, true, cfg.Retention.Exports)
	ph.Done()
	if err != nil {
		return nil, err
	}
	// RecordExport reports no progress of its own: a spinner with the count.
	ph = phases.Start(fmt.Sprintf("events (%d)", len(p.changes)), -1)
	err = st.RecordExport(ctx, runID, p.prev, lifecycle.ExportRecord{Manifest: m, Origin: "export", Dump: p.dump,
		Changes: p.changes, Extra: p.forced})
	ph.Done()
	if err != nil {
		return nil, err
	}
	if err := st.Summarize(runID, map[string]any{"export": map[string]any{"id": id, "date": p.date, "persons": len(p.dump.Persons),
		"roles": len(p.dump.Roles), "held": len(p.dump.Held), "changes": len(p.changes)}}); err != nil {
		return nil, err
	}
	g.log.Info("export", "export_id", id, "dir", cfg.Export.Dir, "persons", len(p.dump.Persons), "roles", len(p.dump.Roles),
		"changes", len(p.changes), "held", len(p.dump.Held))
	fmt.Fprintf(g.stdout, "exported %s: %s\n", id, p.summary())
	return m, nil
}

// isSafetyStop reports the errors that map to exit 3.
func isSafetyStop(err error) bool {
	return errors.Is(err, fault.ErrSafetyStop)
}
