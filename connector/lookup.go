package connector

import (
	"cmp"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/show"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/model"
)

// Lookup joins a side file into a source's rows by key: some exports keep
// OU names, function names, partner names or work email in separate files.
// The side file is read with the source's encoding and delimiter unless
// the lookup sets its own.
type Lookup struct {
	File  string            `yaml:"file"`
	Key   map[string]string `yaml:"key"`   // one canonical field -> column in File
	Fill  map[string]string `yaml:"fill"`  // canonical field -> column in File
	Where map[string]string `yaml:"where"` // column in File -> value a row must hold
	// Delimiter and Encoding default to the source's: a side file from
	// another tool may differ.
	Delimiter string `yaml:"delimiter"`
	Encoding  string `yaml:"encoding"`
}

// checkFormat checks a delimiter (empty: sniffed) and an encoding; at
// prefixes the keys it names.
func checkFormat(at, delimiter, encoding string) error {
	if delimiter != "" {
		if d := []rune(delimiter); len(d) != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r' {
			return keyErr(at+"delimiter", "must be one character other than a quote or newline, not %s", show.Quote(delimiter))
		}
	}
	if _, ok := encodings[strings.ToLower(encoding)]; !ok && encoding != "" {
		return keyErr(at+"encoding", "unknown encoding %s (known: utf-8, windows-1252, iso-8859-1, utf-16)", show.Quote(encoding))
	}
	return nil
}

// Files lists every file the source reads, lookups included: the unchanged
// source fast path and max_age consider them all.
func (s *Source) Files() []string {
	var files []string
	if s.Persons != "" {
		files = append(files, s.Persons)
	}
	if s.Contracts != "" {
		files = append(files, s.Contracts)
	}
	for _, l := range s.Lookups {
		files = append(files, l.File)
	}
	return files
}

// fileError says which of the source's files could not be opened, by its
// key within the source (persons, contracts, lookups[i].file), so the user
// knows which line of the config to fix; the OS's reason follows once.
func (s *Source) fileError(path string, err error) error {
	key := s.fileKey(path)
	reason := err.Error()
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		reason = "does not exist"
	case errors.As(err, &pe):
		reason = pe.Err.Error()
	}
	return fmt.Errorf("%s: %s %s", key, show.Text(path), show.Text(reason))
}

// fileKey is the key of path within the source: persons, contracts or
// lookups[i].file.
func (s *Source) fileKey(path string) string {
	key := "file"
	switch path {
	case s.Persons:
		key = "persons"
	case s.Contracts:
		key = "contracts"
	default:
		for i, l := range s.Lookups {
			if l.File == path {
				key = fmt.Sprintf("lookups[%d].file", i)
			}
		}
	}
	return key
}

// keyField returns the lookup's single key field.
func (l *Lookup) keyField() string {
	for f := range l.Key {
		return f
	}
	return ""
}

// validateLookups checks each lookup against the fields the source may fill.
// A person field can only be filled by a person key (employee number
// included), a contract field by a contract key or the employee number: the
// lookup is applied to persons rows and contract rows separately.
func (s *Source) validateLookups() error {
	isPerson := func(f string) bool { return slices.Contains(personColumns, f) }
	isContract := func(f string) bool { return slices.Contains(contractColumns, f) }
	for i, l := range s.Lookups {
		at := fmt.Sprintf("lookups[%d]", i)
		if l == nil {
			return keyErr(at, "empty lookup")
		}
		if strings.TrimSpace(l.File) == "" {
			return keyErr(at+".file", "required: the path of the lookup file")
		}
		if len(l.Key) != 1 {
			return keyErr(at+".key", "must name exactly one field, such as {ou_code: \"[ID org-eenheid]\"}")
		}
		key := l.keyField()
		if !isPerson(key) && !isContract(key) {
			return keyErr(at+".key."+key, "unknown field (known: %s)", strings.Join(append(slices.Clone(personColumns), contractColumns...), ", "))
		}
		if strings.TrimSpace(l.Key[key]) == "" {
			return keyErr(at+".key."+key, "empty column name")
		}
		if len(l.Fill) == 0 {
			return keyErr(at+".fill", "required: the fields this lookup fills, such as {ou_name: \"[Lg naam org-eenhd]\"}")
		}
		for _, f := range slices.Sorted(maps.Keys(l.Fill)) {
			fk := at + ".fill." + f
			switch {
			case f == "employee_number" || f == key:
				return keyErr(fk, "a lookup cannot fill its own key or the employee number")
			case isPerson(f):
				if !isPerson(key) {
					return keyErr(fk, "a person field needs a person key (such as employee_number), not %s", key)
				}
				if s.IsProvider() && !slices.Contains(s.Provides, f) {
					return keyErr(fk, "this source only provides %s", strings.Join(s.Provides, ", "))
				}
			case isContract(f):
				if s.IsProvider() {
					return keyErr(fk, "a source with provides: reads no contracts")
				}
				if key != "employee_number" && !isContract(key) {
					return keyErr(fk, "a contract field needs a contract key (such as ou_code) or employee_number, not %s", key)
				}
			default:
				return keyErr(fk, "unknown field (known: %s)", strings.Join(append(slices.Clone(model.PersonFields), contractColumns...), ", "))
			}
			if strings.TrimSpace(l.Fill[f]) == "" {
				return keyErr(fk, "empty column name")
			}
		}
		for _, col := range slices.Sorted(maps.Keys(l.Where)) {
			if strings.TrimSpace(col) == "" {
				return keyErr(at+".where", "empty column name")
			}
		}
		if err := checkFormat(at+".", l.Delimiter, l.Encoding); err != nil {
			return err
		}
	}
	return nil
}

