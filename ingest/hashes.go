package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// What a source supplied for a person last time is kept as two hashes
// (the persons row, the contracts); a row that hashes the same as last
// time needs no diff and its stored person is never loaded. A persons row
// read from a file is hashed by the connector as read (hasher.row). SHA-256
// truncated to 128 bits: collisions are out of reach, and the hardware
// hashes the 25 MB of a 100k-person source in a few milliseconds.
const hashSize = 16

// hasher gathers one value list in buf and hashes it in one call: a
// Write per field cost more than the hashing.
type hasher struct {
	buf []byte
}

func newHasher() *hasher { return &hasher{} }

// text adds a value with its length, so ("ab","c") and ("a","bc") differ.
func (x *hasher) text(s string) {
	x.buf = binary.AppendUvarint(x.buf, uint64(len(s)))
	x.buf = append(x.buf, s...)
}

func (x *hasher) sum() [sha256.Size]byte {
	s := sha256.Sum256(x.buf)
	x.buf = x.buf[:0]
	return s
}

func (x *hasher) done() lifecycle.Hash {
	s := x.sum()
	return lifecycle.Hash(s[:hashSize])
}

// person hashes the named fields of a row, names included: a source
// that starts or stops supplying a field hashes differently.
func (x *hasher) person(fields []string, get func(string) string) lifecycle.Hash {
	for _, f := range fields {
		x.text(f)
		x.text(get(f))
	}
	return x.done()
}

// row is the hash recorded for a persons row: the connector's hash of its
// record as read (connector.PersonRow.Hash), which lets the next ingest
// drop an unchanged row before mapping it; for a row read without a
// filter (a pulled source's), the hash of the fields diffed. The two never
// match each other, so a person recorded one way is compared in full once
// when read the other way, and recorded anew.
func (x *hasher) row(fields []string, p *connector.PersonRow) lifecycle.Hash {
	if p.Hash != ([16]byte{}) {
		return lifecycle.Hash(p.Hash)
	}
	return x.person(fields, p.Field)
}

// personAt is person for a reader that resolved the fields' positions in
// model.PersonFields once (pos[i] is fields[i]'s): no lookup by name per
// field and row.
func (x *hasher) personAt(fields []string, pos []int, p *model.Person) lifecycle.Hash {
	for k, i := range pos {
		x.text(fields[k])
		x.text(p.FieldAt(i))
	}
	return x.done()
}

// contractSum hashes a person's contracts whatever their order in the
// file: each contract's hash is summed in, with the count, so the rows can
// be added one by one as they are read.
type contractSum struct{ a, b, n uint64 }

// add sums in c's hash.
func (s *contractSum) add(x *hasher, c *model.Contract) {
	x.text(c.Key)
	for i := range model.ContractFields {
		x.text(c.FieldAt(i))
	}
	h := x.sum()
	s.addHash([16]byte(h[:16]))
}

// addHash sums in a row's hash.
func (s *contractSum) addHash(h [16]byte) {
	s.a += binary.LittleEndian.Uint64(h[:8])
	s.b += binary.LittleEndian.Uint64(h[8:16])
	s.n++
}

// hash is the sum's hash.
func (s *contractSum) hash(x *hasher) lifecycle.Hash {
	for _, v := range []uint64{s.a, s.b, s.n} {
		x.buf = binary.LittleEndian.AppendUint64(x.buf, v)
	}
	return x.done()
}

// contracts hashes a person's contract rows (contractSum).
func (x *hasher) contracts(rows []connector.ContractRow) lifecycle.Hash {
	var s contractSum
	for i := range rows {
		s.add(x, &rows[i].Contract)
	}
	return s.hash(x)
}

// newHashes lists the hashes of plan that differ from what the source
// recorded: only those are written. A voided person's are all written,
// since the void clears what was recorded. It filters next in place and
// returns it (after an upgrade a million hashes, not copied again).
func (st *state) newHashes(next map[string]lifecycle.Hashes, void []string) map[string]lifecycle.Hashes {
	own := make(map[string]bool, len(void))
	for _, emp := range void {
		own[emp] = true
	}
	out := next
	for emp, h := range next {
		old := st.recorded(emp)
		if st.voided[emp] || own[emp] {
			old = lifecycle.Hashes{}
		}
		if h.Person == old.Person {
			h.Person = lifecycle.Hash{} // unchanged: kept as recorded
		}
		if h.Contracts.Known() && !h.Raw.Known() {
			// A raw hash describes the contracts recorded beside it:
			// new contracts without one void it.
			h.Raw = lifecycle.NoRaw
		}
		if h.Contracts == old.Contracts {
			h.Contracts = lifecycle.Hash{}
		}
		if h.Raw == old.Raw {
			h.Raw = lifecycle.Hash{}
		}
		if h.Person.Known() || h.Contracts.Known() || h.Raw.Known() {
			out[emp] = h
		} else {
			delete(out, emp)
		}
	}
	return out
}

