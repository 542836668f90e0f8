package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// printConnectStatus is status's SCIM block (target.scim) and the
// leavers still with access.
func printConnectStatus(w io.Writer, v *pipeline.ConnectStatus) {
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
