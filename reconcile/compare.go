package reconcile

import (
	"fmt"
	"strings"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/show"
	"github.com/spendsync/spendsync/lifecycle"
)

// Item is one finding.
type Item struct {
	EmployeeNumber string `json:"employee_number"`
	Email          string `json:"email"`
	Username       string `json:"username"`
	Detail         string `json:"detail"`
	// Line is the account's line in the list (0: not in it).
	Line int `json:"line,omitempty"`
}

// Report is what reconcile found.
type Report struct {
	// OnlyThere: active there, not in spendsync's last export.
	OnlyThere []Item `json:"only_there"`
	// MissingThere: in the last export, missing or inactive there.
	MissingThere []Item `json:"missing_there"`
	// Different: in both, with a field that differs.
	Different []Item `json:"different"`
}

// Findings counts the report's items.
func (r *Report) Findings() int { return len(r.OnlyThere) + len(r.MissingThere) + len(r.Different) }

// exported is a person with the fields the last export gave.
type person struct {
	k                                    lifecycle.KnownPerson
	exported                             bool
	email, username, first, prefix, last string
	matched                              bool
}

// Compare matches each account to a person (by employee number, else
// email, else username, as mapped) and reports the differences.
func Compare(accounts []Account, known []lifecycle.KnownPerson, m Mapping) (Report, error) {
	rep := Report{OnlyThere: []Item{}, MissingThere: []Item{}, Different: []Item{}}
	var persons []*person
	byEmp, byEmail, byUser := map[string]*person{}, map[string]*person{}, map[string]*person{}
	for _, k := range known {
		p := &person{k: k, email: k.Email, username: k.Username, first: k.FirstName, prefix: k.Prefix, last: k.LastName}
		if k.ExportedRow != "" {
			row, err := export.DecodePerson(k.ExportedRow)
			if err != nil {
				return rep, fmt.Errorf("last export of %s: %w", k.EmployeeNumber, err)
			}
			p.exported = true
			p.email, p.username = row.Get("email"), row.Get("username")
			p.first, p.prefix, p.last = row.Get("first_name"), row.Get("prefix"), row.Get("last_name")
		}
		persons = append(persons, p)
		byEmp[k.EmployeeNumber] = p
		// The exported values are what the target was given; the
		// state's find a person not (or no longer) exported.
		for _, e := range []string{p.email, k.Email} {
			if e != "" && (byEmail[strings.ToLower(e)] == nil || p.exported) {
				byEmail[strings.ToLower(e)] = p
			}
		}
		for _, u := range []string{p.username, k.Username} {
			if u != "" && (byUser[strings.ToLower(u)] == nil || p.exported) {
				byUser[strings.ToLower(u)] = p
			}
		}
	}
	for _, a := range accounts {
		var p *person
		if m.Columns["employee_number"] != "" && a.EmployeeNumber != "" {
			p = byEmp[a.EmployeeNumber]
		}
		if p == nil && a.Email != "" {
			p = byEmail[strings.ToLower(a.Email)]
		}
		if p == nil && a.Username != "" {
			p = byUser[strings.ToLower(a.Username)]
		}
		item := Item{EmployeeNumber: a.EmployeeNumber, Email: a.Email, Username: a.Username, Line: a.Line}
		if p != nil {
			p.matched = true
			if item.EmployeeNumber == "" {
				item.EmployeeNumber = p.k.EmployeeNumber
			}
		}
		switch {
		case !a.Active && p != nil && p.exported:
			item.Detail = fmt.Sprintf("inactive there (%s) but in the last export: did its import fail?", show.Quote(a.Status))
			rep.MissingThere = append(rep.MissingThere, item)
		case !a.Active:
		case p == nil:
			item.Detail = "active there, unknown to spendsync: a manual account?"
			rep.OnlyThere = append(rep.OnlyThere, item)
		case !p.exported:
			item.Detail = "active there, not in spendsync's last export: " + knows(p.k)
			rep.OnlyThere = append(rep.OnlyThere, item)
		default:
			if d := differences(a, p, m); d != "" {
				item.Detail = d
				rep.Different = append(rep.Different, item)
			}
		}
	}
	for _, p := range persons {
		if p.exported && !p.matched {
			rep.MissingThere = append(rep.MissingThere, Item{EmployeeNumber: p.k.EmployeeNumber, Email: p.email, Username: p.username,
				Detail: "in the last export, no account there: did its import fail?"})
		}
	}
	return rep, nil
}

// knows says what spendsync knows of a person not in the last export.
func knows(k lifecycle.KnownPerson) string {
	var parts []string
	name := strings.Join(strings.Fields(k.FirstName+" "+k.Prefix+" "+k.LastName), " ")
	if name != "" {
		parts = append(parts, show.Text(name))
	}
	parts = append(parts, "employee "+show.Text(k.EmployeeNumber))
	switch {
	case k.LeftAt != "":
		parts = append(parts, "left on "+k.LeftAt[:min(10, len(k.LeftAt))]+" (a missed leaver?)")
	case k.Blocked:
		parts = append(parts, "blocked in spendsync: "+show.Quote(k.BlockReason))
	default:
		parts = append(parts, "a current person without an account (held back, out of scope or without a counting contract)")
	}
	return strings.Join(parts, ", ")
}

// differences lists the mapped fields whose values differ. Names match
// either the state's or the exported form (which name_style may have
// composed), with or without the prefix (van, de).
func differences(a Account, p *person, m Mapping) string {
	var out []string
	diff := func(field, there string, ours ...string) {
		if m.Columns[field] == "" {
			return
		}
		norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
		for _, o := range ours {
			if norm(there) == norm(o) {
				return
			}
		}
		out = append(out, fmt.Sprintf("%s there %s, spendsync exported %s", field, show.Quote(there), show.Quote(ours[0])))
	}
	diff("employee_number", a.EmployeeNumber, p.k.EmployeeNumber)
	diff("email", a.Email, p.email)
	diff("username", a.Username, p.username)
	diff("first_name", a.FirstName, p.first, p.k.FirstName)
	diff("last_name", a.LastName, p.last, p.prefix+" "+p.last, p.k.LastName, p.k.Prefix+" "+p.k.LastName)
	return strings.Join(out, "; ")
}
