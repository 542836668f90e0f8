//go:build unix

// Unix only: the memory bounds are read from the child's getrusage
// (syscall.Rusage), which Windows does not offer.

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// The hostile HR servers below misbehave as real ones have been seen to
// (or as an attacker would): pages that shift, paging without an end,
// answers without an end, text meant for a terminal. Each case runs the
// real binary against a real TLS server on loopback after a good pull, and
// the state (database, events, kept pages) must be byte for byte as
// before.

// binResult is one run of the built binary.
type binResult struct {
	code           int
	stdout, stderr string
	maxRSS         int64 // bytes
	took           time.Duration
}

// runBin runs the binary with the rig's config, killed after limit.
func (r *pullRig) runBin(bin string, limit time.Duration, args ...string) binResult {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config", r.cfg}, args...)...)
	cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	res := binResult{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		r.t.Fatalf("still running after %s (killed): a pull without an end\n%s", limit, tail(res.stderr))
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		r.t.Fatal(err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.maxRSS = maxRSSBytes(ru)
	}
	return res
}

// snapshot is the state a failed pull must leave as it was: persons,
// contracts, events, rejects and every kept page (names and contents).
func (r *pullRig) snapshot() string {
	r.t.Helper()
	var b strings.Builder
	b.WriteString(r.state())
	_, rejects, _ := r.cli("rejects", "--format", "json")
	b.WriteString(rejects)
	root := filepath.Join(r.dir, "state", "responses")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			fmt.Fprintf(&b, "%s/\n", rel)
			return nil
		}
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %x\n", rel, sha256.Sum256(data))
		return nil
	})
	return b.String()
}

// afasPage is the page number an AFAS request asks for (from 1).
func afasPage(r *http.Request) int {
	q := r.URL.Query()
	skip, _ := strconv.Atoi(q.Get("skip"))
	take, _ := strconv.Atoi(q.Get("take"))
	if take <= 0 {
		return 1
	}
	return skip/take + 1
}

// hostileRig is a source of system against srv: afas alone; entra as the
// provider beside the demo's AFAS CSV files; raet alone. extra lines go in
// the api: block.
func hostileRig(t *testing.T, system, extra string) (*pullRig, *hrAPI) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	t.Setenv("SPENDSYNC_TEST_SECRET", clientSecret)
	extra += "      keep_responses: true\n"
	switch system {
	case "afas":
		srv := newHRAPI(t, "afas", afasRows(t))
		rig := newPullRig(t, "")
		src := afasSource(srv, srv.caFile(rig.dir), extra)
		if strings.Contains(extra, "page_size:") {
			src = strings.Replace(src, "      page_size: 5\n", "", 1)
		}
		return newPullRig(t, src), srv
	case "entra":
		var users []map[string]any
		for _, p := range demoPersons(t) {
			emp := p.fields["employee_number"]
			users = append(users, map[string]any{"id": "id-" + emp, "employeeId": emp, "userPrincipalName": "u" + emp + "@example.nl", "mail": "e" + emp + "@example.nl"})
		}
		srv := newHRAPI(t, "entra", map[string][]map[string]any{"users": users})
		rig := newPullRig(t, "")
		return newPullRig(t, fmt.Sprintf(`  - name: afas
    profile: afas
    persons: %[3]s
    contracts: %[4]s
    date_format: "02-01-2006"
  - name: entra
    profile: entra
    provides: [username, email]
    api:
      url: %[1]s/v1.0
      token_url: %[1]s/oauth/token
      client_id: spendsync-client
      client_secret_env: SPENDSYNC_TEST_SECRET
      ca_file: %[2]s
      page_size: 4
      retries: 1
      timeout: 5s
%[5]s`, srv.srv.URL, srv.caFile(rig.dir), demoFile(t, "medewerkers.csv"), demoFile(t, "dienstverbanden.csv"), extra)), srv
	case "raet":
		sc := systemCases[0]
		srv := newHRAPI(t, "raet", sc.render(demoPersons(t)))
		rig := newPullRig(t, "")
		return newPullRig(t, fmt.Sprintf("  - name: hr\n    profile: raet\n    api:\n      url: %s/iam/v1.0\n      ca_file: %s\n      page_size: 5\n      retries: 1\n      timeout: 5s\n",
			srv.srv.URL, srv.caFile(rig.dir))+strings.ReplaceAll(sc.source, "{url}", srv.srv.URL)+extra), srv
	}
	t.Fatalf("no rig for %s", system)
	return nil, nil
}

