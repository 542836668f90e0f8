package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/fault"
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
	Metrics   string              `yaml:"metrics"`
	path      string
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
}

// configError is a configuration problem, named by its key path: exit 2.
type configError struct {
	file string
	key  string
	err  error
}

func (e *configError) Error() string {
	if e.key == "" {
		return fmt.Sprintf("config %s: %v", e.file, e.err)
	}
	return fmt.Sprintf("config %s: %s: %v", e.file, e.key, e.err)
}

func (e *configError) Unwrap() error { return e.err }

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// loadConfig reads, expands, strictly decodes and validates the config.
// Relative paths in it are taken relative to the config file's folder, so a
// cron job works whatever its working directory.
func loadConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &configError{file: path, err: fmt.Errorf("not found (create one with spendsync init, or pass --config / SPENDSYNC_CONFIG)")}
		}
		return nil, &configError{file: path, err: err}
	}
	return parseConfig(path, data)
}

func parseConfig(path string, data []byte) (*config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &configError{file: path, err: fmt.Errorf("not valid YAML: %w", err)}
	}
	if root.Kind == 0 {
		return nil, &configError{file: path, err: errors.New("empty")}
	}
	if err := expandVars(&root, ""); err != nil {
		return nil, &configError{file: path, key: err.(*configError).key, err: err.(*configError).err}
	}
	// Re-encode the expanded tree and decode it strictly; map the decoder's
	// line numbers back to key paths for the message.
	expanded, err := yaml.Marshal(&root)
	if err != nil {
		return nil, &configError{file: path, err: err}
	}
	var again yaml.Node
	if err := yaml.Unmarshal(expanded, &again); err != nil {
		return nil, &configError{file: path, err: err}
	}
	lines := map[int][]lineKey{}
	mapLines(&again, "", lines)
	// Defaults go in before decoding: keys the file leaves out keep them.
	cfg := &config{path: path, Rules: rules{Thresholds: lifecycle.DefaultThresholds()}}
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, decodeError(path, err, lines)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var lineRef = regexp.MustCompile(`^line (\d+): (.*)$`)

func decodeError(path string, err error, lines map[int][]lineKey) error {
	// Type errors list "line N: ..."; our own unmarshalers say the same.
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	m := lineRef.FindStringSubmatch(msg)
	if m == nil {
		return &configError{file: path, err: errors.New(msg)}
	}
	n, _ := strconv.Atoi(m[1])
	msg = m[2]
	key := keyAt(lines, n, msg)
	if f, ok := strings.CutPrefix(msg, "field "); ok && strings.Contains(f, " not found in type ") {
		name := f[:strings.Index(f, " not found")]
		if key == "" || !strings.HasSuffix(key, name) {
			key = joinKey(key, name)
		}
		msg = "unknown key"
	}
	return &configError{file: path, key: key, err: errors.New(msg)}
}

// lineKey is a key path whose key or value stands on a line.
type lineKey struct{ key, value string }

// mapLines records, for every line, the key paths whose key or value stands
// on it, parents before children.
func mapLines(n *yaml.Node, prefix string, lines map[int][]lineKey) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			mapLines(c, prefix, lines)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := joinKey(prefix, n.Content[i].Value), n.Content[i+1]
			lines[n.Content[i].Line] = append(lines[n.Content[i].Line], lineKey{k, v.Value})
			mapLines(v, k, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			k := fmt.Sprintf("%s[%d]", prefix, i)
			lines[c.Line] = append(lines[c.Line], lineKey{k, c.Value})
			mapLines(c, k, lines)
		}
	}
}

// keyAt picks the key an error on line n is about: the one whose value the
// message quotes, else the deepest on the line.
func keyAt(lines map[int][]lineKey, n int, msg string) string {
	cands := lines[n]
	for _, c := range cands {
		if c.value != "" && (strings.Contains(msg, "`"+c.value+"`") || strings.Contains(msg, `"`+c.value+`"`)) {
			return c.key
		}
	}
	if len(cands) == 0 {
		return ""
	}
	return cands[len(cands)-1].key
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// expandVars replaces ${VAR} in scalar values; an unset variable is an error
// naming the key.
func expandVars(n *yaml.Node, prefix string) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expandVars(c, prefix); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := expandVars(n.Content[i+1], joinKey(prefix, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := expandVars(c, fmt.Sprintf("%s[%d]", prefix, i)); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		var missing string
		out := varRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := ref[2 : len(ref)-1]
			v, ok := os.LookupEnv(name)
			if !ok && missing == "" {
				missing = name
			}
			return v
		})
		if missing != "" {
			return &configError{key: prefix, err: fmt.Errorf("environment variable %s is not set", missing)}
		}
		if out != n.Value {
			n.Value = out
			n.Tag = "" // let the decoder resolve the expanded text's type
			n.Style = 0
		}
	}
	return nil
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
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
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
			return kerr(fmt.Sprintf("sources[%d].name", i), "%q is already the name of sources[%d]", s.Name, j)
		}
		names[s.Name] = i
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
		return kerr("rules.name_style", "must be helloid or split, not %q", r.NameStyle)
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
			return kerr("rules.gender_map."+k, "must map to M, V or O, not %q", v)
		}
	}
	th := &r.Thresholds
	for key, v := range map[string]int{"max_removals": th.MaxRemovals, "max_removal_percent": th.MaxRemovalPercent, "max_rejects": th.MaxRejects} {
		if v < 0 {
			return kerr("rules.thresholds."+key, "must not be negative (0 switches it off)")
		}
	}
	if th.MaxRemovalPercent > 100 {
		return kerr("rules.thresholds.max_removal_percent", "must be at most 100")
	}
	switch r.UnverifiedEmail {
	case "":
		r.UnverifiedEmail = "warn"
	case "warn", "reject":
	default:
		return kerr("rules.unverified_email", "must be warn or reject, not %q", r.UnverifiedEmail)
	}
	for i, d := range r.VerifiedDomains {
		if d == "" || strings.ContainsAny(d, "@ ") {
			return kerr(fmt.Sprintf("rules.verified_domains[%d]", i), "%q is not a domain", d)
		}
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
	if c.Retention.Exports < 0 {
		return kerr("retention.exports", "must not be negative")
	}
	c.Metrics = rel(c.Metrics)
	return nil
}

func (c *config) connectorRules() connector.Rules {
	return connector.Rules{VerifiedDomains: c.Rules.VerifiedDomains, RejectUnverified: c.Rules.UnverifiedEmail == "reject"}
}
