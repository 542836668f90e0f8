package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

func newPruneCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "prune",
		Short: "Apply the retention policy and report what was removed",
		Long: `prune removes events and rejects older than retention.events, persons who
left longer ago than retention.leavers, and export history beyond
retention.exports. A zero or absent value keeps everything. run prunes at
its end when retention is configured. The prune itself is an event.`,
		Example: `  spendsync prune`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore("prune", false, func(cfg *config, st *lifecycle.Store, runID int64) error {
				return runPrune(cmd.Context(), g, cfg, st, runID)
			})
		},
	}
}

func (c *config) retains() bool {
	r := c.Retention
	return r.Events > 0 || r.Exports > 0 || r.Leavers > 0
}

func runPrune(ctx context.Context, g *globals, cfg *config, st *lifecycle.Store, runID int64) error {
	p, err := st.Prune(ctx, runID, cfg.Retention, time.Now())
	if err != nil {
		return err
	}
	exports := 0
	if cfg.Retention.Exports > 0 {
		if exports, err = export.PruneHistory(cfg.Export.Dir, cfg.Retention.Exports); err != nil {
			return err
		}
	}
	g.log.Info("prune", "events", p.Events, "rejects", p.Rejects, "leavers", p.Leavers, "exports", exports)
	fmt.Fprintf(g.stdout, "pruned %d events, %d rejects, %d leavers, %d exports\n", p.Events, p.Rejects, p.Leavers, exports)
	return nil
}
