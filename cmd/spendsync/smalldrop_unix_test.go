//go:build !windows

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/spendsync/spendsync/internal/sshdtest"
)

// mountSmallDrop mounts a 64k tmpfs as the server's drop (root only); it
// skips without root, unless SPENDSYNC_REQUIRE_SSHD is set.
func mountSmallDrop(t *testing.T, s *sshdtest.Server) bool {
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", s.Drop).CombinedOutput(); err != nil {
		if os.Getenv("SPENDSYNC_REQUIRE_SSHD") != "" {
			t.Fatalf("mount a 64k tmpfs as the drop: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here (needs root): %s", out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", s.Drop).Run() })
	return true
}

// fillDrop fills the small drop but for a few hundred bytes and returns
// what empties it again.
func fillDrop(t *testing.T, s *sshdtest.Server) func() {
	filler := filepath.Join(s.Drop, "filler")
	f, _ := os.Create(filler)
	chunk := make([]byte, 512)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	return func() { os.Remove(filler) }
}
