// Package domaincheck checks live that an email domain is verified for
// Visma Connect: a TXT record, a CNAME, or an HTTPS verification file.
package domaincheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/spendsync/spendsync/internal/show"
)

// Rule is what a domain's verification must hold (rules.connect_domains.D).
// Empty fields are not checked; an empty rule checks for a TXT record
// starting with DefaultTXTPrefix.
type Rule struct {
	TXT   string `yaml:"txt"`
	CNAME string `yaml:"cname"`
	File  string `yaml:"file"`
}

// DefaultTXTPrefix is the TXT record a domain without a rule must hold.
const DefaultTXTPrefix = "visma-domain-verification="

// Bounds on every wait.
const (
	// LookupTimeout bounds one DNS query or one HTTPS fetch.
	LookupTimeout = 5 * time.Second
	// CommandTimeout bounds the whole check of every domain.
	CommandTimeout = 2 * time.Minute
	// parallel is how many domains are checked at once.
	parallel = 8
	// maxFile is the most of a verification file read.
	maxFile = 64 << 10
)

// Checker checks domains. The zero value asks the system resolver.
type Checker struct {
	// Servers (HOST:PORT) are asked instead of the system resolver.
	Servers []string
	Rules   map[string]Rule
	// Timeout bounds each lookup (LookupTimeout when 0).
	Timeout time.Duration
	// Bound bounds the whole CheckAll (CommandTimeout when 0).
	Bound time.Duration
	// HTTPClient fetches verification files. Nil: a client that checks
	// certificates against the system roots and follows no redirect to
	// anything but https. Tests set one that trusts their own CA.
	HTTPClient *http.Client
}

// Result is one domain's answer.
type Result struct {
	Domain   string `json:"domain"`
	Persons  int    `json:"persons"`
	Verified bool   `json:"verified"`
	// By names what verified it (txt, cname, file), or is empty.
	By string `json:"by"`
	// Detail says what was found, or why each method failed.
	Detail string `json:"detail"`
}

// Domain is a domain and how many persons use it.
type Domain struct {
	Name    string
	Persons int
}

// CheckAll checks every domain, several at once, all within
// CommandTimeout. A domain whose check was cut off by that bound says so.
func (c *Checker) CheckAll(ctx context.Context, domains []Domain) []Result {
	bound := c.Bound
	if bound <= 0 {
		bound = CommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	// A connection's deadline (the context's) can fire a moment before
	// the context's own timer marks it done: the clock decides.
	deadline, _ := ctx.Deadline()
	expired := func() bool { return ctx.Err() != nil || !time.Now().Before(deadline) }
	out := make([]Result, len(domains))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, d := range domains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				if expired() {
					out[i] = Result{Domain: d.Name, Detail: fmt.Sprintf("not checked: the whole check's bound (%s) passed", bound)}
					break
				}
				out[i] = c.Check(ctx, d.Name)
				if !out[i].Verified && expired() {
					out[i].Detail = fmt.Sprintf("cut off by the whole check's bound (%s): %s", bound, out[i].Detail)
				}
			case <-ctx.Done():
				out[i] = Result{Domain: d.Name, Detail: fmt.Sprintf("not checked: the whole check's bound (%s) passed", bound)}
			}
			out[i].Persons = d.Persons
		}()
	}
	wg.Wait()
	return out
}

// Check checks one domain: every method its rule names, verified when one
// of them holds.
func (c *Checker) Check(ctx context.Context, domain string) Result {
	r := Result{Domain: domain}
	if !hostName(domain) {
		// From an email in HR data: never put in a query or a URL.
		r.Detail = "not a domain name: " + show.Quote(domain)
		return r
	}
	rule := c.Rules[strings.ToLower(domain)]
	var why []string
	try := func(by string, fn func() (string, bool)) {
		if r.Verified {
			return
		}
		detail, ok := fn()
		if ok {
			r.Verified, r.By, r.Detail = true, by, detail
			return
		}
		why = append(why, by+": "+detail)
	}
	if rule.TXT != "" || (rule.CNAME == "" && rule.File == "") {
		try("txt", func() (string, bool) { return c.txt(ctx, domain, rule.TXT) })
	}
	if rule.CNAME != "" {
		try("cname", func() (string, bool) { return c.cname(ctx, domain, rule.CNAME) })
	}
	if rule.File != "" {
		try("file", func() (string, bool) { return c.file(ctx, domain, rule.File) })
	}
	if !r.Verified {
		r.Detail = strings.Join(why, "; ")
	}
	return r
}

