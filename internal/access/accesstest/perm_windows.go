package accesstest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/spendsync/spendsync/internal/access"
	"github.com/spendsync/spendsync/internal/testserve/remote"
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

// wineUnixPath is the Unix path Wine keeps path at, when running under Wine.
func wineUnixPath(path string) (string, bool) {
	proc := windows.NewLazySystemDLL("kernel32.dll").NewProc("wine_get_unix_file_name")
	if proc.Find() != nil {
		return "", false // not Wine
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", false
	}
	r, _, _ := proc.Call(uintptr(unsafe.Pointer(p)))
	if r == 0 {
		return "", false
	}
	return windows.BytePtrToString(*(**byte)(unsafe.Pointer(&r))), true // a char* Wine allocated
}

// Chmod gives path a protected DACL in Unix terms: full control for the
// current user, SYSTEM and Administrators, and for Everyone read when
// mode has a group or other read bit, change when it has a write bit.
// (Everyone, not Users: Wine keeps a file's DACL as Unix mode bits, where
// only the owner and Everyone survive; Windows treats both alike.)
//
// Wine 10 takes a DACL only when a file is created, and ignores
// SetSecurityInfo on an existing one: so Chmod makes path anew with the
// DACL (a file's content, a folder's entries moved back in), which works
// the same on Windows.
func Chmod(t testing.TB, path string, mode os.FileMode) {
	t.Helper()
	// Under Wine a file's DACL is its Unix mode, and one made with a DACL
	// still loses what the umask masks: set the mode itself, from the
	// Linux side.
	// Wine has no group there: group bits become others' (Everyone).
	wine := mode&0o700 | (mode|mode>>3)&0o007
	if unix, ok := wineUnixPath(path); ok && remote.Chmod(t, unix, uint32(wine)) {
		return
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	inherit := ""
	if fi.IsDir() {
		inherit = "OICI"
	}
	sddl := fmt.Sprintf("D:P(A;%[1]s;FA;;;%[2]s)(A;%[1]s;FA;;;SY)(A;%[1]s;FA;;;BA)", inherit, tu.User.Sid)
	switch {
	case mode&0o022 != 0:
		sddl += fmt.Sprintf("(A;%s;FRFW;;;WD)", inherit)
	case mode&0o044 != 0:
		sddl += fmt.Sprintf("(A;%s;FR;;;WD)", inherit)
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		old := path + ".chmod"
		if err := os.Rename(path, old); err != nil {
			t.Fatal(err)
		}
		if err := windows.CreateDirectory(p, sa); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(old)
		for _, e := range entries {
			if err := os.Rename(filepath.Join(old, e.Name()), filepath.Join(path, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Remove(old); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(h), path)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}
