package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/report"
)

// reportOptions are report's flags.
type reportOptions struct {
	from, to, format, out string
}

func newReportCommand(g *globals) *cobra.Command {
	var o reportOptions
	cmd := &cobra.Command{
		Use:   "report",
		Short: "The auditor's access report: accounts, leavers' time to revoke, overrides, deliveries",
		Long: `report summarises a period for an auditor: accounts at its start and end,
joiners, leavers, role grants and revokes per role profile and month, every
leaver's time to revoke (HR end date to the delivery of the dump without the
account), every --force, block, unblock, allowed rename and safety stop, the
persons held back, every delivered file with its SHA-256, and the accounts on
unverified domains or without a role at the end. HTML is one self-contained
page (charts as inline SVG, prints on A4); CSV and JSON hold the same tables.
The period is whole UTC days, --from and --to both included (default: the
365 days up to today).`,
		Example: `  spendsync report --out access-2026.html
  spendsync report --from 2026-01-01 --to 2026-06-30 --format csv --out h1.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runReport(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *reportOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.from, "from", "", "first day, YYYY-MM-DD (default: 364 days before --to, a period of 365 days)")
	f.StringVar(&o.to, "to", "", "last day, YYYY-MM-DD (default: today, UTC)")
	f.StringVar(&o.format, "format", "html", "html, csv or json")
	f.StringVar(&o.out, "out", "", "write to FILE (default: stdout)")
}

func reportDay(flag, v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return time.Time{}, &usageError{fmt.Errorf("%s %q is not a date (YYYY-MM-DD)", flag, v)}
	}
	return t, nil
}

func runReport(ctx context.Context, o reportOptions, g *globals) error {
	if err := checkFormat(o.format, "html", "csv", "json"); err != nil {
		return err
	}
	now := time.Now().UTC()
	to, err := reportDay("--to", o.to, now.Truncate(24*time.Hour))
	if err != nil {
		return err
	}
	// 365 days with both ends included.
	from, err := reportDay("--from", o.from, to.AddDate(0, 0, -364))
	if err != nil {
		return err
	}
	if from.After(to) {
		return &usageError{fmt.Errorf("--from %s is after --to %s", from.Format("2006-01-02"), to.Format("2006-01-02"))}
	}
	cfg, st, err := g.openReader()
	if err != nil {
		return err
	}
	defer st.Close()
	cols := lifecycle.ReportColumns{Email: "email", Role: "Functieprofiel Code"}
	for _, c := range cfg.Export.Persons.Columns {
		if c.Field == "email" {
			cols.Email = c.Header
		}
	}
	for _, c := range cfg.Export.Roles.Columns {
		// The role profile is the role column where export.role_map fills
		// one, else the function code.
		if c.Field == "role" || (c.Field == "function_code" && cols.Role == "Functieprofiel Code") {
			cols.Role = c.Header
		}
	}
	r, err := report.Build(ctx, st, report.Options{From: from, To: to, Columns: cols,
		Verified: cfg.Rules.VerifiedDomains, Now: now})
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		switch o.format {
		case "csv":
			return r.WriteCSV(w)
		case "json":
			return r.WriteJSON(w)
		}
		return r.WriteHTML(w)
	}
	if o.out == "" {
		return write(g.stdout)
	}
	if err := atomicfile.Write(o.out, write); err != nil {
		return fmt.Errorf("write report %s: %w", o.out, err)
	}
	return nil
}
