package sshdtest

import (
	"net/url"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/spendsync/spendsync/internal/testserve/remote"
)

// On Windows there is no sshd to start: the test binary runs under Wine
// and asks internal/testserve, on the Linux side, for a real OpenSSH sshd
// on the shared loopback. The API is the one sshdtest.go offers on Unix.

// Server is a running sshd on the Linux side. Dir, KnownHosts and
// ClientKey are Windows paths (Z:\...); Drop is the server's path, which
// the Windows side also opens as is (a rooted path on drive Z:).
type Server struct {
	Dir        string
	Addr       string
	User       string
	HostKey    ssh.PublicKey
	KnownHosts string
	ClientKey  string
	Drop       string
	t          testing.TB
	r          *remote.Server
}

// Options change the server Start makes, as on Unix.
type Options struct {
	RSAHostKey bool   // an RSA host key besides the ed25519 one
	Config     string // added to sshd_config
}

// Start asks for an sshd; without testserve it skips, or fails where
// SPENDSYNC_REQUIRE_SSHD is set.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	q := url.Values{"config": {o.Config}}
	if o.RSAHostKey {
		q.Set("rsa", "1")
	}
	r := remote.StartWith(t, "sshd", "SPENDSYNC_REQUIRE_SSHD", q)
	return &Server{Dir: remote.Local(r.Dir), Addr: r.Addr, User: r.User, HostKey: parseKey(t, r.HostKey),
		KnownHosts: remote.Local(r.KnownHosts), ClientKey: remote.Local(r.ClientKey), Drop: r.Drop, t: t, r: r}
}

// Restart starts sshd again (after Stop) on the same port with the same keys.
func (s *Server) Restart() { s.r.Do(s.t, "restart", nil, "") }

// Stop kills sshd and every session it spawned, as a crash would.
func (s *Server) Stop() { s.r.Do(s.t, "stop", nil, "") }

// Pause stops sshd and its sessions with SIGSTOP, like a hung server.
func (s *Server) Pause() { s.r.Do(s.t, "pause", nil, "") }

// Resume undoes Pause.
func (s *Server) Resume() { s.r.Do(s.t, "resume", nil, "") }

// RotateHostKey restarts sshd with a new host key and returns it.
func (s *Server) RotateHostKey() ssh.PublicKey {
	s.HostKey = parseKey(s.t, s.r.Do(s.t, "rotate", nil, "").Key)
	return s.HostKey
}

// WriteKey creates another ed25519 key pair under Dir and returns the
// private key's path and the public key.
func (s *Server) WriteKey(name string) (string, ssh.PublicKey) {
	k := s.r.Do(s.t, "writekey", url.Values{"name": {name}}, "")
	return remote.Local(k.Path), parseKey(s.t, k.Key)
}

// Authorize adds a public key to the server's authorized_keys.
func (s *Server) Authorize(pub ssh.PublicKey) {
	s.r.Do(s.t, "authorize", nil, string(ssh.MarshalAuthorizedKey(pub)))
}

// MountSmallDrop mounts a tmpfs of size (such as 64k) as the drop, on
// the Linux side; it is unmounted when the test ends.
func (s *Server) MountSmallDrop(size string) {
	s.r.Do(s.t, "mount", url.Values{"size": {size}}, "")
}

// FillDrop fills the drop with a file "filler" until a write fails.
func (s *Server) FillDrop() { s.r.Do(s.t, "fill", nil, "") }

// EmptyFiller removes what FillDrop wrote.
func (s *Server) EmptyFiller() { s.r.Do(s.t, "unfill", nil, "") }

func parseKey(t testing.TB, line string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatalf("testserve sent a bad key %q: %v", line, err)
	}
	return k
}
