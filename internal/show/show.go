// Package show renders untrusted text (file contents, config values, server
// answers) for messages and reject reasons: control characters escaped and
// the length bounded, so a 50 MB header line or a NUL byte in a file cannot
// flood a log or break a terminal.
package show

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Max is how many characters of one value a message shows.
const Max = 200

// MaxRaw is how many bytes of a rejected row's raw text are stored.
const MaxRaw = 4096

// Text returns s with control and invisible characters escaped (\x00,
// \n, \u200b) and cut after Max characters, followed by how many were
// left out.
func Text(s string) string {
	head, rest := cut(s, Max)
	out := escape(head, false)
	if rest != "" {
		out += fmt.Sprintf("… (%d more characters)", utf8.RuneCountInString(rest))
	}
	return out
}

// Quote is Text in double quotes, for a value inside a sentence; quotes
// and backslashes in s are escaped as in Go.
func Quote(s string) string {
	head, rest := cut(s, Max)
	out := `"` + escape(head, true) + `"`
	if rest != "" {
		out += fmt.Sprintf("… (%d more characters)", utf8.RuneCountInString(rest))
	}
	return out
}

// Line escapes control and invisible characters in a whole message, as
// Text does, without cutting it: the last guard before a message reaches a
// terminal or a log, so no value inside it (a config value with \x1b or a
// newline, however it got there) can colour the screen or forge a line.
func Line(s string) string { return escape(s, false) }

// List joins values with ", " like strings.Join, showing at most Max
// characters in all and then how many values were left out.
func List(values []string) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(v) > Max {
			if i == 0 {
				b.WriteString(Text(v))
				i++
			}
			if left := len(values) - i; left > 0 {
				fmt.Fprintf(&b, "… (%d more)", left)
			}
			return b.String()
		}
		b.WriteString(escape(v, false))
	}
	return b.String()
}

// Raw bounds the raw text of a rejected row for storage: the first MaxRaw
// bytes (cut on a character boundary) and, when cut, the full length.
// Control characters are kept: the stored row is evidence, not a message.
func Raw(s string) string {
	if len(s) <= MaxRaw {
		return s
	}
	n := MaxRaw
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("… (%d bytes in all)", len(s))
}

// cut splits s after max characters.
func cut(s string, max int) (head, rest string) {
	if len(s) <= max {
		return s, ""
	}
	i := 0
	for n := range s {
		if i == max {
			return s[:n], s[n:]
		}
		i++
	}
	return s, ""
}

// escape writes non-printable characters as Go escapes; quoted also
// escapes '"' and '\'.
func escape(s string, quoted bool) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) || (quoted && (r == '"' || r == '\\')) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case quoted && (r == '"' || r == '\\'):
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x00', '\n', '\u200b'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}
