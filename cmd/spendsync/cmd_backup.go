package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
)

func newBackupCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent, verified copy of the database",
		Long: `backup copies the database with VACUUM INTO, which reads one consistent
snapshot while other commands keep working, writes it 0600 under a
temporary name, checks it with PRAGMA integrity_check and only then gives it
its name. An existing FILE is not overwritten.`,
		Example: `  spendsync backup /var/backups/spendsync-$(date +%F).db`,
		Args:    exactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runBackup(cmd.Context(), g, args) },
	}
}

func runBackup(ctx context.Context, g *globals, args []string) error {
	return g.withReader(func(_ *config, st *lifecycle.Store) error {
		if err := st.Backup(ctx, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "backed up %s to %s (integrity_check ok)\n", st.Path(), args[0])
		return nil
	})
}
