//go:build unix

// Unix only: it makes drop files immutable with chattr +i (Linux), puts a
// trickling TCP proxy before sshd and stops the binary with SIGTERM, which
// Windows does not have.

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
	"github.com/spendsync/spendsync/internal/sshdtest"
)

// deliveredRig is the demo delivered once to a folder or the test sshd,
// with the HR data changed since, so the next run has a new dump to
// (wrongly, under a fault) put in place.
type deliveredRig struct {
	cfg, drop string
	s         *sshdtest.Server
}

func newDeliveredRig(t *testing.T, kind string) *deliveredRig {
	t.Helper()
	r := &deliveredRig{}
	switch kind {
	case "folder":
		r.cfg = demo(t)
		c, err := loadConfig(r.cfg)
		if err != nil {
			t.Fatal(err)
		}
		r.drop = c.Target.Dir.Path
	case "sftp":
		r.s = sshdtest.Start(t)
		r.cfg = sftpDemo(t, r.s, "    key_file: "+r.s.ClientKey+"\n")
		r.drop = r.s.Drop
	}
	mustCLI(t, "--config", r.cfg, "run")
	edit(t, filepath.Join(filepath.Dir(r.cfg), "hr", "medewerkers.csv"), ";Jansen;", ";Jansen-Bos;")
	edit(t, filepath.Join(filepath.Dir(r.cfg), "hr", "dienstverbanden.csv"), ";CTRL;Controller", ";CTRL2;Controller")
	return r
}

// checkNewDump checks both files of the latest export differ from the
// drop's, so a drop holding one of each would show.
func checkNewDump(t *testing.T, cfg, drop string) {
	t.Helper()
	for _, name := range []string{"persons.csv", "roles.csv"} {
		a, _ := os.ReadFile(filepath.Join(outDir(t, cfg), name))
		b, _ := os.ReadFile(filepath.Join(drop, name))
		if bytes.Equal(a, b) {
			t.Fatalf("the new export's %s is the delivered one: the test would not see a half-new drop", name)
		}
	}
}

// dropState is every entry of a drop with its content, byte for byte.
func dropState(t *testing.T, drop string) string {
	t.Helper()
	entries, err := os.ReadDir(drop)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(drop, e.Name()))
		fmt.Fprintf(&b, "%s %v %x\n", e.Name(), e.Type(), data)
	}
	return b.String()
}

// binary runs the built spendsync and returns its exit code and stderr.
func binary(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// checkDelivered checks the drop holds exactly the export's two files.
func checkDelivered(t *testing.T, cfg, drop string) {
	t.Helper()
	out := outDir(t, cfg)
	for _, name := range []string{"persons.csv", "roles.csv"} {
		want, _ := os.ReadFile(filepath.Join(out, name))
		if got, err := os.ReadFile(filepath.Join(drop, name)); err != nil || !bytes.Equal(got, want) || len(want) == 0 {
			t.Fatalf("%s in the drop is not the export's (%v)", name, err)
		}
	}
	if entries, _ := os.ReadDir(drop); len(entries) != 2 {
		t.Fatalf("the drop holds %d entries, want the two files", len(entries))
	}
}

// A drop file nobody may replace (chattr +i) fails the run with exit 1:
// persons.csv goes in first, and when roles.csv cannot follow, persons.csv
// is put back, so the drop never holds a new file beside an old one.
func TestAnImmutableDropFileFailsTheRunAndLeavesTheDropAsItWas(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	for _, kind := range []string{"folder", "sftp"} {
		for _, name := range []string{"roles.csv", "persons.csv"} {
			t.Run(kind+" "+name, func(t *testing.T) {
				r := newDeliveredRig(t, kind)
				before := dropState(t, r.drop)
				path := filepath.Join(r.drop, name)
				if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
					t.Skipf("chattr +i is not supported here (needs root and ext4 or similar): %v %s", err, out)
				}
				t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
				code, stderr := binary(t, bin, "--config", r.cfg, "run")
				if code != exitFailed || !strings.Contains(stderr, "the drop holds the files it held before") {
					t.Fatalf("run with an immutable %s: exit %d, want 1 saying the drop is as it was\n%s", name, code, stderr)
				}
				if after := dropState(t, r.drop); after != before {
					t.Fatalf("the failed run changed the drop\nbefore:\n%s\nafter:\n%s", before, after)
				}
				checkNewDump(t, r.cfg, r.drop)
				if n := len(mustEvents(t, r.cfg, "delivery.failed")); n != 1 {
					t.Fatalf("%d delivery.failed events, want 1", n)
				}
				exec.Command("chattr", "-i", path).Run()
				if code, stderr := binary(t, bin, "--config", r.cfg, "run"); code != exitOK {
					t.Fatalf("run once %s is mutable again: exit %d\n%s", name, code, stderr)
				}
				checkDelivered(t, r.cfg, r.drop)
			})
		}
	}
}

