package connector

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"

	"github.com/spendsync/spendsync/internal/model"
)

// Rules are the row validation settings shared by all sources.
type Rules struct {
	VerifiedDomains  []string
	RejectUnverified bool
}

// Reject is a row that was not used, with the reason.
type Reject struct {
	File           string
	Line           int
	Column         string // header name, or empty when the row as a whole is bad
	Reason         string
	Raw            string
	EmployeeNumber string // empty when the row gave none
}

// PersonRow is a valid persons row.
type PersonRow struct {
	model.Person
	File     string
	Line     int
	Warnings []string // e.g. an unknown naming convention treated as B
	// Hash is the hash of the row's record as read, with a seed of all
	// that decides how it maps (rowhash.go), for a row read through a
	// Filter; else zero.
	Hash [16]byte
}

// ContractRow is a valid contract row.
type ContractRow struct {
	model.Contract
	File string
	Line int
	Raw  string // only for a pulled source (a file's line is read back when needed)
	// Hash is the hash of the row's record as read, for a row of a first
	// pass through a Filter that compares rows as read
	// (Filter.ContractsSeed); else zero.
	Hash [16]byte
}

// Result is what one source's files hold.
type Result struct {
	Source *Source
	Files  []string
	// Persons are the valid persons rows the Filter kept (all of them
	// without one), by employee number; Listed is every valid persons row,
	// kept or not (employee number -> line), but for the rows whose lines
	// the Filter kept: ListedOn sees both.
	Persons   map[string]*PersonRow
	Listed    map[string]int
	Contracts []ContractRow
	// Fields lists the person fields this source supplies: a field whose
	// column a file lacks is left as stored, not cleared.
	Fields  []string
	Deleted map[string]int // delta delete flags: employee number -> line
	Rejects []Reject
	// Protected holds employee numbers with a rejected persons row: they keep
	// their last good state. ProtectedContracts likewise for contract rows.
	Protected          map[string]bool
	ProtectedContracts map[string]bool
	PersonRows         int // data rows read from the persons file, valid or not
	ContractRows       int // data rows read from the contracts file, valid or not
	// Merged counts contract rows without a contract id that repeat an
	// earlier row of the same person field for field: one contract, not a
	// duplicate (Raet HR Core lists two identical part-time appointments
	// as two rows).
	Merged int

	held map[string]int // token -> index in Rejects, built on first HeldBy
	rd   *reader        // what reading left that the methods below need
}

// reader is the state of reading one source's files into a Result: what
// the headers and the filter decided, and what is read back from a file
// once it has been read.
type reader struct {
	*Result
	ctx         context.Context // ends the reading of every file
	personsFile string
	lookups     []*lookupTable
	lookupSum   []byte // of the lookup files' bytes as loaded (rowhash.go)
	filter      Filter
	keepEmp     func(string) bool // the second pass over a filtered contracts file
	// unchanged, while a persons file is read through the filter, sees
	// each row of the header's width before it is checked, and drops it
	// when it returns true.
	unchanged func(rec []string, line int, emp string) bool
	// left counts the first pass's contract rows the filter did not take:
	// without any, a second pass would keep none.
	left int
	// unchecked, while the first pass runs and the filter compares rows
	// as read, sees each row of the header's width before it is checked,
	// and drops it when the filter took it (Filter.Unchecked); rowHash is
	// then the hash of the row it saw last.
	unchecked func(rec []string, emp string) bool
	rowHash   [16]byte
	seen      ContractRow // the row the first pass hands the filter
	// rechecks, in a second pass, names the employee numbers whose rows
	// the first pass left unchecked; recheckMerged counts their merged
	// rows.
	rechecks      func(emp string) bool
	recheckMerged int
	// firstDates, when the first pass left rows unchecked, are its date
	// counts, judged once the second pass has checked what it left.
	firstDates *dateCheck
	// contractIDColumn is the contracts file's header for contract_id,
	// for duplicates reported after the file was read.
	contractIDColumn string
	contractHeaders  map[string]string // canonical contract field -> its header, likewise
	dates            *dateCheck        // the dates of the file being read (nil: not counted)
	// rawLater lists rejects of dropped rows whose raw text is read back
	// from the file once it has been read (duplicates of a dropped row).
	rawLater []int
}

