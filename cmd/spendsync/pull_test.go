package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/access/accesstest"
)

// The HR API servers below answer in each system's documented shape: its
// envelope, its paging and its auth. Their rows are built from the demo's
// AFAS CSV files, so a pull can be checked against the dump of the same
// data read from CSV.

const (
	afasTokenXML = "<token><version>1</version><data>AFAS-SECRET-4a7c9e</data></token>"
	clientSecret = "oauth-client-secret-93f1d2"
	accessToken  = "access-token-7b2e55"
	sfPassword   = "sf-password-c0ffee"
)

// secrets are the values no log, error, event, database, kept page or
// metrics file may ever hold.
var secrets = []string{afasTokenXML, "AFAS-SECRET-4a7c9e", base64.StdEncoding.EncodeToString([]byte(afasTokenXML)), clientSecret, accessToken, sfPassword}

// demoRows reads one of the demo's AFAS CSV files as maps.
func demoRows(t testing.TB, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "demo", "hr", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	all, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	all[0][0] = strings.TrimPrefix(all[0][0], "\ufeff")
	var out []map[string]string
	for _, rec := range all[1:] {
		m := map[string]string{}
		for i, h := range all[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// isoDate turns the demo's dd-mm-yyyy into yyyy-mm-dd.
func isoDate(t testing.TB, v string) string {
	if v == "" {
		return ""
	}
	d, err := time.Parse("02-01-2006", v)
	if err != nil {
		t.Fatal(err)
	}
	return d.Format("2006-01-02")
}

// hrAPI is one HR system's API over TLS.
type hrAPI struct {
	t      testing.TB
	srv    *httptest.Server
	system string
	// rows per resource (the last path element).
	rows map[string][]map[string]any
	// fault, when set, may answer a request itself (page counts from 1).
	fault func(w http.ResponseWriter, r *http.Request, page int) bool

	mu       sync.Mutex
	requests []string
}

func newHRAPI(t testing.TB, system string, rows map[string][]map[string]any, opts ...func(*httptest.Server)) *hrAPI {
	a := &hrAPI{t: t, system: system, rows: rows}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	for _, o := range opts {
		o(a.srv)
	}
	a.srv.StartTLS()
	t.Cleanup(a.srv.Close)
	return a
}

// pemCert is a test server's certificate as PEM, for api.ca_file.
func pemCert(srv *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// caFile writes the server's certificate as a CA file for api.ca_file.
func (a *hrAPI) caFile(dir string) string {
	p := filepath.Join(dir, a.system+"-ca.pem")
	if err := os.WriteFile(p, pemCert(a.srv), 0o600); err != nil {
		a.t.Fatal(err)
	}
	return p
}

func (a *hrAPI) count(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (a *hrAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.URL.Path)
	a.mu.Unlock()
	if r.URL.Path == "/oauth/token" {
		a.token(w, r)
		return
	}
	if !a.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	resource := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	rows, ok := a.rows[resource]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such resource " + resource})
		return
	}
	q := r.URL.Query()
	// Faults pick their page by its position, so a retry asks for the same
	// page again.
	page := 1
	if take, _ := strconv.Atoi(q.Get("take")); take > 0 {
		skip, _ := strconv.Atoi(q.Get("skip"))
		page = skip/take + 1
	}
	if a.fault != nil && a.fault(w, r, page) {
		return
	}
	num := func(k string, def int) int {
		if q.Get(k) == "" {
			return def
		}
		n, err := strconv.Atoi(q.Get(k))
		if err != nil {
			a.t.Errorf("%s: %s=%q is not a number", r.URL.Path, k, q.Get(k))
		}
		return n
	}
	slice := func(skip, take int) []map[string]any {
		if skip > len(rows) {
			skip = len(rows)
		}
		return rows[skip:min(skip+take, len(rows))]
	}
	// nextLink is this request's URL, absolute, with param set to the
	// next page's offset.
	nextLink := func(param string, offset int) string {
		next := *r.URL
		next.Scheme, next.Host = "https", r.Host
		v := next.Query()
		v.Set(param, strconv.Itoa(offset))
		next.RawQuery = v.Encode()
		return next.String()
	}
	switch a.system {
	case "afas":
		if q.Get("orderbyfieldids") == "" {
			a.t.Errorf("afas request without a stable order: %s", r.URL)
		}
		skip, take := num("skip", 0), num("take", 100)
		writeJSON(w, 200, map[string]any{"skip": skip, "take": take, "rows": slice(skip, take)})
	case "entra":
		if q.Get("$select") == "" {
			a.t.Errorf("entra request without $select: %s", r.URL)
		}
		skip, top := num("$skiptoken", 0), num("$top", 100)
		body := map[string]any{"@odata.context": a.srv.URL + "/v1.0/$metadata#users", "value": slice(skip, top)}
		if skip+top < len(rows) {
			body["@odata.nextLink"] = nextLink("$skiptoken", skip+top)
		}
		writeJSON(w, 200, body)
	case "raet":
		skip, take := num("skip", 0), num("take", 100)
		body := map[string]any{"value": slice(skip, take)}
		if skip+take < len(rows) {
			// The link names the production host; a client must keep to
			// the configured one and use only the query.
			body["nextLink"] = fmt.Sprintf("https://api.youforce.com%s?skip=%d&take=%d", r.URL.Path, skip+take, take)
		}
		writeJSON(w, 200, body)
	case "adp":
		skip, top := num("$skip", 0), num("$top", 100)
		if skip >= len(rows) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, 200, map[string]any{"workers": slice(skip, top), "meta": map[string]any{"totalNumber": len(rows)}})
	case "successfactors":
		if q.Get("$format") != "json" {
			a.t.Errorf("successfactors request without $format=json: %s", r.URL)
		}
		skip, top := num("$skip", 0), num("$top", 100)
		d := map[string]any{"results": slice(skip, top)}
		if resource == "PerPerson" && skip+top < len(rows) {
			// Server-side paging: PerPerson hands out __next links.
			d["__next"] = nextLink("$skip", skip+top)
		}
		writeJSON(w, 200, map[string]any{"d": d})
	}
}

func (a *hrAPI) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	switch a.system {
	case "afas":
		return h == "AfasToken "+base64.StdEncoding.EncodeToString([]byte(afasTokenXML))
	case "successfactors":
		u, p, ok := r.BasicAuth()
		return ok && u == "api@ACMECORP" && p == sfPassword
	}
	return h == "Bearer "+accessToken
}

// token is an OAuth2 client-credentials endpoint.
func (a *hrAPI) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != "spendsync-client" || secret != clientSecret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client", "error_description": "client secret " + secret + " is wrong"})
		return
	}
	if a.system == "entra" && r.PostForm.Get("scope") != "https://graph.microsoft.com/.default" {
		writeJSON(w, 400, map[string]string{"error": "invalid_scope"})
		return
	}
	if a.system == "raet" && r.PostForm.Get("tenant_id") != "1234567" {
		writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "tenant_id missing"})
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 3600})
}

