// Package accesstest lets a test check and loosen a file's permissions in
// Unix terms on both systems: on Windows, Perm reads the DACL and Chmod
// writes one, so a test's "want 0600" checks the Windows DACL too.
package accesstest
