package export

import (
	"maps"
	"slices"
	"strings"
)

// Previous is a last export held in memory (a HelloID database being
// adopted, tests): the store streams the real one.
type Previous struct {
	Persons map[string]*PersonRows // by employee number
}

// NewPrevious returns an empty last export.
func NewPrevious() *Previous { return &Previous{Persons: map[string]*PersonRows{}} }

// Cursor reads p as a Last.
func (p *Previous) Cursor() Last {
	return &prevCursor{p: p, emps: slices.Sorted(maps.Keys(p.Persons))}
}

type prevCursor struct {
	p    *Previous
	emps []string
}

func (c *prevCursor) Next() (string, []byte, bool, error) {
	if len(c.emps) == 0 {
		return "", nil, false, nil
	}
	emp := c.emps[0]
	c.emps = c.emps[1:]
	return emp, Hash(c.p.Persons[emp]), true, nil
}

func (c *prevCursor) Rows(emp string) (*PersonRows, error) {
	r := c.p.Persons[emp]
	return &PersonRows{Person: slices.Clone(r.Person), Roles: slices.Clone(r.Roles)}, nil
}

// Dump is a whole export collected in memory (tests and small tools; the
// export itself streams).
type Dump struct {
	Date           string
	Persons, Roles []Row
	Changes        []Change
	Stored         map[string]*PersonRows // what the last export becomes for the persons that changed
	Dropped        []string
	Stats          Stats
}

// Rows, Change, Store and Drop make a Dump a Sink.
func (d *Dump) Rows(p *PersonRows) error {
	d.Persons = append(d.Persons, p.Person)
	d.Roles = append(d.Roles, p.Roles...)
	return nil
}

// Change collects a change.
func (d *Dump) Change(c Change) error { d.Changes = append(d.Changes, c); return nil }

// Store collects the rows to store.
func (d *Dump) Store(emp string, p *PersonRows, _ []byte, _ bool) error {
	if d.Stored == nil {
		d.Stored = map[string]*PersonRows{}
	}
	d.Stored[emp] = p
	return nil
}

// Drop collects a person leaving the last export.
func (d *Dump) Drop(emp string, _ *PersonRows) error { d.Dropped = append(d.Dropped, emp); return nil }

// Build computes the dump of in (sorted by employee number here) against
// prev in memory.
func Build(in []Input, prev *Previous, date string, cfg *Config, rules Rules) *Dump {
	d := &Dump{Date: date}
	in = slices.Clone(in)
	slices.SortStableFunc(in, func(a, b Input) int {
		return strings.Compare(a.Person.EmployeeNumber, b.Person.EmployeeNumber)
	})
	w := NewWalker(prev.Cursor(), d, date, cfg, rules)
	for i := range in {
		if err := w.Person(&in[i].Person, in[i].Blocked, in[i].Contracts); err != nil {
			panic(err) // the in-memory cursor and sink never fail
		}
	}
	if err := w.Finish(); err != nil {
		panic(err)
	}
	d.Stats = w.Stats
	return d
}

// PersonsOf returns the dump as a last export, as the next export sees it.
func (d *Dump) PersonsOf() *Previous {
	p := NewPrevious()
	for _, r := range d.Persons {
		p.Persons[r[keyAt]] = &PersonRows{Person: r}
	}
	for _, r := range d.Roles {
		pr := p.Persons[r[keyAt]]
		pr.Roles = append(pr.Roles, r)
	}
	return p
}
