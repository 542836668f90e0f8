package connector_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spendsync/spendsync/connector"
)

var fuzzEncodings = []string{"utf-8", "windows-1252", "iso-8859-1", "utf-16"}
var fuzzDelimiters = []string{"", ";", ",", "\t", "|"}

// FuzzLoad feeds arbitrary bytes through every encoding and delimiter. The
// reader must never panic, every accepted person must have a clean
// employee number, and every reject must name a line.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("employee_number;last_name;start_date\n001;A;2024-01-01\n"), uint8(0), uint8(0), false)
	f.Add([]byte("\xef\xbb\xbfemployee_number,email\n1,a@b.nl\n\"2\",\"x\"\"y\"\n"), uint8(0), uint8(2), false)
	f.Add([]byte("employee_number|last_name\r1|\"multi\nline\"\r"), uint8(1), uint8(4), true)
	f.Add([]byte("\xff\xfee\x00m\x00"), uint8(3), uint8(0), false)
	f.Add([]byte("employee_number;last_name\n\"unterminated\n"), uint8(2), uint8(1), false)
	// Duplicates of numbers whose dropped rows' lines the filter's Lines
	// keeps (length 1) and the result keeps (length 3).
	f.Add([]byte("employee_number;last_name;start_date\n1;A;2024-01-01\n1;B;2024-01-01\n123;C;2024-01-01\n"+
		"123;D;2024-01-02\n12;E;2024-01-01\n7;F;2024-01-01\n"), uint8(0), uint8(0), true)
	// A duplicate row equal to the first, which a filter recorded: neither
	// may be dropped unchecked.
	f.Add([]byte("employee_number;last_name;start_date\n5;A;2024-01-01\n5;A;2024-01-01\n6;B;2024-01-01\n"), uint8(0), uint8(0), true)
	f.Fuzz(func(t *testing.T, data []byte, enc, delim uint8, withContracts bool) {
		dir := t.TempDir()
		src := &connector.Source{Name: "fuzz", Encoding: fuzzEncodings[int(enc)%len(fuzzEncodings)],
			Delimiter: fuzzDelimiters[int(delim)%len(fuzzDelimiters)], Persons: filepath.Join(dir, "p.csv")}
		os.WriteFile(src.Persons, data, 0o600)
		if withContracts {
			src.Contracts = filepath.Join(dir, "c.csv")
			os.WriteFile(src.Contracts, data, 0o600)
		}
		if err := src.Validate(); err != nil {
			t.Fatal(err)
		}
		res, err := connector.Load(context.Background(), src, connector.Rules{VerifiedDomains: []string{"example.nl"}}, nil, nil)
		if err != nil {
			return // a file-level error is a fine answer; a panic is not
		}
		for emp, p := range res.Persons {
			if emp == "" || emp != p.EmployeeNumber || !utf8.ValidString(emp) || strings.ContainsAny(emp, " \x00\ufeff") {
				t.Fatalf("accepted employee number %q", emp)
			}
		}
		for _, r := range res.Rejects {
			if r.Line < 1 || r.Reason == "" || r.File == "" {
				t.Fatalf("reject without a place: %+v", r)
			}
		}
		if withContracts {
			sameThroughAFilter(t, src, res)
			sameDroppedUnchecked(t, src, res)
		}
	})
}

