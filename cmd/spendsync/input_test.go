//go:build unix

// Unix only: FIFOs, /dev/zero, sparse files and SIGTERM, which Windows
// does not have (a named pipe is not a file path a config names).

package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// demoIngested is a demo folder after a first ingest, with its state as
// text (dbState) to compare after a failure.
func demoIngested(t *testing.T, bin string) (dir, state string) {
	t.Helper()
	dir = filepath.Dir(demo(t))
	if r := runBin(t, bin, dir, 60*time.Second, "--config", "spendsync.yaml", "ingest"); r.code != 0 {
		t.Fatalf("first ingest: exit %d\n%s", r.code, tail(r.stderr))
	}
	return dir, dbState(t, filepath.Join(dir, "state", "spendsync.db"))
}

// noCopyLeft fails when a source copy is left beside the database.
func noCopyLeft(t *testing.T, dir string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(dir, "state", ".spendsync-*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// openFDs lists what pid holds open, by link target.
func openFDs(pid int) map[string]string {
	out := map[string]string{}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil {
			out[target] = fd
		}
	}
	return out
}

func TestAPipeAsSourceIsCopiedOnceAndReadsAsTheFileWould(t *testing.T) {
	bin := buildBinary(t)
	regular, _ := demoIngested(t, bin)
	want := dbState(t, filepath.Join(regular, "state", "spendsync.db"))

	dir := filepath.Dir(demo(t))
	persons := filepath.Join(dir, "hr", "medewerkers.csv")
	data, _ := os.ReadFile(persons)
	os.Remove(persons)
	if err := syscall.Mkfifo(persons, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", "spendsync.yaml", "ingest")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SPENDSYNC_DEMO_OUT="+filepath.Join(dir, "state"), "SPENDSYNC_CONFIG=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	w, err := os.OpenFile(persons, os.O_WRONLY, 0) // waits for the reader
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	w.Write(data[:half])
	// While the pipe is open, the copy is a 0600 file in the database's
	// folder that is already gone from the folder.
	var copyMode os.FileMode
	var copyPath string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && copyPath == ""; time.Sleep(20 * time.Millisecond) {
		for target, fd := range openFDs(cmd.Process.Pid) {
			if strings.Contains(target, ".spendsync-source-") {
				fi, err := os.Stat(fd)
				if err == nil && fi.Size() == int64(half) {
					copyPath, copyMode = target, fi.Mode().Perm()
				}
			}
		}
	}
	w.Write(data[half:])
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the ingest of a pipe did not end")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(stderr.String()))
	}
	if !strings.HasPrefix(copyPath, filepath.Join(dir, "state", ".spendsync-source-")) || !strings.HasSuffix(copyPath, "(deleted)") || copyMode != 0o600 {
		t.Fatalf("the copy was %q, mode %v; want a removed 0600 file beside the database", copyPath, copyMode)
	}
	// The two ingests may fall in different seconds: their persons'
	// updated times are not compared.
	stamp := regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"`)
	if got := dbState(t, filepath.Join(dir, "state", "spendsync.db")); stamp.ReplaceAllString(got, "T") != stamp.ReplaceAllString(want, "T") {
		t.Fatalf("a pipe stored other rows than the file:\n%s\nwant\n%s", got, want)
	}
	noCopyLeft(t, dir)
}

func TestADeviceAsSourceEndsAtMaxSizeAndChangesNothing(t *testing.T) {
	bin := buildBinary(t)
	dir, before := demoIngested(t, bin)
	editConfig(t, dir, "    persons: hr/medewerkers.csv\n", "    persons: /dev/zero\n    max_size: 1048576\n")
	r := runBin(t, bin, dir, 20*time.Second, "--config", "spendsync.yaml", "ingest")
	noPanic(t, r.stderr)
	if r.code != exitFailed || !strings.Contains(r.stderr, "persons: /dev/zero: is not a regular file and holds more than sources.max_size (1048576 bytes)") {
		t.Fatalf("exit %d, want 1 naming /dev/zero and max_size:\n%s", r.code, tail(r.stderr))
	}
	if r.took > 5*time.Second {
		t.Fatalf("took %v", r.took)
	}
	if got := dbState(t, filepath.Join(dir, "state", "spendsync.db")); got != before {
		t.Fatal("the stored state changed")
	}
	noCopyLeft(t, dir)
	// A regular file larger than max_size is refused before it is read.
	editConfig(t, dir, "    persons: /dev/zero\n    max_size: 1048576\n", "    persons: hr/medewerkers.csv\n    max_size: 100\n")
	r = runBin(t, bin, dir, 20*time.Second, "--config", "spendsync.yaml", "ingest")
	if r.code != exitFailed || !strings.Contains(r.stderr, "medewerkers.csv: is ") || !strings.Contains(r.stderr, "bytes, more than sources.max_size (100 bytes)") {
		t.Fatalf("exit %d, want 1 naming the file and max_size:\n%s", r.code, tail(r.stderr))
	}
	if got := dbState(t, filepath.Join(dir, "state", "spendsync.db")); got != before {
		t.Fatal("the stored state changed")
	}
}

// A source that never ends by itself (a pipe nobody writes, a 64 GB file
// the digest reads) stops within 5 s of SIGTERM, releases the lock and
// leaves the state and the folder as they were; a second SIGTERM ends it
// at once.
func TestSIGTERMStopsTheReadingOfASourceThatNeverEnds(t *testing.T) {
	bin := buildBinary(t)
	cases := []struct {
		name    string
		setup   func(t *testing.T, dir, persons string)
		signals int
	}{
		{"a pipe with no writer", func(t *testing.T, dir, persons string) {
			if err := syscall.Mkfifo(persons, 0o600); err != nil {
				t.Fatal(err)
			}
		}, 1},
		{"a 64 GB sparse file", func(t *testing.T, dir, persons string) {
			if err := exec.Command("truncate", "-s", "64G", persons).Run(); err != nil {
				t.Skip("truncate:", err)
			}
			editConfig(t, dir, "    persons: hr/medewerkers.csv\n", "    persons: hr/medewerkers.csv\n    max_size: 107374182400\n")
		}, 1},
		{"a 64 GB sparse file, two signals", func(t *testing.T, dir, persons string) {
			if err := exec.Command("truncate", "-s", "64G", persons).Run(); err != nil {
				t.Skip("truncate:", err)
			}
			editConfig(t, dir, "    persons: hr/medewerkers.csv\n", "    persons: hr/medewerkers.csv\n    max_size: 107374182400\n")
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, before := demoIngested(t, bin)
			persons := filepath.Join(dir, "hr", "medewerkers.csv")
			saved, _ := os.ReadFile(persons)
			os.Remove(persons)
			tc.setup(t, dir, persons)
			cmd := exec.Command(bin, "--config", "spendsync.yaml", "ingest")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "SPENDSYNC_DEMO_OUT="+filepath.Join(dir, "state"), "SPENDSYNC_CONFIG=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
				t.Fatalf("ended by itself: exit %d\n%s", cmd.ProcessState.ExitCode(), tail(stderr.String()))
			case <-time.After(time.Second):
			}
			sent := time.Now()
			for range tc.signals {
				cmd.Process.Signal(syscall.SIGTERM)
				time.Sleep(10 * time.Millisecond)
			}
			limit := 5 * time.Second
			if tc.signals > 1 {
				limit = time.Second
			}
			select {
			case <-exited:
			case <-time.After(limit):
				t.Fatalf("still running %v after SIGTERM", limit)
			}
			took := time.Since(sent)
			noPanic(t, stderr.String())
			if code := cmd.ProcessState.ExitCode(); code != exitFailed || !strings.Contains(stderr.String(), "signal") {
				t.Fatalf("exit %d after %v, want 1 saying a signal stopped it:\n%s", code, took, tail(stderr.String()))
			}
			noCopyLeft(t, dir)
			if got := dbState(t, filepath.Join(dir, "state", "spendsync.db")); got != before {
				t.Fatal("the stored state changed")
			}
			// The lock went with the process: the next command runs.
			os.Remove(persons)
			os.WriteFile(persons, saved, 0o600)
			if r := runBin(t, bin, dir, 60*time.Second, "--config", "spendsync.yaml", "ingest"); r.code != 0 {
				t.Fatalf("the next ingest: exit %d\n%s", r.code, tail(r.stderr))
			}
			if got := dbState(t, filepath.Join(dir, "state", "spendsync.db")); got != before {
				t.Fatal("the next ingest of the same file changed the state")
			}
		})
	}
}

