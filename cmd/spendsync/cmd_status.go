package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// errStaleDelivery makes status --max-age exit 3 (a safety-stop class
// signal a monitoring check can alert on).
var errStaleDelivery = errors.New("last successful delivery is too old")

func newStatusCommand(g *globals) *cobra.Command {
	var asJSON bool
	var maxAge time.Duration
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
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, st, err := g.openReader()
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			persons, contracts, blocked, err := st.Counts(ctx)
			if err != nil {
				return err
			}
			runs, err := st.LastRuns(ctx)
			if err != nil {
				return err
			}
			last, lastOK, err := st.LastDeliveries(ctx)
			if err != nil {
				return err
			}
			rejects, err := st.Rejects(ctx, 0)
			if err != nil {
				return err
			}
			held, err := st.Events(ctx, lifecycle.EventFilter{Kind: lifecycle.ExportHeld, RunID: lastRunOf(runs, "export", "run")})
			if err != nil {
				return err
			}
			renames, err := heldRenames(cmd.Context(), st)
			if err != nil {
				return err
			}
			withoutRole, err := st.WithoutRole(ctx)
			if err != nil {
				return err
			}
			connectView, err := connectStatus(ctx, cfg, st)
			if err != nil {
				return err
			}
			stale := maxAge > 0 && !deliveredWithin(lastOK, maxAge)
			if asJSON {
				err = render(g.stdout, "json", nil, nil, map[string]any{
					"database": cfg.Database, "persons": persons, "contracts": contracts, "blocked": blocked,
					"open_rejects": len(rejects), "held_back": len(held), "last_runs": nonNil(runs),
					"last_deliveries": nonNil(last), "last_successful_deliveries": nonNil(lastOK), "stale": stale,
					"held_renames": nonNil(renames), "without_role": withoutRole, "connect": connectView,
				})
			} else {
				fmt.Fprintf(g.stdout, "database   %s\npersons    %d (%d blocked)\ncontracts  %d\nrejects    %d in the last ingest\nheld back  %d in the last export\nno role    %d in the last export (they cannot log in to Spend Cloud)\n\n",
					cfg.Database, persons, blocked, contracts, len(rejects), len(held), withoutRole)
				// Newest first: the order things happened in, not by name.
				runs = slices.Clone(runs)
				slices.SortFunc(runs, func(a, b lifecycle.Run) int { return int(b.ID - a.ID) })
				var rows [][]string
				for _, r := range runs {
					code := "running or killed"
					if r.ExitCode != nil {
						code = fmt.Sprint(*r.ExitCode)
					}
					rows = append(rows, []string{r.Command, fmt.Sprint(r.ID), r.Started, r.Finished, code, r.Actor})
				}
				render(g.stdout, "table", []string{"command", "run id", "started", "finished", "exit", "actor"}, rows, nil)
				if id := lastRunOf(runs, "ingest", "run"); id > 0 {
					by := "ingest"
					rows = nil
					for _, r := range runs {
						var sum struct {
							Sources map[string]map[string]any `json:"sources"`
						}
						if r.ID != id || json.Unmarshal(r.Summary, &sum) != nil {
							continue
						}
						by = r.Command
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
					fmt.Fprintf(g.stdout, "\nlast ingest (run id %d, spendsync %s)\n", id, by)
					render(g.stdout, "table", []string{"source", "rows", "joined", "changed", "left", "held", "rejected", "orphans"}, rows, nil)
				}
				rows = nil
				for _, d := range last {
					result := "ok"
					if !d.OK {
						result = "FAILED"
					}
					lastGood := ""
					for _, ok := range lastOK {
						if ok.Target == d.Target {
							lastGood = ok.Time
						}
					}
					rows = append(rows, []string{d.Target, d.Time, result, d.ExportID, lastGood})
				}
				if len(renames) > 0 {
					fmt.Fprintf(g.stdout, "\nusername changes held (the dump keeps the old one; spendsync person allow-rename N lets one through)\n")
					var held [][]string
					for _, r := range renames {
						held = append(held, []string{r.EmployeeNumber, r.Old, r.New})
					}
					render(g.stdout, "table", []string{"employee", "exported username", "new username"}, held, nil)
				}
				printConnectStatus(g.stdout, connectView)
				fmt.Fprintln(g.stdout)
				err = render(g.stdout, "table", []string{"target", "last attempt", "result", "export", "last success"}, rows, nil)
			}
			if err != nil {
				return err
			}
			if stale {
				return fmt.Errorf("%w: none within --max-age %s", errStaleDelivery, maxAge)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.Flags().Var(durationFlag{&maxAge}, "max-age", "exit 3 when the last successful delivery is older than this (e.g. 26h or 2d)")
	return cmd
}

// heldRenames are the username changes the last export held back.
func heldRenames(ctx context.Context, st *lifecycle.Store) ([]export.Rename, error) {
	held, err := st.LastHeld(ctx)
	if err != nil {
		return nil, err
	}
	var out []export.Rename
	for h := range held {
		var d struct {
			export.Rename
			Reason string `json:"reason"`
		}
		if json.Unmarshal([]byte(h.Details), &d) == nil && d.Reason == pipeline.HeldRename {
			d.EmployeeNumber, d.Held = h.EmployeeNumber, true
			out = append(out, d.Rename)
		}
	}
	slices.SortFunc(out, func(a, b export.Rename) int { return strings.Compare(a.EmployeeNumber, b.EmployeeNumber) })
	return out, nil
}

func deliveredWithin(ok []lifecycle.Delivery, maxAge time.Duration) bool {
	for _, d := range ok {
		if t, err := time.Parse(time.RFC3339, d.Time); err == nil && time.Since(t) <= maxAge {
			return true
		}
	}
	return false
}

func lastRunOf(runs []lifecycle.Run, commands ...string) int64 {
	var id int64 = -1
	for _, r := range runs {
		for _, c := range commands {
			if r.Command == c && r.ID > id {
				id = r.ID
			}
		}
	}
	return id
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
