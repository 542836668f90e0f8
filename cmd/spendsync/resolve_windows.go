package main

import "path/filepath"

// resolvePath is p, a path from the config, with a relative p taken
// relative to base (the config's folder). A drive path (C:\x, C:/x) or a
// UNC path (\\server\share\x) is kept; a rooted one without a drive
// (\x, /x) is on the config's drive, as Windows reads it from there.
func resolvePath(base, p string) string {
	switch {
	case filepath.IsAbs(p):
		return p
	case filepath.VolumeName(p) == "" && (p[0] == '\\' || p[0] == '/'):
		return filepath.VolumeName(base) + p
	}
	return filepath.Join(base, p)
}
