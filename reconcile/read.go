// Package reconcile compares a target's own account list (exported from
// Visma Connect or Spend Cloud) with what spendsync knows and exported.
package reconcile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/show"
)

// Kinds are the account lists reconcile reads.
var Kinds = []string{"connect", "spendcloud"}

// Fields are what Mapping.Columns may map.
var Fields = []string{"employee_number", "email", "username", "active", "first_name", "last_name"}

// Mapping says how to read one kind of account list
// (reconcile.connect, reconcile.spendcloud).
type Mapping struct {
	// Columns maps a field to the list's column (CSV header or JSON key).
	Columns map[string]string `yaml:"columns"`
	// ActiveValues are the active column's values of an active account
	// (case ignored). Without an active column every account is active.
	ActiveValues []string `yaml:"active_values"`
	Delimiter    string   `yaml:"delimiter"`
	Encoding     string   `yaml:"encoding"`
}

// Default returns the mapping of kind's usual export.
func Default(kind string) Mapping {
	if kind == "spendcloud" {
		return Mapping{Columns: map[string]string{"username": "Gebruikersnaam", "employee_number": "Personeelsnummer", "active": "Actief"},
			ActiveValues: []string{"Ja"}}
	}
	return Mapping{Columns: map[string]string{"email": "Email", "employee_number": "ExternalId", "active": "Status"},
		ActiveValues: []string{"Active"}}
}

// Validate checks the mapping; errors are *fault.KeyError under it.
func (m *Mapping) Validate() error {
	for _, f := range slices.Sorted(maps.Keys(m.Columns)) {
		if !slices.Contains(Fields, f) {
			return fault.Key("columns."+f, "unknown field (known: %s)", strings.Join(Fields, ", "))
		}
		if strings.TrimSpace(m.Columns[f]) == "" {
			return fault.Key("columns."+f, "empty column name")
		}
	}
	if m.Columns["email"] == "" && m.Columns["username"] == "" && m.Columns["employee_number"] == "" {
		return fault.Key("columns", "map at least one of email, username, employee_number")
	}
	if m.Columns["active"] != "" && len(m.ActiveValues) == 0 {
		return fault.Key("active_values", "required with columns.active: the values of an active account")
	}
	if utf8.RuneCountInString(m.Delimiter) > 1 {
		return fault.Key("delimiter", "must be one character, not %s", show.Quote(m.Delimiter))
	}
	switch strings.ToLower(m.Encoding) {
	case "", "utf-8", "utf8", "windows-1252", "cp1252", "iso-8859-1", "latin1", "utf-16":
	default:
		return fault.Key("encoding", "unknown encoding %s (utf-8, windows-1252, iso-8859-1, utf-16)", show.Quote(m.Encoding))
	}
	return nil
}

// Account is one account of the list.
type Account struct {
	Line           int
	EmployeeNumber string
	Email          string
	Username       string
	FirstName      string
	LastName       string
	Active         bool
	// Status is the active column's value, for the report.
	Status string
}

// MaxFile bounds the list read: a real one is a few MiB per 10k accounts.
const MaxFile = 256 << 20

// ReadFile reads the account list at path as kind's mapping says: JSON
// (an array of objects, or an object holding one) or a delimited file.
func ReadFile(path, kind string, m Mapping) ([]Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open account list: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, MaxFile+1))
	head, _ := br.Peek(512)
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	var accounts []Account
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		accounts, err = readJSON(br, path, kind, m)
	} else {
		accounts, err = readCSV(br, path, kind, m)
	}
	if err != nil {
		return nil, err
	}
	if _, err := br.Peek(1); err == nil {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most spendsync reads of an account list", path, MaxFile>>20)
	}
	return accounts, checkDuplicates(path, m, accounts)
}

// record fills an Account from a field getter and checks its text.
func record(path, kind string, m Mapping, line int, get func(col string) (string, bool)) (Account, error) {
	a := Account{Line: line, Active: true}
	for _, f := range Fields {
		col := m.Columns[f]
		if col == "" {
			continue
		}
		v, _ := get(col)
		v = strings.TrimSpace(v)
		if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) {
			hint := ""
			if enc := strings.ToLower(m.Encoding); enc == "" || enc == "utf-8" || enc == "utf8" {
				hint = fmt.Sprintf(": looks like windows-1252: set reconcile.%s.encoding: windows-1252", kind)
			}
			return a, fmt.Errorf("%s line %d column %s: bytes that are not valid in the declared encoding%s", path, line, show.Quote(col), hint)
		}
		if len(v) > connector.MaxField {
			return a, fmt.Errorf("%s line %d column %s: field is %d bytes, longer than %d", path, line, show.Quote(col), len(v), connector.MaxField)
		}
		switch f {
		case "employee_number":
			a.EmployeeNumber = v
		case "email":
			a.Email = v
		case "username":
			a.Username = v
		case "first_name":
			a.FirstName = v
		case "last_name":
			a.LastName = v
		case "active":
			a.Status = v
			a.Active = slices.ContainsFunc(m.ActiveValues, func(s string) bool { return strings.EqualFold(s, v) })
		}
	}
	return a, nil
}

