package connector

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"math"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spendsync/spendsync/connector/pull"
	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

// Rules are the row validation settings shared by all sources.
type Rules struct {
	VerifiedDomains  []string
	RejectUnverified bool
}

// Reject is a row that was not used, with the reason.
type Reject struct {
	File           string
	Line           int
	Column         string // header name, or empty when the row as a whole is bad
	Reason         string
	Raw            string
	EmployeeNumber string // empty when the row gave none
}

// PersonRow is a valid persons row.
type PersonRow struct {
	model.Person
	File     string
	Line     int
	Warnings []string // e.g. an unknown naming convention treated as B
}

// ContractRow is a valid contract row.
type ContractRow struct {
	model.Contract
	File string
	Line int
	Raw  string // only for a pulled source (a file's line is read back when needed)
}

// Result is what one source's files hold.
type Result struct {
	Source *Source
	Files  []string
	// Persons are the valid persons rows the Filter kept (all of them
	// without one), by employee number; Listed is every valid persons row,
	// kept or not (employee number -> line), but for the rows whose lines
	// the Filter's Lines kept: ListedOn and EachListed see both.
	Persons   map[string]*PersonRow
	Listed    map[string]int
	Contracts []ContractRow
	// Fields lists the person fields this source supplies: a field whose
	// column a file lacks is left as stored, not cleared.
	Fields  []string
	Deleted map[string]int // delta delete flags: employee number -> line
	Rejects []Reject
	// Protected holds employee numbers with a rejected persons row: they keep
	// their last good state. ProtectedContracts likewise for contract rows.
	Protected          map[string]bool
	ProtectedContracts map[string]bool
	PersonRows         int // data rows read from the persons file, valid or not
	ContractRows       int // data rows read from the contracts file, valid or not
	// Merged counts contract rows without a contract id that repeat an
	// earlier row of the same person field for field: one contract, not a
	// duplicate (Raet HR Core lists two identical part-time appointments
	// as two rows).
	Merged int

	held map[string]int // token -> index in Rejects, built on first HeldBy
	rd   *reader        // what reading left that the methods below need
}

// reader is the state of reading one source's files into a Result: what
// the headers and the filter decided, and what is read back from a file
// once it has been read.
type reader struct {
	*Result
	ctx         context.Context // ends the reading of every file
	personsFile string
	lookups     []*lookupTable
	filter      Filter
	keepEmp     func(string) bool // the second pass over a filtered contracts file
	// left counts the first pass's contract rows the filter did not take:
	// without any, a second pass would keep none.
	left int
	// contractIDColumn is the contracts file's header for contract_id,
	// for duplicates reported after the file was read.
	contractIDColumn string
	contractHeaders  map[string]string // canonical contract field -> its header, likewise
	dates            *dateCheck        // the dates of the file being read (nil: not counted)
	// rawLater lists rejects of dropped rows whose raw text is read back
	// from the file once it has been read (duplicates of a dropped row).
	rawLater []int
}

// Filter drops, while a source is read, the rows the caller already
// knows it does not need: an ingest keeps only rows that differ from what
// the source supplied last time, so its memory follows the changes, not
// the size of the files. It applies to sources read from files (a pulled
// source keeps every row), and is the only way the connector calls out.
//
// The persons file and the contracts file may be read on two goroutines
// at once: Person, Line and Forget are called on the one that reads the
// persons file, Contract on the one that reads the contracts file, and
// KeepContracts after both.
type Filter interface {
	// Person sees each valid persons row with the person fields the
	// source supplies (for providers and sources with a contracts file
	// only: a persons row that also holds a contract is always kept).
	// keep false drops the row; lineKept then says the filter keeps the
	// row's line itself (Line answers for it), else the Result's Listed
	// does: the filter may hold a million lines more compactly than a map.
	Person(fields []string, p *PersonRow) (keep, lineKept bool)
	// Line returns the line of a persons row whose line Person kept.
	Line(emp string) (int, bool)
	// Forget voids the line Person kept for emp: a duplicate row came.
	Forget(emp string)
	// Contract sees each valid row of the contracts file in a first pass
	// and returns true when it takes the row away (to disk): it then
	// checks that employee number's rows for duplicate contracts itself
	// and reports them with RejectDuplicateContracts. It must take all or
	// none of one employee number's rows.
	Contract(c *ContractRow) bool
	// KeepContracts names, once the persons file is read, the employee
	// numbers whose rows a second pass over the contracts file keeps;
	// listed reports whether the persons file lists emp (ask it only when
	// the answer needs it). There is no second pass when Contract took
	// every row.
	KeepContracts(emp string, listed func() bool) bool
}

// ListedOn returns the line of emp's valid persons row, if there is one.
func (res *Result) ListedOn(emp string) (int, bool) {
	if line, ok := res.Listed[emp]; ok {
		return line, true
	}
	if res.rd != nil && res.rd.filter != nil {
		return res.rd.filter.Line(emp)
	}
	return 0, false
}

