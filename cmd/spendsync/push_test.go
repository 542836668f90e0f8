package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/lifecycle"
)

// sftpDemo is the demo with its target switched to the test sshd.
func sftpDemo(t *testing.T, s *sshdtest.Server, auth string) string {
	t.Helper()
	cfg := demo(t)
	data, _ := os.ReadFile(cfg)
	text := string(data)
	text = text[:strings.Index(text, "target:")]
	_, port, _ := strings.Cut(s.Addr, ":")
	text += fmt.Sprintf("target:\n  sftp:\n    host: 127.0.0.1\n    port: %s\n    user: %s\n    known_hosts: %s\n    remote_dir: %s\n    timeout: 5s\n    retries: 0\n%s",
		port, s.User, s.KnownHosts, s.Drop, auth)
	os.WriteFile(cfg, []byte(text), 0o600)
	return cfg
}

func TestRunEndToEndOverSFTP(t *testing.T) {
	s := sshdtest.Start(t)
	cfg := sftpDemo(t, s, "    key_file: "+s.ClientKey+"\n")
	mustCLI(t, "--config", cfg, "ingest")
	if code, out, _ := cli(t, "--config", cfg, "status", "--max-age", "26h", "--json"); code != exitSafety || !strings.Contains(out, `"stale": true`) {
		t.Fatalf("status before any delivery: exit %d, want 3\n%s", code, out)
	}
	out := mustCLI(t, "--config", cfg, "run")
	if !strings.Contains(out, "exported ") || !strings.Contains(out, "delivered ") {
		t.Fatalf("run said %s", out)
	}
	dir := outDir(t, cfg)
	for _, name := range []string{"persons.csv", "roles.csv"} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, err := os.ReadFile(filepath.Join(s.Drop, name))
		if err != nil || !bytes.Equal(a, b) || len(a) == 0 {
			t.Fatalf("%s in the drop differs from the export (%v)", name, err)
		}
	}
	if entries, _ := os.ReadDir(s.Drop); len(entries) != 2 {
		t.Fatalf("the drop holds %d files, want only the two CSVs", len(entries))
	}
	ok := mustEvents(t, cfg, "delivery.ok")
	if len(ok) != 1 || ok[0].Details["target"] != "sftp://"+s.User+"@"+s.Addr+s.Drop || len(ok[0].Details["files"].([]any)) != 2 {
		t.Fatalf("delivery events %+v", ok)
	}
	if code, _, stderr := cli(t, "--config", cfg, "status", "--max-age", "26h"); code != 0 {
		t.Fatalf("status after delivery: %d %s", code, stderr)
	}
	out = mustCLI(t, "--config", cfg, "push")
	if !strings.Contains(out, "already delivered") || len(mustEvents(t, cfg, "delivery.ok")) != 1 {
		t.Fatalf("second push: %s", out)
	}
	mustCLI(t, "--config", cfg, "push", "--force")
	if ok := mustEvents(t, cfg, "delivery.ok"); len(ok) != 2 || ok[1].Details["forced"] != true {
		t.Fatalf("forced push: %+v", ok)
	}
	os.Remove(filepath.Join(s.Drop, "persons.csv"))
	out = mustCLI(t, "--config", cfg, "push", "--dry-run")
	if !strings.Contains(out, "would deliver") {
		t.Fatalf("dry run: %s", out)
	}
	if _, err := os.Stat(filepath.Join(s.Drop, "persons.csv")); err == nil {
		t.Fatal("push --dry-run uploaded")
	}
}

