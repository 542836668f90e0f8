package connector

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/connector/pull"
	"github.com/spendsync/spendsync/internal/httpwait"
	"github.com/spendsync/spendsync/internal/show"
)

// API is a source's api: block: pull the HR system's API instead of
// reading persons: / contracts: files. Secrets are named, never written:
// each comes from an environment variable (*_env) or a file (*_file).
type API struct {
	System           string        `yaml:"system"` // afas, entra, raet, adp, successfactors; default: the profile's
	URL              string        `yaml:"url"`
	Persons          string        `yaml:"persons"`   // resource: GetConnector, entity or path below url
	Contracts        string        `yaml:"contracts"` // optional: else each persons row is one contract
	TokenEnv         string        `yaml:"token_env"`
	TokenFile        string        `yaml:"token_file"`
	TokenURL         string        `yaml:"token_url"`
	ClientID         string        `yaml:"client_id"`
	ClientSecretEnv  string        `yaml:"client_secret_env"`
	ClientSecretFile string        `yaml:"client_secret_file"`
	TenantID         string        `yaml:"tenant_id"`
	Scope            string        `yaml:"scope"`
	User             string        `yaml:"user"`
	PasswordEnv      string        `yaml:"password_env"`
	PasswordFile     string        `yaml:"password_file"`
	CAFile           string        `yaml:"ca_file"`
	CertFile         string        `yaml:"cert_file"`
	KeyFile          string        `yaml:"key_file"`
	PageSize         int           `yaml:"page_size"`
	Timeout          time.Duration `yaml:"timeout"`
	Retries          *int          `yaml:"retries"`
	KeepResponses    bool          `yaml:"keep_responses"`
	MaxPages         int           `yaml:"max_pages"` // per resource; default 10000
	MaxRows          int           `yaml:"max_rows"`  // per resource; default 2000000
	MaxBody          int64         `yaml:"max_body"`  // bytes of one answer after gzip; default 64 MiB
	Deadline         time.Duration `yaml:"deadline"`  // the whole pull; default 30m

	// KeepDir is where kept pages go (set by the caller from the database
	// path); Replay, when set, is a kept pull's folder read instead of the
	// network (ingest --file).
	KeepDir string        `yaml:"-"`
	KeepFor time.Duration `yaml:"-"`
	Replay  string        `yaml:"-"`
	// Key is the block's key path for run-time messages ("sources[0].api");
	// Redact hides in them the values that came from ${VAR} (both set by
	// the config loader).
	Key    string              `yaml:"-"`
	Redact func(string) string `yaml:"-" json:"-"`
}

// Systems that can be pulled.
var apiSystems = []string{"afas", "entra", "raet", "adp", "successfactors"}