// splitFilterDots keeps "a[b.c=d].e" together where the filter key has a
// dot, so setPath's naive split on "." works.
func splitFilterDots(path string) string {
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case r == '.' && depth > 0:
			r = '\x00'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// set builds the JSON a path reads (its first alternative): the inverse
// of the path syntax, for test data only.
func set(obj map[string]any, path string, v any) {
	path, _, _ = strings.Cut(path, "|")
	safe := splitFilterDots(path)
	parts := strings.Split(safe, ".")
	cur := obj
	for i, part := range parts {
		part = strings.ReplaceAll(part, "\x00", ".")
		last := i == len(parts)-1
		key, bracket, hasBracket := strings.Cut(part, "[")
		if !hasBracket {
			if last {
				cur[key] = v
				return
			}
			next, ok := cur[key].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[key] = next
			}
			cur = next
			continue
		}
		inner := strings.TrimSuffix(bracket, "]")
		arr, _ := cur[key].([]any)
		var elem map[string]any
		if k, val, ok := strings.Cut(inner, "="); ok {
			for _, e := range arr {
				em := e.(map[string]any)
				if fmt.Sprint(lookup(em, k)) == val {
					elem = em
				}
			}
			if elem == nil {
				elem = map[string]any{}
				set(elem, k, val)
				arr = append(arr, elem)
			}
		} else {
			n, _ := strconv.Atoi(inner)
			for len(arr) <= n {
				arr = append(arr, map[string]any{})
			}
			elem = arr[n].(map[string]any)
		}
		cur[key] = arr
		cur = elem
	}
}

