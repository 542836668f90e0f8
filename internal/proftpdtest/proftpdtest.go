//go:build unix

// Package proftpdtest starts ProFTPD's mod_sftp on 127.0.0.1 for the
// transport tests: Spend Cloud's drop need not be OpenSSH, and mod_sftp is
// a separate SSH implementation that may leave out posix-rename.
package proftpdtest

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spendsync/spendsync/internal/sshdtest"
)

// Binary and Module are where Debian's proftpd-core and proftpd-mod-crypto
// put them.
const (
	Binary = "/usr/sbin/proftpd"
	Module = "/usr/lib/proftpd/mod_sftp.so"
)

// Server is a running proftpd with mod_sftp.
type Server struct {
	Dir        string // config, keys and logs
	Addr       string // 127.0.0.1:port
	User       string // the user to log in as (the current one)
	KnownHosts string // a known_hosts file trusting the host key
	ClientKey  string // an authorised private key
	Drop       string // an empty folder to deliver into
}

// Start starts proftpd with mod_sftp, offering posix-rename@openssh.com
// only when posixRename is set. It skips when proftpd or mod_sftp is not
// installed, unless SPENDSYNC_REQUIRE_SFTP_SERVERS is set.
func Start(t testing.TB, posixRename bool) *Server {
	t.Helper()
	for _, p := range []string{Binary, Module} {
		if _, err := os.Stat(p); err != nil {
			sshdtest.Optional(t, "ProFTPD mod_sftp (apt-get install proftpd-core proftpd-mod-crypto)", err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, User: u.Username, Drop: filepath.Join(dir, "drop"), Addr: sshdtest.FreeAddr(t)}
	if err := os.Mkdir(s.Drop, 0o700); err != nil {
		t.Fatal(err)
	}
	host, clientKey, client := sshdtest.Keys(t, dir)
	s.ClientKey = clientKey
	s.KnownHosts = sshdtest.KnownHosts(t, dir, s.Addr, host)
	// mod_sftp reads authorised keys in RFC 4716 format only.
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), rfc4716(client.Marshal()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Run the daemon as ourselves; as root, sessions switch to the user who
	// logged in (root here, hence RootLogin and UseFtpUsers off).
	daemonUser, daemonGroup := u.Username, g.Name
	if os.Geteuid() == 0 {
		daemonUser, daemonGroup = "nobody", "nogroup"
	}
	rename := "-posixRename"
	if posixRename {
		rename = "+posixRename"
	}
	_, port, _ := strings.Cut(s.Addr, ":")
	config := fmt.Sprintf(`ServerName "spendsync test"
ServerType standalone
DefaultServer on
Port %s
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
UseReverseDNS off
PidFile %[2]s/proftpd.pid
ScoreboardFile %[2]s/proftpd.scoreboard
DelayTable none
WtmpLog off
TransferLog none
SystemLog %[2]s/proftpd.log
User %[3]s
Group %[4]s
RootLogin on
UseFtpUsers off
RequireValidShell off
ModulePath /usr/lib/proftpd
<IfModule !mod_sftp.c>
LoadModule mod_sftp.c
</IfModule>
SFTPEngine on
SFTPLog %[2]s/sftp.log
SFTPHostKey %[2]s/host_ed25519
SFTPAuthorizedUserKeys file:%[2]s/authorized_keys
SFTPAuthMethods publickey
SFTPExtensions %[5]s
`, port, dir, daemonUser, daemonGroup, rename)
	if err := os.WriteFile(filepath.Join(dir, "proftpd.conf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary, "-n", "-q", "-c", filepath.Join(dir, "proftpd.conf"))
	logf, err := os.Create(filepath.Join(dir, "proftpd.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop also ends the session processes
	if err := cmd.Start(); err != nil {
		t.Fatalf("start proftpd: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		logf.Close()
	})
	sshdtest.WaitListening(t, s.Addr, logf.Name())
	return s
}

// rfc4716 renders a public key (SSH wire format) as RFC 4716 text.
func rfc4716(wire []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(wire)
	var b strings.Builder
	b.WriteString("---- BEGIN SSH2 PUBLIC KEY ----\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n---- END SSH2 PUBLIC KEY ----\n")
	return []byte(b.String())
}
