package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/phase"
)

// IngestOptions steer one ingest.
type IngestOptions struct {
	Rules      connector.Rules
	Thresholds Thresholds
	DryRun     bool
	Force      bool
	Now        time.Time
	Log        *slog.Logger
	Progress   connector.Progress
	Phases     *phase.Reporter // diff and write show they are alive
}

// IngestReport is what an ingest did (or, dry, would do).
type IngestReport struct {
	Plans   []*Plan
	Rejects int
}

// Ingest reads every source, diffs each against the state and, unless dry,
// applies each in its own transaction. All sources are read and checked
// against the safety stops before anything is written, so a stop or a bad
// file leaves the state exactly as it was. Primary sources go before
// providers, so a provider fills persons that joined in the same run.
func (s *Store) Ingest(ctx context.Context, runID int64, sources []*connector.Source, opts IngestOptions) (*IngestReport, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ordered := slices.Clone(sources)
	slices.SortStableFunc(ordered, func(a, b *connector.Source) int {
		return boolInt(a.IsProvider()) - boolInt(b.IsProvider())
	})
	var provided []string
	for _, src := range ordered {
		provided = append(provided, src.Provides...)
	}
	var forced []Event
	for _, src := range ordered {
		if err := src.CheckAge(opts.Now); err != nil {
			if !errors.Is(err, connector.ErrStale) {
				return nil, fmt.Errorf("source %s: %w", src.Name, err)
			}
			if !opts.Force {
				return nil, fmt.Errorf("source %s: %w: %w", src.Name, fault.ErrSafetyStop, err)
			}
			forced = append(forced, forceEvent(src.Name, err))
		}
	}
	// Unchanged sources on an unchanged state need no diff (fastpath.go).
	digests := make([]string, len(ordered))
	var unchanged []*Plan
	for i, src := range ordered {
		d, err := sourceDigest(src, opts.Rules, provided)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		digests[i] = d
		p, err := s.unchangedPlan(ctx, src.Name, d)
		if err != nil {
			return nil, err
		}
		if p != nil && (opts.Thresholds.MaxRejects == 0 || len(p.Rejects) <= opts.Thresholds.MaxRejects) {
			p.provides = src.Provides
			p.Files = src.Files()
			unchanged = append(unchanged, p)
		}
	}
	if len(unchanged) == len(ordered) {
		return s.finishIngest(ctx, runID, &IngestReport{Plans: unchanged}, forced, opts, log)
	}
	// Reading the files and loading the state are independent: overlap them.
	type loaded struct {
		st  *State
		err error
	}
	stateCh := make(chan loaded, 1)
	go func() {
		st, err := s.LoadState()
		stateCh <- loaded{st, err}
	}()
	results := make([]*connector.Result, len(ordered))
	var loadErr error
	for i, src := range ordered {
		res, err := connector.LoadContext(ctx, src, opts.Rules, opts.Progress)
		if err != nil {
			loadErr = fmt.Errorf("source %s: %w", src.Name, err)
			break
		}
		results[i] = res
	}
	state := <-stateCh
	if loadErr != nil {
		return nil, loadErr
	}
	if state.err != nil {
		return nil, state.err
	}
	st := state.st
	rep := &IngestReport{}
	diff := opts.Phases.Start("diff", int64(len(results)))
	defer diff.Done()
	for i, res := range results {
		plan := st.PlanSource(res, provided)
		plan.digest = digests[i]
		if err := opts.Thresholds.Check(plan); err != nil {
			if !opts.Force {
				return nil, err
			}
			forced = append(forced, forceEvent(res.Source.Name, err))
		}
		st.Commit(plan)
		rep.Plans = append(rep.Plans, plan)
		diff.Add(1)
	}
	diff.Done()
	return s.finishIngest(ctx, runID, rep, forced, opts, log)
}

// finishIngest logs the plans and, unless dry, records them.
func (s *Store) finishIngest(ctx context.Context, runID int64, rep *IngestReport, forced []Event, opts IngestOptions, log *slog.Logger) (*IngestReport, error) {
	rep.Rejects = 0
	for _, plan := range rep.Plans {
		rep.Rejects += len(plan.Rejects)
	}
	for _, plan := range rep.Plans {
		log.Info("ingest", "source", plan.Source, "rows", plan.Rows, "joined", plan.Count(PersonJoined),
			"changed", plan.Count(PersonChanged), "left", plan.Count(PersonLeft), "contracts_added", plan.Count(ContractAdded),
			"contracts_changed", plan.Count(ContractChanged)+plan.Count(ContractEnded), "contracts_removed", plan.Count(ContractRemoved),
			"rejected", len(plan.Rejects), "removals_held", plan.Count(PersonHeld), "orphans", plan.Orphans, "unknown", plan.Unknown,
			"unchanged_since_run", plan.Unchanged, "dry_run", opts.DryRun)
		if plan.Orphans > 0 {
			log.Info("contract rows whose employee number the persons file does not list were skipped (orphans: usually ended employments of people who left)",
				"source", plan.Source, "orphans", plan.Orphans, "first", plan.OrphanExample)
		}
		for _, e := range plan.Events {
			if e.Kind == PersonHeld {
				log.Warn("removal held back: a rejected row names this employee number", "source", e.Source,
					"employee", e.EmployeeNumber, "file", e.Details["file"], "line", e.Details["line"])
				continue
			}
			log.Debug("event", "kind", e.Kind, "employee", e.EmployeeNumber, "source", e.Source, DetailsAttr(e.Details))
		}
		for _, r := range plan.Rejects {
			log.Warn("rejected row", "source", plan.Source, "file", r.File, "line", r.Line, "column", r.Column, "reason", r.Reason)
		}
	}
	if opts.DryRun {
		return rep, nil
	}
	if len(forced) > 0 {
		if err := s.Record(ctx, runID, forced...); err != nil {
			return nil, err
		}
	}
	var events int64
	for _, plan := range rep.Plans {
		events += int64(len(plan.Events))
	}
	write := opts.Phases.Start("write", events)
	defer write.Done()
	for _, plan := range rep.Plans {
		if err := s.Apply(ctx, plan, runID); err != nil {
			return nil, fmt.Errorf("source %s: %w", plan.Source, err)
		}
		write.Add(int64(len(plan.Events)))
	}
	if err := s.carryGenerations(ctx, rep.Plans); err != nil {
		return nil, err
	}
	return rep, nil
}

func forceEvent(source string, reason error) Event {
	return Event{Source: source, Kind: Force, Details: map[string]any{"overridden": reason.Error()}}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DetailsAttr logs an event's details as a group, so text logs show
// details.first_name.new=Jan rather than a Go map, and JSON logs an object.
func DetailsAttr(d map[string]any) slog.Attr {
	// A JSON round trip turns the structs inside (field changes) into
	// maps, named as the events table stores them.
	var plain map[string]any
	if b, err := json.Marshal(d); err != nil || json.Unmarshal(b, &plain) != nil {
		return slog.Any("details", d)
	}
	return slog.Attr{Key: "details", Value: groupValue(plain)}
}

func groupValue(m map[string]any) slog.Value {
	attrs := make([]slog.Attr, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if sub, ok := m[k].(map[string]any); ok {
			attrs = append(attrs, slog.Attr{Key: k, Value: groupValue(sub)})
			continue
		}
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	return slog.GroupValue(attrs...)
}
