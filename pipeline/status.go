package pipeline

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/lifecycle"
)

// StatusReport is what status shows, read from the store in one call.
type StatusReport struct {
	Persons, Contracts, Blocked int
	// Rejects counts the rows the last ingest rejected; HeldBack the
	// persons the last export held back; WithoutRole the persons in the
	// last export without a role (they cannot log in to Spend Cloud).
	Rejects, HeldBack, WithoutRole int
	// Runs are the newest run of each command; LastIngest is the id of the
	// newest ingest or run among them (-1: none).
	Runs       []lifecycle.Run
	LastIngest int64
	// Deliveries is the last attempt per target, Delivered the last
	// success per target.
	Deliveries, Delivered []lifecycle.Delivery
	// HeldRenames are the username changes the last export held back, by
	// employee number.
	HeldRenames []export.Rename
	Connect     *ConnectStatus
}

// ConnectStatus is the state of the SCIM target (target.scim) and of the
// leavers' access.
type ConnectStatus struct {
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

// Status reads the state's counts, the last runs and deliveries, and what
// the last ingest and export left for a person to look at.
func Status(ctx context.Context, st *lifecycle.Store, s *Settings) (*StatusReport, error) {
	r := &StatusReport{}
	var err error
	if r.Persons, r.Contracts, r.Blocked, err = st.Counts(ctx); err != nil {
		return nil, err
	}
	if r.Runs, err = st.LastRuns(ctx); err != nil {
		return nil, err
	}
	r.LastIngest = lastRunOf(r.Runs, "ingest", "run")
	if r.Deliveries, r.Delivered, err = st.LastDeliveries(ctx); err != nil {
		return nil, err
	}
	rejects, err := st.Rejects(ctx, 0)
	if err != nil {
		return nil, err
	}
	r.Rejects = len(rejects)
	held, err := st.Events(ctx, lifecycle.EventFilter{Kind: lifecycle.ExportHeld, RunID: lastRunOf(r.Runs, "export", "run")})
	if err != nil {
		return nil, err
	}
	r.HeldBack = len(held)
	if r.HeldRenames, err = heldRenames(ctx, st); err != nil {
		return nil, err
	}
	if r.WithoutRole, err = st.WithoutRole(ctx); err != nil {
		return nil, err
	}
	if r.Connect, err = connectStatus(ctx, st, s.Target != nil && s.Target.SCIM != nil); err != nil {
		return nil, err
	}
	return r, nil
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
		if json.Unmarshal([]byte(h.Details), &d) == nil && d.Reason == HeldRename {
			d.EmployeeNumber, d.Held = h.EmployeeNumber, true
			out = append(out, d.Rename)
		}
	}
	slices.SortFunc(out, func(a, b export.Rename) int { return strings.Compare(a.EmployeeNumber, b.EmployeeNumber) })
	return out, nil
}

func connectStatus(ctx context.Context, st *lifecycle.Store, configured bool) (*ConnectStatus, error) {
	v := &ConnectStatus{Configured: configured}
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

// lastRunOf is the id of the newest run of any of commands, -1 for none.
func lastRunOf(runs []lifecycle.Run, commands ...string) int64 {
	var id int64 = -1
	for _, r := range runs {
		if slices.Contains(commands, r.Command) && r.ID > id {
			id = r.ID
		}
	}
	return id
}
