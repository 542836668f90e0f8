package connector

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spendsync/spendsync/connector/pull"
	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

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
		if err != nil {
			// Inside the nil check: the targets As fills escape, and were
			// two allocations for every row.
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
		if res.rechecks != nil && res.rechecks(emp) && !res.recheck(m, rec) {
			continue // a second pass: the first one rejected this row
		}
		if res.unchanged != nil && len(rec) == len(m.t.head()) && res.unchanged(rec, line, emp) {
			continue // as the source supplied it last time: nothing to check
		}
		if res.unchecked != nil && emp != "" && validText(emp) == emp && len(rec) == len(m.t.head()) && res.unchecked(rec, emp) {
			continue // summed as read: checked by the second pass if its person's rows changed
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
