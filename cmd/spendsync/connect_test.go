package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/scimtest"
)

const scimToken = "scim-secret-7f3a9c1e" // must never appear anywhere spendsync writes

// scimEnv is one snapshot source, a folder target and a SCIM service.
type scimEnv struct {
	t                         *testing.T
	dir, cfg, persons, contrs string
	scim                      *scimtest.Server
}

func newSCIMEnv(t *testing.T, extra string) *scimEnv {
	t.Helper()
	dir := t.TempDir()
	e := &scimEnv{t: t, dir: dir, cfg: filepath.Join(dir, "spendsync.yaml"),
		persons: filepath.Join(dir, "persons.csv"), contrs: filepath.Join(dir, "contracts.csv")}
	e.scim = scimtest.Start(t, scimToken)
	t.Setenv("TEST_SCIM_TOKEN", scimToken)
	os.MkdirAll(filepath.Join(dir, "drop"), 0o700)
	yaml := "database: state/db\nsources:\n  - {name: hr, persons: persons.csv, contracts: contracts.csv}\n" +
		"rules: {thresholds: {max_removals: 0, max_removal_percent: 0}}\nmetrics: state/metrics.prom\n" +
		"target:\n  dir: {path: drop}\n  scim:\n    url: " + e.scim.URL + "\n    token_env: TEST_SCIM_TOKEN\n    ca_file: " + e.scim.CAFile + "\n" + extra
	if err := os.WriteFile(e.cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// hr writes the HR files: persons as "emp;first;last;email" lines, every
// person with one open contract.
func (e *scimEnv) hr(persons ...string) {
	e.t.Helper()
	var p, c strings.Builder
	p.WriteString("employee_number;first_name;last_name;email;username\n")
	c.WriteString("employee_number;contract_id;start_date;end_date;ou_code;function_code\n")
	for _, line := range persons {
		f := strings.Split(line, ";")
		p.WriteString(line + ";" + f[0] + "\n")
		c.WriteString(f[0] + ";c" + f[0] + ";2020-01-01;;OU1;F1\n")
	}
	os.WriteFile(e.persons, []byte(p.String()), 0o600)
	os.WriteFile(e.contrs, []byte(c.String()), 0o600)
}

func (e *scimEnv) cli(args ...string) (int, string, string) {
	e.t.Helper()
	return cli(e.t, append([]string{"--config", e.cfg}, args...)...)
}

func (e *scimEnv) mustCLI(args ...string) string {
	e.t.Helper()
	code, out, stderr := e.cli(args...)
	if code != 0 {
		e.t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, stderr)
	}
	return out + stderr
}

func (e *scimEnv) active(userName string) bool {
	e.t.Helper()
	u := e.scim.User(userName)
	if u == nil {
		e.t.Fatalf("no user %s at the SCIM server", userName)
	}
	a, _ := u["active"].(bool)
	return a
}

func (e *scimEnv) events(kind string) string {
	e.t.Helper()
	return e.mustCLI("events", "--kind", kind, "--format", "csv")
}

// lastExportID is the export the export folder holds now, "" for none.
func (e *scimEnv) lastExportID() string {
	m, err := export.ReadManifest(filepath.Join(e.dir, "state", "out"))
	if err != nil {
		return ""
	}
	return m.ExportID
}

func (e *scimEnv) seed() {
	e.scim.Add("a@x.nl", "001", "Ann", "Aa", true)
	e.scim.Add("b@x.nl", "002", "Bob", "Bb", true)
	e.scim.Add("c@x.nl", "003", "Cor", "Cc", true)
}

var threeSCIM = []string{"001;Ann;Aa;a@x.nl", "002;Bob;Bb;b@x.nl", "003;Cor;Cc;c@x.nl"}

func TestLeaverIsSuspendedAtTheSCIMServerByTheRunThatIngestsItBeforeTheExport(t *testing.T) {
	e := newSCIMEnv(t, "")
	e.seed()
	e.hr(threeSCIM...)
	e.mustCLI("run")
	if w := e.scim.Writes(); len(w) != 0 {
		t.Fatalf("nobody left, yet the first run wrote to the SCIM server: %v", w)
	}
	before := e.lastExportID()
	// At the moment the suspension arrives, the export that removes 003
	// must not exist yet.
	var mu sync.Mutex
	var exportAtSuspend []string
	e.scim.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch {
			mu.Lock()
			exportAtSuspend = append(exportAtSuspend, e.lastExportID())
			mu.Unlock()
		}
		return false
	}
	e.hr(threeSCIM[:2]...)
	e.mustCLI("run")
	if e.active("c@x.nl") {
		t.Fatal("003 left in today's HR file but is still active at the SCIM server")
	}
	if !e.active("a@x.nl") || !e.active("b@x.nl") {
		t.Fatal("a current person was suspended")
	}
	if len(exportAtSuspend) != 1 || exportAtSuspend[0] != before {
		t.Fatalf("the suspension came after the export: export at suspension %v, before the run %s, after %s", exportAtSuspend, before, e.lastExportID())
	}
	if ev := e.events("connect.suspended"); !strings.Contains(ev, "003") || strings.Count(ev, "\n") != 2 {
		t.Fatalf("want one connect.suspended for 003:\n%s", ev)
	}
	var evs []struct {
		Actor   string         `json:"actor"`
		RunID   int64          `json:"run_id"`
		Source  string         `json:"source"`
		Details map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(e.mustCLI("events", "--kind", "connect.suspended", "--format", "json")), &evs); err != nil || len(evs) != 1 {
		t.Fatalf("events: %v %d", err, len(evs))
	}
	if ev := evs[0]; ev.Actor == "" || ev.RunID == 0 || ev.Source != "connect" || ev.Details["method"] != "PATCH" || ev.Details["scim_id"] == "" {
		t.Fatalf("connect.suspended lacks actor, run or details: %+v", ev)
	}
	// Idempotent: the next run writes nothing.
	writes := len(e.scim.Writes())
	e.mustCLI("run")
	if n := len(e.scim.Writes()); n != writes {
		t.Fatalf("a run with nothing new wrote to the SCIM server: %v", e.scim.Writes()[writes:])
	}
	// 003 returns: reactivated by the ingest.
	e.hr(threeSCIM...)
	e.mustCLI("ingest")
	if !e.active("c@x.nl") {
		t.Fatal("003 came back but stays suspended")
	}
	if ev := e.events("connect.reactivated"); !strings.Contains(ev, "003") {
		t.Fatalf("no connect.reactivated for 003:\n%s", ev)
	}
}

