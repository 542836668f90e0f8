//go:build !windows

package atomicfile

import "os"

// CreatePrivate creates path as a new file (O_EXCL, never through a link)
// that only its owner may read and write: mode 0600.
func CreatePrivate(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|NoFollow, 0o600)
}

// MkdirPrivate creates dir (and parents) with mode 0700; personal data lives
// there.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Wrap("create folder", dir, err)
	}
	return nil
}
