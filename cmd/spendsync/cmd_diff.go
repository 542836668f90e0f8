package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

func newDiffCommand(g *globals) *cobra.Command {
	var format, date string
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what the next export would change in Spend Cloud, writing nothing",
		Example: `  spendsync diff
  spendsync diff --format json | jq '.[] | select(.kind == "account.remove")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			if err := checkDate(date); err != nil {
				return err
			}
			cfg, st, err := g.openReader()
			if err != nil {
				return err
			}
			defer st.Close()
			// A diff is shown even when the export would hit a safety stop.
			p, err := g.pipeline(cfg, st, 0).PlanExport(cmd.Context(), pipeline.ExportOptions{Date: date, Force: true})
			if err != nil {
				return err
			}
			type change struct {
				Kind           string         `json:"kind"`
				EmployeeNumber string         `json:"employee_number"`
				Details        map[string]any `json:"details"`
			}
			out := []change{}
			var rows [][]string
			for _, c := range p.Changes {
				out = append(out, change{c.Kind, c.EmployeeNumber, c.Details})
				rows = append(rows, []string{c.Kind, c.EmployeeNumber, compactJSON(c.Details)})
			}
			// Renames apart: each would make a new employee in Spend Cloud.
			for _, r := range p.Stats.Renames {
				kind := lifecycle.AccountRenamed
				if r.Held {
					kind = lifecycle.AccountRenameHeld
				}
				d := map[string]any{"old": r.Old, "new": r.New}
				out = append(out, change{kind, r.EmployeeNumber, d})
				rows = append(rows, []string{kind, r.EmployeeNumber, compactJSON(d)})
			}
			for _, h := range p.Stats.Held {
				d := map[string]any{"reason": h.Reason, "fields": h.Fields, "kept_last_export": h.Kept}
				out = append(out, change{"export.held", h.EmployeeNumber, d})
				rows = append(rows, []string{"export.held", h.EmployeeNumber, compactJSON(d)})
			}
			if format == "json" {
				return render(g.stdout, "json", nil, nil, out)
			}
			if err := render(g.stdout, "table", []string{"change", "employee", "details"}, rows, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "\n%s (%s)\n", p.Summary(), countRemovals(p.Changes, p.Stats.Before))
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().StringVar(&date, "date", "", "for this date, YYYY-MM-DD (default today)")
	return cmd
}

func countRemovals(changes []export.Change, before int) string {
	return fmt.Sprintf("%d of %d accounts removed", export.Count(changes, export.AccountRemove), before)
}
