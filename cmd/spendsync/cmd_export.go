package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// exportOptions are export's flags: the stage's own options.
type exportOptions struct {
	pipeline.ExportOptions
}

func (o *exportOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Date, "date", "", "export for this date, YYYY-MM-DD (default today)")
	f.StringVar(&o.Out, "out", "", "write the files into this folder only (a side copy)")
	f.BoolVar(&o.DryRun, "dry-run", false, "report what would change; write nothing")
	f.BoolVar(&o.Force, "force", false, "let a safety stop through once (recorded as a force event)")
}

func newExportCommand(g *globals) *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the daily full dump (persons.csv, roles.csv, export.json)",
		Long: `export computes, for --date (default today), every person with an active
contract who is not blocked, and one role per active contract, and writes
persons.csv, roles.csv and export.json atomically into export.dir (the
previous export moves to export.dir/history/<id>/). The difference with the
previous export is recorded as account.* and role.* events. An export that
would remove too many accounts, or be empty while the last was not, stops
with exit 3; --force lets it through once.

--out DIR writes the three files into DIR only, as a side copy: export.dir
and the recorded last export stay as they are.`,
		Example: `  spendsync export
  spendsync export --dry-run -v
  spendsync export --date 2027-01-01 --out /tmp/preview`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runExport(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runExport(ctx context.Context, o exportOptions, g *globals) error {
	if err := checkDate(o.Date); err != nil {
		return err
	}
	return g.withStore("export", o.DryRun, func(cfg *config, st *lifecycle.Store, runID int64) error {
		_, err := g.pipeline(cfg, st, runID).Export(ctx, o.ExportOptions)
		return err
	})
}