// Filter drops, while a source is read, the rows the caller already
// knows it does not need: an ingest keeps only rows that differ from what
// the source supplied last time, so its memory follows the changes, not
// the size of the files. It applies to sources read from files (a pulled
// source keeps every row), and is the only way the connector calls out.
//
// The persons file and the contracts file may be read on two goroutines
// at once: Person, Line and Forget are called on the one that reads the
// persons file, Contract on the one that reads the contracts file, and
// KeepContracts and KeepsNoContracts after both.
type Filter interface {
	// Person sees each valid persons row with the person fields the
	// source supplies (for providers and sources with a contracts file
	// only: a persons row that also holds a contract is always kept).
	// keep false drops the row; lineKept then says the filter keeps the
	// row's line itself (Line answers for it), else the Result's Listed
	// does: the filter may hold a million lines more compactly than a map.
	Person(fields []string, p *PersonRow) (keep, lineKept bool)
	// Line returns the line of a persons row whose line Person kept.
	Line(emp string) (int, bool)
	// Forget voids the line Person kept for emp: a duplicate row came.
	Forget(emp string)
	// Contract sees each valid row of the contracts file in a first pass
	// and returns true when it takes the row away (to disk): it then
	// checks that employee number's rows for duplicate contracts itself
	// and reports them with RejectDuplicateContracts. It must take all or
	// none of one employee number's rows. c is valid during the call
	// only.
	Contract(c *ContractRow) bool
	// KeepContracts names, once the persons file is read, the employee
	// numbers whose rows a second pass over the contracts file keeps;
	// listed reports whether the persons file lists emp (ask it only when
	// the answer needs it). There is no second pass when Contract took
	// every row.
	KeepContracts(emp string, listed func() bool) bool
	// KeepsNoContracts reports, once the persons file is read, that
	// KeepContracts would answer false for every valid row of the first
	// pass it did not take: then there is no second pass (on a day with
	// few changes it was a fifth of the contracts file's cost). listed
	// reports whether the persons file lists emp. False when unsure.
	KeepsNoContracts(listed func(emp string) bool) bool
	// Seed returns what the caller adds to the seed of every persons
	// and contracts row's hash (PersonRow.Hash, ContractRow.Hash):
	// anything of its own that changes how a row is diffed.
	Seed() []byte
	// ContractsSeed gives, before the first pass over the contracts file,
	// the seed of its rows' hashes (ContractRow.Hash); Unchecked then sees
	// every row of the header's width before it is checked.
	ContractsSeed(seed []byte) error
	// Unchecked sees a row of the first pass as the hash of its record;
	// true takes it unchecked: the filter then takes every such row of
	// that employee number, keeps them all for the second pass when their
	// sum is not as recorded (KeepContracts), and answers Rechecks for
	// it. A row it does not take goes on to be checked, and to Contract.
	Unchecked(emp string, hash [16]byte) bool
	// Rechecks reports whether Unchecked took emp's rows: the second pass
	// checks them as a first pass would, and reports their rejects,
	// duplicates, merges and dates.
	Rechecks(emp string) bool
	// Unchanged sees, before it is checked or mapped, each persons row
	// Person would see whose employee number no earlier row listed, as
	// the hash of its record (PersonRow.Hash); true drops the row as
	// the source supplied it last time, and the filter keeps its line
	// (Line answers for it). A row it keeps goes on to be checked, and
	// to Person if valid.
	Unchanged(emp string, line int, hash [16]byte) bool
}

// ListedOn returns the line of emp's valid persons row, if there is one.
func (res *Result) ListedOn(emp string) (int, bool) {
	if line, ok := res.Listed[emp]; ok {
		return line, true
	}
	if res.rd != nil && res.rd.filter != nil {
		return res.rd.filter.Line(emp)
	}
	return 0, false
}

// Rows is the number of data rows read from all files.
func (res *Result) Rows() int { return res.PersonRows + res.ContractRows }

// Progress, when set, returns a writer that is fed every byte read from
// the named file (for a progress bar), or nil.
type Progress func(path string, size int64) io.Writer

// Load reads and validates a source's files, keeping only the rows
// filter keeps (nil: all); ctx ends the reading, and an API pull, early.
// A pulled source keeps all its rows.
func Load(ctx context.Context, src *Source, rules Rules, progress Progress, filter Filter) (*Result, error) {
	if src.API != nil {
		filter = nil
	}
	res := &reader{ctx: ctx, filter: filter, Result: &Result{
		Source:             src,
		Listed:             map[string]int{},
		Persons:            map[string]*PersonRow{},
		Deleted:            map[string]int{},
		Protected:          map[string]bool{},
		ProtectedContracts: map[string]bool{},
	}}
	res.rd = res
	if err := res.loadLookups(progress); err != nil {
		return nil, err
	}
	if src.API == nil && src.Contracts != "" && progress == nil {
		if err := res.readBoth(src, rules); err != nil {
			return nil, err
		}
	} else if src.API != nil {
		if err := res.pull(ctx, rules); err != nil {
			return nil, err
		}
	} else if err := withFile(res.ctx, src, src.Persons, progress, func(r io.Reader) error {
		return res.readPersons(r, src.Persons, rules)
	}); err != nil {
		return nil, err
	}
	if src.Contracts != "" && (src.API != nil || progress != nil) {
		if err := withFile(res.ctx, src, src.Contracts, progress, func(r io.Reader) error {
			return res.readContracts(r, src.Contracts)
		}); err != nil {
			return nil, err
		}
		if err := res.keptContracts(src.Contracts); err != nil {
			return nil, err
		}
	}
	for _, l := range src.Lookups {
		res.Files = append(res.Files, l.File)
	}
	res.contractRejectsByLine()
	return res.Result, nil
}

