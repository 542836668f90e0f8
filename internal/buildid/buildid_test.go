package buildid

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// copyWithTime copies src to a new file dst (as cp without -p does) and
// gives it the modification time at.
func copyWithTime(t *testing.T, src, dst string, at time.Time) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(dst, at, at); err != nil {
		t.Fatal(err)
	}
}

// builds is a development build's info (no VCS) and a clean checkout's.
func builds() map[string]*debug.BuildInfo {
	return map[string]*debug.BuildInfo{
		"development build": {GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/m", Version: "(devel)"}},
		"clean checkout": {GoVersion: "go1.26.8", Main: debug.Module{Path: "example.com/m", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "2a3f70c"}, {Key: "vcs.modified", Value: "false"}}},
	}
}

// A binary copied without its time (cp, an installer) is the same build:
// its id must not change, or the next ingest and export redo everything.
func TestACopyWithAnotherMtimeHasTheSameID(t *testing.T) {
	exe, err := os.Executable() // the test binary: megabytes, a Go build like spendsync
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	copyWithTime(t, exe, a, time.Now().Add(-48*time.Hour))
	copyWithTime(t, exe, b, time.Now())
	for name, bi := range builds() {
		if id(bi, true, a) != id(bi, true, b) {
			t.Errorf("%s: two copies of one binary have different ids", name)
		}
	}
}

// Without a clean revision the contents name the build: a changed byte
// in the Go build ID (at the start of the file) or another size is
// another build. A clean checkout is named by its build info.
func TestADevelopmentBuildIsNamedByItsContents(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data[:span], []byte(`Go build ID: "`))
	if at < 0 && runtime.GOOS == "linux" {
		at = bytes.Index(data[:span], []byte("Go\x00\x00")) // the ELF note's name
	}
	if at < 0 {
		t.Fatal("no Go build ID in the first MiB")
	}
	dir := t.TempDir()
	orig, changed, longer := filepath.Join(dir, "orig"), filepath.Join(dir, "changed"), filepath.Join(dir, "longer")
	os.WriteFile(orig, data, 0o755)
	other := bytes.Clone(data)
	other[at+20] ^= 1
	os.WriteFile(changed, other, 0o755)
	os.WriteFile(longer, append(bytes.Clone(data), 0), 0o755)
	dev, clean := builds()["development build"], builds()["clean checkout"]
	if id(dev, true, orig) == id(dev, true, changed) || id(dev, true, orig) == id(dev, true, longer) {
		t.Error("a development build with other contents has the same id")
	}
	if id(clean, true, orig) != id(clean, true, changed) {
		t.Error("a clean checkout's id depends on the file")
	}
	rev := builds()["clean checkout"]
	rev.Settings[0].Value = "ffffff0"
	ldflags := builds()["clean checkout"]
	ldflags.Settings = append(ldflags.Settings, debug.BuildSetting{Key: "-ldflags", Value: "-X main.stampedVersion=v2"})
	if id(clean, true, orig) == id(rev, true, orig) || id(clean, true, orig) == id(ldflags, true, orig) {
		t.Error("another revision or other -ldflags have the same id")
	}
	modified := builds()["clean checkout"]
	modified.Settings[1].Value = "true"
	if id(modified, true, orig) == id(modified, true, changed) {
		t.Error("a dirty tree's build is not named by its contents")
	}
	replaced := builds()["clean checkout"]
	replaced.Deps = []*debug.Module{{Path: "example.com/dep", Version: "v1.0.0", Replace: &debug.Module{Path: "../dep"}}}
	if id(replaced, true, orig) == id(replaced, true, changed) {
		t.Error("a build with a dependency from a local folder is not named by its contents")
	}
}

// An executable that cannot be read never shares an id: the steps redo
// their work rather than trust a digest that may belong to another build.
func TestAnUnreadableExecutableSharesNoID(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	dev := builds()["development build"]
	for _, c := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		path string
	}{{dev, true, missing}, {nil, false, ""}} {
		first := id(c.bi, c.ok, c.path)
		if second := id(c.bi, c.ok, c.path); first == second {
			t.Errorf("two processes with an unreadable %q have the same id", c.path)
		}
	}
}

// The real thing: String in a binary built twice with different code
// differs, and in a copy of one with another mtime it is the same.
func TestStringFollowsTheBuildNotTheFile(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the test program (the Windows suite under Wine has none)")
	}
	dir := t.TempDir()
	build := func(name, variant string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command(gotool, "build", "-buildvcs=false", "-ldflags", "-X main.variant="+variant, "-o", out, "./testdata/printid")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return out
	}
	run := func(exe string) string {
		out, err := exec.Command(exe).Output()
		if err != nil {
			t.Fatalf("%s: %v", exe, err)
		}
		id, _, _ := strings.Cut(string(out), " ")
		return id
	}
	a, b := build("a", "one"), build("b", "two")
	c := filepath.Join(dir, "c")
	copyWithTime(t, a, c, time.Now().Add(-48*time.Hour))
	if run(a) != run(c) {
		t.Error("a copy of the binary with another mtime has another id")
	}
	if run(a) == run(b) {
		t.Error("two builds of different code have the same id")
	}
}

func BenchmarkID(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	bi, _ := debug.ReadBuildInfo()
	for b.Loop() {
		id(bi, true, exe)
	}
}
