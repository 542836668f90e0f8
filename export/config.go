package export

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

// Config is the export: section.
type Config struct {
	Dir          string     `yaml:"dir"`
	Persons      FileConfig `yaml:"persons"`
	Roles        FileConfig `yaml:"roles"`
	Required     []string   `yaml:"required"`
	BOM          *bool      `yaml:"bom"`
	LineEnding   string     `yaml:"line_ending"`
	Quote        string     `yaml:"quote"`
	FormulaGuard string     `yaml:"formula_guard"`
	// RequireRole is what a person without a role row gets: warn (in the
	// dump, counted and logged) or hold (kept out, export.held). Spend
	// Cloud imports such an employee, who then cannot log in.
	RequireRole string `yaml:"require_role"`
	// RoleMap gives each counting contract the canonical field role: the
	// first entry it matches wins (see Condition).
	RoleMap []Condition `yaml:"role_map"`
}

// FileConfig is one output file.
type FileConfig struct {
	File      string   `yaml:"file"`
	Delimiter string   `yaml:"delimiter"`
	Columns   []Column `yaml:"columns"`
}

// Column maps an output header to a canonical field; the config writes it
// as a one-key map, {externalId: employee_number}, so the order is kept.
type Column struct {
	Header string
	Field  string
}

// PersonFields and RoleFields are what export columns may name: a person
// row has every canonical person field; a role row the person's key and
// username, the contract's position fields and the export-only role.
var (
	PersonFields = append([]string{model.KeyField}, model.PersonFields...)
	RoleFields   = slices.Concat([]string{model.KeyField, "username"}, model.PositionFields, []string{roleKey})
)

// Default returns the HelloID connector's file layout plus the key.
func Default() Config {
	yes := true
	return Config{
		Persons: FileConfig{File: "persons.csv", Delimiter: ";", Columns: []Column{
			{"externalId", "employee_number"}, {"voornaam", "first_name"}, {"tussenvoegsel", "prefix"},
			{"achternaam", "last_name"}, {"geslacht", "gender"}, {"email", "email"}, {"gebruikersnaam", "username"}}},
		Roles: FileConfig{File: "roles.csv", Delimiter: ",", Columns: []Column{
			{"externalId", "employee_number"}, {"Organisatorische Eenheid", "ou_name"},
			{"Gebruikersnaam", "username"}, {"Functieprofiel Code", "function_code"}}},
		Required:     []string{"employee_number", "last_name", "username"},
		BOM:          &yes,
		LineEnding:   "crlf",
		Quote:        "all",
		FormulaGuard: "warn",
	}
}

// Validate fills defaults and checks values.
func (c *Config) Validate() error {
	def := Default()
	if c.Persons.File == "" {
		c.Persons.File = def.Persons.File
	}
	if c.Roles.File == "" {
		c.Roles.File = def.Roles.File
	}
	if c.Persons.Delimiter == "" {
		c.Persons.Delimiter = def.Persons.Delimiter
	}
	if c.Roles.Delimiter == "" {
		c.Roles.Delimiter = def.Roles.Delimiter
	}
	if len(c.Persons.Columns) == 0 {
		c.Persons.Columns = def.Persons.Columns
	}
	if len(c.Roles.Columns) == 0 {
		c.Roles.Columns = def.Roles.Columns
	}
	if c.Required == nil {
		c.Required = def.Required
	}
	switch c.RequireRole {
	case "":
		c.RequireRole = "warn"
	case "warn", "hold":
	default:
		return &fault.KeyError{Key: "require_role", Err: fmt.Errorf("must be warn or hold, not %q", c.RequireRole)}
	}
	if c.BOM == nil {
		c.BOM = def.BOM
	}
	if c.LineEnding == "" {
		c.LineEnding = def.LineEnding
	}
	if c.Quote == "" {
		c.Quote = def.Quote
	}
	if c.FormulaGuard == "" {
		c.FormulaGuard = def.FormulaGuard
	}
	for _, f := range []struct {
		key    string
		fc     *FileConfig
		fields []string
	}{{"persons", &c.Persons, PersonFields}, {"roles", &c.Roles, RoleFields}} {
		if err := checkFileName(f.fc.File); err != nil {
			return fault.Key(f.key+".file", "%s %v", show.Quote(f.fc.File), err)
		}
		if d := []rune(f.fc.Delimiter); len(d) != 1 || d[0] == '"' || d[0] == '\r' || d[0] == '\n' {
			return fault.Key(f.key+".delimiter", "must be one character other than a quote or newline, not %s", show.Quote(f.fc.Delimiter))
		}
		for i, col := range f.fc.Columns {
			if !slices.Contains(f.fields, col.Field) {
				return fault.Key(fmt.Sprintf("%s.columns[%d].%s", f.key, i, col.Header), "unknown field %s (known: %s)", show.Quote(col.Field), strings.Join(f.fields, ", "))
			}
		}
	}
	if err := validateRoleMap(c.RoleMap); err != nil {
		return err
	}
	if i := slices.IndexFunc(c.Roles.Columns, func(col Column) bool { return col.Field == roleKey }); i >= 0 && len(c.RoleMap) == 0 {
		return fault.Key(fmt.Sprintf("roles.columns[%d].%s", i, c.Roles.Columns[i].Header), "the role field needs export.role_map")
	}
	if strings.EqualFold(c.Persons.File, c.Roles.File) {
		// Equal but for case is one file on Windows and macOS.
		return fault.Key("roles.file", "must differ from persons.file")
	}
	for i, f := range c.Required {
		if !slices.Contains(PersonFields, f) {
			return fault.Key(fmt.Sprintf("required[%d]", i), "unknown field %s", show.Quote(f))
		}
	}
	if c.LineEnding != "crlf" && c.LineEnding != "lf" {
		return fault.Key("line_ending", "must be crlf or lf, not %s", show.Quote(c.LineEnding))
	}
	if c.Quote != "all" && c.Quote != "minimal" {
		return fault.Key("quote", "must be all or minimal, not %s", show.Quote(c.Quote))
	}
	if !slices.Contains([]string{"off", "warn", "reject", "escape"}, c.FormulaGuard) {
		return fault.Key("formula_guard", "must be off, warn, reject or escape, not %s", show.Quote(c.FormulaGuard))
	}
	return nil
}

// checkFileName refuses an export file name that is a path, or that
// spendsync itself uses in the export folder or the drop: the manifest,
// the history folder, or the temporary-file pattern (such a file would be
// swept as a leftover). Case is ignored, as Windows and macOS ignore it.
func checkFileName(name string) error {
	lower := strings.ToLower(name)
	switch {
	case strings.ContainsAny(name, `/\`+"\x00:") || name == "." || name == "..":
		return errors.New("must be a file name, not a path (no /, \\ or :)")
	case strings.TrimSpace(name) != name || strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("must not start or end with a space or hold a control character")
	case lower == ManifestName || lower == HistoryDir:
		return fmt.Errorf("is a name spendsync uses itself in the export folder (%s, %s)", ManifestName, HistoryDir)
	case strings.HasPrefix(lower, atomicfile.TempPrefix):
		return fmt.Errorf("starts with %s, the prefix of spendsync's temporary files", atomicfile.TempPrefix)
	}
	return nil
}
