package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/configfile"
	"github.com/spendsync/spendsync/internal/domaincheck"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/show"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/transport"
)

// config is the whole spendsync.yaml.
type config struct {
	Database  string              `yaml:"database"`
	Sources   []*connector.Source `yaml:"sources"`
	Rules     rules               `yaml:"rules"`
	Export    export.Config       `yaml:"export"`
	Target    transport.Config    `yaml:"target"`
	Retention lifecycle.Retention `yaml:"retention"`
	Reconcile reconcileConfig     `yaml:"reconcile"`
	Metrics   string              `yaml:"metrics"`
	// MetricsLabels go on every series: one box's tenants share one
	// node_exporter, whose textfile collector refuses two files with the
	// same series.
	MetricsLabels map[string]string `yaml:"metrics_labels"`
	// MetricsMode lets node_exporter, another user, read the file: it
	// holds counts, times and target names, no person's data.
	MetricsMode string `yaml:"metrics_mode"`
	metricsMode os.FileMode
	path        string
	redact      func(string) string // hides ${VAR} values (configfile.Doc.Redact)
}

type rules struct {
	LeadDays         int                  `yaml:"lead_days"`
	GraceDays        int                  `yaml:"grace_days"`
	NameStyle        string               `yaml:"name_style"`
	RemoveDiacritics *bool                `yaml:"remove_diacritics"`
	GenderMap        map[string]string    `yaml:"gender_map"`
	Thresholds       lifecycle.Thresholds `yaml:"thresholds"`
	VerifiedDomains  []string             `yaml:"verified_domains"`
	UnverifiedEmail  string               `yaml:"unverified_email"`
	Scope            export.Scope         `yaml:"scope"`
	UsernameChange   string               `yaml:"username_change"`
	EmailReuse       string               `yaml:"email_reuse"`
	EmailReuseDays   *int                 `yaml:"email_reuse_days"`
	// ConnectDomains and DNSServers are for domains --check.
	ConnectDomains map[string]domaincheck.Rule `yaml:"connect_domains"`
	DNSServers     []string                    `yaml:"dns_servers"`
}

// configError is a configuration problem, named by its key path and the
// line it stands on: exit 2.
type configError struct {
	file string
	key  string
	line int
	err  error
}

func (e *configError) Error() string {
	where := e.file
	if e.line > 0 {
		where = fmt.Sprintf("%s:%d", e.file, e.line)
	}
	if e.key == "" {
		return fmt.Sprintf("config %s: %v", where, e.err)
	}
	return fmt.Sprintf("config %s: %s: %v", where, e.key, e.err)
}

func (e *configError) Unwrap() error { return e.err }

// loadConfig reads, expands, strictly decodes and validates the config.
// Relative paths in it are taken relative to the config file's folder, so a
// cron job works whatever its working directory.
func loadConfig(path string) (*config, error) {
	data, err := readConfig(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &configError{file: path, err: fmt.Errorf("not found (create one with spendsync init, or pass --config / SPENDSYNC_CONFIG)")}
		}
		return nil, &configError{file: path, err: err}
	}
	return parseConfig(path, data)
}

// maxConfigSize bounds the config file: a real one is a few KiB, and
// reading /dev/zero or a runaway file whole would exhaust memory.
const maxConfigSize = 1 << 20

// readConfig reads the config through a limited reader, so a device, a
// pipe or a huge file costs at most maxConfigSize+1 bytes.
func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("is larger than %d bytes (1 MiB), the most spendsync reads of a config file", maxConfigSize)
	}
	return data, nil
}

// configTypes are the config's types that the file writes in a shape of
// their own: an export column as {header: field}, a condition's values as
// one value or a list.
var configTypes = []configfile.Type{
	configfile.OneKeyMap(func(c *export.Column, header, field string) { c.Header, c.Field = header, field },
		"a column is a one-key map such as {externalId: employee_number}"),
	configfile.ValueList[export.Values]("give a value or a list of values, such as [OU10, OU20]"),
}

