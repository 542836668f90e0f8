package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// runOptions are run's flags: the stages' own options.
type runOptions struct {
	pipeline.RunOptions
}

func (o *runOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.DryRun, "dry-run", false, "report what each stage would do; write nothing")
	f.BoolVar(&o.Force, "force", false, "let safety stops through once (recorded as force events)")
}

func newRunCommand(g *globals) *cobra.Command {
	var o runOptions
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
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runRun(ctx context.Context, o runOptions, g *globals) error {
	return g.withStore("run", o.DryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
		return g.pipeline(cfg, st, runID).Run(ctx, o.RunOptions)
	})
}