// sourceFilter drops, while a source is read, the rows that hash the same
// as what the source recorded last time (connector.Filter), so an
// ingest's memory follows the changes, not the size of the files. A
// source is read after the earlier sources of the run were diffed and
// committed to the state, so what they changed (a person taken over,
// joined or left) is seen and keeps the row.
type sourceFilter struct {
	st   *state
	src  *connector.Source
	skip []string

	fields []string // the source's fields without skip, once known
	pos    []int    // their positions in model.PersonFields
	px, cx *hasher  // persons are read on one goroutine, contracts on another
	pe, ce lookup   // likewise
	// The contract rows of a stored person are summed in its index entry;
	// others lists the rest (rows of persons the store does not know that
	// were not staged: orphans, or a dry run's joiners), whose rows are
	// all kept.
	others   map[string]bool
	compared bool // the sums were compared with the recorded hashes
	stages   bool // joiners' rows go to the stage
	provided int  // provider rows for staged joiners, staged
	// rehashed counts the persons rows whose hash changed while the fields
	// they are diffed on did not (sameAsStored): their new hashes are in
	// their index entries, to be recorded (indexHashes); loaded are the
	// stored persons that do differ, for the diff. Both are the persons
	// goroutine's until the files are read.
	rehashed int
	loaded   map[string]*lifecycle.Person
	// The contracts file's rows are hashed as read under seed. unchecks:
	// the seed is the one the source's raw hashes were recorded under, so
	// the rows of a person with a raw hash are summed as read, unchecked
	// (Unchecked), and compared with it. raws sums, by index position, the
	// rows as read of the other stored persons, whose raw hashes are
	// recorded when their rows are clean (indexHashes). uncheckedRows
	// counts the rows Unchecked took.
	seed          []byte
	unchecks      bool
	raws          rawSums
	uncheckedRows int
}

// rawSums are the sums of the rows as read of the stored persons whose
// rows are checked, by index position: on most days a few, in a map; under
// a new seed every person's, in a slice as long as the index (24 bytes a
// person, where a map of a million took three times that as it grew).
type rawSums struct {
	few map[int32]contractSum
	all []contractSum
}

func (r *rawSums) add(i int32, h [16]byte) {
	if r.all != nil {
		r.all[i].addHash(h)
		return
	}
	if r.few == nil {
		r.few = map[int32]contractSum{}
	}
	s := r.few[i]
	s.addHash(h)
	r.few[i] = s
}

func (r *rawSums) get(i int32) contractSum {
	switch {
	case int(i) < len(r.all): // the index may have grown since (later joiners)
		return r.all[i]
	case r.few != nil:
		return r.few[i]
	}
	return contractSum{}
}

// newFilter returns the filter src is read through, or nil for a pulled
// source. A source with nothing recorded is read through one too: its
// rows then carry the hashes of their records, which are what is
// recorded, so a plan in memory records what a staged one does.
func (st *state) newFilter(src *connector.Source, skip []string) *sourceFilter {
	stages := st.stg.stages(src)
	if src.API != nil {
		return nil // a pulled source's pages are read once, whole
	}
	return &sourceFilter{st: st, src: src, skip: skip, px: newHasher(), cx: newHasher(),
		pe: lookup{x: st.index}, ce: lookup{x: st.index}, others: map[string]bool{}, stages: stages,
		loaded: map[string]*lifecycle.Person{}}
}

// lookup is one goroutine's way into the index that remembers the last
// person it found: the checks on one row, and consecutive rows of one
// person, ask for the same entry again, and at 1M persons a probe is a
// few cache misses (a tenth of an ingest's CPU before this). It tries the
// entry after the last one first: the index is read in employee order,
// and so are most files, so the next row's person is most often the next
// entry, read from memory next to the last instead of through the table.
type lookup struct {
	x   *index
	emp string
	e   *entry
	i   int // e's position in the index, when e is not nil
	ok  bool
}

func (l *lookup) get(emp string) *entry {
	if l.ok && emp == l.emp {
		return l.e
	}
	l.emp, l.ok = emp, true
	if next := l.i + 1; l.e != nil && next < l.x.len() && l.x.key(next) == emp {
		l.e, l.i = &l.x.ents[next], next
		return l.e
	}
	l.e, l.i = nil, 0
	if i := l.x.find(emp); i >= 0 {
		l.e, l.i = &l.x.ents[i], i
	}
	return l.e
}

