package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// diffOptions are diff's flags.
type diffOptions struct {
	format, date string
	sources      bool
}

func (o *diffOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.format, "format", "table", "table or json")
	f.StringVar(&o.date, "date", "", "for this date, YYYY-MM-DD (default today)")
	f.BoolVar(&o.sources, "sources", false, "from today's HR data: what the whole run would deliver")
}

func newDiffCommand(g *globals) *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what the next export would change in Spend Cloud, writing nothing",
		Long: `diff shows what the next export would change in Spend Cloud, from the
stored state. With --sources it first reads today's sources as ingest would
and shows what the whole run would deliver: it does the run's ingest and
export on a private copy of the database (beside it, as large as it, removed
afterwards) and lists the events that run records. It exits as the run
would: 3 naming the safety stop the run would hit (the list then shows what
run --force would deliver), 5 for rejected rows or held renames.`,
		Example: `  spendsync diff
  spendsync diff --sources
  spendsync diff --format json | jq '.[] | select(.kind == "account.remove")'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDiff(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// diffChange is one line of diff's list, as --format json writes it.
type diffChange struct {
	Kind           string         `json:"kind"`
	EmployeeNumber string         `json:"employee_number"`
	Details        map[string]any `json:"details"`
}

func runDiff(ctx context.Context, o diffOptions, g *globals) error {
	if err := checkFormat(o.format, "table", "json"); err != nil {
		return err
	}
	if err := checkDate(o.date); err != nil {
		return err
	}
	return g.withReader(func(cfg *config, st *lifecycle.Store) error {
		if o.sources {
			return diffSources(ctx, g, g.pipeline(cfg, st, 0), o.format, o.date)
		}
		// A diff is shown even when the export would hit a safety stop.
		p, err := g.pipeline(cfg, st, 0).PlanExport(ctx, pipeline.ExportOptions{Date: o.date, Force: true})
		if err != nil {
			return err
		}
		out := []diffChange{}
		var rows [][]string
		add := func(kind, emp string, details map[string]any) {
			out = append(out, diffChange{kind, emp, details})
			rows = append(rows, []string{kind, emp, compactJSON(details)})
		}
		for _, c := range p.Changes {
			add(c.Kind, c.EmployeeNumber, c.Details)
		}
		// Renames apart: each would make a new employee in Spend Cloud.
		for _, r := range p.Stats.Renames {
			kind := lifecycle.AccountRenamed
			if r.Held {
				kind = lifecycle.AccountRenameHeld
			}
			add(kind, r.EmployeeNumber, map[string]any{"old": r.Old, "new": r.New})
		}
		for _, h := range p.Stats.Held {
			add("export.held", h.EmployeeNumber, map[string]any{"reason": h.Reason, "fields": h.Fields, "kept_last_export": h.Kept})
		}
		if o.format == "json" {
			return render(g.stdout, "json", nil, nil, out)
		}
		if err := render(g.stdout, "table", []string{"change", "employee", "details"}, rows, nil); err != nil {
			return err
		}
		_, err = fmt.Fprintf(g.stdout, "\n%s (%s)\n", p.Summary(), countRemovals(p.Changes, p.Stats.Before))
		return err
	})
}

// diffSources is diff --sources: a preview's changes, streamed from the
// copy (a first run at 1M persons lists millions), as a table or JSON.
func diffSources(ctx context.Context, g *globals, p *pipeline.Pipeline, format, date string) error {
	pv, err := p.Preview(ctx, pipeline.PreviewOptions{Date: date})
	if err != nil {
		return err
	}
	defer pv.Close()
	w := bufio.NewWriter(g.stdout)
	if format == "json" {
		n := 0
		err := pv.Changes(ctx, func(e lifecycle.Event) error {
			b, err := json.MarshalIndent(diffChange{e.Kind, e.EmployeeNumber, e.Details}, "  ", "  ")
			if err != nil {
				return err
			}
			sep := ",\n  "
			if n == 0 {
				sep = "[\n  "
			}
			n++
			w.WriteString(sep)
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		if n == 0 {
			w.WriteString("[]\n")
		} else {
			w.WriteString("\n]\n")
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return pv.Err()
	}
	// Two passes: the widths first, so no row is held.
	cells := strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`)
	wk, we := len("change"), len("employee")
	if err := pv.Changes(ctx, func(e lifecycle.Event) error {
		wk = max(wk, utf8.RuneCountInString(cells.Replace(e.Kind)))
		we = max(we, utf8.RuneCountInString(cells.Replace(e.EmployeeNumber)))
		return nil
	}); err != nil {
		return err
	}
	line := func(kind, emp, details string) error {
		_, err := fmt.Fprintf(w, "%-*s%-*s%s\n", wk+2, kind, we+2, emp, details)
		return err
	}
	line("change", "employee", "details")
	if err := pv.Changes(ctx, func(e lifecycle.Event) error {
		return line(cells.Replace(e.Kind), cells.Replace(e.EmployeeNumber), cells.Replace(compactJSON(e.Details)))
	}); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, l := range pv.Ingest {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "%s (%d of %d accounts removed)\n", pv.Summary(), pv.Stats.Changes[export.AccountRemove], pv.Stats.Before)
	if pv.Stop != nil {
		fmt.Fprintf(w, "a run would stop at the %s (a safety stop, below): the changes above are what run --force would deliver\n", pv.AtStage)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return pv.Err()
}

func countRemovals(changes []export.Change, before int) string {
	return fmt.Sprintf("%d of %d accounts removed", export.Count(changes, export.AccountRemove), before)
}
