package connector_test

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/unicode"

	"github.com/spendsync/spendsync/connector"
)

func utf16(t *testing.T, order unicode.Endianness, text string) []byte {
	t.Helper()
	b, err := unicode.UTF16(order, unicode.IgnoreBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUTF16WithoutBOMIsReadInTheByteOrderItsNULsShow(t *testing.T) {
	text := "employee_number;last_name\n001;Bruïne-Ørsted\n"
	for name, order := range map[string]unicode.Endianness{"big endian": unicode.BigEndian, "little endian": unicode.LittleEndian} {
		t.Run(name, func(t *testing.T) {
			res := load(t, connector.Source{Encoding: "utf-16"}, utf16(t, order, text), nil)
			if p := res.Persons["001"]; p == nil || p.LastName != "Bruïne-Ørsted" {
				t.Fatalf("got %+v (rejects %+v)", p, res.Rejects)
			}
		})
	}
}

func TestMessagesEscapeNULAndControlCharacters(t *testing.T) {
	// UTF-16 declared as UTF-8: the header is full of NUL bytes.
	data := utf16(t, unicode.BigEndian, "Nummer;\x07Naam\n001;Jansen\n")
	_, err := tryLoad(t, connector.Source{Columns: map[string]string{"employee_number": "Medewerker"}}, data, nil)
	if err == nil {
		t.Fatal("loaded")
	}
	msg := err.Error()
	for _, c := range msg {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("the message holds control character U+%04X: %q", c, msg)
		}
	}
	if !strings.Contains(msg, `\x00N\x00u`) || !strings.Contains(msg, `\a`) || !strings.Contains(msg, "UTF-16") {
		t.Fatalf("message %q does not show the escaped header and the UTF-16 hint", msg)
	}
}

func TestMissingColumnMessageIsBoundedWhateverTheHeader(t *testing.T) {
	cases := map[string]string{
		"a 5 MB header line":   strings.Repeat("Lang", 5<<20/4) + ";Naam\n1;x\n",
		"a 200k-column header": strings.Repeat("Kolom;", 200_000) + "x\n1\n",
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := tryLoad(t, connector.Source{Columns: map[string]string{"employee_number": "Medewerker"}}, []byte(header), nil)
			if err == nil || !strings.Contains(err.Error(), `no column "Medewerker"`) {
				t.Fatalf("err = %.300v", err)
			}
			if n := len(err.Error()); n > 1000 {
				t.Fatalf("the message is %d bytes", n)
			}
			if !strings.Contains(err.Error(), "more") {
				t.Fatalf("the message does not say what was left out: %v", err)
			}
		})
	}
}

func TestRejectReasonsAreBounded(t *testing.T) {
	long := strings.Repeat("x", 4000)
	res := load(t, connector.Source{}, []byte("employee_number;first_name;last_name;email\n001;A;B;"+long+"\n"), nil)
	if len(res.Rejects) != 1 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	if r := res.Rejects[0].Reason; len(r) > 300 || !strings.Contains(r, "malformed email") || !strings.Contains(r, "(3800 more characters)") {
		t.Fatalf("reason is %d bytes: %.300s", len(r), r)
	}
}

// encoding/csv folds a CR LF inside a quoted field to LF; SPEC promises
// any text is stored verbatim, so the reader puts the CR back, and only
// there: line ends, blank lines and lone CRs stay as they were.
func TestCRLFInsideAQuotedFieldIsKeptVerbatim(t *testing.T) {
	cases := []struct{ name, data, first, last string }{
		{"CRLF file", "employee_number;first_name;last_name\r\n001;\"Jan\r\nPiet\";\"de \"\"Boer\"\"\r\nJr\"\r\n", "Jan\r\nPiet", "de \"Boer\"\r\nJr"},
		{"LF file", "employee_number;first_name;last_name\n001;\"Jan\r\nPiet\";Boer\n", "Jan\r\nPiet", "Boer"},
		{"LF inside stays LF", "employee_number;first_name;last_name\r\n001;\"Jan\nPiet\";Boer\r\n", "Jan\nPiet", "Boer"},
		{"mixed inside", "employee_number;first_name;last_name\n001;\"a\r\nb\nc\r\r\nd\";Boer\n", "a\r\nb\nc\r\r\nd", "Boer"},
		{"after blank lines", "employee_number;first_name;last_name\r\n\r\n\r\n001;\"Jan\r\nPiet\";Boer\r\n", "Jan\r\nPiet", "Boer"},
		{"lone CR inside", "employee_number;first_name;last_name\n001;\"Jan\rPiet\";Boer\n", "Jan\rPiet", "Boer"},
		{"plain CRLF rows", "employee_number;first_name;last_name\r\n001;Jan;Boer\r\n", "Jan", "Boer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := load(t, connector.Source{}, []byte(tc.data), nil)
			p := res.Persons["001"]
			if p == nil {
				t.Fatalf("no person; rejects %+v", res.Rejects)
			}
			if p.FirstName != tc.first || p.LastName != tc.last {
				t.Fatalf("stored %q %q, want %q %q", p.FirstName, p.LastName, tc.first, tc.last)
			}
		})
	}
}

func TestAFileWithoutLineEndsIsRefusedWithoutHoldingItWhole(t *testing.T) {
	data := append([]byte("employee_number;last_name\n"), make([]byte, 80<<20)...)
	_, err := tryLoad(t, connector.Source{}, data, nil)
	if err == nil || !strings.Contains(err.Error(), "no row ends within 64 MiB") || !strings.Contains(err.Error(), "persons.csv") {
		t.Fatalf("err = %.300v", err)
	}
}
