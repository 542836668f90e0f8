package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// errStaleDelivery makes status --max-age exit 3 (a safety-stop class
// signal a monitoring check can alert on).
var errStaleDelivery = errors.New("last successful delivery is too old")

// statusOptions are status's flags.
type statusOptions struct {
	json   bool
	maxAge time.Duration
}

func (o *statusOptions) addFlags(f *pflag.FlagSet) {
	f.BoolVar(&o.json, "json", false, "print JSON for scripts")
	f.Var(durationFlag{&o.maxAge}, "max-age", "exit 3 when the last successful delivery is older than this (e.g. 26h or 2d)")
}

func newStatusCommand(g *globals) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the state, the last run of each command and the last deliveries",
		Long: `status prints the state's counts, the last run of each command with its exit
code, and the last delivery attempt and success per target. With --max-age
it exits 3 when the last successful delivery is older than that (or there
is none): a ready check for Nagios, Icinga or a cron wrapper.`,
		Example: `  spendsync status --json
  spendsync status --max-age 26h || alert "spendsync has not delivered for a day"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runStatus(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runStatus(ctx context.Context, o statusOptions, g *globals) error {
	return g.withReader(func(cfg *config, st *lifecycle.Store) error {
		r, err := pipeline.Status(ctx, st, cfg.settings())
		if err != nil {
			return err
		}
		stale := o.maxAge > 0 && !deliveredWithin(r.Delivered, o.maxAge)
		if o.json {
			err = render(g.stdout, "json", nil, nil, map[string]any{
				"database": cfg.Database, "persons": r.Persons, "contracts": r.Contracts, "blocked": r.Blocked,
				"open_rejects": r.Rejects, "held_back": r.HeldBack, "last_runs": nonNil(r.Runs),
				"last_deliveries": nonNil(r.Deliveries), "last_successful_deliveries": nonNil(r.Delivered), "stale": stale,
				"held_renames": nonNil(r.HeldRenames), "without_role": r.WithoutRole, "connect": r.Connect,
			})
		} else {
			err = printStatus(g.stdout, cfg.Database, r)
		}
		if err != nil {
			return err
		}
		if stale {
			return fmt.Errorf("%w: none within --max-age %s", errStaleDelivery, o.maxAge)
		}
		return nil
	})
}

// printStatus is status's text: the counts, the runs newest first, the
// last ingest per source, the held renames, SCIM and the deliveries.
func printStatus(w io.Writer, database string, r *pipeline.StatusReport) error {
	fmt.Fprintf(w, "database   %s\npersons    %d (%d blocked)\ncontracts  %d\nrejects    %d in the last ingest\nheld back  %d in the last export\nno role    %d in the last export (they cannot log in to Spend Cloud)\n\n",
		database, r.Persons, r.Blocked, r.Contracts, r.Rejects, r.HeldBack, r.WithoutRole)
	// Newest first: the order things happened in, not by name.
	runs := slices.Clone(r.Runs)
	slices.SortFunc(runs, func(a, b lifecycle.Run) int { return int(b.ID - a.ID) })
	var rows [][]string
	for _, run := range runs {
		code := "running or killed"
		if run.ExitCode != nil {
			code = fmt.Sprint(*run.ExitCode)
		}
		rows = append(rows, []string{run.Command, fmt.Sprint(run.ID), run.Started, run.Finished, code, run.Actor})
	}
	render(w, "table", []string{"command", "run id", "started", "finished", "exit", "actor"}, rows, nil)
	if id := r.LastIngest; id > 0 {
		by := "ingest"
		rows = nil
		for _, run := range runs {
			var sum struct {
				Sources map[string]map[string]any `json:"sources"`
			}
			if run.ID != id || json.Unmarshal(run.Summary, &sum) != nil {
				continue
			}
			by = run.Command
			for _, name := range slices.Sorted(maps.Keys(sum.Sources)) {
				c := sum.Sources[name]
				n := func(k string) string { // JSON numbers decode as float64
					if v, ok := c[k].(float64); ok {
						return fmt.Sprint(int64(v))
					}
					return "0"
				}
				rows = append(rows, []string{name, n("rows"), n("joined"), n("changed"), n("left"), n("removals_held"),
					n("rejected"), n("orphans")})
			}
		}
		fmt.Fprintf(w, "\nlast ingest (run id %d, spendsync %s)\n", id, by)
		render(w, "table", []string{"source", "rows", "joined", "changed", "left", "held", "rejected", "orphans"}, rows, nil)
	}
	rows = nil
	for _, d := range r.Deliveries {
		result := "ok"
		if !d.OK {
			result = "FAILED"
		}
		lastGood := ""
		for _, ok := range r.Delivered {
			if ok.Target == d.Target {
				lastGood = ok.Time
			}
		}
		rows = append(rows, []string{d.Target, d.Time, result, d.ExportID, lastGood})
	}
	if len(r.HeldRenames) > 0 {
		fmt.Fprintf(w, "\nusername changes held (the dump keeps the old one; spendsync person allow-rename N lets one through)\n")
		var held [][]string
		for _, h := range r.HeldRenames {
			held = append(held, []string{h.EmployeeNumber, h.Old, h.New})
		}
		render(w, "table", []string{"employee", "exported username", "new username"}, held, nil)
	}
	printConnectStatus(w, r.Connect)
	fmt.Fprintln(w)
	return render(w, "table", []string{"target", "last attempt", "result", "export", "last success"}, rows, nil)
}

func deliveredWithin(ok []lifecycle.Delivery, maxAge time.Duration) bool {
	for _, d := range ok {
		if t, err := time.Parse(time.RFC3339, d.Time); err == nil && time.Since(t) <= maxAge {
			return true
		}
	}
	return false
}