// EachListed calls fn with the employee number of every valid persons
// row Listed holds, in no order: not those whose lines the Filter kept.
func (res *Result) EachListed(fn func(emp string)) {
	for emp := range res.Listed {
		fn(emp)
	}
}

// Rows is the number of data rows read from all files.
func (res *Result) Rows() int { return res.PersonRows + res.ContractRows }

// Progress, when set, returns a writer that is fed every byte read from
// the named file (for a progress bar), or nil.
type Progress func(path string, size int64) io.Writer

// Load reads and validates a source's files, keeping only the rows
// filter keeps (nil: all); ctx ends the reading, and an API pull, early.
// A pulled source keeps all its rows.
func Load(ctx context.Context, src *Source, rules Rules, progress Progress, filter Filter) (*Result, error) {
	if src.API != nil {
		filter = nil
	}
	res := &reader{ctx: ctx, filter: filter, Result: &Result{
		Source:             src,
		Listed:             map[string]int{},
		Persons:            map[string]*PersonRow{},
		Deleted:            map[string]int{},
		Protected:          map[string]bool{},
		ProtectedContracts: map[string]bool{},
	}}
	res.rd = res
	if err := res.loadLookups(progress); err != nil {
		return nil, err
	}
	if src.API == nil && src.Contracts != "" && progress == nil {
		if err := res.readBoth(src, rules); err != nil {
			return nil, err
		}
	} else if src.API != nil {
		if err := res.pull(ctx, rules); err != nil {
			return nil, err
		}
	} else if err := withFile(res.ctx, src, src.Persons, progress, func(r io.Reader) error {
		return res.readPersons(r, src.Persons, rules)
	}); err != nil {
		return nil, err
	}
	if src.Contracts != "" && (src.API != nil || progress != nil) {
		if err := withFile(res.ctx, src, src.Contracts, progress, func(r io.Reader) error {
			return res.readContracts(r, src.Contracts)
		}); err != nil {
			return nil, err
		}
		if err := res.keptContracts(src.Contracts); err != nil {
			return nil, err
		}
	}
	for _, l := range src.Lookups {
		res.Files = append(res.Files, l.File)
	}
	return res.Result, nil
}

// readBoth reads the persons and the contracts file side by side, on two
// goroutines: parsing is most of an ingest's time and neither file
// needs the other. The contracts are read into a result of their own,
// merged after, so rejects and files keep the order of one file after the
// other. (With a progress bar, for a person at a terminal, the files are
// read one at a time so the two bars do not draw over each other.)
func (res *reader) readBoth(src *Source, rules Rules) error {
	cres := res.sub()
	cres.personsFile, cres.filter = src.Persons, res.filter
	done := make(chan error, 1)
	go func() {
		done <- withFile(res.ctx, src, src.Contracts, nil, func(r io.Reader) error { return cres.readContracts(r, src.Contracts) })
	}()
	perr := withFile(res.ctx, src, src.Persons, nil, func(r io.Reader) error { return res.readPersons(r, src.Persons, rules) })
	if cerr := <-done; perr == nil && cerr != nil {
		return cerr
	}
	if perr != nil {
		return perr
	}
	res.Files = append(res.Files, cres.Files...)
	res.addContracts(cres.Contracts)
	res.Rejects = append(res.Rejects, cres.Rejects...)
	res.ContractRows = cres.ContractRows
	res.Merged = cres.Merged
	res.left = cres.left
	res.contractIDColumn, res.contractHeaders = cres.contractIDColumn, cres.contractHeaders
	for emp := range cres.Protected {
		res.Protected[emp] = true
	}
	for emp := range cres.ProtectedContracts {
		res.ProtectedContracts[emp] = true
	}
	return res.keptContracts(src.Contracts)
}

// sub is an empty result for reading a file of res's source apart from
// res (a goroutine's file, a second pass), merged by the caller.
func (res *reader) sub() *reader {
	r := &reader{ctx: res.ctx, personsFile: res.personsFile, lookups: res.lookups,
		Result: &Result{Source: res.Source, Protected: map[string]bool{}, ProtectedContracts: map[string]bool{}}}
	r.rd = r
	return r
}

// addContracts appends rows read apart; into an empty result they are
// taken over, not copied (150k rows on a first ingest).
func (res *reader) addContracts(rows []ContractRow) {
	if len(res.Contracts) == 0 {
		res.Contracts = rows
		return
	}
	res.Contracts = append(res.Contracts, rows...)
}

// reread reads file of res's source again as a table, after a first
// read found what to look for in it; an empty file has nothing to give.
func (res *reader) reread(file string, fn func(*table) error) error {
	return withFile(res.ctx, res.Source, file, nil, func(r io.Reader) error {
		t, err := newTable(r, file, res.Source.Encoding, res.Source.Delimiter)
		if errors.Is(err, errEmpty) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(t)
	})
}

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