func TestBlockAndUnblockSuspendAndReactivateAtTheSCIMServer(t *testing.T) {
	e := newSCIMEnv(t, "")
	e.seed()
	e.hr(threeSCIM...)
	e.mustCLI("run")
	e.mustCLI("person", "block", "002", "--reason", "ticket 4711", "--push")
	if e.active("b@x.nl") {
		t.Fatal("a blocked person is still active at the SCIM server")
	}
	e.mustCLI("person", "unblock", "002", "--push")
	if !e.active("b@x.nl") {
		t.Fatal("an unblocked person stays suspended")
	}
	// Without --push too: the login layer is told at once.
	e.mustCLI("person", "block", "001", "--reason", "x")
	if e.active("a@x.nl") {
		t.Fatal("person block without --push left the user active")
	}
}

func TestPushRenamesAndCreatesAtTheSCIMServer(t *testing.T) {
	for _, noPatch := range []bool{false, true} {
		name := "patch"
		if noPatch {
			name = "put"
		}
		t.Run(name, func(t *testing.T) {
			e := newSCIMEnv(t, "    create: true\n")
			e.scim.NoPatch = noPatch
			e.seed()
			e.hr(threeSCIM...)
			e.mustCLI("run")
			// 001 marries and gets a new email; 004 joins.
			e.hr("001;Ann;Dd;ann.dd@x.nl", "002;Bob;Bb;b@x.nl", "003;Cor;Cc;c@x.nl", "004;Eva;Ee;e@x.nl")
			e.mustCLI("run")
			if e.scim.User("a@x.nl") != nil {
				t.Fatal("the old userName is still at the server")
			}
			u := e.scim.User("ann.dd@x.nl")
			if u == nil || u["name"].(map[string]any)["familyName"] != "Dd" || u["externalId"] != "001" {
				t.Fatalf("rename not carried: %v", u)
			}
			if !e.active("e@x.nl") || e.scim.Count() != 4 {
				t.Fatalf("004 not created: %d users", e.scim.Count())
			}
			for _, w := range e.scim.Writes() {
				if noPatch && strings.HasPrefix(w, "PATCH") {
					t.Fatalf("the server does not support PATCH, yet it was sent: %v", e.scim.Writes())
				}
				if !noPatch && strings.HasPrefix(w, "PUT") {
					t.Fatalf("PUT sent to a server that supports PATCH: %v", e.scim.Writes())
				}
			}
			// Leave under PUT too.
			e.hr("001;Ann;Dd;ann.dd@x.nl", "002;Bob;Bb;b@x.nl", "003;Cor;Cc;c@x.nl")
			e.mustCLI("run")
			if e.active("e@x.nl") {
				t.Fatal("004 left but is active")
			}
			if ev := e.events("connect.updated") + e.events("connect.created"); !strings.Contains(ev, "001") || !strings.Contains(ev, "004") {
				t.Fatalf("events:\n%s", ev)
			}
		})
	}
}

