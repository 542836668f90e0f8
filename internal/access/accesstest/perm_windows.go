package accesstest

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/spendsync/spendsync/internal/access"
)

// Perm is what path's DACL amounts to in Unix bits: the owner's (rw, rwx
// for a folder) when the current user is granted access; "group" when
// anyone else but SYSTEM and Administrators may read it; "others" when a
// broad group (Everyone, Users, Authenticated Users) may read or write it.
// A private file is 0600, a private folder 0700.
func Perm(t testing.TB, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := access.Grants(path)
	if err != nil {
		t.Fatal(err)
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := tu.User.Sid.String()
	var mode os.FileMode
	for _, g := range grants {
		if g.SID == me && g.Read && g.Write {
			mode |= 0o600
		}
	}
	others, err := access.Others(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(others) > 0 {
		mode |= 0o040
	}
	if read, _ := access.Broad(path, false); len(read) > 0 {
		mode |= 0o004
	}
	if write, _ := access.Broad(path, true); len(write) > 0 {
		mode |= 0o002
	}
	if fi.IsDir() && mode&0o600 != 0 {
		mode |= 0o100
	}
	return mode
}

// Chmod gives path a protected DACL in Unix terms: full control for the
// current user, SYSTEM and Administrators, and for Everyone read when
// mode has a group or other read bit, change when it has a write bit.
// (Everyone, not Users: Wine keeps a file's DACL as Unix mode bits, where
// only the owner and Everyone survive; Windows treats both alike.)
func Chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sddl := fmt.Sprintf("D:P(A;;FA;;;%s)(A;;FA;;;SY)(A;;FA;;;BA)", tu.User.Sid)
	switch {
	case mode&0o022 != 0:
		sddl += "(A;;FRFW;;;WD)"
	case mode&0o044 != 0:
		sddl += "(A;;FR;;;WD)"
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatal(err)
	}
}
