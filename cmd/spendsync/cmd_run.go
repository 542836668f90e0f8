package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
)

func newRunCommand(g *globals) *cobra.Command {
	var dryRun, force bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Ingest, export and push under one lock (for cron)",
		Long: `run does ingest, export and push in one locked step. A safety stop or a
failure in a stage stops the run before the next; rejected rows do not.
The exit code is the worst of the stages (1 over 3 over 5 over 0).
--force lets safety stops through once (each is recorded as a force event).
With --dry-run each stage reports what it would do from the current state.`,
		Example: `  # crontab: every day at 06:15
  15 6 * * * spendsync --config /etc/spendsync/spendsync.yaml run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return g.withStore("run", dryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
				ingestErr := ingest(cmd, g, cfg, st, runID, ingestOptions{dryRun: dryRun, force: force}, nil)
				if ingestErr != nil && !errors.Is(ingestErr, errRejected) {
					return ingestErr
				}
				if _, err := runExportJob(ctx, g, cfg, st, runID, exportOptions{dryRun: dryRun, force: force}); err != nil {
					return err
				}
				if cfg.Target.Configured() {
					if err := runPushJob(ctx, g, cfg, st, runID, pushOptions{dryRun: dryRun}); err != nil {
						return err
					}
				} else {
					g.log.Warn("no target configured: the export is not delivered")
				}
				if cfg.retains() && !dryRun {
					if err := runPrune(ctx, g, cfg, st, runID); err != nil {
						return err
					}
				}
				return ingestErr
			})
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what each stage would do; write nothing")
	cmd.Flags().BoolVar(&force, "force", false, "let safety stops through once (recorded as force events)")
	return cmd
}
