// Package httpwait holds what the HTTP clients (the pulls in
// connector/pull, the SCIM target in connect) share: which URLs they may
// call, the waits between attempts and the trust in a ca_file.
package httpwait

import (
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/show"
)

// CheckScheme allows https, and plain http only for a loopback host
// (localhost, 127.0.0.0/8, ::1): personal data and tokens never cross a
// network in the clear.
func CheckScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return nil
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("must be https:// (plain http is allowed only for a loopback host)")
	}
	return fmt.Errorf("must be https://, not %s://", show.Text(u.Scheme))
}

// MaxWait caps a server's Retry-After: past it the call fails rather than
// hang the nightly run.
const MaxWait = 5 * time.Minute

// Backoff is the wait before retry attempt+1 when the server names none:
// doubling from 250 ms with jitter.
func Backoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt, 7)
	return d + rand.N(d/2)
}

// ParseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func ParseRetryAfter(v string) time.Duration {
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

// RootCAs is the system pool plus the certificates in caFile; key names
// the config key in messages.
func RootCAs(caFile, key string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %s holds no PEM certificate", key, caFile)
	}
	return pool, nil
}
