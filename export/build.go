package export

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
)

// Rules are the rules: keys that shape the dump.
type Rules struct {
	LeadDays, GraceDays int
	NameStyle           string
	RemoveDiacritics    bool
	GenderMap           map[string]string
	Scope               Scope
}

// Row is one exported line by canonical field name. An alias, so the
// store keeps rows without knowing this package.
type Row = map[string]string

// Input is a current person with its contracts.
type Input struct {
	Person    model.Person
	Blocked   bool
	Contracts []model.Contract
}

// Previous is the last export: what Spend Cloud was last given.
type Previous struct {
	ID      string
	Persons map[string]Row   // by employee number
	Roles   map[string][]Row // by employee number
}

// Held is a person left out of this dump's changes.
type Held struct {
	EmployeeNumber string   `json:"employee_number"`
	Reason         string   `json:"reason"`
	Fields         []string `json:"fields"`
	Kept           bool     `json:"kept"` // its last exported rows stay in the dump
}

// Dump is the full export for one date.
type Dump struct {
	Date     string
	Persons  []Row
	Roles    []Row
	Held     []Held
	Formulas []Held // formula_guard: warn findings (the rows are exported as they are)
	// Blocked are left out on purpose (person block): removing them is a
	// decision, not a symptom, so the safety stops do not count them.
	Blocked map[string]bool
}

// formulaStart lists what makes a spreadsheet treat a cell as a formula.
const formulaStart = "=+-@\t\r"

// Build computes the dump for date (YYYY-MM-DD): every person not blocked
// with a counting contract (active on date and in rules.scope), one role
// per counting contract (with its role_map role), identical role rows
// merged.
func Build(in []Input, prev *Previous, date string, cfg *Config, rules Rules) *Dump {
	d := &Dump{Date: date, Blocked: map[string]bool{}}
	personCols, roleCols := fieldsOf(cfg.Persons.Columns), fieldsOf(cfg.Roles.Columns)
	for i := range in {
		p := &in[i]
		if p.Blocked {
			d.Blocked[p.Person.EmployeeNumber] = true
			continue
		}
		active := counting(&p.Person, p.Contracts, date, rules)
		if len(active) == 0 {
			continue
		}
		row := personRow(&p.Person, rules)
		roles, roleless := roleRows(row, &p.Person, active, cfg)
		emp := p.Person.EmployeeNumber

		var missing []string
		for _, f := range cfg.Required {
			if strings.TrimSpace(row[f]) == "" {
				missing = append(missing, f)
			}
		}
		held := Held{EmployeeNumber: emp}
		if len(missing) > 0 {
			held.Reason, held.Fields = "missing required field", missing
		} else if bad := guard(cfg.FormulaGuard, row, personCols, roles, roleCols); len(bad) > 0 {
			switch cfg.FormulaGuard {
			case "reject":
				held.Reason, held.Fields = "field starts like a spreadsheet formula", bad
			case "warn":
				d.Formulas = append(d.Formulas, Held{EmployeeNumber: emp, Reason: "field starts like a spreadsheet formula", Fields: bad})
			}
		}
		if held.Reason != "" {
			if prevRow, ok := prev.Persons[emp]; ok {
				held.Kept = true
				d.Persons = append(d.Persons, prevRow)
				d.Roles = append(d.Roles, prev.Roles[emp]...)
			}
			d.Held = append(d.Held, held)
			continue
		}
		d.Persons = append(d.Persons, row)
		d.Roles = append(d.Roles, roles...)
		d.Held = append(d.Held, roleless...)
	}
	sort.Slice(d.Persons, func(i, j int) bool { return d.Persons[i][model.KeyField] < d.Persons[j][model.KeyField] })
	sortRoles(d.Roles)
	return d
}

func personRow(p *model.Person, rules Rules) Row {
	// Every canonical field as stored, then the ones the rules shape.
	row := make(Row, 1+len(model.PersonFields))
	row[model.KeyField] = p.EmployeeNumber
	for i, v := range p.FieldPtrs() {
		row[model.PersonFields[i]] = *v
	}
	row["last_name"], row["prefix"] = Name(p, rules.NameStyle, rules.RemoveDiacritics)
	row["gender"] = Gender(p.Gender, rules.GenderMap)
	return row
}

