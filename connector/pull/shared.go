package pull

import (
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// What the SCIM client (connect/) shares with the pulls: the same waits
// between attempts and the same trust in a ca_file.

// ParseRetryAfter reads a Retry-After header: seconds or an HTTP date; 0
// when absent or bad.
func ParseRetryAfter(v string) time.Duration { return parseRetryAfter(v) }

// Backoff is the wait before retry attempt+1 when the server names none.
func Backoff(attempt int) time.Duration { return backoff(attempt) }

// MaxWait caps a server's Retry-After: past it the call fails.
const MaxWait = maxWait

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
