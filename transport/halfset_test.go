//go:build unix

// Unix only: it makes drop files immutable with chattr +i, a Linux
// attribute.

package transport_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/proftpdtest"
	"github.com/spendsync/spendsync/internal/rclonetest"
	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/transport"
)

// immutable sets the immutable attribute on path (chattr +i), so nobody,
// root included, can rename, replace, link or remove it, and returns the
// function that clears it (also run at cleanup). It skips t where the
// filesystem has no such attribute.
func immutable(t *testing.T, path string) func() {
	t.Helper()
	if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
		t.Skipf("chattr +i is not supported here (needs root and ext4 or similar): %v %s", err, out)
	}
	clear := func() { exec.Command("chattr", "-i", path).Run() }
	t.Cleanup(clear)
	return clear
}

// snapshot is every entry of a drop folder with its content, byte for
// byte ("<folder>" for a folder).
func snapshot(t *testing.T, drop string) string {
	t.Helper()
	entries, err := os.ReadDir(drop)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() {
			fmt.Fprintf(&b, "%s: <folder>\n", e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(drop, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %q\n", e.Name(), data)
	}
	return b.String()
}

func names(t *testing.T, drop string) string {
	t.Helper()
	entries, _ := os.ReadDir(drop)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// newSet is a set of new files, persons.csv first as push delivers them.
func newSet(t *testing.T, n int) []transport.File {
	t.Helper()
	f := files(t, n)
	return []transport.File{f[1], f[0]}
}

// delivered checks the drop holds exactly want.
func delivered(t *testing.T, drop string, want []transport.File) {
	t.Helper()
	for _, f := range want {
		if data, err := os.ReadFile(filepath.Join(drop, f.Name)); err != nil || !bytes.Equal(data, content(t, f)) {
			t.Fatalf("%s is not the delivered file (%v)", f.Name, err)
		}
	}
	if got := names(t, drop); got != "persons.csv,roles.csv" {
		t.Fatalf("the drop holds %s", got)
	}
}

// halfSetSuite is what a target must do when a set can be renamed only in
// part: put the drop back as it was, leave no temporary file, and deliver
// once the obstacle is gone. It runs over every target.
func halfSetSuite(t *testing.T, target transport.Target, drop string) {
	ctx := context.Background()
	if _, err := target.Deliver(ctx, "old", newSet(t, 3)); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"roles.csv", "persons.csv"} {
		t.Run("an immutable "+name+" fails the delivery and changes nothing", func(t *testing.T) {
			before := snapshot(t, drop)
			clear := immutable(t, filepath.Join(drop, name))
			_, err := target.Deliver(ctx, fmt.Sprint("imm", i), newSet(t, 7+i))
			if err == nil {
				t.Fatal("delivered although " + name + " is immutable")
			}
			if !strings.Contains(err.Error(), "the drop holds the files it held before") {
				t.Errorf("err = %v, want it to say the drop is as it was", err)
			}
			if after := snapshot(t, drop); after != before {
				t.Fatalf("the failed delivery changed the drop\nbefore:\n%s\nafter:\n%s", before, after)
			}
			clear()
			want := newSet(t, 7+i)
			if _, err := target.Deliver(ctx, fmt.Sprint("next", i), want); err != nil {
				t.Fatalf("delivery once %s is mutable again: %v", name, err)
			}
			delivered(t, drop, want)
		})
	}
	t.Run("a first delivery whose second rename fails leaves no file", func(t *testing.T) {
		os.Remove(filepath.Join(drop, "persons.csv"))
		os.Remove(filepath.Join(drop, "roles.csv"))
		// Someone puts a folder where roles.csv goes, after persons.csv
		// landed: the new persons.csv must go again. (Not empty: an
		// empty one is removed where rename cannot replace.)
		restore := transport.SetBetweenRenames(func() {
			os.Mkdir(filepath.Join(drop, "roles.csv"), 0o700)
			os.WriteFile(filepath.Join(drop, "roles.csv", "x"), nil, 0o600)
		})
		_, err := target.Deliver(ctx, "first", newSet(t, 5))
		restore()
		if err == nil {
			t.Fatal("delivered onto a folder")
		}
		if got := snapshot(t, drop); got != "roles.csv: <folder>\n" {
			t.Fatalf("the drop holds\n%s\nwant only the folder that was in the way", got)
		}
		os.RemoveAll(filepath.Join(drop, "roles.csv"))
		want := newSet(t, 5)
		if _, err := target.Deliver(ctx, "first-again", want); err != nil {
			t.Fatal(err)
		}
		delivered(t, drop, want)
	})
}

func TestFolderTargetPutsAHalfRenamedSetBack(t *testing.T) {
	drop := filepath.Join(t.TempDir(), "drop")
	halfSetSuite(t, open(t, &transport.Config{Dir: &transport.DirConfig{Path: drop}}), drop)
}

func TestSFTPTargetPutsAHalfRenamedSetBack(t *testing.T) {
	s := sshdtest.Start(t)
	halfSetSuite(t, open(t, sftpConfig(t, s, nil)), s.Drop)
}

func TestProFTPDWithPosixRenamePutsAHalfRenamedSetBack(t *testing.T) {
	s := proftpdtest.Start(t, true)
	halfSetSuite(t, open(t, sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, s.Drop, nil)), s.Drop)
}

func TestProFTPDWithoutPosixRenamePutsAHalfRenamedSetBack(t *testing.T) {
	s := proftpdtest.Start(t, false)
	halfSetSuite(t, open(t, sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, s.Drop, nil)), s.Drop)
}

func TestRcloneServeSFTPPutsAHalfRenamedSetBack(t *testing.T) {
	s := rclonetest.Start(t)
	halfSetSuite(t, open(t, sftpConfigAt(t, s.Addr, s.User, s.ClientKey, s.KnownHosts, "/", nil)), s.Drop)
}

// A connection lost between the two renames cannot undo the first on that
// connection: the target connects again to put persons.csv back, even
// with retries: 0.
func TestSFTPConnectionLostBetweenTheRenamesIsPutBackOnANewConnection(t *testing.T) {
	s := sshdtest.Start(t)
	target := open(t, sftpConfig(t, s, nil))
	ctx := context.Background()
	if _, err := target.Deliver(ctx, "old", newSet(t, 3)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s.Drop)
	restore := transport.SetBetweenRenames(func() { s.Stop(); s.Restart() })
	_, err := target.Deliver(ctx, "cut", newSet(t, 9))
	restore()
	if err == nil || !strings.Contains(err.Error(), "the drop holds the files it held before") {
		t.Fatalf("err = %v, want one saying the drop was put back", err)
	}
	if after := snapshot(t, s.Drop); after != before {
		t.Fatalf("the drop was not put back (%v)\nbefore:\n%s\nafter:\n%s", err, before, after)
	}
	want := newSet(t, 9)
	if _, err := target.Deliver(ctx, "again", want); err != nil {
		t.Fatal(err)
	}
	delivered(t, s.Drop, want)
}