func lookup(m map[string]any, path string) any {
	var cur any = m
	for p := range strings.SplitSeq(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// person is one demo person in canonical fields, with its contracts.
type person struct {
	fields    map[string]string
	contracts []map[string]string
}

var afasNaming = map[string]string{"0": "B", "1": "PB", "2": "P", "3": "BP"}

// demoPersons is the demo in canonical fields (naming as B/BP/P/PB, dates
// as yyyy-mm-dd).
func demoPersons(t testing.TB) []person {
	var out []person
	byEmp := map[string]int{}
	for _, r := range demoRows(t, "medewerkers.csv") {
		p := person{fields: map[string]string{
			"employee_number": r["Medewerker"], "first_name": r["Roepnaam"], "prefix": r["Voorvoegsel"], "last_name": r["Geboortenaam"],
			"partner_prefix": r["Voorvoegsel_partner"], "partner_last_name": r["Geboortenaam_partner"],
			"naming_convention": afasNaming[r["Naamgebruik_code"]], "gender": r["Geslacht"], "email": r["Email_werk"], "username": r["UPN"],
		}}
		byEmp[r["Medewerker"]] = len(out)
		out = append(out, p)
	}
	for _, r := range demoRows(t, "dienstverbanden.csv") {
		c := map[string]string{"employee_number": r["Medewerker"], "contract_id": r["ExternalID"],
			"start_date": isoDate(t, r["Begindatum_functie"]), "end_date": isoDate(t, r["Einddatum_functie"]),
			"ou_code": r["Organisatorische_eenheid_code"], "ou_name": r["Organisatorische_eenheid_omschrijving"],
			"function_code": r["Functie_code"], "function_name": r["Functie_omschrijving"]}
		i := byEmp[r["Medewerker"]]
		out[i].contracts = append(out[i].contracts, c)
	}
	return out
}

// canonicalCSV writes persons and contracts with canonical headers, only
// the given fields, naming and gender as a CSV export would carry them.
func canonicalCSV(t testing.TB, dir string, people []person, personFields, contractFields []string) (string, string) {
	write := func(name string, header []string, rows []map[string]string) string {
		var b strings.Builder
		w := csv.NewWriter(&b)
		w.Comma = ';'
		w.Write(header)
		for _, r := range rows {
			rec := make([]string, len(header))
			for i, h := range header {
				rec[i] = r[h]
			}
			w.Write(rec)
		}
		w.Flush()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var ps, cs []map[string]string
	for _, p := range people {
		ps = append(ps, p.fields)
		cs = append(cs, p.contracts...)
	}
	cp := ""
	if contractFields != nil {
		cp = write("contracts.csv", append([]string{"employee_number"}, contractFields...), cs)
	}
	return write("persons.csv", append([]string{"employee_number"}, personFields...), ps), cp
}

// pullRig is a config folder with a database, ready for the CLI.
type pullRig struct {
	t   *testing.T
	dir string
	cfg string
}

// newPullRig writes a config whose sources are given as YAML (indented
// under sources:). Both rigs of a comparison share rules and export.
func newPullRig(t *testing.T, sources string) *pullRig {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "spendsync.yaml")
	text := "database: state/spendsync.db\nsources:\n" + sources + `rules:
  verified_domains: [example.nl]
  gender_map: {M: M, V: V, F: V, Male: M, Female: V, MALE: M, FEMALE: V}
export:
  dir: out
metrics: state/spendsync.prom
`
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pullRig{t: t, dir: dir, cfg: cfg}
}

func (r *pullRig) cli(args ...string) (int, string, string) {
	r.t.Helper()
	return cli(r.t, append([]string{"--config", r.cfg}, args...)...)
}

// dump ingests and exports, and returns the two files.
func (r *pullRig) dump() string {
	r.t.Helper()
	if code, out, stderr := r.cli("ingest"); code != exitOK && code != exitRejected {
		r.t.Fatalf("ingest: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, stderr := r.cli("export", "--date", "2026-11-23"); code != exitOK {
		r.t.Fatalf("export: exit %d\n%s\n%s", code, out, stderr)
	}
	var b strings.Builder
	for _, f := range []string{"persons.csv", "roles.csv"} {
		data, err := os.ReadFile(filepath.Join(r.dir, "out", f))
		if err != nil {
			r.t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// state is everything a failed pull must leave as it was: persons,
// contracts, events and the rejects.
func (r *pullRig) state() string {
	r.t.Helper()
	db := filepath.Join(r.dir, "state", "spendsync.db")
	_, events, _ := r.cli("events", "--format", "json")
	return dbState(r.t, db) + events
}

// afasRows renders the demo as the AFAS GetConnectors answer it: ISO
// timestamps, numbers for codes, null for empty.
func afasRows(t testing.TB) map[string][]map[string]any {
	conv := func(rows []map[string]string, dates ...string) []map[string]any {
		var out []map[string]any
		for _, r := range rows {
			m := map[string]any{}
			for k, v := range r {
				switch {
				case v == "":
					m[k] = nil
				case slices.Contains(dates, k):
					m[k] = isoDate(t, v) + "T00:00:00Z"
				case k == "Naamgebruik_code":
					n, _ := strconv.Atoi(v)
					m[k] = n
				default:
					m[k] = v
				}
			}
			out = append(out, m)
		}
		return out
	}
	return map[string][]map[string]any{
		"T4E_HelloID_Users":       conv(demoRows(t, "medewerkers.csv")),
		"T4E_HelloID_Employments": conv(demoRows(t, "dienstverbanden.csv"), "Begindatum_functie", "Einddatum_functie"),
	}
}

func demoFile(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo", "hr", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// afasSource is the api: source for srv, with extra lines appended.
func afasSource(srv *hrAPI, ca string, extra string) string {
	return fmt.Sprintf(`  - name: afas
    profile: afas
    api:
      url: %s/profitrestservices
      token_env: SPENDSYNC_TEST_AFAS_TOKEN
      page_size: 5
      ca_file: %s
      retries: 2
      timeout: 5s
%s`, srv.srv.URL, ca, extra)
}

func TestAFASPullGivesTheSameDumpAsTheCSVExport(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	csvRig := newPullRig(t, fmt.Sprintf("  - name: afas\n    profile: afas\n    persons: %s\n    contracts: %s\n    date_format: \"02-01-2006\"\n",
		demoFile(t, "medewerkers.csv"), demoFile(t, "dienstverbanden.csv")))
	want := csvRig.dump()

	srv := newHRAPI(t, "afas", afasRows(t))
	rig := newPullRig(t, "")
	rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), ""))
	code, out, stderr := rig.cli("-v", "ingest")
	if code != exitOK && code != exitRejected {
		t.Fatalf("ingest: exit %d\n%s\n%s", code, out, stderr)
	}
	// 12 persons in pages of 5: 3 pages; 15 contracts: 3 pages and an empty fourth.
	if n := srv.count("/profitrestservices/connectors/T4E_HelloID_Users"); n != 3 {
		t.Errorf("persons fetched in %d requests, want 3 pages", n)
	}
	if n := srv.count("/profitrestservices/connectors/T4E_HelloID_Employments"); n != 4 {
		t.Errorf("contracts fetched in %d requests, want 4 (the last page is empty)", n)
	}
	if got := rig.dump(); got != want {
		t.Fatalf("pulled dump differs from the CSV dump:\n--- pulled\n%s\n--- csv\n%s", got, want)
	}
	assertNoSecrets(t, rig, out+stderr)
}

// assertNoSecrets greps every file under the rig's folder and the output.
func assertNoSecrets(t *testing.T, rig *pullRig, output string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(output, s) {
			t.Errorf("output holds secret %q", s)
		}
	}
	filepath.Walk(rig.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "secret.txt" {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds secret %q", p, s)
			}
		}
		return nil
	})
}

func TestAFASPullFailuresExit1NameSourcePathAndStatusAndChangeNothing(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	cases := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request, page int) bool
		want  []string
	}{
		{"401 on every page", func(w http.ResponseWriter, r *http.Request, page int) bool {
			writeJSON(w, 401, map[string]string{"externalMessage": "token expired"})
			return true
		}, []string{"HTTP 401"}},
		{"500 on page 2 through all retries", func(w http.ResponseWriter, r *http.Request, page int) bool {
			if page >= 2 {
				writeJSON(w, 500, map[string]string{"error": "boom"})
				return true
			}
			return false
		}, []string{"HTTP 500", "after 3 attempts"}},
		{"page 2 never comes (connection dropped)", func(w http.ResponseWriter, r *http.Request, page int) bool {
			if page >= 2 {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return true
			}
			return false
		}, []string{"closed the connection before answering in full"}},
		{"malformed JSON on page 2", func(w http.ResponseWriter, r *http.Request, page int) bool {
			if page == 2 {
				w.Write([]byte(`{"skip":5,"take":5,"rows":[{"Medewerker":"000106",`))
				return true
			}
			return false
		}, []string{"page 2 is not the expected JSON"}},
		{"rows of the wrong shape", func(w http.ResponseWriter, r *http.Request, page int) bool {
			w.Write([]byte(`{"skip":0,"take":5,"rows":{"Medewerker":"000101"}}`))
			return true
		}, []string{`"rows" is not an array`}},
		{"answer without rows", func(w http.ResponseWriter, r *http.Request, page int) bool {
			w.Write([]byte(`{"skip":0,"take":5,"data":[]}`))
			return true
		}, []string{`no "rows" in the answer`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHRAPI(t, "afas", afasRows(t))
			rig := newPullRig(t, "")
			rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), "      keep_responses: true\n"))
			// A good pull first, then a changed company behind a failing API.
			if code, out, stderr := rig.cli("ingest"); code != exitOK && code != exitRejected {
				t.Fatalf("first ingest: exit %d\n%s\n%s", code, out, stderr)
			}
			before := rig.state()
			kept, _ := filepath.Glob(filepath.Join(rig.dir, "state", "responses", "afas", "*"))
			// Page 1 alone would look like four persons left.
			srv.rows["T4E_HelloID_Users"] = srv.rows["T4E_HelloID_Users"][:8]
			srv.fault = tc.fault
			code, out, stderr := rig.cli("-v", "ingest")
			if code != exitFailed {
				t.Fatalf("exit %d, want 1\n%s\n%s", code, out, stderr)
			}
			for _, w := range append(tc.want, "source afas", "/profitrestservices/connectors/T4E_HelloID_Users") {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "skip=") || strings.Contains(stderr, "take=") {
				t.Errorf("the message shows the query: %s", stderr)
			}
			if errLine := stderr[strings.LastIndex(stderr, "spendsync: error:"):]; strings.Count(errLine, "/profitrestservices/connectors/") != 1 {
				t.Errorf("the error names the request path once, not twice: %s", errLine)
			}
			if after := rig.state(); after != before {
				t.Errorf("a failed pull changed the state:\n--- before\n%s\n--- after\n%s", before, after)
			}
			if now, _ := filepath.Glob(filepath.Join(rig.dir, "state", "responses", "afas", "*")); !slices.Equal(now, kept) {
				t.Errorf("a failed pull left kept pages: %v, had %v", now, kept)
			}
			assertNoSecrets(t, rig, out+stderr)
		})
	}
}

