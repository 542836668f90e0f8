package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// allowRenameOptions are allow-rename's flags.
type allowRenameOptions struct {
	reason string
}

func (o *allowRenameOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.reason, "reason", "", "why (recorded in the events)")
}

func newAllowRenameCommand(g *globals) *cobra.Command {
	var o allowRenameOptions
	cmd := &cobra.Command{
		Use:   "allow-rename EMPLOYEE_NUMBER [--reason TEXT]",
		Short: "Let one person's username change through on the next export (audited)",
		Long: `The username is Spend Cloud's key: a changed one makes a new employee
there and deactivates the old one, with its history, approvals and cards.
So an export holds a username change of an exported account (unless
rules.username_change is allow). allow-rename lets this person's through
on the next export, recorded as account.rename_allowed now and
account.renamed with who allowed it and why when the export uses it. An
allowance waits for a rename that HR has not sent yet.`,
		Example: `  spendsync person allow-rename 001234 --reason "married, ticket 4711; Spend Cloud employee merged by hand"`,
		Args:    exactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runAllowRename(cmd.Context(), o, g, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runAllowRename(ctx context.Context, o allowRenameOptions, g *globals, args []string) error {
	w, err := g.openWriter("allow-rename")
	if err != nil {
		return err
	}
	err = w.store.AllowRename(ctx, w.runID, args[0], o.reason)
	if err == nil {
		fmt.Fprintf(g.stdout, "the next export lets the username change of %s through\n", args[0])
	}
	return w.close(err)
}
