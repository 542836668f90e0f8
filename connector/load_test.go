package connector_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/fault"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// load writes persons (and contracts, when not empty) and loads them with
// canonical column names as headers.
func load(t *testing.T, src connector.Source, persons, contracts []byte) *connector.Result {
	t.Helper()
	res, err := tryLoad(t, src, persons, contracts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return res
}

func tryLoad(t *testing.T, src connector.Source, persons, contracts []byte) (*connector.Result, error) {
	t.Helper()
	dir := t.TempDir()
	if src.Name == "" {
		src.Name = "hr"
	}
	src.Persons = writeFile(t, dir, "persons.csv", persons)
	if contracts != nil {
		src.Contracts = writeFile(t, dir, "contracts.csv", contracts)
	}
	if err := src.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return connector.Load(context.Background(), &src, connector.Rules{}, nil, nil)
}

func TestEveryEncodingDecodesTheSameName(t *testing.T) {
	text := "employee_number;last_name\n001;Bruïne-Ørsted\n"
	mustEnc := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name, encoding string
		data           []byte
	}{
		{"utf-8 without BOM", "utf-8", []byte(text)},
		{"utf-8 with BOM", "utf-8", append([]byte("\xef\xbb\xbf"), text...)},
		{"utf-8 is the default", "", []byte(text)},
		{"windows-1252", "windows-1252", mustEnc(charmap.Windows1252.NewEncoder().Bytes([]byte(text)))},
		{"iso-8859-1", "iso-8859-1", mustEnc(charmap.ISO8859_1.NewEncoder().Bytes([]byte(text)))},
		{"utf-16 little endian with BOM", "utf-16", mustEnc(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text)))},
		{"utf-16 big endian with BOM", "utf-16", mustEnc(unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text)))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := load(t, connector.Source{Encoding: tc.encoding}, tc.data, nil)
			p := res.Persons["001"]
			if p == nil || p.LastName != "Bruïne-Ørsted" {
				t.Fatalf("got %+v, want last name Bruïne-Ørsted (rejects %+v)", p, res.Rejects)
			}
		})
	}
}

func TestDelimiterIsSniffedOrTaken(t *testing.T) {
	cases := []struct{ name, delimiter, data string }{
		{"semicolon", "", "employee_number;first_name;last_name\n001;Jan;Boele, de\n"},
		{"comma", "", "employee_number,first_name,last_name\n001,Jan,\"Boele, de\"\n"},
		{"tab", "", "employee_number\tfirst_name\tlast_name\n001\tJan\tBoele, de\n"},
		{"pipe", "", "employee_number|first_name|last_name\n001|Jan|Boele, de\n"},
		{"quoted header with delimiters inside", "", "\"employee_number\";\"first_name\";\"last_name\"\n001;Jan;Boele, de\n"},
		{"configured beats sniffing", "|", "employee_number|first_name|last_name\n001|Jan|Boele, de\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := load(t, connector.Source{Delimiter: tc.delimiter}, []byte(tc.data), nil)
			p := res.Persons["001"]
			if p == nil || p.FirstName != "Jan" || p.LastName != "Boele, de" {
				t.Fatalf("got %+v (rejects %+v)", p, res.Rejects)
			}
		})
	}
}

func TestQuotedFieldsKeepDelimitersQuotesAndNewlines(t *testing.T) {
	data := "employee_number;first_name;last_name\n" +
		"001;\"Jan; Piet\";\"O\"\"Brien\"\n" +
		"002;\"two\nlines\";Smit\n" +
		"003;Els;Horst\n"
	res := load(t, connector.Source{}, []byte(data), nil)
	cases := []struct {
		emp, first, last string
		line             int
	}{
		{"001", "Jan; Piet", "O\"Brien", 2},
		{"002", "two\nlines", "Smit", 3},
		{"003", "Els", "Horst", 5},
	}
	for _, tc := range cases {
		p := res.Persons[tc.emp]
		if p == nil || p.FirstName != tc.first || p.LastName != tc.last || p.Line != tc.line {
			t.Errorf("%s: got %+v, want %q %q on line %d", tc.emp, p, tc.first, tc.last, tc.line)
		}
	}
}

func TestHeadersMatchIgnoringCaseAndSpaces(t *testing.T) {
	data := " MEDEWERKER ;roepnaam;  GeboorteNaam\n007;Jan;Boele\n"
	res := load(t, connector.Source{Profile: "afas"}, []byte(data), nil)
	if p := res.Persons["007"]; p == nil || p.FirstName != "Jan" || p.LastName != "Boele" {
		t.Fatalf("got %+v", p)
	}
}

