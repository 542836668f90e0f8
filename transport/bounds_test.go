//go:build unix

// Unix only: the trickling proxy sits before a local sshd (sshdtest.Trickle),
// which the Windows test binaries reach only through testserve.

package transport_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/transport"
)

// trickled is a target config for s behind a proxy that forwards 5 bytes
// a second: every read makes progress, so only the deadline or the
// context can end a push.
func trickled(t *testing.T, s *sshdtest.Server, mod func(*transport.SFTPConfig)) *transport.Config {
	t.Helper()
	addr := sshdtest.Trickle(t, s.Addr, 5)
	kh := sshdtest.KnownHosts(t, t.TempDir(), addr, s.HostKey)
	return sftpConfigAt(t, addr, s.User, s.ClientKey, kh, s.Drop, mod)
}

func TestSFTPDeadlineEndsAPushBehindATricklingServer(t *testing.T) {
	s := sshdtest.Start(t)
	target := open(t, trickled(t, s, func(c *transport.SFTPConfig) { c.Deadline = 2 * time.Second }))
	start := time.Now()
	_, err := target.Deliver(context.Background(), "slow", newSet(t, 1))
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("the push took %v with a 2s deadline", took)
	}
	if err == nil || !strings.Contains(err.Error(), "target.sftp.deadline (2s)") {
		t.Fatalf("err = %v, want one naming target.sftp.deadline", err)
	}
	if entries, _ := os.ReadDir(s.Drop); len(entries) != 0 {
		t.Fatalf("the drop holds %d files", len(entries))
	}
}

func TestSFTPCancelledContextEndsAPushBehindATricklingServer(t *testing.T) {
	s := sshdtest.Start(t)
	target := open(t, trickled(t, s, nil)) // the default deadline, 10m
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := target.Deliver(ctx, "slow", newSet(t, 1))
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the push took %v after its context was cancelled at 0.5 s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v", err)
	}
}

// A context cancelled while a file uploads stops the upload and removes
// its temporary file before the connection goes.
func TestSFTPCancelledUploadLeavesNoTemporaryFile(t *testing.T) {
	s := sshdtest.Start(t)
	target := open(t, sftpConfig(t, s, nil))
	if _, err := target.Deliver(context.Background(), "old", newSet(t, 3)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Drop)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if fi, err := os.Stat(filepath.Join(s.Drop, ".spendsync-persons.csv.big.tmp")); err == nil && fi.Size() > 0 {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := target.Deliver(ctx, "big", newSet(t, 4<<20))
	if err == nil {
		t.Fatal("delivered although cancelled")
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("took %v", took)
	}
	if after := snapshot(t, s.Drop); after != before {
		t.Fatalf("the drop changed: %s", names(t, s.Drop))
	}
}

func TestSFTPDeliveredFilesGetTheConfiguredMode(t *testing.T) {
	s := sshdtest.Start(t)
	for _, tc := range []struct {
		set  string
		want os.FileMode
	}{{"", 0o600}, {"0640", 0o640}, {"644", 0o644}} {
		t.Run("file_mode "+tc.set, func(t *testing.T) {
			target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.FileMode = tc.set }))
			if _, err := target.Deliver(context.Background(), "m", newSet(t, 2)); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"persons.csv", "roles.csv"} {
				fi, err := os.Stat(filepath.Join(s.Drop, name))
				if err != nil || fi.Mode().Perm() != tc.want {
					t.Fatalf("%s has mode %v (%v), want %v", name, fi.Mode().Perm(), err, tc.want)
				}
			}
		})
	}
}

func TestSFTPConfigRefusesABadFileModeAndDeadline(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*transport.SFTPConfig)
		want string
	}{
		{func(c *transport.SFTPConfig) { c.FileMode = "0800" }, "sftp.file_mode"},
		{func(c *transport.SFTPConfig) { c.FileMode = "1777" }, "sftp.file_mode"},
		{func(c *transport.SFTPConfig) { c.FileMode = "rw-------" }, "sftp.file_mode"},
		{func(c *transport.SFTPConfig) { c.Deadline = -time.Second }, "sftp.deadline"},
	} {
		zero := 0
		c := &transport.SFTPConfig{Host: "h", User: "u", KeyFile: "k", KnownHosts: "kh", Retries: &zero}
		tc.mod(c)
		err := (&transport.Config{SFTP: c}).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want one naming %s", err, tc.want)
		}
	}
}