func (c *Checker) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return LookupTimeout
}

// resolver asks Servers in turn when set, else the system resolver.
func (c *Checker) resolver() *net.Resolver {
	if len(c.Servers) == 0 {
		return net.DefaultResolver
	}
	var mu sync.Mutex
	next := 0
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		mu.Lock()
		server := c.Servers[next%len(c.Servers)]
		next++
		mu.Unlock()
		d := net.Dialer{Timeout: c.timeout()}
		return d.DialContext(ctx, network, server)
	}}
}

// dnsWhy turns a lookup error into a clear answer.
func (c *Checker) dnsWhy(kind string, err error) string {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return "no " + kind + " record (NXDOMAIN or no such record)"
	case errors.As(err, &de) && de.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("DNS timed out after %s", c.timeout())
	}
	return "DNS lookup failed: " + show.Text(err.Error())
}

func (c *Checker) txt(ctx context.Context, domain, want string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	recs, err := c.resolver().LookupTXT(ctx, domain)
	if err != nil {
		return c.dnsWhy("TXT", err), false
	}
	for _, t := range recs {
		if (want != "" && strings.TrimSpace(t) == want) || (want == "" && strings.HasPrefix(t, DefaultTXTPrefix)) {
			return "TXT " + show.Quote(t), true
		}
	}
	if want == "" {
		want = DefaultTXTPrefix + "…"
	}
	return fmt.Sprintf("no TXT record holding %s (found %d: %s)", show.Quote(want), len(recs), show.List(recs)), false
}

func (c *Checker) cname(ctx context.Context, domain, want string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	got, err := c.resolver().LookupCNAME(ctx, domain)
	if err != nil {
		return c.dnsWhy("CNAME", err), false
	}
	norm := func(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }
	if norm(got) == norm(want) {
		return "CNAME " + show.Quote(norm(got)), true
	}
	if norm(got) == norm(domain) {
		return "no CNAME record", false
	}
	return fmt.Sprintf("CNAME is %s, not %s", show.Quote(norm(got)), show.Quote(norm(want))), false
}

func (c *Checker) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{Timeout: c.timeout(), Resolver: c.resolver()}).DialContext},
	}
}

func (c *Checker) file(ctx context.Context, domain, path string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := "https://" + domain + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "bad URL " + show.Quote(url), false
	}
	client := *c.client()
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s, not https", req.URL.Scheme)
		}
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return fmt.Sprintf("GET %s timed out after %s", show.Text(url), c.timeout()), false
		}
		var de *net.DNSError
		if errors.As(err, &de) {
			return "GET " + show.Text(url) + ": " + c.dnsWhy("address", err), false
		}
		return "GET " + show.Text(url) + ": " + show.Text(err.Error()), false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFile))
	if err != nil {
		return "GET " + show.Text(url) + ": reading the body: " + show.Line(err.Error()), false
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("GET %s: HTTP %d %s", show.Text(url), resp.StatusCode, show.Text(string(body))), false
	}
	want := c.Rules[strings.ToLower(domain)].TXT
	if want != "" && !strings.Contains(string(body), want) {
		return fmt.Sprintf("GET %s: the file does not hold %s", show.Text(url), show.Quote(want)), false
	}
	return "file " + show.Text(url), true
}

// hostName reports whether s is a plain DNS name: labels of letters,
// digits, hyphens and underscores (or non-ASCII letters, an IDN), so it
// cannot carry a port, a path or user info into the file's URL.
func hostName(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		case r > 0x7f && unicode.IsLetter(r):
		default:
			return false
		}
	}
	return true
}

// Failed reports whether a domain holding persons failed.
func Failed(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return !r.Verified && r.Persons > 0 })
}