func TestLeadingZerosAreKept(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name\n000123;A\n123;B\n"), nil)
	if len(res.Persons) != 2 || res.Persons["000123"] == nil || res.Persons["123"] == nil {
		t.Fatalf("got %v", res.Persons)
	}
}

func TestLoneCarriageReturnLineEndings(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name\r001;A\r002;B\r"), nil)
	if len(res.Persons) != 2 || res.Persons["002"].LastName != "B" {
		t.Fatalf("got %v rejects %v", res.Persons, res.Rejects)
	}
}

func TestDateFormats(t *testing.T) {
	cases := []struct{ layout, value, want, err string }{
		{"2006-01-02", "2024-03-01", "2024-03-01", ""},
		{"02-01-2006", "01-03-2024", "2024-03-01", ""},
		{"02-01-2006", "2024-03-01", "2024-03-01", ""}, // ISO is always accepted
		{"02-01-2006", "2024-03-01T00:00:00Z", "2024-03-01", ""},
		{"2-1-2006", "1-3-2024", "2024-03-01", ""},
		{"01/02/2006", "03/01/2024", "2024-03-01", ""},
		{"02-01-2006", "31-02-2024", "", "does not match"},
		{"02-01-2006", "morgen", "", "does not match"},
		{"2006-01-02", "2024-13-01", "", "does not match"},
	}
	for _, tc := range cases {
		got, err := connector.ParseDate(tc.value, tc.layout)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseDate(%q, %q) = %q, %v; want error %q", tc.value, tc.layout, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q, %q) = %q, %v; want %q", tc.value, tc.layout, got, err, tc.want)
		}
	}
}

func TestRowValidation(t *testing.T) {
	header := "employee_number;last_name;email;naming_convention;start_date;end_date\n"
	cases := []struct {
		name, row      string
		rules          connector.Rules
		column, reason string // empty reason: accepted
		warning        string
	}{
		{"valid row", "001;A;a@example.nl;B;2024-01-01;", connector.Rules{}, "", "", ""},
		{"missing employee number", ";A;a@example.nl;B;2024-01-01;", connector.Rules{}, "employee_number", "missing employee number", ""},
		{"unparseable start date", "001;A;;B;1 maart;", connector.Rules{}, "start_date", "does not match", ""},
		{"unparseable end date", "001;A;;B;2024-01-01;gisteren", connector.Rules{}, "end_date", "does not match", ""},
		{"end before start", "001;A;;B;2024-02-01;2024-01-31", connector.Rules{}, "end_date", "before start date", ""},
		{"end on start day is fine", "001;A;;B;2024-02-01;2024-02-01", connector.Rules{}, "", "", ""},
		{"malformed email", "001;A;not-an-email;B;;", connector.Rules{}, "email", "malformed email", ""},
		{"email with display name", "001;A;Jan <a@example.nl>;B;;", connector.Rules{}, "email", "malformed email", ""},
		{"email without dot in domain", "001;A;a@localhost;B;;", connector.Rules{}, "email", "malformed email", ""},
		{"unknown naming convention warns", "001;A;;Q;;", connector.Rules{}, "", "", "unknown naming convention \"Q\""},
		{"lowercase convention accepted", "001;A;;pb;;", connector.Rules{}, "", "", ""},
		{"unverified domain warns", "001;A;a@other.nl;B;;", connector.Rules{VerifiedDomains: []string{"example.nl"}}, "", "", "not in rules.verified_domains"},
		{"unverified domain rejected", "001;A;a@other.nl;B;;", connector.Rules{VerifiedDomains: []string{"example.nl"}, RejectUnverified: true}, "email", "not in rules.verified_domains", ""},
		{"verified domain ignores case", "001;A;a@Example.NL;B;;", connector.Rules{VerifiedDomains: []string{"example.nl"}, RejectUnverified: true}, "", "", ""},
		{"too many fields", "001;A;;B;;;extra", connector.Rules{}, "", "row has 7 fields, the header has 6", ""},
		{"too few fields", "001;A", connector.Rules{}, "", "row has 2 fields, the header has 6", ""},
		{"NUL byte", "001;A\x00B;;B;;", connector.Rules{}, "last_name", "control character U+0000", ""},
		{"invalid UTF-8", "001;A\xff;;B;;", connector.Rules{}, "last_name", "not valid in the declared encoding", ""},
		{"a windows-1252 é suggests that encoding", "001;Andr\xe9;;B;;", connector.Rules{}, "last_name", "looks like windows-1252: set encoding: windows-1252", ""},
		{"DEL character", "001;A\x7f;;B;;", connector.Rules{}, "last_name", "control character U+007F", ""},
		{"oversize field", "001;" + strings.Repeat("x", connector.MaxField+1) + ";;B;;", connector.Rules{}, "last_name", "longer than 4096", ""},
		{"byte order mark inside a field", "001;A\ufeffB;;B;;", connector.Rules{}, "last_name", "invisible character U+FEFF", ""},
		{"zero-width space in the employee number", "0\u200b01;A;;B;;", connector.Rules{}, "employee_number", "invisible character U+200B", ""},
		{"space inside the employee number", "0 01;A;;B;;", connector.Rules{}, "employee_number", "space or format character", ""},
		{"word joiner in the employee number", "0\u206001;A;;B;;", connector.Rules{}, "employee_number", "format character (U+2060)", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := connector.Source{Name: "hr", Persons: writeFile(t, dir, "p.csv", []byte(header+tc.row+"\n"))}
			if err := src.Validate(); err != nil {
				t.Fatal(err)
			}
			res, err := connector.Load(context.Background(), &src, tc.rules, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason == "" {
				if len(res.Rejects) > 0 {
					t.Fatalf("rejected: %+v", res.Rejects)
				}
				p := res.Persons["001"]
				if p == nil {
					t.Fatal("person missing")
				}
				if got := strings.Join(p.Warnings, "|"); tc.warning == "" && got != "" || !strings.Contains(got, tc.warning) {
					t.Fatalf("warnings %q, want %q", got, tc.warning)
				}
				return
			}
			if len(res.Rejects) != 1 {
				t.Fatalf("rejects %+v, want one", res.Rejects)
			}
			r := res.Rejects[0]
			if r.Line != 2 || r.Column != tc.column || !strings.Contains(r.Reason, tc.reason) || r.File != src.Persons || r.Raw == "" {
				t.Fatalf("got %+v, want line 2 column %q reason %q", r, tc.column, tc.reason)
			}
			if len(res.Persons) != 0 {
				t.Fatalf("rejected row still produced %v", res.Persons)
			}
		})
	}
}

