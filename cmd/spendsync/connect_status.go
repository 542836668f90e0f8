package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spendsync/spendsync/lifecycle"
)

// connectView is status's SCIM block (target.scim).
type connectView struct {
	Configured bool `json:"configured"`
	// Failing counts the persons whose last SCIM call failed; the next
	// command retries them.
	Failing        int    `json:"failing"`
	FailingExample string `json:"failing_example,omitempty"`
}

func connectStatus(ctx context.Context, cfg *config, st *lifecycle.Store) (*connectView, error) {
	v := &connectView{Configured: cfg.Target.SCIM != nil}
	n, ex, err := st.ConnectFailures(ctx)
	if err != nil {
		return nil, err
	}
	v.Failing, v.FailingExample = n, ex
	return v, nil
}

func printConnectStatus(w io.Writer, v *connectView) {
	if !v.Configured && v.Failing == 0 {
		return
	}
	fmt.Fprintf(w, "\nscim       %d failing", v.Failing)
	if v.Failing > 0 {
		fmt.Fprintf(w, " (e.g. %s: spendsync person show %s; the next command retries)", v.FailingExample, v.FailingExample)
	}
	fmt.Fprintln(w)
}
