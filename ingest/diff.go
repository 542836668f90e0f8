package ingest

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// change is one field's old and new value, in an event's details.
type change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// Plan is what applying one source's result would change. The exported
// fields are the plan as its caller reports it; the rest is what the
// engine writes and checks.
type Plan struct {
	Source  string
	Events  []lifecycle.Event // without the staged joiners' (Count counts them)
	Rejects []connector.Reject
	Rows    int // data rows the source gave, valid or not
	// Orphans counts contract rows whose employee number the persons file
	// does not list: HR systems keep listing ended employments of people
	// who left, so they are counted, not rejected, and create nobody.
	Orphans       int
	OrphanExample string // the first orphan, as "employee number (file line N)"
	// Merged counts contract rows without a contract id identical to an
	// earlier row of the same person: one contract, never a reject.
	Merged int

	orphanEmp string // OrphanExample's employee number
	// population is the number of current persons the source owned before,
	// the base for max_removal_percent.
	population int
	unknown    int // provider rows for employee numbers not in the state
	files      []string
	// unchangedSince is the run whose result this one repeats: nothing
	// about the source or the state changed since (0: the source was diffed).
	unchangedSince int64
	digest         string
	// rehashed counts the persons rows whose hash changed and whose fields
	// did not, compared with the stored person as they were read and so
	// not kept (sourceFilter.sameAsStored).
	rehashed int
	// provides is the provider's field list (nil for a primary source); it
	// decides whose recorded generation a later change may carry forward.
	provides []string

	persons map[string]*lifecycle.Person
	joined  map[string]int // employee number -> index of its person.joined event
	leave   []string
	// putContracts point into the source's rows, not copies of them: a
	// first ingest puts every contract.
	putContracts  []*model.Contract
	delContracts  []model.Contract
	snapshotEmpty bool
	// contractsBefore is set when a snapshot's contracts file is empty
	// while its persons had contracts: every contract would go.
	contractsBefore int
	// emptied is set when a lookup file gave no rows and the plan would
	// clear a field it fills where the state holds a value.
	emptied *emptiedLookup
	// hashes are what the source supplies now (hashes.go), putHashes
	// those of them that differ from what it recorded and are written.
	hashes, putHashes map[string]lifecycle.Hashes
	void              []string // persons joined, left or changed in a provider's field: every source's hashes are void
	// filter dropped the rows that hashed as last time while the source
	// was read (nil: none were dropped).
	filter *sourceFilter
	// Joiners staged on disk (staged.go): how many, the writer of their
	// changes, and their numbers when later sources of the run must see
	// them. stagedProvided counts a provider's rows for such joiners.
	stagedJoined, stagedProvided int
	stagedEmps                   []string
	stream                       func(*lifecycle.Writer) error
	// contractsSeed is the seed of the raw hashes the plan records;
	// indexHashes yields the hashes it records that are not in its maps
	// (sourceFilter.indexHashes).
	contractsSeed []byte
	indexHashes   func(yield func(emp string, h lifecycle.Hashes) error) error
}

// emptiedLookup is an empty lookup file and what its emptiness would clear.
type emptiedLookup struct {
	file, field string
	count       int // persons and contracts whose field would go empty
}