// withFile calls fn with the file's contents (its copy, when Spool made
// one), read until ctx ends.
func withFile(ctx context.Context, src *Source, path string, progress Progress, fn func(io.Reader) error) error {
	f, size, err := src.open(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if progress != nil {
		if w := progress(path, size); w != nil {
			r = io.TeeReader(f, w)
		}
	}
	return fn(r)
}

// columnMap binds canonical fields to the columns of one table.
type columnMap struct {
	t      rowSource
	idx    map[string]int
	sorted []string // the keys of idx in order, so every row checks its fields alike without sorting again
	// Resolved once (prepare), so a row is read by position, not by a map
	// lookup per field: cols[i] is idx[sorted[i]]; key, person and
	// contract hold the column of the employee number and of each of
	// model.PersonFields and model.ContractFields, -1 when absent.
	cols             []int
	key              int
	person, contract []int
}

// prepare resolves sorted and the columns of the canonical fields from
// idx; a map built outside bind (lookups) is prepared on first use.
func (m *columnMap) prepare() {
	m.sorted = slices.Sorted(maps.Keys(m.idx))
	m.cols = make([]int, len(m.sorted))
	for i, f := range m.sorted {
		m.cols[i] = m.idx[f]
	}
	m.key = m.column(model.KeyField)
	m.person = m.columns(model.PersonFields)
	m.contract = m.columns(model.ContractFields)
}

func (m *columnMap) column(f string) int {
	if i, ok := m.idx[f]; ok {
		return i
	}
	return -1
}

func (m *columnMap) columns(fields []string) []int {
	out := make([]int, len(fields))
	for i, f := range fields {
		out[i] = m.column(f)
	}
	return out
}

// at returns column i of rec with surrounding spaces trimmed, or "" when
// the column is absent (-1) or the row short.
func (m *columnMap) at(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.Trim(rec[i], " ")
}

// bind resolves fields against t's header. A field set explicitly in
// columns: must exist; a profile's may be missing (not every export has
// every column).
func (res *reader) bind(t rowSource, fields []string, contracts bool) (*columnMap, error) {
	cols, fromProfile := res.Source.columnsFor(contracts)
	m := &columnMap{t: t, idx: map[string]int{}}
	for _, f := range fields {
		h, ok := cols[f]
		if !ok {
			continue
		}
		i, err := t.index(h)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			if f == "employee_number" || !fromProfile[f] {
				hint := ""
				if strings.ContainsRune(strings.Join(t.head(), ""), 0) {
					hint = " (NUL bytes in the header: is the file UTF-16? set sources.encoding: utf-16)"
				}
				return nil, fmt.Errorf("%s line 1: no column %s for %s (sources.columns.%s); the header has: %s%s",
					t.name(), show.Quote(h), f, f, show.List(t.head()), hint)
			}
			continue
		}
		m.idx[f] = i
	}
	m.prepare()
	return m, nil
}

func (m *columnMap) has(f string) bool { _, ok := m.idx[f]; return ok }

// get returns the field's value with surrounding spaces trimmed.
func (m *columnMap) get(rec []string, f string) string { return m.at(rec, m.column(f)) }

func (m *columnMap) header(f string) string {
	if i, ok := m.idx[f]; ok {
		return m.t.head()[i]
	}
	return f
}

// rowError is a validation failure in one column.
type rowError struct{ field, reason string }

func (res *reader) reject(m *columnMap, line int, raw, emp string, e rowError) {
	col := ""
	if e.field != "" {
		col = m.header(e.field)
	}
	res.Rejects = append(res.Rejects, Reject{File: m.t.name(), Line: line, Column: col, Reason: e.reason, Raw: raw, EmployeeNumber: emp})
}

// rows iterates t's data rows, rejecting unparseable ones and rows whose
// field count does not match the header.
func (res *reader) rows(m *columnMap, count *int, fn func(rec []string, line int, raw func() string, emp string)) error {
	raw := m.t.raw
	for {
		rec, err := m.t.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			*count++
			res.Rejects = append(res.Rejects, Reject{File: m.t.name(), Line: perr.Line, Column: fmt.Sprintf("byte %d", perr.Column),
				Reason: "unreadable CSV: " + perr.Err.Error(), Raw: raw()})
			continue
		}
		var pullErr *pull.Error
		if errors.As(err, &pullErr) {
			return err // names the request path and status already
		}
		if err != nil {
			return atomicfile.Wrap("read", m.t.name(), err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" && len(m.t.head()) > 1 {
			continue // blank line
		}
		*count++
		line := m.t.lineNo()
		emp := m.at(rec, m.key)
		if res.keepEmp != nil && !res.keepEmp(emp) {
			continue // a second pass: the first one checked and counted this row
		}
		if len(rec) != len(m.t.head()) {
			res.reject(m, line, raw(), emp, rowError{"", fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(m.t.head()))})
			res.protect(m, emp)
			continue
		}
		if e, ok := checkText(m, rec); !ok {
			res.reject(m, line, raw(), validText(emp), e)
			res.protect(m, validText(emp))
			continue
		}
		if emp == "" {
			res.reject(m, line, raw(), "", rowError{"employee_number", "missing employee number"})
			continue
		}
		fn(rec, line, raw, emp)
	}
}