// sameDroppedUnchecked loads src through a filter that keeps every row,
// recording the hash of the first valid persons row of each employee
// number (as an earlier day without its duplicates would), then again through one
// that drops, before their checks, the rows whose hashes it recorded: the
// same files under the same settings must give the same rejects, listed
// numbers and protections, with exactly the recorded rows dropped.
func sameDroppedUnchecked(t *testing.T, src *connector.Source, all *connector.Result) {
	rules := connector.Rules{VerifiedDomains: []string{"example.nl"}}
	f := &hashFilter{lines: map[string]int{}, recorded: map[string][16]byte{}, record: true, contracts: map[string]bool{}}
	if _, err := connector.Load(context.Background(), src, rules, nil, f); err != nil {
		t.Fatalf("load through a filter failed where the whole one did not: %v", err)
	}
	f.record = false
	got, err := connector.Load(context.Background(), src, rules, nil, f)
	if err != nil {
		t.Fatalf("load dropping recorded rows failed where the whole one did not: %v", err)
	}
	if !reflect.DeepEqual(got.Rejects, all.Rejects) {
		t.Fatalf("rejects differ with rows dropped unchecked:\n%+v\n%+v", got.Rejects, all.Rejects)
	}
	listed := maps.Clone(got.Listed)
	for emp, line := range f.lines {
		if _, twice := listed[emp]; twice {
			t.Fatalf("%q listed twice", emp)
		}
		listed[emp] = line
	}
	if !reflect.DeepEqual(listed, all.Listed) || !reflect.DeepEqual(got.Protected, all.Protected) || got.Rows() != all.Rows() {
		t.Fatalf("listed, protected or counts differ with rows dropped unchecked")
	}
	// The contract rows taken unchecked were all kept for the second pass,
	// which checked them: as if read once, unfiltered.
	if !reflect.DeepEqual(got.ProtectedContracts, all.ProtectedContracts) || got.Merged != all.Merged {
		t.Fatalf("contract protections or merges differ with rows taken unchecked: %v %d, want %v %d",
			got.ProtectedContracts, got.Merged, all.ProtectedContracts, all.Merged)
	}
	if len(got.Contracts) != len(all.Contracts) || len(all.Contracts) > 0 && !reflect.DeepEqual(got.Contracts, all.Contracts) {
		t.Fatalf("contracts with rows taken unchecked:\n%+v\nwant\n%+v", got.Contracts, all.Contracts)
	}
	for emp := range all.Persons {
		_, kept := got.Persons[emp]
		if dropped := f.lines[emp] > 0; kept == dropped {
			t.Fatalf("person %q kept %v, dropped unchecked %v", emp, kept, dropped)
		}
	}
}

// hashFilter keeps every row but those Unchanged drops: the persons rows
// whose hashes it recorded, keeping their lines.
type hashFilter struct {
	recorded map[string][16]byte
	lines    map[string]int
	record   bool
	// contracts: the employee numbers whose contract rows the recording
	// load saw as read; the next load takes them unchecked, and keeps them
	// all for the second pass to check.
	contracts map[string]bool
	seed      string
}

func (f *hashFilter) ContractsSeed(seed []byte) error {
	if !f.record && string(seed) != f.seed {
		return fmt.Errorf("the seed changed between two loads of the same files")
	}
	f.seed = string(seed)
	return nil
}
func (f *hashFilter) Unchecked(emp string, _ [16]byte) bool {
	if f.record {
		f.contracts[emp] = true
		return false
	}
	return f.contracts[emp]
}
func (f *hashFilter) Rechecks(emp string) bool { return f.contracts[emp] }

func (f *hashFilter) Person(_ []string, p *connector.PersonRow) (keep, lineKept bool) {
	if _, ok := f.recorded[p.EmployeeNumber]; f.record && !ok {
		f.recorded[p.EmployeeNumber] = p.Hash
	}
	return true, false
}
func (f *hashFilter) Line(emp string) (int, bool)             { line, ok := f.lines[emp]; return line, ok }
func (f *hashFilter) Forget(emp string)                       { delete(f.lines, emp) }
func (f *hashFilter) Contract(*connector.ContractRow) bool    { return false }
func (f *hashFilter) KeepContracts(string, func() bool) bool  { return true }
func (f *hashFilter) KeepsNoContracts(func(string) bool) bool { return false }
func (f *hashFilter) Seed() []byte                            { return []byte("fuzz") }
func (f *hashFilter) Unchanged(emp string, line int, h [16]byte) bool {
	if r, ok := f.recorded[emp]; ok && r == h {
		f.lines[emp] = line
		return true
	}
	return false
}