// entraPage is the page an entra request asks for (from 1), 4 users a page.
func entraPage(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	return n/4 + 1
}

// entraLink is the absolute next link to the page that starts at skip.
func entraLink(r *http.Request, skip int) string {
	next := *r.URL
	next.Scheme, next.Host = "https", r.Host
	v := next.Query()
	v.Set("$skiptoken", strconv.Itoa(skip))
	next.RawQuery = v.Encode()
	return next.String()
}

type hostileServer struct {
	name   string
	system string
	extra  string // api: lines
	then   string // api: lines added after the good pull
	// fault answers a request itself when it returns true.
	fault func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool
	want  []string // in stderr
	// requests bounds the requests of the failing run (0: no bound).
	requests int
}

var hostileServers = []hostileServer{
	{
		name: "afas page 2 repeats page 1", system: "afas", extra: "      page_size: 2\n",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "T4E_HelloID_Users") && afasPage(r) == 2 {
				writeJSON(w, 200, map[string]any{"skip": 2, "take": 2, "rows": a.rows["T4E_HelloID_Users"][:2]})
				return true
			}
			return false
		},
		want: []string{`page 2 repeats the employee number "000101" of page 1: the pages shifted`, "nothing was changed", "/profitrestservices/connectors/T4E_HelloID_Users"},
	},
	{
		name: "afas contracts page 3 repeats a contract of page 2", system: "afas",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, "T4E_HelloID_Employments") && afasPage(r) == 3 {
				rows := a.rows["T4E_HelloID_Employments"]
				writeJSON(w, 200, map[string]any{"skip": 10, "take": 5, "rows": append([]map[string]any{rows[9]}, rows[11:15]...)})
				return true
			}
			return false
		},
		want: []string{"page 3 repeats the employee number and contract id", "of page 2: the pages shifted"},
	},
	{
		name: "afas ignores skip: the same page for ever", system: "afas",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			writeJSON(w, 200, map[string]any{"skip": 0, "take": 5, "rows": a.rows[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]][:5]})
			return true
		},
		want: []string{"page 2 repeats the employee number", "the pages shifted"}, requests: 2,
	},
	{
		name: "entra next links cycle A to B to A", system: "entra",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, "/users") {
				return false
			}
			p := entraPage(r)
			users := a.rows["users"]
			link := entraLink(r, 4) // page 1 and page 3 lead to page 2
			if p == 2 {
				link = entraLink(r, 8)
			}
			writeJSON(w, 200, map[string]any{"value": users[(p-1)*4 : p*4], "@odata.nextLink": link})
			return true
		},
		want: []string{"the next-page link of page 3 leads back to page 2: the paging loops", "source entra"}, requests: 1 + 3,
	},
	{
		name: "raet empty pages that still link on", system: "raet",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, "/persons") {
				return false
			}
			skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
			rows := []map[string]any{}
			if skip == 0 {
				rows = a.rows["persons"][:5]
			}
			writeJSON(w, 200, map[string]any{"value": rows, "nextLink": fmt.Sprintf("https://api.youforce.com%s?skip=%d&take=5", r.URL.Path, skip+5)})
			return true
		},
		want: []string{"10 empty pages in a row, each linking to another", "source hr"}, requests: 1 + 1 + 10,
	},
	{
		name: "max_pages", system: "afas", then: "      max_pages: 2\n",
		want: []string{"more than 2 pages of persons (sources[0].api.max_pages)"},
	},
	{
		name: "max_rows", system: "afas", then: "      max_rows: 11\n",
		want: []string{"more than 11 rows of persons (sources[0].api.max_rows)"},
	},
	{
		name: "max_body, not retried", system: "afas", then: "      max_body: 1000\n",
		want: []string{"the answer is larger than 1000 bytes (sources[0].api.max_body)"}, requests: 1,
	},
	{
		name: "deadline", system: "afas", then: "      deadline: 1s\n",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if afasPage(r) == 2 {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return true
			}
			return false
		},
		want: []string{"the pull took longer than 1s (sources[0].api.deadline)"},
	},
	{
		name: "a redirect to another host fails at once", system: "afas",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "https://elsewhere.example.invalid/profitrestservices/x", http.StatusFound)
			return true
		},
		want: []string{"redirect to another host or scheme (https://elsewhere.example.invalid) refused"}, requests: 1,
	},
	{
		name: "a redirect to plain http fails at once", system: "afas",
		fault: func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			http.Redirect(w, r, "http://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
			return true
		},
		want: []string{"redirect to another host or scheme (http://127.0.0.1:"}, requests: 1,
	},
}

