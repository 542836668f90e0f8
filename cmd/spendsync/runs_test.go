package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/export"
)

// These call the commands' runX functions directly, without cobra and
// without parsing flags: the options are what the flags would have set.

// runGlobals are the globals a command line with --config cfg sets up.
func runGlobals(t *testing.T, cfg string) (*globals, *bytes.Buffer) {
	t.Helper()
	var out, errOut bytes.Buffer
	g := &globals{configPath: cfg, stdout: &out, stderr: &errOut}
	if err := g.setup(); err != nil {
		t.Fatal(err)
	}
	return g, &out
}

func TestRunStatusIsStaleUntilTheFirstDelivery(t *testing.T) {
	ctx := context.Background()
	g, out := runGlobals(t, demo(t))
	if err := runIngest(ctx, ingestOptions{}, g, nil); err != nil {
		t.Fatal(err)
	}
	out.Reset() // the ingest's own lines
	err := runStatus(ctx, statusOptions{json: true, maxAge: time.Hour}, g)
	if !errors.Is(err, errStaleDelivery) || exitCode(err) != exitSafety {
		t.Fatalf("status --max-age 1h before any delivery: %v, want the stale-delivery stop", err)
	}
	var st struct {
		Persons    int  `json:"persons"`
		Stale      bool `json:"stale"`
		OpenReject *int `json:"open_rejects"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Persons != 12 || !st.Stale || st.OpenReject == nil {
		t.Fatalf("status %s", out)
	}
}

func TestRunBlockWithoutAReasonRefusesBeforeOpeningAnything(t *testing.T) {
	g, _ := runGlobals(t, filepath.Join(t.TempDir(), "missing.yaml"))
	err := runBlock(context.Background(), blockOptions{blocked: true, reason: " "}, g, []string{"000101"})
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--reason is required") {
		t.Fatalf("block without a reason: %v, want the usage error (not the missing config)", err)
	}
}

func TestRunDiffListsTheFirstExportsCreatesAndRunPersonShowSaysTheNextExportAddsThem(t *testing.T) {
	ctx := context.Background()
	g, out := runGlobals(t, demo(t))
	if err := runIngest(ctx, ingestOptions{}, g, nil); err != nil {
		t.Fatal(err)
	}
	out.Reset() // the ingest's own lines
	if err := runDiff(ctx, diffOptions{format: "json"}, g); err != nil {
		t.Fatal(err)
	}
	var changes []diffChange
	if err := json.Unmarshal(out.Bytes(), &changes); err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, c := range changes {
		if c.Kind == export.AccountCreate {
			creates++
		}
	}
	if creates == 0 {
		t.Fatalf("diff before the first export lists no %s: %s", export.AccountCreate, out)
	}
	out.Reset()
	if err := runPersonShow(ctx, personShowOptions{format: "json", events: 5}, g, []string{"000101"}); err != nil {
		t.Fatal(err)
	}
	var p personView
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.PersonRecord == nil || p.EmployeeNumber != "000101" || len(p.Contracts) != 2 || !strings.Contains(p.Why, "the next export adds it") {
		t.Fatalf("person show 000101: %s", out)
	}
}
