// Package buildid names the running binary's build, for the digests that
// let a step skip work done before: a new binary (perhaps with new
// validation or a new export) must never reuse what an older one decided.
package buildid

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
)

// String changes with every build of different code: the module version,
// the Go version, the VCS revision, and the executable's size and time
// (a development build has no revision).
var String = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	id := bi.Main.Version + bi.GoVersion
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id += s.Value
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			id += fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return id
})
