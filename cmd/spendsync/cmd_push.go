package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// pushOptions are push's flags: the stage's own options.
type pushOptions struct {
	pipeline.PushOptions
}

func (o *pushOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.DryRun, "dry-run", false, "connect and check only; upload nothing")
	f.BoolVar(&o.Force, "force", false, "deliver again even if this export was delivered")
}

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
		RunE: func(cmd *cobra.Command, args []string) error { return runPush(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runPush(ctx context.Context, o pushOptions, g *globals) error {
	return g.withStore("push", o.DryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
		if !cfg.Target.Configured() {
			return &configError{file: cfg.path, key: "target", err: errors.New("no target configured (set target.sftp or target.dir)")}
		}
		return g.pipeline(cfg, st, runID).Push(ctx, o.PushOptions)
	})
}