func validText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, utf8.RuneError) && !strings.ContainsRune(s, 0) {
		return s
	}
	return ""
}

// protect keeps emp's last good state after a rejected row.
func (res *reader) protect(m *columnMap, emp string) {
	if emp == "" {
		return
	}
	if m.has("first_name") || m.has("last_name") || res.Source.IsProvider() || m.t.name() == res.personsFile {
		res.Protected[emp] = true
	}
	res.ProtectedContracts[emp] = true
}

// MaxField bounds a field: no HR value is longer, and a multi-megabyte
// "name" is a broken export, not a person.
const MaxField = 4096

// checkText rejects bytes that were invalid in the declared encoding
// (decoded as U+FFFD), control characters other than tab and newlines,
// invisible characters (a byte order mark or zero-width space inside a
// field), oversize fields, and an employee number with spaces or format
// characters, which would make a look-alike key.
func checkText(m *columnMap, rec []string) (rowError, bool) {
	if len(m.cols) != len(m.idx) {
		m.prepare()
	}
	for i, f := range m.sorted {
		v := rec[m.cols[i]]
		if len(v) > MaxField {
			return rowError{f, fmt.Sprintf("field is %d bytes, longer than %d", len(v), MaxField)}, false
		}
		isKey := f == model.KeyField
		if printableASCII(v) && !(isKey && strings.IndexByte(v, ' ') >= 0) {
			continue // most fields: nothing below can object
		}
		if !utf8.ValidString(v) || strings.ContainsRune(v, utf8.RuneError) {
			why := "bytes that are not valid in the declared encoding"
			if t, ok := m.t.(*table); ok {
				why += t.hint
			}
			return rowError{f, why}, false
		}
		for _, r := range v {
			switch {
			case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f:
				return rowError{f, fmt.Sprintf("control character U+%04X", r)}, false
			case r == '\ufeff' || r == '\u200b':
				return rowError{f, fmt.Sprintf("invisible character U+%04X inside the field", r)}, false
			case isKey && (unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)):
				return rowError{f, fmt.Sprintf("employee number holds a space or format character (U+%04X)", r)}, false
			}
		}
	}
	return rowError{}, true
}

// printableASCII reports whether v holds only bytes 0x20-0x7e: valid
// UTF-8 without control, invisible or format characters.
func printableASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// open starts reading a file of the source; a nil table with a nil error
// means the file has no header at all (zero rows: the safety stops decide
// what that means).
func (res *reader) open(r io.Reader, file string) (*table, error) {
	res.Files = append(res.Files, file)
	t, err := newTable(r, file, res.Source.Encoding, res.Source.Delimiter)
	if errors.Is(err, errEmpty) {
		return nil, nil
	}
	return t, err
}

func (res *reader) readPersons(r io.Reader, file string, rules Rules) error {
	res.personsFile = file
	t, err := res.open(r, file)
	if t == nil {
		return err
	}
	if err := res.persons(t, file, rules); err != nil {
		return err
	}
	return res.fillRaw(file)
}

// personFields lists the fields the persons file supplies.
func (res *reader) personFields() []string {
	src := res.Source
	fields := slices.Clone(personColumns)
	if src.IsProvider() {
		fields = append([]string{"employee_number"}, src.Provides...)
	} else if !src.HasContracts() {
		fields = append(fields, contractColumns...)
	}
	if src.Mode == Delta {
		fields = append(fields, "deleted")
	}
	return fields
}

