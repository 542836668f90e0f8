package connector

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
)

func (res *reader) readPersons(r io.Reader, file string, rules Rules) error {
	res.personsFile = file
	t, err := res.open(r, file)
	if t == nil {
		return err
	}
	if err := res.persons(t, file, rules); err != nil {
		return err
	}
	return res.fillRaw(file)
}

// personFields lists the fields the persons file supplies.
func (res *reader) personFields() []string {
	src := res.Source
	fields := slices.Clone(personColumns)
	if src.IsProvider() {
		fields = append([]string{"employee_number"}, src.Provides...)
	} else if !src.HasContracts() {
		fields = append(fields, contractColumns...)
	}
	if src.Mode == Delta {
		fields = append(fields, "deleted")
	}
	return fields
}

func (res *reader) persons(t rowSource, file string, rules Rules) error {
	src := res.Source
	m, err := res.bind(t, res.personFields(), false)
	if err != nil {
		return err
	}
	filled := res.lookupFields()
	for _, f := range model.PersonFields {
		if m.has(f) || slices.Contains(filled, f) {
			res.Fields = append(res.Fields, f)
		}
	}
	// The raw text of a row is kept only for a pulled source: a file's
	// rows are read back (fillRaw) for the rare duplicate that needs one.
	// The positions in model.PersonFields of the fields the source
	// supplies (res.Fields, in that order).
	var supplied []int
	for i, f := range model.PersonFields {
		if slices.Contains(res.Fields, f) {
			supplied = append(supplied, i)
		}
	}
	_, fromFile := t.(*table)
	firstRaw := map[string]string{}
	dupes := map[string]bool{}
	if !src.IsProvider() && !src.HasContracts() {
		res.dates = &dateCheck{file: file} // each row holds a contract
	}
	var filter Filter
	if src.IsProvider() || src.HasContracts() {
		filter = res.filter
	}
	// Through a filter, each row is hashed as read and may be dropped
	// before it is checked or mapped (rowhash.go); hash is the row's.
	var hash [16]byte
	if filter != nil && fromFile {
		rh, err := res.newRowHasher(t.head(), rules, filter.Seed())
		if err != nil {
			return err
		}
		res.unchanged = func(rec []string, line int, emp string) bool {
			hash = rh.sum(rec)
			if _, listed := res.ListedOn(emp); listed || dupes[emp] || emp == "" {
				return false // a duplicate: rejected below, with the first
			}
			return filter.Unchanged(emp, line, hash)
		}
		defer func() { res.unchanged = nil }()
	}
	err = res.rows(m, &res.PersonRows, func(rec []string, line int, raw func() string, emp string) {
		if prevLine, ok := res.ListedOn(emp); ok || dupes[emp] {
			reason := "duplicate employee number in this file"
			if ok {
				first := firstRaw[emp]
				if fromFile {
					res.rawLater = append(res.rawLater, len(res.Rejects))
				}
				res.reject(m, prevLine, first, emp, rowError{"employee_number", reason})
				delete(res.Persons, emp)
				delete(res.Listed, emp)
				if res.filter != nil {
					res.filter.Forget(emp)
				}
				res.Contracts = slices.DeleteFunc(res.Contracts, func(c ContractRow) bool { return c.EmployeeNumber == emp && c.File == file })
			}
			dupes[emp] = true
			res.reject(m, line, raw(), emp, rowError{"employee_number", reason})
			res.protect(m, emp)
			return
		}
		if m.has("deleted") && truthy(m.get(rec, "deleted")) {
			res.Deleted[emp] = line
			return
		}
		p := &PersonRow{File: file, Line: line}
		if res.unchanged != nil {
			p.Hash = hash
		}
		p.EmployeeNumber = emp
		for _, i := range supplied {
			p.SetFieldAt(i, m.at(rec, m.person[i]))
		}
		hasField := func(f string) bool { return f == "employee_number" || slices.Contains(res.Fields, f) }
		if e, ok := res.fillRow(hasField, p.Field, p.SetField); !ok {
			res.reject(m, line, raw(), emp, e)
			res.protect(m, emp)
			return
		}
		if e, ok := checkEmail(p.Email, rules); !ok {
			res.reject(m, line, raw(), emp, e)
			res.protect(m, emp)
			return
		} else if e.reason != "" {
			p.Warnings = append(p.Warnings, e.reason)
		}
		if slices.Contains(res.Fields, "naming_convention") {
			conv, known := convention(p.NamingConvention, src.namingMap())
			if !known {
				p.Warnings = append(p.Warnings, fmt.Sprintf("unknown naming convention %s in column %s, treated as B", show.Quote(p.NamingConvention), show.Text(m.header("naming_convention"))))
			}
			p.NamingConvention = conv
		}
		if !src.IsProvider() && !src.HasContracts() {
			c, e, ok := res.contract(m, rec, emp)
			if !ok {
				res.reject(m, line, raw(), emp, e)
				res.protect(m, emp)
				return
			}
			res.Contracts = append(res.Contracts, ContractRow{Contract: c, File: file, Line: line, Raw: raw()})
		}
		if filter != nil {
			if keep, lineKept := filter.Person(res.Fields, p); !keep {
				if !lineKept {
					// A copy: the number is a slice of the row's text, which
					// a dropped row would otherwise keep alive.
					res.Listed[strings.Clone(emp)] = line
				}
				return
			}
		}
		res.Listed[emp] = line
		if !fromFile {
			firstRaw[emp] = raw()
		}
		res.Persons[emp] = p
	})
	dates := res.dates
	res.dates = nil
	if err == nil {
		err = dates.verdict(src)
	}
	return err
}