func TestDuplicateEmployeeNumbersRejectEveryOccurrence(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n002;B\n001;C\n"), nil)
	if len(res.Rejects) != 2 || res.Rejects[0].Line != 2 || res.Rejects[1].Line != 4 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	if _, ok := res.Persons["001"]; ok || !res.Protected["001"] || res.Persons["002"] == nil {
		t.Fatalf("persons %v protected %v", res.Persons, res.Protected)
	}
	// Both lines are evidence: the first one's text is read back from the
	// file, since rows do not keep their raw text.
	if res.Rejects[0].Raw != "001;A" || res.Rejects[1].Raw != "001;C" {
		t.Fatalf("raw text of the duplicates: %q, %q", res.Rejects[0].Raw, res.Rejects[1].Raw)
	}
}

func TestDuplicateContractsRejectBothLinesWithTheirText(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n"),
		[]byte("employee_number;contract_id;ou_code\n001;c1;FIN\n001;c2;ICT\n001;c1;HR\n"))
	if len(res.Rejects) != 2 || res.Rejects[0].Raw != "001;c1;FIN" || res.Rejects[1].Raw != "001;c1;HR" || len(res.Contracts) != 1 {
		t.Fatalf("rejects %+v contracts %+v", res.Rejects, res.Contracts)
	}
}

