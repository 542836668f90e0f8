package main

import (
	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
)

func newPushCommand(g *globals) *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push",
		Short: "Deliver the latest export to the target (SFTP or folder)",
		Long: `push delivers roles.csv and then persons.csv of the latest export (after
checking them against export.json) to target.sftp or target.dir. Each file
is uploaded under a temporary name, its size checked, then renamed into
place. An export already delivered to the target is not sent again unless
--force. --dry-run connects, checks the host key and the folder, and uploads
nothing. Every attempt is recorded as a delivery.ok or delivery.failed event.`,
		Example: `  spendsync push
  spendsync push --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore("push", o.dryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
				return runPushJob(cmd.Context(), g, cfg, st, runID, o)
			})
		},
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "connect and check only; upload nothing")
	cmd.Flags().BoolVar(&o.force, "force", false, "deliver again even if this export was delivered")
	return cmd
}
