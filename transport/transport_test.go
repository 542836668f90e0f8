package transport_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/transport"
)

func sftpConfig(t *testing.T, s *sshdtest.Server, mod func(*transport.SFTPConfig)) *transport.Config {
	t.Helper()
	return sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, s.Drop, mod)
}

// sftpConfigAt is the target config for any SFTP server on 127.0.0.1.
func sftpConfigAt(t *testing.T, addr, user, key, knownHosts, remoteDir string, mod func(*transport.SFTPConfig)) *transport.Config {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	c := &transport.SFTPConfig{Host: host, User: user, KeyFile: key, KnownHosts: knownHosts, RemoteDir: remoteDir,
		Timeout: 5 * time.Second}
	c.Port = atoi(port)
	zero := 0
	c.Retries = &zero
	if mod != nil {
		mod(c)
	}
	cfg := &transport.Config{SFTP: c}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func open(t *testing.T, cfg *transport.Config) transport.Target {
	t.Helper()
	target, err := transport.Open(cfg, transport.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// files is a set of local files to deliver, each in a folder of its own
// under t's temporary folder, described as push describes an export's.
func files(t *testing.T, n int) []transport.File {
	t.Helper()
	return []transport.File{
		local(t, "roles.csv", bytes.Repeat([]byte("\"r\",\"1\"\r\n"), n)),
		local(t, "persons.csv", bytes.Repeat([]byte("\"p\";\"ü\"\r\n"), n)),
	}
}

// local writes data to a new local file and describes it.
func local(t *testing.T, name string, data []byte) transport.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return transport.File{Name: name, Path: p, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// content is what the local file of f holds.
func content(t *testing.T, f transport.File) []byte {
	t.Helper()
	data, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// suite is what every target must do; it runs over the folder target and
// the real sshd.
func suite(t *testing.T, target transport.Target, drop string) {
	ctx := context.Background()
	t.Run("lands byte-identical files under their final names", func(t *testing.T) {
		want := files(t, 1000)
		got, err := target.Deliver(ctx, "exp-1", want)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range want {
			data, err := os.ReadFile(filepath.Join(drop, f.Name))
			if err != nil || !bytes.Equal(data, content(t, f)) {
				t.Fatalf("%s differs after delivery (%v)", f.Name, err)
			}
			if got[i].Name != f.Name || got[i].Size != f.Size || got[i].SHA256 != f.SHA256 || len(got[i].SHA256) != 64 {
				t.Fatalf("receipt %+v", got[i])
			}
		}
	})
	t.Run("replaces the previous delivery", func(t *testing.T) {
		want := files(t, 10)
		if _, err := target.Deliver(ctx, "exp-2", want); err != nil {
			t.Fatal(err)
		}
		if data, _ := os.ReadFile(filepath.Join(drop, "persons.csv")); !bytes.Equal(data, content(t, want[1])) {
			t.Fatal("old content still in place")
		}
	})
	t.Run("removes leftover temporary files of a failed delivery", func(t *testing.T) {
		for _, name := range []string{".spendsync-persons.csv.old.tmp", ".spendsync-roles.csv.x1.tmp"} {
			os.WriteFile(filepath.Join(drop, name), []byte("half"), 0o600)
		}
		os.WriteFile(filepath.Join(drop, "someone-elses.tmp"), []byte("keep"), 0o600)
		if _, err := target.Deliver(ctx, "exp-3", files(t, 1)); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(drop)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != "persons.csv,roles.csv,someone-elses.tmp" {
			t.Fatalf("drop holds %v", names)
		}
	})
	t.Run("clean removes only our leftovers and delivers nothing", func(t *testing.T) {
		os.WriteFile(filepath.Join(drop, ".spendsync-roles.csv.killed.tmp"), []byte("half"), 0o600)
		before, _ := os.ReadFile(filepath.Join(drop, "persons.csv"))
		removed, err := target.Clean(ctx)
		if err != nil || strings.Join(removed, ",") != ".spendsync-roles.csv.killed.tmp" {
			t.Fatalf("removed %v, %v", removed, err)
		}
		entries, _ := os.ReadDir(drop)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if strings.Join(names, ",") != "persons.csv,roles.csv,someone-elses.tmp" {
			t.Fatalf("drop holds %v", names)
		}
		if after, _ := os.ReadFile(filepath.Join(drop, "persons.csv")); !bytes.Equal(before, after) {
			t.Fatal("clean changed a delivered file")
		}
	})
	t.Run("check succeeds without writing", func(t *testing.T) {
		before, _ := os.ReadDir(drop)
		if err := target.Check(ctx); err != nil {
			t.Fatal(err)
		}
		after, _ := os.ReadDir(drop)
		if len(before) != len(after) {
			t.Fatal("check wrote")
		}
	})
}

func TestFolderTarget(t *testing.T) {
	drop := filepath.Join(t.TempDir(), "drop")
	suite(t, open(t, &transport.Config{Dir: &transport.DirConfig{Path: drop}}), drop)
}

func TestSFTPTarget(t *testing.T) {
	s := sshdtest.Start(t)
	target := open(t, sftpConfig(t, s, nil))
	if !strings.HasPrefix(target.Name(), "sftp://"+s.User+"@127.0.0.1:") {
		t.Fatalf("name %q", target.Name())
	}
	suite(t, target, s.Drop)
}

func TestSFTPRefusesUnknownAndChangedHostKeys(t *testing.T) {
	s := sshdtest.Start(t)
	fp := ssh.FingerprintSHA256(s.HostKey)
	_, otherKey := s.WriteKey("other_host_key")
	cases := []struct{ name, knownHosts, want string }{
		{"empty known_hosts", "", "is not in known_hosts"},
		{"other host only", knownhosts.Line([]string{"[127.0.0.1]:1"}, s.HostKey) + "\n", "is not in known_hosts"},
		{"changed key", knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, otherKey) + "\n", "CHANGED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			os.WriteFile(kh, []byte(tc.knownHosts), 0o600)
			target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KnownHosts = kh; three := 3; c.Retries = &three }))
			start := time.Now()
			_, err := target.Deliver(context.Background(), "x", files(t, 1))
			if !errors.Is(err, transport.ErrHostKey) || !strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), "spendsync hostkey "+s.Addr) {
				t.Fatalf("err = %v", err)
			}
			if time.Since(start) > 900*time.Millisecond {
				t.Fatal("a host key refusal was retried")
			}
			if entries, _ := os.ReadDir(s.Drop); len(entries) != 0 {
				t.Fatal("something was uploaded")
			}
		})
	}
}

