package atomicfile

import (
	"os"

	"golang.org/x/sys/windows"
)

// rename moves old to new, replacing new, with MoveFileEx and
// MOVEFILE_WRITE_THROUGH: the call returns once the move is flushed to
// disk, which is what the folder fsync does on Unix. Windows refuses
// FlushFileBuffers on a folder handle ("Access is denied"), so there is
// no folder sync here.
func rename(old, new string) error {
	from, err := windows.UTF16PtrFromString(old)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	to, err := windows.UTF16PtrFromString(new)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	if err := windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		return &os.LinkError{Op: "rename", Old: old, New: new, Err: err}
	}
	return nil
}

// SyncDir does nothing on Windows: a folder cannot be flushed there
// (FlushFileBuffers on a folder handle is refused), and Rename's
// MOVEFILE_WRITE_THROUGH already flushes the move it makes.
func SyncDir(dir string) error { return nil }
