package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/connector"
)

func newProfilesCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "profiles [NAME]",
		Short: "List the built-in source profiles, or show one",
		Long: `profiles lists the built-in column presets a source can name with profile:.
With a NAME it shows each canonical field with its column (or, for an api:
source, its JSON path), the date format, the naming-convention map and
where the names come from. Columns set in the config always win.`,
		Example: `  spendsync profiles
  spendsync profiles afas`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{fmt.Errorf("%s takes at most one profile name, got %q", cmd.CommandPath(), args)}
			}
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return connector.ProfileNames(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runProfiles(g, args) },
	}
}

func runProfiles(g *globals, args []string) error {
	if len(args) == 0 {
		return connector.WriteProfiles(g.stdout)
	}
	ok, err := connector.WriteProfile(g.stdout, args[0])
	if !ok {
		return &usageError{fmt.Errorf("unknown profile %q (known: %s)", args[0], strings.Join(connector.ProfileNames(), ", "))}
	}
	return err
}