// Without a contract id a contract's key is start date, OU and function:
// a row equal to an earlier one of the person is the same contract
// (merged), while rows of one key that differ are all rejected, the
// merged ones too, whatever comes first.
func TestIdenticalContractRowsWithoutAnIDMergeAndConflictingOnesAreRejected(t *testing.T) {
	head := "employee_number;start_date;end_date;ou_code;function_code\n"
	res := load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n002;B\n"),
		[]byte(head+"001;2020-01-01;;FIN;CTRL\n002;2020-01-01;;HR;HRA\n001;2020-01-01;;FIN;CTRL\n"+
			"002;2020-01-01;;HR;HRA\n002;2020-01-01;2020-12-31;HR;HRA\n001;2021-01-01;;ICT;DEV\n"))
	var lines []int
	for _, r := range res.Rejects {
		lines = append(lines, r.Line)
		if r.EmployeeNumber != "002" || r.Column != "end_date" || !strings.Contains(r.Reason, "conflicting rows for contract 2020-01-01|HR|HRA") {
			t.Errorf("reject %+v", r)
		}
	}
	slices.Sort(lines)
	if !slices.Equal(lines, []int{3, 5, 6}) || res.Merged != 1 || len(res.Contracts) != 2 || !res.ProtectedContracts["002"] || res.ProtectedContracts["001"] {
		t.Fatalf("rejected lines %v, merged %d, contracts %+v", lines, res.Merged, res.Contracts)
	}
	// A contract id is unique: the same id twice stays a duplicate, even
	// on identical rows.
	res = load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n"),
		[]byte("employee_number;contract_id;ou_code\n001;c1;FIN\n001;c1;FIN\n"))
	if len(res.Rejects) != 2 || res.Merged != 0 || !strings.Contains(res.Rejects[0].Reason, "duplicate contract c1") {
		t.Fatalf("rejects %+v merged %d", res.Rejects, res.Merged)
	}
}

// A file whose dates mostly fail date_format is a config error naming
// the layout that fits; when every day is 12 or less, day-first and
// month-first both fit and both are named. Persons files that hold the
// contracts are checked alike.
func TestDatesThatMostlyFailTheirFormatNameTheLayoutThatFits(t *testing.T) {
	head := "employee_number;start_date;end_date;ou_code\n"
	src := connector.Source{Key: "sources[3]"}
	_, err := tryLoad(t, src, []byte("employee_number;last_name\n001;A\n"),
		[]byte(head+"001;01-02-2020;03-04-2021;FIN\n001;05-06-2022;;ICT\n"))
	var ke *fault.KeyError
	if !errors.As(err, &ke) || ke.Key != "sources[3].date_format" || !strings.Contains(err.Error(), `"02-01-2006" and "01-02-2006"`) ||
		!strings.Contains(err.Error(), "cannot tell day-first from month-first") {
		t.Fatalf("ambiguous dates: %v", err)
	}
	_, err = tryLoad(t, connector.Source{}, []byte("employee_number;last_name;start_date\n001;A;20200131\n002;B;20210101\n"), nil)
	if !errors.As(err, &ke) || ke.Key != "date_format" || !strings.Contains(err.Error(), `they all fit "20060102"`) {
		t.Fatalf("persons file with contracts: %v", err)
	}
	// Half or fewer failing, or no common layout fitting them: rejects.
	res := load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n"),
		[]byte(head+"001;31-01-2020;;FIN\n001;2021-01-01;;ICT\n"))
	if len(res.Rejects) != 1 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	res = load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n"),
		[]byte(head+"001;31-01-2020;;FIN\n001;2021/31/01;;ICT\n"))
	if len(res.Rejects) != 2 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
}

func TestRejectKeepsTheRawRow(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name;email\r\n001;\"A;B\";bad\r\n"), nil)
	if len(res.Rejects) != 1 || res.Rejects[0].Raw != "001;\"A;B\";bad" {
		t.Fatalf("rejects %+v", res.Rejects)
	}
}

// The reader forgets the text of rows already read in steps of 64 KB:
// rows far into a large file, on either side of such a step, keep their
// own text.
func TestRejectsFarIntoALargeFileKeepTheirOwnRawRow(t *testing.T) {
	var b strings.Builder
	b.WriteString("employee_number;last_name;email\r\n")
	want := map[int]string{}
	for i := range 20000 { // about 600 KB
		row := fmt.Sprintf("%06d;Achternaam %d;p%d@example.nl", i, i, i)
		if i%997 == 0 {
			row = fmt.Sprintf("%06d;\"Naam; %d\";not-an-address", i, i)
			want[i+2] = row
		}
		b.WriteString(row + "\r\n")
	}
	res := load(t, connector.Source{}, []byte(b.String()), nil)
	if len(res.Rejects) != len(want) {
		t.Fatalf("%d rejects, want %d", len(res.Rejects), len(want))
	}
	for _, r := range res.Rejects {
		if r.Raw != want[r.Line] {
			t.Fatalf("line %d: raw %q, want %q", r.Line, r.Raw, want[r.Line])
		}
	}
}