func TestAFASPullHonoursRetryAfterOn429And503(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	srv := newHRAPI(t, "afas", afasRows(t))
	var mu sync.Mutex
	seen := map[int]bool{}
	srv.fault = func(w http.ResponseWriter, r *http.Request, page int) bool {
		mu.Lock()
		defer mu.Unlock()
		if (page == 1 || page == 3) && !seen[page] {
			seen[page] = true
			w.Header().Set("Retry-After", "1")
			status := http.StatusTooManyRequests
			if page == 3 {
				status = http.StatusServiceUnavailable
			}
			writeJSON(w, status, map[string]string{"error": "slow down"})
			return true
		}
		return false
	}
	rig := newPullRig(t, "")
	rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), ""))
	code, out, stderr := rig.cli("ingest")
	if code != exitOK && code != exitRejected {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "12 joined") {
		t.Fatalf("after retries: %s", out)
	}
}

func TestAPIPullStalledPastTimeoutFails(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	srv := newHRAPI(t, "afas", afasRows(t))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv.fault = func(w http.ResponseWriter, r *http.Request, page int) bool {
		if page == 2 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return true
		}
		return false
	}
	rig := newPullRig(t, "")
	rig = newPullRig(t, strings.Replace(strings.Replace(afasSource(srv, srv.caFile(rig.dir), ""), "timeout: 5s", "timeout: 300ms", 1), "retries: 2", "retries: 1", 1))
	code, out, stderr := rig.cli("ingest")
	if code != exitFailed || !strings.Contains(stderr, "no answer within 300ms (api.timeout)") || !strings.Contains(stderr, "after 2 attempts") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if state := dbState(t, filepath.Join(rig.dir, "state", "spendsync.db")); state != "" {
		t.Fatalf("a stalled pull stored persons:\n%s", state)
	}
}

