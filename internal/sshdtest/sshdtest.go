//go:build unix

// Package sshdtest starts a real OpenSSH sshd on 127.0.0.1 with the
// internal-sftp subsystem, for transport tests. No fake server stands in:
// what spendsync must survive is OpenSSH's behaviour.
package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// Binary is where Debian's openssh-server puts sshd.
const Binary = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Dir        string        // config, keys and logs
	Addr       string        // 127.0.0.1:port
	User       string        // the user to log in as (the current one)
	HostKey    ssh.PublicKey // the server's key
	KnownHosts string        // a known_hosts file trusting HostKey
	ClientKey  string        // an authorised private key (OpenSSH PEM, no passphrase)
	Drop       string        // an empty folder to deliver into
	t          testing.TB
	cmd        *exec.Cmd
}

// Options change the server Start makes.
type Options struct {
	// RSAHostKey gives the server an RSA host key besides its ed25519 one
	// (offered too; known_hosts trusts only the ed25519 key).
	RSAHostKey bool
	// Config is added to sshd_config, e.g. "PubkeyAcceptedAlgorithms
	// rsa-sha2-512,rsa-sha2-256".
	Config string
}

// Start starts sshd or skips the test when sshd is not installed, unless
// SPENDSYNC_REQUIRE_SSHD is set (CI), where a missing sshd fails it.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		if os.Getenv("SPENDSYNC_REQUIRE_SSHD") != "" {
			t.Fatalf("%s is required (apt-get install openssh-server): %v", Binary, err)
		}
		slowtest.SkipMissing(t, Binary+" (apt-get install openssh-server)")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, User: u.Username, Drop: filepath.Join(dir, "drop"), t: t}
	if err := os.Mkdir(s.Drop, 0o700); err != nil {
		t.Fatal(err)
	}
	hostPub := s.writeKey("host_ed25519")
	s.HostKey = hostPub
	clientPub := s.writeKey("client_ed25519")
	s.ClientKey = filepath.Join(dir, "client_ed25519")
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600); err != nil {
		t.Fatal(err)
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, hostPub) + "\n"
	if err := os.WriteFile(s.KnownHosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	config := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
Subsystem sftp internal-sftp
LogLevel ERROR
`, port, filepath.Join(dir, "host_ed25519"), filepath.Join(dir, "sshd.pid"), filepath.Join(dir, "authorized_keys"))
	if o.RSAHostKey {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(key, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "host_rsa"), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		// First, so a client that asks for no type in particular gets it.
		config = strings.Replace(config, "HostKey ", "HostKey "+filepath.Join(dir, "host_rsa")+"\nHostKey ", 1)
	}
	config += o.Config + "\n"
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("/run/sshd", 0o755) // privilege separation folder; exists where sshd is set up
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts sshd again (after Stop) on the same port with the same keys.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(Binary, "-D", "-e", "-f", filepath.Join(s.Dir, "sshd_config"))
	logf, err := os.OpenFile(filepath.Join(s.Dir, "sshd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Its own process group, so Stop also kills the per-connection children.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start sshd: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
			s.t.Fatalf("sshd did not listen on %s: %v\n%s", s.Addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills sshd and every session it spawned, as a crash would.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// Session children call setsid, so the process group is not enough:
	// kill every descendant, then the listener.
	for _, pid := range descendants(s.cmd.Process.Pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		var state string
		var ppid int
		fmt.Sscan(rest, &state, &ppid)
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// Pause stops sshd and its sessions with SIGSTOP: connections stay open
// but nothing answers, like a hung server.
func (s *Server) Pause() { s.signalAll(syscall.SIGSTOP) }

// Resume undoes Pause.
func (s *Server) Resume() { s.signalAll(syscall.SIGCONT) }

func (s *Server) signalAll(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	syscall.Kill(s.cmd.Process.Pid, sig)
	for _, pid := range descendants(s.cmd.Process.Pid) {
		syscall.Kill(pid, sig)
	}
}

// RotateHostKey restarts sshd with a new host key and returns it;
// KnownHosts still names the old one.
func (s *Server) RotateHostKey() ssh.PublicKey {
	s.t.Helper()
	s.Stop()
	s.HostKey = s.writeKey("host_ed25519")
	s.Restart()
	return s.HostKey
}

// WriteKey creates another ed25519 key pair under Dir and returns the
// private key's path and the public key.
func (s *Server) WriteKey(name string) (string, ssh.PublicKey) {
	pub := s.writeKey(name)
	return filepath.Join(s.Dir, name), pub
}

// Authorize adds a public key to the server's authorized_keys.
func (s *Server) Authorize(pub ssh.PublicKey) {
	s.t.Helper()
	f, err := os.OpenFile(filepath.Join(s.Dir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(pub)); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) writeKey(name string) ssh.PublicKey {
	s.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
		s.t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		s.t.Fatal(err)
	}
	return sshPub
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Keys writes an ed25519 host key and client key pair into dir, as every
// SFTP test server here needs them: it returns the host key (host_ed25519
// holds its private half), the client's private key file (client_ed25519)
// and its public key.
func Keys(t testing.TB, dir string) (host ssh.PublicKey, clientKey string, client ssh.PublicKey) {
	t.Helper()
	s := &Server{Dir: dir, t: t}
	host = s.writeKey("host_ed25519")
	client = s.writeKey("client_ed25519")
	return host, filepath.Join(dir, "client_ed25519"), client
}

// KnownHosts writes a known_hosts file into dir trusting key at addr.
func KnownHosts(t testing.TB, dir, addr string, key ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(p, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// FreeAddr returns 127.0.0.1 and a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
}

// WaitListening waits until something accepts on addr, or fails t with
// the log file's content.
func WaitListening(t testing.TB, addr, logFile string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Optional skips t when a third-party server is not installed, unless
// SPENDSYNC_REQUIRE_SFTP_SERVERS is set (CI), where it fails t.
func Optional(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("SPENDSYNC_REQUIRE_SFTP_SERVERS") != "" {
		t.Fatalf("%s is required here (SPENDSYNC_REQUIRE_SFTP_SERVERS): %v", what, err)
	}
	slowtest.SkipMissing(t, fmt.Sprintf("%s (%v)", what, err))
}
