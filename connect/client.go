package connect

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/httpwait"
	"github.com/spendsync/spendsync/internal/show"
)

// maxAnswer bounds one SCIM answer: a user or a one-user list.
const maxAnswer = 1 << 20

const (
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	scimJSON    = "application/scim+json"
)

// Client talks SCIM 2.0 to one service provider.
type Client struct {
	cfg   *Config
	base  string
	token string
	http  *http.Client
	patch bool // the server's ServiceProviderConfig says patch is supported
	// wait sleeps between attempts; Retry-After from test servers keeps
	// them short.
	wait func(ctx context.Context, d time.Duration) error
}

// Open reads the token and makes a client; it asks nothing of the server
// yet (Discover does).
func Open(cfg *Config) (*Client, error) {
	token, err := readToken(cfg)
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pool, err := httpwait.RootCAs(cfg.CAFile, "target.scim.ca_file")
		if err != nil {
			return nil, err
		}
		tlsCfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = http.ProxyFromEnvironment
	tr.MaxIdleConnsPerHost = cfg.Parallel
	hc := &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		// A redirect would carry the bearer token elsewhere.
		return http.ErrUseLastResponse
	}}
	return &Client{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), token: token, http: hc, wait: sleep}, nil
}

func readToken(cfg *Config) (string, error) {
	if cfg.TokenEnv != "" {
		v, ok := os.LookupEnv(cfg.TokenEnv)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fault.Key("target.scim.token_env", "environment variable %s is not set", cfg.TokenEnv)
		}
		return strings.TrimSpace(v), nil
	}
	b, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return "", fault.Key("target.scim.token_file", "%v", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fault.Key("target.scim.token_file", "%s is empty", cfg.TokenFile)
	}
	return t, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Patch reports whether writes use PATCH (else PUT).
func (c *Client) Patch() bool { return c.patch }

// Discover reads /ServiceProviderConfig: whether PATCH is supported. A
// server without the endpoint (404) is taken as PUT only.
func (c *Client) Discover(ctx context.Context) error {
	var spc struct {
		Patch struct {
			Supported bool `json:"supported"`
		} `json:"patch"`
	}
	status, err := c.do(ctx, http.MethodGet, "/ServiceProviderConfig", nil, &spc)
	if status == http.StatusNotFound {
		c.patch = false
		return nil
	}
	if err != nil {
		return err
	}
	c.patch = spc.Patch.Supported
	return nil
}

// User is a SCIM user as read: the whole resource (for a PUT) and the
// fields compared.
type User struct {
	ID       string
	Active   bool
	Resource map[string]any
}

// Want is what spendsync holds of a person for the service.
type Want struct {
	UserName, ExternalID, GivenName, FamilyName, Email string
	Active                                             bool
}

