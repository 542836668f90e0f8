//go:build !windows

package main

import (
	"fmt"
	"os"
)

// exposed says whether others may read path (with write: change it),
// from its mode bits: the attributes to log and the chmod that fixes it.
func exposed(path string, write, dir bool) (attrs []any, fix string, bad bool) {
	bits, mode := os.FileMode(0o004), "600"
	switch {
	case write:
		bits, mode = 0o002, "o-w"
	case dir:
		mode = "700"
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&bits == 0 {
		return nil, "", false
	}
	return []any{"mode", fmt.Sprintf("%04o", fi.Mode().Perm())}, fmt.Sprintf("chmod %s %s", mode, path), true
}
