//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

// NoFollow makes os.OpenFile fail on a symbolic link instead of opening
// its target.
const NoFollow = syscall.O_NOFOLLOW

// isLinkError reports the error O_NOFOLLOW gives for a link.
func isLinkError(err error) bool { return errors.Is(err, syscall.ELOOP) }
