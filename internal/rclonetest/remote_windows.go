package rclonetest

import (
	"testing"

	"github.com/spendsync/spendsync/internal/testserve/remote"
)

// Server is a running rclone serve sftp on the Linux side, which the
// Windows test binary asks internal/testserve for (see
// internal/sshdtest/remote_windows.go). Drop is the served folder, "/" on
// the server.
type Server struct {
	Dir        string
	Addr       string
	User       string
	KnownHosts string
	ClientKey  string
	Drop       string
}

// Start asks for rclone serving an empty folder.
func Start(t testing.TB) *Server {
	t.Helper()
	r := remote.Start(t, "rclone", "SPENDSYNC_REQUIRE_SFTP_SERVERS")
	return &Server{Dir: remote.Local(r.Dir), Addr: r.Addr, User: r.User, KnownHosts: remote.Local(r.KnownHosts), ClientKey: remote.Local(r.ClientKey), Drop: r.Drop}
}
