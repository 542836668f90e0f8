package main

import "github.com/spf13/cobra"

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
			if o.dryRun {
				cfg, st, err := g.openReader()
				if err != nil {
					return err
				}
				defer st.Close()
				return runPushJob(cmd.Context(), g, cfg, st, 0, o)
			}
			w, err := g.openWriter("push")
			if err != nil {
				return err
			}
			return w.close(runPushJob(cmd.Context(), g, w.cfg, w.store, w.runID, o), "")
		},
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "connect and check only; upload nothing")
	cmd.Flags().BoolVar(&o.force, "force", false, "deliver again even if this export was delivered")
	return cmd
}
