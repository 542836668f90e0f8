package main

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// warnPermissions warns, at the start of every command that reads the
// config, about files other users could read or change: a config others
// can write (it names the database, the drop and the secrets' variables),
// and a database or export folder others can read (personal data). It only
// warns: the files may be shared on purpose, and refusing would stop cron.
// Windows keeps permissions in ACLs, not mode bits: no check there.
func (g *globals) warnPermissions(cfg *config) {
	if runtime.GOOS == "windows" {
		return
	}
	check := func(path, what string, bad fs.FileMode, fix string) {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm()&bad == 0 {
			return
		}
		g.log.Warn(what, "path", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "fix", fmt.Sprintf("chmod %s %s", fix, path))
	}
	check(cfg.path, "other users can change the config file", 0o002, "o-w")
	check(cfg.Database, "other users can read the database (personal data)", 0o004, "600")
	check(cfg.Export.Dir, "other users can read the export folder (personal data)", 0o004, "700")
}
