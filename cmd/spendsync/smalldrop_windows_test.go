package main

import (
	"testing"

	"github.com/spendsync/spendsync/internal/sshdtest"
)

// mountSmallDrop has the Linux side mount a 64k tmpfs as the server's
// drop: the server is there (internal/testserve).
func mountSmallDrop(t *testing.T, s *sshdtest.Server) bool {
	s.MountSmallDrop("64k")
	return true
}

// fillDrop has the Linux side fill the small drop but for a few hundred
// bytes (the Windows side's view of the folder is not the mount's) and
// returns what empties it again.
func fillDrop(t *testing.T, s *sshdtest.Server) func() {
	s.FillDrop()
	return s.EmptyFiller
}
