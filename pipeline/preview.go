package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

// A preview (diff --sources, run --dry-run) shows what a run would do with
// today's sources. So that it shows exactly that, it does the run: the
// real ingest and export code, on a private copy of the database
// (lifecycle.Copy), with the export written into the copy's folder and no
// push; then it reads the events the copy recorded, and removes the copy.
// The database, the export folder and the drop are only read, metrics are
// not written, API responses are not kept, and the writer lock is not
// taken. Its memory is a run's; its disk space is the database's size.
//
// The copy's run is always forced, so it goes on past a safety stop and
// shows what `run --force` would deliver; the first stop a run without
// --force would hit is kept (Stop), with the very error that run would end
// with.

// PreviewOptions steer a preview.
type PreviewOptions struct {
	Date  string // the export's date; empty: today
	Force bool   // as run --force: no safety stop ends it
}

// Preview is what a run would do, computed on a copy of the database; Close
// removes the copy.
type Preview struct {
	Ingest  []string     // each source's summary line
	Date    string       // the export's date
	Stats   export.Stats // the export's counts, renames and held persons
	Stop    error        // the safety stop a run without --force would end with; nil: none (or Force)
	AtStage string       // where Stop fires: "ingest" or "export"
	// Findings is the exit-5 error the run would end with (rows rejected,
	// renames or emails held), nil for none.
	Findings error

	copy                   *lifecycle.Copy
	ingestFrom, exportFrom int64 // the newest event id before each stage
	last                   int64 // the newest event id after the run
}

// Preview does a run's ingest and export on a private copy of the
// database and keeps what they recorded, for Events.
func (p *Pipeline) Preview(ctx context.Context, o PreviewOptions) (_ *Preview, err error) {
	c, err := p.Store.OpenCopy(ctx)
	if err != nil {
		return nil, err
	}
	pv := &Preview{copy: c}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	runID, err := c.BeginRun("run")
	if err != nil {
		return nil, err
	}
	settings := *p.Settings
	ex := *settings.Export
	ex.Dir = filepath.Join(c.Dir(), "export")
	settings.Export = &ex
	settings.Sources = withoutKeeping(settings.Sources)
	settings.Target = nil
	// The copy's events are shown from the copy, not logged as it records
	// them: its log is Info and up.
	log := slog.New(infoUp{p.log().Handler()}).With("preview", true)
	q := &Pipeline{Store: c.Store, RunID: runID, Settings: &settings, Log: log,
		Stdout: io.Discard, Progress: p.Progress, Phases: p.Phases}
	q.stopped = func(stage string, err error) {
		if pv.Stop == nil && !o.Force {
			pv.Stop, pv.AtStage = err, stage
		}
	}
	if pv.ingestFrom, err = c.LastEventID(ctx); err != nil {
		return nil, err
	}
	rep, err := q.ingest(ctx, IngestOptions{Sources: settings.Sources, Force: true})
	if err != nil {
		return nil, err
	}
	for _, pl := range rep.Plans {
		pv.Ingest = append(pv.Ingest, pl.Summary())
	}
	rejected := rejected(rep, 0, true)
	if pv.exportFrom, err = c.LastEventID(ctx); err != nil {
		return nil, err
	}
	pv.Date = exportDate(ExportOptions{Date: o.Date})
	_, stats, held := q.export(ctx, ExportOptions{Date: pv.Date, Force: true})
	if held != nil && !errors.Is(held, ErrHeld) {
		return nil, held
	}
	pv.Stats = *stats
	pv.Findings = errors.Join(rejected, held)
	if pv.last, err = c.LastEventID(ctx); err != nil {
		return nil, err
	}
	return pv, nil
}

// Err is the error the run would end with: its safety stop, else its
// findings (exit 5), else nil.
func (pv *Preview) Err() error {
	if pv.Stop != nil {
		return pv.Stop
	}
	return pv.Findings
}

// Summary is the export's one-line account.
func (pv *Preview) Summary() string { return summary(pv.Date, &pv.Stats) }

