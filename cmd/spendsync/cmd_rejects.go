package main

import (
	"strconv"

	"github.com/gocarina/gocsv"
	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
)

func newRejectsCommand(g *globals) *cobra.Command {
	var run int64
	var format string
	cmd := &cobra.Command{
		Use:   "rejects",
		Short: "List the rows an ingest rejected, with file, line, column and reason",
		Example: `  spendsync rejects
  spendsync rejects --run 42 --format csv > rejects.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			_, st, err := g.openReader()
			if err != nil {
				return err
			}
			defer st.Close()
			rejects, err := st.Rejects(cmd.Context(), run)
			if err != nil {
				return err
			}
			if format == "csv" {
				records := make([]rejectRecord, len(rejects))
				for i, r := range rejects {
					records[i] = rejectRecord{r.RunID, r.Source, r.File, r.Line, r.Column, r.EmployeeNumber, r.Reason, r.Raw}
				}
				return gocsv.Marshal(records, g.stdout)
			}
			rows := make([][]string, len(rejects))
			for i, r := range rejects {
				rows[i] = []string{strconv.FormatInt(r.RunID, 10), r.Source, r.File, strconv.Itoa(r.Line), r.Column, r.EmployeeNumber, r.Reason, r.Raw}
			}
			if rejects == nil {
				rejects = []lifecycle.RejectRow{}
			}
			return render(g.stdout, format, []string{"run", "source", "file", "line", "column", "employee", "reason", "raw"}, rows, rejects)
		},
	}
	cmd.Flags().Int64Var(&run, "run", 0, "run id (default: the last ingest)")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	return cmd
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
