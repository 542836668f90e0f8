package transport_test

import (
	"testing"

	"github.com/spendsync/spendsync/internal/proftpdtest"
	"github.com/spendsync/spendsync/internal/rclonetest"
)

// The drop need not be OpenSSH: the same suite runs against ProFTPD's
// mod_sftp, with and without posix-rename (the remove-then-rename path),
// and against rclone's Go server. Each skips where the server is not
// installed; CI sets SPENDSYNC_REQUIRE_SFTP_SERVERS so they never skip.

func TestProFTPDWithPosixRenameTarget(t *testing.T) {
	s := proftpdtest.Start(t, true)
	suite(t, open(t, sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, s.Drop, nil)), s.Drop)
}

func TestProFTPDWithoutPosixRenameTarget(t *testing.T) {
	s := proftpdtest.Start(t, false)
	suite(t, open(t, sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, s.Drop, nil)), s.Drop)
}

func TestRcloneServeSFTPTarget(t *testing.T) {
	s := rclonetest.Start(t)
	suite(t, open(t, sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, "/", nil)), s.Drop)
}
