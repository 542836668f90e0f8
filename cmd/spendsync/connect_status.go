package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spendsync/spendsync/lifecycle"
)

// connectView is status's SCIM block (target.scim).
type connectView struct {
	Configured bool `json:"configured"`
	// Failing counts the persons whose last SCIM call failed; the next
	// command retries them.
	Failing        int    `json:"failing"`
	FailingExample string `json:"failing_example,omitempty"`
	// LeaversWithAccess counts the leavers still with access somewhere
	// (lifecycle.Revocation.Pending); Oldest is the longest such.
	LeaversWithAccess int                   `json:"leavers_with_access"`
	Oldest            *lifecycle.Revocation `json:"oldest_leaver_with_access"`
	OldestSeconds     int64                 `json:"oldest_leaver_with_access_seconds"`
}

func connectStatus(ctx context.Context, cfg *config, st *lifecycle.Store) (*connectView, error) {
	v := &connectView{Configured: cfg.Target.SCIM != nil}
	n, ex, err := st.ConnectFailures(ctx)
	if err != nil {
		return nil, err
	}
	v.Failing, v.FailingExample = n, ex
	revs, err := st.Revocations(ctx, "")
	if err != nil {
		return nil, err
	}
	v.LeaversWithAccess, v.Oldest = lifecycle.WithAccess(revs)
	if v.Oldest != nil && !v.Oldest.Since().IsZero() {
		v.OldestSeconds = int64(time.Since(v.Oldest.Since()).Seconds())
	}
	return v, nil
}

func printConnectStatus(w io.Writer, v *connectView) {
	fmt.Fprintf(w, "\nleavers with access  %d", v.LeaversWithAccess)
	if o := v.Oldest; o != nil {
		fmt.Fprintf(w, " (oldest %s, left %s ago: %s pending; spendsync person show %s)", o.EmployeeNumber,
			(time.Duration(v.OldestSeconds) * time.Second).String(), strings.Join(o.Pending, ", "), o.EmployeeNumber)
	}
	fmt.Fprintln(w)
	if !v.Configured && v.Failing == 0 {
		return
	}
	fmt.Fprintf(w, "scim failing         %d", v.Failing)
	if v.Failing > 0 {
		fmt.Fprintf(w, " (e.g. %s: spendsync person show %s; the next command retries)", v.FailingExample, v.FailingExample)
	}
	fmt.Fprintln(w)
}

// printRevocation is person show's time to revoke of a leaver.
func printRevocation(w io.Writer, r *lifecycle.Revocation, emp string) {
	fmt.Fprintf(w, "\ntime to revoke\n")
	step := func(name string, s *lifecycle.Step, extra string) []string {
		if s == nil {
			return []string{name, "", ""}
		}
		detail := extra
		if s.RunID > 0 {
			detail = strings.TrimSpace(fmt.Sprintf("run %d %s", s.RunID, extra))
		}
		after := ""
		if t0 := r.Since(); !t0.IsZero() {
			if t, err := time.Parse(time.RFC3339, s.Time); err == nil && name != "ingest" {
				after = "+" + t.Sub(t0).String()
			}
		}
		return []string{name, s.Time, strings.TrimSpace(detail + " " + after)}
	}
	rows := [][]string{{"hr end date", r.HREnd, ""}, step("ingest", r.Ingest, "")}
	exp, del := "", ""
	if r.Export != nil {
		exp = r.Export.ExportID
	}
	if r.Delivery != nil {
		del = r.Delivery.ExportID + " to " + r.Delivery.Target
	}
	rows = append(rows, step("export", r.Export, exp), step("delivery", r.Delivery, del), step("connect", r.Connect, ""))
	render(w, "table", []string{"step", "time", "detail"}, rows, nil)
	if len(r.Pending) > 0 {
		fmt.Fprintf(w, "still has access: %s\n", strings.Join(r.Pending, ", "))
	}
}