// contractRejectsByLine puts the contracts file's rejects in line order,
// in the places they hold among the others: a second pass reports the
// rows the first left unchecked after the rest, and a read-back reports
// a key's conflicting rows after the file.
func (res *reader) contractRejectsByLine() {
	file := res.Source.Contracts
	var at []int
	var rs []Reject
	for i, r := range res.Rejects {
		if r.File == file {
			at, rs = append(at, i), append(rs, r)
		}
	}
	slices.SortStableFunc(rs, func(a, b Reject) int { return cmp.Compare(a.Line, b.Line) })
	for k, i := range at {
		res.Rejects[i] = rs[k]
	}
}

// readBoth reads the persons and the contracts file side by side, on two
// goroutines: parsing is most of an ingest's time and neither file
// needs the other. The contracts are read into a result of their own,
// merged after, so rejects and files keep the order of one file after the
// other. (With a progress bar, for a person at a terminal, the files are
// read one at a time so the two bars do not draw over each other.)
func (res *reader) readBoth(src *Source, rules Rules) error {
	cres := res.sub()
	cres.personsFile, cres.filter = src.Persons, res.filter
	done := make(chan error, 1)
	go func() {
		done <- withFile(res.ctx, src, src.Contracts, nil, func(r io.Reader) error { return cres.readContracts(r, src.Contracts) })
	}()
	perr := withFile(res.ctx, src, src.Persons, nil, func(r io.Reader) error { return res.readPersons(r, src.Persons, rules) })
	if cerr := <-done; perr == nil && cerr != nil {
		return cerr
	}
	if perr != nil {
		return perr
	}
	res.Files = append(res.Files, cres.Files...)
	res.addContracts(cres.Contracts)
	res.Rejects = append(res.Rejects, cres.Rejects...)
	res.ContractRows = cres.ContractRows
	res.Merged = cres.Merged
	res.left = cres.left
	res.contractIDColumn, res.contractHeaders = cres.contractIDColumn, cres.contractHeaders
	res.firstDates = cres.firstDates
	for emp := range cres.Protected {
		res.Protected[emp] = true
	}
	for emp := range cres.ProtectedContracts {
		res.ProtectedContracts[emp] = true
	}
	return res.keptContracts(src.Contracts)
}

// sub is an empty result for reading a file of res's source apart from
// res (a goroutine's file, a second pass), merged by the caller.
func (res *reader) sub() *reader {
	r := &reader{ctx: res.ctx, personsFile: res.personsFile, lookups: res.lookups, lookupSum: res.lookupSum,
		Result: &Result{Source: res.Source, Protected: map[string]bool{}, ProtectedContracts: map[string]bool{}}}
	r.rd = r
	return r
}

// addContracts appends rows read apart; into an empty result they are
// taken over, not copied (150k rows on a first ingest).
func (res *reader) addContracts(rows []ContractRow) {
	if len(res.Contracts) == 0 {
		res.Contracts = rows
		return
	}
	res.Contracts = append(res.Contracts, rows...)
}

// reread reads file of res's source again as a table, after a first
// read found what to look for in it; an empty file has nothing to give.
func (res *reader) reread(file string, fn func(*table) error) error {
	return withFile(res.ctx, res.Source, file, nil, func(r io.Reader) error {
		t, err := newTable(r, file, res.Source.Encoding, res.Source.Delimiter)
		if errors.Is(err, errEmpty) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// withFile calls fn with the file's contents (its copy, when Spool made
// one), read until ctx ends.
func withFile(ctx context.Context, src *Source, path string, progress Progress, fn func(io.Reader) error) error {
	f, size, err := src.open(ctx, path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if progress != nil {
		if w := progress(path, size); w != nil {
			r = io.TeeReader(f, w)
		}
	}
	return fn(r)
}

// open starts reading a file of the source; a nil table with a nil error
// means the file has no header at all (zero rows: the safety stops decide
// what that means).
func (res *reader) open(r io.Reader, file string) (*table, error) {
	res.Files = append(res.Files, file)
	t, err := newTable(r, file, res.Source.Encoding, res.Source.Delimiter)
	if errors.Is(err, errEmpty) {
		return nil, nil
	}
	return t, err
}
