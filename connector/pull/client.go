package pull

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/spendsync/spendsync/internal/httpwait"
	"github.com/spendsync/spendsync/internal/show"
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

	// Bounds on the pull; zero takes the default. Key prefixes the config
	// key they are named by in messages ("sources[0].api").
	MaxPages int
	MaxRows  int
	MaxBody  int64
	Deadline time.Duration
	Key      string
	// Redact, when set, hides in a failed pull's message the config values
	// that came from the environment (${VAR}).
	Redact func(string) string

	// Keep, when set, is the folder kept pages go to; KeepFor prunes
	// earlier pulls there once this one is complete (0 keeps all).
	Keep    string
	KeepFor time.Duration
	// Replay, when set, is a kept pull's folder to read instead.
	Replay string
}

// Defaults of the bounds (SPEC, "Bounds on every wait").
const (
	DefaultMaxPages = 10000
	DefaultMaxRows  = 2000000
	DefaultMaxBody  = 64 << 20
	DefaultDeadline = 30 * time.Minute
)

// maxValue bounds one JSON value of an answer (a row, or a field beside
// the rows) as it is decoded: the decoder holds a whole value in memory,
// and no HR row comes near it. With it a pull's memory stays bounded
// whatever a server sends (docs/security.md).
const maxValue = 1 << 20

// key names a config key of the source's api: block for a message.
func (c *Config) key(name string) string {
	if c.Key == "" {
		return "api." + name
	}
	return c.Key + "." + name
}

func (c *Config) maxPages() int {
	if c.MaxPages > 0 {
		return c.MaxPages
	}
	return DefaultMaxPages
}

func (c *Config) maxRows() int {
	if c.MaxRows > 0 {
		return c.MaxRows
	}
	return DefaultMaxRows
}

func (c *Config) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

func (c *Config) deadline() time.Duration {
	if c.Deadline > 0 {
		return c.Deadline
	}
	return DefaultDeadline
}

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
	// The path may come from a server's next-page link.
	fmt.Fprintf(&b, "GET %s", show.Text(e.Path))
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
		pool, err := httpwait.RootCAs(cfg.CAFile, "api.ca_file")
		if err != nil {
			return nil, err
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

// sameHostRedirect refuses to carry credentials to another host. A refusal
// is final: asking again would be refused again.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return final(errors.New("too many redirects"))
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return final(fmt.Errorf("redirect to another host or scheme (%s://%s) refused", show.Text(req.URL.Scheme), show.Text(req.URL.Host)))
	}
	return nil
}

// finalError marks a failure no retry can mend: a bound reached, a
// redirect refused, a shifted page. It is never retried.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

func final(err error) error { return finalError{err} }

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
const maxWait = httpwait.MaxWait

// get fetches u, retrying network failures, timeouts, 429 and 5xx with
// exponential backoff (or the server's Retry-After). Auth and TLS failures,
// other 4xx and final errors fail at once. It returns the answer's body,
// which the caller reads through the bounds and closes; nil for a 204 (an
// empty page). e names the page and counts its attempts across calls: a
// page whose body breaks off is asked again within the same retries.
func (c *client) get(ctx context.Context, u *url.URL, e *Error) (io.ReadCloser, error) {
	for {
		e.Attempts++
		body, status, retryAfter, err := c.once(ctx, u)
		if err == nil && status == http.StatusOK {
			return body, nil
		}
		if err == nil && status == http.StatusNoContent {
			return nil, nil
		}
		e.Status, e.Err = status, err
		if err := c.pause(ctx, e, retryAfter); err != nil {
			return nil, err
		}
	}
}

