package main

import (
	"strings"
	"testing"
)

// Every duration the command line takes goes through internal/duration, so
// days and weeks work there as they do in the config.
func TestDurationFlagsTakeDaysAndWeeks(t *testing.T) {
	cfg := demo(t)
	if code, _, errOut := cli(t, "--config", cfg, "ingest"); code != 0 {
		t.Fatalf("ingest: %d %s", code, errOut)
	}
	code, out, errOut := cli(t, "--config", cfg, "events", "--since", "2w", "--kind", "person.joined")
	if code != 0 || !strings.Contains(out, "person.joined") {
		t.Fatalf("events --since 2w: %d %q %s", code, out, errOut)
	}
	if code, out, _ := cli(t, "--config", cfg, "events", "--until", "1d", "--kind", "person.joined"); code != 0 || strings.Contains(out, "person.joined") {
		t.Errorf("events --until 1d (a day ago) should list nothing yet: %d %q", code, out)
	}
	// Nothing delivered yet: a stale delivery is exit 3, not a usage error.
	if code, _, errOut := cli(t, "--config", cfg, "status", "--max-age", "2d"); code != 3 {
		t.Errorf("status --max-age 2d = %d, want 3: %s", code, errOut)
	}
	code, _, errOut = cli(t, "--config", cfg, "status", "--max-age", "26")
	if code != 2 || !strings.Contains(errOut, "needs a unit") {
		t.Errorf("status --max-age 26 = %d %q, want exit 2 asking for a unit", code, errOut)
	}
}
