package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Windows paths in the config: a UNC drop (a file server's share) is
// taken as it is, a drive path may be written with / or \, and a relative
// one is resolved against the config's folder.
func TestWindowsConfigPathsKeepUNCAndDriveLetters(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "spendsync.yaml")
	body := "database: C:/ProgramData/spendsync/spendsync.db\n" +
		"export: {dir: 'C:\\ProgramData\\spendsync\\out'}\n" +
		"sources:\n  - {name: hr, profile: afas, persons: hr/medewerkers.csv, contracts: '\\hr\\contracts.csv'}\n" +
		"target: {dir: {path: '\\\\fileserver\\spendcloud\\import'}}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ what, got, want string }{
		{"database", filepath.Clean(c.Database), `C:\ProgramData\spendsync\spendsync.db`},
		{"export.dir", c.Export.Dir, `C:\ProgramData\spendsync\out`},
		{"target.dir.path", c.Target.Dir.Path, `\\fileserver\spendcloud\import`},
		{"sources[0].persons", c.Sources[0].Persons, filepath.Join(dir, "hr", "medewerkers.csv")},
		{"sources[0].contracts", c.Sources[0].Contracts, filepath.VolumeName(dir) + `\hr\contracts.csv`},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
}
