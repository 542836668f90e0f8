package main

import (
	"strings"
	"testing"
)

func TestProfilesCommandListsAndShowsEveryProfile(t *testing.T) {
	code, out, stderr := cli(t, "profiles")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	names := []string{"ad", "adp", "afas", "entra", "raet", "raet-hrcore", "successfactors"}
	for _, n := range names {
		if !strings.Contains(out, "\n"+n+" ") && !strings.HasPrefix(out, n+" ") {
			t.Errorf("profiles does not list %s:\n%s", n, out)
		}
		code, out, stderr := cli(t, "profiles", n)
		if code != exitOK || !strings.Contains(out, "names from: ") || !strings.Contains(out, "employee_number") {
			t.Errorf("profiles %s: exit %d, %q %q", n, code, out, stderr)
		}
	}
	if code, _, stderr := cli(t, "profiles", "sap"); code != exitUsage || !strings.Contains(stderr, `unknown profile "sap"`) {
		t.Errorf("unknown profile: exit %d, %q", code, stderr)
	}
}
