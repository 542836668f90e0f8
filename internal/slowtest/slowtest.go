// Package slowtest gates the slow end-to-end tests (the SIGKILL crash loop,
// the hostile-input suite, SFTP faults, generated inputs of thousands of
// persons) behind SPENDSYNC_SLOW=1, which make test and CI set, so a plain
// go test ./... stays near a minute on a developer's machine.
package slowtest

import (
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
