// Package remote is the test side of internal/testserve: a test binary
// built for Windows and run under Wine asks testserve, on the Linux side,
// for an SFTP server (SPENDSYNC_TEST_SERVERS holds its address). The
// server helpers (internal/sshdtest and the others) use it in their
// remote_windows.go, so a test reads the same on both systems.
package remote

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// Env names the variable holding testserve's address (host:port).
const Env = "SPENDSYNC_TEST_SERVERS"

// Server is what testserve reports of a server it started. Paths are the
// Linux side's; Local turns one into the same file seen from Windows.
type Server struct {
	ID         string
	Dir        string
	Addr       string
	User       string
	HostKey    string // authorized_keys form; sshd only
	KnownHosts string
	ClientKey  string
	Drop       string
}

// Key is a key pair testserve wrote, or a new host key.
type Key struct {
	Path string
	Key  string // authorized_keys form
}

// Start asks testserve for a server of kind (sshd, proftpd,
// proftpd-norename, rclone) and stops it when t ends. Without testserve it
// skips, unless requireEnv is set, where it fails t: CI runs every test.
func Start(t testing.TB, kind, requireEnv string) *Server {
	t.Helper()
	return StartWith(t, kind, requireEnv, nil)
}

// StartWith is Start with options for the server (sshd: rsa=1 for an RSA
// host key besides the ed25519 one, config=lines for sshd_config).
func StartWith(t testing.TB, kind, requireEnv string, opts url.Values) *Server {
	t.Helper()
	addr := os.Getenv(Env)
	if addr == "" {
		what := fmt.Sprintf("an SFTP server (%s): on Windows the tests ask internal/testserve on the Linux side for one, and %s is not set (.ci/windows sets it)", kind, Env)
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("%s is required (%s)", what, requireEnv)
		}
		slowtest.SkipMissing(t, what)
	}
	var s Server
	q := url.Values{"kind": {kind}}
	for k, v := range opts {
		q[k] = v
	}
	if err := call(addr, "/start", q, "", &s); err != nil {
		if e, ok := err.(skipErr); ok {
			t.Skip(string(e))
		}
		t.Fatalf("testserve: start %s: %v", kind, err)
	}
	t.Cleanup(func() { call(addr, "/close", url.Values{"id": {s.ID}}, "", nil) })
	return &s
}

// Do runs an sshd control (stop, restart, pause, resume, rotate, writekey,
// authorize) on s.
func (s *Server) Do(t testing.TB, op string, args url.Values, body string) Key {
	t.Helper()
	if args == nil {
		args = url.Values{}
	}
	args.Set("id", s.ID)
	args.Set("op", op)
	var k Key
	if err := call(os.Getenv(Env), "/do", args, body, &k); err != nil {
		t.Fatalf("testserve: %s: %v", op, err)
	}
	return k
}

// Chmod has testserve set the mode of a file Wine sees at unixPath (a
// path inside Wine's root); it reports false when there is no testserve.
func Chmod(t testing.TB, unixPath string, mode uint32) bool {
	t.Helper()
	addr := os.Getenv(Env)
	if addr == "" {
		return false
	}
	if err := call(addr, "/chmod", url.Values{"path": {unixPath}, "mode": {fmt.Sprintf("%o", mode)}}, "", nil); err != nil {
		t.Fatalf("testserve: chmod %s: %v", unixPath, err)
	}
	return true
}

// Local is the Windows name of a path on the Linux side: Wine's drive Z:
// is the root's /, and the root sees testserve's folders at the same path.
func Local(linux string) string {
	if linux == "" || !strings.HasPrefix(linux, "/") {
		return linux
	}
	return "Z:" + filepath.FromSlash(linux)
}

type skipErr string

func (e skipErr) Error() string { return string(e) }

var client = &http.Client{Timeout: 2 * time.Minute}

func call(addr, path string, q url.Values, body string, out any) error {
	resp, err := client.Post("http://"+addr+path+"?"+q.Encode(), "text/plain", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusFailedDependency:
		return skipErr(strings.TrimSpace(string(data)))
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	case out != nil:
		return json.Unmarshal(data, out)
	}
	return nil
}