func (res *reader) persons(t rowSource, file string, rules Rules) error {
	src := res.Source
	m, err := res.bind(t, res.personFields(), false)
	if err != nil {
		return err
	}
	filled := res.lookupFields()
	for _, f := range model.PersonFields {
		if m.has(f) || slices.Contains(filled, f) {
			res.Fields = append(res.Fields, f)
		}
	}
	// The raw text of a row is kept only for a pulled source: a file's
	// rows are read back (fillRaw) for the rare duplicate that needs one.
	// The positions in model.PersonFields of the fields the source
	// supplies (res.Fields, in that order).
	var supplied []int
	for i, f := range model.PersonFields {
		if slices.Contains(res.Fields, f) {
			supplied = append(supplied, i)
		}
	}
	_, fromFile := t.(*table)
	firstRaw := map[string]string{}
	dupes := map[string]bool{}
	if !src.IsProvider() && !src.HasContracts() {
		res.dates = &dateCheck{file: file} // each row holds a contract
	}
	var filter Filter
	if src.IsProvider() || src.HasContracts() {
		filter = res.filter
	}
	err = res.rows(m, &res.PersonRows, func(rec []string, line int, raw func() string, emp string) {
		if prevLine, ok := res.ListedOn(emp); ok || dupes[emp] {
			reason := "duplicate employee number in this file"
			if ok {
				first := firstRaw[emp]
				if fromFile {
					res.rawLater = append(res.rawLater, len(res.Rejects))
				}
				res.reject(m, prevLine, first, emp, rowError{"employee_number", reason})
				delete(res.Persons, emp)
				delete(res.Listed, emp)
				if res.filter != nil {
					res.filter.Forget(emp)
				}
				res.Contracts = slices.DeleteFunc(res.Contracts, func(c ContractRow) bool { return c.EmployeeNumber == emp && c.File == file })
			}
			dupes[emp] = true
			res.reject(m, line, raw(), emp, rowError{"employee_number", reason})
			res.protect(m, emp)
			return
		}
		if m.has("deleted") && truthy(m.get(rec, "deleted")) {
			res.Deleted[emp] = line
			return
		}
		p := &PersonRow{File: file, Line: line}
		p.EmployeeNumber = emp
		for _, i := range supplied {
			p.SetFieldAt(i, m.at(rec, m.person[i]))
		}
		hasField := func(f string) bool { return f == "employee_number" || slices.Contains(res.Fields, f) }
		if e, ok := res.fillRow(hasField, p.Field, p.SetField); !ok {
			res.reject(m, line, raw(), emp, e)
			res.protect(m, emp)
			return
		}
		if e, ok := checkEmail(p.Email, rules); !ok {
			res.reject(m, line, raw(), emp, e)
			res.protect(m, emp)
			return
		} else if e.reason != "" {
			p.Warnings = append(p.Warnings, e.reason)
		}
		if slices.Contains(res.Fields, "naming_convention") {
			conv, known := convention(p.NamingConvention, src.namingMap())
			if !known {
				p.Warnings = append(p.Warnings, fmt.Sprintf("unknown naming convention %s in column %s, treated as B", show.Quote(p.NamingConvention), show.Text(m.header("naming_convention"))))
			}
			p.NamingConvention = conv
		}
		if !src.IsProvider() && !src.HasContracts() {
			c, e, ok := res.contract(m, rec, emp)
			if !ok {
				res.reject(m, line, raw(), emp, e)
				res.protect(m, emp)
				return
			}
			res.Contracts = append(res.Contracts, ContractRow{Contract: c, File: file, Line: line, Raw: raw()})
		}
		if filter != nil {
			if keep, lineKept := filter.Person(res.Fields, p); !keep {
				if !lineKept {
					// A copy: the number is a slice of the row's text, which
					// a dropped row would otherwise keep alive.
					res.Listed[strings.Clone(emp)] = line
				}
				return
			}
		}
		res.Listed[emp] = line
		if !fromFile {
			firstRaw[emp] = raw()
		}
		res.Persons[emp] = p
	})
	dates := res.dates
	res.dates = nil
	if err == nil {
		err = dates.verdict(src)
	}
	return err
}

// fillRaw reads back, from the file just read, the raw text of the
// rejects whose row had been dropped before a duplicate showed it bad.
func (res *reader) fillRaw(file string) error {
	if len(res.rawLater) == 0 {
		return nil
	}
	want := map[int][]int{} // line -> rejects
	for _, i := range res.rawLater {
		want[res.Rejects[i].Line] = append(want[res.Rejects[i].Line], i)
	}
	res.rawLater = nil
	return res.reread(file, func(t *table) error {
		for len(want) > 0 {
			_, err := t.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			var perr *csv.ParseError
			if err != nil && !errors.As(err, &perr) {
				return atomicfile.Wrap("read", file, err)
			}
			for _, i := range want[t.lineNo()] {
				res.Rejects[i].Raw = t.raw()
			}
			delete(want, t.lineNo())
		}
		return nil
	})
}

// readContracts reads the contracts file. With a filter it reads the
// file once to show the filter every valid row, keeping none, and the
// persons file must have been read before keptContracts reads it again.
func (res *reader) readContracts(r io.Reader, file string) error {
	t, err := res.open(r, file)
	if t == nil {
		return err
	}
	var see func(ContractRow) bool
	if res.filtersContracts() {
		see = func(c ContractRow) bool { return res.filter.Contract(&c) }
	}
	if err := res.contracts(t, file, see); err != nil {
		return err
	}
	return res.fillRaw(file)
}

// filtersContracts reports whether the contracts file is read through
// the filter: then Contracts holds only the rows it kept.
func (res *reader) filtersContracts() bool {
	return res.filter != nil && res.Source.API == nil
}

// keptContracts reads the contracts file a second time and keeps the rows
// of the employee numbers the filter names. Its rejects were recorded by
// the first pass.
func (res *reader) keptContracts(file string) error {
	if !res.filtersContracts() || !slices.Contains(res.Files, file) {
		return nil
	}
	if res.left == 0 {
		return nil // the filter took every row
	}
	keep := res.filter.KeepContracts
	again := res.sub()
	again.keepEmp = func(emp string) bool {
		return keep(emp, func() bool {
			_, listed := res.ListedOn(emp)
			return listed
		})
	}
	return res.reread(file, func(t *table) error {
		if err := again.contracts(t, file, nil); err != nil {
			return err
		}
		res.addContracts(again.Contracts)
		return nil
	})
}

