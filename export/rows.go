package export

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Row is one exported line: a value per field of its kind's field list,
// PersonFields for a person row and RoleFields for a role row, both
// derived from the model's field tables. A slice indexed by position
// instead of a map by name: a large dump holds no per-row hash tables.
type Row []string

// PersonRows is one person's part of a dump: its persons.csv row and its
// roles.csv rows, sorted as roles.csv lists them.
type PersonRows struct {
	Person Row
	Roles  []Row
}

var (
	personAt = positions(PersonFields)
	roleAt   = positions(RoleFields)
	keyAt    = personAt["employee_number"] // the key is first in both lists
)

func positions(fields []string) map[string]int {
	out := make(map[string]int, len(fields))
	for i, f := range fields {
		out[f] = i
	}
	return out
}

// PersonRow makes a person row from values by canonical field name (the
// HelloID import and tests); unknown names are ignored, missing ones empty.
func PersonRow(byName map[string]string) Row { return rowOf(byName, PersonFields) }

// RoleRow makes a role row from values by canonical field name.
func RoleRow(byName map[string]string) Row { return rowOf(byName, RoleFields) }

func rowOf(byName map[string]string, fields []string) Row {
	r := make(Row, len(fields))
	for i, f := range fields {
		r[i] = byName[f]
	}
	return r
}

// Get returns a person row's field by canonical name ("" if unknown).
func (r Row) Get(field string) string {
	if i, ok := personAt[field]; ok && i < len(r) {
		return r[i]
	}
	return ""
}

// columnsAt are the positions of the configured columns' fields in a row
// of the given field list (the config has checked the names).
func columnsAt(cols []Column, at map[string]int) []int {
	out := make([]int, len(cols))
	for i, c := range cols {
		out[i] = at[c.Field]
	}
	return out
}

// Stored rows are key:"quoted value" pairs, sorted by key: several times
// cheaper to write and read than JSON objects, and exact for any text
// (strconv quoting). Rows stored as JSON objects by earlier versions are
// still read. The stored text names its fields, so a field added to the
// model reads as empty in rows stored before it.

var (
	personSorted = sortedOrder(PersonFields)
	roleSorted   = sortedOrder(RoleFields)
)

func sortedOrder(fields []string) []int {
	idx := make([]int, len(fields))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(fields[a], fields[b]) })
	return idx
}

// EncodePerson and EncodeRole are a row as the store keeps it.
func EncodePerson(r Row) string { return string(AppendPerson(nil, r)) }

// EncodeRole is a role row as the store keeps it.
func EncodeRole(r Row) string { return string(AppendRole(nil, r)) }

// AppendPerson appends EncodePerson(r) to b.
func AppendPerson(b []byte, r Row) []byte { return appendRow(b, r, PersonFields, personSorted) }

// AppendRole appends EncodeRole(r) to b.
func AppendRole(b []byte, r Row) []byte { return appendRow(b, r, RoleFields, roleSorted) }

func appendRow(b []byte, r Row, fields []string, order []int) []byte {
	for n, i := range order {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, fields[i]...)
		b = append(b, ':')
		b = appendQuoted(b, r[i])
	}
	return b
}

// appendQuoted is strconv.AppendQuote, without its rune-by-rune walk for
// the common value: printable ASCII without a quote or backslash, which
// quotes as itself (most of an export's stored rows).
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// unquotePrefix reads the quoted value at the start of s, as
// strconv.QuotedPrefix and strconv.Unquote do, and returns it and the rest
// of s. A value without escapes is a substring of s, not a copy.
func unquotePrefix(s string) (v, rest string, err error) {
	if len(s) > 0 && s[0] == '"' {
		if j := strings.IndexByte(s[1:], '"'); j >= 0 {
			v := s[1 : 1+j]
			if strings.IndexByte(v, '\\') < 0 && strings.IndexByte(v, '\n') < 0 && utf8.ValidString(v) {
				return v, s[2+j:], nil
			}
		}
	}
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", err
	}
	if v, err = strconv.Unquote(q); err != nil {
		return "", "", err
	}
	return v, s[len(q):], nil
}

// DecodePerson and DecodeRole read a stored row.
func DecodePerson(s string) (Row, error) {
	return decodeRow(nil, s, personAt, PersonFields, personSorted)
}

// DecodePersonInto is DecodePerson into dst's array when it is large
// enough, and DecodeRoleInto DecodeRole: the values are substrings of s.
func DecodePersonInto(dst Row, s string) (Row, error) {
	return decodeRow(dst, s, personAt, PersonFields, personSorted)
}

func DecodeRoleInto(dst Row, s string) (Row, error) {
	return decodeRow(dst, s, roleAt, RoleFields, roleSorted)
}

// DecodeRole reads a stored role row.
func DecodeRole(s string) (Row, error) { return decodeRow(nil, s, roleAt, RoleFields, roleSorted) }

// decodeRow reads a row that appendRow wrote (fields in order) or an
// earlier version did: each key is first taken to be the one appendRow
// writes next, and looked up by name only when it is not.
func decodeRow(dst Row, s string, at map[string]int, fields []string, order []int) (Row, error) {
	r := dst[:0]
	if cap(r) < len(fields) {
		r = make(Row, len(fields))
	}
	r = r[:len(fields)]
	clear(r)
	if strings.HasPrefix(s, "{") {
		var m map[string]string
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("stored row: %w", err)
		}
		for k, v := range m {
			if i, ok := at[k]; ok {
				r[i] = v
			}
		}
		return r, nil
	}
	for n := 0; s != ""; n++ {
		k, rest, ok := strings.Cut(s, ":")
		if !ok {
			return nil, fmt.Errorf("stored row: no value for %q", k)
		}
		v, rest, err := unquotePrefix(rest)
		if err != nil {
			return nil, fmt.Errorf("stored row: %w", err)
		}
		if n < len(order) && fields[order[n]] == k {
			r[order[n]] = v
		} else if i, ok := at[k]; ok {
			r[i] = v
		}
		s = strings.TrimPrefix(rest, ",")
	}
	return r, nil
}

// hashLen is how many bytes of SHA-256 a stored hash keeps: 128 bits,
// far beyond any chance collision.
const hashLen = 16

// Hash is a digest of a person's rows (person row, then its roles in
// order): equal digests mean equal rows, so a person whose rows did not
// change is recognised without reading its stored rows back.
func Hash(p *PersonRows) []byte {
	sum := sha256.Sum256(appendRows(nil, p))
	return sum[:hashLen]
}

// appendRows appends what Hash digests: the number of fields of each kind
// and of roles, then every field as its length and bytes, so no two
// different sets of rows give the same bytes.
func appendRows(b []byte, p *PersonRows) []byte {
	b = binary.AppendUvarint(b, uint64(len(p.Person)))
	b = binary.AppendUvarint(b, uint64(len(RoleFields)))
	b = binary.AppendUvarint(b, uint64(len(p.Roles)))
	b = appendFields(b, p.Person)
	for _, r := range p.Roles {
		b = appendFields(b, r)
	}
	return b
}

func appendFields(b []byte, r Row) []byte {
	for _, f := range r {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// Email is a person row's email.
func Email(r Row) string { return r[personAt["email"]] }