func TestSFTPAcceptsHashedKnownHostsAndHostkeyOutput(t *testing.T) {
	s := sshdtest.Start(t)
	hashed := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(hashed, []byte(knownhosts.HashHostname(knownhosts.Normalize(s.Addr))+" "+string(ssh.MarshalAuthorizedKey(s.HostKey))), 0o600)
	if _, err := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KnownHosts = hashed })).Deliver(context.Background(), "h", files(t, 1)); err != nil {
		t.Fatalf("hashed entry: %v", err)
	}
	keys, err := transport.ScanHostKeys(context.Background(), s.Addr, 5*time.Second)
	if err != nil || len(keys) != 1 || keys[0].Fingerprint != ssh.FingerprintSHA256(s.HostKey) || keys[0].Type != "ssh-ed25519" {
		t.Fatalf("scan: %+v %v", keys, err)
	}
	scanned := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(scanned, []byte(keys[0].KnownHosts+"\n"), 0o600)
	if _, err := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KnownHosts = scanned })).Deliver(context.Background(), "s", files(t, 1)); err != nil {
		t.Fatalf("the line hostkey prints is not accepted: %v", err)
	}
}

func TestSFTPRefusesWrongCredentialsWithoutLeakingThem(t *testing.T) {
	s := sshdtest.Start(t)
	wrongKey, _ := s.WriteKey("not_authorised")
	const secret = "correct-horse-battery-staple-4711"
	t.Setenv("SPENDSYNC_TEST_PASSWORD", secret)
	cases := map[string]func(*transport.SFTPConfig){
		"key not authorised": func(c *transport.SFTPConfig) { c.KeyFile = wrongKey },
		"wrong password": func(c *transport.SFTPConfig) {
			c.KeyFile, c.PasswordEnv = "", "SPENDSYNC_TEST_PASSWORD"
		},
		"unknown user": func(c *transport.SFTPConfig) { c.User = "no-such-user-spendsync" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			var logged strings.Builder
			target, err := transport.Open(sftpConfig(t, s, mod), transport.Hooks{Logf: func(msg string, args ...any) {
				logged.WriteString(msg)
				for _, a := range args {
					logged.WriteString(" " + toString(a))
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = target.Deliver(context.Background(), "x", files(t, 1))
			if err == nil || !strings.Contains(err.Error(), "refused user") {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(logged.String(), secret) {
				t.Fatal("the password leaked")
			}
		})
	}
}

func toString(a any) string {
	if s, ok := a.(string); ok {
		return s
	}
	return ""
}

func TestSFTPServerKilledMidUploadLeavesNothingUnderAFinalName(t *testing.T) {
	s := sshdtest.Start(t)
	target := open(t, sftpConfig(t, s, nil))
	old := files(t, 3)
	if _, err := target.Deliver(context.Background(), "old", old); err != nil {
		t.Fatal(err)
	}
	big := files(t, 4<<20) // ~40 MB each: the upload takes long enough to kill it midway
	done := deliverUntilStarted(t, target, s.Drop, "big", big)
	s.Stop()
	if err := <-done; err == nil {
		t.Fatal("delivery succeeded although the server died")
	}
	for _, f := range old {
		if data, _ := os.ReadFile(filepath.Join(s.Drop, f.Name)); !bytes.Equal(data, content(t, f)) {
			t.Fatalf("%s changed under its final name", f.Name)
		}
	}
	s.Restart()
	want := files(t, 5)
	if _, err := target.Deliver(context.Background(), "next", want); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(s.Drop)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("drop holds %v: the leftover temporary file was not removed", names)
	}
}

func TestSFTPRetriesAfterARefusedConnect(t *testing.T) {
	s := sshdtest.Start(t)
	s.Stop()
	target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { three := 3; c.Retries = &three }))
	go func() {
		time.Sleep(700 * time.Millisecond)
		s.Restart()
	}()
	if _, err := target.Deliver(context.Background(), "r", files(t, 1)); err != nil {
		t.Fatalf("no success after retries: %v", err)
	}
	target = open(t, sftpConfig(t, s, nil))
	s.Stop()
	if _, err := target.Deliver(context.Background(), "r", files(t, 1)); err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("without retries: %v", err)
	}
}

