//go:build unix

// Command testserve starts the SFTP test servers (OpenSSH sshd, ProFTPD
// mod_sftp, rclone) on the Linux side for test binaries built for Windows
// and run under Wine: Wine shares the host's loopback, so the Windows side
// reaches them on 127.0.0.1, and their folders are on a path the Windows
// side sees too (Z:\ is the root's /). .ci/windows starts it and hands its
// address to the tests in SPENDSYNC_TEST_SERVERS; internal/sshdtest,
// internal/proftpdtest and internal/rclonetest ask it for servers on
// Windows (remote_windows.go) with the same API they offer on Unix.
//
// It serves plain HTTP on loopback, JSON answers:
//
//	POST /start?kind=sshd|proftpd|proftpd-norename|rclone  a new server
//	     (sshd: &rsa=1 adds an RSA host key, &config=LINES adds to sshd_config)
//	POST /do?id=ID&op=stop|restart|pause|resume|rotate      an sshd control
//	POST /do?id=ID&op=writekey&name=NAME                    another key pair
//	POST /do?id=ID&op=authorize  (body: authorized_keys line)
//	POST /do?id=ID&op=mount&size=64k|fill|unfill            a full disk
//	POST /close?id=ID                                       stop, remove
//	POST /chmod?path=UNIXPATH&mode=0644                     a file's mode under Wine
//
// A server the helper would skip for (not installed) answers 424 with the
// reason; other failures answer 500.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/spendsync/spendsync/internal/proftpdtest"
	"github.com/spendsync/spendsync/internal/rclonetest"
	"github.com/spendsync/spendsync/internal/sshdtest"
	"github.com/spendsync/spendsync/internal/testserve/remote"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "where to listen (loopback)")
	ready := flag.String("ready", "", "write the address listened on to this file once listening")
	root := flag.String("root", "/", "the root Wine runs in, for /chmod")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *ready != "" {
		if err := os.WriteFile(*ready+".new", []byte(l.Addr().String()), 0o600); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(*ready+".new", *ready); err != nil {
			log.Fatal(err)
		}
	}
	b := &broker{servers: map[string]*entry{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /start", b.start)
	mux.HandleFunc("POST /do", b.do)
	mux.HandleFunc("POST /close", b.close)
	mux.HandleFunc("POST /chmod", func(w http.ResponseWriter, r *http.Request) { chmod(w, r, *root) })
	log.Fatal(http.Serve(l, mux))
}

type entry struct {
	tb   *tb
	sshd *sshdtest.Server // nil for ProFTPD and rclone
}

type broker struct {
	mu      sync.Mutex
	next    int
	servers map[string]*entry
}

func (b *broker) start(w http.ResponseWriter, r *http.Request) {
	t := &tb{}
	var info remote.Server
	e := &entry{tb: t}
	if !answer(w, t, func() {
		switch kind := r.URL.Query().Get("kind"); kind {
		case "sshd":
			q := r.URL.Query()
			s := sshdtest.StartWith(t, sshdtest.Options{RSAHostKey: q.Get("rsa") == "1", Config: q.Get("config")})
			e.sshd = s
			info = remote.Server{Dir: s.Dir, Addr: s.Addr, User: s.User, HostKey: authorized(s.HostKey), KnownHosts: s.KnownHosts, ClientKey: s.ClientKey, Drop: s.Drop}
		case "proftpd", "proftpd-norename":
			s := proftpdtest.Start(t, kind == "proftpd")
			info = remote.Server{Dir: s.Dir, Addr: s.Addr, User: s.User, KnownHosts: s.KnownHosts, ClientKey: s.ClientKey, Drop: s.Drop}
		case "rclone":
			s := rclonetest.Start(t)
			info = remote.Server{Dir: s.Dir, Addr: s.Addr, User: s.User, KnownHosts: s.KnownHosts, ClientKey: s.ClientKey, Drop: s.Drop}
		default:
			t.Fatalf("unknown kind %q", kind)
		}
	}) {
		t.cleanup()
		return
	}
	b.mu.Lock()
	b.next++
	info.ID = strconv.Itoa(b.next)
	b.servers[info.ID] = e
	b.mu.Unlock()
	json.NewEncoder(w).Encode(info)
}

func (b *broker) get(w http.ResponseWriter, r *http.Request) *entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.servers[r.URL.Query().Get("id")]
	if e == nil {
		http.Error(w, "no such server", http.StatusNotFound)
	}
	return e
}