// Line, Forget and eachLine are the lines of the dropped persons rows of
// stored persons, kept in their index entries (a map of a million lines
// was 60 MB): Person keeps them on the persons goroutine, Line and
// eachLine read them after it.
func (f *sourceFilter) Line(emp string) (int, bool) {
	if e := f.pe.get(emp); e != nil && e.line > 0 {
		return int(e.line), true
	}
	return 0, false
}

func (f *sourceFilter) Forget(emp string) {
	if e := f.pe.get(emp); e != nil {
		e.line = 0
	}
}

// eachLine calls fn with every employee number whose line Person kept.
func (f *sourceFilter) eachLine(fn func(emp string)) {
	f.st.index.each(func(emp string, e *entry) {
		if e.line > 0 {
			fn(emp)
		}
	})
}

// Seed adds to the seed of the rows' hashes the fields other sources own,
// which this source's rows are not diffed on: when they change, so does
// what a row means to the diff.
func (f *sourceFilter) Seed() []byte {
	return []byte("skip\x00" + strings.Join(f.skip, "\x00"))
}

// Unchanged drops, before it is checked or mapped, the row of a stored
// person whose record hashes as what the source recorded, keeping its
// line in the index entry. Joiners, rows a provider supplies for a
// staged joiner, persons another source took over, voided or left, and
// rows never recorded (rejected last time, or new) go on to Person.
func (f *sourceFilter) Unchanged(emp string, line int, h [16]byte) bool {
	e := f.pe.get(emp)
	switch {
	case e == nil || f.st.hashes == 0 || line > math.MaxInt32,
		f.stages && f.st.newJoiner(e, emp),
		f.src.IsProvider() && f.st.stg.stagedBy(emp) != "",
		!f.st.unchangedAt(f.src, e, e.Hashes.Person, lifecycle.Hash(h), emp):
		return false
	}
	e.line = int32(line)
	return true
}

// Person drops a row the diff does not need (it hashes as the source
// recorded, or it went to the stage), keeping the line of a stored
// person's row in its index entry.
func (f *sourceFilter) Person(fields []string, p *connector.PersonRow) (keep, lineKept bool) {
	keep = f.person(fields, p)
	if keep {
		return true, false
	}
	if e := f.pe.get(p.EmployeeNumber); e != nil && p.Line <= math.MaxInt32 {
		e.line = int32(p.Line)
		return false, true
	}
	return false, false
}

// person is Person's verdict on the row: keep it, or not.
func (f *sourceFilter) person(fields []string, p *connector.PersonRow) bool {
	if f.fields == nil {
		f.fields = diffedFields(f.src, fields, f.skip)
		for _, name := range f.fields {
			f.pos = append(f.pos, slices.Index(model.PersonFields, name))
		}
	}
	emp := p.EmployeeNumber
	e := f.pe.get(emp)
	switch {
	case f.stages && f.st.newJoiner(e, emp):
		// A joiner's row goes to the stage (staged.go), not into memory.
		f.st.stagePerson(f.src, f.pos, p, f.hash(p))
		return false
	case f.src.IsProvider() && f.st.stg.stagedBy(emp) != "":
		f.st.provide(f.src, f.fields, p, f.hash(p))
		f.provided++
		return e != nil // taken over by a later source: diffed too (planProvider)
	case f.st.hashes == 0 || e == nil:
		return true // nothing recorded to compare with
	}
	h := f.hash(p)
	return !f.st.unchangedAt(f.src, e, e.Hashes.Person, h, emp) && !f.sameAsStored(e, p, h)
}

// sameAsStored reports whether a row whose hash differs from the recorded
// one still holds what the store holds in every field it is diffed on,
// comparing it with the stored person at once, so the row need not be
// kept. After an upgrade every row hashes anew (the binary is in the
// seed, rowhash.go): kept, the rows of 100k persons took 175 MB where a
// day's take 82 MB. Only a person the source owns, current, with a
// recorded hash and not voided: for the rest the diff decides more than
// its fields.
func (f *sourceFilter) sameAsStored(e *entry, p *connector.PersonRow, h lifecycle.Hash) bool {
	emp := p.EmployeeNumber
	if f.src.IsProvider() || e.Left || !e.Hashes.Person.Known() || f.st.owners[e.Owner] != f.src.Name || f.st.voided[emp] {
		return false
	}
	if _, touched := f.st.persons[emp]; touched {
		return false // an earlier source of this run changed it: the diff compares with that
	}
	old, err := f.st.loader.Person(f.st.ctx, emp)
	if err != nil || old == nil || old.Left || old.Source != f.src.Name {
		return false // the diff loads it again, and meets the error there
	}
	for _, name := range f.fields {
		if old.Field(name) != p.Field(name) {
			f.loaded[strings.Clone(emp)] = old
			return false
		}
	}
	// The recorded hash is not asked for again (a person has one row):
	// the entry holds the new one, not a map of a million.
	e.Hashes.Person, e.rehashed = h, true
	f.rehashed++
	return true
}

