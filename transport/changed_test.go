package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/transport"
)

// drops are the targets a local file's check must hold for: the folder
// and a real sshd. open makes the target with the given hooks.
func drops(t *testing.T) map[string]func(transport.Hooks) (transport.Target, string) {
	return map[string]func(transport.Hooks) (transport.Target, string){
		"folder": func(h transport.Hooks) (transport.Target, string) {
			drop := filepath.Join(t.TempDir(), "drop")
			target, err := transport.Open(&transport.Config{Dir: &transport.DirConfig{Path: drop}}, h)
			if err != nil {
				t.Fatal(err)
			}
			return target, drop
		},
		"sftp": func(h transport.Hooks) (transport.Target, string) {
			s := sshdtest.Start(t)
			target, err := transport.Open(sftpConfig(t, s, nil), h)
			if err != nil {
				t.Fatal(err)
			}
			return target, s.Drop
		},
	}
}

// A local file that no longer holds what was checked (a push verified the
// export, then something rewrote it) fails the delivery with ErrChanged,
// and the drop keeps what it held: nothing of the changed file, nor of the
// files uploaded before it, stands under a final name, and no temporary
// file is left.
func TestALocalFileChangedAfterItsCheckIsNotDelivered(t *testing.T) {
	changes := []struct {
		name, want string
		change     func(data []byte) []byte
	}{
		{"same size, other bytes", "expected", func(d []byte) []byte { return bytes.ToUpper(d) }},
		{"longer", "longer than", func(d []byte) []byte { return append(d, d...) }},
		{"shorter", "expected", func(d []byte) []byte { return d[:len(d)/2] }},
	}
	for name, mk := range drops(t) {
		t.Run(name, func(t *testing.T) {
			target, drop := mk(transport.Hooks{})
			if _, err := target.Deliver(context.Background(), "old", files(t, 3)); err != nil {
				t.Fatal(err)
			}
			before := listing(t, drop)
			for _, c := range changes {
				t.Run(c.name, func(t *testing.T) {
					set := files(t, 50)
					last := set[len(set)-1] // the others are uploaded before it
					if err := os.WriteFile(last.Path, c.change(content(t, last)), 0o600); err != nil {
						t.Fatal(err)
					}
					_, err := target.Deliver(context.Background(), "new", set)
					if !errors.Is(err, transport.ErrChanged) || !strings.Contains(err.Error(), last.Path) || !strings.Contains(err.Error(), c.want) {
						t.Fatalf("err = %v, want ErrChanged naming %s and saying %q", err, last.Path, c.want)
					}
					if after := listing(t, drop); after != before {
						t.Fatalf("the drop changed\nbefore:\n%s\nafter:\n%s", before, after)
					}
				})
			}
		})
	}
}

// The check is made on what each upload reads, not before the delivery
// starts: a file rewritten while an earlier one is being uploaded is
// refused too.
func TestALocalFileChangedDuringTheDeliveryIsNotDelivered(t *testing.T) {
	for name, mk := range drops(t) {
		t.Run(name, func(t *testing.T) {
			set := files(t, 50)
			first, last := set[0], set[1]
			var rewrote atomic.Bool
			target, drop := mk(transport.Hooks{Progress: func(name string, size int64) io.Writer {
				if name == first.Name && !rewrote.Load() {
					rewrote.Store(true)
					os.WriteFile(last.Path, bytes.ToUpper(content(t, last)), 0o600)
				}
				return nil
			}})
			_, err := target.Deliver(context.Background(), "new", set)
			if !rewrote.Load() {
				t.Fatal("the progress hook was never called")
			}
			if !errors.Is(err, transport.ErrChanged) {
				t.Fatalf("err = %v, want ErrChanged", err)
			}
			if got := listing(t, drop); got != "" {
				t.Fatalf("the drop holds\n%s", got)
			}
		})
	}
}

// Every SFTP attempt opens the local file afresh: a retry after a lost
// connection checks the file again and refuses one rewritten between the
// attempts, without retrying the refusal itself.
func TestSFTPRetryRefusesAFileRewrittenBetweenAttempts(t *testing.T) {
	s := sshdtest.Start(t)
	set := files(t, 50)
	var retries atomic.Int32
	logf := func(msg string, args ...any) {
		if msg != "sftp: retrying" {
			return
		}
		if retries.Add(1) == 1 {
			os.WriteFile(set[1].Path, bytes.ToUpper(content(t, set[1])), 0o600)
			s.Restart()
		}
	}
	target, err := transport.Open(sftpConfig(t, s, func(c *transport.SFTPConfig) { three := 3; c.Retries = &three }), transport.Hooks{Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	_, err = target.Deliver(context.Background(), "new", set)
	if !errors.Is(err, transport.ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if n := retries.Load(); n != 1 {
		t.Fatalf("%d retries, want 1: the refusal was retried", n)
	}
	if got := listing(t, s.Drop); got != "" {
		t.Fatalf("the drop holds\n%s", got)
	}
}

// A retry after a connection lost mid-upload sends each file whole again,
// from its start.
func TestSFTPRetryAfterAConnectionLostMidUploadSendsTheWholeFile(t *testing.T) {
	s := sshdtest.Start(t)
	set := files(t, 4<<20) // ~40 MB each: long enough to stop the server midway
	// Retries enough that one made before the server listens again is
	// not the last.
	target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { three := 3; c.Retries = &three }))
	done := deliverUntilStarted(t, target, s.Drop, "big", set)
	s.Stop()
	s.Restart()
	if err := <-done; err != nil {
		t.Fatalf("the retry did not deliver: %v", err)
	}
	for _, f := range set {
		if data, _ := os.ReadFile(filepath.Join(s.Drop, f.Name)); !bytes.Equal(data, content(t, f)) {
			t.Fatalf("%s differs after the retry (%d bytes, want %d)", f.Name, len(data), f.Size)
		}
	}
}

// listing is every file in drop with its size and SHA-256, or "" when
// drop is empty or missing.
func listing(t *testing.T, drop string) string {
	t.Helper()
	entries, _ := os.ReadDir(drop)
	var b strings.Builder
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(drop, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %d bytes, sha256 %x\n", e.Name(), len(data), sha256.Sum256(data))
	}
	return b.String()
}