// The first signal ends the context (every phase then stops by itself);
// the second exits at once, with the exit code of a stopped run.
func TestASecondSignalExitsAtOnce(t *testing.T) {
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	ctx, stop := notifySignals(context.Background(), &stderr, func(code int) { exited <- code })
	defer stop()
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first SIGTERM did not end the context")
	}
	select {
	case code := <-exited:
		t.Fatalf("the first signal exited (%d)", code)
	case <-time.After(100 * time.Millisecond):
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exited:
		if code != exitFailed || !strings.Contains(stderr.String(), "second signal") {
			t.Fatalf("exit %d, %q", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second SIGTERM did not exit")
	}
}

// A date_format that does not fit the files is a configuration error
// naming the key and the layout that fits, not every contract row
// rejected one by one (exit 5) with the persons joined without their
// contracts; it changes nothing. A few bad dates among good ones stay
// rejects.
func TestAWrongDateFormatIsAConfigErrorNamingTheLayoutThatFits(t *testing.T) {
	t.Run("first ingest", func(t *testing.T) {
		cfg := demo(t)
		editConfig(t, filepath.Dir(cfg), `    date_format: "02-01-2006"`+"\n", "")
		code, out, stderr := cli(t, "--config", cfg, "ingest")
		if code != exitUsage || !strings.Contains(stderr, "sources[0].date_format") || !strings.Contains(stderr, `they all fit "02-01-2006"`) ||
			!strings.Contains(stderr, "dienstverbanden.csv") {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
		if evs := mustEvents(t, cfg, "person.joined"); len(evs) != 0 {
			t.Fatalf("%d persons joined from files read with the wrong date format", len(evs))
		}
	})
	t.Run("later ingest changes nothing", func(t *testing.T) {
		cfg := demo(t)
		dir := filepath.Dir(cfg)
		mustCLI(t, "--config", cfg, "ingest")
		mustCLI(t, "--config", cfg, "export", "--date", "2026-11-23")
		db := filepath.Join(dir, "state", "spendsync.db")
		before, files := dbState(t, db), checksums(t, filepath.Join(dir, "state", "out"))
		events := mustCLI(t, "--config", cfg, "events", "--format", "json")
		editConfig(t, dir, `    date_format: "02-01-2006"`+"\n", "")
		code, out, stderr := cli(t, "--config", cfg, "ingest")
		if code != exitUsage || !strings.Contains(stderr, "sources[0].date_format") || !strings.Contains(stderr, `"02-01-2006"`) {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
		if dbState(t, db) != before || checksums(t, filepath.Join(dir, "state", "out")) != files ||
			mustCLI(t, "--config", cfg, "events", "--format", "json") != events {
			t.Fatal("a refused ingest changed the state")
		}
		if left, _ := filepath.Glob(db + ".stage-*"); len(left) > 0 {
			t.Fatalf("a refused ingest left %v", left)
		}
		if rejects := mustCLI(t, "--config", cfg, "rejects", "--format", "json"); strings.Contains(rejects, "does not match") {
			t.Fatalf("rejects recorded for a config error: %s", rejects)
		}
	})
	t.Run("a few bad dates stay rejects", func(t *testing.T) {
		cfg := demo(t)
		contracts := filepath.Join(filepath.Dir(cfg), "hr", "dienstverbanden.csv")
		// Even dates a common layout fits are rejects when they are few.
		edit(t, contracts, "000102;102-1;15-03-2018;", "000102;102-1;20180315;")
		edit(t, contracts, "000103;103-1;01-09-2019;", "000103;103-1;1-9-19;")
		code, out, stderr := cli(t, "--config", cfg, "ingest")
		if code != exitRejected || !strings.Contains(out, "2 rejected") || strings.Contains(stderr, "date_format:") {
			t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
		}
	})
}
