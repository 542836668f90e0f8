package main

import (
	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

func newRunCommand(g *globals) *cobra.Command {
	var dryRun, force bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Ingest, export, push and prune under one lock (for cron)",
		Long: `run does ingest, export, push and (when retention is set) prune in one
locked step. A safety stop or a
failure in a stage stops the run before the next; rejected rows do not.
The exit code is the worst of the stages (1 over 3 over 5 over 0).
--force lets safety stops through once (each is recorded as a force event).
With --dry-run the run is done on a private copy of the database (beside it,
as large as it, removed afterwards), reading today's sources, with the
export written beside the copy and no push: each stage reports what it
would do (-v: each event it would record), and the exit code is the run's.
Nothing is written to the database, the export folder or the drop.`,
		Example: `  # crontab: every day at 06:15
  15 6 * * * spendsync --config /etc/spendsync/spendsync.yaml run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore("run", dryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
				return g.pipeline(cfg, st, runID).Run(cmd.Context(), pipeline.RunOptions{DryRun: dryRun, Force: force})
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what each stage would do; write nothing")
	cmd.Flags().BoolVar(&force, "force", false, "let safety stops through once (recorded as force events)")
	return cmd
}
