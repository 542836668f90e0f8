package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/phase"
	"github.com/spendsync/spendsync/lifecycle"
)

// Config is everything one ingest of some sources needs.
type Config struct {
	Rules      connector.Rules
	Thresholds lifecycle.Thresholds
	DryRun     bool
	Force      bool
	Now        time.Time
	Log        *slog.Logger
	Progress   connector.Progress
	Phases     *phase.Reporter // diff and write show they are alive
	// Provided are the fields every configured provider fills, read in
	// this run or not: a primary source never writes them.
	Provided []string
	// Stopped, when set, is told each safety stop Force lets through, as
	// the error a run without Force would have ended with (a preview shows
	// which stop a real run would hit).
	Stopped func(stage string, err error)
	// inMemory plans joiners in memory, as a dry run does, instead of
	// staging them: tests compare the two.
	inMemory bool
}

func (c Config) stopped(err error) {
	if c.Stopped != nil {
		c.Stopped("ingest", err)
	}
}

// Report is what an ingest did (or, dry, would do).
type Report struct {
	Plans   []*Plan
	Rejects int
}

// Run reads every source, diffs each against the state and, unless dry,
// applies each in its own transaction. Each source is read and diffed in
// turn, against the state as the earlier sources of the run left it (in
// memory), and all are read and checked against the safety stops before
// anything is written, so a stop or a bad file leaves the state exactly
// as it was. Primary sources go before providers, so a provider fills
// persons that joined in the same run.
func Run(ctx context.Context, s *lifecycle.Store, runID int64, sources []*connector.Source, opts Config) (*Report, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !opts.DryRun {
		// Whether or not this run stages, a killed one's stage goes.
		s.RemoveStages()
	}
	ordered := slices.Clone(sources)
	slices.SortStableFunc(ordered, func(a, b *connector.Source) int {
		return boolInt(a.IsProvider()) - boolInt(b.IsProvider())
	})
	// The fields of every configured provider, not just those read now:
	// `ingest afas` alone must leave AD's usernames as they are.
	provided := slices.Clone(opts.Provided)
	for _, src := range ordered {
		for _, f := range src.Provides {
			if !slices.Contains(provided, f) {
				provided = append(provided, f)
			}
		}
	}
	var forced []lifecycle.Event
	for _, src := range ordered {
		if err := src.CheckAge(opts.Now); err != nil {
			if !errors.Is(err, connector.ErrStale) {
				return nil, fmt.Errorf("source %s: %w", src.Name, err)
			}
			stop := fmt.Errorf("source %s: %w: %w", src.Name, fault.ErrSafetyStop, err)
			if !opts.Force {
				return nil, stop
			}
			opts.stopped(stop)
			forced = append(forced, forceEvent(src.Name, err))
		}
	}
	// A pipe or a device is copied once beside the database (max_size),
	// so the digest and the load read the same bytes.
	for _, src := range ordered {
		if err := src.Spool(ctx, filepath.Dir(s.Path())); err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		defer src.Release()
	}
	// Unchanged sources on an unchanged state need no diff (unchangedPlan).
	digests := make([]string, len(ordered))
	var unchanged []*Plan
	for i, src := range ordered {
		d, err := connector.Digest(ctx, src, opts.Rules, provided)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		digests[i] = d
		p, err := unchangedPlan(ctx, s, src.Name, d)
		if err != nil {
			return nil, err
		}
		if p != nil && (opts.Thresholds.MaxRejects == 0 || len(p.Rejects) <= opts.Thresholds.MaxRejects) {
			p.provides = src.Provides
			p.files = src.Files()
			unchanged = append(unchanged, p)
		}
	}
	if len(unchanged) == len(ordered) {
		return finishIngest(ctx, s, runID, &Report{Plans: unchanged}, forced, opts, log)
	}
	// The index of the stored persons comes first. Then each source in
	// turn is read (dropping the rows that hash as it recorded last time),
	// diffed and committed to the in-memory state, so the next source is
	// read against what the earlier ones changed; only then is anything
	// written. One source's rows are held at a time.
	st, err := loadState(ctx, s)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if st.providerFields, err = s.ProvidedFields(ctx); err != nil {
		return nil, err
	}
	// The index is most of a diff's live heap and lives to its end. A
	// collection when the heap grew by half the live size, not Go's whole,
	// keeps the peak near the live size: at 1M persons an ingest after a
	// 1% change peaked at 359 MB with the default and 284 MB at 50, for no
	// CPU time we could measure. Not on a first ingest (nothing stored):
	// there it cost 15% more CPU for little memory. GOGC, when set, decides.
	if st.index.len() > 0 && os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	if !opts.DryRun && !opts.inMemory {
		st.stg = newStaging(s, ordered)
	}
	rep := &Report{}
	diff := opts.Phases.Start("diff", int64(len(ordered)))
	defer diff.Done()
	for i, src := range ordered {
		if err := st.useHashesOf(src.Name); err != nil {
			return nil, err
		}
		// A source that recorded nothing (its first ingest) and stages
		// nothing would keep every row: it is read without a filter.
		st.later = i < len(ordered)-1
		if err := st.stg.begin(ctx, src); err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		f := st.newFilter(src, provided)
		var cf connector.Filter
		if f != nil {
			cf = f // not a nil *sourceFilter in the interface
		}
		res, err := connector.Load(ctx, src, opts.Rules, opts.Progress, cf)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		plan := st.planSource(res, provided, f)
		if st.err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, st.err)
		}
		plan.digest = digests[i]
		if err := checkThresholds(opts.Thresholds, plan); err != nil {
			if !opts.Force {
				return nil, err
			}
			opts.stopped(err)
			forced = append(forced, forceEvent(src.Name, err))
		}
		plan.hashes, plan.putHashes = nil, st.newHashes(plan.hashes, plan.void)
		if i < len(ordered)-1 {
			st.remember(plan)
			plan.keepIndexHashes() // the next source's hashes take their place
		}
		rep.Plans = append(rep.Plans, plan)
		diff.Add(1)
	}
	diff.Done()
	mergeProvided(rep.Plans)
	return finishIngest(ctx, s, runID, rep, forced, opts, log)
}