func TestAPITransportRules(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	srv := newHRAPI(t, "afas", afasRows(t))

	t.Run("an untrusted certificate fails without retrying", func(t *testing.T) {
		rig := newPullRig(t, strings.Replace(afasSource(srv, "x", ""), "      ca_file: x\n", "", 1))
		code, _, stderr := rig.cli("ingest")
		if code != exitFailed || !strings.Contains(stderr, "certificate is not trusted") || !strings.Contains(stderr, "api.ca_file") || strings.Contains(stderr, "attempts") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("plain http to another host is a config error", func(t *testing.T) {
		rig := newPullRig(t, "  - name: afas\n    profile: afas\n    api:\n      url: http://afas.example.nl/profitrestservices\n      token_env: SPENDSYNC_TEST_AFAS_TOKEN\n")
		code, _, stderr := rig.cli("ingest")
		if code != exitUsage || !strings.Contains(stderr, "sources[0].api.url: must be https://") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("a token in the config itself is refused", func(t *testing.T) {
		rig := newPullRig(t, "  - name: afas\n    profile: afas\n    api:\n      url: https://afas.example.nl/x\n      token: abc\n")
		code, _, stderr := rig.cli("ingest")
		if code != exitUsage || !strings.Contains(stderr, "sources[0].api.token: unknown key") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
	t.Run("an unset token variable names the key", func(t *testing.T) {
		rig := newPullRig(t, strings.Replace(afasSource(srv, "x", ""), "SPENDSYNC_TEST_AFAS_TOKEN", "SPENDSYNC_TEST_UNSET_TOKEN", 1))
		code, _, stderr := rig.cli("ingest")
		if code != exitUsage || !strings.Contains(stderr, "api.token_env: environment variable SPENDSYNC_TEST_UNSET_TOKEN is not set") {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

func TestKeptResponsesArePrivateAndReplayToTheSameState(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	srv := newHRAPI(t, "afas", afasRows(t))
	rig := newPullRig(t, "")
	rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), "      keep_responses: true\n"))
	want := rig.dump()
	if code, _, stderr := rig.cli("ingest", "--dry-run"); code != exitOK && code != exitRejected {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	pulls, _ := filepath.Glob(filepath.Join(rig.dir, "state", "responses", "afas", "*"))
	if len(pulls) != 1 {
		t.Fatalf("kept pulls: %v, want the one of the ingest and none of the dry run", pulls)
	}
	for _, p := range []string{filepath.Join(rig.dir, "state", "responses"), filepath.Join(rig.dir, "state", "responses", "afas"), pulls[0]} {
		if perm := accesstest.Perm(t, p); perm != 0o700 {
			t.Errorf("%s: %v, want a 0700 folder", p, perm)
		}
	}
	pages, _ := filepath.Glob(filepath.Join(pulls[0], "*-[0-9]*.json"))
	if len(pages) != 7 { // 3 persons pages, 4 contracts pages
		t.Errorf("kept pages: %v", pages)
	}
	if m := mustRead(t, filepath.Join(pulls[0], "manifest.json")); m != `{"pages":{"contracts":4,"persons":3}}`+"\n" {
		t.Errorf("manifest: %s", m)
	}
	for _, p := range append(pages, filepath.Join(pulls[0], "manifest.json")) {
		if perm := accesstest.Perm(t, p); perm != 0o600 {
			t.Errorf("%s is %v, want 0600", p, perm)
		}
	}
	// Replay into a fresh database: the same dump, without the network.
	fresh := newPullRig(t, strings.Replace(afasSource(srv, "unused", "      keep_responses: true\n"), srv.srv.URL, "https://127.0.0.1:1", 1))
	code, out, stderr := fresh.cli("ingest", "--source", "afas", "--file", pulls[0])
	if code != exitOK && code != exitRejected {
		t.Fatalf("replay: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := fresh.cli("export", "--date", "2026-11-23"); code != exitOK {
		t.Fatal(stderr)
	}
	var got strings.Builder
	for _, f := range []string{"persons.csv", "roles.csv"} {
		data, _ := os.ReadFile(filepath.Join(fresh.dir, "out", f))
		got.Write(data)
	}
	if got.String() != want {
		t.Fatalf("replayed dump differs:\n%s\n---\n%s", got.String(), want)
	}
	if code, _, stderr := fresh.cli("ingest", "--source", "afas", "--file", fresh.dir); code != exitFailed || !strings.Contains(stderr, "is not a kept pull") {
		t.Fatalf("replay of a folder that is no pull: exit %d %s", code, stderr)
	}
}

// clientCert makes a self-signed client certificate for ADP's mutual TLS.
func clientCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "spendsync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// systemCase is one OAuth/basic system's profile paths and value forms.
type systemCase struct {
	system        string
	persons       string // resource names the server answers
	contracts     string
	personPaths   map[string]string
	contractPaths map[string]string // for a fanned-out array: paths with []
	fan           string            // the array contracts fan out of, if any
	naming        map[string]string // canonical -> system code
	gender        map[string]string
	date          func(string) any
	source        string // YAML api: lines after url
}

var systemCases = []systemCase{
	{
		system: "raet", persons: "persons", contracts: "employments",
		personPaths: map[string]string{"employee_number": "personCode", "first_name": "knownAs", "prefix": "lastNameAtBirthPrefix",
			"last_name": "lastNameAtBirth", "partner_prefix": "partnerNamePrefix", "partner_last_name": "partnerName",
			"naming_convention": "nameAssembleOrder", "gender": "gender", "email": "emailAddresses[type=Business].address"},
		contractPaths: map[string]string{"employee_number": "personCode", "contract_id": "employmentCode", "start_date": "hireDate",
			"end_date": "dischargeDate", "ou_code": "organizationUnit", "function_code": "jobProfile"},
		naming: map[string]string{"B": "E", "P": "P", "PB": "B", "BP": "C"},
		gender: map[string]string{"M": "Male", "V": "Female"},
		date: func(d string) any {
			if d == "" {
				return "9999-12-31T00:00:00"
			}
			return d + "T00:00:00"
		},
		source: "      token_url: {url}/oauth/token\n      client_id: spendsync-client\n      client_secret_env: SPENDSYNC_TEST_SECRET\n      tenant_id: \"1234567\"\n",
	},
	{
		system: "adp", persons: "workers", contracts: "workers",
		personPaths: map[string]string{"employee_number": "workerID.idValue", "first_name": "person.legalName.nickName",
			"prefix": "person.legalName.familyName1Prefix", "last_name": "person.legalName.familyName1",
			"partner_prefix":    "person.customFieldGroup.stringFields[nameCode.codeValue=partnerFamilyName1Prefix].stringValue",
			"partner_last_name": "person.customFieldGroup.stringFields[nameCode.codeValue=partnerFamilyName1].stringValue",
			"naming_convention": "person.customFieldGroup.stringFields[nameCode.codeValue=naamSamenstelling].stringValue",
			"gender":            "person.genderCode.codeValue", "email": "businessCommunication.emails[0].emailUri"},
		contractPaths: map[string]string{"contract_id": "itemID", "start_date": "actualStartDate", "end_date": "terminationDate",
			"ou_code":       "homeOrganizationalUnits[typeCode.codeValue=Department].nameCode.codeValue",
			"ou_name":       "homeOrganizationalUnits[typeCode.codeValue=Department].nameCode.longName",
			"function_code": "jobCode.codeValue", "function_name": "jobCode.longName"},
		fan:    "workAssignments",
		naming: map[string]string{"B": "tiva", "BP": "tiva-wp", "P": "tiwp", "PB": "tiwp-va"},
		gender: map[string]string{"M": "MALE", "V": "FEMALE"},
		date: func(d string) any {
			if d == "" {
				return nil
			}
			return d
		},
		source: "      token_url: {url}/oauth/token\n      client_id: spendsync-client\n      client_secret_file: secret.txt\n      cert_file: {cert}\n      key_file: {key}\n",
	},
	{
		system: "successfactors", persons: "PerPerson", contracts: "EmpJob",
		personPaths: map[string]string{"employee_number": "personIdExternal", "first_name": "personalInfoNav.results[0].preferredName",
			"prefix": "personalInfoNav.results[0].middleName", "last_name": "personalInfoNav.results[0].lastName",
			"partner_prefix": "personalInfoNav.results[0].partnerNamePrefix", "partner_last_name": "personalInfoNav.results[0].partnerName",
			"naming_convention": "personalInfoNav.results[0].nameFormatCode", "gender": "personalInfoNav.results[0].gender",
			"email": "emailNav.results[isPrimary=true].emailAddress", "username": "employmentNav.results[0].userNav.username"},
		contractPaths: map[string]string{"employee_number": "userId", "start_date": "startDate", "end_date": "endDate",
			"ou_code": "department", "function_code": "jobCode", "function_name": "jobTitle"},
		naming: map[string]string{"B": "NF1", "BP": "NF2", "P": "NF3", "PB": "NF4"},
		gender: map[string]string{},
		date: func(d string) any {
			if d == "" {
				return nil
			}
			t, _ := time.Parse("2006-01-02", d)
			return fmt.Sprintf("/Date(%d)/", t.UnixMilli())
		},
		source: "      user: api@ACMECORP\n      password_env: SPENDSYNC_TEST_SF_PASSWORD\n    naming_map: {NF1: B, NF2: BP, NF3: P, NF4: PB}\n",
	},
}

// render builds the system's rows for the demo people.
func (sc systemCase) render(people []person) map[string][]map[string]any {
	value := func(f, v string) any {
		switch f {
		case "naming_convention":
			return sc.naming[v]
		case "gender":
			if g, ok := sc.gender[v]; ok {
				return g
			}
		case "start_date", "end_date":
			return sc.date(v)
		case "email":
			if v == "" {
				return nil
			}
		}
		return v
	}
	out := map[string][]map[string]any{}
	for _, p := range people {
		obj := map[string]any{}
		for f, path := range sc.personPaths {
			set(obj, path, value(f, p.fields[f]))
		}
		if sc.system == "successfactors" {
			// OData flags the primary email; add a private one first.
			nav := obj["emailNav"].(map[string]any)
			nav["results"] = append([]any{map[string]any{"emailAddress": "private@home.example", "isPrimary": false}}, nav["results"].([]any)...)
		}
		if sc.fan != "" {
			var elems []any
			for _, c := range p.contracts {
				e := map[string]any{}
				for f, path := range sc.contractPaths {
					set(e, path, value(f, c[f]))
				}
				elems = append(elems, e)
			}
			obj[sc.fan] = elems
		} else {
			for _, c := range p.contracts {
				row := map[string]any{}
				for f, path := range sc.contractPaths {
					set(row, path, value(f, c[f]))
				}
				out[sc.contracts] = append(out[sc.contracts], row)
			}
		}
		out[sc.persons] = append(out[sc.persons], obj)
	}
	return out
}

func TestEachSystemsPullGivesTheSameDumpAsTheEquivalentCSV(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_SECRET", clientSecret)
	t.Setenv("SPENDSYNC_TEST_SF_PASSWORD", sfPassword)
	people := demoPersons(t)
	for _, sc := range systemCases {
		t.Run(sc.system, func(t *testing.T) {
			var pf, cf []string
			for _, f := range []string{"first_name", "prefix", "last_name", "partner_prefix", "partner_last_name", "naming_convention", "gender", "email", "username"} {
				if _, ok := sc.personPaths[f]; ok {
					pf = append(pf, f)
				}
			}
			for _, f := range []string{"contract_id", "start_date", "end_date", "ou_code", "ou_name", "function_code", "function_name"} {
				if _, ok := sc.contractPaths[f]; ok {
					cf = append(cf, f)
				}
			}
			csvPeople := people
			if sc.system == "raet" {
				// 9999-12-31 is Raet's open end: the CSV says the same.
				csvPeople = nil
				for _, p := range people {
					q := person{fields: p.fields}
					for _, c := range p.contracts {
						c2 := maps.Clone(c)
						if c2["end_date"] == "" {
							c2["end_date"] = "9999-12-31"
						}
						q.contracts = append(q.contracts, c2)
					}
					csvPeople = append(csvPeople, q)
				}
			}
			csvDir := t.TempDir()
			pp, cp := canonicalCSV(t, csvDir, csvPeople, pf, cf)
			want := newPullRig(t, fmt.Sprintf("  - name: hr\n    persons: %s\n    contracts: %s\n", pp, cp)).dump()

			var opts []func(*httptest.Server)
			rig := newPullRig(t, "")
			certFile, keyFile, pool := clientCert(t, rig.dir)
			if sc.system == "adp" {
				opts = append(opts, func(s *httptest.Server) {
					s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
				})
				os.WriteFile(filepath.Join(rig.dir, "secret.txt"), []byte(clientSecret+"\n"), 0o600)
			}
			srv := newHRAPI(t, sc.system, sc.render(people), opts...)
			base := map[string]string{"raet": "/iam/v1.0", "adp": "", "successfactors": "/odata/v2"}[sc.system]
			src := fmt.Sprintf("  - name: hr\n    profile: %s\n    api:\n      url: %s%s\n      ca_file: %s\n      page_size: 5\n      retries: 0\n",
				sc.system, srv.srv.URL, base, srv.caFile(rig.dir)) + strings.NewReplacer("{url}", srv.srv.URL, "{cert}", certFile, "{key}", keyFile).Replace(sc.source)
			if sc.system == "adp" {
				// 12 workers in pages of 4: the fourth request gets 204 No Content.
				src = strings.Replace(src, "      page_size: 5\n", "      page_size: 4\n      persons: hr/v2/workers\n      contracts: hr/v2/workers\n", 1)
			}
			os.WriteFile(rig.cfg, []byte(strings.Replace(mustRead(t, rig.cfg), "sources:\n", "sources:\n"+src, 1)), 0o600)
			code, out, stderr := rig.cli("-v", "--log-format", "json", "ingest")
			if code != exitOK && code != exitRejected {
				t.Fatalf("ingest: exit %d\n%s\n%s", code, out, stderr)
			}
			if got := rig.dump(); got != want {
				t.Fatalf("pulled dump differs from the CSV dump:\n--- pulled\n%s\n--- csv\n%s", got, want)
			}
			if srv.count("/") < 4 {
				t.Errorf("only %d requests: no paging?", srv.count("/"))
			}
			if sc.system == "adp" && srv.count("/hr/v2/workers") != 2*4*2 {
				t.Errorf("%d worker requests, want 4 per read (the last a 204), persons and contracts, two ingests", srv.count("/hr/v2/workers"))
			}
			assertNoSecrets(t, rig, out+stderr)
		})
	}
}

func mustRead(t *testing.T, p string) string {
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestEntraProvidesUsernameAndEmailLikeTheADCSV(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_SECRET", clientSecret)
	people := demoPersons(t)
	hr := fmt.Sprintf("  - name: afas\n    profile: afas\n    persons: %s\n    contracts: %s\n    date_format: \"02-01-2006\"\n",
		demoFile(t, "medewerkers.csv"), demoFile(t, "dienstverbanden.csv"))
	var users []map[string]any
	var ad []map[string]string
	for i, p := range people {
		upn := "u" + p.fields["employee_number"] + "@example.nl"
		mail := any("entra." + p.fields["employee_number"] + "@example.nl")
		if i == 3 {
			mail = nil // a user without a mailbox
		}
		users = append(users, map[string]any{"id": fmt.Sprintf("0000-%d", i), "employeeId": p.fields["employee_number"], "userPrincipalName": upn, "mail": mail})
		m, _ := mail.(string)
		ad = append(ad, map[string]string{"employee_number": p.fields["employee_number"], "username": upn, "email": m})
	}
	users = append(users, map[string]any{"id": "svc", "employeeId": nil, "userPrincipalName": "svc@example.nl", "mail": nil})
	ad = append(ad, map[string]string{"employee_number": "", "username": "svc@example.nl"})

	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("employee_number;username;email\n")
	for _, r := range ad {
		fmt.Fprintf(&b, "%s;%s;%s\n", r["employee_number"], r["username"], r["email"])
	}
	os.WriteFile(filepath.Join(dir, "ad.csv"), []byte(b.String()), 0o600)
	want := newPullRig(t, hr+fmt.Sprintf("  - name: entra\n    persons: %s\n    provides: [username, email]\n", filepath.Join(dir, "ad.csv"))).dump()

	srv := newHRAPI(t, "entra", map[string][]map[string]any{"users": users})
	rig := newPullRig(t, "")
	rig = newPullRig(t, hr+fmt.Sprintf(`  - name: entra
    profile: entra
    provides: [username, email]
    api:
      url: %[1]s/v1.0
      token_url: %[1]s/oauth/token
      client_id: spendsync-client
      client_secret_env: SPENDSYNC_TEST_SECRET
      ca_file: %[2]s
      page_size: 4
`, srv.srv.URL, srv.caFile(rig.dir)))
	got := rig.dump()
	if got != want {
		t.Fatalf("entra dump differs from the CSV provider's:\n--- entra\n%s\n--- csv\n%s", got, want)
	}
	if n := srv.count("/v1.0/users"); n != 4 {
		t.Errorf("%d user pages, want 4 (13 users by 4)", n)
	}
	assertNoSecrets(t, rig, "")
}

func TestOAuthRefusalExits1WithoutTheSecret(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_SECRET", "wrong-"+clientSecret)
	srv := newHRAPI(t, "raet", map[string][]map[string]any{"persons": {}, "employments": {}})
	rig := newPullRig(t, "")
	rig = newPullRig(t, fmt.Sprintf(`  - name: raet
    profile: raet
    api:
      url: %[1]s/iam/v1.0
      token_url: %[1]s/oauth/token
      client_id: spendsync-client
      client_secret_env: SPENDSYNC_TEST_SECRET
      tenant_id: "1234567"
      ca_file: %[2]s
`, srv.srv.URL, srv.caFile(rig.dir)))
	code, out, stderr := rig.cli("-v", "ingest")
	if code != exitFailed || !strings.Contains(stderr, "source raet") || !strings.Contains(stderr, "token request to /oauth/token: HTTP 401 (invalid_client)") ||
		!strings.Contains(stderr, "/iam/v1.0/persons") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, clientSecret) {
		t.Fatal("the client secret (echoed by the server) reached the output")
	}
	if n := srv.count("/oauth/token"); n != 1 {
		t.Errorf("an auth refusal was retried: %d token requests", n)
	}
}

func TestAPulledBadRowIsRejectedWithItsURLRowNumberAndJSON(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	rows := afasRows(t)
	rows["T4E_HelloID_Users"][6]["Email_werk"] = "not an address"
	srv := newHRAPI(t, "afas", rows)
	rig := newPullRig(t, "")
	rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), ""))
	if code, out, stderr := rig.cli("ingest"); code != exitRejected {
		t.Fatalf("exit %d, want 5\n%s\n%s", code, out, stderr)
	}
	_, out, _ := rig.cli("rejects", "--format", "json")
	var rejects []map[string]any
	if err := json.Unmarshal([]byte(out), &rejects); err != nil || len(rejects) != 1 {
		t.Fatalf("rejects: %v %s", err, out)
	}
	r := rejects[0]
	raw, _ := json.Marshal(rows["T4E_HelloID_Users"][6])
	var rawBack map[string]any
	json.Unmarshal([]byte(fmt.Sprint(r["raw"])), &rawBack)
	wantBack := map[string]any{}
	json.Unmarshal(raw, &wantBack)
	if !strings.HasSuffix(fmt.Sprint(r["file"]), "/profitrestservices/connectors/T4E_HelloID_Users") || fmt.Sprint(r["line"]) != "7" ||
		fmt.Sprint(r["column"]) != "Email_werk" || fmt.Sprint(rawBack) != fmt.Sprint(wantBack) {
		t.Fatalf("reject = %v\nwant raw %s", r, raw)
	}
}

// dbState renders the stored persons and contracts as text, to compare
// the state before and after a failure byte for byte.
func dbState(t *testing.T, db string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", db+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	for _, q := range []string{`SELECT * FROM persons ORDER BY employee_number`, `SELECT * FROM contracts ORDER BY employee_number, key`} {
		rows, err := conn.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%q\n", vals)
		}
		rows.Close()
	}
	return b.String()
}