// A push behind a server that trickles 5 bytes a second (every read makes
// progress, so the per-read timeout never trips) ends at
// target.sftp.deadline, and at once on SIGTERM, leaving the drop as it was.
func TestAPushBehindATricklingServerEndsAtItsDeadlineOrOnSIGTERM(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	r := newDeliveredRig(t, "sftp")
	mustCLI(t, "--config", r.cfg, "ingest")
	mustCLI(t, "--config", r.cfg, "export")
	before := dropState(t, r.drop)
	proxy := sshdtest.Trickle(t, r.s.Addr, 5)
	_, sshdPort, _ := strings.Cut(r.s.Addr, ":")
	_, proxyPort, _ := strings.Cut(proxy, ":")
	edit(t, r.cfg, "port: "+sshdPort, "port: "+proxyPort)
	edit(t, r.cfg, "known_hosts: "+r.s.KnownHosts, "known_hosts: "+sshdtest.KnownHosts(t, t.TempDir(), proxy, r.s.HostKey))
	edit(t, r.cfg, "retries: 0", "retries: 0\n    deadline: 3s")

	t.Run("the deadline ends it with exit 1 naming the key", func(t *testing.T) {
		start := time.Now()
		code, stderr := binary(t, bin, "--config", r.cfg, "push")
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("push with deadline: 3s took %v", took)
		}
		if code != exitFailed || !strings.Contains(stderr, "target.sftp.deadline (3s)") {
			t.Fatalf("exit %d, want 1 naming target.sftp.deadline\n%s", code, stderr)
		}
		if after := dropState(t, r.drop); after != before {
			t.Fatalf("the drop changed\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
	t.Run("SIGTERM ends it within 5 s", func(t *testing.T) {
		edit(t, r.cfg, "deadline: 3s", "deadline: 1h")
		failed := len(mustEvents(t, r.cfg, "delivery.failed"))
		cmd := exec.Command(bin, "--config", r.cfg, "push")
		cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // well into the handshake
		cmd.Process.Signal(syscall.SIGTERM)
		start := time.Now()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("still running 5 s after SIGTERM\n%s", stderr.String())
		}
		t.Logf("exited %v after SIGTERM", time.Since(start))
		if code := cmd.ProcessState.ExitCode(); code != exitFailed || !strings.Contains(stderr.String(), "stopped by a signal") {
			t.Fatalf("exit %d, want 1 saying a signal stopped it\n%s", code, stderr.String())
		}
		if after := dropState(t, r.drop); after != before {
			t.Fatalf("the drop changed\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if n := len(mustEvents(t, r.cfg, "delivery.failed")); n != failed+1 {
			t.Fatalf("%d delivery.failed events, want %d: the stopped push was not recorded", n, failed+1)
		}
	})
}

// Delivered files get target.sftp.file_mode (default 0600: they hold
// personal data), however the server would have created them.
func TestSFTPDropFilesGetTheConfiguredFileMode(t *testing.T) {
	for _, tc := range []struct {
		line string
		want os.FileMode
	}{{"    # file_mode: the default\n", 0o600}, {"    file_mode: 0640\n", 0o640}, {"    file_mode: \"0604\"\n", 0o604}} {
		t.Run(strings.TrimSpace(tc.line), func(t *testing.T) {
			s := sshdtest.Start(t)
			cfg := sftpDemo(t, s, "    key_file: "+s.ClientKey+"\n"+tc.line)
			mustCLI(t, "--config", cfg, "run")
			for _, name := range []string{"persons.csv", "roles.csv"} {
				fi, err := os.Stat(filepath.Join(s.Drop, name))
				if err != nil || fi.Mode().Perm() != tc.want {
					t.Fatalf("%s has mode %v (%v), want %v", name, fi.Mode().Perm(), err, tc.want)
				}
			}
		})
	}
	cfg := writeConfig(t, "database: d\ntarget:\n  sftp: {host: h, user: u, key_file: k, known_hosts: kh, file_mode: 0888}\n")
	if code, _, stderr := cli(t, "--config", cfg, "status"); code != exitUsage || !strings.Contains(stderr, "target.sftp.file_mode") {
		t.Fatalf("file_mode 0888: exit %d\n%s", code, stderr)
	}
}
