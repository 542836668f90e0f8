package main

// warnPermissions warns, at the start of every command that reads the
// config, about files other users could read or change: a config others
// can write (it names the database, the drop and the secrets' variables),
// and a database or export folder others can read (personal data). It only
// warns: the files may be shared on purpose, and refusing would stop cron.
// Unix checks the mode bits, Windows the DACL (exposed, in
// permissions_unix.go and permissions_windows.go).
func (g *globals) warnPermissions(cfg *config) {
	check := func(path, what string, write, dir bool) {
		attrs, fix, bad := exposed(path, write, dir)
		if !bad {
			return
		}
		g.log.Warn(what, append(append([]any{"path", path}, attrs...), "fix", fix)...)
	}
	check(cfg.path, "other users can change the config file", true, false)
	check(cfg.Database, "other users can read the database (personal data)", false, false)
	check(cfg.Export.Dir, "other users can read the export folder (personal data)", false, true)
}
