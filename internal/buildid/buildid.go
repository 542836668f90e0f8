// Package buildid names the running binary's build, for the digests that
// let a step skip work done before: a new binary (perhaps with new
// validation or a new export) must never reuse what an older one decided.
package buildid

import (
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
)

// String changes with every build of different code and with nothing
// else: a copy of the binary (cp without -p, an installer) with another
// mtime or path keeps it, so the next ingest and export still skip what
// is unchanged.
//
// A build from a clean checkout (vcs.revision set, vcs.modified=false,
// every dependency a versioned module) is named by its build info alone:
// module version, Go version, dependencies and the build settings
// (-tags, -ldflags, GOOS, GOARCH, CGO_ENABLED, vcs.revision, ...).
//
// Any other build (a development build, a dirty tree, -buildvcs=false, a
// dependency replaced by a local folder) can differ from another with the
// same build info, so the executable's contents are added: its size, a
// SHA-256 of its first and last MiB and the Go build ID note (ELF). The
// Go build ID sits in the first few KiB (ELF note, start of PE text) and
// ends with the linker's hash of the whole binary, so different code
// changes those bytes. A SHA-256 of the whole file would do as well but
// costs 33 ms on the 38 MB binary (48 to 69 ms from a cold cache), the
// two MiB 2 ms (7 ms cold; measured 2026-12-02), and this runs once in
// every ingest and export process. An executable that cannot be read
// gets an id of its own that no other process shares: the steps then
// redo their work, slow but correct.
var String = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	exe, err := os.Executable()
	if err != nil {
		exe = ""
	}
	return id(bi, ok, exe)
})

// id is String for the given build info and executable path.
func id(bi *debug.BuildInfo, ok bool, exe string) string {
	sum := sha256.New()
	if ok {
		io.WriteString(sum, bi.String()) // every field and setting, one per line
	}
	if !ok || !clean(bi) {
		if err := contents(sum, exe); err != nil {
			// Random, not the time: Windows' clock can give two calls
			// the same nanoseconds.
			fmt.Fprintf(sum, "\nunreadable %s %d %s", err, os.Getpid(), rand.Text())
		}
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// clean reports whether bi alone names the code: a committed revision,
// no local changes, and no dependency read from a local folder.
func clean(bi *debug.BuildInfo) bool {
	var rev, unmodified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value != ""
		case "vcs.modified":
			unmodified = s.Value == "false"
		}
	}
	for _, d := range bi.Deps {
		if d.Version == "" || d.Version == "(devel)" || d.Replace != nil && (d.Replace.Version == "" || d.Replace.Version == "(devel)") {
			return false
		}
	}
	return rev && unmodified
}

// span is how much of each end of the executable is hashed.
const span = 1 << 20

// contents adds the executable's size, its first and last span bytes
// (all of it when smaller) and its ELF Go build ID note to sum.
func contents(sum io.Writer, exe string) error {
	if exe == "" {
		return fmt.Errorf("no executable path")
	}
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	io.WriteString(sum, "\nsize "+strconv.FormatInt(size, 10)+"\n")
	if size <= 2*span {
		_, err = io.Copy(sum, f)
		return err
	}
	if _, err := io.Copy(sum, io.NewSectionReader(f, 0, span)); err != nil {
		return err
	}
	if _, err := io.Copy(sum, io.NewSectionReader(f, size-span, span)); err != nil {
		return err
	}
	// Where the linker ever put the note beyond the first MiB, it still
	// counts; elsewhere (PE, Mach-O) the build ID is in the first KiB.
	if e, err := elf.NewFile(f); err == nil {
		if s := e.Section(".note.go.buildid"); s != nil {
			if note, err := s.Data(); err == nil {
				sum.Write(note)
			}
		}
	}
	return nil
}
