package ingest

import (
	"fmt"
	"strings"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/lifecycle"
)

// checkThresholds returns why plan must not be applied without --force
// (rules.thresholds), or nil.
// Messages name the source, its files, the threshold and the figure.
func checkThresholds(th lifecycle.Thresholds, plan *Plan) error {
	src := plan.Source
	if len(plan.files) > 0 {
		src += " (" + strings.Join(plan.files, ", ") + ")"
	}
	file := func(i int) string { // persons file first, then contracts
		if i < len(plan.files) {
			return plan.files[i]
		}
		return "?"
	}
	switch n := plan.removals(); {
	case plan.empty() && plan.population > 0:
		return fmt.Errorf("%w: source %s: %s has no data rows while the source listed %d persons before (override with --force)", fault.ErrSafetyStop, plan.Source, file(0), plan.population)
	case plan.contractsBefore > 0:
		return fmt.Errorf("%w: source %s: the contracts file %s has no data rows while its persons had %d contracts (override with --force)", fault.ErrSafetyStop, plan.Source, file(1), plan.contractsBefore)
	case plan.emptied != nil:
		return fmt.Errorf("%w: source %s: the lookup file %s has no rows to use (none, or none matching where:), and %d persons or contracts would lose their %s (override with --force)",
			fault.ErrSafetyStop, plan.Source, plan.emptied.file, plan.emptied.count, plan.emptied.field)
	case th.MaxRemovals > 0 && n > th.MaxRemovals:
		return fmt.Errorf("%w: source %s would remove %d persons, more than thresholds.max_removals %d (override with --force)", fault.ErrSafetyStop, src, n, th.MaxRemovals)
	case th.MaxRemovalPercent > 0 && plan.population > 0 && n*100 > th.MaxRemovalPercent*plan.population:
		return fmt.Errorf("%w: source %s would remove %d of %d persons (%.1f%%), more than thresholds.max_removal_percent %d%% (override with --force)",
			fault.ErrSafetyStop, src, n, plan.population, float64(n)*100/float64(plan.population), th.MaxRemovalPercent)
	case th.MaxRejects > 0 && len(plan.Rejects) > th.MaxRejects:
		return fmt.Errorf("%w: source %s has %d rejected rows, more than thresholds.max_rejects %d (override with --force)", fault.ErrSafetyStop, src, len(plan.Rejects), th.MaxRejects)
	}
	return nil
}
