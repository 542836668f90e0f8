//go:build linux

// Only on Linux: it checks the systemd units in contrib/systemd with
// systemd-analyze, which Windows has no counterpart of (Task Scheduler
// there: docs/operations.md, "Windows").

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// The template units in contrib/systemd load cleanly (systemd-analyze
// verify prints nothing, not even a warning about an unknown key) and keep
// their hardening: a service provider runs one instance per customer.
func TestSystemdTemplateUnitsVerifyAndStayHardened(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		slowtest.SkipMissing(t, "systemd-analyze (apt-get install systemd)")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, name := range []string{"spendsync@.service", "spendsync@.timer"} {
		text, err := os.ReadFile(filepath.Join("..", "..", "contrib", "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		// verify checks that ExecStart's binary exists.
		unit := strings.ReplaceAll(string(text), "/usr/local/bin/spendsync", bin)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		instance := strings.Replace(name, "@.", "@acme.", 1)
		if err := os.Symlink(name, filepath.Join(dir, instance)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "spendsync@acme.service", "spendsync@acme.timer")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	service, _ := os.ReadFile(filepath.Join(dir, "spendsync@.service"))
	for _, want := range []string{"Environment=SPENDSYNC_CONFIG=/etc/spendsync/%i.yaml", "ProtectSystem=strict", "PrivateTmp=true",
		"NoNewPrivileges=true", "ReadWritePaths=/var/lib/spendsync/%i", "SuccessExitStatus=5", "UMask=0077"} {
		if !strings.Contains(string(service), want+"\n") {
			t.Errorf("spendsync@.service lacks %s", want)
		}
	}
	timer, _ := os.ReadFile(filepath.Join(dir, "spendsync@.timer"))
	if !strings.Contains(string(timer), "RandomizedDelaySec=") || !strings.Contains(string(timer), "Persistent=true") {
		t.Errorf("spendsync@.timer lacks RandomizedDelaySec or Persistent:\n%s", timer)
	}
	// systemd's own exposure score (0-10, lower is safer; 3.3 when written; the threshold is in tenths).
	sec := exec.Command(analyze, "security", "--offline=true", "--threshold=40", "spendsync@acme.service")
	sec.Dir = dir
	if out, err := sec.CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: exposure above 4.0: %v\n%s", err, out)
	}
}
