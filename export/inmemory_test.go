package export

// The in-memory dump the tests compare: the export itself streams through
// a Walker into a Writer, so none of this is needed outside tests.

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/model"
)

// Input is a current person with its contracts.
type Input struct {
	Person    model.Person
	Blocked   bool
	Contracts []model.Contract
}

// Cursor reads p as a Last.
func (p *Previous) Cursor() Last {
	return &prevCursor{p: p, emps: slices.Sorted(maps.Keys(p.Persons))}
}

type prevCursor struct {
	p    *Previous
	emps []string
	last string
}

func (c *prevCursor) Next() (string, []byte, bool, error) {
	if len(c.emps) == 0 {
		return "", nil, false, nil
	}
	emp := c.emps[0]
	c.emps, c.last = c.emps[1:], emp
	return emp, Hash(c.p.Persons[emp]), true, nil
}

func (c *prevCursor) Carried() (*PersonRows, error) { return c.Rows(c.last) }

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

// Render produces a collected dump's two files and manifest in memory
// (tests; the export streams through a Writer).
func Render(d *Dump, id string, cfg *Config) (persons, roles []byte, m *Manifest, err error) {
	var pb, rb bytes.Buffer
	pw := newCSV(&pb, cfg.Persons, columnsAt(cfg.Persons.Columns, personAt), cfg)
	rw := newCSV(&rb, cfg.Roles, columnsAt(cfg.Roles.Columns, roleAt), cfg)
	for _, r := range d.Persons {
		pw.row(r)
	}
	for _, r := range d.Roles {
		rw.row(r)
	}
	m = &Manifest{ExportID: id, Date: d.Date, Created: time.Now().UTC().Format(time.RFC3339)}
	if m.Persons, err = pw.finish(cfg.Persons.File); err != nil {
		return nil, nil, nil, err
	}
	if m.Roles, err = rw.finish(cfg.Roles.File); err != nil {
		return nil, nil, nil, err
	}
	return pb.Bytes(), rb.Bytes(), m, nil
}

// Write puts a rendered export into dir, as a Writer's Commit does.
func Write(dir string, persons, roles []byte, m *Manifest, history bool, keep int) error {
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return err
	}
	if _, err := atomicfile.CleanTemp(dir); err != nil {
		return fmt.Errorf("clean leftover temporary files: %w", err) // names dir
	}
	w := &Writer{dir: dir}
	defer w.Discard()
	for _, f := range []struct {
		name string
		data []byte
	}{{m.Roles.File, roles}, {m.Persons.File, persons}} {
		p, err := atomicfile.Stage(filepath.Join(dir, f.name), func(out io.Writer) error {
			_, err := out.Write(f.data)
			return err
		})
		if err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		w.pending = append(w.pending, p)
	}
	return w.Commit(m, history, keep)
}
