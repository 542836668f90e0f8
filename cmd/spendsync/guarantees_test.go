package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/slowtest"
	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/lifecycle"
)

func TestTwoRunsTogetherOneWorksTheOtherExits4(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	r := newCrashRig(t, bin, "folder")
	genDataset(t, r.data, 6000, 1)
	for round := range 3 {
		genDataset(t, r.data, 6000, 1+round%2)
		var cmds [2]*exec.Cmd
		var errs [2]bytes.Buffer
		for i := range cmds {
			cmds[i] = r.run(context.Background())
			cmds[i].Stderr = &errs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		codes := map[int]int{}
		for i, c := range cmds {
			c.Wait()
			codes[c.ProcessState.ExitCode()]++
			if c.ProcessState.ExitCode() == exitLocked && !strings.Contains(errs[i].String(), "pid ") {
				t.Fatalf("the refusal does not name the holder: %s", errs[i].String())
			}
		}
		// Usually one is refused; if the first finished before the second
		// started, both legitimately succeed. Never anything else.
		if codes[0]+codes[exitLocked] != 2 || codes[0] == 0 {
			t.Fatalf("round %d: exit codes %v, want one 0 and one 4", round, codes)
		}
		t.Logf("round %d: exit codes %v", round, codes)
	}
}

func TestReadersAndBackupDuringALongIngest(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	r := newCrashRig(t, bin, "folder")
	genDataset(t, r.data, 4000, 1)
	r.runToEnd()
	genDataset(t, r.data, 60000, 2) // a long ingest: 60k persons, mostly joins
	ingest := exec.Command(bin, "--config", r.cfg, "ingest")
	ingest.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	if err := ingest.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var finished atomic.Bool
	go func() {
		err := ingest.Wait()
		finished.Store(true)
		done <- err
	}()
	// A reader that waited for the writer would return only after the
	// ingest ended; one that returns while it still runs did not wait.
	// (No clock: under load any time limit is a guess.)
	reads, overlapped := 0, 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("ingest: %v", err)
			}
			running = false
			continue
		default:
		}
		for _, args := range [][]string{{"status", "--json"}, {"events", "--limit", "3"}, {"backup", filepath.Join(t.TempDir(), "b.db")}} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			cmd := exec.CommandContext(ctx, bin, append([]string{"--config", r.cfg}, args...)...)
			cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s during the ingest: %v\n%s", args[0], err, out)
			}
			if !finished.Load() {
				overlapped++
			}
			if args[0] == "backup" {
				if err := lifecycle.IntegrityCheck(context.Background(), args[1]); err != nil {
					t.Fatal(err)
				}
			}
			reads++
		}
	}
	t.Logf("%d reader commands ran, %d finished while the ingest was still running", reads, overlapped)
	if reads < 3 {
		t.Skip("the ingest finished before the readers could overlap it")
	}
	if overlapped == 0 {
		t.Fatal("no reader finished while the ingest ran: readers wait for the writer")
	}
}

func TestEverythingCreatedIsPrivate(t *testing.T) {
	cfg := demo(t)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(data, []byte("metrics: state/metrics/spendsync.prom\nretention: {exports: 2}\n")...), 0o600)
	for range 3 {
		mustCLI(t, "--config", cfg, "run")
	}
	root := filepath.Join(filepath.Dir(cfg), "state")
	mustCLI(t, "--config", cfg, "backup", filepath.Join(root, "backups", "b.db"))
	var files, dirs int
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
			dirs++
		} else {
			files++
		}
		if perm := accesstest.Perm(t, p); perm != want {
			t.Errorf("%s: mode %v, want %v", p, perm, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The database, WAL or not, lock, exports, history, drop, metrics, backup.
	for _, p := range []string{"spendsync.db", "spendsync.db.lock", "out/persons.csv", "out/history", "drop/roles.csv", "metrics/spendsync.prom", "backups/b.db"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("expected %s: %v", p, err)
		}
	}
	t.Logf("checked %d files and %d folders", files, dirs)
}

func TestPassphraseNeverAppearsInOutputLogsOrEvents(t *testing.T) {
	s := sshdtest.Start(t)
	const passphrase = "pass-PHRASE-that-must-stay-secret-0815"
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_enc")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	pub, _ := ssh.NewPublicKey(priv.Public())
	s.Authorize(pub)
	cfg := sftpDemo(t, s, fmt.Sprintf("    key_file: %s\n    passphrase_env: SPENDSYNC_TEST_PASSPHRASE\n", keyFile))
	var all bytes.Buffer
	collect := func(args ...string) int {
		code, out, stderr := cli(t, args...)
		all.WriteString(out + stderr)
		return code
	}
	t.Setenv("SPENDSYNC_TEST_PASSPHRASE", "wrong-"+passphrase)
	if code := collect("--config", cfg, "-v", "--log-format", "json", "run"); code != exitFailed {
		t.Fatalf("a wrong passphrase: exit %d", code)
	}
	t.Setenv("SPENDSYNC_TEST_PASSPHRASE", passphrase)
	if code := collect("--config", cfg, "-v", "--log-format", "text", "push"); code != 0 {
		t.Fatalf("the right passphrase: exit %d\n%s", code, all.String())
	}
	collect("--config", cfg, "events", "--format", "json")
	collect("--config", cfg, "status", "--json")
	c, _ := loadConfig(cfg)
	for _, f := range []string{c.Database, c.Database + "-wal"} {
		data, _ := os.ReadFile(f)
		all.Write(data)
	}
	if bytes.Contains(all.Bytes(), []byte(passphrase)) {
		t.Fatal("the passphrase appears in output, logs, events or the database")
	}
}
