package connect

import (
	"fmt"
	"net/url"
	"time"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/httpwait"
	"github.com/spendsync/spendsync/internal/show"
)

// Config is target.scim: a SCIM 2.0 service (Visma Connect) told at once
// when a person loses or regains access (docs/connect.md).
type Config struct {
	URL       string        `yaml:"url"`
	TokenEnv  string        `yaml:"token_env"`
	TokenFile string        `yaml:"token_file"`
	CAFile    string        `yaml:"ca_file"`
	Match     string        `yaml:"match"` // userName (= email) or externalId (= employee number)
	Create    bool          `yaml:"create"`
	Timeout   time.Duration `yaml:"timeout"`
	Retries   *int          `yaml:"retries"`
	Deadline  time.Duration `yaml:"deadline"` // the whole SCIM phase of one command
	Parallel  int           `yaml:"parallel"`
}

// Defaults (SPEC, "Bounds on every wait").
const (
	DefaultTimeout  = 30 * time.Second
	DefaultRetries  = 3
	DefaultDeadline = 5 * time.Minute
	DefaultParallel = 4
	MaxParallel     = 16
)

// Validate fills defaults and checks values; keys are named below scim.
func (c *Config) Validate() error {
	if c.URL == "" {
		return fault.Key("scim.url", "required")
	}
	if err := checkURL(c.URL); err != nil {
		return fault.Key("scim.url", "%v", err)
	}
	if (c.TokenEnv == "") == (c.TokenFile == "") {
		return fault.Key("scim.token_env", "set one of token_env and token_file")
	}
	switch c.Match {
	case "":
		c.Match = "userName"
	case "userName", "externalId":
	default:
		return fault.Key("scim.match", "must be userName or externalId, not %s", show.Quote(c.Match))
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return fault.Key("scim.timeout", "must not be negative")
	}
	if c.Retries == nil {
		r := DefaultRetries
		c.Retries = &r
	}
	if *c.Retries < 0 || *c.Retries > 10 {
		return fault.Key("scim.retries", "must be between 0 and 10")
	}
	if c.Deadline == 0 {
		c.Deadline = DefaultDeadline
	}
	if c.Deadline < 0 {
		return fault.Key("scim.deadline", "must not be negative")
	}
	if c.Parallel == 0 {
		c.Parallel = DefaultParallel
	}
	if c.Parallel < 1 || c.Parallel > MaxParallel {
		return fault.Key("scim.parallel", "must be between 1 and %d", MaxParallel)
	}
	return nil
}

// checkURL allows https, and plain http only for a loopback host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s is not an absolute URL", show.Quote(raw))
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials; use token_env or token_file")
	}
	if u.RawQuery != "" {
		return fmt.Errorf("must not carry a query")
	}
	return httpwait.CheckScheme(u)
}
