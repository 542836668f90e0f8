package atomicfile

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"

	"github.com/spendsync/spendsync/internal/access"
)

// CreatePrivate creates path as a new file (CREATE_NEW: an existing file
// or link there is refused) whose DACL, set as the file is created,
// grants access to its owner, SYSTEM and Administrators only; nothing is
// inherited from the folder. It is the twin of mode 0600.
func CreatePrivate(path string) (*os.File, error) {
	sa, err := access.PrivateAttributes(false)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_EXISTS) || errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			err = os.ErrExist
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// MkdirPrivate creates dir and its missing parents, each with the private
// DACL (owner, SYSTEM, Administrators) that the files created in them
// inherit: the twin of mode 0700. An existing folder is left as it is
// (the permission warnings report one that is open).
func MkdirPrivate(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := MkdirPrivate(parent); err != nil {
			return err
		}
	}
	sa, err := access.PrivateAttributes(true)
	if err != nil {
		return Wrap("create folder", dir, err)
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return Wrap("create folder", dir, err)
	}
	if err := windows.CreateDirectory(p, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil
}