// The host key messages say exactly what to do, in spendsync's own words:
// add a line for a new server, replace it for a changed key, name the
// key an administrator would publish, and explain a port-less line.
func TestSFTPHostKeyMessagesSayWhatToDo(t *testing.T) {
	s := sshdtest.StartWith(t, sshdtest.Options{RSAHostKey: true})
	host, port, _ := strings.Cut(s.Addr, ":")
	_, otherKey := s.WriteKey("other_host_key")
	cases := []struct {
		name, knownHosts string
		want             []string
	}{
		{"empty known_hosts names the ed25519 key", "", []string{"the ssh-ed25519 host key of " + s.Addr, "add the line that `spendsync hostkey " + s.Addr + "` prints"}},
		{"a port-less line", knownhosts.Line([]string{host}, s.HostKey) + "\n", []string{"ssh-ed25519", "without a port, which counts for port 22 only: for port " + port + " the line starts with [" + host + "]:" + port}},
		{"a changed key is replaced, not added", knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, otherKey) + "\n", []string{"CHANGED", "replace the line for " + s.Addr}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kh := filepath.Join(t.TempDir(), "known_hosts")
			os.WriteFile(kh, []byte(tc.knownHosts), 0o600)
			target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KnownHosts = kh }))
			_, err := target.Deliver(context.Background(), "x", files(t, 1))
			if !errors.Is(err, transport.ErrHostKey) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "ssh: handshake failed") || strings.Count(err.Error(), "sftp:") != 1 {
				t.Errorf("message is nested:\n%v", err)
			}
		})
	}
}

// A missing known_hosts file is a configuration problem: it fails at once,
// without the retries a network failure gets, and names the command that
// makes it.
func TestSFTPMissingKnownHostsFailsAtOnceNamingHostkey(t *testing.T) {
	s := sshdtest.Start(t)
	missing := filepath.Join(t.TempDir(), "known_hosts")
	target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KnownHosts = missing; three := 3; c.Retries = &three }))
	start := time.Now()
	_, err := target.Deliver(context.Background(), "x", files(t, 1))
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "spendsync hostkey "+s.Addr+" > "+missing) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("a missing known_hosts was retried (%s)", time.Since(start))
	}
}

// deliverUntilStarted starts delivering set in the background and
// returns once the roles file's upload has begun, with the channel the
// delivery's error comes on.
func deliverUntilStarted(t *testing.T, target transport.Target, drop, id string, set []transport.File) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := target.Deliver(context.Background(), id, set)
		done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(filepath.Join(drop, ".spendsync-roles.csv."+id+".tmp")); err == nil && fi.Size() > 0 {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatal("upload never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
