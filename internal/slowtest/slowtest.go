// Package slowtest gates the slow end-to-end tests (the SIGKILL crash loop,
// the hostile-input suite, SFTP faults, generated inputs of thousands of
// persons) behind SPENDSYNC_SLOW=1, which make test and CI set, so a plain
// go test ./... stays near a minute on a developer's machine.
package slowtest

import (
	"fmt"
	"os"
	"testing"
)

// Require skips t unless SPENDSYNC_SLOW is set.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("SPENDSYNC_SLOW") == "" {
		t.Skip("slow end-to-end test: runs with SPENDSYNC_SLOW=1 (make test and CI set it)")
	}
}

// SkipMissing skips t because a tool it needs is not installed, and notes
// that in the file SPENDSYNC_SKIPPED names, so make test can list at its
// end what skipped for lack of what.
// With SPENDSYNC_REQUIRE_TOOLS set (CI) a missing tool fails t instead.
func SkipMissing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("SPENDSYNC_REQUIRE_TOOLS") != "" {
		t.Fatalf("%s is required here (SPENDSYNC_REQUIRE_TOOLS)", what)
	}
	if path := os.Getenv("SPENDSYNC_SKIPPED"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, "%s: %s\n", t.Name(), what)
			f.Close()
		}
	}
	t.Skipf("%s not available", what)
}