// statusJSON is status --json's connect block.
func (e *scimEnv) connectStatus() map[string]any {
	e.t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(e.mustCLI("status", "--json")), &v); err != nil {
		e.t.Fatal(err)
	}
	c, _ := v["connect"].(map[string]any)
	return c
}

func TestSCIMFailuresAreRetriedByTheNextCommandAndNeverBlockTheDelivery(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		recovers   bool // within the same command's retries
	}{
		{http.StatusUnauthorized, "", false},
		{http.StatusForbidden, "", false},
		{http.StatusNotFound, "", false},
		{http.StatusConflict, "", false},
		{http.StatusTooManyRequests, "1", true},
		{http.StatusInternalServerError, "", true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			e := newSCIMEnv(t, "    retries: 2\n")
			e.seed()
			e.hr(threeSCIM...)
			e.mustCLI("run")
			var mu sync.Mutex
			failures := 0
			e.scim.Fault = func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodPatch {
					return false
				}
				mu.Lock()
				defer mu.Unlock()
				if tc.recovers && failures >= 1 {
					return false
				}
				failures++
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.Header().Set("Content-Type", "application/scim+json")
				w.WriteHeader(tc.status)
				// Hostile server text: must reach the user escaped and cut.
				w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"` + http.StatusText(tc.status) + `","detail":"\u001b[31m` + strings.Repeat("x", 500) + `"}`))
				return true
			}
			e.hr(threeSCIM[:2]...)
			code, out, stderr := e.cli("run")
			delivered := e.events("delivery.ok")
			if strings.Count(delivered, "\n") != 3 { // header and two deliveries
				t.Fatalf("the delivery must happen whatever the SCIM server says:\n%s\n%s", delivered, stderr)
			}
			if tc.recovers {
				if code != 0 || e.active("c@x.nl") {
					t.Fatalf("a %d then success must suspend within the command: exit %d\n%s%s", tc.status, code, out, stderr)
				}
				return
			}
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			if strings.Contains(stderr, "\x1b") || strings.Contains(stderr, strings.Repeat("x", 300)) {
				t.Fatalf("server text reached the user unescaped or uncut:\n%q", stderr)
			}
			if !e.active("c@x.nl") {
				t.Fatal("the failed call suspended anyway?")
			}
			if st := e.connectStatus(); st["failing"] != float64(1) {
				t.Fatalf("status must list the failing person: %v", st)
			}
			if ev := e.events("connect.failed"); !strings.Contains(ev, "003") {
				t.Fatalf("no connect.failed:\n%s", ev)
			}
			// The server recovers: the next command (an ingest with nothing
			// new) retries and suspends.
			e.scim.Fault = nil
			e.mustCLI("ingest")
			if e.active("c@x.nl") {
				t.Fatal("the next command did not retry the suspension")
			}
			if st := e.connectStatus(); st["failing"] != float64(0) {
				t.Fatalf("status still lists a failure: %v", st)
			}
		})
	}
}

func TestTheSCIMTokenAppearsNowhere(t *testing.T) {
	e := newSCIMEnv(t, "    create: true\n")
	e.seed()
	e.hr(threeSCIM...)
	var all bytes.Buffer
	_, out, stderr := e.cli("run")
	all.WriteString(out + stderr)
	// A refused token: the messages about it must not hold it either.
	e.scim.Token = "another"
	e.hr(threeSCIM[:2]...)
	_, out, stderr = e.cli("run")
	all.WriteString(out + stderr)
	for _, args := range [][]string{{"status", "--json"}, {"status"}, {"events", "--format", "json"}, {"person", "show", "003", "--format", "json"}} {
		_, out, stderr := e.cli(args...)
		all.WriteString(out + stderr)
	}
	if strings.Contains(all.String(), scimToken) {
		t.Fatal("the SCIM token appears in spendsync's output")
	}
	filepath.Walk(e.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || p == e.cfg {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(scimToken)) {
			t.Errorf("the SCIM token is in %s", p)
		}
		return nil
	})
}

func TestAStalledSCIMServerIsEndedByTheDeadlineAndTheDeliveryStillHappens(t *testing.T) {
	e := newSCIMEnv(t, "    deadline: 2s\n    timeout: 1m\n")
	e.seed()
	e.hr(threeSCIM...)
	e.mustCLI("run")
	e.scim.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		io.Copy(io.Discard, r.Body) // else the server never sees the client go
		<-r.Context().Done()        // never answers
		return true
	}
	e.hr(threeSCIM[:2]...)
	start := time.Now()
	code, out, stderr := e.cli("run")
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("the run took %s: target.scim.deadline must end it", took)
	}
	if code != 1 || !strings.Contains(stderr, "target.scim.deadline") {
		t.Fatalf("exit %d, want 1 naming target.scim.deadline\n%s%s", code, out, stderr)
	}
	if delivered := e.events("delivery.ok"); strings.Count(delivered, "\n") != 3 {
		t.Fatalf("the stalled SCIM server held back the delivery:\n%s", delivered)
	}
	if st := e.connectStatus(); st["failing"] != float64(1) {
		t.Fatalf("status: %v", st)
	}
}

func TestSCIMCallsRunSeveralAtOnceBounded(t *testing.T) {
	e := newSCIMEnv(t, "    parallel: 3\n")
	var persons []string
	for i := range 20 {
		emp := fmt.Sprintf("%03d", i+1)
		persons = append(persons, emp+";P;L"+emp+";p"+emp+"@x.nl")
		e.scim.Add("p"+emp+"@x.nl", emp, "P", "L"+emp, true)
	}
	e.hr(persons...)
	e.mustCLI("run")
	e.scim.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(20 * time.Millisecond) // let calls overlap
		return false
	}
	e.hr(persons[:2]...)
	e.mustCLI("ingest")
	if n := e.scim.MaxInFlight(); n < 2 || n > 3 {
		t.Fatalf("%d calls at once, want 2 or 3 (target.scim.parallel: 3)", n)
	}
	for _, p := range persons[2:] {
		if e.active(strings.Split(p, ";")[3]) {
			t.Fatalf("%s left but is active", p)
		}
	}
}

func TestTimeToRevokeWalksOneLeaverThroughEveryStep(t *testing.T) {
	e := newSCIMEnv(t, "")
	e.seed()
	e.hr(threeSCIM...)
	// 003's contract ends in HR on 2030-06-30; the leave shows as 003
	// gone from the file.
	os.WriteFile(e.contrs, []byte("employee_number;contract_id;start_date;end_date;ou_code;function_code\n"+
		"001;c1;2020-01-01;;OU1;F1\n002;c2;2020-01-01;;OU1;F1\n003;c3;2020-01-01;2030-06-30;OU1;F1\n"), 0o600)
	e.mustCLI("run")
	show := func() (rev struct {
		HREnd    string         `json:"hr_end"`
		Ingest   *lifecycleStep `json:"ingest"`
		Export   *lifecycleStep `json:"export"`
		Delivery *lifecycleStep `json:"delivery"`
		Connect  *lifecycleStep `json:"connect"`
		Pending  []string       `json:"pending"`
	}) {
		var v struct {
			Revocation *json.RawMessage `json:"revocation"`
		}
		if err := json.Unmarshal([]byte(e.mustCLI("person", "show", "003", "--format", "json")), &v); err != nil || v.Revocation == nil {
			t.Fatalf("person show: %v %v", err, v)
		}
		json.Unmarshal(*v.Revocation, &rev)
		return rev
	}
	withAccess := func() float64 { return e.connectStatus()["leavers_with_access"].(float64) }
	if n := withAccess(); n != 0 {
		t.Fatalf("no leaver yet, %v with access", n)
	}
	e.hr(threeSCIM[:2]...)
	e.mustCLI("ingest")
	r := show()
	if r.HREnd != "2030-06-30" || r.Ingest == nil || r.Connect == nil || r.Export != nil || r.Delivery != nil {
		t.Fatalf("after the ingest: %+v", r)
	}
	if strings.Join(r.Pending, ",") != "export" || withAccess() != 1 {
		t.Fatalf("after the ingest the last export still carries 003: pending %v", r.Pending)
	}
	if e.active("c@x.nl") {
		t.Fatal("not suspended by the ingest")
	}
	e.mustCLI("export")
	r = show()
	if r.Export == nil || r.Export.ExportID != e.lastExportID() || r.Delivery != nil || strings.Join(r.Pending, ",") != "delivery" {
		t.Fatalf("after the export: %+v (export %s)", r, e.lastExportID())
	}
	e.mustCLI("push")
	r = show()
	if r.Delivery == nil || r.Delivery.ExportID != r.Export.ExportID || !strings.HasPrefix(r.Delivery.Target, "dir:") || len(r.Pending) != 0 {
		t.Fatalf("after the push: %+v", r)
	}
	// Each step at or after the one before.
	steps := []*lifecycleStep{r.Ingest, r.Connect, r.Export, r.Delivery}
	for i := 1; i < len(steps); i++ {
		if steps[i].Time < steps[i-1].Time {
			t.Fatalf("step %d at %s is before step %d at %s", i, steps[i].Time, i-1, steps[i-1].Time)
		}
	}
	if n := withAccess(); n != 0 {
		t.Fatalf("003 is revoked everywhere, yet status counts %v leavers with access", n)
	}
	text := e.mustCLI("person", "show", "003")
	for _, want := range []string{"time to revoke", "hr end date", "2030-06-30", r.Export.ExportID} {
		if !strings.Contains(text, want) {
			t.Fatalf("person show lacks %q:\n%s", want, text)
		}
	}
	prom, err := os.ReadFile(filepath.Join(e.dir, "state", "metrics.prom"))
	if err != nil || !strings.Contains(string(prom), "spendsync_leavers_with_access 0") || !strings.Contains(string(prom), "spendsync_oldest_leaver_with_access_seconds 0") {
		t.Fatalf("metrics: %v\n%s", err, prom)
	}
	// The auditor's report carries the same way out, the suspension too.
	report := e.mustCLI("report", "--format", "csv")
	want := fmt.Sprintf("003,2030-06-30,%s,%s,%s,%s,%s,hr_end_date,", r.Ingest.Time, r.Export.Time, r.Export.ExportID, r.Delivery.Time, r.Delivery.Target)
	if !strings.Contains(report, want) || !strings.Contains(report, ","+r.Connect.Time+"\n") {
		t.Fatalf("the report's leaver row lacks %q or the suspension at %s:\n%s", want, r.Connect.Time, report)
	}
}

type lifecycleStep struct {
	Time     string `json:"time"`
	RunID    int64  `json:"run_id"`
	ExportID string `json:"export_id"`
	Target   string `json:"target"`
}

// SIGTERM during a stalled SCIM call ends the command promptly; the
// attempt is recorded as failed and retried by the next command.
func TestSIGTERMEndsAStalledSCIMCallAndTheNextCommandRetries(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no SIGTERM to send a process")
	}
	bin := buildBinary(t)
	e := newSCIMEnv(t, "    timeout: 1m\n")
	e.seed()
	e.hr(threeSCIM...)
	e.mustCLI("run")
	arrived := make(chan struct{}, 8)
	e.scim.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPatch {
			return false
		}
		io.Copy(io.Discard, r.Body) // else the server never sees the client go
		arrived <- struct{}{}
		<-r.Context().Done()
		return true
	}
	e.hr(threeSCIM[:2]...)
	cmd := exec.Command(bin, "--config", e.cfg, "--log-format", "json", "ingest")
	cmd.Env = append(os.Environ(), "SPENDSYNC_CONFIG=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the suspension never reached the server")
	}
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGTERM did not end the stalled SCIM call")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitFailed || time.Since(start) > 10*time.Second {
		t.Fatalf("exit %d after %s, want 1 at once: %s", code, time.Since(start), stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped by a signal") {
		t.Fatalf("stderr does not say a signal stopped it: %s", stderr.String())
	}
	if st := e.connectStatus(); st["failing"] != float64(1) {
		t.Fatalf("the cut-off call is not recorded as failed: %v", st)
	}
	e.scim.Fault = nil
	e.mustCLI("ingest")
	if e.active("c@x.nl") {
		t.Fatal("the next command did not retry the suspension")
	}
}

func TestAnUnsetSCIMTokenExits2NamingTheKeyAfterTheDelivery(t *testing.T) {
	e := newSCIMEnv(t, "")
	e.seed()
	e.hr(threeSCIM...)
	e.mustCLI("run")
	os.Unsetenv("TEST_SCIM_TOKEN")
	e.hr(threeSCIM[:2]...)
	code, out, stderr := e.cli("run")
	if code != exitUsage || !strings.Contains(stderr, "target.scim.token_env") {
		t.Fatalf("exit %d, want 2 naming target.scim.token_env\n%s%s", code, out, stderr)
	}
	if delivered := e.events("delivery.ok"); strings.Count(delivered, "\n") != 3 {
		t.Fatalf("an unreadable SCIM token held back the delivery:\n%s", delivered)
	}
}

func TestASCIMServerOfAnUntrustedCASaysAddCAFileAndTokenFileWorks(t *testing.T) {
	e := newSCIMEnv(t, "")
	e.seed()
	tokenFile := filepath.Join(e.dir, "scim.token")
	os.WriteFile(tokenFile, []byte(scimToken+"\n"), 0o600)
	cfg, _ := os.ReadFile(e.cfg)
	noCA := strings.Replace(strings.Replace(string(cfg), "    token_env: TEST_SCIM_TOKEN\n", "    token_file: scim.token\n", 1),
		"    ca_file: "+e.scim.CAFile+"\n", "", 1)
	e.hr(threeSCIM...)
	e.mustCLI("run")
	os.WriteFile(e.cfg, []byte(noCA), 0o600)
	e.hr(threeSCIM[:2]...)
	code, out, stderr := e.cli("run")
	if code != 1 || !strings.Contains(stderr, "target.scim.ca_file") {
		t.Fatalf("exit %d, want 1 saying to add the CA with target.scim.ca_file\n%s%s", code, out, stderr)
	}
	if delivered := e.events("delivery.ok"); strings.Count(delivered, "\n") != 3 {
		t.Fatalf("delivery held back:\n%s", delivered)
	}
	// With the CA the same token file works and the next command suspends.
	os.WriteFile(e.cfg, []byte(noCA+"    ca_file: "+e.scim.CAFile+"\n"), 0o600)
	e.mustCLI("ingest")
	if e.active("c@x.nl") {
		t.Fatal("not suspended once the CA is trusted")
	}
	for _, p := range []string{"state/db"} {
		b, _ := os.ReadFile(filepath.Join(e.dir, p))
		if bytes.Contains(b, []byte(scimToken)) {
			t.Fatalf("token in %s", p)
		}
	}
}

// A deadline that ends the calls leaves the persons not reached as they
// were: no failure recorded for a call never made, and the next command
// takes them up.
func TestTheSCIMDeadlineLeavesThePersonsNotReachedForTheNextCommand(t *testing.T) {
	e := newSCIMEnv(t, "    deadline: 1s\n    parallel: 1\n")
	var persons []string
	for i := range 10 {
		emp := fmt.Sprintf("%03d", i+1)
		persons = append(persons, emp+";P;L"+emp+";p"+emp+"@x.nl")
		e.scim.Add("p"+emp+"@x.nl", emp, "P", "L"+emp, true)
	}
	e.hr(persons...)
	e.mustCLI("run")
	e.scim.Fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch {
			time.Sleep(300 * time.Millisecond)
		}
		return false
	}
	e.hr(persons[:1]...)
	code, out, stderr := e.cli("ingest")
	if code != 1 || !strings.Contains(stderr, "not reached") {
		t.Fatalf("exit %d, want 1 saying persons were not reached\n%s%s", code, out, stderr)
	}
	failed := strings.Count(e.events("connect.failed"), "\n") - 1
	suspended := strings.Count(e.events("connect.suspended"), "\n") - 1
	if failed > 1 || suspended+failed >= 9 {
		t.Fatalf("%d failed and %d suspended of 9: the persons not reached must not be recorded", failed, suspended)
	}
	e.scim.Fault = nil
	e.mustCLI("ingest")
	for _, p := range persons[1:] {
		if e.active(strings.Split(p, ";")[3]) {
			t.Fatalf("%s not taken up by the next command", p)
		}
	}
}
