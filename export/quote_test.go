package export

import (
	"strconv"
	"testing"
)

func TestStoredValuesQuoteAndReadAsStrconvDoes(t *testing.T) {
	for _, s := range []string{"", "plain", "with space", `quo"te`, `back\slash`, "tab\there", "new\nline",
		"\x00\x1f\x7f", "é ø ĳ", "😀", "bad \xff utf8", "~!@#$%^&*()_+`-={}[]|:;'<>,.?/", "'=1+1"} {
		want := strconv.AppendQuote([]byte("x:"), s)
		got := appendQuoted([]byte("x:"), s)
		if string(got) != string(want) {
			t.Errorf("appendQuoted(%q) = %s, strconv says %s", s, got, want)
		}
		v, rest, err := unquotePrefix(string(want[2:]) + `,next:""`)
		if err != nil || v != s || rest != `,next:""` {
			t.Errorf("unquotePrefix(%s) = %q, %q, %v", want[2:], v, rest, err)
		}
	}
	// Raw text strconv.Unquote refuses is refused here too.
	for _, bad := range []string{"\"new\nline\"", `"unterminated`, `x"`, `"bad \x"`} {
		if _, _, err := unquotePrefix(bad); err == nil {
			t.Errorf("unquotePrefix(%q) accepted", bad)
		}
	}
}
