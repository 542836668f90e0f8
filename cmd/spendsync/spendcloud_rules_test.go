package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// appendTo adds lines to a demo file.
func appendTo(t *testing.T, cfg, rel, lines string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(cfg), rel)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, lines...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// removeLines drops the lines of a demo file that start with prefix.
func removeLines(t *testing.T, cfg, rel, prefix string) {
	t.Helper()
	path := filepath.Join(filepath.Dir(cfg), rel)
	data, _ := os.ReadFile(path)
	var keep []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(strings.TrimPrefix(l, "\ufeff"), prefix) {
			keep = append(keep, l)
		}
	}
	os.WriteFile(path, []byte(strings.Join(keep, "")), 0o600)
}

// Spend Cloud refuses an email a deactivated employee still holds: a joiner
// who gets a leaver's address is held, naming the leaver, until allowed.
func TestAJoinerWithARemovedEmployeesEmailIsHeld(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		exit     int
		exported bool
		event    string
	}{
		{"", exitRejected, false, "export.held"}, // the default: hold
		{"warn", 0, true, "export.email_reused"},
		{"allow", 0, true, ""},
	} {
		t.Run("email_reuse "+tc.policy, func(t *testing.T) {
			cfg := demo(t)
			extra := "  thresholds: {max_removal_percent: 0}\n"
			if tc.policy != "" {
				extra += "  email_reuse: " + tc.policy + "\n"
			}
			text, _ := os.ReadFile(cfg)
			os.WriteFile(cfg, []byte(strings.Replace(string(text), "rules:\n", "rules:\n"+extra, 1)), 0o600)
			mustCLI(t, "--config", cfg, "run")
			// 000102 leaves; a week later 000199 joins with her address.
			removeLines(t, cfg, "hr/medewerkers.csv", "000102;")
			removeLines(t, cfg, "hr/dienstverbanden.csv", "000102;")
			removeLines(t, cfg, "ad/users.csv", "000102,")
			mustCLI(t, "--config", cfg, "run")
			appendTo(t, cfg, "hr/medewerkers.csv", "000199;Nina;;Nieuw;;;0;V;anna.jansen@example.nl;nnieuw@example.nl\n")
			appendTo(t, cfg, "hr/dienstverbanden.csv", "000199;199-1;01-01-2020;;HR;Personeelszaken;HRA;HR-adviseur\n")
			appendTo(t, cfg, "ad/users.csv", "000199,nnieuw,anna.jansen@example.nl,nina.nieuw@example.nl\n")
			code, _, stderr := cli(t, "--config", cfg, "run")
			if code != tc.exit {
				t.Fatalf("run: exit %d, want %d\n%s", code, tc.exit, stderr)
			}
			persons, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "state", "drop", "persons.csv"))
			if strings.Contains(string(persons), `"000199"`) != tc.exported {
				t.Fatalf("000199 exported: %v, want %v:\n%s", !tc.exported, tc.exported, persons)
			}
			if tc.event == "" {
				return
			}
			out := mustCLI(t, "--config", cfg, "events", "--kind", tc.event, "--employee", "000199", "--format", "csv")
			if !strings.Contains(out, `""earlier_employee"":""000102""`) {
				t.Fatalf("%s does not name the earlier employee:\n%s", tc.event, out)
			}
		})
	}
}

// An employee without a role cannot log in to Spend Cloud: counted and
// warned about by default, kept out with require_role: hold.
func TestPersonsWithoutARoleAreCountedOrHeld(t *testing.T) {
	for _, policy := range []string{"warn", "hold"} {
		t.Run(policy, func(t *testing.T) {
			cfg := demo(t)
			// Only controllers get a role profile.
			appendTo(t, cfg, "spendsync.yaml", "")
			text, _ := os.ReadFile(cfg)
			text = []byte(strings.Replace(string(text), "export:\n", "export:\n  require_role: "+policy+"\n  role_map:\n    - {function_code: [CTRL], role: CONTROLLER}\n", 1))
			os.WriteFile(cfg, text, 0o600)
			code, stdout, stderr := cli(t, "--config", cfg, "run")
			if code != 0 {
				t.Fatalf("run: exit %d\n%s%s", code, stdout, stderr)
			}
			persons, _ := os.ReadFile(filepath.Join(filepath.Dir(cfg), "state", "drop", "persons.csv"))
			n := strings.Count(string(persons), "\n") - 1
			if policy == "warn" {
				if !strings.Contains(stdout, "without a role") || !strings.Contains(stderr, "cannot log in") || n < 5 {
					t.Fatalf("warn: %d persons exported\n%s%s", n, stdout, stderr)
				}
				if _, out, _ := cli(t, "--config", cfg, "status", "--json"); !strings.Contains(out, `"without_role": `) || strings.Contains(out, `"without_role": 0`) {
					t.Fatalf("status --json lacks without_role:\n%s", out)
				}
				return
			}
			if strings.Contains(stdout, "without a role") || n != 1 {
				t.Fatalf("hold: %d persons exported, want only the controller\n%s", n, persons)
			}
		})
	}
}
