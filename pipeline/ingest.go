package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/ingest"
	"github.com/spendsync/spendsync/lifecycle"
)

// IngestOptions steer one ingest.
type IngestOptions struct {
	Sources       []*connector.Source // nil: every configured source
	DryRun, Force bool
	Now           time.Time
}

// Ingest reads the sources, diffs them against the state and, unless dry,
// records the changes. Rejected rows end it with ErrRejected after the
// good rows were applied.
func (p *Pipeline) Ingest(ctx context.Context, o IngestOptions) error {
	rep, err := p.ingest(ctx, o)
	if err != nil {
		return err
	}
	out := p.stdout()
	for _, pl := range rep.Plans {
		prefix := ""
		if o.DryRun {
			prefix = "would: "
		}
		fmt.Fprintln(out, prefix+pl.Summary())
		if o.DryRun && p.Verbose {
			// The events the run would record: no id, time or actor yet.
			enc := json.NewEncoder(out)
			for _, e := range pl.Events {
				enc.Encode(wouldEvent{Source: e.Source, Kind: e.Kind, EmployeeNumber: e.EmployeeNumber, Details: ingest.EventDetails(e)})
			}
		}
	}
	rejected := rejected(rep, p.RunID, o.DryRun)
	if o.DryRun {
		return rejected
	}
	// Leavers lose their login at once, before any export (SPEC, "Visma
	// Connect"); a failure there is recorded and retried, and ends the
	// command with exit 1 after the rest was done.
	if err := p.Connect(ctx, false); err != nil {
		if rejected == nil {
			return err
		}
		return errors.Join(rejected, err)
	}
	return rejected
}

// ingest is Ingest without its report on stdout.
func (p *Pipeline) ingest(ctx context.Context, o IngestOptions) (*ingest.Report, error) {
	sources := o.Sources
	if sources == nil {
		sources = p.Settings.Sources
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.DryRun {
		sources = withoutKeeping(sources)
	}
	var provided []string
	for _, src := range p.Settings.Sources {
		provided = append(provided, src.Provides...)
	}
	rep, err := ingest.Run(ctx, p.Store, p.RunID, sources, ingest.Config{Provided: provided,
		Rules: p.Settings.Rules, Thresholds: p.Settings.Thresholds,
		DryRun: o.DryRun, Force: o.Force, Now: o.Now, Log: p.Log, Progress: p.progress("reading"), Phases: p.Phases,
		Stopped: p.stopped,
	})
	if err != nil {
		return nil, err
	}
	perSource := map[string]any{}
	for _, pl := range rep.Plans {
		perSource[pl.Source] = map[string]any{"rows": pl.Rows, "joined": pl.Count(lifecycle.PersonJoined),
			"changed": pl.Count(lifecycle.PersonChanged), "left": pl.Count(lifecycle.PersonLeft), "rejected": len(pl.Rejects),
			"removals_held": pl.Count(lifecycle.PersonHeld), "orphans": pl.Orphans, "orphan_example": pl.OrphanExample, "merged": pl.Merged,
			"contract_events": pl.Count(lifecycle.ContractAdded) + pl.Count(lifecycle.ContractChanged) + pl.Count(lifecycle.ContractEnded) + pl.Count(lifecycle.ContractRemoved)}
	}
	if err := p.Store.Summarize(p.RunID, map[string]any{"sources": perSource}); err != nil {
		return nil, err
	}
	return rep, nil
}

// rejected is the error an ingest that rejected rows ends with, nil when
// it rejected none.
func rejected(rep *ingest.Report, runID int64, dry bool) error {
	if rep.Rejects > 0 {
		return &rejectedError{rows: rep.Rejects, run: runID, dry: dry}
	}
	return nil
}

// wouldEvent is an event a dry run would record.
type wouldEvent struct {
	Source         string         `json:"source"`
	Kind           string         `json:"kind"`
	EmployeeNumber string         `json:"employee_number"`
	Details        map[string]any `json:"details"`
}

// rejectedError ends an ingest that applied its good rows and rejected
// others: it says where to find them, which for a dry run is only the
// warnings it logged, since it records nothing.
type rejectedError struct {
	rows int
	run  int64
	dry  bool
}

func (e *rejectedError) Error() string {
	n := fmt.Sprintf("%d rows", e.rows)
	it := "them"
	if e.rows == 1 {
		n, it = "1 row", "it"
	}
	if e.dry {
		return fmt.Sprintf("%s would be rejected; a dry run records nothing, so the warnings above list %s", n, it)
	}
	return fmt.Sprintf("%s rejected: spendsync rejects --run %d lists %s", n, e.run, it)
}

func (e *rejectedError) Is(target error) bool { return target == ErrRejected }

// withoutKeeping copies the api: sources that keep their pages so a dry run
// keeps none: a dry run writes nothing anywhere.
func withoutKeeping(sources []*connector.Source) []*connector.Source {
	out := make([]*connector.Source, len(sources))
	for i, s := range sources {
		out[i] = s
		if s.API != nil && s.API.KeepResponses {
			c, a := *s, *s.API
			a.KeepResponses = false
			c.API = &a
			out[i] = &c
		}
	}
	return out
}