func TestHostileHRServersFailTheirPullAndChangeNothing(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	for _, tc := range hostileServers {
		t.Run(tc.name, func(t *testing.T) {
			rig, srv := hostileRig(t, tc.system, tc.extra)
			if code, out, stderr := rig.cli("ingest"); code != exitOK && code != exitRejected {
				t.Fatalf("first ingest: exit %d\n%s\n%s", code, out, stderr)
			}
			before := rig.snapshot()
			if tc.then != "" {
				edit(t, rig.cfg, "      keep_responses: true\n", "      keep_responses: true\n"+tc.then)
			}
			srv.mu.Lock()
			srv.requests = nil
			srv.mu.Unlock()
			if tc.fault != nil {
				srv.fault = func(w http.ResponseWriter, r *http.Request, _ int) bool { return tc.fault(srv, w, r) }
			}
			res := rig.runBin(bin, 60*time.Second, "ingest")
			t.Logf("exit %d in %s: %s", res.code, res.took.Round(time.Millisecond), res.stderr)
			if res.code != exitFailed {
				t.Fatalf("exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
				}
			}
			if n := srv.count("/") - srv.count("/oauth/token"); tc.requests > 0 && n > tc.requests {
				t.Errorf("%d requests, want at most %d", n, tc.requests)
			}
			if after := rig.snapshot(); after != before {
				t.Errorf("a failed pull changed the state:\n--- before\n%s\n--- after\n%s", before, after)
			}
			assertNoSecrets(t, rig, res.stdout+res.stderr)
		})
	}
}

