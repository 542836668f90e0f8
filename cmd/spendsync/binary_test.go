package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildBinary compiles spendsync for the tests that drive the real
// binary. Under Wine there is no Go toolchain: .ci/windows builds
// spendsync.exe from the same tree and names it in SPENDSYNC_TEST_BIN.
func buildBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("SPENDSYNC_TEST_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "spendsync"+exeSuffix)
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
