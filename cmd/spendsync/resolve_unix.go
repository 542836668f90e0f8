//go:build !windows

package main

import "path/filepath"

// resolvePath is p, a path from the config, with a relative p taken
// relative to base (the config's folder).
func resolvePath(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}
