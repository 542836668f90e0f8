package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spendsync/spendsync/connector"
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
	rep, err := ingestSources(ctx, p.Store, p.RunID, sources, ingestConfig{Provided: provided,
		Rules: p.Settings.Rules, Thresholds: p.Settings.Thresholds,
		DryRun: o.DryRun, Force: o.Force, Now: o.Now, Log: p.Log, Progress: p.progress("reading"), Phases: p.Phases,
	})
	if err != nil {
		return err
	}
	perSource := map[string]any{}
	for _, pl := range rep.Plans {
		perSource[pl.Source] = map[string]any{"rows": pl.Rows, "joined": pl.Count(lifecycle.PersonJoined),
			"changed": pl.Count(lifecycle.PersonChanged), "left": pl.Count(lifecycle.PersonLeft), "rejected": len(pl.Rejects),
			"removals_held": pl.Count(lifecycle.PersonHeld), "orphans": pl.Orphans, "orphan_example": pl.OrphanExample,
			"contract_events": pl.Count(lifecycle.ContractAdded) + pl.Count(lifecycle.ContractChanged) + pl.Count(lifecycle.ContractEnded) + pl.Count(lifecycle.ContractRemoved)}
	}
	if err := p.Store.Summarize(p.RunID, map[string]any{"sources": perSource}); err != nil {
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
			enc := json.NewEncoder(out)
			for _, e := range pl.Events {
				e.Details = eventDetails(e)
				enc.Encode(e)
			}
		}
	}
	if rep.Rejects > 0 {
		return fmt.Errorf("%d rows rejected: %w", rep.Rejects, ErrRejected)
	}
	return nil
}

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
