package domaincheck

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/dnstest"
)

// serveZone starts a real DNS server on loopback serving the test zone.
func serveZone(t *testing.T) string {
	t.Helper()
	return dnstest.Serve(t,
		`txt.test. 60 IN TXT "visma-domain-verification=abc123"`, `txt.test. 60 IN TXT "v=spf1 -all"`,
		`valued.test. 60 IN TXT "connect-token-42"`,
		"wrong.test. 60 IN TXT \"other\x1b[31m\"",
		`cname.test. 60 IN CNAME verify.connect.visma.com.`,
		`badcname.test. 60 IN CNAME elsewhere.example.`,
		`example.com. 60 IN A 127.0.0.1`)
}

func TestCheckAnswersPerDomainFromARealDNSServer(t *testing.T) {
	c := &Checker{Servers: []string{serveZone(t)}, Timeout: 2 * time.Second, Rules: map[string]Rule{
		"valued.test":   {TXT: "connect-token-42"},
		"cname.test":    {CNAME: "verify.connect.visma.com"},
		"badcname.test": {CNAME: "verify.connect.visma.com"},
		"wrong.test":    {TXT: "connect-token-42"},
	}}
	cases := []struct {
		domain   string
		verified bool
		by, want string
	}{
		{"txt.test", true, "txt", "visma-domain-verification=abc123"},
		{"valued.test", true, "txt", "connect-token-42"},
		{"cname.test", true, "cname", "verify.connect.visma.com"},
		{"badcname.test", false, "", `CNAME is "elsewhere.example", not "verify.connect.visma.com"`},
		{"wrong.test", false, "", `no TXT record holding "connect-token-42" (found 1: other\x1b[31m)`},
		{"nx.test", false, "", "NXDOMAIN"},
		{"evil.test/x?@127.0.0.1:9", false, "", `not a domain name: "evil.test/x?@127.0.0.1:9"`},
	}
	for _, tc := range cases {
		t.Run(tc.domain, func(t *testing.T) {
			r := c.Check(context.Background(), tc.domain)
			if r.Verified != tc.verified || r.By != tc.by || !strings.Contains(r.Detail, tc.want) {
				t.Errorf("got %+v, want verified=%v by=%q detail containing %q", r, tc.verified, tc.by, tc.want)
			}
			if strings.ContainsRune(r.Detail, 0x1b) {
				t.Errorf("server text reached the detail unescaped: %q", r.Detail)
			}
		})
	}
}

func TestCheckOfAServerThatNeverAnswersIsATimeoutWithinTheBound(t *testing.T) {
	c := &Checker{Servers: []string{dnstest.Silent(t)}, Timeout: 300 * time.Millisecond}
	start := time.Now()
	rs := c.CheckAll(context.Background(), []Domain{{"a.test", 3}, {"b.test", 0}})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s, the lookup bound is 300ms", took)
	}
	for _, r := range rs {
		if r.Verified || !strings.Contains(r.Detail, "timed out") {
			t.Errorf("%+v: want a timeout", r)
		}
	}
	if !Failed(rs) || rs[0].Persons != 3 {
		t.Errorf("Failed=%v %+v: a domain holding persons failed", Failed(rs), rs)
	}
	if Failed(rs[1:]) {
		t.Error("a domain without persons that fails is not a failure")
	}
}

// TestCheckFetchesTheVerificationFileOverVerifiedHTTPS: the file is fetched
// from https://example.com (which the test's DNS resolves to 127.0.0.1)
// with the test server's CA trusted; the same server with the system roots
// fails certificate verification.
func TestCheckFetchesTheVerificationFileOverVerifiedHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/visma.html":
			w.Write([]byte("verification: connect-token-42"))
		case "/plain":
			http.Redirect(w, r, "http://example.com/visma.html", http.StatusFound)
		default:
			http.Error(w, "nope\x1b[2J", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	trusted := srv.Client()
	trusted.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	zone := serveZone(t)
	rule := func(path string) map[string]Rule { return map[string]Rule{"example.com": {File: path}} }
	check := func(client *http.Client, path string) Result {
		c := &Checker{Servers: []string{zone}, Timeout: 2 * time.Second, Rules: rule(path), HTTPClient: client}
		return c.Check(context.Background(), "example.com")
	}
	if r := check(trusted, "/visma.html"); !r.Verified || r.By != "file" {
		t.Errorf("%+v: want verified by file", r)
	}
	if r := check(trusted, "/missing"); r.Verified || !strings.Contains(r.Detail, "HTTP 404") || strings.ContainsRune(r.Detail, 0x1b) {
		t.Errorf("%+v: want an escaped HTTP 404", r)
	}
	if r := check(trusted, "/plain"); r.Verified || !strings.Contains(r.Detail, "not https") {
		t.Errorf("%+v: a redirect to http must fail", r)
	}
	// The default client: system roots only, dialling through the
	// configured DNS to port 443, where nothing of the test listens.
	untrusted := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
	if r := check(untrusted, "/visma.html"); r.Verified || !strings.Contains(r.Detail, "certificate") {
		t.Errorf("%+v: an untrusted certificate must fail", r)
	}
}

func TestCheckAllStopsAtTheWholeCheckBound(t *testing.T) {
	c := &Checker{Servers: []string{dnstest.Silent(t)}, Timeout: 5 * time.Second, Bound: 400 * time.Millisecond}
	var ds []Domain
	for i := range 20 {
		ds = append(ds, Domain{Name: "d" + string(rune('a'+i)) + ".test", Persons: 1})
	}
	start := time.Now()
	rs := c.CheckAll(context.Background(), ds)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s, the whole bound is 400ms", took)
	}
	var notChecked int
	for _, r := range rs {
		if r.Verified || !strings.Contains(r.Detail, "the whole check's bound (400ms)") {
			t.Errorf("%+v: want the bound named", r)
		}
		if strings.HasPrefix(r.Detail, "not checked") {
			notChecked++
		}
	}
	if notChecked != len(ds)-parallel {
		t.Errorf("%d not checked, want %d (only %d at a time)", notChecked, len(ds)-parallel, parallel)
	}
}
