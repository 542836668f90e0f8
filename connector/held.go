package connector

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A rejected or unreadable row may belong to anyone, but not to everyone:
// it holds back only the removal of a person whose employee number appears
// in the row's raw text. One half-typed row must never keep every leaver's
// access alive.

// HeldBy returns the first rejected row whose raw text names emp as a whole
// token (not as part of a longer number: "123" is not in "00123"), so the
// removal of emp waits for that row to be fixed.
func (res *Result) HeldBy(emp string) (Reject, bool) {
	if emp == "" {
		return Reject{}, false
	}
	if res.held == nil {
		res.indexHeld()
	}
	if isToken(emp) {
		i, ok := res.held[emp]
		if !ok {
			return Reject{}, false
		}
		return res.Rejects[i], true
	}
	// An employee number with punctuation in it: search each raw row.
	for _, r := range res.Rejects {
		if containsToken(r.Raw, emp) || r.EmployeeNumber == emp {
			return r, true
		}
	}
	return Reject{}, false
}

// indexHeld maps every alphanumeric token of every rejected row (and every
// reject's own employee number) to the first such reject.
func (res *Result) indexHeld() {
	res.held = map[string]int{}
	for i, r := range res.Rejects {
		if _, ok := res.held[r.EmployeeNumber]; r.EmployeeNumber != "" && !ok {
			res.held[r.EmployeeNumber] = i
		}
		for _, tok := range strings.FieldsFunc(r.Raw, notAlnum) {
			if _, ok := res.held[tok]; !ok {
				res.held[tok] = i
			}
		}
	}
}

func notAlnum(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

func isToken(s string) bool { return !strings.ContainsFunc(s, notAlnum) }

// containsToken reports whether s holds tok with no letter or digit
// directly before or after it.
func containsToken(s, tok string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], tok)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(tok)
		prev, _ := utf8.DecodeLastRuneInString(s[:start])
		next, _ := utf8.DecodeRuneInString(s[end:])
		before := start == 0 || notAlnum(prev)
		after := end == len(s) || notAlnum(next)
		if before && after {
			return true
		}
		off = start + 1
	}
}