func TestUnterminatedQuoteHoldsBackOnlyTheNumbersInItsRawText(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name\n001;A\n002;\"B\n"), nil)
	if len(res.Rejects) != 1 || !strings.Contains(res.Rejects[0].Reason, "unreadable CSV") {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	if res.Persons["001"] == nil {
		t.Fatal("the good row before was lost")
	}
	if r, held := res.HeldBy("002"); !held || r.Line != 3 {
		t.Fatalf("002 appears in the unreadable row, its removal must wait: %+v %v", r, held)
	}
	if _, held := res.HeldBy("003"); held {
		t.Fatal("003 is in no rejected row: its removal must not wait")
	}
}

func TestHeldByMatchesWholeEmployeeNumbersOnly(t *testing.T) {
	res := load(t, connector.Source{}, []byte("employee_number;last_name;email\n"+
		"00123;Jansen;bad-mail\n"+ // rejected: malformed email
		"E-77;Smit;also bad\n"), nil)
	if len(res.Rejects) != 2 {
		t.Fatalf("rejects %+v", res.Rejects)
	}
	for _, tc := range []struct {
		emp  string
		held bool
	}{
		{"00123", true},
		{"123", false},   // inside a longer number
		{"0012", false},  // a prefix of it
		{"Jansen", true}, // any whole token counts: a name is text of the row too
		{"E-77", true},   // punctuation inside the number
		{"", false},
	} {
		if _, held := res.HeldBy(tc.emp); held != tc.held {
			t.Errorf("HeldBy(%q) = %v, want %v", tc.emp, held, tc.held)
		}
	}
}

func TestContractsFile(t *testing.T) {
	persons := []byte("Medewerker;Geboortenaam\n001;A\n")
	contracts := []byte("Medewerker;ExternalID;Begindatum_functie;Einddatum_functie;Functie_code\n" +
		"001;c1;01-01-2020;;F1\n001;c2;01-01-2021;31-12-2021;F2\n001;c3;02-01-2022;01-01-2022;F3\n001;c1;01-01-2023;;F4\n")
	res := load(t, connector.Source{Profile: "afas", DateFormat: "02-01-2006"}, persons, contracts)
	if len(res.Contracts) != 1 || res.Contracts[0].Key != "c2" || res.Contracts[0].EndDate != "2021-12-31" {
		t.Fatalf("contracts %+v", res.Contracts)
	}
	if len(res.Rejects) != 3 || !res.ProtectedContracts["001"] {
		t.Fatalf("rejects %+v", res.Rejects)
	}
}

