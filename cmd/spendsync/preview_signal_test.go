//go:build unix

// Unix only: it stops previews with SIGTERM, which Windows does not have.

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// SIGTERM during a preview stops it and removes its copy: exit 1 (or 0 when
// it had finished), nothing left beside the database, nothing changed.
func TestSignalledPreviewRemovesItsCopy(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	r := newCrashRig(t, bin, "folder")
	genDataset(t, r.data, 20000, 1)
	r.runToEnd()
	genDataset(t, r.data, 20000, 2) // the day's changes
	state := filepath.Dir(r.db)
	before := filesUnder(t, filepath.Dir(state))
	preview := func() *exec.Cmd {
		cmd := exec.Command(r.bin, "--config", r.cfg, "--log-format", "json", "run", "--dry-run")
		cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
		return cmd
	}
	start := time.Now()
	if out, err := preview().CombinedOutput(); err != nil || !strings.Contains(string(out), "would export") {
		t.Fatalf("run --dry-run: %v\n%s", err, out)
	}
	span := time.Since(start)
	stopped := 0
	for k := range 5 {
		cmd := preview()
		delay := span * time.Duration(k+1) / 6
		code, stderr := termAfter(t, cmd, delay)
		switch code {
		case 0:
		case exitFailed:
			stopped++
			if !strings.Contains(stderr, "stopped by a signal") {
				t.Errorf("SIGTERM after %v: %q does not say a signal stopped it", delay, stderr)
			}
		default:
			t.Fatalf("SIGTERM after %v: exit %d: %s", delay, code, stderr)
		}
		sameState(t, "a signalled preview", before, filesUnder(t, filepath.Dir(state)))
	}
	if stopped == 0 {
		t.Fatal("no SIGTERM landed on a running preview")
	}
	t.Logf("%d of 5 signals stopped a running preview (one takes ~%v)", stopped, span)
}
