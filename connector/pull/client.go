package pull

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Config is one source's pull settings with its secrets already read.
type Config struct {
	System   string // afas, entra, raet, adp, successfactors
	URL      string
	PageSize int
	Timeout  time.Duration
	Retries  int

	Token string // afas: the token XML

	TokenURL, ClientID, ClientSecret, TenantID, Scope string // OAuth2 client credentials

	User, Password string // basic auth

	CAFile, CertFile, KeyFile string

	// Keep, when set, is the folder kept pages go to; KeepFor prunes
	// earlier pulls there once this one is complete (0 keeps all).
	Keep    string
	KeepFor time.Duration
	// Replay, when set, is a kept pull's folder to read instead.
	Replay string
}

// maxPage bounds one answer: no sane page of HR rows is bigger.
const maxPage = 512 << 20

// Error is a pull that failed: the request path (never its query), the
// last HTTP status and how many attempts were made.
type Error struct {
	Path     string
	Status   int
	Attempts int
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s", e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// client does authenticated GETs with retries.
type client struct {
	cfg  *Config
	http *http.Client
	// wait sleeps between attempts; tests never replace it: Retry-After
	// from the test servers keeps them short.
	wait func(ctx context.Context, d time.Duration) error
}

func newClient(ctx context.Context, cfg *Config) (*client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("api.ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("api.ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("api.cert_file: cannot load the client certificate and key: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = http.ProxyFromEnvironment
	base := &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: sameHostRedirect}
	c := &client{cfg: cfg, wait: sleep}
	switch {
	case cfg.System == "afas":
		// AFAS wants the token XML base64-encoded behind its own scheme.
		c.http = withHeader(base, "Authorization", "AfasToken "+base64.StdEncoding.EncodeToString([]byte(cfg.Token)))
	case cfg.User != "":
		c.http = withBasic(base, cfg.User, cfg.Password)
	default:
		// Each vendor documents one way to send the client secret; guessing
		// (the library's default) would send a refused secret twice.
		style := oauth2.AuthStyleInParams
		if cfg.System == "adp" {
			style = oauth2.AuthStyleInHeader
		}
		cc := clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL, AuthStyle: style}
		switch {
		case cfg.Scope != "":
			cc.Scopes = strings.Fields(cfg.Scope)
		case cfg.System == "entra":
			cc.Scopes = []string{"https://graph.microsoft.com/.default"}
		}
		if cfg.TenantID != "" {
			cc.EndpointParams = url.Values{"tenant_id": {cfg.TenantID}}
		}
		c.http = cc.Client(context.WithValue(ctx, oauth2.HTTPClient, base))
		c.http.Timeout = cfg.Timeout
		c.http.CheckRedirect = sameHostRedirect
	}
	return c, nil
}

// sameHostRedirect refuses to carry credentials to another host.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
	}
	return nil
}

type headerTransport struct {
	base       http.RoundTripper
	key, value string
	user, pass string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if t.user != "" {
		r.SetBasicAuth(t.user, t.pass)
	} else {
		r.Header.Set(t.key, t.value)
	}
	return t.base.RoundTrip(r)
}

func withHeader(c *http.Client, key, value string) *http.Client {
	return &http.Client{Transport: &headerTransport{base: c.Transport, key: key, value: value}, Timeout: c.Timeout, CheckRedirect: c.CheckRedirect}
}

func withBasic(c *http.Client, user, pass string) *http.Client {
	return &http.Client{Transport: &headerTransport{base: c.Transport, user: user, pass: pass}, Timeout: c.Timeout, CheckRedirect: c.CheckRedirect}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxWait caps a server's Retry-After: past it the pull fails rather than
// hang the nightly run.
const maxWait = 5 * time.Minute

// get fetches u, retrying network failures, timeouts, 429 and 5xx with
// exponential backoff (or the server's Retry-After). Auth and TLS failures
// and other 4xx fail at once. A 204 is an empty page (nil body).
func (c *client) get(ctx context.Context, u *url.URL) ([]byte, error) {
	e := &Error{Path: u.EscapedPath()}
	for attempt := 0; ; attempt++ {
		e.Attempts = attempt + 1
		body, status, retryAfter, err := c.once(ctx, u)
		if err == nil && status == http.StatusOK {
			return body, nil
		}
		if err == nil && status == http.StatusNoContent {
			return nil, nil
		}
		e.Status, e.Err = status, err
		retry := retryable(status, err) && ctx.Err() == nil
		if !retry || attempt >= c.cfg.Retries {
			return nil, e
		}
		d := backoff(attempt)
		if retryAfter > 0 {
			d = retryAfter
		}
		if d > maxWait {
			e.Err = errors.Join(e.Err, fmt.Errorf("server asks to wait %s, longer than %s", retryAfter, maxWait))
			return nil, e
		}
		if err := c.wait(ctx, d); err != nil {
			return nil, e
		}
	}
}

// once is one attempt; its error is already fit for a user (no URL query,
// no token endpoint answer).
func (c *client) once(ctx context.Context, u *url.URL) (body []byte, status int, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, 0, c.translate(err)
	}
	defer resp.Body.Close()
	retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, resp.StatusCode, retryAfter, nil
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, resp.StatusCode, 0, c.translate(err)
	}
	if len(body) > maxPage {
		return nil, resp.StatusCode, 0, fmt.Errorf("answer is larger than %d MiB: lower api.page_size", maxPage>>20)
	}
	return body, resp.StatusCode, 0, nil
}

// errAuth marks a token endpoint refusal: never retried.
var errAuth = errors.New("authentication failed")

// translate turns transport errors into messages without the request URL
// (it may carry a query) or the token endpoint's answer body.
func (c *client) translate(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if status == http.StatusTooManyRequests || status >= 500 {
			return fmt.Errorf("token request to %s: HTTP %d", pathOf(c.cfg.TokenURL), status)
		}
		return fmt.Errorf("%w: token request to %s: HTTP %d (%s)", errAuth, pathOf(c.cfg.TokenURL), status, code)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var cie x509.CertificateInvalidError
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hne), errors.As(err, &cie):
		return fmt.Errorf("%w: TLS: the server's certificate is not trusted (%v); add its CA with api.ca_file", errAuth, err)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("no answer within %s (api.timeout)", c.cfg.Timeout)
	}
	var re2 tls.RecordHeaderError
	if errors.As(err, &re2) {
		return fmt.Errorf("%w: TLS: the server does not speak TLS", errAuth)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// Never io.EOF itself: to a reader that means "no more rows".
		return errors.New("the server closed the connection before answering in full")
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the token endpoint"
	}
	return u.EscapedPath()
}

func retryable(status int, err error) bool {
	if err != nil {
		return !errors.Is(err, errAuth) && !errors.Is(err, context.Canceled)
	}
	return status == http.StatusTooManyRequests || status >= 500
}

func backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 7)
	return d + rand.N(d/2)
}

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return max(time.Duration(s)*time.Second, time.Millisecond)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), time.Millisecond)
	}
	return 0
}