func readCSV(r io.Reader, path, kind string, m Mapping) ([]Account, error) {
	t, err := connector.OpenTable(r, path, m.Encoding, m.Delimiter)
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for _, f := range Fields {
		col := m.Columns[f]
		if col == "" {
			continue
		}
		i, err := t.Column(col)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			hint := ""
			if strings.ContainsRune(strings.Join(t.Header(), ""), 0) {
				hint = fmt.Sprintf(" (NUL bytes in the header: is the file UTF-16? set reconcile.%s.encoding: utf-16)", kind)
			}
			return nil, fmt.Errorf("%s line 1: no column %s for %s (reconcile.%s.columns.%s); the header has: %s%s",
				path, show.Quote(col), f, kind, f, show.List(t.Header()), hint)
		}
		idx[col] = i
	}
	var out []Account
	for {
		rec, line, err := t.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		a, err := record(path, kind, m, line, func(col string) (string, bool) {
			i := idx[col]
			if i >= len(rec) {
				return "", false
			}
			return rec[i], true
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
}

// readJSON reads an array of objects, or an object whose one array
// member (Resources, users, ...) holds them.
func readJSON(r io.Reader, path, kind string, m Mapping) ([]Account, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	fail := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s line %d: not valid JSON: %v", path, lineAt(se.Offset), err)
		}
		return fmt.Errorf("%s line %d: not valid JSON: %v", path, lineAt(dec.InputOffset()), err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fail(err)
	}
	if tok == json.Delim('{') {
		// Find the first member that is an array.
		for {
			key, err := dec.Token()
			if err != nil {
				return nil, fail(err)
			}
			if key == json.Delim('}') {
				return nil, fmt.Errorf("%s: a JSON object without an array of accounts in it", path)
			}
			peek, err := dec.Token()
			if err != nil {
				return nil, fail(err)
			}
			if peek == json.Delim('[') {
				tok = peek
				break
			}
			if d, ok := peek.(json.Delim); ok && d == '{' {
				// The opening brace is consumed: skip the rest by depth.
				for depth := 1; depth > 0; {
					t, err := dec.Token()
					if err != nil {
						return nil, fail(err)
					}
					switch t {
					case json.Delim('{'), json.Delim('['):
						depth++
					case json.Delim('}'), json.Delim(']'):
						depth--
					}
				}
			}
		}
	}
	if tok != json.Delim('[') {
		return nil, fmt.Errorf("%s line 1: JSON must be an array of accounts or an object holding one", path)
	}
	var out []Account
	seenKeys := map[string]bool{}
	for dec.More() {
		line := lineAt(dec.InputOffset())
		// The offset is before the separator and white space: the
		// object starts on the next non-space byte.
		if off := int(dec.InputOffset()); off < len(data) {
			rest := bytes.TrimLeft(data[off:], ", \t\r\n")
			line = lineAt(int64(len(data) - len(rest)))
		}
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, fail(err)
			}
			return nil, fmt.Errorf("%s line %d: an account is not a JSON object: %v", path, line, err)
		}
		for k := range obj {
			seenKeys[strings.ToLower(k)] = true
		}
		a, err := record(path, kind, m, line, func(col string) (string, bool) {
			for k, v := range obj {
				if strings.EqualFold(k, col) {
					return jsonText(v), true
				}
			}
			return "", false
		})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) > 0 {
		for _, f := range Fields {
			col := m.Columns[f]
			if col != "" && !seenKeys[strings.ToLower(col)] {
				return nil, fmt.Errorf("%s: no account has the key %s for %s (reconcile.%s.columns.%s); keys seen: %s",
					path, show.Quote(col), f, kind, f, show.List(slices.Sorted(maps.Keys(seenKeys))))
			}
		}
	}
	return out, nil
}

func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// checkDuplicates refuses a list with an email or username twice: the
// comparison could not tell which account is meant.
func checkDuplicates(path string, m Mapping, accounts []Account) error {
	for _, f := range []string{"email", "username"} {
		col := m.Columns[f]
		if col == "" {
			continue
		}
		first := map[string]int{}
		for _, a := range accounts {
			v := a.Email
			if f == "username" {
				v = a.Username
			}
			v = strings.ToLower(v)
			if v == "" {
				continue
			}
			if l, dup := first[v]; dup {
				return fmt.Errorf("%s line %d column %s: %s %s appears again (first on line %d)", path, a.Line, show.Quote(col), f, show.Quote(v), l)
			}
			first[v] = a.Line
		}
	}
	return nil
}
