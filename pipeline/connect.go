package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spendsync/spendsync/connect"
	"github.com/spendsync/spendsync/lifecycle"
)

// ConnectError ends a command whose SCIM calls (target.scim) failed for
// some persons: their state records the failure, status lists them and
// the next command retries them. It is exit 1, and never stops the
// export or the delivery of the same run.
type ConnectError struct {
	Failed int
	First  string // the first failure's message
	Err    error  // set when no call could be made (the token unreadable)
	// NotReached counts the persons the deadline or a signal left
	// untried: their state is unchanged and the next command takes them.
	NotReached int
}

func (e *ConnectError) Unwrap() error { return e.Err }

func (e *ConnectError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	if e.Failed == 0 {
		return fmt.Sprintf("target.scim: stopped before all calls were made: %d persons not reached (the next command takes them up)", e.NotReached)
	}
	msg := fmt.Sprintf("target.scim: %d of the SCIM calls failed (spendsync status lists them; the next command retries them): %s", e.Failed, e.First)
	if e.NotReached > 0 {
		msg += fmt.Sprintf("; %d persons not reached (the next command takes them up)", e.NotReached)
	}
	return msg
}

// onlyConnect reports whether err is a ConnectError and nothing else.
func onlyConnect(err error) bool {
	var ce *ConnectError
	return errors.As(err, &ce) && err == error(ce)
}

// Connect tells the SCIM service what changed. Without full, only access:
// persons who left or were blocked are suspended (active: false), persons
// back are reactivated, and earlier failures are retried; ingest and
// person block call it before any export. With full (push) names, email
// and externalId are brought up to date too and, with target.scim.create,
// missing users are created. Nothing to do without target.scim.
func (p *Pipeline) Connect(ctx context.Context, full bool) error {
	t := p.Settings.Target
	if t == nil || t.SCIM == nil {
		return nil
	}
	cfg := t.SCIM
	people, err := p.Store.ConnectCandidates(ctx, full)
	if err != nil {
		return err
	}
	var work []lifecycle.ConnectPerson
	for _, cp := range people {
		if !full || needsSync(cp) {
			work = append(work, cp)
		}
	}
	if len(work) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Deadline, connect.ErrDeadline)
	defer cancel()
	start := time.Now()
	c, err := connect.Open(cfg)
	if err != nil {
		// A config problem (exit 2 naming the key), yet it must not hold
		// back the export and delivery of the same run either.
		return &ConnectError{Err: err}
	}
	defer c.Close()
	results := make([]lifecycle.ConnectResult, len(work))
	if err := c.Discover(ctx); err != nil {
		for i, cp := range work {
			results[i] = failed(cp, "discover", err)
		}
	} else {
		sem := make(chan struct{}, cfg.Parallel)
		var wg sync.WaitGroup
		for i := range work {
			sem <- struct{}{}
			if ctx.Err() != nil {
				// The deadline or a signal: the persons not reached keep
				// their state and are taken up by the next command.
				<-sem
				break
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = p.syncOne(ctx, c, cfg, work[i], full)
			}()
		}
		wg.Wait()
	}
	// The outcome is recorded even when a signal or the deadline ended the
	// calls: they were attempts.
	reached := results[:0]
	for _, r := range results {
		if r.EmployeeNumber != "" {
			reached = append(reached, r)
		}
	}
	notReached := len(results) - len(reached)
	results = reached
	if err := p.Store.RecordConnect(context.WithoutCancel(ctx), p.RunID, results); err != nil {
		return err
	}
	counts := map[string]int{}
	var ce *ConnectError
	for _, r := range results {
		counts[r.Kind]++
		if r.Kind == lifecycle.ConnectFailed {
			if ce == nil {
				ce = &ConnectError{First: r.State.Error}
			}
			ce.Failed++
		}
	}
	summary := map[string]any{"suspended": counts[lifecycle.ConnectSuspended], "reactivated": counts[lifecycle.ConnectReactivated],
		"created": counts[lifecycle.ConnectCreated], "updated": counts[lifecycle.ConnectUpdated], "failed": counts[lifecycle.ConnectFailed],
		"duration_ms": time.Since(start).Milliseconds()}
	if err := p.Store.Summarize(p.RunID, map[string]any{"connect": summary}); err != nil {
		return err
	}
	p.log().Info("scim", "checked", len(work), "suspended", counts[lifecycle.ConnectSuspended], "reactivated", counts[lifecycle.ConnectReactivated],
		"created", counts[lifecycle.ConnectCreated], "updated", counts[lifecycle.ConnectUpdated], "failed", counts[lifecycle.ConnectFailed],
		"duration", time.Since(start).String())
	fmt.Fprintf(p.stdout(), "scim: %d suspended, %d reactivated, %d created, %d updated, %d failed\n", counts[lifecycle.ConnectSuspended],
		counts[lifecycle.ConnectReactivated], counts[lifecycle.ConnectCreated], counts[lifecycle.ConnectUpdated], counts[lifecycle.ConnectFailed])
	if notReached > 0 {
		p.log().Warn("scim: persons not reached before the calls were stopped; the next command takes them up", "not_reached", notReached)
		if ce == nil {
			ce = &ConnectError{First: "stopped before all calls were made"}
		}
		ce.NotReached = notReached
	}
	if ce != nil {
		return ce
	}
	return nil
}