func (b *broker) do(w http.ResponseWriter, r *http.Request) {
	e := b.get(w, r)
	if e == nil {
		return
	}
	s := e.sshd
	if s == nil {
		http.Error(w, "only sshd takes controls", http.StatusBadRequest)
		return
	}
	var out remote.Key
	if !answer(w, e.tb, func() {
		q := r.URL.Query()
		switch q.Get("op") {
		case "stop":
			s.Stop()
		case "restart":
			s.Restart()
		case "pause":
			s.Pause()
		case "resume":
			s.Resume()
		case "rotate":
			out.Key = authorized(s.RotateHostKey())
		case "writekey":
			path, pub := s.WriteKey(q.Get("name"))
			out = remote.Key{Path: path, Key: authorized(pub)}
		case "mount": // a small tmpfs as the drop: a full disk on the server
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+q.Get("size"), "tmpfs", s.Drop).CombinedOutput(); err != nil {
				e.tb.Fatalf("mount a tmpfs as the drop: %v %s", err, out)
			}
			e.tb.Cleanup(func() { exec.Command("umount", "-l", s.Drop).Run() })
		case "fill":
			f, err := os.Create(filepath.Join(s.Drop, "filler"))
			if err != nil {
				e.tb.Fatal(err)
			}
			chunk := make([]byte, 512)
			for {
				if _, err := f.Write(chunk); err != nil {
					break
				}
			}
			f.Close()
		case "unfill":
			os.Remove(filepath.Join(s.Drop, "filler"))
		case "authorize":
			var line [4096]byte
			n, _ := r.Body.Read(line[:])
			pub, _, _, _, err := ssh.ParseAuthorizedKey(line[:n])
			if err != nil {
				e.tb.Fatalf("authorize: %v", err)
			}
			s.Authorize(pub)
		default:
			e.tb.Fatalf("unknown op %q", q.Get("op"))
		}
	}) {
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (b *broker) close(w http.ResponseWriter, r *http.Request) {
	e := b.get(w, r)
	if e == nil {
		return
	}
	b.mu.Lock()
	delete(b.servers, r.URL.Query().Get("id"))
	b.mu.Unlock()
	e.tb.cleanup()
}

// chmod sets the mode of a file Wine sees at path (a Unix path inside
// root): Wine keeps a file's DACL as its mode and ignores SetSecurityInfo
// on an existing file, so this is how a Windows test opens a file up.
func chmod(w http.ResponseWriter, r *http.Request, root string) {
	q := r.URL.Query()
	mode, err := strconv.ParseUint(q.Get("mode"), 8, 32)
	if err == nil {
		err = os.Chmod(filepath.Join(root, filepath.Clean("/"+q.Get("path"))), os.FileMode(mode))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func authorized(k ssh.PublicKey) string { return string(ssh.MarshalAuthorizedKey(k)) }

// answer runs fn, which reports trouble through t as a test would, and
// writes the error (424 for a skip) when it did; it says whether fn ran
// through.
func answer(w http.ResponseWriter, t *tb, fn func()) (ok bool) {
	defer func() {
		switch v := recover().(type) {
		case nil:
		case skipped:
			http.Error(w, string(v), http.StatusFailedDependency)
		case failed:
			http.Error(w, string(v), http.StatusInternalServerError)
		default:
			http.Error(w, fmt.Sprint(v), http.StatusInternalServerError)
		}
	}()
	fn()
	return true
}

type (
	skipped string
	failed  string
)

// tb lets the test helpers, written for a test's testing.TB, run outside
// a test: Fatal and Skip panic (answer recovers), TempDir and Cleanup
// live until the server is closed. The embedded interface is nil: a
// method not overridden here panics, and answer reports it.
type tb struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (t *tb) Helper()                           {}
func (t *tb) Name() string                      { return "testserve" }
func (t *tb) Logf(format string, args ...any)   { log.Printf(format, args...) }
func (t *tb) Log(args ...any)                   { log.Print(args...) }
func (t *tb) Fatal(args ...any)                 { panic(failed(fmt.Sprint(args...))) }
func (t *tb) Fatalf(format string, args ...any) { panic(failed(fmt.Sprintf(format, args...))) }
func (t *tb) Error(args ...any)                 { panic(failed(fmt.Sprint(args...))) }
func (t *tb) Errorf(format string, args ...any) { panic(failed(fmt.Sprintf(format, args...))) }
func (t *tb) FailNow()                          { panic(failed("failed")) }
func (t *tb) Skip(args ...any)                  { panic(skipped(fmt.Sprint(args...))) }
func (t *tb) Skipf(format string, args ...any)  { panic(skipped(fmt.Sprintf(format, args...))) }
func (t *tb) SkipNow()                          { panic(skipped("skipped")) }

func (t *tb) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *tb) TempDir() string {
	dir, err := os.MkdirTemp("", "testserve-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *tb) cleanup() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
