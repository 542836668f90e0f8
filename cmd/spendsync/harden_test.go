package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/lifecycle"
)

// victimFile is a file someone who can write to spendsync's folders would
// like a run to overwrite or empty.
func victimFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "important")
	if err := os.WriteFile(p, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSymlinksAreRefusedWhereverSpendsyncWrites(t *testing.T) {
	cases := []struct {
		name, link string // link is relative to the state folder
		args       []string
	}{
		{"writer lock", "spendsync.db.lock", []string{"ingest"}},
		{"export file", "out/persons.csv", []string{"export"}},
		{"metrics file", "spendsync.prom", []string{"ingest"}},
		{"drop file", "drop/roles.csv", []string{"push", "--force"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := demo(t)
			text, _ := os.ReadFile(cfg)
			os.WriteFile(cfg, append(text, "metrics: ${SPENDSYNC_DEMO_OUT}/spendsync.prom\n"...), 0o600)
			if code, _, stderr := cli(t, "--config", cfg, "run"); code != 0 {
				t.Fatalf("first run: %d %s", code, stderr)
			}
			state := filepath.Join(filepath.Dir(cfg), "state")
			victim := victimFile(t)
			link := filepath.Join(state, tc.link)
			os.Remove(link)
			accesstest.Symlink(t, victim, link)
			args := append([]string{"--config", cfg}, tc.args...)
			code, _, stderr := cli(t, args...)
			// The path comes from ${SPENDSYNC_DEMO_OUT}, so messages name
			// the variable, not its value.
			shown := "${SPENDSYNC_DEMO_OUT}/" + tc.link
			if code != exitFailed || !strings.Contains(stderr, shown+" is a symbolic link") {
				t.Fatalf("exit %d, want 1 naming the link:\n%s", code, stderr)
			}
			if data, _ := os.ReadFile(victim); string(data) != "keep me" {
				t.Fatalf("the link's target now holds %q", data)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatal("the link itself was replaced")
			}
		})
	}
}

func TestEveryPushAndRunRemovesStaleTempFilesEvenWithNothingNew(t *testing.T) {
	cfg := demo(t)
	state := filepath.Join(filepath.Dir(cfg), "state")
	if code, _, stderr := cli(t, "--config", cfg, "run"); code != 0 {
		t.Fatalf("first run: %d %s", code, stderr)
	}
	for _, args := range [][]string{{"push"}, {"run"}} {
		t.Run(args[0], func(t *testing.T) {
			// What a push --force or export killed with SIGKILL leaves behind.
			stale := []string{filepath.Join(state, "drop", ".spendsync-roles.csv.20261124T101010Z-7.tmp"),
				filepath.Join(state, "out", ".spendsync-persons.csv.123456.tmp")}
			for _, p := range stale {
				os.WriteFile(p, []byte("half"), 0o600)
			}
			code, stdout, stderr := cli(t, append([]string{"--config", cfg}, args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if args[0] == "push" && !strings.Contains(stdout, "already delivered") {
				t.Fatalf("push delivered again: %s", stdout)
			}
			for _, p := range stale {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s is still there", p)
				}
			}
		})
	}
}

func TestLooseModesAreWarnedAboutAtTheStartOfEveryCommand(t *testing.T) {
	cfg := demo(t)
	if code, _, stderr := cli(t, "--config", cfg, "run"); code != 0 {
		t.Fatalf("first run: %d %s", code, stderr)
	}
	state := filepath.Join(filepath.Dir(cfg), "state")
	db, out := filepath.Join(state, "spendsync.db"), filepath.Join(state, "out")
	warnings := []string{"other users can change the config file", "other users can read the database", "other users can read the export folder"}
	for _, args := range [][]string{{"status"}, {"events"}, {"ingest"}} {
		t.Run(args[0]+" quiet when private", func(t *testing.T) {
			_, _, stderr := cli(t, append([]string{"--config", cfg}, args...)...)
			for _, w := range warnings {
				if strings.Contains(stderr, w) {
					t.Fatalf("warned %q about private files:\n%s", w, stderr)
				}
			}
		})
	}
	accesstest.Chmod(t, cfg, 0o666)
	accesstest.Chmod(t, db, 0o644)
	accesstest.Chmod(t, out, 0o755)
	for _, args := range [][]string{{"status"}, {"events"}, {"ingest"}} {
		t.Run(args[0]+" warns", func(t *testing.T) {
			_, _, stderr := cli(t, append([]string{"--config", cfg}, args...)...)
			for _, w := range warnings {
				if !strings.Contains(stderr, w) {
					t.Fatalf("no warning %q:\n%s", w, stderr)
				}
			}
			// The database's path comes from ${SPENDSYNC_DEMO_OUT}: logs
			// name the variable, not its value.
			mode, fix := `"mode":"0644"`, "chmod 600 ${SPENDSYNC_DEMO_OUT}/spendsync.db"
			if runtime.GOOS == "windows" { // the DACL, and icacls
				mode, fix = `"access":"Everyone (read)"`, `spendsync.db\" /inheritance:r /grant:r`
			}
			if !strings.Contains(stderr, mode) || !strings.Contains(stderr, fix) {
				t.Fatalf("the warning does not give the mode and the fix:\n%s", stderr)
			}
		})
	}
}

func TestAKeyFileOthersCanReadIsExit1NamingFileAndMode(t *testing.T) {
	dir := t.TempDir()
	key, kh := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts")
	os.WriteFile(key, []byte("not even a key"), 0o644)
	accesstest.Chmod(t, key, 0o644)
	os.WriteFile(kh, nil, 0o600)
	cfg := filepath.Join(dir, "spendsync.yaml")
	os.WriteFile(cfg, []byte("database: db/spendsync.db\nsources: []\ntarget:\n  sftp: {host: 127.0.0.1, port: 1, user: u, key_file: id_ed25519, known_hosts: known_hosts}\n"), 0o600)
	st, err := lifecycle.Open(filepath.Join(dir, "db", "spendsync.db"), lifecycle.Create)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, _, stderr := cli(t, "--config", cfg, "push", "--dry-run")
	want := key + " has mode 0644"
	if runtime.GOOS == "windows" {
		want = key + " is open to Everyone"
	}
	if code != exitFailed || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, want 1 naming %s and its mode:\n%s", code, key, stderr)
	}
}