// contracts reads the contract rows of t. With see, each valid row goes
// to see instead of being kept.
func (res *reader) contracts(t rowSource, file string, see func(ContractRow) bool) error {
	m, err := res.bind(t, append([]string{model.KeyField}, contractColumns...), true)
	if err != nil {
		return err
	}
	res.contractIDColumn = m.header("contract_id")
	res.contractHeaders = map[string]string{}
	for _, f := range model.ContractFields {
		res.contractHeaders[f] = m.header(f)
	}
	// employee number + key -> index in res.Contracts (with see: the
	// line), or -1 once duplicated. Keyed by a 96-bit hash of the pair,
	// not the text: 1.5M contracts' keys as strings were ~150 MB. A
	// 16-byte entry (12 + 4) is two thirds of one with a 128-bit key and an
	// int; a false duplicate among 1.5M keys has odds of 1 in 10^16.
	seen := map[[12]byte]int32{}
	seeds := [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	if res.keepEmp == nil { // a second pass: the first one counted the dates
		res.dates = &dateCheck{file: file}
	}
	// Keys without an id that repeat: few, by the same hash.
	same := map[[12]byte]*sameKey{}
	_, fromFile := t.(*table)
	defer func() {
		res.Contracts = slices.DeleteFunc(res.Contracts, func(c ContractRow) bool { return c.Key == "" })
	}()
	err = res.rows(m, &res.ContractRows, func(rec []string, line int, raw func() string, emp string) {
		c, e, ok := res.contract(m, rec, emp)
		if !ok {
			res.reject(m, line, raw(), emp, e)
			res.ProtectedContracts[emp] = true
			return
		}
		if line > math.MaxInt32 {
			res.reject(m, line, raw(), emp, rowError{"", "the file has more lines than spendsync reads (2,147,483,647)"})
			res.ProtectedContracts[emp] = true
			return
		}
		id := pairKey(seeds, emp, c.Key)
		row := ContractRow{Contract: c, File: file, Line: line}
		if !fromFile {
			row.Raw = raw()
		}
		if i, dup := seen[id]; dup {
			if i >= 0 && c.ContractID == "" {
				// A key without an id: a row equal to the first is the
				// same contract. Seen through see, the first row is not
				// at hand: it is read back once the file is read.
				g := same[id]
				if g == nil {
					g = &sameKey{first: int(i)}
					if see == nil {
						g.first = res.Contracts[i].Line
					}
					same[id] = g
				}
				if see != nil {
					g.rows = append(g.rows, row)
					return
				}
				if prev := &res.Contracts[i]; prev.Contract == c {
					g.rows = append(g.rows, row)
					res.Merged++
					return
				}
				// A true conflict: every row of the key goes, the merged ones too.
				e := conflict(res.Contracts[i].Contract, c)
				res.Merged -= len(g.rows)
				for _, r := range g.rows {
					if fromFile {
						res.rawLater = append(res.rawLater, len(res.Rejects))
					}
					res.reject(m, r.Line, r.Raw, emp, e)
				}
				delete(same, id)
			}
			e := rowError{"contract_id", "duplicate contract " + show.Text(c.Key) + " for this employee number"}
			switch {
			case c.ContractID == "" && i >= 0 && see == nil:
				e = conflict(res.Contracts[i].Contract, c)
			case c.ContractID == "":
				e = rowError{"", "conflicting rows for contract " + show.Text(c.Key) + " of this employee number"}
			}
			switch {
			case i >= 0 && see != nil:
				res.rawLater = append(res.rawLater, len(res.Rejects))
				res.reject(m, int(i), "", emp, e)
				seen[id] = -1
			case i >= 0:
				prev := res.Contracts[i]
				if fromFile {
					res.rawLater = append(res.rawLater, len(res.Rejects))
				}
				res.reject(m, prev.Line, prev.Raw, emp, e)
				res.Contracts[i].Key = "" // dropped below
				seen[id] = -1
			}
			res.reject(m, line, raw(), emp, e)
			res.ProtectedContracts[emp] = true
			return
		}
		if see != nil {
			// A row see takes is not remembered here: its duplicates are
			// the taker's to find (a map entry per contract was a fifth
			// of a 1M first ingest's memory).
			if !see(row) {
				seen[id] = int32(line)
				res.left++
			}
			return
		}
		seen[id] = int32(len(res.Contracts))
		res.Contracts = append(res.Contracts, row)
	})
	dates := res.dates
	res.dates = nil
	if err == nil {
		err = dates.verdict(res.Source)
	}
	if err != nil || see == nil || len(same) == 0 {
		return err
	}
	return res.sameAsFirst(file, same)
}

// sameKey is a contract key without an id that more than one row of one
// person has: the first row's line and the later rows.
type sameKey struct {
	first int
	rows  []ContractRow
}

// sameAsFirst reads back the first row of each key that repeated while
// the rows went to the filter (which keeps none of them): later rows equal
// to it are merged, and a key whose rows differ rejects them all.
func (res *reader) sameAsFirst(file string, same map[[12]byte]*sameKey) error {
	want := make(map[int]*sameKey, len(same))
	for _, g := range same {
		want[g.first] = g
	}
	return res.reread(file, func(t *table) error {
		m, err := res.bind(t, append([]string{model.KeyField}, contractColumns...), true)
		if err != nil {
			return err
		}
		for len(want) > 0 {
			rec, err := t.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				continue
			}
			if err != nil {
				return atomicfile.Wrap("read", file, err)
			}
			g := want[t.lineNo()]
			if g == nil {
				continue
			}
			delete(want, t.lineNo())
			emp := m.at(rec, m.key)
			first, _, _ := res.contract(m, rec, emp)
			var e rowError
			for _, r := range g.rows {
				if r.Contract != first {
					e = conflict(first, r.Contract)
					break
				}
			}
			if e.reason == "" {
				res.Merged += len(g.rows)
				continue
			}
			res.rawLater = append(res.rawLater, len(res.Rejects))
			res.reject(m, g.first, "", emp, e)
			for _, r := range g.rows {
				res.rawLater = append(res.rawLater, len(res.Rejects))
				res.reject(m, r.Line, "", emp, e)
			}
			res.ProtectedContracts[emp] = true
		}
		return nil
	})
}

