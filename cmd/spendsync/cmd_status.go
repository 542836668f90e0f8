package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/lifecycle"
)

func newStatusCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show the state and the last run of each command",
		Example: `  spendsync status --json`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, err := g.openReader()
			if err != nil {
				return err
			}
			defer st.Close()
			persons, contracts, blocked, err := st.Counts(cmd.Context())
			if err != nil {
				return err
			}
			runs, err := st.LastRuns(cmd.Context())
			if err != nil {
				return err
			}
			if runs == nil {
				runs = []lifecycle.Run{}
			}
			if asJSON {
				return render(g.stdout, "json", nil, nil, map[string]any{
					"database": cfg.Database, "persons": persons, "contracts": contracts, "blocked": blocked, "last_runs": runs,
				})
			}
			fmt.Fprintf(g.stdout, "database   %s\npersons    %d (%d blocked)\ncontracts  %d\n\n", cfg.Database, persons, blocked, contracts)
			var rows [][]string
			for _, r := range runs {
				code := "running or killed"
				if r.ExitCode != nil {
					code = fmt.Sprint(*r.ExitCode)
				}
				rows = append(rows, []string{r.Command, fmt.Sprint(r.ID), r.Started, r.Finished, code, r.Actor})
			}
			return render(g.stdout, "table", []string{"command", "run", "started", "finished", "exit", "actor"}, rows, nil)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}