// TestAPageWhoseAnswerBreaksOffIsAskedAgainAndReadOn: a body cut off in
// the middle (after rows were handed on) is asked again within retries;
// the rows already read must come back the same, else the pull fails.
func TestAPageWhoseAnswerBreaksOffIsAskedAgainAndReadOn(t *testing.T) {
	cut := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(200)
		w.Write([]byte(body[:len(body)*2/3]))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}
	page2 := func(a *hrAPI, change bool) string {
		rows := a.rows["T4E_HelloID_Users"][5:10]
		if change {
			rows = append([]map[string]any{a.rows["T4E_HelloID_Users"][11]}, rows[1:]...)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"skip":5,"take":5,"rows":[`)
		for i, r := range rows {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, mustJSON(r))
		}
		b.WriteString("]}")
		return b.String()
	}
	t.Run("the same rows: read on", func(t *testing.T) {
		rig, srv := hostileRig(t, "afas", "")
		want := rig.dump()
		fresh := cloneRig(t, rig)
		broke := false
		srv.fault = func(w http.ResponseWriter, r *http.Request, page int) bool {
			if strings.HasSuffix(r.URL.Path, "T4E_HelloID_Users") && page == 2 && !broke {
				broke = true
				cut(w, page2(srv, false))
				return true
			}
			return false
		}
		if got := fresh.dump(); got != want || !broke {
			t.Fatalf("after a broken page (broke %v):\n%s\nwant\n%s", broke, got, want)
		}
	})
	t.Run("changed rows: the pull fails", func(t *testing.T) {
		rig, srv := hostileRig(t, "afas", "")
		if code, _, stderr := rig.cli("ingest"); code != exitOK && code != exitRejected {
			t.Fatal(stderr)
		}
		before := rig.snapshot()
		n := 0
		srv.fault = func(w http.ResponseWriter, r *http.Request, page int) bool {
			if strings.HasSuffix(r.URL.Path, "T4E_HelloID_Users") && page == 2 {
				n++
				cut(w, page2(srv, n > 1))
				return true
			}
			return false
		}
		code, _, stderr := rig.cli("ingest")
		if code != exitFailed || !strings.Contains(stderr, "page 2 came back different when asked again") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if after := rig.snapshot(); after != before {
			t.Errorf("state changed:\n%s\n---\n%s", before, after)
		}
	})
}

// A key twice on one page is the HR data's own duplicate, not a shift: a
// reject (exit 5), as the same rows in a file are.
func TestADuplicateEmployeeWithinOnePageStaysAReject(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	rows := afasRows(t)
	rows["T4E_HelloID_Users"][1]["Medewerker"] = rows["T4E_HelloID_Users"][0]["Medewerker"]
	srv := newHRAPI(t, "afas", rows)
	rig := newPullRig(t, "")
	rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), ""))
	code, out, stderr := rig.cli("ingest")
	if code != exitRejected {
		t.Fatalf("exit %d, want 5\n%s\n%s", code, out, stderr)
	}
	_, rej, _ := rig.cli("rejects", "--format", "json")
	if !strings.Contains(rej, "duplicate employee number") {
		t.Fatalf("rejects: %s", rej)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// cloneRig is a second rig with the same config and a database of its own.
func cloneRig(t *testing.T, r *pullRig) *pullRig {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "spendsync.yaml")
	if err := os.WriteFile(cfg, []byte(mustRead(t, r.cfg)), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pullRig{t: t, dir: dir, cfg: cfg}
}

// maxRSSBytes reads a child's peak resident set: kilobytes on Linux,
// bytes on macOS.
func maxRSSBytes(ru *syscall.Rusage) int64 {
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) * 1024
}

// gzipOf compresses n bytes made by repeating chunk between head and tail:
// a small answer that decodes to a huge one.
func gzipOf(t *testing.T, head string, chunk string, n int, tail string) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write([]byte(head))
	block := []byte(strings.Repeat(chunk, (1<<20)/len(chunk)))
	for written := 0; written < n; written += len(block) {
		zw.Write(block)
	}
	zw.Write([]byte(tail))
	zw.Close()
	return b.Bytes()
}

// padFields writes fields beside the rows, each 512 KiB: every value is
// small, the answer as a whole is not.
func padFields(w io.Writer, from, n int) error {
	pad := strings.Repeat("A", 512<<10)
	for i := from; i < from+n; i++ {
		if _, err := fmt.Fprintf(w, `"pad%d":"%s",`, i, pad); err != nil {
			return err
		}
	}
	return nil
}

// An answer of any size or shape costs a pull a bounded amount of memory:
// the body streams through api.max_body (counted after gzip) and a bound
// on one value, never into a buffer that grows with it.
func TestHostileAnswersKeepAPullsMemoryUnder150MB(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	const limit = 150 << 20
	oneValue := gzipOf(t, `{"skip":0,"take":5,"rows":[{"Medewerker":"`, "A", 256<<20, `"}]}`)
	var fields bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&fields, gzip.BestCompression)
	zw.Write([]byte(`{"skip":0,"take":5,`))
	padFields(zw, 0, 512) // 256 MiB decoded
	zw.Write([]byte(`"rows":[]}`))
	zw.Close()
	t.Logf("gzip bombs: %d and %d bytes, each 256 MiB decoded", len(oneValue), fields.Len())
	cases := []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		want  string
	}{
		{"a gzip bomb: one 256 MiB value", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(oneValue)
		}, "larger than 1 MiB"},
		{"a gzip bomb: 256 MiB of small fields", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(fields.Bytes())
		}, "the answer is larger than 64 MiB (sources[0].api.max_body)"},
		{"a huge body: 300 MiB of small fields", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"skip":0,"take":5,`)
			padFields(w, 0, 600)
			io.WriteString(w, `"rows":[]}`)
		}, "the answer is larger than 64 MiB (sources[0].api.max_body)"},
		{"an endless body of fields", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"skip":0,"take":5,`)
			for i := 0; padFields(w, i, 1) == nil; i++ {
			}
		}, "the answer is larger than 64 MiB (sources[0].api.max_body)"},
		{"5 pages of 60 rows of almost 1 MiB each, then a broken page", func(w http.ResponseWriter, r *http.Request) {
			page := afasPage(r)
			if page > 5 {
				io.WriteString(w, `{"skip":`)
				return
			}
			io.WriteString(w, `{"skip":0,"take":5,"rows":[`)
			pad := strings.Repeat("A", 1000_000)
			for i := range 60 {
				if i > 0 {
					io.WriteString(w, ",")
				}
				fmt.Fprintf(w, `{"Medewerker":"%06d","Roepnaam":"Jan","Geboortenaam":"Jansen","Geslacht":"M","Naamgebruik_code":0,"Email_werk":"j%d@example.nl","notes":"%s"}`, 900000+page*100+i, page*100+i, pad)
			}
			io.WriteString(w, `]}`)
		}, "page 6 is not the expected JSON"},
		{"an endless body of white space", func(w http.ResponseWriter, _ *http.Request) {
			io.WriteString(w, `{"skip":0,"take":5,"rows":[`)
			sp := []byte(strings.Repeat(" ", 64<<10))
			for {
				if _, err := w.Write(sp); err != nil {
					return
				}
			}
		}, "larger than 1 MiB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rig, srv := hostileRig(t, "afas", "")
			if code, out, stderr := rig.cli("ingest"); code != exitOK && code != exitRejected {
				t.Fatalf("first ingest: exit %d\n%s\n%s", code, out, stderr)
			}
			before := rig.snapshot()
			srv.fault = func(w http.ResponseWriter, r *http.Request, page int) bool {
				w.Header().Set("Content-Type", "application/json")
				tc.serve(w, r)
				return true
			}
			res := rig.runBin(bin, 120*time.Second, "ingest")
			t.Logf("exit %d in %s, peak RSS %d MiB: %s", res.code, res.took.Round(time.Millisecond), res.maxRSS>>20, res.stderr)
			if tc.want != "" && (res.code != exitFailed || !strings.Contains(res.stderr, tc.want)) {
				t.Fatalf("exit %d, want 1 with %q\n%s", res.code, tc.want, res.stderr)
			}
			if res.maxRSS == 0 || res.maxRSS > limit {
				t.Errorf("peak RSS %d MiB, want under %d MiB", res.maxRSS>>20, limit>>20)
			}
			if after := rig.snapshot(); after != before {
				t.Errorf("a failed pull changed the state:\n--- before\n%s\n--- after\n%s", before, after)
			}
		})
	}
}

// Server text reaches a message only escaped and cut (internal/show): an
// OAuth2 error code, a JSON token where an object belongs, the host of a
// refused next link.
func TestServerTextInMessagesIsEscapedAndBounded(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	esc := "\x1b[2J\x1b]0;pwned\x07"
	cases := []struct {
		name, system string
		fault        func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool
		want         string
	}{
		{"a 100 KB OAuth2 error code with ESC bytes", "raet", func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/oauth/token" {
				return false
			}
			writeJSON(w, 400, map[string]string{"error": esc + strings.Repeat("invalid_client", 100<<10/14) + esc})
			return true
		}, "token request to /oauth/token: HTTP 400 (\\x1b[2J"},
		{"a 200 KB JSON string where the answer's object belongs", "afas", func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/oauth/token" {
				return false
			}
			writeJSON(w, 200, esc+strings.Repeat("x", 200<<10))
			return true
		}, `page 1 is not the expected JSON: expected "{", found "\x1b[2J`},
		{"a 200 KB next-link host with a bidi override", "entra", func(a *hrAPI, w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/oauth/token" {
				return false
			}
			writeJSON(w, 200, map[string]any{"value": a.rows["users"][:4],
				"@odata.nextLink": "https://\u202e" + strings.Repeat("a", 200<<10) + ".example/v1.0/users"})
			return true
		}, `next-page link points at another host ("https://\u202eaaaa`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rig, srv := hostileRig(t, tc.system, "")
			if code, out, stderr := rig.cli("ingest"); code != exitOK && code != exitRejected {
				t.Fatalf("first ingest: exit %d\n%s\n%s", code, out, stderr)
			}
			before := rig.snapshot()
			// The token endpoint answers before any fault is asked:
			// intercept in front of the whole API.
			srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tc.fault(srv, w, r) {
					srv.serve(w, r)
				}
			})
			res := rig.runBin(bin, 60*time.Second, "ingest")
			t.Logf("exit %d: %s", res.code, res.stderr)
			if res.code != exitFailed || !strings.Contains(res.stderr, tc.want) {
				t.Fatalf("exit %d, want 1 with %q\n%s", res.code, tc.want, res.stderr)
			}
			if strings.ContainsAny(res.stderr, "\x1b\x07\u202e") {
				t.Errorf("raw control or bidi characters reached stderr: %q", res.stderr)
			}
			if len(res.stderr) > 2000 {
				t.Errorf("stderr holds %d bytes of server text, want it cut", len(res.stderr))
			}
			if after := rig.snapshot(); after != before {
				t.Errorf("a failed pull changed the state:\n--- before\n%s\n--- after\n%s", before, after)
			}
		})
	}
}

