//go:build unix

// Package rclonetest starts `rclone serve sftp` on 127.0.0.1 for the
// transport tests: a Go SFTP server (not OpenSSH) over a local folder,
// without posix-rename.
package rclonetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/spendsync/spendsync/internal/sshdtest"
)

// Server is a running rclone serve sftp.
type Server struct {
	Dir        string // keys and logs
	Addr       string // 127.0.0.1:port
	User       string // any name: rclone checks only the key
	KnownHosts string // a known_hosts file trusting the host key
	ClientKey  string // an authorised private key
	Drop       string // the served folder; "/" on the server
}

// Start serves an empty folder; it skips when rclone is not installed,
// unless SPENDSYNC_REQUIRE_SFTP_SERVERS is set.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("rclone")
	if err != nil {
		sshdtest.Optional(t, "rclone (apt-get install rclone)", err)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, User: "spendsync", Drop: filepath.Join(dir, "drop"), Addr: sshdtest.FreeAddr(t)}
	if err := os.Mkdir(s.Drop, 0o700); err != nil {
		t.Fatal(err)
	}
	host, clientKey, client := sshdtest.Keys(t, dir)
	s.ClientKey = clientKey
	if err := os.WriteFile(clientKey+".pub", ssh.MarshalAuthorizedKey(client), 0o600); err != nil {
		t.Fatal(err)
	}
	s.KnownHosts = sshdtest.KnownHosts(t, dir, s.Addr, host)
	cmd := exec.Command(bin, "serve", "sftp", s.Drop, "--addr", s.Addr,
		"--key", filepath.Join(dir, "host_ed25519"), "--authorized-keys", clientKey+".pub",
		// The suite puts files into the folder behind the server's back:
		// do not cache listings.
		"--dir-cache-time", "0s", "--config", filepath.Join(dir, "rclone.conf"), "--log-file", filepath.Join(dir, "rclone.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rclone: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sshdtest.WaitListening(t, s.Addr, filepath.Join(dir, "rclone.log"))
	return s
}
