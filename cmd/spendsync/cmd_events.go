package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/internal/duration"
	"github.com/spendsync/spendsync/lifecycle"
)

type eventsOptions struct {
	employee, kind, since, until, format string
	run                                  int64
	limit                                int
}

func newEventsCommand(g *globals) *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List lifecycle and provisioning events",
		Long: `events lists the event log, oldest first. --kind takes a kind such as
person.joined, or a family ending in a dot such as person. ; --since and
--until take RFC 3339 times, dates, or a duration back from now (24h, 7d, 2w).`,
		Example: `  spendsync events --employee 001234
  spendsync events --kind person. --since 7d --format csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEvents(cmd.Context(), o, g) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func (o *eventsOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.employee, "employee", "", "only this employee number")
	f.StringVar(&o.kind, "kind", "", "only this kind (person.joined) or family (person.)")
	f.StringVar(&o.since, "since", "", "from this time (RFC 3339, YYYY-MM-DD, or a duration ago such as 24h)")
	f.StringVar(&o.until, "until", "", "up to this time")
	f.Int64Var(&o.run, "run", 0, "only this run id")
	f.IntVar(&o.limit, "limit", 0, "only the newest N")
	f.StringVar(&o.format, "format", "table", "table, json or csv")
}

func runEvents(ctx context.Context, o eventsOptions, g *globals) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	since, err := parseTime("--since", o.since, false)
	if err != nil {
		return err
	}
	until, err := parseTime("--until", o.until, true)
	if err != nil {
		return err
	}
	return g.withReader(func(_ *config, st *lifecycle.Store) error {
		events, err := st.Events(ctx, lifecycle.EventFilter{EmployeeNumber: o.employee, Kind: o.kind,
			Since: since, Until: until, RunID: o.run, Limit: o.limit})
		if err != nil {
			return err
		}
		return printEvents(g.stdout, o.format, events)
	})
}

// printEvents writes events as a table, JSON or CSV.
func printEvents(w io.Writer, format string, events []lifecycle.Event) error {
	return renderList(w, format, []string{"id", "time", "run", "actor", "source", "kind", "employee", "details"}, events,
		func(e lifecycle.Event) eventRecord {
			return eventRecord{e.ID, e.Time, e.RunID, e.Actor, e.Source, e.Kind, e.EmployeeNumber, compactJSON(e.Details)}
		},
		func(e lifecycle.Event) []string {
			return []string{strconv.FormatInt(e.ID, 10), e.Time, strconv.FormatInt(e.RunID, 10), e.Actor, e.Source, e.Kind, e.EmployeeNumber, compactJSON(e.Details)}
		})
}

// eventRecord is an event as events --format csv writes it.
type eventRecord struct {
	ID       int64  `csv:"id"`
	Time     string `csv:"time"`
	Run      int64  `csv:"run"`
	Actor    string `csv:"actor"`
	Source   string `csv:"source"`
	Kind     string `csv:"kind"`
	Employee string `csv:"employee"`
	Details  string `csv:"details"`
}

// parseTime reads a flag time as stored (UTC RFC 3339). A bare date means
// its start (or, for an upper bound, its end).
func parseTime(flag, v string, end bool) (string, error) {
	if v == "" {
		return "", nil
	}
	if d, err := duration.Parse(v); err == nil {
		return time.Now().Add(-d).UTC().Format(time.RFC3339), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.RFC3339), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, time.Local); err == nil {
		if end {
			t = t.AddDate(0, 0, 1).Add(-time.Second)
		}
		return t.UTC().Format(time.RFC3339), nil
	}
	return "", &usageError{fmt.Errorf("%s %q is not an RFC 3339 time, a date or a duration", flag, v)}
}