// Count returns how many events of kind the plan holds.
func (p *Plan) Count(kind string) int {
	n := 0
	if kind == lifecycle.PersonJoined {
		n = p.stagedJoined
	}
	for _, e := range p.Events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// removals is the number of persons the plan removes.
func (p *Plan) removals() int { return len(p.leave) }

// empty reports a snapshot source with no data rows.
func (p *Plan) empty() bool { return p.snapshotEmpty }

// planSource diffs res against the state, consuming res.Persons.
// skipFields are person fields another source provides, which this source
// must not overwrite. A person whose row hashes as the source recorded
// last time (state.useHashesOf) is not diffed; f is the filter the source
// was read through, or nil.
func (st *state) planSource(res *connector.Result, skipFields []string, f *sourceFilter) *Plan {
	src := res.Source
	plan := &Plan{Source: src.Name, Rejects: slices.Clone(res.Rejects), Rows: res.Rows(), files: res.Files, Merged: res.Merged,
		persons: map[string]*lifecycle.Person{}, joined: map[string]int{}, provides: src.Provides,
		hashes: make(map[string]lifecycle.Hashes, len(res.Persons)), filter: f}
	x := newHasher()
	if src.IsProvider() {
		st.planProvider(plan, res, x)
		return plan
	}
	plan.snapshotEmpty = src.Mode == connector.Snapshot && res.PersonRows == 0
	if src.Mode == connector.Snapshot && src.HasContracts() && res.ContractRows == 0 {
		// Counted in the store, not loaded: contracts belong to their
		// owner, so no earlier source of this run changed these.
		n, err := st.store.OwnedContracts(st.ctx, src.Name)
		if err != nil && st.err == nil {
			st.err = err
		}
		plan.contractsBefore = n
	}
	fields := diffedFields(src, res.Fields, skipFields)
	st.owned(src.Name, func(string) { plan.population++ })
	if f != nil {
		// What the filter compared while the files were read: the rows
		// that only hash anew (their new hashes stay in the index,
		// indexHashes), and the stored persons it loaded.
		plan.rehashed = f.rehashed
		for emp, p := range f.loaded {
			if _, ok := st.persons[emp]; !ok {
				st.persons[emp] = p
			}
		}
		f.loaded = nil
	}

	for _, emp := range slices.Sorted(maps.Keys(res.Persons)) {
		// The plan consumes the rows: each is garbage once planned, so a
		// first ingest does not hold every row and its planned copy at once.
		row := res.Persons[emp]
		delete(res.Persons, emp)
		h := x.row(fields, row)
		plan.hashes[emp] = lifecycle.Hashes{Person: h}
		if st.unchanged(src, st.recorded(emp).Person, h, emp) {
			continue
		}
		old := st.person(emp)
		if old == nil || old.Left {
			p := &lifecycle.Person{Person: model.Person{EmployeeNumber: emp}, Source: src.Name}
			if old != nil {
				p.Blocked, p.BlockReason = old.Blocked, old.BlockReason
			}
			for _, f := range fields {
				p.SetField(f, row.Field(f))
			}
			plan.persons[emp] = p
			plan.void = append(plan.void, emp)
			plan.joined[emp] = len(plan.Events)
			plan.Events = append(plan.Events, lifecycle.Event{Source: plan.Source, Kind: lifecycle.PersonJoined, EmployeeNumber: emp,
				Lazy: &joinedEvent{person: joinedPerson{&p.Person}, file: row.File, line: row.Line}})
			plan.warn(row)
			continue
		}
		p := *old
		p.Source = src.Name
		changes := map[string]change{}
		for _, f := range fields {
			if o, n := old.Field(f), row.Field(f); o != n {
				changes[f] = change{o, n}
				p.SetField(f, n)
			}
		}
		if len(changes) > 0 || old.Source != src.Name {
			plan.persons[emp] = &p
		}
		if len(changes) > 0 {
			plan.event(lifecycle.PersonChanged, emp, map[string]any{"fields": changes, "file": row.File, "line": row.Line})
			plan.warn(row)
			if slices.ContainsFunc(st.providerFields, func(f string) bool { _, ok := changes[f]; return ok }) {
				// A field a provider once filled: its recorded hash of
				// this person no longer says what the state holds.
				plan.void = append(plan.void, emp)
			}
		}
	}

	st.planContracts(plan, res, x)
	if f != nil {
		plan.contractsSeed = f.seed
		plan.indexHashes = f.indexHashes(res.ProtectedContracts, func(emp string) lifecycle.Hashes { return plan.putHashes[emp] })
	}
	if st.stg.stages(src) {
		if err := st.planStaged(plan, res); err != nil && st.err == nil {
			st.err = err
		}
	}
	plan.emptied = emptiedBy(res.EmptyLookups(), plan.Events)

	if src.Mode == connector.Delta {
		for _, emp := range slices.Sorted(maps.Keys(res.Deleted)) {
			if st.present(emp) {
				plan.leaveUnlessHeld(st, res, emp, map[string]any{"reason": "delete flag", "line": res.Deleted[emp]})
			}
		}
		return plan
	}
	var gone []string
	st.owned(src.Name, func(emp string) {
		if _, listed := res.ListedOn(emp); !listed {
			gone = append(gone, emp)
		}
	})
	sort.Strings(gone)
	for _, emp := range gone {
		plan.leaveUnlessHeld(st, res, emp, map[string]any{"reason": "not in snapshot"})
	}
	return plan
}

// orphans counts n orphan contract rows of emp, the first on line of
// file; the example is the lowest employee number's first row, whichever
// of the rows in memory and on the stage is counted first.
func (plan *Plan) orphans(emp string, n int, file string, line int) {
	if plan.Orphans == 0 || emp < plan.orphanEmp {
		plan.orphanEmp = emp
		plan.OrphanExample = fmt.Sprintf("%s (%s line %d)", emp, file, line)
	}
	plan.Orphans += n
}

// diffedFields are the person fields a source's rows are compared (and
// hashed) on: a provider's are all it supplies; a primary source leaves
// out those a provider fills.
func diffedFields(src *connector.Source, fields, provided []string) []string {
	if src.IsProvider() {
		return fields
	}
	return slices.DeleteFunc(slices.Clone(fields), func(f string) bool { return slices.Contains(provided, f) })
}

// leaveUnlessHeld removes emp, unless a rejected row of this source names
// its employee number: then the person keeps its last good state and the
// held removal is an event pointing at that row.
func (plan *Plan) leaveUnlessHeld(st *state, res *connector.Result, emp string, details map[string]any) {
	if r, held := res.HeldBy(emp); held {
		plan.event(lifecycle.PersonHeld, emp, map[string]any{"reason": "removal held back: a rejected row names this employee number",
			"file": r.File, "line": r.Line, "reject": r.Reason})
		return
	}
	plan.leaveEvent(st, emp, details)
}

// emptiedBy finds the first empty lookup file (by name) whose fields the
// plan's changes would clear: a value in the state, nothing in the file.
func emptiedBy(empty map[string][]string, events []lifecycle.Event) *emptiedLookup {
	for _, file := range slices.Sorted(maps.Keys(empty)) {
		counts := map[string]int{}
		for _, e := range events {
			changes, _ := e.Details["fields"].(map[string]change)
			for _, f := range empty[file] {
				if ch, ok := changes[f]; ok && ch.Old != "" && ch.New == "" {
					counts[f]++
				}
			}
		}
		for _, f := range empty[file] {
			if counts[f] > 0 {
				return &emptiedLookup{file: file, field: f, count: counts[f]}
			}
		}
	}
	return nil
}

func (plan *Plan) leaveEvent(st *state, emp string, details map[string]any) {
	plan.leave = append(plan.leave, emp)
	plan.void = append(plan.void, emp)
	cs := st.contractsOf(emp)
	details["contracts"] = len(cs)
	// The HR end date, for time to revoke (the contracts go with the leave).
	end := ""
	for _, c := range cs {
		end = max(end, c.EndDate)
	}
	if end != "" {
		details["hr_end"] = end
	}
	plan.event(lifecycle.PersonLeft, emp, details)
}

func (st *state) planContracts(plan *Plan, res *connector.Result, x *hasher) {
	// Grouped in place: a stable sort by employee number keeps each
	// person's rows in file order, and each person's rows are a window of
	// the result's, not a copy of them.
	rows := res.Contracts
	slices.SortStableFunc(rows, func(a, b connector.ContractRow) int { return strings.Compare(a.EmployeeNumber, b.EmployeeNumber) })
	byEmp := map[string][]connector.ContractRow{}
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].EmployeeNumber == rows[i].EmployeeNumber {
			j++
		}
		byEmp[rows[i].EmployeeNumber] = rows[i:j:j]
		i = j
	}
	// Contract rows of persons the persons file does not list: orphans.
	for _, emp := range slices.Sorted(maps.Keys(byEmp)) {
		_, inFile := res.ListedOn(emp)
		if inFile || res.Protected[emp] || (res.Source.Mode == connector.Delta && st.present(emp)) {
			continue
		}
		plan.orphans(emp, len(byEmp[emp]), byEmp[emp][0].File, byEmp[emp][0].Line)
		delete(byEmp, emp)
	}
	for _, emp := range slices.Sorted(maps.Keys(byEmp)) {
		if res.Protected[emp] {
			continue
		}
		h := plan.hashes[emp]
		h.Contracts = x.contracts(byEmp[emp])
		h.Raw = plan.filter.rawOf(emp, len(byEmp[emp]), res.ProtectedContracts[emp])
		plan.hashes[emp] = h
		if st.unchanged(res.Source, st.recorded(emp).Contracts, h.Contracts, emp) {
			continue
		}
		// A person the index does not hold (a joiner) has no contracts:
		// no empty map is made and kept for each of 100k joiners.
		var existing map[string]model.Contract
		if st.present(emp) {
			existing = st.contractsOf(emp)
		}
		seen := map[string]bool{}
		from := -1 // a joiner's first put contract
		for k := range byEmp[emp] {
			row := &byEmp[emp][k]
			c := &row.Contract
			seen[c.Key] = true
			old, ok := existing[c.Key]
			if !ok {
				plan.putContracts = append(plan.putContracts, c)
				if i, joined := plan.joined[emp]; joined {
					// A joiner's contracts are part of its one event: they
					// are put one after the other, so the event holds a
					// window of the put contracts instead of copies.
					if from < 0 {
						from = len(plan.putContracts) - 1
					}
					n := len(plan.putContracts)
					plan.Events[i].Lazy.(*joinedEvent).contracts = plan.putContracts[from:n:n]
					continue
				}
				plan.event(lifecycle.ContractAdded, emp, map[string]any{"contract": *c, "file": row.File, "line": row.Line})
				continue
			}
			changes := map[string]change{}
			for _, f := range model.ContractFields {
				if o, n := old.Field(f), c.Field(f); o != n {
					changes[f] = change{o, n}
				}
			}
			if len(changes) == 0 {
				continue
			}
			kind := lifecycle.ContractChanged
			if ch, ok := changes["end_date"]; ok && ch.New != "" && (ch.Old == "" || ch.New < ch.Old) {
				kind = lifecycle.ContractEnded
			}
			plan.putContracts = append(plan.putContracts, c)
			plan.event(kind, emp, map[string]any{"key": c.Key, "fields": changes, "file": row.File, "line": row.Line})
		}
		if res.Source.Mode == connector.Snapshot && !res.ProtectedContracts[emp] {
			for _, key := range slices.Sorted(maps.Keys(existing)) {
				if !seen[key] {
					plan.delContracts = append(plan.delContracts, existing[key])
					plan.event(lifecycle.ContractRemoved, emp, map[string]any{"contract": existing[key]})
				}
			}
		}
	}
	// Snapshot persons listed without any contract row lose their contracts.
	if res.Source.Mode == connector.Snapshot && res.Source.HasContracts() {
		hasRows := func(emp string) bool { _, has := byEmp[emp]; return has }
		if plan.filter != nil {
			hasRows = plan.filter.hasContractRows
		}
		// Only the few persons without a row are sorted, not every listed one.
		var without []string
		check := func(emp string) {
			if !hasRows(emp) && !res.ProtectedContracts[emp] && st.present(emp) {
				without = append(without, emp)
			}
		}
		for emp := range res.Listed {
			check(emp)
		}
		if plan.filter != nil {
			plan.filter.eachLine(check)
		}
		none := x.contracts(nil)
		for _, emp := range slices.Sorted(slices.Values(without)) {
			h := plan.hashes[emp]
			h.Contracts, h.Raw = none, lifecycle.NoRaw
			plan.hashes[emp] = h
			if st.unchanged(res.Source, st.recorded(emp).Contracts, h.Contracts, emp) {
				continue
			}
			existing := st.contractsOf(emp)
			for _, key := range slices.Sorted(maps.Keys(existing)) {
				c := existing[key]
				plan.delContracts = append(plan.delContracts, c)
				plan.event(lifecycle.ContractRemoved, emp, map[string]any{"contract": c})
			}
		}
	}
}

