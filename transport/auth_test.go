package transport_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/transport"
)

// writePrivate stores key in OpenSSH format, encrypted when passphrase is set.
func writePrivate(t *testing.T, key crypto.PrivateKey, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id")
	os.WriteFile(p, pem.EncodeToMemory(block), 0o600)
	accesstest.Chmod(t, p, 0o600) // on Windows: a private DACL, as for a real key
	return p
}

func pubOf(t *testing.T, key crypto.Signer) ssh.PublicKey {
	t.Helper()
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestSFTPKeyTypesAndPassphrases(t *testing.T) {
	s := sshdtest.Start(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s.Authorize(pubOf(t, rsaKey))
	s.Authorize(pubOf(t, ecKey))
	const passphrase = "open sesame 4711"
	t.Setenv("SPENDSYNC_TEST_PASSPHRASE", passphrase)
	t.Setenv("SPENDSYNC_TEST_WRONG_PASSPHRASE", "nope")
	cases := []struct {
		name, keyFile, passEnv, wantErr string
	}{
		{"rsa", writePrivate(t, rsaKey, ""), "", ""},
		{"ecdsa", writePrivate(t, ecKey, ""), "", ""},
		{"encrypted rsa with passphrase_env", writePrivate(t, rsaKey, passphrase), "SPENDSYNC_TEST_PASSPHRASE", ""},
		{"encrypted key without passphrase_env", writePrivate(t, ecKey, passphrase), "", "is encrypted; set target.sftp.passphrase_env"},
		{"encrypted key with a wrong passphrase", writePrivate(t, ecKey, passphrase), "SPENDSYNC_TEST_WRONG_PASSPHRASE", "cannot decrypt key_file"},
		{"encrypted key with passphrase_env unset", writePrivate(t, ecKey, passphrase), "SPENDSYNC_TEST_UNSET_PASSPHRASE", "SPENDSYNC_TEST_UNSET_PASSPHRASE (passphrase_env) is not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KeyFile, c.PassphraseEnv = tc.keyFile, tc.passEnv }))
			_, err := target.Deliver(context.Background(), "k", files(t, 1))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), passphrase) {
				t.Fatal("the passphrase leaked into the error")
			}
		})
	}
}

func TestSFTPAgent(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the agent is reached over a Unix socket: Wine 10 has no AF_UNIX (WSAEAFNOSUPPORT), and OpenSSH for Windows's agent listens on a named pipe, which spendsync does not dial (docs/security.md, Windows)")
	}
	s := sshdtest.Start(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s.Authorize(pubOf(t, ecKey))
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: ecKey}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go agent.ServeAgent(keyring, c)
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	target := open(t, sftpConfig(t, s, func(c *transport.SFTPConfig) { c.KeyFile, c.Agent = "", true }))
	if _, err := target.Deliver(context.Background(), "a", files(t, 1)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := target.Deliver(context.Background(), "a", files(t, 1)); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not set") {
		t.Fatalf("without an agent: %v", err)
	}
}