// hash is hasher.row for the persons goroutine's reader.
func (f *sourceFilter) hash(p *connector.PersonRow) lifecycle.Hash {
	if p.Hash != ([16]byte{}) {
		return lifecycle.Hash(p.Hash)
	}
	return f.px.personAt(f.fields, f.pos, &p.Person)
}

func (f *sourceFilter) Contract(c *connector.ContractRow) bool {
	e := f.ce.get(c.EmployeeNumber)
	if f.stages && f.st.newJoiner(e, c.EmployeeNumber) {
		// Staged, and checked for duplicates there (planStaged).
		f.st.stageContract(f.src, c)
		return true
	}
	if e != nil {
		e.addContract(f.cx, &c.Contract)
		return false
	}
	if !f.others[c.EmployeeNumber] {
		// A copy: the number is a slice of the row's text, which the
		// first pass does not keep.
		f.others[strings.Clone(c.EmployeeNumber)] = true
	}
	return false
}

// ContractsSeed learns the seed of the contracts rows' hashes. Under
// another seed than the recorded one (a new binary, other settings, a
// new header) no raw hash can match: the entries that hold one get the
// mapped hash back, and every row is checked and compared as mapped.
// Called on the contracts goroutine, it writes only the fields that side
// owns.
func (f *sourceFilter) ContractsSeed(seed []byte) error {
	f.seed = slices.Clone(seed)
	f.unchecks = !f.src.IsProvider() && bytes.Equal(seed, f.st.rawSeed)
	if !f.unchecks && !f.src.IsProvider() {
		f.raws.all = make([]contractSum, f.st.index.len()) // every stored person's rows are checked
	}
	if f.unchecks || f.st.rawSeed == nil {
		return nil
	}
	l := lookup{x: f.st.index}
	_, err := f.st.store.EachHashes(f.st.ctx, f.src.Name, "", func(_ int, emp string, h lifecycle.Hashes) {
		if e := l.get(emp); e != nil && e.raw {
			e.Hashes.Contracts, e.raw = h.Contracts, false
		}
	})
	return err
}

// Unchecked takes, unchecked, the row of a stored person whose rows the
// source recorded a raw hash of, summing it into the entry; for another
// stored person it sums the row into raws and leaves it to be checked.
func (f *sourceFilter) Unchecked(emp string, h [16]byte) bool {
	e := f.ce.get(emp)
	if e == nil || f.src.IsProvider() {
		return false
	}
	if f.unchecks && e.raw {
		e.addRaw(h)
		f.uncheckedRows++
		return true
	}
	f.raws.add(int32(f.ce.i), h)
	return false
}

// Rechecks reports whether Unchecked took emp's rows.
func (f *sourceFilter) Rechecks(emp string) bool {
	e := f.ce.get(emp)
	return f.unchecks && e != nil && e.raw
}

// rawOf is the raw hash to record beside the contracts hash of kept rows
// of emp: the sum of its rows as read, when every one of them is one of
// the kept contracts (no reject, duplicate or merge among them); else
// NoRaw, so the next ingest checks them again.
func (f *sourceFilter) rawOf(emp string, kept int, protected bool) lifecycle.Hash {
	if f == nil || protected || f.src.IsProvider() {
		return lifecycle.NoRaw
	}
	i := f.st.index.find(emp)
	if i < 0 {
		return lifecycle.NoRaw // not stored: its rows were not summed
	}
	e := &f.st.index.ents[i]
	s := f.raws.get(int32(i))
	if f.unchecks && e.raw {
		s = e.sum()
	}
	if s.n == 0 || s.n != uint64(kept) {
		return lifecycle.NoRaw
	}
	return s.hash(f.cx)
}

