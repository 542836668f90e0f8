package main

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
	"github.com/spendsync/spendsync/lifecycle"
)

// A first ingest stages its new persons on disk before it writes them.
// Killed at any moment, it leaves either nothing or everything in the
// database, never part of the persons or their events, and the next
// ingest removes the stage file and writes exactly what an uninterrupted
// one does.
func TestKilledFirstIngestLeavesNothingHalfWritten(t *testing.T) {
	slowtest.Require(t)
	if testing.Short() {
		t.Skip("kill loop skipped with -short")
	}
	bin := buildBinary(t)
	r := newCrashRig(t, bin, "folder")
	genDataset(t, r.data, 20000, 1)
	state := filepath.Dir(r.db)
	ingest := func(ctx context.Context) *exec.Cmd {
		cmd := exec.CommandContext(ctx, r.bin, "--config", r.cfg, "-q", "ingest")
		cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
		return cmd
	}
	counts := func() [3]int {
		var n [3]int
		if _, err := os.Stat(r.db); os.IsNotExist(err) {
			return n
		}
		db, err := sql.Open("sqlite", r.db+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for i, q := range []string{`SELECT count(*) FROM persons`, `SELECT count(*) FROM contracts`,
			`SELECT count(*) FROM events WHERE kind = 'person.joined'`} {
			if err := db.QueryRow(q).Scan(&n[i]); err != nil {
				return [3]int{} // killed before the schema was created
			}
		}
		return n
	}
	start := time.Now()
	if out, err := ingest(context.Background()).CombinedOutput(); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	span := time.Since(start)
	want := counts()
	if want[0] == 0 || want[0] != want[2] {
		t.Fatalf("uninterrupted first ingest wrote %v", want)
	}
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	landed := 0
	for k := 0; k < 60 && landed < 5; k++ {
		os.RemoveAll(state)
		cmd := ingest(context.Background())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(span)))
		time.Sleep(delay)
		killHard(cmd.Process)
		cmd.Wait()
		if !killedHard(cmd.ProcessState) {
			continue // finished before the kill
		}
		// Only kills that find rows on the stage count.
		if staged, _ := filepath.Glob(r.db + ".stage-*"); len(staged) > 0 {
			landed++
		}
		// A kill before the database was created leaves none (under Wine
		// a process takes most of a second to start): nothing to check.
		if _, err := os.Stat(r.db); err == nil {
			if err := lifecycle.IntegrityCheck(context.Background(), r.db); err != nil {
				t.Fatalf("kill after %v: %v", delay, err)
			}
		}
		if got := counts(); got != want && got != [3]int{} {
			t.Fatalf("kill after %v left persons, contracts, joined events %v; want none or %v", delay, got, want)
		}
		if out, err := ingest(context.Background()).CombinedOutput(); err != nil {
			t.Fatalf("ingest after a kill: %v\n%s", err, out)
		}
		if got := counts(); got != want {
			t.Fatalf("ingest after a kill after %v wrote %v, want %v", delay, got, want)
		}
		if left, _ := filepath.Glob(r.db + ".stage-*"); len(left) > 0 {
			t.Fatalf("stage files after the next ingest: %v", left)
		}
	}
	if landed == 0 {
		t.Fatal("no kill landed while the ingest had rows on its stage")
	}
}

// SIGTERM (as systemd or a scheduler sends it) or Ctrl-C during a first
// ingest stops it promptly, even while its batches are being written on
// a goroutine of their own: exit 1 with a message that says a signal
// stopped it, no stage file left, and the store holds no person or every
// person.
func TestSignalledFirstIngestStopsCleanly(t *testing.T) {
	slowtest.Require(t)
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGTERM to send a process: Task Scheduler's End and a service stop end spendsync with TerminateProcess, which TestKilledFirstIngestLeavesNothingHalfWritten and TestCrashLoop cover")
	}
	bin := buildBinary(t)
	r := newCrashRig(t, bin, "folder")
	genDataset(t, r.data, 20000, 1)
	ingest := func() *exec.Cmd {
		cmd := exec.Command(r.bin, "--config", r.cfg, "--log-format", "json", "ingest")
		cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
		return cmd
	}
	start := time.Now()
	if out, err := ingest().CombinedOutput(); err != nil || !strings.Contains(string(out), `"msg":"ingest"`) {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	span := time.Since(start)
	whole := countRows(t, r.db, "persons")
	stopped := 0
	for k := range 6 {
		os.RemoveAll(filepath.Dir(r.db))
		cmd := ingest()
		delay := span * time.Duration(k+1) / 7 // spread over the whole run
		code, stderr := termAfter(t, cmd, delay)
		switch code {
		case 0: // finished before the signal
		case exitFailed:
			stopped++
			if !strings.Contains(stderr, "stopped by a signal") {
				t.Errorf("SIGTERM after %v: %q does not say a signal stopped it", delay, stderr)
			}
			// The summary line says what was written: it is logged when,
			// and only when, the persons were (a signal that lands after
			// the commit still stops the run's last steps).
			logged := strings.Contains(stderr, `"msg":"ingest"`)
			if n := countRows(t, r.db, "persons"); logged != (n == whole) {
				t.Errorf("SIGTERM after %v: summary logged %v, %d of %d persons stored", delay, logged, n, whole)
			}
		default:
			t.Fatalf("SIGTERM after %v: exit %d: %s", delay, code, stderr)
		}
		if left, _ := filepath.Glob(r.db + ".stage-*"); len(left) > 0 {
			t.Errorf("SIGTERM after %v: stage files left: %v", delay, left)
		}
		if _, err := os.Stat(r.db); err == nil {
			if n := countRows(t, r.db, "persons"); n != 0 && n != whole {
				t.Fatalf("SIGTERM after %v: %d persons stored, want 0 or %d", delay, n, whole)
			}
		}
	}
	if stopped == 0 {
		t.Fatal("no SIGTERM landed on a running ingest")
	}
	t.Logf("%d of 6 signals stopped a running ingest (a run takes ~%v)", stopped, span)
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0 // stopped before the database was made (opening it would make it)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		return 0 // stopped before the schema was made
	}
	return n
}

// termAfter starts cmd, sends it SIGTERM after delay and waits for it to
// exit, failing t when it is still running 30 s later; it returns the exit
// code and what it wrote to stderr.
func termAfter(t *testing.T, cmd *exec.Cmd, delay time.Duration) (int, string) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("SIGTERM after %v: still running 30 s later", delay)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}
