package connector

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/show"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
)

// Source is one configured HR export.
type Source struct {
	Name       string            `yaml:"name"`
	Profile    string            `yaml:"profile"`
	Mode       string            `yaml:"mode"` // snapshot (default) or delta
	Persons    string            `yaml:"persons"`
	Contracts  string            `yaml:"contracts"`
	Delimiter  string            `yaml:"delimiter"`
	Encoding   string            `yaml:"encoding"`
	DateFormat string            `yaml:"date_format"`
	MaxAge     time.Duration     `yaml:"max_age"`
	Columns    map[string]string `yaml:"columns"`
	NamingMap  map[string]string `yaml:"naming_map"`
	Provides   []string          `yaml:"provides"`
	API        *API              `yaml:"api"`
	Lookups    []*Lookup         `yaml:"lookups"`
	// MaxSize bounds each source file, in bytes (0: DefaultMaxSize).
	MaxSize int64 `yaml:"max_size"`
	// Key is the source's key path for run-time messages ("sources[0]"),
	// set by the config loader.
	Key string `yaml:"-" json:"-"`

	spool map[string]*spooled // copies of the files that are not regular files (Spool)
}

// Modes.
const (
	Snapshot = "snapshot"
	Delta    = "delta"
)

var keyErr = fault.Key

// personColumns and contractColumns are the canonical fields a column map
// may name (declared in model); deleted is the delta sources' delete flag.
var (
	personColumns   = append([]string{model.KeyField}, model.PersonFields...)
	contractColumns = model.ContractFields
	conventions     = []string{"B", "BP", "P", "PB"}
)

// Validate checks the source and fills defaults. Errors are *fault.KeyError naming
// the key within the source.
func (s *Source) Validate() error {
	if s.Name == "" {
		return keyErr("name", "required")
	}
	if s.Profile != "" {
		if _, ok := profiles[s.Profile]; !ok {
			return keyErr("profile", "unknown profile %s (known: %s)", show.Quote(s.Profile), strings.Join(ProfileNames(), ", "))
		}
	}
	if err := s.validateInput(); err != nil {
		return err
	}
	switch s.Mode {
	case "":
		s.Mode = Snapshot
	case Snapshot, Delta:
	default:
		return keyErr("mode", "must be snapshot or delta, not %s", show.Quote(s.Mode))
	}
	if s.Delimiter == "" {
		s.Delimiter = profiles[s.Profile].delimiter
	}
	if s.Encoding == "" {
		s.Encoding = "utf-8"
	}
	if err := checkFormat("", s.Delimiter, s.Encoding); err != nil {
		return err
	}
	if s.DateFormat == "" {
		s.DateFormat = profiles[s.Profile].dateFormat
	}
	if s.DateFormat == "" {
		s.DateFormat = "2006-01-02"
	} else if !validLayout(s.DateFormat) {
		return keyErr("date_format", "%s is not a Go date layout (write 2 January 2006 as you would, e.g. 02-01-2006)", show.Quote(s.DateFormat))
	}
	if s.MaxAge < 0 {
		return keyErr("max_age", "must not be negative")
	}
	if s.MaxSize < 0 {
		return keyErr("max_size", "must not be negative (bytes; 0 or absent: %d, 4 GiB)", DefaultMaxSize)
	}
	if s.MaxSize == 0 {
		s.MaxSize = DefaultMaxSize
	}
	known := append(append(slices.Clone(personColumns), contractColumns...), "deleted")
	for _, field := range slices.Sorted(maps.Keys(s.Columns)) {
		if !slices.Contains(known, field) {
			return keyErr("columns."+field, "unknown field (known: %s)", strings.Join(known, ", "))
		}
		if strings.TrimSpace(s.Columns[field]) == "" {
			return keyErr("columns."+field, "empty column name")
		}
	}
	if _, ok := s.Columns["deleted"]; ok && s.Mode != Delta {
		return keyErr("columns.deleted", "a delete flag only makes sense with mode: delta")
	}
	for _, code := range slices.Sorted(maps.Keys(s.NamingMap)) {
		if !slices.Contains(conventions, strings.ToUpper(s.NamingMap[code])) {
			return keyErr("naming_map."+code, "must be one of B, BP, P, PB, not %s", show.Quote(s.NamingMap[code]))
		}
	}
	for i, f := range s.Provides {
		if !slices.Contains(model.PersonFields, f) {
			return keyErr(fmt.Sprintf("provides[%d]", i), "unknown person field %s", show.Quote(f))
		}
	}
	if len(s.Provides) > 0 {
		if s.Contracts != "" {
			return keyErr("contracts", "a source with provides: fills person fields only and reads no contracts")
		}
		if s.API != nil && s.API.Contracts != "" {
			return keyErr("api.contracts", "a source with provides: fills person fields only and reads no contracts")
		}
		if s.Mode == Delta {
			return keyErr("mode", "a source with provides: never removes anyone, so mode does not apply")
		}
	}
	return s.validateLookups()
}

// columnsFor returns the effective field -> header map of the persons or
// the contracts file, and which of its entries came from the profile (those
// may be absent from a file).
func (s *Source) columnsFor(contracts bool) (cols map[string]string, fromProfile map[string]bool) {
	cols = map[string]string{}
	fromProfile = map[string]bool{}
	for f, h := range profiles[s.Profile].columns {
		cols[f] = h
		fromProfile[f] = true
	}
	if contracts {
		for f, h := range profileContractColumns[s.Profile] {
			cols[f] = h
			fromProfile[f] = true
		}
	}
	for f, h := range s.Columns {
		cols[f] = h
		delete(fromProfile, f)
	}
	if len(cols) == 0 {
		// No profile and no columns: the canonical names are the headers.
		for _, f := range append(slices.Clone(personColumns), contractColumns...) {
			cols[f] = f
			fromProfile[f] = f != model.KeyField
		}
	}
	return cols, fromProfile
}

func (s *Source) namingMap() map[string]string {
	if len(s.NamingMap) > 0 {
		return s.NamingMap
	}
	return profiles[s.Profile].naming
}

// IsProvider reports whether the source only fills fields of known persons.
func (s *Source) IsProvider() bool { return len(s.Provides) > 0 }

func validLayout(layout string) bool {
	ref := time.Date(2006, 1, 2, 0, 0, 0, 0, time.UTC)
	t, err := time.Parse(layout, ref.Format(layout))
	return err == nil && t.Year() == 2006 && t.Month() == 1 && t.Day() == 2
}

// ErrStale marks a source file older than max_age: a safety stop.
var ErrStale = errors.New("source export is stale")

// CheckAge refuses source files older than max_age (by modification time).
func (s *Source) CheckAge(now time.Time) error {
	if s.MaxAge <= 0 {
		return nil
	}
	for _, path := range s.Files() {
		fi, err := os.Stat(path)
		if err != nil {
			return s.fileError(path, err)
		}
		if age := now.Sub(fi.ModTime()); age > s.MaxAge {
			return fmt.Errorf("%w: %s was last written %s ago (%s), longer than sources.max_age %s (override with --force)",
				ErrStale, show.Text(path), age.Round(time.Minute), fi.ModTime().UTC().Format(time.RFC3339), s.MaxAge)
		}
	}
	return nil
}
