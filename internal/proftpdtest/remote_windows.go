package proftpdtest

import (
	"testing"

	"github.com/spendsync/spendsync/internal/testserve/remote"
)

// Server is a running proftpd with mod_sftp on the Linux side, which the
// Windows test binary asks internal/testserve for (see
// internal/sshdtest/remote_windows.go). Drop is the server's path.
type Server struct {
	Dir        string
	Addr       string
	User       string
	KnownHosts string
	ClientKey  string
	Drop       string
}

// Start asks for proftpd with mod_sftp, offering posix-rename only when
// posixRename is set.
func Start(t testing.TB, posixRename bool) *Server {
	t.Helper()
	kind := "proftpd-norename"
	if posixRename {
		kind = "proftpd"
	}
	r := remote.Start(t, kind, "SPENDSYNC_REQUIRE_SFTP_SERVERS")
	return &Server{Dir: remote.Local(r.Dir), Addr: r.Addr, User: r.User, KnownHosts: remote.Local(r.KnownHosts), ClientKey: remote.Local(r.ClientKey), Drop: r.Drop}
}