// IngestEvents and ExportEvents stream the events the run would record in
// each stage, oldest first; export_id (the copy's) is left out.
func (pv *Preview) IngestEvents(ctx context.Context, fn func(lifecycle.Event) error) error {
	return pv.events(ctx, pv.ingestFrom, pv.exportFrom, nil, fn)
}

func (pv *Preview) ExportEvents(ctx context.Context, fn func(lifecycle.Event) error) error {
	return pv.events(ctx, pv.exportFrom, pv.last, nil, fn)
}

// Changes streams what the run would deliver to Spend Cloud, as diff
// lists it: the export's events (account and role changes, then renames,
// then held persons and the rest) and the safety stops --force would let
// through, by kind and employee number.
func (pv *Preview) Changes(ctx context.Context, fn func(lifecycle.Event) error) error {
	return pv.events(ctx, pv.ingestFrom, pv.last, changeRank, func(e lifecycle.Event) error {
		if e.Source != "export" && e.Kind != lifecycle.Force {
			return nil // the ingest's person and contract events
		}
		return fn(e)
	})
}

var changeRank = map[string]int{export.AccountCreate: 0, export.AccountUpdate: 0, export.AccountRemove: 1,
	export.RoleGrant: 2, export.RoleRevoke: 2, lifecycle.AccountRenamed: 3, lifecycle.AccountRenameHeld: 3}

func (pv *Preview) events(ctx context.Context, after, through int64, rank map[string]int, fn func(lifecycle.Event) error) error {
	if through <= after {
		return nil
	}
	return pv.copy.EachEvent(ctx, after, through, rank, func(e lifecycle.Event) error {
		delete(e.Details, "export_id")
		return fn(e)
	})
}

// Close removes the copy.
func (pv *Preview) Close() error { return pv.copy.Close() }

// previewRun is run --dry-run: each stage's "would" line, computed by a
// preview, and with Verbose the events; then the push's check.
func (p *Pipeline) previewRun(ctx context.Context, o RunOptions) error {
	pv, err := p.Preview(ctx, PreviewOptions{Force: o.Force})
	if err != nil {
		return err
	}
	defer pv.Close()
	out := p.stdout()
	for _, line := range pv.Ingest {
		fmt.Fprintln(out, "would: "+line)
	}
	if p.Verbose {
		if err := pv.IngestEvents(ctx, func(e lifecycle.Event) error {
			return writeJSONLine(out, wouldEvent{Source: e.Source, Kind: e.Kind, EmployeeNumber: e.EmployeeNumber, Details: e.Details})
		}); err != nil {
			return err
		}
	}
	if pv.AtStage == "ingest" {
		fmt.Fprintln(out, "would stop here: a safety stop (below); with --force the run would go on:")
	}
	fmt.Fprintln(out, "would export: "+pv.Summary())
	if p.Verbose {
		if err := pv.ExportEvents(ctx, func(e lifecycle.Event) error {
			_, err := fmt.Fprintf(out, "%s %s %s\n", e.Kind, e.EmployeeNumber, compactJSON(e.Details))
			return err
		}); err != nil {
			return err
		}
	}
	if pv.AtStage == "export" {
		fmt.Fprintln(out, "would stop here: a safety stop (below); nothing would be delivered without --force")
		return pv.Stop
	}
	if pv.Stop != nil {
		return pv.Stop
	}
	if t := p.Settings.Target; t != nil && t.Configured() {
		if err := p.Push(ctx, PushOptions{DryRun: true}); err != nil {
			return err
		}
	} else {
		p.log().Warn("no target configured: the export is not delivered")
	}
	return pv.Findings
}

// infoUp passes on what its handler does from Info up.
type infoUp struct{ slog.Handler }

func (h infoUp) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo && h.Handler.Enabled(ctx, l)
}
func (h infoUp) WithAttrs(a []slog.Attr) slog.Handler { return infoUp{h.Handler.WithAttrs(a)} }
func (h infoUp) WithGroup(n string) slog.Handler      { return infoUp{h.Handler.WithGroup(n)} }

func writeJSONLine(w io.Writer, v any) error {
	b := []byte(compactJSON(v))
	_, err := w.Write(append(b, '\n'))
	return err
}
