//go:build !windows

package lifecycle

// protectSidecars has nothing to do on Unix: SQLite creates the -wal and
// -shm files with the database file's mode (0600).
func protectSidecars(path string) error { return nil }