// conflict is the reject of rows that share a key without an id but
// differ in a field: which of them holds cannot be told.
func conflict(a, b model.Contract) rowError {
	for i, f := range model.ContractFields {
		if x, y := a.FieldAt(i), b.FieldAt(i); x != y {
			return rowError{f, fmt.Sprintf("conflicting rows for contract %s of this employee number: %s is %s on one and %s on another",
				show.Text(a.Key), f, show.Quote(x), show.Quote(y))}
		}
	}
	return rowError{"", "conflicting rows for contract " + show.Text(a.Key) + " of this employee number"}
}

// DuplicateContract is one contract key an employee number has on more
// than one line of the contracts file, found by the taker of the rows.
type DuplicateContract struct {
	EmployeeNumber, Key string
	Lines               []int
	// Conflict, for a key without a contract id, holds the first row and
	// one that differs from it: rows that are all identical are merged,
	// not reported.
	Conflict *[2]model.Contract
}

// RejectDuplicateContracts rejects every line of each duplicate, as a
// duplicate found while reading is (the raw text read back from the
// file), and returns the new rejects.
func (res *Result) RejectDuplicateContracts(dups []DuplicateContract) ([]Reject, error) {
	return res.rd.rejectDuplicateContracts(dups)
}

func (res *reader) rejectDuplicateContracts(dups []DuplicateContract) ([]Reject, error) {
	if len(dups) == 0 {
		return nil, nil
	}
	first := len(res.Rejects)
	file := res.Source.Contracts
	for _, d := range dups {
		reason, column := "duplicate contract "+show.Text(d.Key)+" for this employee number", res.contractIDColumn
		if d.Conflict != nil {
			e := conflict(d.Conflict[0], d.Conflict[1])
			reason, column = e.reason, res.contractHeaders[e.field]
		}
		for _, line := range d.Lines {
			res.rawLater = append(res.rawLater, len(res.Rejects))
			res.Rejects = append(res.Rejects, Reject{File: file, Line: line, Column: column, Reason: reason, EmployeeNumber: d.EmployeeNumber})
		}
		res.ProtectedContracts[d.EmployeeNumber] = true
	}
	res.held = nil // HeldBy sees the new rejects
	if err := res.fillRaw(file); err != nil {
		return nil, err
	}
	return res.Rejects[first:], nil
}

// pairKey hashes an employee number and a contract key with two random
// seeds into 96 bits (64 of one, 32 of the other): two different pairs
// share a key with odds of 2^-96.
func pairKey(seeds [2]maphash.Seed, emp, key string) [12]byte {
	var out [12]byte
	b := out[:0]
	for i, seed := range seeds {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(emp)
		h.WriteByte(0)
		h.WriteString(key)
		if i == 0 {
			b = binary.LittleEndian.AppendUint64(b, h.Sum64())
		} else {
			b = binary.LittleEndian.AppendUint32(b, uint32(h.Sum64()))
		}
	}
	return out
}

// contract builds and validates the contract in rec.
func (res *reader) contract(m *columnMap, rec []string, emp string) (model.Contract, rowError, bool) {
	c := model.Contract{EmployeeNumber: emp}
	for i, col := range m.contract {
		c.SetFieldAt(i, m.at(rec, col))
	}
	isContract := func(f string) bool { return f == model.KeyField || slices.Contains(contractColumns, f) }
	if e, ok := res.fillRow(isContract, c.Field, c.SetField); !ok {
		return c, e, false
	}
	// Both dates are read even when the first is bad, so each is counted
	// for the date_format check (dateCheck).
	var bad rowError
	for _, d := range []struct {
		field string
		v     *string
	}{{"start_date", &c.StartDate}, {"end_date", &c.EndDate}} {
		if *d.v != "" {
			iso, err := ParseDate(*d.v, res.Source.DateFormat)
			res.dates.see(*d.v, err == nil)
			if err != nil {
				if bad.reason == "" {
					bad = rowError{d.field, err.Error()}
				}
				continue
			}
			*d.v = iso
		}
	}
	if bad.reason != "" {
		return c, bad, false
	}
	if c.StartDate != "" && c.EndDate != "" && c.EndDate < c.StartDate {
		return c, rowError{"end_date", fmt.Sprintf("end date %s is before start date %s", c.EndDate, c.StartDate)}, false
	}
	c.Key = c.ContractID
	if c.Key == "" {
		c.Key = c.StartDate + "|" + c.OUCode + "|" + c.FunctionCode
	}
	return c, rowError{}, true
}

