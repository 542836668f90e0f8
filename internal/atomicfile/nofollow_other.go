//go:build !unix

package atomicfile

// NoFollow is 0 where the system has no O_NOFOLLOW (Windows): the Lstat
// check in OpenNoFollow and Stage is then the only guard, with a short
// window between check and open.
const NoFollow = 0

func isLinkError(error) bool { return false }
