//go:build !windows

package transport

import (
	"fmt"
	"os"
)

// checkKeyMode refuses a private key other users can read or change, as
// OpenSSH does ("UNPROTECTED PRIVATE KEY FILE"): such a key may already be
// copied.
func checkKeyMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("sftp: cannot read key_file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("sftp: key_file %s has mode %04o: group or others have access to it; spendsync refuses such a key, as OpenSSH does (chmod 600 %s)", path, perm, path)
	}
	return nil
}