// validateInput checks that the source reads either files or an API.
func (s *Source) validateInput() error {
	if s.API == nil {
		if s.Persons == "" {
			return keyErr("persons", "required: the path of the persons export (or an api: block)")
		}
		return nil
	}
	a := s.API
	if s.Persons != "" {
		return keyErr("persons", "an api: source pulls its persons; remove persons: or the api: block")
	}
	if s.Contracts != "" {
		return keyErr("contracts", "an api: source pulls its contracts (api.contracts); remove contracts:")
	}
	if s.MaxAge != 0 {
		return keyErr("max_age", "applies to export files; an api: source is always current")
	}
	p := profiles[s.Profile]
	if a.System == "" {
		a.System = p.system
	}
	if !slices.Contains(apiSystems, a.System) {
		if a.System == "" {
			return keyErr("api.system", "required: one of %s (or a profile that sets it)", strings.Join(apiSystems, ", "))
		}
		return keyErr("api.system", "unknown system %s (known: %s)", show.Quote(a.System), strings.Join(apiSystems, ", "))
	}
	if a.System == p.system {
		if a.Persons == "" {
			a.Persons = p.persons
		}
		if a.Contracts == "" && len(s.Provides) == 0 {
			a.Contracts = p.contracts
		}
	}
	if a.Persons == "" {
		return keyErr("api.persons", "required: the resource holding the persons")
	}
	if err := checkURL(a.URL); err != nil {
		return keyErr("api.url", "%v", err)
	}
	if a.TokenURL != "" {
		if err := checkURL(a.TokenURL); err != nil {
			return keyErr("api.token_url", "%v", err)
		}
	}
	if a.TokenEnv != "" && a.TokenFile != "" {
		return keyErr("api.token_env", "give token_env or token_file, not both")
	}
	if a.ClientSecretEnv != "" && a.ClientSecretFile != "" {
		return keyErr("api.client_secret_env", "give client_secret_env or client_secret_file, not both")
	}
	if a.PasswordEnv != "" && a.PasswordFile != "" {
		return keyErr("api.password_env", "give password_env or password_file, not both")
	}
	oauth := a.ClientID != "" || a.ClientSecretEnv != "" || a.ClientSecretFile != "" || a.TokenURL != ""
	switch {
	case a.System == "afas":
		if a.TokenEnv == "" && a.TokenFile == "" {
			return keyErr("api.token_env", "required: the environment variable holding the AFAS token XML (or api.token_file)")
		}
	case a.System == "successfactors" && !oauth:
		if a.User == "" {
			return keyErr("api.user", "required: user@companyId for basic auth (or client_id, client_secret_env and token_url for OAuth)")
		}
		if a.PasswordEnv == "" && a.PasswordFile == "" {
			return keyErr("api.password_env", "required with api.user (or api.password_file)")
		}
	default:
		if a.ClientID == "" {
			return keyErr("api.client_id", "required for OAuth2 client credentials")
		}
		if a.ClientSecretEnv == "" && a.ClientSecretFile == "" {
			return keyErr("api.client_secret_env", "required: the environment variable holding the client secret (or api.client_secret_file)")
		}
		if a.TokenURL == "" {
			return keyErr("api.token_url", "required: the OAuth2 token endpoint")
		}
	}
	if (a.CertFile == "") != (a.KeyFile == "") {
		return keyErr("api.cert_file", "cert_file and key_file go together (a client certificate and its key)")
	}
	if a.PageSize < 0 {
		return keyErr("api.page_size", "must not be negative")
	}
	if a.PageSize == 0 {
		a.PageSize = defaultPageSize[a.System]
	}
	if a.Timeout < 0 {
		return keyErr("api.timeout", "must not be negative")
	}
	if a.Timeout == 0 {
		a.Timeout = 60 * time.Second
	}
	for _, b := range []struct {
		key string
		v   int64
	}{{"api.max_pages", int64(a.MaxPages)}, {"api.max_rows", int64(a.MaxRows)}, {"api.max_body", a.MaxBody}, {"api.deadline", int64(a.Deadline)}} {
		if b.v < 0 {
			return keyErr(b.key, "must not be negative (0 or absent takes the default)")
		}
	}
	if a.MaxPages == 0 {
		a.MaxPages = pull.DefaultMaxPages
	}
	if a.MaxRows == 0 {
		a.MaxRows = pull.DefaultMaxRows
	}
	if a.MaxBody == 0 {
		a.MaxBody = pull.DefaultMaxBody
	}
	if a.Deadline == 0 {
		a.Deadline = pull.DefaultDeadline
	}
	if a.Retries == nil {
		three := 3
		a.Retries = &three
	} else if *a.Retries < 0 {
		return keyErr("api.retries", "must not be negative")
	}
	return nil
}

// defaultPageSize follows each API's documented or customary page size.
var defaultPageSize = map[string]int{"afas": 1000, "entra": 999, "raet": 1000, "adp": 100, "successfactors": 1000}

// checkURL allows https, and plain http only to this machine.
func checkURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("required: the API's base address (https://...)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s is not an absolute URL", show.Quote(raw))
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials; use the *_env or *_file keys")
	}
	return httpwait.CheckScheme(u)
}

// secret reads a secret from the environment or a file; key names the
// config key for the message, never the value.
func secret(envKey, env, fileKey, file string) (string, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", keyErr("api."+envKey, "environment variable %s is not set", env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", keyErr("api."+fileKey, "cannot read the secret file: %v", unwrapPath(err))
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

func equalFoldTrim(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s %s: %w", pe.Op, pe.Path, pe.Err)
	}
	return err
}