func TestBlockWithPushRevokesAtOnceAndUnblockRestores(t *testing.T) {
	s := sshdtest.Start(t)
	cfg := sftpDemo(t, s, "    key_file: "+s.ClientKey+"\n")
	mustCLI(t, "--config", cfg, "run")
	if code, _, _ := cli(t, "--config", cfg, "person", "block", "000102"); code != exitUsage {
		t.Fatal("block without --reason was accepted")
	}
	mustCLI(t, "--config", cfg, "person", "block", "000102", "--reason", "left in a hurry; ticket 4711", "--push")
	drop, _ := os.ReadFile(filepath.Join(s.Drop, "persons.csv"))
	if bytes.Contains(drop, []byte(`"000102"`)) {
		t.Fatal("the blocked person is still in the delivered dump")
	}
	blocked := mustEvents(t, cfg, "person.blocked")
	if len(blocked) != 1 || blocked[0].Details["reason"] != "left in a hurry; ticket 4711" || !strings.Contains(blocked[0].Actor, "@") {
		t.Fatalf("block event %+v", blocked)
	}
	if got := eventsOf(t, cfg, "account.remove"); len(got) != 1 || got[0] != "account.remove 000102" {
		t.Fatalf("removals %q", got)
	}
	// A re-ingest keeps the block.
	mustCLI(t, "--config", cfg, "run")
	drop, _ = os.ReadFile(filepath.Join(s.Drop, "persons.csv"))
	if bytes.Contains(drop, []byte(`"000102"`)) {
		t.Fatal("the block did not survive a run")
	}
	mustCLI(t, "--config", cfg, "person", "unblock", "000102", "--push")
	drop, _ = os.ReadFile(filepath.Join(s.Drop, "persons.csv"))
	if !bytes.Contains(drop, []byte(`"000102"`)) || len(mustEvents(t, cfg, "person.unblocked")) != 1 {
		t.Fatal("unblock did not restore the person")
	}
	if code, _, _ := cli(t, "--config", cfg, "person", "block", "999999", "--reason", "x"); code != exitFailed {
		t.Fatal("blocking an unknown person succeeded")
	}
}

func TestUnknownHostKeyFailsPushWithExit1AndTheFingerprint(t *testing.T) {
	s := sshdtest.Start(t)
	cfg := sftpDemo(t, s, "    key_file: "+s.ClientKey+"\n")
	os.WriteFile(s.KnownHosts, nil, 0o600)
	code, _, stderr := cli(t, "--config", cfg, "run")
	if code != exitFailed || !strings.Contains(stderr, "SHA256:") || !strings.Contains(stderr, "spendsync hostkey") {
		t.Fatalf("exit %d %s", code, stderr)
	}
	failed := mustEvents(t, cfg, "delivery.failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Details["error"].(string), "not in known_hosts") {
		t.Fatalf("failed delivery events %+v", failed)
	}
	out := mustCLI(t, "hostkey", s.Addr)
	os.WriteFile(s.KnownHosts, []byte(out), 0o600)
	mustCLI(t, "--config", cfg, "push")
}

func TestPasswordFromEnvironmentNeverAppearsInLogsOrEvents(t *testing.T) {
	s := sshdtest.Start(t)
	const secret = "s3cret-Pa55word-never-logged"
	t.Setenv("SPENDSYNC_TEST_SFTP_PASSWORD", secret)
	cfg := sftpDemo(t, s, "    password_env: SPENDSYNC_TEST_SFTP_PASSWORD\n")
	var all bytes.Buffer
	for _, args := range [][]string{
		{"--config", cfg, "-v", "--log-format", "json", "run"},
		{"--config", cfg, "-v", "--log-format", "text", "push"},
		{"--config", cfg, "-v", "push", "--dry-run"},
		{"--config", cfg, "events", "--format", "json"},
		{"--config", cfg, "status", "--json"},
	} {
		_, out, stderr := cli(t, args...)
		all.WriteString(out + stderr)
	}
	if !strings.Contains(all.String(), "refused user") {
		t.Fatalf("the wrong password was not refused:\n%s", all.String())
	}
	c, _ := loadConfig(cfg)
	for _, f := range []string{c.Database, c.Database + "-wal"} {
		data, _ := os.ReadFile(f)
		all.Write(data)
	}
	if bytes.Contains(all.Bytes(), []byte(secret)) {
		t.Fatal("the password appears in output, logs, events or the database")
	}
	var evs []lifecycle.Event
	json.Unmarshal([]byte(mustCLI(t, "--config", cfg, "events", "--kind", "delivery.", "--format", "json")), &evs)
	if len(evs) != 2 {
		t.Fatalf("want two failed deliveries recorded, got %+v", evs)
	}
}

func TestRunOverAFolderTarget(t *testing.T) {
	cfg := demo(t)
	out := mustCLI(t, "--config", cfg, "run")
	if !strings.Contains(out, "delivered ") {
		t.Fatalf("run: %s", out)
	}
	c, _ := loadConfig(cfg)
	for _, name := range []string{"persons.csv", "roles.csv"} {
		a, _ := os.ReadFile(filepath.Join(c.Export.Dir, name))
		b, _ := os.ReadFile(filepath.Join(c.Target.Dir.Path, name))
		if !bytes.Equal(a, b) || len(a) == 0 {
			t.Fatalf("%s differs in the drop folder", name)
		}
	}
}