// sameThroughAFilter loads src again through a filter that drops some
// rows (those of employee numbers of odd length) and checks that dropping
// changes nothing else: the same rejects with the same text, the same
// listed numbers and protections, and exactly the kept rows of the
// unfiltered result, in the same order.
func sameThroughAFilter(t *testing.T, src *connector.Source, all *connector.Result) {
	lines := oddFilter{}
	got, err := connector.Load(context.Background(), src, connector.Rules{VerifiedDomains: []string{"example.nl"}}, nil, lines)
	if err != nil {
		t.Fatalf("filtered load failed where the whole one did not: %v", err)
	}
	if !reflect.DeepEqual(got.Rejects, all.Rejects) {
		t.Fatalf("rejects differ through a filter:\n%+v\n%+v", got.Rejects, all.Rejects)
	}
	listed := map[string]int{}
	see := func(emp string) {
		line, ok := got.ListedOn(emp)
		if _, twice := listed[emp]; twice || !ok {
			t.Fatalf("Listed or the filter gave %q twice, or ListedOn does not know it", emp)
		}
		listed[emp] = line
	}
	for emp := range got.Listed {
		see(emp)
	}
	for emp := range lines {
		see(emp)
	}
	if !reflect.DeepEqual(listed, all.Listed) || !reflect.DeepEqual(got.Protected, all.Protected) ||
		!reflect.DeepEqual(got.ProtectedContracts, all.ProtectedContracts) || got.Rows() != all.Rows() {
		t.Fatalf("listed, protected or counts differ through a filter")
	}
	for emp, p := range all.Persons {
		q, ok := got.Persons[emp]
		if ok {
			if q.Hash == ([16]byte{}) && (src.HasContracts() || src.IsProvider()) {
				t.Fatalf("person %q read through a filter has no hash of its record", emp)
			}
			c := *q
			c.Hash = p.Hash // only a row read through a filter has one
			q = &c
		}
		if ok != keepOdd(emp) || ok && !reflect.DeepEqual(q, p) {
			t.Fatalf("person %q kept %v, want %v", emp, ok, keepOdd(emp))
		}
	}
	var want []connector.ContractRow
	for _, c := range all.Contracts {
		if _, listed := all.Listed[c.EmployeeNumber]; !listed || keepOdd(c.EmployeeNumber) {
			want = append(want, c)
		}
	}
	if len(want) != len(got.Contracts) || len(want) > 0 && !reflect.DeepEqual(want, got.Contracts) {
		t.Fatalf("contracts through a filter:\n%+v\nwant\n%+v", got.Contracts, want)
	}
}

// FuzzParseDate: any layout and value either fail or give a valid ISO date.
func FuzzParseDate(f *testing.F) {
	f.Add("01-02-2024", "02-01-2006")
	f.Add("2024-02-29T12:00:00Z", "2006-01-02")
	f.Add("31/12/1999", "02/01/2006")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, value, layout string) {
		got, err := connector.ParseDate(value, layout)
		if err != nil {
			return
		}
		if _, err := time.Parse("2006-01-02", got); err != nil || len(got) != 10 {
			t.Fatalf("ParseDate(%q, %q) = %q, not an ISO date", value, layout, got)
		}
	})
}

// oddFilter keeps the rows of employee numbers of even length, and the
// lines of the dropped rows of numbers of length 1, 5, 9...: the result
// keeps the others' lines.
type oddFilter map[string]int

func keepOdd(emp string) bool { return len(emp)%2 == 0 }

func (m oddFilter) Person(_ []string, p *connector.PersonRow) (keep, lineKept bool) {
	if keepOdd(p.EmployeeNumber) {
		return true, false
	}
	if len(p.EmployeeNumber)%4 != 1 {
		return false, false
	}
	m[p.EmployeeNumber] = p.Line
	return false, true
}

func (m oddFilter) Line(emp string) (int, bool)             { line, ok := m[emp]; return line, ok }
func (m oddFilter) Forget(emp string)                       { delete(m, emp) }
func (m oddFilter) Seed() []byte                            { return nil }
func (m oddFilter) Unchanged(string, int, [16]byte) bool    { return false }
func (m oddFilter) ContractsSeed([]byte) error              { return nil }
func (m oddFilter) Unchecked(string, [16]byte) bool         { return false }
func (m oddFilter) Rechecks(string) bool                    { return false }
func (m oddFilter) Contract(*connector.ContractRow) bool    { return false }
func (m oddFilter) KeepsNoContracts(func(string) bool) bool { return false }
func (m oddFilter) KeepContracts(emp string, listed func() bool) bool {
	return keepOdd(emp) || !listed()
}
