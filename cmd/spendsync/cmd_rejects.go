package main

import (
	"context"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/lifecycle"
)

// rejectsOptions are rejects's flags.
type rejectsOptions struct {
	run    int64
	format string
}

func (o *rejectsOptions) addFlags(f *pflag.FlagSet) {
	f.Int64Var(&o.run, "run", 0, "run id (default: the last ingest)")
	f.StringVar(&o.format, "format", "table", "table, json or csv")
}

func newRejectsCommand(g *globals) *cobra.Command {
	var o rejectsOptions
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List the rows an ingest rejected, with file, line, column and reason",
		Example: `  spendsync rejects
  spendsync rejects --run 42 --format csv > rejects.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runRejects(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runRejects(ctx context.Context, o rejectsOptions, g *globals) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	return g.withReader(func(_ *config, st *lifecycle.Store) error {
		rejects, err := st.Rejects(ctx, o.run)
		if err != nil {
			return err
		}
		return printRejects(g.stdout, o.format, rejects)
	})
}

// printRejects writes rejects as a table, JSON or CSV.
func printRejects(w io.Writer, format string, rejects []lifecycle.RejectRow) error {
	return renderList(w, format, []string{"run", "source", "file", "line", "column", "employee", "reason", "raw"}, rejects,
		func(r lifecycle.RejectRow) rejectRecord {
			return rejectRecord{r.RunID, r.Source, r.File, r.Line, r.Column, r.EmployeeNumber, r.Reason, r.Raw}
		},
		func(r lifecycle.RejectRow) []string {
			return []string{strconv.FormatInt(r.RunID, 10), r.Source, r.File, strconv.Itoa(r.Line), r.Column, r.EmployeeNumber, r.Reason, r.Raw}
		})
}

// rejectRecord is a reject as rejects --format csv writes it.
type rejectRecord struct {
	Run      int64  `csv:"run"`
	Source   string `csv:"source"`
	File     string `csv:"file"`
	Line     int    `csv:"line"`
	Column   string `csv:"column"`
	Employee string `csv:"employee"`
	Reason   string `csv:"reason"`
	Raw      string `csv:"raw"`
}
