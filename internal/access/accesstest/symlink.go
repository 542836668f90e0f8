package accesstest

import (
	"os"
	"testing"
)

// Symlink makes link point at target, or skips t where the system cannot
// make a link that os.Lstat then reports as one: Windows without
// SeCreateSymbolicLinkPrivilege (not granted to ordinary users), and Wine
// 10, whose links Go's Lstat does not see. The refusal of links is then
// untested there, and the Lstat check that refuses them cannot fire either.
func Symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("this system cannot make a symbolic link (%v)", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		os.Remove(link)
		t.Skipf("this system makes symbolic links that os.Lstat does not report as links (Wine 10): %v", err)
	}
}