func (st *state) planProvider(plan *Plan, res *connector.Result, x *hasher) {
	if plan.filter != nil {
		plan.stagedProvided = plan.filter.provided
	}
	for _, emp := range slices.Sorted(maps.Keys(res.Persons)) {
		// A row for a staged joiner goes into its person.joined event;
		// a file's was staged as it was read, a pulled one is here. When
		// a later source took the joiner over, the row is also diffed
		// against that source's version, to be written after it, but its
		// change is the joined event's.
		staged := st.stg.stagedBy(emp) != ""
		if staged && plan.filter == nil {
			row := res.Persons[emp]
			st.provide(res.Source, res.Fields, row, x.row(res.Fields, row))
			plan.stagedProvided++
		}
		if staged && !st.known(emp) {
			continue
		}
		if !st.present(emp) {
			plan.unknown++
			continue
		}
		row := res.Persons[emp]
		h := x.row(res.Fields, row)
		plan.hashes[emp] = lifecycle.Hashes{Person: h}
		if st.unchanged(res.Source, st.recorded(emp).Person, h, emp) {
			continue
		}
		old := st.person(emp)
		if old == nil {
			continue // a failed load: st.err ends the ingest
		}
		p := *old
		changes := map[string]change{}
		for _, f := range res.Fields {
			if o, n := old.Field(f), row.Field(f); o != n {
				changes[f] = change{o, n}
				p.SetField(f, n)
			}
		}
		if len(changes) > 0 {
			plan.persons[emp] = &p
			if !staged {
				plan.event(lifecycle.PersonChanged, emp, map[string]any{"fields": changes, "file": row.File, "line": row.Line})
				plan.warn(row)
			}
		}
	}
}

