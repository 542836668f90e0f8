package main

import (
	"os"
	"strings"

	"github.com/spendsync/spendsync/internal/access"
)

// exposed says whether Everyone, Users or Authenticated Users (or Guests,
// Anonymous Logon) may read path (with write: change it), from its DACL:
// the attributes to log and the icacls line that leaves it to the owner,
// SYSTEM and Administrators.
func exposed(path string, write, dir bool) (attrs []any, fix string, bad bool) {
	if _, err := os.Stat(path); err != nil {
		return nil, "", false
	}
	who, err := access.Broad(path, write)
	if err != nil || len(who) == 0 {
		return nil, "", false
	}
	return []any{"access", strings.Join(who, ", ")}, access.Fix(path, dir), true
}