// Find looks the user up by a filter on attr (userName or externalId);
// nil when there is none.
func (c *Client) Find(ctx context.Context, attr, value string) (*User, error) {
	q := url.Values{"filter": {fmt.Sprintf("%s eq %s", attr, quote(value))}, "count": {"2"}}
	var list struct {
		Total     int              `json:"totalResults"`
		Resources []map[string]any `json:"Resources"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/Users?"+q.Encode(), nil, &list); err != nil {
		return nil, err
	}
	switch {
	case len(list.Resources) == 0:
		return nil, nil
	case len(list.Resources) > 1 || list.Total > 1:
		return nil, errors.New("the filter matches more than one user: fix them at the service")
	}
	return asUser(list.Resources[0])
}

func asUser(r map[string]any) (*User, error) {
	id, _ := r["id"].(string)
	if id == "" {
		return nil, errors.New("the server's user has no id")
	}
	active, ok := r["active"].(bool)
	if !ok {
		active = true // RFC 7643: absent means the service decides; treat as active
	}
	return &User{ID: id, Active: active, Resource: r}, nil
}

// Differs reports whether u's name, email or externalId differ from w.
func Differs(u *User, w Want) bool {
	r := u.Resource
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	name, _ := r["name"].(map[string]any)
	if str(r, "userName") != w.UserName || str(r, "externalId") != w.ExternalID ||
		str(name, "givenName") != w.GivenName || str(name, "familyName") != w.FamilyName {
		return true
	}
	return primaryEmail(r) != w.Email
}

func primaryEmail(r map[string]any) string {
	list, _ := r["emails"].([]any)
	first := ""
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		if p, _ := m["primary"].(bool); p {
			return v
		}
		if first == "" {
			first = v
		}
	}
	return first
}

func attributes(w Want) map[string]any {
	return map[string]any{
		"userName":   w.UserName,
		"externalId": w.ExternalID,
		"name":       map[string]any{"givenName": w.GivenName, "familyName": w.FamilyName},
		"emails":     []any{map[string]any{"value": w.Email, "type": "work", "primary": true}},
	}
}

// SetActive sets u's active flag; a user already so is not written.
func (c *Client) SetActive(ctx context.Context, u *User, active bool) error {
	if u.Active == active {
		return nil
	}
	if c.patch {
		body := map[string]any{"schemas": []string{patchSchema},
			"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": active}}}
		_, err := c.do(ctx, http.MethodPatch, "/Users/"+url.PathEscape(u.ID), body, nil)
		return err
	}
	r := putBody(u.Resource)
	r["active"] = active
	_, err := c.do(ctx, http.MethodPut, "/Users/"+url.PathEscape(u.ID), r, nil)
	return err
}

// Update writes w's name, email, externalId and active flag to u.
func (c *Client) Update(ctx context.Context, u *User, w Want) error {
	attrs := attributes(w)
	attrs["active"] = w.Active
	if c.patch {
		var ops []any
		for k, v := range attrs {
			ops = append(ops, map[string]any{"op": "replace", "path": k, "value": v})
		}
		body := map[string]any{"schemas": []string{patchSchema}, "Operations": ops}
		_, err := c.do(ctx, http.MethodPatch, "/Users/"+url.PathEscape(u.ID), body, nil)
		return err
	}
	r := putBody(u.Resource)
	for k, v := range attrs {
		r[k] = v
	}
	_, err := c.do(ctx, http.MethodPut, "/Users/"+url.PathEscape(u.ID), r, nil)
	return err
}

// Create makes a user for w and returns its id.
func (c *Client) Create(ctx context.Context, w Want) (string, error) {
	body := attributes(w)
	body["schemas"] = []string{userSchema}
	body["active"] = w.Active
	var got map[string]any
	if _, err := c.do(ctx, http.MethodPost, "/Users", body, &got); err != nil {
		return "", err
	}
	u, err := asUser(got)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// putBody is a user as read without what a PUT must not send.
func putBody(r map[string]any) map[string]any {
	out := make(map[string]any, len(r))
	for k, v := range r {
		if k != "meta" {
			out[k] = v
		}
	}
	out["schemas"] = []string{userSchema}
	return out
}

func quote(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Error is a SCIM call that failed: method, path (never the query, it
// holds a person's email), the last status, the attempts.
type Error struct {
	Method, Path string
	Status       int
	Detail       string // the server's SCIM error detail, escaped and cut
	Attempts     int
	Err          error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		b.WriteString(": the token is refused (target.scim.token_env / token_file)")
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

// ErrDeadline is the cause of a SCIM phase stopped by target.scim.deadline.
var ErrDeadline = errors.New("the SCIM calls took longer than target.scim.deadline")

// do sends one request with retries (network failures, timeouts, 429 and
// 5xx, waiting the server's Retry-After when given) and decodes a 2xx
// answer into out. It returns the last status.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, err
		}
	}
	p, _, _ := strings.Cut(path, "?")
	e := &Error{Method: method, Path: show.Text(p)}
	for {
		e.Attempts++
		status, retryAfter, detail, err := c.once(ctx, method, path, payload, out)
		if err == nil && status/100 == 2 {
			return status, nil
		}
		e.Status, e.Detail, e.Err = status, detail, err
		if ctx.Err() != nil {
			if cause := context.Cause(ctx); errors.Is(cause, ErrDeadline) {
				e.Err = cause
			} else {
				e.Err = ctx.Err()
			}
			return status, e
		}
		if !retryable(status, err) || e.Attempts > *c.cfg.Retries {
			return status, e
		}
		d := httpwait.Backoff(e.Attempts - 1)
		if retryAfter > 0 {
			d = retryAfter
		}
		if d > httpwait.MaxWait {
			e.Err = errors.Join(e.Err, fmt.Errorf("server asks to wait %s, longer than %s", retryAfter, httpwait.MaxWait))
			return status, e
		}
		if err := c.wait(ctx, d); err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, ErrDeadline) {
				e.Err = cause
			} else {
				e.Err = err
			}
			return status, e
		}
	}
}

func (c *Client) once(ctx context.Context, method, path string, payload []byte, out any) (status int, retryAfter time.Duration, detail string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, 0, "", errors.New("cannot make the request")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", scimJSON+", application/json")
	if payload != nil {
		req.Header.Set("Content-Type", scimJSON)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, 0, "", c.translate(err)
	}
	defer resp.Body.Close()
	retryAfter = httpwait.ParseRetryAfter(resp.Header.Get("Retry-After"))
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return resp.StatusCode, retryAfter, "", c.translate(err)
	}
	if len(b) > maxAnswer {
		return resp.StatusCode, 0, "", fmt.Errorf("the answer is larger than %d bytes", maxAnswer)
	}
	if resp.StatusCode/100 != 2 {
		var se struct {
			Detail   string `json:"detail"`
			ScimType string `json:"scimType"`
		}
		if json.Unmarshal(b, &se) == nil && se.Detail != "" {
			detail = show.Text(se.Detail)
		}
		return resp.StatusCode, retryAfter, detail, nil
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, 0, "", fmt.Errorf("the answer is not SCIM JSON: %s", show.Text(err.Error()))
		}
	}
	return resp.StatusCode, 0, "", nil
}

// errFinal marks a failure no retry mends (TLS trust).
var errFinal = errors.New("final")

func (c *Client) translate(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL holds a person's email in the filter
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Errorf("no answer within %s (target.scim.timeout)", c.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		return err
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return fmt.Errorf("%w: TLS: the server's certificate is not trusted (%s); add its CA with target.scim.ca_file", errFinal, show.Text(cve.Err.Error()))
	}
	return errors.New(show.Text(err.Error()))
}

func retryable(status int, err error) bool {
	if err != nil {
		return !errors.Is(err, errFinal) && !errors.Is(err, context.Canceled)
	}
	return status == http.StatusTooManyRequests || status >= 500
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
