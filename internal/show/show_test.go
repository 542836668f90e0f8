package show_test

import (
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/show"
)

func TestTextEscapesControlCharactersAndBoundsLength(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Jansen", "Jansen"},
		{"accents and 4-byte", "Müller 😀", "Müller 😀"},
		{"NUL", "a\x00b", `a\x00b`},
		{"newline and tab", "a\nb\tc", `a\nb\tc`},
		{"bell and DEL", "\a\x7f", `\a\x7f`},
		{"zero-width space", "a\u200bb", `a\u200bb`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"quotes stay in Text", `"x"`, `"x"`},
		{"exactly Max", strings.Repeat("x", show.Max), strings.Repeat("x", show.Max)},
		{"one over Max", strings.Repeat("x", show.Max+1), strings.Repeat("x", show.Max) + "… (1 more characters)"},
		{"counts characters, not bytes", strings.Repeat("é", show.Max+3), strings.Repeat("é", show.Max) + "… (3 more characters)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := show.Text(tc.in); got != tc.want {
				t.Fatalf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestQuoteIsBoundedAndEscapesQuotes(t *testing.T) {
	if got := show.Quote(`a"b\c` + "\x00"); got != `"a\"b\\c\x00"` {
		t.Fatalf("got %s", got)
	}
	got := show.Quote(strings.Repeat("x", 50<<20))
	if len(got) > show.Max+60 || !strings.HasSuffix(got, "… (52428600 more characters)") {
		t.Fatalf("a 50 MB value gave %d bytes: %.300s", len(got), got)
	}
}

func TestListCutsAfterMaxAndCountsTheRest(t *testing.T) {
	if got := show.List([]string{"a", "b\x00"}); got != `a, b\x00` {
		t.Fatalf("got %q", got)
	}
	cols := make([]string, 1_000_000)
	for i := range cols {
		cols[i] = "Kolom"
	}
	got := show.List(cols)
	if len(got) > show.Max+40 || !strings.HasSuffix(got, " more)") || !strings.HasPrefix(got, "Kolom, Kolom") {
		t.Fatalf("a 1M-column header gave %d bytes: %.300s", len(got), got)
	}
	if got := show.List([]string{strings.Repeat("y", 10_000), "z"}); !strings.HasSuffix(got, "… (9800 more characters)… (1 more)") {
		t.Fatalf("a huge first value: %.300s", got[len(got)-60:])
	}
}

func TestRawKeepsFirst4KiBAndTheLength(t *testing.T) {
	short := "000113;A;\x00;B"
	if show.Raw(short) != short {
		t.Fatal("a short row was changed")
	}
	long := "x" + strings.Repeat("ä", 3000) // 6001 bytes; byte 4096 is the middle of an ä
	got := show.Raw(long)
	if !strings.HasSuffix(got, "… (6001 bytes in all)") || len(got) > show.MaxRaw+40 {
		t.Fatalf("got %d bytes ending %q", len(got), got[len(got)-40:])
	}
	head := strings.TrimSuffix(got, "… (6001 bytes in all)")
	if len(head) != show.MaxRaw-1 || !strings.HasPrefix(long, head) {
		t.Fatalf("head is %d bytes; want the first %d (cut on a character boundary)", len(head), show.MaxRaw-1)
	}
}
