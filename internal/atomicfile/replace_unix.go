//go:build !windows

package atomicfile

import (
	"os"
	"strings"
)

// rename moves old to new, replacing new; SyncDir then makes it durable.
func rename(old, new string) error { return os.Rename(old, new) }

// SyncDir fsyncs a folder so a rename in it survives a power cut. Systems
// that cannot sync a folder are tolerated.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !isUnsupported(err) {
		return Wrap("sync folder", dir, err)
	}
	return nil
}

func isUnsupported(err error) bool {
	return strings.Contains(err.Error(), "not supported") || strings.Contains(err.Error(), "invalid argument")
}