// counting returns the person's contracts that count on date: active, and
// in rules.scope. A person without one has no account.
func counting(p *model.Person, contracts []model.Contract, date string, rules Rules) []model.Contract {
	var out []model.Contract
	for _, c := range contracts {
		if c.ActiveOn(date, rules.LeadDays, rules.GraceDays) && rules.Scope.Counts(p, &c) {
			out = append(out, c)
		}
	}
	return out
}

// roleRows makes one role per counting contract, with its role_map role
// when export.role_map is set, and merges roles that would be identical
// rows in roles.csv. A contract that role_map gives no role is left out and
// reported as held.
func roleRows(person Row, p *model.Person, active []model.Contract, cfg *Config) ([]Row, []Held) {
	var held []Held
	seen := map[string]Row{}
	for _, c := range active {
		r := Row{model.KeyField: person[model.KeyField], "username": person["username"]}
		for _, f := range model.PositionFields {
			r[f] = c.Field(f)
		}
		if len(cfg.RoleMap) > 0 {
			r[roleKey] = RoleOf(cfg.RoleMap, p, &c)
			if r[roleKey] == "" {
				held = append(held, Held{EmployeeNumber: p.EmployeeNumber, Fields: []string{roleKey},
					Reason: fmt.Sprintf("export.role_map gives no role for contract %s (ou_code %q, function_code %q)", c.Key, c.OUCode, c.FunctionCode)})
				continue
			}
		}
		key := rowKey(r, cfg.Roles.Columns)
		if old, ok := seen[key]; !ok || lessRole(r, old) {
			seen[key] = r
		}
	}
	out := slices.Collect(maps.Values(seen))
	sortRoles(out)
	return out, held
}

// rowKey is what Spend Cloud sees of a row: its exported columns.
func rowKey(r Row, cols []Column) string {
	var b strings.Builder
	for _, c := range cols {
		b.WriteString(r[c.Field])
		b.WriteByte(0)
	}
	return b.String()
}

// roleOrder sorts roles.csv: employee number, OU code, function code, then
// the rest so the order is total.
var roleOrder = []string{model.KeyField, "ou_code", "function_code", "ou_name", "username", "function_name", roleKey}

func lessRole(a, b Row) bool {
	for _, k := range roleOrder {
		if x, y := a[k], b[k]; x != y {
			return x < y
		}
	}
	return false
}

func sortRoles(roles []Row) {
	sort.SliceStable(roles, func(i, j int) bool { return lessRole(roles[i], roles[j]) })
}

// guard applies formula_guard to the exported fields of a person and its
// roles: escape rewrites them in place; warn and reject report them.
func guard(mode string, person Row, personCols []string, roles []Row, roleCols []string) []string {
	if mode == "off" {
		return nil
	}
	var bad []string
	check := func(r Row, cols []string, what string) {
		for _, f := range cols {
			v := r[f]
			if v == "" || !strings.ContainsRune(formulaStart, rune(v[0])) {
				continue
			}
			if mode == "escape" {
				r[f] = "'" + v
				continue
			}
			if name := what + f; !slices.Contains(bad, name) {
				bad = append(bad, name)
			}
		}
	}
	check(person, personCols, "")
	for _, r := range roles {
		check(r, roleCols, "role.")
	}
	return bad
}

func fieldsOf(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Field
	}
	return out
}

// Change is one provisioning change between two dumps.
type Change struct {
	Kind           string
	EmployeeNumber string
	Details        map[string]any
}

// Provisioning event kinds.
const (
	AccountCreate = "account.create"
	AccountUpdate = "account.update"
	AccountRemove = "account.remove"
	RoleGrant     = "role.grant"
	RoleRevoke    = "role.revoke"
)

