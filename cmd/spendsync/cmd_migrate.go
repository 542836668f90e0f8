package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/pipeline"
)

// migrateOptions are migrate's flags.
type migrateOptions struct {
	from  string
	force bool
}

func (o *migrateOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.from, "from-helloid", "", "path of the HelloID SpendCloud connector database")
	f.BoolVar(&o.force, "force", false, "migrate again although an earlier migrate was recorded")
}

func newMigrateCommand(g *globals) *cobra.Command {
	var o migrateOptions
	cmd := &cobra.Command{
		Use:   "migrate --from-helloid DB",
		Short: "Adopt a HelloID SpendCloud.db as the last export",
		Long: `migrate reads the HelloID SpendCloud connector's SQLite database (tables
persons and roles; opened read-only) and records its content as the last
export, so the next export's diff shows only real changes instead of a wave
of creates. Run it once, after the first ingest and before the first export;
a second migrate is refused unless --force.`,
		Example: `  spendsync migrate --from-helloid 'C:\ProgramData\Tools4ever\HelloID\SpendCloud.db'`,
		Args:    noArgs,
		RunE:    func(cmd *cobra.Command, args []string) error { return runMigrate(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runMigrate(ctx context.Context, o migrateOptions, g *globals) error {
	if o.from == "" {
		return &usageError{fmt.Errorf("--from-helloid is required")}
	}
	w, err := g.openWriter("migrate")
	if err != nil {
		return err
	}
	err = g.pipeline(w.cfg, w.store, w.runID).Migrate(ctx, o.from, o.force)
	if errors.Is(err, pipeline.ErrMigrated) {
		err = &usageError{err}
	}
	return w.close(err)
}
