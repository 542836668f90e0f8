//go:build unix

package main

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// binRun is one run of the built binary: its exit code, output and how
// long it took.
type binRun struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// runBin runs the binary in dir (the demo's folder) and kills it after
// limit, failing the test: every case here must end by itself.
func runBin(t *testing.T, bin, dir string, limit time.Duration, args ...string) binRun {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SPENDSYNC_DEMO_OUT="+filepath.Join(dir, "state"), "SPENDSYNC_CONFIG=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	stopped := !timer.Stop()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if stopped {
		t.Fatalf("%v still running after %v, killed:\n%s", args, limit, tail(errOut.String()))
	}
	return binRun{cmd.ProcessState.ExitCode(), out.String(), errOut.String(), time.Since(start)}
}

// noPanic fails when stderr shows a Go crash.
func noPanic(t *testing.T, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "fatal error") {
		t.Fatalf("crashed:\n%s", tail(stderr))
	}
}

// editConfig replaces old by new in the demo config of dir.
func editConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	cfg := filepath.Join(dir, "spendsync.yaml")
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), old) {
		t.Fatalf("the demo config has no %q", old)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(text), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigLargerThan1MiBIsExit2NamingFileAndLimit(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	// A valid start, then 2 MiB of comment: parsed whole, it would load.
	text := "database: db/spendsync.db\nsources: []\n" + strings.Repeat("# padding padding padding padding\n", 2<<20/34+1)
	if err := os.WriteFile(big, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"2 MiB file": big, "/dev/zero": "/dev/zero"} {
		t.Run(name, func(t *testing.T) {
			r := runBin(t, bin, dir, 10*time.Second, "--config", path, "status")
			noPanic(t, r.stderr)
			if r.code != exitUsage || !strings.Contains(r.stderr, "config "+path+": is larger than 1048576 bytes (1 MiB)") {
				t.Fatalf("exit %d, want 2 naming %s and the limit:\n%s", r.code, path, tail(r.stderr))
			}
			if r.took > 5*time.Second {
				t.Fatalf("took %v", r.took)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "db")); err == nil {
		t.Fatal("a refused config made a database folder")
	}
}

func TestExportFileNamesSpendsyncUsesItselfAreExit2NamingTheKey(t *testing.T) {
	bin := buildBinary(t)
	cases := []struct{ name, yaml, key string }{
		{"persons is the manifest", "  persons: {file: export.json}\n", "export.persons.file"},
		{"roles is the manifest in capitals", "  roles: {file: Export.JSON}\n", "export.roles.file"},
		{"persons is a temp-file name", "  persons: {file: .spendsync-x.tmp}\n", "export.persons.file"},
		{"roles starts like a temp file", "  roles: {file: .spendsync-roles.csv}\n", "export.roles.file"},
		{"persons is the history folder", "  persons: {file: history}\n", "export.persons.file"},
		{"persons is a path", "  persons: {file: sub/persons.csv}\n", "export.persons.file"},
		{"persons is a Windows path", "  persons: {file: 'sub\\persons.csv'}\n", "export.persons.file"},
		{"roles equals persons but for case", "  persons: {file: persons.csv}\n  roles: {file: PERSONS.csv}\n", "export.roles.file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Dir(demo(t))
			editConfig(t, dir, "export:\n", "export:\n"+tc.yaml)
			r := runBin(t, bin, dir, 20*time.Second, "--config", "spendsync.yaml", "run")
			noPanic(t, r.stderr)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.key+": ") {
				t.Fatalf("exit %d, want 2 naming %s:\n%s", r.code, tc.key, tail(r.stderr))
			}
			if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
				t.Fatal("a refused config left a state folder")
			}
		})
	}
}

func TestConfigValuesInMessagesCannotColourTheTerminalOrForgeALogLine(t *testing.T) {
	bin := buildBinary(t)
	evil := `\e[31m\nlevel=ERROR msg=forged\r\n{\"level\":\"ERROR\"}`
	cases := []struct {
		name, old, new string
		args           []string
		code           int
	}{
		{"a missing persons file", "persons: hr/medewerkers.csv", `persons: "hr/none` + evil + `.csv"`, []string{"ingest"}, exitFailed},
		{"a missing lookup file", "    provides: [username, email]\n",
			"    provides: [username, email]\n    lookups:\n      - {file: \"ad/ou" + evil + ".csv\", key: {employee_number: x}, fill: {email: y}}\n", []string{"ingest"}, exitFailed},
		{"an unknown export field", "export:\n", "export:\n  persons: {columns: [{externalId: \"nope" + evil + "\"}]}\n", []string{"run"}, exitUsage},
		{"an unknown gender_map key", "rules:\n", "rules:\n  gender_map: {\"X" + evil + "\": Q}\n", []string{"run"}, exitUsage},
		{"an unknown name_style", "rules:\n", "rules:\n  name_style: \"x" + evil + "\"\n", []string{"run"}, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Dir(demo(t))
			editConfig(t, dir, tc.old, tc.new)
			r := runBin(t, bin, dir, 20*time.Second, append([]string{"--config", "spendsync.yaml"}, tc.args...)...)
			noPanic(t, r.stderr)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", r.code, tc.code, tail(r.stderr))
			}
			if strings.ContainsAny(r.stderr, "\x1b\r") {
				t.Fatalf("stderr holds a raw ESC or CR:\n%q", r.stderr)
			}
			for _, line := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(line, "level=") || strings.HasPrefix(line, `{"level":"ERROR"`) {
					t.Fatalf("a forged line on stderr: %q\n%q", line, r.stderr)
				}
			}
			if !strings.Contains(r.stderr, `\x1b[31m\nlevel=ERROR`) {
				t.Fatalf("the message does not show the value escaped:\n%q", r.stderr)
			}
		})
	}
}

func TestCRLFInsideAQuotedNameReachesTheDatabaseAndTheExportVerbatim(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Dir(demo(t))
	persons := filepath.Join(dir, "hr", "medewerkers.csv")
	data, _ := os.ReadFile(persons)
	data = bytes.Replace(data, []byte("000102;Anna;"), []byte("000102;\"Anna\r\nMaria\";"), 1)
	os.WriteFile(persons, data, 0o600)
	if r := runBin(t, bin, dir, 60*time.Second, "--config", "spendsync.yaml", "run"); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, tail(r.stderr))
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "state", "spendsync.db")+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var first string
	if err := db.QueryRow(`SELECT first_name FROM persons WHERE employee_number = '000102'`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if first != "Anna\r\nMaria" {
		t.Fatalf("stored %q, want %q", first, "Anna\r\nMaria")
	}
	for _, f := range []string{"out/persons.csv", "drop/persons.csv"} {
		out, err := os.ReadFile(filepath.Join(dir, "state", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("\"000102\";\"Anna\r\nMaria\";")) {
			t.Fatalf("%s does not hold the name verbatim:\n%q", f, out)
		}
	}
	r := runBin(t, bin, dir, 20*time.Second, "--config", "spendsync.yaml", "person", "show", "000102", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `Anna\r\nMaria`) {
		t.Fatalf("person show: exit %d\n%s%s", r.code, r.stdout, tail(r.stderr))
	}
}