// Diff compares the dump with the previous export as Spend Cloud sees it:
// by the configured columns.
func Diff(prev *Previous, d *Dump, cfg *Config) []Change {
	var out []Change
	next := make(map[string]Row, len(d.Persons))
	nextRoles := make(map[string][]Row, len(d.Persons))
	for _, r := range d.Persons {
		next[r[model.KeyField]] = r
	}
	for _, r := range d.Roles {
		nextRoles[r[model.KeyField]] = append(nextRoles[r[model.KeyField]], r)
	}
	for _, r := range d.Persons {
		emp := r[model.KeyField]
		old, ok := prev.Persons[emp]
		if !ok {
			out = append(out, Change{AccountCreate, emp, map[string]any{"row": project(r, cfg.Persons.Columns)}})
			continue
		}
		changed := map[string]map[string]string{}
		for _, c := range cfg.Persons.Columns {
			if o, n := old[c.Field], r[c.Field]; o != n {
				changed[c.Header] = map[string]string{"old": o, "new": n}
			}
		}
		if len(changed) > 0 {
			out = append(out, Change{AccountUpdate, emp, map[string]any{"columns": changed}})
		}
	}
	var gone []string
	for emp := range prev.Persons {
		if _, ok := next[emp]; !ok {
			gone = append(gone, emp)
		}
	}
	sort.Strings(gone)
	for _, emp := range gone {
		out = append(out, Change{AccountRemove, emp, map[string]any{"row": project(prev.Persons[emp], cfg.Persons.Columns)}})
	}
	emps := map[string]bool{}
	for emp := range prev.Roles {
		emps[emp] = true
	}
	for emp := range nextRoles {
		emps[emp] = true
	}
	sorted := make([]string, 0, len(emps))
	for emp := range emps {
		sorted = append(sorted, emp)
	}
	sort.Strings(sorted)
	for _, emp := range sorted {
		before, after := roleSet(prev.Roles[emp], cfg), roleSet(nextRoles[emp], cfg)
		for _, k := range slices.Sorted(maps.Keys(after)) {
			if _, ok := before[k]; !ok {
				out = append(out, Change{RoleGrant, emp, map[string]any{"role": after[k]}})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(before)) {
			if _, ok := after[k]; !ok {
				out = append(out, Change{RoleRevoke, emp, map[string]any{"role": before[k]}})
			}
		}
	}
	return out
}

func project(r Row, cols []Column) map[string]string {
	out := make(map[string]string, len(cols))
	for _, c := range cols {
		out[c.Header] = r[c.Field]
	}
	return out
}

func roleSet(roles []Row, cfg *Config) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range roles {
		var key []string
		for _, c := range cfg.Roles.Columns {
			key = append(key, r[c.Field])
		}
		out[strings.Join(key, "\x00")] = project(r, cfg.Roles.Columns)
	}
	return out
}

// Count returns how many changes are of kind.
func Count(changes []Change, kind string) int {
	n := 0
	for _, c := range changes {
		if c.Kind == kind {
			n++
		}
	}
	return n
}

// Limits are the export safety stops; zero disables one.
type Limits struct {
	MaxRemovals       int
	MaxRemovalPercent int
}

// Check refuses a dump that removes too many accounts or is empty while the
// previous export was not. Blocked persons do not count as removals.
func (l Limits) Check(prev *Previous, d *Dump, changes []Change) error {
	n, before := 0, len(prev.Persons)
	for _, c := range changes {
		if c.Kind == AccountRemove && !d.Blocked[c.EmployeeNumber] {
			n++
		}
	}
	switch {
	case len(d.Persons) == 0 && before > 0:
		return fmt.Errorf("%w: the export would be empty while the previous one had %d persons (override with --force)", fault.ErrSafetyStop, before)
	case l.MaxRemovals > 0 && n > l.MaxRemovals:
		return fmt.Errorf("%w: the export would remove %d accounts, more than thresholds.max_removals %d (override with --force)", fault.ErrSafetyStop, n, l.MaxRemovals)
	case l.MaxRemovalPercent > 0 && before > 0 && n*100 > l.MaxRemovalPercent*before:
		return fmt.Errorf("%w: the export would remove %d of %d accounts (%.1f%%), more than thresholds.max_removal_percent %d%% (override with --force)",
			fault.ErrSafetyStop, n, before, float64(n)*100/float64(before), l.MaxRemovalPercent)
	}
	return nil
}
