package lifecycle

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"

	"github.com/spendsync/spendsync/internal/access"
)

// protectSidecars gives the -wal and -shm files SQLite created beside the
// database the database's private DACL (owner, SYSTEM, Administrators).
// SQLite creates them with the folder's inherited ACL, which is private
// in a folder spendsync created, but not in one made beforehand (an
// installer's %ProgramData%\spendsync, which Users may read).
func protectSidecars(path string) error {
	sa, err := access.PrivateAttributes(false)
	if err != nil {
		return err
	}
	dacl, _, err := sa.SecurityDescriptor.DACL()
	if err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		p := path + suffix
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := windows.SetNamedSecurityInfo(p, windows.SE_FILE_OBJECT,
			windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
			return fmt.Errorf("make %s private: %w", p, err)
		}
	}
	return nil
}
