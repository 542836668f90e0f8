package connector

import (
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

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
		// Through a reader's own row: a row handed to the interface as
		// a pointer to a copy of its own was an allocation per row (300 MB
		// over a 1M-person file).
		see = func(c ContractRow) bool {
			res.seen = c
			return res.filter.Contract(&res.seen)
		}
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
		return res.firstDates.verdict(res.Source) // the filter took every row
	}
	if res.filter.KeepsNoContracts(func(emp string) bool {
		_, listed := res.ListedOn(emp)
		return listed
	}) {
		return res.firstDates.verdict(res.Source) // the second pass would keep no row
	}
	keep := res.filter.KeepContracts
	again := res.sub()
	again.keepEmp = func(emp string) bool {
		return keep(emp, func() bool {
			_, listed := res.ListedOn(emp)
			return listed
		})
	}
	if res.firstDates != nil {
		again.rechecks, again.firstDates = res.filter.Rechecks, res.firstDates
	}
	err := res.reread(file, func(t *table) error {
		if err := again.contracts(t, file, nil); err != nil {
			return err
		}
		res.addContracts(again.Contracts)
		return nil
	})
	if err != nil || again.rechecks == nil {
		return err
	}
	if err := res.firstDates.verdict(res.Source); err != nil {
		return err
	}
	return res.takeRechecked(again, file)
}

// takeRechecked takes from a second pass what it found in the rows the
// first pass left unchecked: their rejects (the first pass's would have
// been), protections and merges. What it found in other rows the first
// pass reported already.
func (res *reader) takeRechecked(again *reader, file string) error {
	later := map[int]bool{}
	for _, i := range again.rawLater {
		later[i] = true
	}
	for i, r := range again.Rejects {
		if r.EmployeeNumber == "" || !again.rechecks(r.EmployeeNumber) {
			continue
		}
		if later[i] {
			res.rawLater = append(res.rawLater, len(res.Rejects))
		}
		res.Rejects = append(res.Rejects, r)
	}
	for emp := range again.ProtectedContracts {
		if again.rechecks(emp) {
			res.ProtectedContracts[emp] = true
			if again.Protected[emp] {
				res.Protected[emp] = true
			}
		}
	}
	res.Merged += again.recheckMerged
	return res.fillRaw(file)
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
	if see != nil && fromFile {
		if err := res.hashContracts(m); err != nil {
			return err
		}
		defer func() { res.unchecked = nil }()
	}
	err = res.rows(m, &res.ContractRows, func(rec []string, line int, raw func() string, emp string) {
		if res.rechecks != nil {
			// A second pass counts the dates of the rows the first left
			// unchecked only, with the first pass's.
			res.dates = nil
			if res.rechecks(emp) {
				res.dates = res.firstDates
			}
		}
		if res.dates != nil {
			res.dates.line = line
		}
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
		if res.unchecked != nil {
			row.Hash = res.rowHash
		}
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
					res.merged(emp, 1)
					return
				}
				// A true conflict: every row of the key goes, the merged ones too.
				e := conflict(res.Contracts[i].Contract, c)
				res.merged(emp, -len(g.rows))
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
	switch {
	case err != nil || res.keepEmp != nil:
	case res.unchecked != nil:
		res.firstDates = dates // judged with the rows the second pass checks (keptContracts)
	default:
		err = dates.verdict(res.Source)
	}
	if err != nil || see == nil || len(same) == 0 {
		return err
	}
	return res.sameAsFirst(file, same)
}

// hashContracts makes the first pass through a filter hash each row of
// the header's width as read (rowhash.go), for the filter to compare
// before the row is checked (Filter.Unchecked). A row it takes is
// counted as the filter's, and its dates as valid: its person's rows are
// as when they were last checked, valid under the same seed, or the
// second pass checks them and puts its count in place of this one
// (recheck). Contract rows are not checked against the rules, so they
// are not in the seed.
func (res *reader) hashContracts(m *columnMap) error {
	rh, err := res.newRowHasher(m.t.head(), Rules{}, append([]byte("contracts\x00"), res.filter.Seed()...))
	if err != nil {
		return err
	}
	if err := res.filter.ContractsSeed(rh.seed[:]); err != nil {
		return err
	}
	res.unchecked = func(rec []string, emp string) bool {
		res.rowHash = rh.sum(rec)
		if !res.filter.Unchecked(emp, res.rowHash) {
			return false
		}
		res.left++
		res.dates.total += rawDates(m, rec)
		return true
	}
	return nil
}

// recheck is the second pass's look at a row of a person whose rows the
// first pass left unchecked: it takes back the first pass's count of
// the row's dates, which contract then counts as checked, and reports
// false for a row the first pass rejected (not of the header's width).
func (res *reader) recheck(m *columnMap, rec []string) bool {
	if len(rec) != len(m.t.head()) {
		return false
	}
	res.firstDates.total -= rawDates(m, rec)
	return true
}

// rawDates counts the dates a row holds as read: what the date check
// would count had the row been checked. Every unchecked row asks.
func rawDates(m *columnMap, rec []string) int {
	n := 0
	for _, i := range dateFields {
		if m.at(rec, m.contract[i]) != "" {
			n++
		}
	}
	return n
}

// dateFields are the positions of the dates in model.ContractFields.
var dateFields = [2]int{slices.Index(model.ContractFields, "start_date"), slices.Index(model.ContractFields, "end_date")}

// merged counts delta merged rows of emp's, and apart those of a
// person the second pass rechecks.
func (res *reader) merged(emp string, delta int) {
	res.Merged += delta
	if res.rechecks != nil && res.rechecks(emp) {
		res.recheckMerged += delta
	}
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