// dateLayouts are the common layouts a file's failing dates are tried
// against (those ParseDate accepts whatever the layout, ISO dates and
// timestamps, never fail). Day-first and month-first pairs are both
// listed: a file whose days are all 12 or less fits both.
var dateLayouts = []string{"02-01-2006", "01-02-2006", "20060102", "02/01/2006", "01/02/2006", "02.01.2006"}

// dateCheck counts the dates of one file against date_format and keeps,
// for the ones that fail, the common layouts that still fit every one of
// them: a failing value is tried only against those, so a file of bad
// dates costs a parse or two per value and a good file nothing.
type dateCheck struct {
	file          string
	total, failed int
	fits          []string // nil until the first failure
	example       string   // the first failing value
}

func (d *dateCheck) see(v string, ok bool) {
	if d == nil {
		return
	}
	d.total++
	if ok {
		return
	}
	if d.failed == 0 {
		d.example = v
		d.fits = slices.Clone(dateLayouts)
	}
	d.failed++
	d.fits = slices.DeleteFunc(d.fits, func(l string) bool { _, err := time.Parse(l, v); return err != nil })
}

// verdict is the config error of a file whose dates mostly fail
// date_format while one common layout fits all that fail: hundreds of
// rejects one by one would hide it (and persons would join without
// their contracts). Nil otherwise: a few bad dates stay rejects.
func (d *dateCheck) verdict(src *Source) error {
	if d == nil || d.failed == 0 || d.failed*2 <= d.total || len(d.fits) == 0 {
		return nil
	}
	key := "date_format"
	if src.Key != "" {
		key = src.Key + "." + key
	}
	what := fmt.Sprintf("%d of the %d dates in %s (first %s) do not match %q", d.failed, d.total, show.Text(d.file), show.Quote(d.example), src.DateFormat)
	if len(d.fits) == 1 {
		return &fault.KeyError{Key: key, Err: fmt.Errorf("%s; they all fit %q: set %s: %q", what, d.fits[0], key, d.fits[0])}
	}
	quoted := make([]string, len(d.fits))
	for i, l := range d.fits {
		quoted[i] = fmt.Sprintf("%q", l)
	}
	return &fault.KeyError{Key: key, Err: fmt.Errorf("%s; they all fit %s: every day and month in them is 12 or less, so the data cannot tell day-first from month-first apart; set %s to the one the HR system writes",
		what, strings.Join(quoted, " and "), key)}
}

// ParseDate reads a date in layout, or in an unambiguous ISO form (some
// exports switch to ISO timestamps), and returns it as YYYY-MM-DD.
func ParseDate(v, layout string) (string, error) {
	for _, l := range []string{layout, model.DateLayout, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.Format(model.DateLayout), nil
		}
	}
	return "", fmt.Errorf("date %s does not match %q", show.Quote(v), layout)
}

// checkEmail rejects a malformed address; an address outside the verified
// domains is rejected or returned as a warning, per rules.
func checkEmail(email string, rules Rules) (rowError, bool) {
	if email == "" {
		return rowError{}, true
	}
	a, err := mail.ParseAddress(email)
	at := strings.LastIndexByte(email, '@')
	if err != nil || a.Address != email || a.Name != "" || at < 1 || !strings.Contains(email[at:], ".") {
		return rowError{"email", fmt.Sprintf("malformed email %s", show.Quote(email))}, false
	}
	if len(rules.VerifiedDomains) == 0 {
		return rowError{}, true
	}
	domain := strings.ToLower(email[at+1:])
	for _, d := range rules.VerifiedDomains {
		if strings.EqualFold(d, domain) {
			return rowError{}, true
		}
	}
	e := rowError{"email", fmt.Sprintf("email domain %s is not in rules.verified_domains", show.Quote(domain))}
	return e, !rules.RejectUnverified
}

// convention maps a source naming code to B, BP, P or PB. Empty is B.
func convention(v string, naming map[string]string) (string, bool) {
	if v == "" {
		return "B", true
	}
	if mapped, ok := naming[v]; ok {
		return strings.ToUpper(mapped), true
	}
	up := strings.ToUpper(v)
	if slices.Contains(conventions, up) {
		return up, true
	}
	return "B", false
}

func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "y", "ja", "j", "x":
		return true
	}
	return false
}
