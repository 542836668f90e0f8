package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/spendsync/spendsync/reconcile"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// addCompletions teaches bash, zsh and fish the values of spendsync's
// flags and arguments, and makes "completion tcsh" a usage error.
func addCompletions(root *cobra.Command, g *globals) {
	root.InitDefaultCompletionCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			switch f.Name {
			case "format":
				// The usage text is the list of values ("table, json or csv").
				vals := strings.FieldsFunc(strings.ReplaceAll(f.Usage, " or ", ","), func(r rune) bool { return r == ',' || r == ' ' })
				c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
			case "kind":
				if c.Name() == "reconcile" {
					c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(reconcile.Kinds, cobra.ShellCompDirectiveNoFileComp))
					return
				}
				c.RegisterFlagCompletionFunc("kind", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
					return eventKinds(g), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
				})
			}
		})
		switch c.CommandPath() {
		case "spendsync ingest":
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return sourceNames(g, args), cobra.ShellCompDirectiveNoFileComp
			}
		case "spendsync person show", "spendsync person block", "spendsync person unblock":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return employeeNumbers(cmd.Context(), g, prefix), cobra.ShellCompDirectiveNoFileComp
			}
		case "spendsync completion":
			// The shells are its subcommands, which complete already:
			// ValidArgs as well listed each twice.
			shells := []string{"bash", "zsh", "fish", "powershell"}
			c.Args = func(cmd *cobra.Command, args []string) error {
				if len(args) > 0 {
					return &usageError{fmt.Errorf("no completion for shell %q: spendsync completes in %s", args[0], strings.Join(shells, ", "))}
				}
				return nil
			}
			c.RunE = func(cmd *cobra.Command, _ []string) error {
				return &usageError{fmt.Errorf("name a shell: %s", strings.Join(shells, ", "))}
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

// sourceNames are the configured sources not yet named; none when the
// config does not load (completion must not print errors).
func sourceNames(g *globals, named []string) []string {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range cfg.Sources {
		if !contains(named, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// eventKinds are the kinds recorded so far and their families (person.).
func eventKinds(g *globals) []string {
	_, st, err := g.openReader()
	if err != nil {
		return nil
	}
	defer st.Close()
	kinds, err := st.EventKinds(context.Background())
	if err != nil {
		return nil
	}
	var out []string
	for _, k := range kinds {
		if fam, _, ok := strings.Cut(k, "."); ok && !contains(out, fam+".") {
			out = append(out, fam+".")
		}
	}
	return append(out, kinds...)
}

// employeeNumbers completes a person's employee number from the state.
func employeeNumbers(ctx context.Context, g *globals, prefix string) []string {
	_, st, err := g.openReader()
	if err != nil {
		return nil
	}
	defer st.Close()
	if ctx == nil {
		ctx = context.Background()
	}
	nums, err := st.EmployeeNumbers(ctx, prefix, 200)
	if err != nil && !errors.Is(err, context.Canceled) {
		return nil
	}
	return nums
}
