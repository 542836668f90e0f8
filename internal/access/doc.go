// Package access holds what spendsync needs of Windows file security:
// the DACL personal data is created with (owner, SYSTEM and
// Administrators only) and the check of who else may read or change a
// file, with the icacls line that fixes it. Unix keeps the same rules in
// mode bits, where callers check them directly; this package is empty
// there.
package access
