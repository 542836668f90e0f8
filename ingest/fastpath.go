package ingest

// The fast path: a source whose digest (files, settings, rules, binary)
// and the store's state generation are as at its last apply is not read
// at all; its plan repeats that apply's rejects and counts.

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/lifecycle"
)

// unchangedPlan returns a plan that changes nothing and repeats the
// source's last rejects, when the source may skip its diff: the same digest
// as its last apply and no state change since; else nil.
func unchangedPlan(ctx context.Context, s *lifecycle.Store, src, digest string) (*Plan, error) {
	last, err := s.SourceState(ctx, src)
	if err != nil || last == nil {
		return nil, err
	}
	cur, err := s.Generation()
	if err != nil || last.Digest != digest || last.Generation != cur {
		return nil, err
	}
	all, err := s.Rejects(ctx, last.RunID)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Source: src, Rows: last.Rows, unchangedSince: last.RunID, digest: digest}
	// The orphans are as they were: the run's summary counted them.
	if summary, err := s.RunSummary(ctx, last.RunID); err == nil {
		var sum struct {
			Sources map[string]struct {
				Orphans       int    `json:"orphans"`
				OrphanExample string `json:"orphan_example"`
				Merged        int    `json:"merged"`
			} `json:"sources"`
		}
		if json.Unmarshal([]byte(summary), &sum) == nil {
			plan.Orphans, plan.OrphanExample = sum.Sources[src].Orphans, sum.Sources[src].OrphanExample
			plan.Merged = sum.Sources[src].Merged
		}
	}
	for _, r := range all {
		if r.Source == src {
			plan.Rejects = append(plan.Rejects, connector.Reject{File: r.File, Line: r.Line, Column: r.Column,
				Reason: r.Reason, Raw: r.Raw, EmployeeNumber: r.EmployeeNumber})
		}
	}
	return plan, nil
}

// carried lists the sources whose recorded generation may move forward
// over the changes later sources of the same run made, because those
// cannot alter their diff: providers that only filled fields the source
// skips (every source skips all provided fields; providers skip each
// other's when disjoint). Without this, a primary source applied before a
// provider that changed the state would be diffed again in full on the
// next, unchanged, run.
func carried(plans []*Plan) []string {
	var carry []string
	for i, p := range plans {
		ok := p.digest != ""
		for _, later := range plans[i+1:] {
			if !later.changes() {
				continue
			}
			if len(later.provides) == 0 || slices.ContainsFunc(p.provides, func(f string) bool { return slices.Contains(later.provides, f) }) {
				ok = false
				break
			}
		}
		if ok {
			carry = append(carry, p.Source)
		}
	}
	return carry
}