// indexHashes returns the hashes the plan records that the index and
// the filter hold, not the plan's map (after a new binary, a million
// persons of each): the new hashes of the persons rows that only hashed
// anew, and the raw hashes of the persons whose rows were checked and
// are as recorded (mapped), clean (every row one of its contracts) and
// not kept, so that the next ingest compares those rows as read. planned
// gives the plan's own hashes, which a raw hash here never overrides.
// The hashes are read from the index when the returned function is
// called: before the next source's take their place (useHashesOf),
// keepIndexHashes copies them out.
func (f *sourceFilter) indexHashes(protected map[string]bool, planned func(emp string) lifecycle.Hashes) func(yield func(emp string, h lifecycle.Hashes) error) error {
	if f == nil {
		return nil
	}
	bootstrap := f.st.hashes > 0 // else every row was kept, and planned
	if bootstrap {
		f.compare()
	}
	x := f.st.index
	// Every entry when rows hashed anew or every person's rows were
	// checked; on other days only the few persons raws holds, not the
	// whole index of a million at each apply.
	at := func(yield func(int) bool) {
		for i := range x.ents {
			if !yield(i) {
				return
			}
		}
	}
	if f.rehashed == 0 && f.raws.all == nil {
		few := slices.Sorted(maps.Keys(f.raws.few))
		at = func(yield func(int) bool) {
			for _, i := range few {
				if !yield(int(i)) {
					return
				}
			}
		}
	}
	return func(yield func(emp string, h lifecycle.Hashes) error) error {
		cx := newHasher()
		for i := range at {
			e := &x.ents[i]
			var h lifecycle.Hashes
			if e.rehashed {
				h.Person = e.Hashes.Person
			}
			if s := f.raws.get(int32(i)); bootstrap && s.n > 0 && !e.contractsChanged && s.n == uint64(e.sumN) {
				if emp := x.key(i); !protected[emp] {
					if p := planned(emp); !p.Contracts.Known() && !p.Raw.Known() {
						h.Raw = s.hash(cx)
					}
				}
			}
			if h.Person.Known() || h.Raw.Known() {
				if err := yield(x.key(i), h); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// keepIndexHashes copies what plan.indexHashes yields out of the index,
// for a source that more follow.
func (plan *Plan) keepIndexHashes() {
	if plan.indexHashes == nil {
		return
	}
	type kept struct {
		emp string
		h   lifecycle.Hashes
	}
	var all []kept
	plan.indexHashes(func(emp string, h lifecycle.Hashes) error {
		all = append(all, kept{emp, h})
		return nil
	})
	plan.indexHashes = func(yield func(emp string, h lifecycle.Hashes) error) error {
		for _, k := range all {
			if err := yield(k.emp, k.h); err != nil {
				return err
			}
		}
		return nil
	}
}

// KeepContracts is asked for every row of the second pass: the answer is
// worked out once per person, on the first call, when the first pass and
// the persons file are done. The rows of a person the persons file does
// not list are kept (orphans, or leavers' rows), and so are those of a
// person the store does not hold: nothing recorded to compare with.
func (f *sourceFilter) KeepContracts(emp string, listed func() bool) bool {
	e := f.ce.get(emp)
	if f.stages && f.st.newJoiner(e, emp) {
		return false // staged in the first pass
	}
	if f.st.hashes == 0 {
		return true
	}
	f.compare()
	switch {
	case e == nil || e.contractsChanged:
		return true
	case e.line > 0:
		return false // listed by a row dropped as unchanged (listedLines)
	}
	return !listed()
}

// compare marks, once, the entries whose contract sums hash otherwise
// than the source recorded.
func (f *sourceFilter) compare() {
	if f.compared {
		return
	}
	f.compared = true
	f.st.index.each(func(emp string, e *entry) {
		if e.sumN > 0 {
			sum := e.sum()
			e.contractsChanged = !f.st.unchangedAt(f.src, e, e.Hashes.Contracts, sum.hash(f.cx), emp)
		}
	})
}

// KeepsNoContracts is KeepContracts asked of every row at once. The first
// pass summed every valid row it did not take into a stored person's
// entry or listed its person in others; KeepContracts keeps no row of a
// joiner (taken), keeps every row of others, and keeps a stored person's
// rows only when their sum changed or no persons row lists the person.
func (f *sourceFilter) KeepsNoContracts(listed func(emp string) bool) bool {
	if f.st.hashes == 0 || len(f.others) > 0 {
		return false
	}
	f.compare()
	none := true
	f.st.index.each(func(emp string, e *entry) {
		if none && e.sumN > 0 && (e.contractsChanged || e.line == 0 && !listed(emp)) {
			none = false
		}
	})
	return none
}

// hasContractRows reports whether the contracts file holds a valid row
// for emp, kept or dropped.
func (f *sourceFilter) hasContractRows(emp string) bool {
	if e := f.st.index.get(emp); e != nil {
		return e.sumN > 0
	}
	return f.others[emp]
}