// selfSigned is a certificate for 127.0.0.1 valid from notBefore to
// notAfter, its own CA.
func selfSigned(t *testing.T, notBefore, notAfter time.Time) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "hr.example"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// An expired certificate is the server operator's to renew: adding its CA
// (the advice for an unknown one) would not help.
func TestAnExpiredServerCertificateSaysSoInsteadOfAddACA(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	now := time.Now().UTC().Truncate(time.Second)
	cases := []struct {
		name                string
		notBefore, notAfter time.Time
		want                string
	}{
		{"expired", now.Add(-48 * time.Hour), now.Add(-24 * time.Hour),
			"the server's certificate has expired (not after " + now.Add(-24*time.Hour).Format(time.RFC3339) + "); the server's operator must renew it"},
		{"not yet valid", now.Add(24 * time.Hour), now.Add(48 * time.Hour),
			"the server's certificate is not valid yet (not before " + now.Add(24*time.Hour).Format(time.RFC3339) + ")"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cert := selfSigned(t, tc.notBefore, tc.notAfter)
			srv := newHRAPI(t, "afas", afasRows(t), func(s *httptest.Server) { s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}} })
			rig := newPullRig(t, "")
			rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), ""))
			code, _, stderr := rig.cli("ingest")
			if code != exitFailed || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 1 with %q:\n%s", code, tc.want, stderr)
			}
			if strings.Contains(stderr, "ca_file") || strings.Contains(stderr, "attempts") {
				t.Errorf("wrong advice, or retried: %s", stderr)
			}
		})
	}
}

