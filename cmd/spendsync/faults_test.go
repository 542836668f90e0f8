package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
	"github.com/spendsync/spendsync/internal/sshdtest"
)

// faultRig is the demo delivered once over SFTP, then changed and exported
// again, so a failed push would have something new to (wrongly) put in place.
type faultRig struct {
	t      *testing.T
	s      *sshdtest.Server
	cfg    string
	before map[string][]byte // what the drop held after the first delivery
}

func newFaultRig(t *testing.T, timeout string, setup func(s *sshdtest.Server)) *faultRig {
	s := sshdtest.Start(t)
	if setup != nil {
		setup(s)
	}
	cfg := sftpDemo(t, s, "    key_file: "+s.ClientKey+"\n")
	edit(t, cfg, "timeout: 5s", "timeout: "+timeout)
	r := &faultRig{t: t, s: s, cfg: cfg, before: map[string][]byte{}}
	mustCLI(t, "--config", cfg, "run")
	for _, name := range []string{"persons.csv", "roles.csv"} {
		r.before[name], _ = os.ReadFile(filepath.Join(s.Drop, name))
	}
	edit(t, filepath.Join(filepath.Dir(cfg), "hr", "medewerkers.csv"), ";Jansen;", ";Jansen-Bos;")
	mustCLI(t, "--config", cfg, "ingest")
	mustCLI(t, "--config", cfg, "export")
	return r
}

// failThenRecover pushes under the fault (exit 1, drop unchanged, a
// delivery.failed event), clears the fault and pushes again.
func (r *faultRig) failThenRecover(want string, clear func()) {
	t := r.t
	t.Helper()
	failed := len(mustEvents(t, r.cfg, "delivery.failed"))
	code, _, stderr := cli(t, "--config", r.cfg, "push")
	if code != exitFailed || !strings.Contains(stderr, want) {
		t.Fatalf("push under the fault: exit %d, want 1 with %q\n%s", code, want, stderr)
	}
	for name, data := range r.before {
		if got, _ := os.ReadFile(filepath.Join(r.s.Drop, name)); !bytes.Equal(got, data) {
			t.Fatalf("%s changed under its final name during a failed push", name)
		}
	}
	if n := len(mustEvents(t, r.cfg, "delivery.failed")); n != failed+1 {
		t.Fatalf("%d delivery.failed events, want %d", n, failed+1)
	}
	clear()
	mustCLI(t, "--config", r.cfg, "push")
	out := outDir(t, r.cfg)
	for name := range r.before {
		want, _ := os.ReadFile(filepath.Join(out, name))
		if got, _ := os.ReadFile(filepath.Join(r.s.Drop, name)); !bytes.Equal(got, want) {
			t.Fatalf("%s not delivered once the fault was gone", name)
		}
	}
	entries, _ := os.ReadDir(r.s.Drop)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("leftover %s after recovery", e.Name())
		}
	}
}

func TestSFTPFaultDropFolderNotWritable(t *testing.T) {
	slowtest.Require(t)
	r := newFaultRig(t, "5s", nil)
	edit(t, r.cfg, "remote_dir: "+r.s.Drop, "remote_dir: /proc")
	r.failThenRecover("sftp: cannot create", func() { edit(t, r.cfg, "remote_dir: /proc", "remote_dir: "+r.s.Drop) })
}

func TestSFTPFaultRemoteDiskFull(t *testing.T) {
	slowtest.Require(t)
	var mounted bool
	r := newFaultRig(t, "5s", func(s *sshdtest.Server) { mounted = mountSmallDrop(t, s) })
	if !mounted {
		return
	}
	// Fill the drop but for a few hundred bytes: neither file fits.
	// SFTP v3 reports ENOSPC as a plain SSH_FX_FAILURE, on the write.
	r.failThenRecover("cannot write", fillDrop(t, r.s))
}

func TestSFTPFaultFolderSquatsOnAFinalName(t *testing.T) {
	slowtest.Require(t)
	r := newFaultRig(t, "5s", nil)
	// A folder named persons.csv must be found before the first rename,
	// so the set is refused before anything in the drop moves.
	persons := filepath.Join(r.s.Drop, "persons.csv")
	os.Rename(persons, persons+".keep")
	os.Mkdir(persons, 0o700)
	delete(r.before, "persons.csv")
	r.failThenRecover("is a folder on the server", func() {
		os.Remove(persons)
		os.Rename(persons+".keep", persons)
	})
}

func TestSFTPFaultServerStalledPastTimeout(t *testing.T) {
	slowtest.Require(t)
	r := newFaultRig(t, "2s", nil)
	r.s.Pause()
	start := time.Now()
	r.failThenRecover("timeout", func() {
		if time.Since(start) > 30*time.Second {
			t.Errorf("the stalled push took %v", time.Since(start))
		}
		r.s.Resume()
	})
}

func TestSFTPFaultHostKeyChangedBetweenAttempts(t *testing.T) {
	slowtest.Require(t)
	r := newFaultRig(t, "5s", nil)
	edit(t, r.cfg, "retries: 0", "retries: 3")
	r.s.Stop()
	go func() {
		time.Sleep(300 * time.Millisecond) // after the first, refused attempt
		r.s.RotateHostKey()
	}()
	r.failThenRecover("CHANGED", func() {
		os.WriteFile(r.s.KnownHosts, []byte(mustCLI(t, "hostkey", r.s.Addr)), 0o600)
	})
}