func parseConfig(path string, data []byte) (*config, error) {
	// Defaults go in before decoding: keys the file leaves out keep them.
	cfg := &config{path: path, Rules: rules{Thresholds: lifecycle.DefaultThresholds()}}
	doc, err := configfile.Decode(data, cfg, configTypes...)
	if err != nil {
		var fe *configfile.Error
		if errors.As(err, &fe) {
			return nil, &configError{file: path, key: fe.Key, line: fe.Line, err: fe.Err}
		}
		return nil, &configError{file: path, err: err}
	}
	cfg.redact = doc.Redact
	if err := cfg.validate(); err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			ce.line = doc.LineOf(ce.key)
			ce.err = errors.New(doc.Redact(ce.err.Error()))
		}
		return nil, err
	}
	return cfg, nil
}

func (c *config) validate() error {
	kerr := func(key string, format string, args ...any) error {
		return &configError{file: c.path, key: key, err: fmt.Errorf(format, args...)}
	}
	// keyed places a section's *fault.KeyError under the section's path.
	keyed := func(section string, err error) error {
		if ke, ok := errors.AsType[*fault.KeyError](err); ok {
			return kerr(section+"."+ke.Key, "%v", ke.Err)
		}
		return kerr(section, "%v", err)
	}
	base := filepath.Dir(c.path)
	rel := func(p string) string {
		if p == "" {
			return p
		}
		return resolvePath(base, p)
	}
	if c.Database == "" {
		return kerr("database", "required: the path of the SQLite database")
	}
	c.Database = rel(c.Database)
	names := map[string]int{}
	for i, s := range c.Sources {
		if s == nil {
			return kerr(fmt.Sprintf("sources[%d]", i), "empty source")
		}
		if err := s.Validate(); err != nil {
			return keyed(fmt.Sprintf("sources[%d]", i), err)
		}
		if j, dup := names[s.Name]; dup {
			return kerr(fmt.Sprintf("sources[%d].name", i), "%s is already the name of sources[%d]", show.Quote(s.Name), j)
		}
		names[s.Name] = i
		s.Key = fmt.Sprintf("sources[%d]", i)
		s.Persons, s.Contracts = rel(s.Persons), rel(s.Contracts)
		for _, l := range s.Lookups {
			l.File = rel(l.File)
		}
		if a := s.API; a != nil {
			a.TokenFile, a.ClientSecretFile, a.PasswordFile = rel(a.TokenFile), rel(a.ClientSecretFile), rel(a.PasswordFile)
			a.CAFile, a.CertFile, a.KeyFile = rel(a.CAFile), rel(a.CertFile), rel(a.KeyFile)
			// Kept pages are personal data: beside the database, pruned
			// with the events they explain.
			a.KeepDir = filepath.Join(filepath.Dir(c.Database), "responses", s.Name)
			a.KeepFor = time.Duration(c.Retention.Events)
			// Run-time messages name keys and hide secrets as these do.
			a.Key, a.Redact = fmt.Sprintf("sources[%d].api", i), c.redact
		}
	}
	r := &c.Rules
	if r.LeadDays < 0 {
		return kerr("rules.lead_days", "must not be negative")
	}
	if r.GraceDays < 0 {
		return kerr("rules.grace_days", "must not be negative")
	}
	switch r.NameStyle {
	case "":
		r.NameStyle = "helloid"
	case "helloid", "split":
	default:
		return kerr("rules.name_style", "must be helloid or split, not %s", show.Quote(r.NameStyle))
	}
	if r.RemoveDiacritics == nil {
		yes := true
		r.RemoveDiacritics = &yes
	}
	if r.GenderMap == nil {
		r.GenderMap = map[string]string{"M": "M", "V": "V", "F": "V"}
	}
	for k, v := range r.GenderMap {
		if v != "M" && v != "V" && v != "O" {
			return kerr("rules.gender_map."+k, "must map to M, V or O, not %s", show.Quote(v))
		}
	}
	th := &r.Thresholds
	for key, v := range map[string]int{"max_removals": th.MaxRemovals, "max_removal_percent": th.MaxRemovalPercent, "max_rejects": th.MaxRejects,
		"max_renames": th.MaxRenames} {
		if v < 0 {
			return kerr("rules.thresholds."+key, "must not be negative (0 switches it off)")
		}
	}
	if th.MaxRemovalPercent > 100 {
		return kerr("rules.thresholds.max_removal_percent", "must be at most 100")
	}
	switch r.UsernameChange {
	case "":
		r.UsernameChange = "hold"
	case "hold", "allow":
	default:
		return kerr("rules.username_change", "must be hold or allow, not %q", r.UsernameChange)
	}
	switch r.EmailReuse {
	case "":
		r.EmailReuse = "hold"
	case "hold", "warn", "allow":
	default:
		return kerr("rules.email_reuse", "must be hold, warn or allow, not %q", r.EmailReuse)
	}
	if r.EmailReuseDays == nil {
		days := 400
		r.EmailReuseDays = &days
	} else if *r.EmailReuseDays < 0 {
		return kerr("rules.email_reuse_days", "must not be negative")
	}
	switch r.UnverifiedEmail {
	case "":
		r.UnverifiedEmail = "warn"
	case "warn", "reject":
	default:
		return kerr("rules.unverified_email", "must be warn or reject, not %s", show.Quote(r.UnverifiedEmail))
	}
	for i, d := range r.VerifiedDomains {
		if d == "" || strings.ContainsAny(d, "@ ") {
			return kerr(fmt.Sprintf("rules.verified_domains[%d]", i), "%s is not a domain", show.Quote(d))
		}
	}
	if err := r.validateConnect(kerr); err != nil {
		return err
	}
	if err := r.Scope.Validate(); err != nil {
		return keyed("rules.scope", err)
	}
	if err := c.Export.Validate(); err != nil {
		return keyed("export", err)
	}
	if c.Export.Dir == "" {
		c.Export.Dir = filepath.Join(filepath.Dir(c.Database), "out")
	}
	c.Export.Dir = rel(c.Export.Dir)
	if err := c.Target.Validate(); err != nil {
		return keyed("target", err)
	}
	if s := c.Target.SFTP; s != nil {
		s.KeyFile, s.KnownHosts, s.PasswordFile = rel(s.KeyFile), rel(s.KnownHosts), rel(s.PasswordFile)
	}
	if d := c.Target.Dir; d != nil {
		d.Path = rel(d.Path)
	}
	if err := c.Reconcile.validate(keyed); err != nil {
		return err
	}
	if sc := c.Target.SCIM; sc != nil {
		sc.TokenFile, sc.CAFile = rel(sc.TokenFile), rel(sc.CAFile)
	}
	if c.Retention.Exports < 0 {
		return kerr("retention.exports", "must not be negative")
	}
	c.Metrics = rel(c.Metrics)
	switch c.MetricsMode {
	case "", "0600", "600":
		c.metricsMode = 0o600
	case "0640", "640":
		c.metricsMode = 0o640
	case "0644", "644":
		c.metricsMode = 0o644
	default:
		return kerr("metrics_mode", "must be 0600, 0640 or 0644, not %q", c.MetricsMode)
	}
	for name := range c.MetricsLabels {
		if err := checkMetricsLabel(name); err != nil {
			return kerr("metrics_labels."+name, "%v", err)
		}
	}
	return nil
}

func (c *config) connectorRules() connector.Rules {
	return connector.Rules{VerifiedDomains: c.Rules.VerifiedDomains, RejectUnverified: c.Rules.UnverifiedEmail == "reject"}
}