func (plan *Plan) event(kind, emp string, details map[string]any) {
	plan.Events = append(plan.Events, lifecycle.Event{Source: plan.Source, Kind: kind, EmployeeNumber: emp, Details: details})
}

func (plan *Plan) warn(row *connector.PersonRow) {
	for _, w := range row.Warnings {
		plan.Events = append(plan.Events, warningEvent(plan.Source, row.EmployeeNumber, w, row.File, row.Line))
	}
}

// warningEvent is a row's warning (an unverified email domain, an unknown
// naming convention) as an event.
func warningEvent(source, emp, warning, file string, line int) lifecycle.Event {
	return lifecycle.Event{Source: source, Kind: lifecycle.RowWarning, EmployeeNumber: emp,
		Details: map[string]any{"warning": warning, "file": file, "line": line}}
}

// remember makes the plan part of the in-memory state (it writes nothing), so later sources of
// the same run see it. The run's last plan needs none.
func (st *state) remember(plan *Plan) {
	for emp, p := range plan.persons {
		p.Left = false
		st.persons[emp] = p
		e := st.index.add(emp)
		e.Owner, e.Left = st.owner(p.Source), false
	}
	for _, emp := range plan.leave {
		if p, ok := st.persons[emp]; ok {
			p.Left = true
		}
		st.index.add(emp).Left = true
		st.contracts[emp] = map[string]model.Contract{}
	}
	for _, emp := range plan.void {
		st.voided[emp] = true
	}
	if plan.stagedEmps != nil {
		st.stg.joined[plan.Source] = plan.stagedEmps
	}
	for _, c := range plan.delContracts {
		delete(st.contractsOf(c.EmployeeNumber), c.Key)
	}
	for _, c := range plan.putContracts {
		st.contractsOf(c.EmployeeNumber)[c.Key] = *c
	}
}

