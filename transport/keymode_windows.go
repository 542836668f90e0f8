package transport

import (
	"fmt"
	"os"
	"strings"

	"github.com/spendsync/spendsync/internal/access"
)

// checkKeyMode refuses a private key that anyone besides its owner,
// SYSTEM and Administrators may read or change, as OpenSSH for Windows
// does ("Bad permissions"): such a key may already be copied.
func checkKeyMode(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sftp: cannot read key_file: %w", err)
	}
	who, err := access.Others(path)
	if err != nil {
		return fmt.Errorf("sftp: cannot read key_file: %w", err)
	}
	if len(who) > 0 {
		return fmt.Errorf("sftp: key_file %s is open to %s; spendsync refuses such a key, as OpenSSH does (%s)", path, strings.Join(who, ", "), access.Fix(path, false))
	}
	return nil
}
