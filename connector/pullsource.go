package connector

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/spendsync/spendsync/connector/pull"
	"github.com/spendsync/spendsync/internal/model"
)

// rowSource is what the row validation reads: a CSV table, or the rows of
// an API pull flattened through the configured paths.
type rowSource interface {
	name() string   // file name or URL, for messages and rejects
	head() []string // column names (or paths)
	next() (rec []string, err error)
	raw() string // the text of the row the last next call read (kept or not), made on demand
	lineNo() int // line (or row number) of the last record
	index(column string) (int, error)
}

func (t *table) name() string   { return t.file }
func (t *table) head() []string { return t.header }
func (t *table) lineNo() int    { return t.line }

// apiRows adapts a pull to rowSource.
type apiRows struct {
	r    *pull.Rows
	last string // the raw text of the last row
}

func (a *apiRows) name() string   { return a.r.Name() }
func (a *apiRows) head() []string { return a.r.Header() }

// next ends only at the real end: a failure that happens to wrap io.EOF
// must not read as the last row.
func (a *apiRows) next() ([]string, error) {
	rec, raw, err := a.r.Next()
	if err != nil && err != io.EOF && errors.Is(err, io.EOF) {
		err = errors.New(err.Error())
	}
	a.last = raw
	return rec, err
}
func (a *apiRows) raw() string { return a.last }
func (a *apiRows) lineNo() int { return a.r.Line() }

// index matches like a CSV header does: case and surrounding spaces
// ignored. The paths were made unique by columnsOf.
func (a *apiRows) index(column string) (int, error) {
	for i, h := range a.r.Header() {
		if equalFoldTrim(h, column) {
			return i, nil
		}
	}
	return -1, nil
}

// HasContracts reports whether contracts come from their own file or
// resource rather than from the persons rows.
func (s *Source) HasContracts() bool {
	return s.Contracts != "" || (s.API != nil && s.API.Contracts != "")
}

// columnsOf returns the distinct columns (paths) that fields map to.
func (s *Source) columnsOf(fields []string, contracts bool) []string {
	cols, _ := s.columnsFor(contracts)
	var out []string
	for _, f := range fields {
		if c, ok := cols[f]; ok && !slices.ContainsFunc(out, func(o string) bool { return equalFoldTrim(o, c) }) {
			out = append(out, c)
		}
	}
	return out
}

// pull reads the source's API: persons, then contracts, all pages of both
// or nothing. Kept pages are moved into place only when both are complete.
func (res *reader) pull(ctx context.Context, rules Rules) (err error) {
	src := res.Source
	if redact := src.API.Redact; redact != nil {
		// A value from ${VAR} (a resource name, the URL) may stand in any
		// message a pull gives: hidden as the config loader hides it.
		defer func() {
			if err != nil {
				err = redacted{err, redact(err.Error())}
			}
		}()
	}
	cfg, err := src.pullConfig()
	if err != nil {
		return err
	}
	s, err := pull.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if ferr := s.Finish(err == nil); err == nil {
			err = ferr
		}
	}()
	rows, err := s.Rows("persons", src.API.Persons, src.columnsOf(res.personFields(), false))
	if err != nil {
		return keyErr("columns", "%v", err)
	}
	res.personsFile = rows.Name()
	res.Files = append(res.Files, rows.Name())
	src.unique(rows, false, "employee number", model.KeyField)
	if err := res.persons(&apiRows{r: rows}, rows.Name(), rules); err != nil {
		return err
	}
	if src.API.Contracts == "" || src.IsProvider() {
		return nil
	}
	rows, err = s.Rows("contracts", src.API.Contracts, src.columnsOf(append([]string{model.KeyField}, contractColumns...), true))
	if err != nil {
		return keyErr("columns", "%v", err)
	}
	res.Files = append(res.Files, rows.Name())
	src.unique(rows, true, "employee number and contract id", model.KeyField, "contract_id")
	return res.contracts(&apiRows{r: rows}, rows.Name(), nil)
}

// unique makes the columns of fields key the rows of a pull, when all of
// them are mapped (contracts without a contract id have no key of their
// own): a key on two pages means the pages shifted (pull.Rows.Unique).
func (s *Source) unique(rows *pull.Rows, contracts bool, what string, fields ...string) {
	mapped, _ := s.columnsFor(contracts)
	cols := make([]int, len(fields))
	for i, f := range fields {
		c, ok := mapped[f]
		if !ok {
			return
		}
		cols[i] = slices.IndexFunc(rows.Header(), func(h string) bool { return equalFoldTrim(h, c) })
		if cols[i] < 0 {
			return
		}
	}
	rows.Unique(what, cols...)
}

// redacted is an error whose text had secrets taken out; the error itself
// stays for errors.Is and errors.As (exit codes).
type redacted struct {
	err error
	msg string
}

func (e redacted) Error() string { return e.msg }
func (e redacted) Unwrap() error { return e.err }

// pullConfig reads the secrets and builds the pull's settings.
func (s *Source) pullConfig() (*pull.Config, error) {
	a := s.API
	cfg := &pull.Config{System: a.System, URL: a.URL, PageSize: a.PageSize, Timeout: a.Timeout,
		TokenURL: a.TokenURL, ClientID: a.ClientID, TenantID: a.TenantID, Scope: a.Scope, User: a.User,
		CAFile: a.CAFile, CertFile: a.CertFile, KeyFile: a.KeyFile, Replay: a.Replay, KeepFor: a.KeepFor,
		MaxPages: a.MaxPages, MaxRows: a.MaxRows, MaxBody: a.MaxBody, Deadline: a.Deadline, Key: a.Key}
	if a.Retries != nil {
		cfg.Retries = *a.Retries
	}
	if a.KeepResponses && a.Replay == "" {
		cfg.Keep = a.KeepDir
	}
	if a.Replay != "" {
		return cfg, nil // no network, no secrets
	}
	var err error
	if cfg.Token, err = secret("token_env", a.TokenEnv, "token_file", a.TokenFile); err != nil {
		return nil, err
	}
	if cfg.ClientSecret, err = secret("client_secret_env", a.ClientSecretEnv, "client_secret_file", a.ClientSecretFile); err != nil {
		return nil, err
	}
	if cfg.Password, err = secret("password_env", a.PasswordEnv, "password_file", a.PasswordFile); err != nil {
		return nil, err
	}
	return cfg, nil
}