// lookupTable is a loaded lookup file: key value -> the row that holds it.
type lookupTable struct {
	file string
	key  string   // canonical key field
	fill []string // canonical fields filled, sorted
	rows map[string]lookupRow
	// unreadable lines: a key not found may stand in one of them.
	unreadable []unreadableRow
}

// unreadableRow is a line of a lookup file the CSV reader could not read.
type unreadableRow struct {
	line   int
	reason string
	fields []string // the raw text split on the delimiter and line ends
}

// rawFields splits raw text on the delimiter and line ends, quotes and
// surrounding spaces dropped: a key in an unreadable line is one of these.
func rawFields(raw string, comma rune) []string {
	out := strings.FieldsFunc(raw, func(r rune) bool { return r == comma || r == '\n' || r == '\r' })
	for i, f := range out {
		out[i] = strings.Trim(f, ` "`)
	}
	return out
}

type lookupRow struct {
	line   int
	values map[string]string // by canonical field
	bad    string            // why the row's values cannot be used
}

// loadLookup reads a lookup file. Rows failing where are skipped; a row with
// an empty key is skipped; two rows with the same key are an error naming
// both lines, since either could be the right one. An unreadable line is
// kept aside: the rows whose key it holds are rejected when filled.
func loadLookup(r io.Reader, l *Lookup, src *Source) (*lookupTable, error) {
	lt := &lookupTable{file: l.File, key: l.keyField(), fill: slices.Sorted(maps.Keys(l.Fill)), rows: map[string]lookupRow{}}
	enc, delim := cmp.Or(l.Encoding, src.Encoding), cmp.Or(l.Delimiter, src.Delimiter)
	t, err := newTable(r, l.File, enc, delim)
	if errors.Is(err, errEmpty) {
		return lt, nil // no header at all: every key is missing
	}
	if err != nil {
		return nil, err
	}
	// Resolve every column the lookup names; all must exist.
	m := &columnMap{t: t, idx: map[string]int{}}
	resolve := func(name, what string) (int, error) {
		i, err := t.index(name)
		if err != nil {
			return -1, err
		}
		if i < 0 {
			return -1, fmt.Errorf("%s line 1: no column %s for %s; the header has: %s", t.file, show.Quote(name), what, show.List(t.header))
		}
		return i, nil
	}
	if m.idx[lt.key], err = resolve(l.Key[lt.key], "lookup key "+lt.key); err != nil {
		return nil, err
	}
	for _, f := range lt.fill {
		if m.idx[f], err = resolve(l.Fill[f], "lookup fill "+f); err != nil {
			return nil, err
		}
	}
	where := map[int]string{}
	for _, col := range slices.Sorted(maps.Keys(l.Where)) {
		i, err := resolve(col, "lookup where")
		if err != nil {
			return nil, err
		}
		where[i] = strings.Trim(l.Where[col], " ")
	}
	for {
		rec, err := t.next()
		if errors.Is(err, io.EOF) {
			return lt, nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			// A stray quote (Raet's 't written as "t) must not stop the
			// whole source: the rows whose key this text holds are
			// rejected instead, the others go on.
			lt.unreadable = append(lt.unreadable, unreadableRow{line: perr.Line,
				reason: fmt.Sprintf("unreadable CSV (%v)", perr.Err), fields: rawFields(t.raw(), t.csv.Comma)})
			continue
		}
		if err != nil {
			return nil, atomicfile.Wrap("read", t.file, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(t.header) > 1 {
			continue // blank line
		}
		line := t.line
		match := true
		for i, want := range where {
			if i >= len(rec) || strings.Trim(rec[i], " ") != want {
				match = false
			}
		}
		key := validText(m.get(rec, lt.key))
		if !match || key == "" {
			continue
		}
		row := lookupRow{line: line, values: map[string]string{}}
		if len(rec) != len(t.header) {
			row.bad = fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(t.header))
		} else if e, ok := checkText(m, rec); !ok {
			row.bad = fmt.Sprintf("column %s: %s", m.header(e.field), e.reason)
		}
		for _, f := range lt.fill {
			row.values[f] = m.get(rec, f)
		}
		if prev, dup := lt.rows[key]; dup {
			return nil, fmt.Errorf("%s: duplicate key %s for %s on lines %d and %d", t.file, show.Quote(key), lt.key, prev.line, line)
		}
		lt.rows[key] = row
	}
}

// loadLookups reads the source's lookup files.
func (res *reader) loadLookups(progress Progress) error {
	// The bytes read are hashed into the seed of the rows' hashes
	// (rowhash.go): a changed lookup file changes what a row maps to.
	sum := sha256.New()
	for i, l := range res.Source.Lookups {
		err := withFile(res.ctx, res.Source, l.File, progress, func(r io.Reader) error {
			fmt.Fprintf(sum, "\x00lookup %d\x00", i)
			r = io.TeeReader(r, sum)
			lt, err := loadLookup(r, l, res.Source)
			if err != nil {
				return fmt.Errorf("lookup: %w", err)
			}
			res.lookups = append(res.lookups, lt)
			if _, err := io.Copy(io.Discard, r); err != nil { // what the table left unread
				return atomicfile.Wrap("read", l.File, err)
			}
			return nil
		})
		if err != nil {
			return err // an open error names lookups[i].file already
		}
	}
	res.lookupSum = sum.Sum(nil)
	return nil
}

// EmptyLookups lists the lookup files that gave no usable row (none at
// all, or none passing where:), with the fields each would fill. An empty
// side file looks like a broken export: every name it carries would go.
func (res *Result) EmptyLookups() map[string][]string {
	out := map[string][]string{}
	for _, lt := range res.rd.lookups {
		if len(lt.rows) == 0 && len(lt.unreadable) == 0 {
			out[lt.file] = lt.fill
		}
	}
	return out
}

// lookupFields returns the person fields the lookups may fill.
func (res *reader) lookupFields() []string {
	var out []string
	for _, lt := range res.lookups {
		for _, f := range lt.fill {
			if slices.Contains(personColumns, f) && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// fillRow fills the empty fields of one row from the lookups whose key field
// the row has. has reports the fields the row carries (person fields for a
// persons row; employee number and contract fields for a contract row). A
// key that is missing from the lookup leaves the fields empty; a key whose
// lookup row is unusable rejects the row.
func (res *reader) fillRow(has func(string) bool, get func(string) string, set func(string, string)) (rowError, bool) {
	for _, lt := range res.lookups {
		if !has(lt.key) {
			continue
		}
		if !slices.ContainsFunc(lt.fill, func(f string) bool { return has(f) && get(f) == "" }) {
			continue // nothing left to fill
		}
		key := get(lt.key)
		row, ok := lt.rows[key]
		if !ok {
			for _, u := range lt.unreadable {
				if key != "" && slices.Contains(u.fields, key) {
					return rowError{lt.fill[0], fmt.Sprintf("lookup %s line %d: %s", lt.file, u.line, u.reason)}, false
				}
			}
			continue
		}
		for _, f := range lt.fill {
			if !has(f) || get(f) != "" || row.values[f] == "" {
				continue
			}
			if row.bad != "" {
				return rowError{f, fmt.Sprintf("lookup %s line %d: %s", lt.file, row.line, row.bad)}, false
			}
			set(f, row.values[f])
		}
	}
	return rowError{}, true
}
