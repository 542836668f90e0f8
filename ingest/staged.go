package ingest

import (
	"context"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// A person new to the store (a joiner the index does not know) is not
// planned in memory: its persons row, its contract rows and what the
// providers supply for it go to a stage on disk as the files are read
// (lifecycle.Stage), and come back in employee order when its source's
// changes are written, one person at a time. A first ingest of 1M persons
// held every row and its planned copy at once. Only counts, and the few
// staged rows a rejected row makes void, stay in memory.
//
// Staged are the rows of primary sources read from files with a contracts
// file (their filter can drop rows: connector.Filter) and, for those
// joiners, the rows of providers. A dry run plans in memory, as it writes
// nothing anywhere.
type staging struct {
	store *lifecycle.Store
	names []string            // the run's sources, in order
	index map[string]int      // source name -> position
	field map[string][]string // a provider's fields, as its staged values list them
	files map[string]string   // a provider's persons file
	stage *lifecycle.Stage
	// joined are, per source read so far, the joiners it staged (sorted):
	// later sources see them as current persons.
	joined map[string][]string
	skip   map[string]*stagedSkip
}

// stagedSkip are the staged rows a source's later rows or rejects made
// void: few, so they are kept in memory.
type stagedSkip struct {
	persons   map[string]bool // a duplicate number rejected the staged row
	contracts map[int]bool    // lines of the contracts file rejected (duplicate contracts)
	none      map[string]bool // joiners whose contracts are all held back (a rejected persons row)
	// rejected are the employee numbers with a rejected contract row (the
	// source's ProtectedContracts): their rows as read are not all their
	// contracts, so no raw hash of them is recorded.
	rejected map[string]bool
}

func newStaging(s *lifecycle.Store, sources []*connector.Source) *staging {
	g := &staging{store: s, index: map[string]int{}, field: map[string][]string{}, files: map[string]string{}, joined: map[string][]string{}, skip: map[string]*stagedSkip{}}
	for i, src := range sources {
		g.names = append(g.names, src.Name)
		g.index[src.Name] = i
	}
	return g
}

// begin readies the stage for the rows of src, before it is read: made
// for the first source that stages, and only then.
func (g *staging) begin(ctx context.Context, src *connector.Source) error {
	if g == nil || !(g.stages(src) || src.IsProvider() && len(g.joined) > 0) {
		return nil
	}
	if g.stage == nil {
		var err error
		if g.stage, err = g.store.NewStage(); err != nil {
			return err
		}
	}
	// A cancelled ingest stops the stage's writer too.
	g.stage.Begin(ctx)
	return nil
}

func (g *staging) close() {
	if g != nil && g.stage != nil {
		g.stage.Close()
	}
}

// stages reports whether src's joiners are staged.
func (g *staging) stages(src *connector.Source) bool {
	return g != nil && !src.IsProvider() && src.HasContracts() && src.API == nil
}

// stagedBy returns the source that staged emp as a joiner earlier in the
// run, or "".
func (g *staging) stagedBy(emp string) string {
	if g == nil {
		return ""
	}
	for src, emps := range g.joined {
		if _, ok := slices.BinarySearch(emps, emp); ok {
			return src
		}
	}
	return ""
}

// newJoiner reports whether emp, whose index entry is e (nil: none),
// would join: the store does not know it and no earlier source of the run
// staged it.
func (st *state) newJoiner(e *entry, emp string) bool {
	return e == nil && st.stg.stagedBy(emp) == ""
}

// stagePerson stages a primary source's row for a joiner: the fields the
// source sets (by their positions in model.PersonFields, as the filter
// resolved them: every row of a first ingest comes here), its warnings
// and its hash.
func (st *state) stagePerson(src *connector.Source, pos []int, row *connector.PersonRow, h lifecycle.Hash) {
	p := model.Person{EmployeeNumber: row.EmployeeNumber}
	for _, i := range pos {
		p.SetFieldAt(i, row.FieldAt(i))
	}
	st.stg.stage.Person(st.stg.index[src.Name], &p, row.Line, row.Warnings, h)
}

func (st *state) stageContract(src *connector.Source, c *connector.ContractRow) {
	st.stg.stage.Contract(st.stg.index[src.Name], &c.Contract, c.Line, lifecycle.Hash(c.Hash))
}

// provide stages a provider's row for a person an earlier source of the
// run staged as a joiner: its fields go into that person.joined event.
func (st *state) provide(src *connector.Source, fields []string, row *connector.PersonRow, h lifecycle.Hash) {
	g := st.stg
	g.field[src.Name], g.files[src.Name] = fields, row.File
	vals := make([]string, len(fields))
	for i, f := range fields {
		vals[i] = row.Field(f)
	}
	g.stage.Provide(g.index[src.Name], row.EmployeeNumber, row.Line, vals, row.Warnings, h)
}

// planStaged counts what src staged: its joiners, and the orphans among
// its staged contract rows; it notes the staged rows rejects made void.
func (st *state) planStaged(plan *Plan, res *connector.Result) error {
	g := st.stg
	if g.stage == nil {
		return nil // nothing staged yet
	}
	skip := &stagedSkip{persons: map[string]bool{}, contracts: map[int]bool{}, none: map[string]bool{}, rejected: res.ProtectedContracts}
	for _, r := range res.Rejects {
		if r.File == res.Source.Contracts {
			skip.contracts[r.Line] = true
		}
	}
	g.skip[plan.Source] = skip
	var joined []string
	var dups []connector.DuplicateContract
	err := g.stage.EachLine(st.ctx, g.index[plan.Source], func(sg *lifecycle.StagedGroup) error {
		dups = duplicates(dups, sg, skip.contracts, &plan.Merged)
		if p := sg.Person; p != nil {
			if line, ok := res.ListedOn(sg.Emp); !ok || line != p.Line {
				skip.persons[sg.Emp] = true
			} else {
				plan.stagedJoined++
				if res.Protected[sg.Emp] {
					skip.none[sg.Emp] = true
				}
				if st.later {
					joined = append(joined, strings.Clone(sg.Emp))
				}
				return nil
			}
		}
		if _, listed := res.ListedOn(sg.Emp); listed || res.Protected[sg.Emp] {
			return nil
		}
		for _, c := range sg.Contracts {
			if !skip.contracts[c.Line] {
				plan.orphans(sg.Emp, 1, res.Source.Contracts, c.Line)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The connector left the staged rows' duplicates to the stage.
	rejects, err := res.RejectDuplicateContracts(dups)
	if err != nil {
		return err
	}
	plan.Rejects = append(plan.Rejects, rejects...)
	if plan.stagedJoined > 0 {
		plan.stream = st.streamStaged(plan.Source, res.Source.Persons)
	}
	plan.stagedEmps = joined
	return nil
}

// streamStaged writes source's staged joiners: each person with what the
// providers supplied for it, its contracts, one person.joined event with
// them (and the providers named), its warnings and every source's hashes.
func (st *state) streamStaged(source, file string) func(*lifecycle.Writer) error {
	g := st.stg
	ctx := st.ctx
	skip := g.skip[source]
	return func(w *lifecycle.Writer) error {
		x := newHasher()
		var contracts []*model.Contract
		var changedBy []bool
		return g.stage.Each(ctx, g.index[source], true, func(sg *lifecycle.StagedGroup) error {
			sp := sg.Person
			if sp == nil || skip.persons[sg.Emp] {
				return nil
			}
			p := &lifecycle.Person{Person: sp.Person, Source: source}
			je := &joinedEvent{person: joinedPerson{&p.Person}, file: file, line: sp.Line}
			changedBy = changedBy[:0]
			for _, pv := range sg.Provided {
				name := g.names[pv.Src]
				changed := false
				for i, f := range g.field[name] {
					if i < len(pv.Values) && p.Field(f) != pv.Values[i] {
						p.SetField(f, pv.Values[i])
						changed = true
					}
				}
				if changed {
					je.providedBy = append(je.providedBy, name)
				}
				changedBy = append(changedBy, changed)
			}
			if err := w.Person(p); err != nil {
				return err
			}
			h := lifecycle.Hashes{Person: sp.Hash}
			contracts = contracts[:0]
			if !skip.none[sg.Emp] {
				// The raw hash is of the rows as read, recorded only when
				// every one of them is one of the contracts.
				var sum, raw contractSum
				clean := !skip.rejected[sg.Emp]
				for i := range sg.Contracts {
					c := &sg.Contracts[i]
					if skip.contracts[c.Line] {
						clean = false
						continue
					}
					contracts = append(contracts, &c.Contract)
					sum.add(x, &c.Contract)
					raw.addHash(c.Hash)
					clean = clean && c.Hash.Known()
					if err := w.Contract(&c.Contract); err != nil {
						return err
					}
				}
				if len(contracts) > 0 {
					h.Contracts, h.Raw = sum.hash(x), lifecycle.NoRaw
					if clean {
						h.Raw = raw.hash(x)
					}
				}
			}
			je.contracts = contracts
			if err := w.Event(&lifecycle.Event{Source: source, Kind: lifecycle.PersonJoined, EmployeeNumber: sg.Emp, Lazy: je}); err != nil {
				return err
			}
			if err := writeWarnings(w, source, sg.Emp, sp.Warnings, file, sp.Line); err != nil {
				return err
			}
			if err := w.Hashes(source, sg.Emp, h); err != nil {
				return err
			}
			for i, pv := range sg.Provided {
				name := g.names[pv.Src]
				if err := w.Hashes(name, sg.Emp, lifecycle.Hashes{Person: pv.Hash}); err != nil {
					return err
				}
				if changedBy[i] {
					if err := writeWarnings(w, name, sg.Emp, pv.Warnings, g.files[name], pv.Line); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
}

// duplicates appends the contract keys g has on more than one line, and
// marks those lines void in skip. Rows of a key without a contract id
// that are all identical are one contract: the first stays, the others
// are void and counted in merged, not rejected.
func duplicates(dups []connector.DuplicateContract, g *lifecycle.StagedGroup, skip map[int]bool, merged *int) []connector.DuplicateContract {
	cs := g.Contracts
	if len(cs) < 2 {
		return dups
	}
	// By key, in line order: a person has a handful of contracts, but a
	// hostile file may give one person thousands.
	byKey := map[string][]int{} // key -> indexes in cs
	var keys []string
	for i, c := range cs {
		if len(byKey[c.Key]) == 0 {
			keys = append(keys, c.Key)
		}
		byKey[c.Key] = append(byKey[c.Key], i)
	}
	for _, k := range keys {
		rows := byKey[k]
		if len(rows) < 2 {
			continue
		}
		first := &cs[rows[0]]
		same := !first.HasID()
		for _, i := range rows[1:] {
			same = same && cs[i].Same(first)
		}
		lines := make([]int, len(rows))
		for j, i := range rows {
			lines[j] = cs[i].Line
		}
		if same {
			for _, l := range lines[1:] {
				skip[l] = true
			}
			*merged += len(lines) - 1
			continue
		}
		for _, l := range lines {
			skip[l] = true
		}
		d := connector.DuplicateContract{EmployeeNumber: strings.Clone(g.Emp), Key: k, Lines: lines}
		if !first.HasID() {
			// Which field differs, for the reject's reason.
			a := first.Decoded()
			for _, i := range rows[1:] {
				if !cs[i].Same(first) {
					d.Conflict = &[2]model.Contract{a, cs[i].Decoded()}
					break
				}
			}
		}
		dups = append(dups, d)
	}
	return dups
}

func writeWarnings(w *lifecycle.Writer, source, emp string, warnings []string, file string, line int) error {
	for _, warn := range warnings {
		e := warningEvent(source, emp, warn, file, line)
		if err := w.Event(&e); err != nil {
			return err
		}
	}
	return nil
}

// loadStaged returns a joiner an earlier source of the run staged, as that
// source's plan left it, with its contracts, for a later source's diff.
func (st *state) loadStaged(emp string) (*lifecycle.Person, map[string]model.Contract, error) {
	owner := st.stg.stagedBy(emp)
	sp, cs, err := st.stg.stage.Load(st.ctx, st.stg.index[owner], emp)
	if err != nil || sp == nil {
		return nil, nil, err
	}
	skip := st.stg.skip[owner]
	p := &lifecycle.Person{Person: sp.Person, Source: owner}
	m := map[string]model.Contract{}
	if !skip.none[emp] {
		for _, c := range cs {
			if !skip.contracts[c.Line] {
				m[c.Key] = c.Contract
			}
		}
	}
	return p, m, nil
}
