package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

func newPersonCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "person",
		Short: "Show, block or unblock one person",
		Example: `  spendsync person show 001234
  spendsync person block 001234 --reason "ticket 4711" --push`,
		Args: noArgs,
	}
	cmd.AddCommand(newPersonShowCommand(g), newBlockCommand(g, true), newBlockCommand(g, false), newAllowRenameCommand(g))
	return cmd
}

// blockOptions are block's and unblock's flags.
type blockOptions struct {
	blocked bool // block, or unblock
	reason  string
	push    bool
}

func (o *blockOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.reason, "reason", "", "why (recorded in the event)")
	f.BoolVar(&o.push, "push", false, "export and deliver at once")
}

// newBlockCommand makes block (blocked true) or unblock.
func newBlockCommand(g *globals, blocked bool) *cobra.Command {
	o := blockOptions{blocked: blocked}
	use, short := "block EMPLOYEE_NUMBER --reason TEXT", "Leave a person out of every dump from now on (audited)"
	example := `  spendsync person block 001234 --reason "fraud investigation, ticket 4711" --push`
	if !blocked {
		use, short = "unblock EMPLOYEE_NUMBER", "Let a blocked person back into the dump (audited)"
		example = `  spendsync person unblock 001234 --reason "cleared" --push`
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    short + ". With --push a fresh export is made and delivered at once, so one command revokes (or restores) access in Spend Cloud.",
		Example: example,
		Args:    exactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runBlock(cmd.Context(), o, g, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// runBlock blocks or unblocks args[0] as a recorded run.
func runBlock(ctx context.Context, o blockOptions, g *globals, args []string) error {
	if o.blocked && strings.TrimSpace(o.reason) == "" {
		return &usageError{fmt.Errorf("--reason is required: it is recorded with the block")}
	}
	name := "block"
	if !o.blocked {
		name = "unblock"
	}
	w, err := g.openWriter(name)
	if err != nil {
		return err
	}
	return w.close(setBlocked(ctx, o, g, w, name, args[0]))
}

// setBlocked records the block (or unblock) of emp, tells the SCIM target
// and with --push exports and delivers.
func setBlocked(ctx context.Context, o blockOptions, g *globals, w *writer, name, emp string) error {
	changed, err := w.store.SetBlocked(ctx, w.runID, emp, o.blocked, o.reason)
	if err != nil {
		return err
	}
	if !changed {
		// Nothing to do, so nothing to record or deliver.
		w.discard = true
		state := "already blocked"
		if !o.blocked {
			state = "not blocked"
		}
		fmt.Fprintf(g.stdout, "%s is %s: nothing changed\n", emp, state)
		return nil
	}
	g.log.Info(name, "employee", emp, "actor", lifecycle.Actor())
	fmt.Fprintf(g.stdout, "%sed %s\n", name, emp)
	p := g.pipeline(w.cfg, w.store, w.runID)
	// The login layer first (target.scim), before any export; a failure
	// there is retried by the next command and holds nothing back.
	connectErr := p.Connect(ctx, false)
	if !o.push {
		return connectErr
	}
	_, exportErr := p.Export(ctx, pipeline.ExportOptions{})
	if exportErr != nil && !errors.Is(exportErr, pipeline.ErrHeld) {
		return errors.Join(exportErr, connectErr)
	}
	if err := p.Push(ctx, pipeline.PushOptions{}); err != nil {
		return errors.Join(err, connectErr)
	}
	return errors.Join(exportErr, connectErr)
}

// dumpReason says whether the last export carried the person and why (not):
// counting is the number of its contracts active today and in scope.
func dumpReason(p *lifecycle.PersonRecord, d *lifecycle.DumpStatus, counting int) string {
	var why []string
	switch {
	case p.Left:
		why = append(why, "left")
	case p.Blocked:
		why = append(why, "blocked")
	case counting == 0:
		why = append(why, "no contract active today within rules.scope")
	}
	for _, h := range d.Held {
		var held struct {
			Reason string   `json:"reason"`
			Fields []string `json:"fields"`
		}
		if json.Unmarshal([]byte(h), &held) != nil || held.Reason == "" {
			why = append(why, "held back: "+h)
			continue
		}
		if len(held.Fields) > 0 {
			held.Reason += " (" + strings.Join(held.Fields, ", ") + ")"
		}
		why = append(why, "held back: "+held.Reason)
	}
	switch {
	case d.Exported && len(why) == 0:
		return "yes, in the last export"
	case d.Exported:
		// Held back with its last exported rows, or changed since.
		return "yes, in the last export (" + strings.Join(why, "; ") + ")"
	case len(why) == 0:
		return "not in the last export; the next export adds it (spendsync diff)"
	}
	return "no: " + strings.Join(why, "; ")
}

// personShowOptions are person show's flags.
type personShowOptions struct {
	format string
	events int
}

func (o *personShowOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.format, "format", "table", "table or json")
	f.IntVar(&o.events, "events", 20, "how many of the last events to show")
}

func newPersonShowCommand(g *globals) *cobra.Command {
	var o personShowOptions
	cmd := &cobra.Command{
		Use:     "show EMPLOYEE_NUMBER",
		Short:   "Print a person, its contracts (active today or not) and its last events",
		Example: `  spendsync person show 001234`,
		Args:    exactArgs(1),
		RunE:    func(cmd *cobra.Command, args []string) error { return runPersonShow(cmd.Context(), o, g, args) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runPersonShow(ctx context.Context, o personShowOptions, g *globals, args []string) error {
	if err := checkFormat(o.format, "table", "json"); err != nil {
		return err
	}
	return g.withReader(func(cfg *config, st *lifecycle.Store) error {
		view, err := readPerson(ctx, cfg, st, args[0], o.events)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return render(g.stdout, "json", nil, nil, view)
		}
		return printPerson(g.stdout, view)
	})
}

// personView is what person show prints of one person.
type personView struct {
	*lifecycle.PersonRecord
	Contracts []contractView        `json:"contracts"`
	Dump      *lifecycle.DumpStatus `json:"dump"`
	Why       string                `json:"dump_reason"`
	Rejects   []lifecycle.RejectRow `json:"rejects"`
	Events    []lifecycle.Event     `json:"events"`
	// Revocation is a leaver's time to revoke; Connect its SCIM state.
	Revocation *lifecycle.Revocation   `json:"revocation,omitempty"`
	Connect    *lifecycle.ConnectState `json:"connect,omitempty"`
}

type contractView struct {
	model.Contract
	ActiveToday bool `json:"active_today"`
}

// readPerson reads emp with its last events (at most events), whether the
// last export carried it, its rejected rows and its time to revoke.
func readPerson(ctx context.Context, cfg *config, st *lifecycle.Store, emp string, events int) (*personView, error) {
	p, err := st.Person(ctx, emp)
	if err != nil {
		return nil, err
	}
	evs, err := st.Events(ctx, lifecycle.EventFilter{EmployeeNumber: emp, Limit: events})
	if err != nil {
		return nil, err
	}
	dump, err := st.DumpStatus(ctx, emp)
	if err != nil {
		return nil, err
	}
	all, err := st.Rejects(ctx, 0)
	if err != nil {
		return nil, err
	}
	var rejects []lifecycle.RejectRow
	for _, r := range all {
		if r.EmployeeNumber == emp {
			rejects = append(rejects, r)
		}
	}
	today := time.Now().Format(model.DateLayout)
	view := &personView{PersonRecord: p, Dump: dump, Rejects: nonNil(rejects), Events: evs}
	counting := 0
	for _, c := range p.Contracts {
		active := c.ActiveOn(today, cfg.Rules.LeadDays, cfg.Rules.GraceDays)
		view.Contracts = append(view.Contracts, contractView{c, active})
		if active && cfg.Rules.Scope.Counts(&p.Person, &c) {
			counting++
		}
	}
	view.Why = dumpReason(p, dump, counting)
	if revs, err := st.Revocations(ctx, emp); err != nil {
		return nil, err
	} else if len(revs) == 1 {
		view.Revocation = &revs[0]
	}
	if view.Connect, err = st.ConnectStateOf(ctx, emp); err != nil {
		return nil, err
	}
	return view, nil
}

// printPerson is person show's text.
func printPerson(w io.Writer, view *personView) error {
	p := view.PersonRecord
	fmt.Fprintf(w, "%-18s %s\n%-18s %s\n", "employee_number", p.EmployeeNumber, "source", p.Source)
	for _, f := range model.PersonFields {
		fmt.Fprintf(w, "%-18s %s\n", f, p.Field(f))
	}
	status := "current"
	if p.Left {
		status = "left"
	}
	if p.Blocked {
		status += ", blocked: " + p.BlockReason
	}
	fmt.Fprintf(w, "%-18s %s\n%-18s %s\n\ncontracts\n", "status", status, "in the dump", view.Why)
	var rows [][]string
	for _, c := range view.Contracts {
		active := "no"
		if c.ActiveToday {
			active = "yes"
		}
		rows = append(rows, []string{c.Key, c.StartDate, c.EndDate, c.OUCode, c.OUName, c.FunctionCode, c.FunctionName, active})
	}
	render(w, "table", []string{"key", "start", "end", "ou_code", "ou_name", "function_code", "function_name", "active_today"}, rows, nil)
	if r := view.Revocation; r != nil {
		printRevocation(w, r, p.EmployeeNumber)
	}
	if c := view.Connect; c != nil && c.Error != "" {
		fmt.Fprintf(w, "\nscim: the last call failed (%d times; the next command retries): %s\n", c.Failures, c.Error)
	}
	if len(view.Rejects) > 0 {
		fmt.Fprintf(w, "\nrejected rows in the last ingest (the person keeps its last good state)\n")
		rows = nil
		for _, r := range view.Rejects {
			rows = append(rows, []string{r.Source, r.File, fmt.Sprint(r.Line), r.Column, r.Reason})
		}
		render(w, "table", []string{"source", "file", "line", "column", "reason"}, rows, nil)
	}
	fmt.Fprintf(w, "\nlast events\n")
	rows = nil
	for _, e := range view.Events {
		rows = append(rows, []string{e.Time, e.Kind, e.Source, e.Actor, compactJSON(e.Details)})
	}
	return render(w, "table", []string{"time", "kind", "source", "actor", "details"}, rows, nil)
}