// A kept pull with pages missing (or without its manifest) would replay
// as contracts or persons gone: refused, and nothing changes.
func TestAnIncompleteKeptPullIsNotReplayed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove []string
		want   string
	}{
		{"two contracts pages missing", []string{"contracts-0002.json", "contracts-0003.json"}, "contracts-0002.json is missing (manifest.json lists 4 contracts pages); nothing was changed"},
		{"the last persons page missing", []string{"persons-0003.json"}, "persons-0003.json is missing (manifest.json lists 3 persons pages)"},
		{"no manifest", []string{"manifest.json"}, "is not a whole kept pull: it has no manifest.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig, _ := hostileRig(t, "afas", "")
			if code, _, stderr := rig.cli("ingest"); code != exitOK && code != exitRejected {
				t.Fatal(stderr)
			}
			pulls, _ := filepath.Glob(filepath.Join(rig.dir, "state", "responses", "afas", "*"))
			if len(pulls) != 1 {
				t.Fatalf("kept pulls: %v", pulls)
			}
			for _, f := range tc.remove {
				if err := os.Remove(filepath.Join(pulls[0], f)); err != nil {
					t.Fatal(err)
				}
			}
			before := rig.snapshot()
			code, out, stderr := rig.cli("ingest", "--source", "afas", "--file", pulls[0])
			if code != exitFailed || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 1 with %q\n%s\n%s", code, tc.want, out, stderr)
			}
			if after := rig.snapshot(); after != before {
				t.Errorf("a refused replay changed the state:\n--- before\n%s\n--- after\n%s", before, after)
			}
		})
	}
}

// A ${VAR} in an api: value that fails at run time is named, never shown,
// as the config loader does for its own errors.
func TestARunTimePullErrorHidesValuesFromTheEnvironment(t *testing.T) {
	const secret = "Secret_Connector_7f3a9c"
	t.Setenv("SPENDSYNC_TEST_CONNECTOR", secret)
	rig, _ := hostileRig(t, "afas", "      persons: ${SPENDSYNC_TEST_CONNECTOR}?orderbyfieldids=Medewerker\n")
	code, out, stderr := rig.cli("ingest")
	if code != exitFailed || !strings.Contains(stderr, "/profitrestservices/connectors/${SPENDSYNC_TEST_CONNECTOR}: HTTP 404") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, secret) {
		t.Fatalf("the value of ${SPENDSYNC_TEST_CONNECTOR} reached the output: %s", stderr)
	}
}
