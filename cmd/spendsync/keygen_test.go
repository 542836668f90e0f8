package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/sshdtest"
)

// Spend Cloud's SCP upload takes an RSA key: keygen makes one, and a push
// with it works against an sshd that, like a hardened server, accepts only
// rsa-sha2-256/512 signatures, never SHA-1 ssh-rsa.
func TestKeygenMakesAnRSAKeyThatPushesWithSHA2Signatures(t *testing.T) {
	s := sshdtest.StartWith(t, sshdtest.Options{Config: "PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256"})
	key := filepath.Join(t.TempDir(), "id_rsa")
	code, out, stderr := cli(t, "keygen", key, "--bits", "3072")
	if code != 0 || !strings.HasPrefix(out, "ssh-rsa ") || !strings.Contains(stderr, "Application Management > General > SCP") {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, stderr)
	}
	for _, p := range []string{key, key + ".pub"} {
		if perm := accesstest.Perm(t, p); perm != 0o600 {
			t.Fatalf("%s is %v, want 0600", p, perm)
		}
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(out))
	if err != nil || pub.Type() != ssh.KeyAlgoRSA {
		t.Fatalf("printed line: %v %q", err, out)
	}
	if data, _ := os.ReadFile(key + ".pub"); strings.TrimSpace(string(data)) != strings.TrimSpace(out) {
		t.Fatal("the printed line is not the .pub file")
	}
	s.Authorize(pub)
	cfg := sftpDemo(t, s, "    key_file: "+key+"\n")
	if code, _, stderr := cli(t, "--config", cfg, "run"); code != 0 {
		t.Fatalf("run with the RSA key: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(s.Drop, "persons.csv")); err != nil {
		t.Fatal("nothing delivered")
	}
	// It never overwrites a key.
	before, _ := os.ReadFile(key)
	if code, _, stderr := cli(t, "keygen", key); code != exitUsage || !strings.Contains(stderr, "does not overwrite") {
		t.Fatalf("second keygen: exit %d %s", code, stderr)
	}
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Fatal("the key was overwritten")
	}
	if code, _, _ := cli(t, "keygen", filepath.Join(t.TempDir(), "k"), "--bits", "1024"); code != exitUsage {
		t.Fatal("a 1024-bit RSA key was made")
	}
}

func TestKeygenMakesAnEd25519KeyOnRequest(t *testing.T) {
	key := filepath.Join(t.TempDir(), "id_ed25519")
	code, out, _ := cli(t, "keygen", key, "--type", "ed25519")
	if code != 0 || !strings.HasPrefix(out, "ssh-ed25519 ") {
		t.Fatalf("keygen --type ed25519: exit %d %s", code, out)
	}
}