// pause waits before the next attempt at e's page, or returns e when the
// page is not to be asked again: not retryable, out of retries, or the
// pull stopped (its deadline, or a signal).
func (c *client) pause(ctx context.Context, e *Error, retryAfter time.Duration) error {
	if cause := stopped(ctx); cause != nil {
		e.Err = cause
		return e
	}
	if !retryable(e.Status, e.Err) || ctx.Err() != nil || e.Attempts > c.cfg.Retries {
		return e
	}
	d := backoff(e.Attempts - 1)
	if retryAfter > 0 {
		d = retryAfter
	}
	if d > maxWait {
		e.Err = errors.Join(e.Err, fmt.Errorf("server asks to wait %s, longer than %s", retryAfter, maxWait))
		return e
	}
	if err := c.wait(ctx, d); err != nil {
		if cause := stopped(ctx); cause != nil {
			e.Err = cause
		}
		return e
	}
	return nil
}

// stopped returns the reason the pull's context ended when that is one of
// the pull's own bounds (api.deadline), else nil.
func stopped(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.As(cause, new(finalError)) {
		return cause
	}
	return nil
}

// once is one attempt; its error is already fit for a user (no URL query,
// no token endpoint answer, server text escaped and cut). A 200's body is
// returned open: it streams, and nothing of it is held here.
func (c *client) once(ctx context.Context, u *url.URL) (body io.ReadCloser, status int, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, 0, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, 0, 0, c.translate(err)
	}
	retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, retryAfter, nil
	}
	return &answer{c: c, body: resp.Body, cancel: cancel}, resp.StatusCode, 0, nil
}

// answer is a 200's body as it streams (gzip already decoded by the
// transport); read errors come translated.
type answer struct {
	c      *client
	body   io.ReadCloser
	cancel context.CancelFunc
}

func (a *answer) Read(p []byte) (int, error) {
	n, err := a.body.Read(p)
	if err != nil && err != io.EOF {
		err = a.c.translate(err)
	}
	return n, err
}

func (a *answer) Close() error {
	err := a.body.Close()
	a.cancel()
	return err
}

// errAuth marks a token endpoint refusal: never retried.
var errAuth = errors.New("authentication failed")

// translate turns transport errors into messages without the request URL
// (it may carry a query) or the token endpoint's answer body; what is left
// of a server's text is escaped and cut (internal/show).
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
			return fmt.Errorf("token request to %s: HTTP %d", show.Text(pathOf(c.cfg.TokenURL)), status)
		}
		return fmt.Errorf("%w: token request to %s: HTTP %d (%s)", errAuth, show.Text(pathOf(c.cfg.TokenURL)), status, show.Text(code))
	}
	var fe finalError
	if errors.As(err, &fe) {
		return fe
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
	case errors.As(err, &cie) && cie.Reason == x509.Expired && cie.Cert != nil:
		// Not a missing CA: adding one would not help.
		if nb := cie.Cert.NotBefore; time.Now().Before(nb) {
			return fmt.Errorf("%w: TLS: the server's certificate is not valid yet (not before %s); the server's operator must correct it (or this machine's clock is wrong)",
				errAuth, nb.UTC().Format(time.RFC3339))
		}
		return fmt.Errorf("%w: TLS: the server's certificate has expired (not after %s); the server's operator must renew it",
			errAuth, cie.Cert.NotAfter.UTC().Format(time.RFC3339))
	case errors.As(err, &hne):
		return fmt.Errorf("%w: TLS: the server's certificate is not trusted (%s): it does not name the host of api.url", errAuth, show.Text(err.Error()))
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &cie):
		return fmt.Errorf("%w: TLS: the server's certificate is not trusted (%s); add its CA with api.ca_file", errAuth, show.Text(err.Error()))
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
	return shown{err}
}

// shown is an error whose text may hold a server's (a malformed status
// line, a host name): escaped and cut, the error itself kept for errors.Is.
type shown struct{ err error }

func (e shown) Error() string { return show.Text(e.err.Error()) }
func (e shown) Unwrap() error { return e.err }

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
		return !errors.Is(err, errAuth) && !errors.Is(err, context.Canceled) && !errors.As(err, new(finalError))
	}
	return status == http.StatusTooManyRequests || status >= 500
}

func backoff(attempt int) time.Duration { return httpwait.Backoff(attempt) }

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration { return httpwait.ParseRetryAfter(v) }