func TestColumnMapping(t *testing.T) {
	t.Run("explicit column missing from the file names file, column and key", func(t *testing.T) {
		_, err := tryLoad(t, connector.Source{Columns: map[string]string{"employee_number": "Nr", "last_name": "Achternaam"}},
			[]byte("Nr;Naam\n1;A\n"), nil)
		if err == nil || !strings.Contains(err.Error(), `line 1: no column "Achternaam" for last_name (sources.columns.last_name)`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("profile column missing from the file is tolerated", func(t *testing.T) {
		res := load(t, connector.Source{Profile: "afas"}, []byte("Medewerker;Geboortenaam\n1;A\n"), nil)
		if res.Persons["1"] == nil {
			t.Fatal("person missing")
		}
	})
	t.Run("explicit columns override the profile", func(t *testing.T) {
		res := load(t, connector.Source{Profile: "afas", Columns: map[string]string{"last_name": "Achternaam"}},
			[]byte("Medewerker;Achternaam;Geboortenaam\n1;Right;Wrong\n"), nil)
		if res.Persons["1"].LastName != "Right" {
			t.Fatalf("got %q", res.Persons["1"].LastName)
		}
	})
	t.Run("duplicate mapped header is an error", func(t *testing.T) {
		_, err := tryLoad(t, connector.Source{}, []byte("employee_number;last_name;LAST_NAME\n1;A;B\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "appears twice") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("afas naming codes map to conventions", func(t *testing.T) {
		res := load(t, connector.Source{Profile: "afas"},
			[]byte("Medewerker;Naamgebruik_code\n1;0\n2;1\n3;2\n4;3\n5;9\n"), nil)
		want := map[string]string{"1": "B", "2": "PB", "3": "P", "4": "BP", "5": "B"}
		for emp, conv := range want {
			if got := res.Persons[emp].NamingConvention; got != conv {
				t.Errorf("%s: %s, want %s", emp, got, conv)
			}
		}
		if len(res.Persons["5"].Warnings) != 1 {
			t.Errorf("code 9 should warn")
		}
	})
	t.Run("delta delete flag", func(t *testing.T) {
		res := load(t, connector.Source{Mode: "delta", Columns: map[string]string{"employee_number": "nr", "deleted": "weg"}},
			[]byte("nr;weg\n1;ja\n2;\n"), nil)
		if res.Deleted["1"] != 2 || res.Persons["2"] == nil || res.Persons["1"] != nil {
			t.Fatalf("deleted %v persons %v", res.Deleted, res.Persons)
		}
	})
}

func TestEmptyFileHasNoRows(t *testing.T) {
	for _, data := range []string{"", "\n\n", "\xef\xbb\xbf", "employee_number;last_name\n"} {
		res := load(t, connector.Source{}, []byte(data), nil)
		if res.Rows() != 0 || len(res.Persons) != 0 {
			t.Errorf("%q: rows %d", data, res.Rows())
		}
	}
}

func TestSourceValidationNamesTheKey(t *testing.T) {
	cases := []struct {
		src connector.Source
		key string
	}{
		{connector.Source{Persons: "p"}, "name"},
		{connector.Source{Name: "a"}, "persons"},
		{connector.Source{Name: "a", Persons: "p", Encoding: "latin9"}, "encoding"},
		{connector.Source{Name: "a", Persons: "p", Mode: "full"}, "mode"},
		{connector.Source{Name: "a", Persons: "p", Profile: "sap"}, "profile"},
		{connector.Source{Name: "a", Persons: "p", Delimiter: ";;"}, "delimiter"},
		{connector.Source{Name: "a", Persons: "p", DateFormat: "dd-mm-yyyy"}, "date_format"},
		{connector.Source{Name: "a", Persons: "p", Columns: map[string]string{"surname": "x"}}, "columns.surname"},
		{connector.Source{Name: "a", Persons: "p", NamingMap: map[string]string{"0": "X"}}, "naming_map.0"},
		{connector.Source{Name: "a", Persons: "p", Provides: []string{"salary"}}, "provides[0]"},
		{connector.Source{Name: "a", Persons: "p", Columns: map[string]string{"deleted": "x"}}, "columns.deleted"},
		{connector.Source{Name: "a", Persons: "p", MaxAge: -1}, "max_age"},
	}
	for _, tc := range cases {
		err := tc.src.Validate()
		ke, ok := err.(*fault.KeyError)
		if !ok || ke.Key != tc.key {
			t.Errorf("%+v: err %v, want key %s", tc.src, err, tc.key)
		}
	}
}

// A config value quoted back in a message is bounded and escaped: a
// pasted blob in a key gives one readable line, not the blob.
func TestSourceValidationQuotesLongValuesBounded(t *testing.T) {
	long := strings.Repeat("x", 5000) + "\x1b[2J"
	for _, src := range []connector.Source{
		{Name: "a", Persons: "p", Mode: long},
		{Name: "a", Persons: "p", Profile: long},
		{Name: "a", Persons: "p", DateFormat: long},
		{Name: "a", Persons: "p", NamingMap: map[string]string{"1": long}},
		{Name: "a", Persons: "p", Provides: []string{long}},
	} {
		msg := src.Validate().Error()
		if len(msg) > 600 || !strings.Contains(msg, "more characters") || strings.Contains(msg, "\x1b") {
			t.Errorf("message of %d bytes: %.120s", len(msg), msg)
		}
	}
}

func TestAMissingSourceFileIsNamedByItsKey(t *testing.T) {
	dir := t.TempDir()
	persons := writeFile(t, dir, "persons.csv", []byte("employee_number;last_name\n001;A\n"))
	missing := filepath.Join(dir, "gone.csv")
	for _, tc := range []struct {
		name string
		src  connector.Source
		want string
	}{
		{"persons", connector.Source{Persons: missing}, "persons: " + missing + " does not exist"},
		{"contracts", connector.Source{Persons: persons, Contracts: missing}, "contracts: " + missing + " does not exist"},
		{"lookup", connector.Source{Persons: persons, Lookups: []*connector.Lookup{
			{File: missing, Key: map[string]string{"employee_number": "nr"}, Fill: map[string]string{"email": "mail"}}}},
			"lookups[0].file: " + missing + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			src.Name = "hr"
			if err := src.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			_, err := connector.Load(context.Background(), &src, connector.Rules{}, nil, nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