// changes reports whether the plan changes the state.
func (p *Plan) changes() bool {
	return len(p.persons) > 0 || len(p.leave) > 0 || len(p.putContracts) > 0 || len(p.delContracts) > 0 ||
		p.stagedJoined > 0 || p.stagedProvided > 0
}

// Summary is a one-line account of the plan.
func (p *Plan) Summary() string {
	var s string
	if p.unchangedSince > 0 {
		s = fmt.Sprintf("%s: %d rows, unchanged since run %d, %d rejected", p.Source, p.Rows, p.unchangedSince, len(p.Rejects))
	} else {
		s = fmt.Sprintf("%s: %d rows, %d joined, %d changed, %d left, %d contracts added, %d changed, %d ended, %d removed, %d rejected",
			p.Source, p.Rows, p.Count(lifecycle.PersonJoined), p.Count(lifecycle.PersonChanged), p.Count(lifecycle.PersonLeft),
			p.Count(lifecycle.ContractAdded), p.Count(lifecycle.ContractChanged), p.Count(lifecycle.ContractEnded), p.Count(lifecycle.ContractRemoved), len(p.Rejects))
	}
	if n := p.Count(lifecycle.PersonHeld); n > 0 {
		s += fmt.Sprintf(", %d removals held back by rejected rows", n)
	}
	if p.Orphans > 0 {
		s += fmt.Sprintf(", %d orphan contract rows skipped", p.Orphans)
	}
	if p.Merged > 0 {
		s += fmt.Sprintf(", %d contract rows merged (identical rows without a contract id)", p.Merged)
	}
	return s
}

// changeSet is the plan as the store writes it.
func (p *Plan) changeSet() *lifecycle.Changes {
	ch := &lifecycle.Changes{Source: p.Source, Leave: p.leave, PutContracts: p.putContracts, DelContracts: p.delContracts,
		Events: p.Events, Digest: p.digest, Rows: p.Rows, Hashes: p.putHashes, VoidHashes: p.void,
		Streamed: p.stagedJoined, Provides: p.provides, ContractsSeed: p.contractsSeed, MoreHashes: p.indexHashes}
	for _, emp := range slices.Sorted(maps.Keys(p.persons)) {
		ch.Persons = append(ch.Persons, p.persons[emp])
	}
	for _, r := range p.Rejects {
		ch.Rejects = append(ch.Rejects, lifecycle.Reject{File: r.File, Line: r.Line, Column: r.Column, Reason: r.Reason,
			Raw: r.Raw, EmployeeNumber: r.EmployeeNumber})
	}
	return ch
}
