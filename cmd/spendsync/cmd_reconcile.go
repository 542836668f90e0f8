package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/reconcile"
)

// reconcileOptions are reconcile's flags.
type reconcileOptions struct {
	format, file, kind string
}

func (o *reconcileOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.file, "file", "", "the account list exported from Connect or Spend Cloud (CSV or JSON)")
	f.StringVar(&o.kind, "kind", "", "connect or spendcloud: which list, and so which reconcile.* mapping")
	f.StringVar(&o.format, "format", "table", "table, json or csv")
}

func newReconcileCommand(g *globals) *cobra.Command {
	var o reconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare the target's own account list with what spendsync exported",
		Long: `reconcile reads an account list exported from Visma Connect (CSV or JSON) or
from Spend Cloud (CSV), its columns mapped in reconcile.connect.columns or
reconcile.spendcloud.columns, and reports:
  only_there     accounts active there that spendsync never exported or
                 removed (manual accounts, missed leavers), with what
                 spendsync knows of each;
  missing_there  accounts of spendsync's last export missing or inactive
                 there (an import that failed);
  different      accounts in both whose email, username, name or employee
                 number differ.
A reconcile event records the counts. Exit 0 when there is nothing to
report, 5 when there is.`,
		Example: `  spendsync reconcile --kind connect --file connect-users.csv
  spendsync reconcile --kind spendcloud --file gebruikers.csv --format json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runReconcile(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runReconcile(ctx context.Context, o reconcileOptions, g *globals) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	if !slices.Contains(reconcile.Kinds, o.kind) {
		return &usageError{fmt.Errorf("--kind must be %s, not %q", strings.Join(reconcile.Kinds, " or "), o.kind)}
	}
	if o.file == "" {
		return &usageError{fmt.Errorf("--file is required: the account list to compare")}
	}
	return g.withStore("reconcile", false, func(cfg *config, st *lifecycle.Store, runID int64) error {
		m := cfg.Reconcile.mapping(o.kind)
		accounts, err := reconcile.ReadFile(o.file, o.kind, m)
		if err != nil {
			return err
		}
		known, err := st.KnownPersons(ctx)
		if err != nil {
			return err
		}
		rep, err := reconcile.Compare(accounts, known, m)
		if err != nil {
			return err
		}
		counts := map[string]any{"kind": o.kind, "file": o.file, "accounts": len(accounts),
			"only_there": len(rep.OnlyThere), "missing_there": len(rep.MissingThere), "different": len(rep.Different)}
		if err := st.Record(ctx, runID, lifecycle.Event{Kind: "reconcile", Source: o.kind, Details: counts}); err != nil {
			return err
		}
		var rows [][]string
		for _, s := range []struct {
			name  string
			items []reconcile.Item
		}{{"only_there", rep.OnlyThere}, {"missing_there", rep.MissingThere}, {"different", rep.Different}} {
			for _, it := range s.items {
				line := ""
				if it.Line > 0 {
					line = strconv.Itoa(it.Line)
				}
				rows = append(rows, []string{s.name, it.EmployeeNumber, it.Email, it.Username, line, it.Detail})
			}
		}
		if err := render(g.stdout, o.format, []string{"finding", "employee_number", "email", "username", "line", "detail"}, rows, rep); err != nil {
			return err
		}
		if n := rep.Findings(); n > 0 {
			return findings("reconcile found %d account(s) out of step (%d only there, %d missing there, %d different)",
				n, len(rep.OnlyThere), len(rep.MissingThere), len(rep.Different))
		}
		return nil
	})
}
