package main

import (
	"errors"
	"testing"
)

// FuzzConfig: any bytes either load or fail as a configuration error
// (exit 2) naming the file; never a panic, never another kind of error.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("database: s.db\nsources:\n  - {name: a, persons: p.csv}\n"))
	f.Add([]byte("database: ${HOME}/s.db\nrules: {thresholds: {max_removals: 3}}\n"))
	f.Add([]byte("database: s.db\ntarget:\n  sftp: {host: h, user: u, key_file: k, known_hosts: kh, retries: -1}\n"))
	f.Add([]byte("database: s.db\nexport:\n  persons:\n    columns: [{a: b}, c]\n"))
	f.Add([]byte("&a [*a, *a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseConfig("fuzz.yaml", data)
		if err == nil {
			return
		}
		var ce *configError
		if !errors.As(err, &ce) {
			t.Fatalf("%T is not a configuration error: %v", err, err)
		}
		if exitCode(err) != exitUsage {
			t.Fatalf("exit %d for %v", exitCode(err), err)
		}
	})
}