// finishIngest logs the plans and, unless dry, records them.
func finishIngest(ctx context.Context, s *lifecycle.Store, runID int64, rep *Report, forced []lifecycle.Event, opts Config, log *slog.Logger) (*Report, error) {
	rep.Rejects = 0
	for _, plan := range rep.Plans {
		rep.Rejects += len(plan.Rejects)
	}
	// The summary of each source: after its changes are written, so a run
	// stopped or failed while writing does not log counts it never
	// applied; a dry run logs what it would write.
	summary := func(plan *Plan) {
		log.Info("ingest", "source", plan.Source, "rows", plan.Rows, "joined", plan.Count(lifecycle.PersonJoined),
			"changed", plan.Count(lifecycle.PersonChanged), "left", plan.Count(lifecycle.PersonLeft), "contracts_added", plan.Count(lifecycle.ContractAdded),
			"contracts_changed", plan.Count(lifecycle.ContractChanged), "contracts_ended", plan.Count(lifecycle.ContractEnded), "contracts_removed", plan.Count(lifecycle.ContractRemoved),
			"rejected", len(plan.Rejects), "removals_held", plan.Count(lifecycle.PersonHeld), "orphans", plan.Orphans, "merged", plan.Merged, "unknown", plan.unknown,
			"unchanged_since_run", plan.unchangedSince, "dry_run", opts.DryRun)
	}
	for _, plan := range rep.Plans {
		if opts.DryRun {
			summary(plan)
		}
		if plan.Orphans > 0 {
			log.Info("contract rows whose employee number the persons file does not list were skipped (orphans: usually ended employments of people who left)",
				"source", plan.Source, "orphans", plan.Orphans, "first", plan.OrphanExample)
		}
		debug := log.Enabled(ctx, slog.LevelDebug)
		for _, e := range plan.Events {
			if e.Kind == lifecycle.PersonHeld {
				log.Warn("removal held back: a rejected row names this employee number", "source", e.Source,
					"employee", e.EmployeeNumber, "file", e.Details["file"], "line", e.Details["line"])
				continue
			}
			// The details are rendered only when debug logging is on: for
			// 100k joiners that rendering was a sixth of a first ingest.
			// A dry run with -v prints them on stdout instead (Ingest).
			if debug && !opts.DryRun {
				log.Debug("event", "kind", e.Kind, "employee", e.EmployeeNumber, "source", e.Source, detailsAttr(EventDetails(e)))
			}
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
		events += int64(len(plan.Events) + plan.stagedJoined)
	}
	write := opts.Phases.Start("write", events)
	defer write.Done()
	for _, plan := range rep.Plans {
		if err := apply(ctx, s, plan, runID); err != nil {
			return nil, fmt.Errorf("source %s: %w", plan.Source, err)
		}
		summary(plan)
		write.Add(int64(len(plan.Events) + plan.stagedJoined))
	}
	if err := s.CarryGenerations(ctx, carried(rep.Plans)); err != nil {
		return nil, err
	}
	return rep, nil
}

// apply writes one source's plan in one transaction: what it holds in
// memory, then its staged joiners, read from the stage in employee order
// and handed to the store as they come.
func apply(ctx context.Context, s *lifecycle.Store, plan *Plan, runID int64) error {
	w, err := s.BeginApply(ctx, plan.changeSet(), runID)
	if err != nil {
		return err
	}
	if plan.stream != nil {
		if err := plan.stream(w); err != nil {
			w.Rollback()
			return err
		}
	}
	return w.Commit()
}

func forceEvent(source string, reason error) lifecycle.Event {
	return lifecycle.Event{Source: source, Kind: lifecycle.Force, Details: map[string]any{"overridden": reason.Error()}}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mergeProvided folds a provider's fields for a person who joined in the
// same run into that person.joined event: a joiner is one event, not a
// join followed by a change of the fields AD fills. The provider's plan
// still writes the fields; only its event goes.
func mergeProvided(plans []*Plan) {
	joined := map[string]*lifecycle.Event{}
	for _, p := range plans {
		for emp, i := range p.joined {
			joined[emp] = &p.Events[i]
		}
	}
	if len(joined) == 0 {
		return
	}
	for _, p := range plans {
		if len(p.provides) == 0 {
			continue
		}
		p.Events = slices.DeleteFunc(p.Events, func(e lifecycle.Event) bool {
			j, ok := joined[e.EmployeeNumber]
			if !ok || e.Kind != lifecycle.PersonChanged {
				return false
			}
			je := j.Lazy.(*joinedEvent)
			for f, ch := range e.Details["fields"].(map[string]change) {
				je.person.p.SetField(f, ch.New)
			}
			if !slices.Contains(je.providedBy, p.Source) {
				je.providedBy = append(je.providedBy, p.Source)
			}
			return true
		})
	}
}

// detailsAttr logs an event's details as a group, so text logs show
// details.first_name.new=Jan rather than a Go map, and JSON logs an object.
func detailsAttr(d map[string]any) slog.Attr {
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