// needsSync: at push, a person is looked at when its access changed, its
// last call failed, or its attributes changed since they were last synced.
func needsSync(cp lifecycle.ConnectPerson) bool {
	st := cp.State
	want := !cp.Left && !cp.Blocked
	switch {
	case st.Error != "":
		return true
	case !want && (st.Active == nil || *st.Active):
		return true
	case want && st.Active != nil && !*st.Active:
		return true
	}
	return want && st.Synced != wantHash(wantOf(cp))
}

func wantOf(cp lifecycle.ConnectPerson) connect.Want {
	family := strings.TrimSpace(cp.Prefix + " " + cp.LastName)
	return connect.Want{UserName: cp.Email, ExternalID: cp.EmployeeNumber, GivenName: cp.FirstName, FamilyName: family,
		Email: cp.Email, Active: !cp.Left && !cp.Blocked}
}

func wantHash(w connect.Want) string {
	h := sha256.Sum256([]byte(strings.Join([]string{w.UserName, w.ExternalID, w.GivenName, w.FamilyName, w.Email}, "\x1f")))
	return hex.EncodeToString(h[:8])
}

func matchValue(cfg *connect.Config, w connect.Want) string {
	if cfg.Match == "externalId" {
		return w.ExternalID
	}
	return w.UserName
}

func failed(cp lifecycle.ConnectPerson, action string, err error) lifecycle.ConnectResult {
	st := cp.State
	st.Error = err.Error()
	st.Failures++
	return lifecycle.ConnectResult{EmployeeNumber: cp.EmployeeNumber, State: st, Kind: lifecycle.ConnectFailed,
		Details: map[string]any{"action": action, "error": st.Error, "failures": st.Failures}}
}

// syncOne finds the person's user by filter and writes what differs.
func (p *Pipeline) syncOne(ctx context.Context, c *connect.Client, cfg *connect.Config, cp lifecycle.ConnectPerson, full bool) lifecycle.ConnectResult {
	w := wantOf(cp)
	current := matchValue(cfg, w)
	action := "suspend"
	if w.Active {
		action = "reactivate"
	}
	if current == "" {
		return failed(cp, action, fmt.Errorf("no %s to find the user by", cfg.Match))
	}
	// After a rename the user still holds the value it was found by.
	u, err := c.Find(ctx, cfg.Match, firstNonEmpty(cp.State.Matched, current))
	if err == nil && u == nil && cp.State.Matched != "" && cp.State.Matched != current {
		u, err = c.Find(ctx, cfg.Match, current)
	}
	if err != nil {
		return failed(cp, "find", err)
	}
	st := lifecycle.ConnectState{Matched: current, Synced: cp.State.Synced, SuspendedAt: cp.State.SuspendedAt}
	res := lifecycle.ConnectResult{EmployeeNumber: cp.EmployeeNumber}
	if u == nil {
		if full && w.Active && cfg.Create {
			id, err := c.Create(ctx, w)
			if err != nil {
				return failed(cp, "create", err)
			}
			st.SCIMID, st.Active, st.Synced = id, &w.Active, wantHash(w)
			res.State, res.Kind, res.Details = st, lifecycle.ConnectCreated, map[string]any{"scim_id": id}
			return res
		}
		// No user there: nothing to suspend, or nothing to update.
		if !w.Active {
			inactive := false
			st.Active = &inactive
		}
		st.Matched = ""
		if full {
			st.Synced = wantHash(w)
		}
		res.State = st
		return res
	}
	st.SCIMID = u.ID
	was := u.Active
	switch {
	case full && connect.Differs(u, w):
		if err := c.Update(ctx, u, w); err != nil {
			return failed(cp, "update", err)
		}
		res.Kind = lifecycle.ConnectUpdated
	case was != w.Active:
		if err := c.SetActive(ctx, u, w.Active); err != nil {
			return failed(cp, action, err)
		}
	}
	if full || !connect.Differs(u, w) {
		st.Synced = wantHash(w)
	}
	st.Active = &w.Active
	method := "PUT"
	if c.Patch() {
		method = "PATCH"
	}
	details := map[string]any{"scim_id": u.ID, "method": method}
	switch {
	case !w.Active && (was || cp.State.Active == nil || *cp.State.Active):
		// Suspended now, or found already suspended: either way the
		// login is revoked from now.
		st.SuspendedAt = time.Now().UTC().Format(time.RFC3339)
		if !was {
			details["already"] = true
			delete(details, "method")
		}
		if res.Kind == lifecycle.ConnectUpdated {
			details["updated"] = true
		}
		res.Kind = lifecycle.ConnectSuspended
	case w.Active && !was:
		st.SuspendedAt = ""
		if res.Kind == lifecycle.ConnectUpdated {
			details["updated"] = true
		}
		res.Kind = lifecycle.ConnectReactivated
	case w.Active:
		st.SuspendedAt = ""
	}
	if res.Kind == "" {
		details = nil
	}
	res.State, res.Details = st, details
	return res
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
