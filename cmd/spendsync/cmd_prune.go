package main

import (
	"context"

	"github.com/spf13/cobra"

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
		RunE:    func(cmd *cobra.Command, args []string) error { return runPrune(cmd.Context(), g) },
	}
}

func runPrune(ctx context.Context, g *globals) error {
	return g.withStore("prune", false, func(cfg *config, st *lifecycle.Store, runID int64) error {
		return g.pipeline(cfg, st, runID).Prune(ctx)
	})
}
