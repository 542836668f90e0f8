package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renameInAD changes usernames (and the mail beside them) in the demo's AD
// file: old -> new address.
func renameInAD(t *testing.T, cfg string, pairs ...string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(cfg), "ad", "users.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(pairs...).Replace(string(data))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Spend Cloud's import keys employees by username: a changed one makes a
// new employee and deactivates the old. So a rename is held until allowed.
func TestAUsernameChangeIsHeldUntilAllowedForThatPerson(t *testing.T) {
	cfg := demo(t)
	drop := filepath.Join(filepath.Dir(cfg), "state", "drop")
	mustCLI(t, "--config", cfg, "run")
	renameInAD(t, cfg, "jan.boele@example.nl", "jan.devries@example.nl")

	code, _, stderr := cli(t, "--config", cfg, "run")
	if code != exitRejected || !strings.Contains(stderr, "1 username change held") {
		t.Fatalf("run with a rename: exit %d, want 5\n%s", code, stderr)
	}
	for _, f := range []string{"persons.csv", "roles.csv"} {
		data, _ := os.ReadFile(filepath.Join(drop, f))
		if strings.Contains(string(data), `"jan.devries@example.nl","`) || strings.Count(string(data), "jan.boele@example.nl") == 0 {
			t.Fatalf("the delivered %s does not keep the old username:\n%s", f, data)
		}
	}
	persons, _ := os.ReadFile(filepath.Join(drop, "persons.csv"))
	if !strings.Contains(string(persons), `"jan.devries@example.nl";"jan.boele@example.nl"`) {
		t.Fatalf("the new email did not go through beside the held username:\n%s", persons)
	}
	out := mustCLI(t, "--config", cfg, "events", "--kind", "account.rename_held", "--format", "csv")
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "jan.devries@example.nl") {
		t.Fatalf("rename_held events:\n%s", out)
	}
	if out := mustCLI(t, "--config", cfg, "diff"); !strings.Contains(out, "account.rename_held  000101") {
		t.Fatalf("diff does not list the held rename:\n%s", out)
	}
	if _, out, _ := cli(t, "--config", cfg, "status"); !strings.Contains(out, "000101    jan.boele@example.nl  jan.devries@example.nl") {
		t.Fatalf("status does not list the held rename:\n%s", out)
	}
	// The next run holds it again, but records it once.
	if code, _, _ := cli(t, "--config", cfg, "run"); code != exitRejected {
		t.Fatalf("second run: exit %d", code)
	}
	if out := mustCLI(t, "--config", cfg, "events", "--kind", "account.rename_held", "--format", "csv"); strings.Count(out, "\n") != 2 {
		t.Fatalf("the same held rename was recorded again:\n%s", out)
	}

	mustCLI(t, "--config", cfg, "person", "allow-rename", "000101", "--reason", "married, ticket 4711")
	if code, _, stderr := cli(t, "--config", cfg, "run"); code != 0 {
		t.Fatalf("run after allow-rename: exit %d\n%s", code, stderr)
	}
	roles, _ := os.ReadFile(filepath.Join(drop, "roles.csv"))
	if strings.Contains(string(roles), "jan.boele@example.nl") || !strings.Contains(string(roles), "jan.devries@example.nl") {
		t.Fatalf("the allowed rename is not in the dump:\n%s", roles)
	}
	out = mustCLI(t, "--config", cfg, "events", "--kind", "account.renamed", "--format", "csv")
	if !strings.Contains(out, "married, ticket 4711") || !strings.Contains(out, `""allowed_by"":""`) {
		t.Fatalf("account.renamed lacks who allowed it and why:\n%s", out)
	}
	// The allowance was for that one rename.
	renameInAD(t, cfg, "jan.devries@example.nl", "jan.jansen@example.nl")
	if code, _, _ := cli(t, "--config", cfg, "run"); code != exitRejected {
		t.Fatalf("a second rename of the same person went through on the old allowance: exit %d", code)
	}
}

func TestUsernameChangeAllowLetsRenamesThroughUpToMaxRenames(t *testing.T) {
	cfg := demo(t)
	text, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(text), "rules:\n", "rules:\n  username_change: allow\n  thresholds: {max_renames: 1}\n", 1)), 0o600)
	mustCLI(t, "--config", cfg, "run")
	db := filepath.Join(filepath.Dir(cfg), "state", "spendsync.db")
	renameInAD(t, cfg, "jan.boele@example.nl", "jan.devries@example.nl", "anna.jansen@example.nl", "anna.bos@example.nl")
	mustCLI(t, "--config", cfg, "ingest")
	before, drop := dbState(t, db), dumpOf(t, filepath.Join(filepath.Dir(cfg), "state", "drop"))
	code, _, stderr := cli(t, "--config", cfg, "export")
	if code != exitSafety || !strings.Contains(stderr, "change the username of 2 accounts, more than thresholds.max_renames 1") {
		t.Fatalf("two renames over max_renames 1: exit %d, want 3\n%s", code, stderr)
	}
	if dbState(t, db) != before || dumpOf(t, filepath.Join(filepath.Dir(cfg), "state", "drop")) != drop {
		t.Fatal("the safety stop changed the state or the drop")
	}
	if code, _, stderr := cli(t, "--config", cfg, "run", "--force"); code != 0 {
		t.Fatalf("run --force: exit %d\n%s", code, stderr)
	}
	out := mustCLI(t, "--config", cfg, "events", "--kind", "account.renamed", "--format", "csv")
	if strings.Count(out, "\n") != 3 || !strings.Contains(out, "rules.username_change: allow") {
		t.Fatalf("account.renamed events:\n%s", out)
	}
}
