package main

import (
	"strconv"

	"github.com/spendsync/spendsync/pipeline"
	"github.com/spf13/cobra"
)

func newDomainsCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "domains",
		Short: "List email domains in the data: persons per domain, verified or not",
		Long: `domains lists each email domain of the current persons with how many use it
and whether it is in rules.verified_domains. Persons on an unverified domain
cannot log in through Visma Connect.`,
		Example: `  spendsync domains --format json`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			cfg, st, err := g.openReader()
			if err != nil {
				return err
			}
			defer st.Close()
			ds, err := pipeline.Domains(cmd.Context(), st, cfg.Rules.VerifiedDomains)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, d := range ds {
				v := "no"
				if d.Verified {
					v = "yes"
				}
				rows = append(rows, []string{d.Domain, strconv.Itoa(d.Persons), v})
			}
			return render(g.stdout, format, []string{"domain", "persons", "verified"}, rows, ds)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}
