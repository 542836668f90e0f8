package export

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/jsonenc"
	"github.com/spendsync/spendsync/internal/model"
)

// Rules shape the dump: the config's rules and export.require_role, with
// the allowed renames and recently removed emails the store holds.
type Rules struct {
	LeadDays, GraceDays int
	NameStyle           string
	RemoveDiacritics    bool
	GenderMap           map[string]string
	Scope               Scope
	// AllowRenames lets every username change of an exported account
	// through (rules.username_change: allow); Allowed lets those persons'
	// through (person allow-rename). Any other is held: the username is
	// Spend Cloud's key, so a changed one makes a new employee there and
	// deactivates the old one with its history and cards.
	AllowRenames bool
	Allowed      map[string]bool
	// EmailReuse is rules.email_reuse (hold, warn or allow) and Removed the
	// (lowercase) emails of accounts removed within email_reuse_days, each
	// with the employee number that had it: Spend Cloud refuses an email a
	// deactivated employee still holds for another employee.
	EmailReuse string
	Removed    map[string]string
	// RequireRole holds a person whose every contract role_map leaves
	// without a role (export.require_role: hold): it could not log in.
	RequireRole bool
}

// formulaStart lists what makes a spreadsheet treat a cell as a formula.
const formulaStart = "=+-@\t\r"

// Held is a person left out of this dump's changes.
type Held struct {
	EmployeeNumber string   `json:"employee_number"`
	Reason         string   `json:"reason"`
	Fields         []string `json:"fields"`
	Kept           bool     `json:"kept"`                       // its last exported rows stay in the dump
	Earlier        string   `json:"earlier_employee,omitempty"` // a reused email's earlier holder
}

// Rename is a username change of an exported account.
type Rename struct {
	EmployeeNumber string `json:"employee_number"`
	Old            string `json:"old"`
	New            string `json:"new"`
	Held           bool   `json:"held"` // the dump keeps Old
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

// Last is the last export (what Spend Cloud was last given), read in
// employee-number order: Next gives each exported person's key and the
// Hash of its stored rows; Rows reads the stored rows of the person Next
// gave last (only needed when the person changed, is held or is removed),
// Carried the same from what Next read (for a carried person).
type Last interface {
	Next() (emp string, hash []byte, ok bool, err error)
	Rows(emp string) (*PersonRows, error)
	Carried() (*PersonRows, error)
}

// Sink receives what a Walker finds, in employee-number order.
type Sink interface {
	// Rows is one person's part of the dump.
	Rows(p *PersonRows) error
	// Change is a provisioning change.
	Change(c Change) error
	// Store says the last export's rows of emp become p (hash is
	// Hash(p)); replaced says emp had stored rows.
	Store(emp string, p *PersonRows, hash []byte, replaced bool) error
	// Drop says emp has no rows in the last export any more.
	// Drop says emp has no rows in the last export any more; prev were
	// its rows there.
	Drop(emp string, prev *PersonRows) error
}

// An EncodingSink is a Sink that stores changes' details as JSON. The
// Walker hands it the changes of whole rows (account creates and removes,
// role grants and revokes) with their details encoded as encoding/json
// marshals the Details map with DetailExtra's member added, instead of
// building the maps: a first export has a quarter of a million of them at
// 100k persons. Account updates still come through Change.
type EncodingSink interface {
	Sink
	// DetailExtra is a member every change's details get (the export id).
	DetailExtra() (key, value string)
	// EncodedChange is Change with its details encoded; details is only
	// valid during the call.
	EncodedChange(kind, emp string, details []byte) error
}

// Stats are a walk's counts and findings.
type Stats struct {
	Persons, Roles int            // rows in the dump
	Before         int            // persons in the last export
	Removals       int            // account.remove of persons not blocked (the safety stops count these)
	Changes        map[string]int // by kind
	Held           []Held
	Formulas       []Held // formula_guard: warn findings (the rows are exported as they are)
	Renames        []Rename
	Reused         []Held // email_reuse: warn findings (exported as they are)
	WithoutRole    int    // persons in the dump without a role row
}

// Findings counts what the dump held back that Spend Cloud would get
// wrong (renames, reused emails): the export ends with exit 5 then.
func (s *Stats) Findings() (renames, emails int) {
	for _, h := range s.Held {
		if h.Reason == ReasonEmailReused {
			emails++
		}
	}
	return s.HeldRenames(), emails
}

// Reasons a person is held back that callers tell apart.
const (
	ReasonEmailReused = "email still held by a deactivated employee"
	ReasonNoRole      = "no role: every contract is left without one by export.role_map"
)

// HeldRenames counts the renames the dump held back.
func (s *Stats) HeldRenames() int {
	n := 0
	for _, r := range s.Renames {
		if r.Held {
			n++
		}
	}
	return n
}

// Walker computes a dump person by person: fed the current persons in
// employee-number order, it walks the last export beside them (a merge
// join), builds each person's rows, compares them with the person's last
// exported rows and hands rows, changes and what to store to its sink. It
// holds one person at a time, so its memory does not grow with the dump.
type Walker struct {
	cfg   *Config
	rules Rules
	date  string
	last  Last
	sink  Sink
	Stats Stats
	// Carry, when set, says which exported persons the caller does not
	// hand to Person because nothing they are exported from changed
	// since the last export: they are carried, their stored rows emitted
	// as they are. An exported person the caller passes over that Carry
	// refuses is removed, as without Carry.
	Carry func(emp string) bool

	pcols, rcols      []int // positions of the configured columns
	pjson, rjson      []jsonColumn
	enc               EncodingSink // sink, when it takes encoded changes
	extraKey, extra   string       // enc's DetailExtra
	required          []int
	roleOrderAt       []int
	personGuardFields []string
	roleGuardFields   []string

	// one exported person read ahead of the current one
	next     string
	nextHash []byte
	have     bool
	done     bool
	buf      []byte
	active   []model.Contract // scratch: the current person's counting contracts
	before   []keyedRow       // scratch: roleChanges' sides
	after    []keyedRow
}

// jsonColumn is a configured column as a change's details list it: by
// header, sorted, a repeated header once with its last column's value
// (as a map by header holds them).
type jsonColumn struct {
	header string
	at     int
}

func jsonColumns(cols []Column, at []int) []jsonColumn {
	var out []jsonColumn
	for i := len(cols) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(out, func(c jsonColumn) bool { return c.header == cols[i].Header }) {
			out = append(out, jsonColumn{cols[i].Header, at[i]})
		}
	}
	slices.SortFunc(out, func(a, b jsonColumn) int { return strings.Compare(a.header, b.header) })
	return out
}

// NewWalker starts a walk for date (YYYY-MM-DD) against last.
func NewWalker(last Last, sink Sink, date string, cfg *Config, rules Rules) *Walker {
	w := &Walker{cfg: cfg, rules: rules, date: date, last: last, sink: sink,
		pcols: columnsAt(cfg.Persons.Columns, personAt), rcols: columnsAt(cfg.Roles.Columns, roleAt),
		personGuardFields: fieldsOf(cfg.Persons.Columns), roleGuardFields: fieldsOf(cfg.Roles.Columns)}
	w.Stats.Changes = map[string]int{}
	if enc, ok := sink.(EncodingSink); ok {
		w.enc = enc
		w.extraKey, w.extra = enc.DetailExtra()
		w.pjson, w.rjson = jsonColumns(cfg.Persons.Columns, w.pcols), jsonColumns(cfg.Roles.Columns, w.rcols)
	}
	for _, f := range cfg.Required {
		w.required = append(w.required, personAt[f])
	}
	for _, f := range roleOrder {
		w.roleOrderAt = append(w.roleOrderAt, roleAt[f])
	}
	return w
}

// peek reads the next exported person if none is read ahead.
func (w *Walker) peek() error {
	if w.have || w.done {
		return nil
	}
	emp, hash, ok, err := w.last.Next()
	if err != nil {
		return err
	}
	if !ok {
		w.done = true
		return nil
	}
	w.next, w.nextHash, w.have = emp, hash, true
	w.Stats.Before++
	return nil
}

// Person takes the next current person (employee numbers ascending, as
// Go and SQLite's BINARY collation compare them). Every person in the dump
// counts: not blocked, with a counting contract (active on the date and in
// rules.scope); one role per counting contract (with its role_map role),
// identical role rows merged.
func (w *Walker) Person(p *model.Person, blocked bool, contracts []model.Contract) error {
	emp := p.EmployeeNumber
	var prevHash []byte
	hasPrev := false
	for {
		if err := w.peek(); err != nil {
			return err
		}
		if !w.have || w.next > emp {
			break
		}
		w.have = false
		if w.next == emp {
			hasPrev, prevHash = true, w.nextHash
			break
		}
		if err := w.passed(w.next); err != nil {
			return err
		}
	}
	if blocked {
		// Left out on purpose: removing it is a decision, not a symptom,
		// so the safety stops do not count it.
		if hasPrev {
			return w.remove(emp, true)
		}
		return nil
	}
	active := counting(w.active[:0], p, contracts, w.date, w.rules)
	w.active = active
	if len(active) == 0 {
		if hasPrev {
			return w.remove(emp, false)
		}
		return nil
	}
	row := personRow(p, w.rules)
	roles, roleless := roleRows(row, p, active, w.cfg, w.rcols, w.roleOrderAt)
	var missing []string
	for n, i := range w.required {
		if strings.TrimSpace(row[i]) == "" {
			missing = append(missing, w.cfg.Required[n])
		}
	}
	held := Held{EmployeeNumber: emp}
	if len(missing) > 0 {
		held.Reason, held.Fields = "missing required field", missing
	} else if earlier, err := w.reusedEmail(emp, row, hasPrev); err != nil {
		return err
	} else if earlier != "" && w.rules.EmailReuse == "hold" {
		held.Reason, held.Fields, held.Earlier = ReasonEmailReused, []string{"email"}, earlier
	} else if len(roles) == 0 && w.rules.RequireRole {
		held.Reason, held.Fields = ReasonNoRole, []string{roleKey}
	} else if bad := guard(w.cfg.FormulaGuard, row, w.pcols, w.personGuardFields, roles, w.rcols, w.roleGuardFields); len(bad) > 0 {
		switch w.cfg.FormulaGuard {
		case "reject":
			held.Reason, held.Fields = "field starts like a spreadsheet formula", bad
		case "warn", "escape": // escape: a key it must leave as it is
			w.Stats.Formulas = append(w.Stats.Formulas, Held{EmployeeNumber: emp, Reason: "field starts like a spreadsheet formula", Fields: bad})
		}
	}
	if held.Reason != "" {
		if hasPrev {
			prev, err := w.last.Rows(emp)
			if err != nil {
				return err
			}
			held.Kept = true
			w.sortRoles(prev.Roles)
			if err := w.emit(prev); err != nil {
				return err
			}
		}
		w.Stats.Held = append(w.Stats.Held, held)
		return nil
	}
	cur := &PersonRows{Person: row, Roles: roles}
	w.Stats.Held = append(w.Stats.Held, roleless...)
	if len(roles) == 0 {
		w.Stats.WithoutRole++
	}
	hash := w.hash(cur)
	if !hasPrev {
		if err := w.emit(cur); err != nil {
			return err
		}
		if err := w.rowChange(AccountCreate, emp, row); err != nil {
			return err
		}
		if err := w.roleChanges(emp, nil, roles); err != nil {
			return err
		}
		return w.sink.Store(emp, cur, hash, false)
	}
	if bytes.Equal(hash, prevHash) {
		return w.emit(cur)
	}
	prev, err := w.last.Rows(emp)
	if err != nil {
		return err
	}
	if w.holdRename(emp, prev, cur) {
		if hash = w.hash(cur); bytes.Equal(hash, prevHash) {
			return w.emit(cur) // nothing but the held rename changed
		}
	}
	if err := w.emit(cur); err != nil {
		return err
	}
	changed := map[string]map[string]string{}
	for n, c := range w.cfg.Persons.Columns {
		if o, v := prev.Person[w.pcols[n]], row[w.pcols[n]]; o != v {
			changed[c.Header] = map[string]string{"old": o, "new": v}
		}
	}
	if len(changed) > 0 {
		if err := w.change(AccountUpdate, emp, map[string]any{"columns": changed}); err != nil {
			return err
		}
	}
	if err := w.roleChanges(emp, prev.Roles, roles); err != nil {
		return err
	}
	return w.sink.Store(emp, cur, hash, true)
}

// reusedEmail returns the employee number of a removed account that had
// row's email, when row brings that email to Spend Cloud now (a joiner, or
// a changed address) and email_reuse is not allow; warn notes it.
func (w *Walker) reusedEmail(emp string, row Row, hasPrev bool) (string, error) {
	if w.rules.EmailReuse == "allow" || len(w.rules.Removed) == 0 {
		return "", nil
	}
	email := strings.ToLower(row[personAt["email"]])
	earlier, ok := w.rules.Removed[email]
	if !ok || email == "" || earlier == emp {
		return "", nil
	}
	if hasPrev {
		prev, err := w.last.Rows(emp)
		if err != nil {
			return "", err
		}
		if strings.EqualFold(prev.Person[personAt["email"]], email) {
			return "", nil // Spend Cloud has it with this employee already
		}
	}
	if w.rules.EmailReuse == "warn" {
		w.Stats.Reused = append(w.Stats.Reused, Held{EmployeeNumber: emp, Reason: ReasonEmailReused, Fields: []string{"email"}, Earlier: earlier})
		return "", nil
	}
	return earlier, nil
}

// hash is the hash of a person's rows as the last export stores it.
func (w *Walker) hash(p *PersonRows) []byte {
	w.buf = appendRows(w.buf[:0], p)
	sum := sha256.Sum256(w.buf)
	return sum[:hashLen]
}

// holdRename notes a username change of an exported account and, unless
// it is allowed, puts the exported username back into cur's rows; it
// reports whether it did.
func (w *Walker) holdRename(emp string, prev, cur *PersonRows) bool {
	at := personAt["username"]
	old, now := prev.Person[at], cur.Person[at]
	if old == "" || old == now {
		return false
	}
	r := Rename{EmployeeNumber: emp, Old: old, New: now}
	r.Held = !w.rules.AllowRenames && !w.rules.Allowed[emp]
	w.Stats.Renames = append(w.Stats.Renames, r)
	if !r.Held {
		return false
	}
	cur.Person[at] = old
	for _, role := range cur.Roles {
		role[roleAt["username"]] = old
	}
	return true
}

// Finish removes the exported persons after the last current one.
func (w *Walker) Finish() error {
	for {
		if err := w.peek(); err != nil {
			return err
		}
		if !w.have {
			return nil
		}
		w.have = false
		if err := w.passed(w.next); err != nil {
			return err
		}
	}
}

// passed takes an exported person the caller did not hand over: carried
// (Carry), or removed as no longer current.
func (w *Walker) passed(emp string) error {
	if w.Carry == nil || !w.Carry(emp) {
		return w.remove(emp, false)
	}
	p, err := w.last.Carried()
	if err != nil {
		return err
	}
	if len(p.Roles) == 0 {
		w.Stats.WithoutRole++
	}
	return w.emit(p)
}

func (w *Walker) emit(p *PersonRows) error {
	w.Stats.Persons++
	w.Stats.Roles += len(p.Roles)
	return w.sink.Rows(p)
}

func (w *Walker) change(kind, emp string, details map[string]any) error {
	w.Stats.Changes[kind]++
	return w.sink.Change(Change{Kind: kind, EmployeeNumber: emp, Details: details})
}

// remove takes an exported person out of the last export.
func (w *Walker) remove(emp string, blocked bool) error {
	prev, err := w.last.Rows(emp)
	if err != nil {
		return err
	}
	if !blocked {
		w.Stats.Removals++
	}
	if err := w.rowChange(AccountRemove, emp, prev.Person); err != nil {
		return err
	}
	if err := w.roleChanges(emp, prev.Roles, nil); err != nil {
		return err
	}
	return w.sink.Drop(emp, prev)
}

// rowChange is an account create or remove: its details are the person
// row's exported columns under "row".
func (w *Walker) rowChange(kind, emp string, row Row) error {
	if w.enc == nil {
		return w.change(kind, emp, map[string]any{"row": project(row, w.cfg.Persons.Columns, w.pcols)})
	}
	return w.encodedChange(kind, emp, "row", row, w.pjson)
}

// roleChange is a role grant or revoke: its details are the role row's
// exported columns under "role".
func (w *Walker) roleChange(kind, emp string, role Row) error {
	if w.enc == nil {
		return w.change(kind, emp, map[string]any{"role": project(role, w.cfg.Roles.Columns, w.rcols)})
	}
	return w.encodedChange(kind, emp, "role", role, w.rjson)
}

// encodedChange hands enc a change whose details are {member: r's
// columns} and the extra member, encoded as encoding/json marshals that
// map (keys sorted; the extra member wins a clash, as the sink's map
// assignment did).
func (w *Walker) encodedChange(kind, emp, member string, r Row, cols []jsonColumn) error {
	w.Stats.Changes[kind]++
	b := append(w.buf[:0], '{')
	extra := func() {
		b = jsonenc.AppendString(b, w.extraKey)
		b = append(b, ':')
		b = jsonenc.AppendString(b, w.extra)
	}
	if w.extraKey <= member {
		extra()
		if w.extraKey == member {
			b = append(b, '}')
			w.buf = b
			return w.enc.EncodedChange(kind, emp, b)
		}
		b = append(b, ',')
	}
	b = jsonenc.AppendString(b, member)
	b = append(b, ':', '{')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonenc.AppendString(b, c.header)
		b = append(b, ':')
		b = jsonenc.AppendString(b, r[c.at])
	}
	b = append(b, '}')
	if w.extraKey > member {
		b = append(b, ',')
		extra()
	}
	b = append(b, '}')
	w.buf = b
	return w.enc.EncodedChange(kind, emp, b)
}

// roleChanges grants the roles of after not in before and revokes those of
// before not in after, as Spend Cloud sees them: by the configured columns
// (rowKey), each in that key's order, grants first.
func (w *Walker) roleChanges(emp string, before, after []Row) error {
	w.before, w.after = w.keyed(w.before[:0], before), w.keyed(w.after[:0], after)
	for _, r := range w.after {
		if !hasKey(w.before, r.key) {
			if err := w.roleChange(RoleGrant, emp, r.row); err != nil {
				return err
			}
		}
	}
	for _, r := range w.before {
		if !hasKey(w.after, r.key) {
			if err := w.roleChange(RoleRevoke, emp, r.row); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyedRow is a role row with its rowKey.
type keyedRow struct {
	key string
	row Row
}

// keyed appends roles to out by rowKey, sorted, one row per key (rows
// with one key look the same to Spend Cloud).
func (w *Walker) keyed(out []keyedRow, roles []Row) []keyedRow {
	for _, r := range roles {
		out = append(out, keyedRow{rowKey(r, w.rcols), r})
	}
	slices.SortStableFunc(out, func(a, b keyedRow) int { return strings.Compare(a.key, b.key) })
	return slices.CompactFunc(out, func(a, b keyedRow) bool { return a.key == b.key })
}

func hasKey(rows []keyedRow, key string) bool {
	_, ok := slices.BinarySearchFunc(rows, key, func(r keyedRow, k string) int { return strings.Compare(r.key, k) })
	return ok
}

func (w *Walker) sortRoles(roles []Row) {
	slices.SortStableFunc(roles, func(a, b Row) int { return compareRole(a, b, w.roleOrderAt) })
}

func personRow(p *model.Person, rules Rules) Row {
	// Every canonical field as stored, then the ones the rules shape.
	row := make(Row, len(PersonFields))
	row[keyAt] = p.EmployeeNumber
	for i, v := range p.FieldPtrs() {
		row[personAt[model.PersonFields[i]]] = *v
	}
	row[personAt["last_name"]], row[personAt["prefix"]] = Name(p, rules.NameStyle, rules.RemoveDiacritics)
	row[personAt["gender"]] = Gender(p.Gender, rules.GenderMap)
	return row
}

// counting appends to out the person's contracts that count on date: active, and
// in rules.scope. A person without one has no account.
func counting(out []model.Contract, p *model.Person, contracts []model.Contract, date string, rules Rules) []model.Contract {
	for i := range contracts {
		if c := &contracts[i]; c.ActiveOn(date, rules.LeadDays, rules.GraceDays) && rules.Scope.Counts(p, c) {
			out = append(out, *c)
		}
	}
	return out
}

// roleRows makes one role per counting contract, with its role_map role
// when export.role_map is set, and merges roles that would be identical
// rows in roles.csv (keeping the first in roles.csv order). A contract
// that role_map gives no role is left out and reported as held.
func roleRows(person Row, p *model.Person, active []model.Contract, cfg *Config, cols, order []int) ([]Row, []Held) {
	var held []Held
	out := make([]Row, 0, len(active))
	// One backing array for the person's role rows.
	fields := make([]string, len(active)*len(RoleFields))
next:
	for i := range active {
		c := &active[i]
		r := Row(fields[:len(RoleFields):len(RoleFields)])
		fields = fields[len(RoleFields):]
		r[keyAt] = person[keyAt]
		r[roleAt["username"]] = person[personAt["username"]]
		for _, f := range model.PositionFields {
			r[roleAt[f]] = c.Field(f)
		}
		if len(cfg.RoleMap) > 0 {
			r[roleAt[roleKey]] = RoleOf(cfg.RoleMap, p, c)
			if r[roleAt[roleKey]] == "" {
				held = append(held, Held{EmployeeNumber: p.EmployeeNumber, Fields: []string{roleKey},
					Reason: fmt.Sprintf("export.role_map gives no role for contract %s (ou_code %q, function_code %q)", c.Key, c.OUCode, c.FunctionCode)})
				continue
			}
		}
		for i, old := range out {
			if sameAt(r, old, cols) {
				if compareRole(r, old, order) < 0 {
					out[i] = r
				}
				continue next
			}
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Row) int { return compareRole(a, b, order) })
	return out, held
}

// sameAt reports whether a and b agree at the positions: what Spend Cloud
// sees of a row is its exported columns.
func sameAt(a, b Row, at []int) bool {
	for _, i := range at {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// rowKey is what Spend Cloud sees of a row: its exported columns.
func rowKey(r Row, at []int) string {
	var b strings.Builder
	for _, i := range at {
		b.WriteString(r[i])
		b.WriteByte(0)
	}
	return b.String()
}

// roleOrder sorts roles.csv: employee number, OU code, function code, then
// the rest so the order is total. The employee number comes first, so a
// dump's roles are each person's sorted roles in employee order.
var roleOrder = []string{model.KeyField, "ou_code", "function_code", "ou_name", "username", "function_name", roleKey}

func compareRole(a, b Row, order []int) int {
	for _, i := range order {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// guard applies formula_guard to the exported fields of a person and its
// roles: escape rewrites them in place; warn and reject report them. The
// keys (employee number, username) are never rewritten: a changed key is
// a new employee to Spend Cloud. escape reports a key it left as it is.
func guard(mode string, person Row, personCols []int, personFields []string, roles []Row, roleCols []int, roleFields []string) []string {
	if mode == "off" {
		return nil
	}
	var bad []string
	check := func(r Row, cols []int, fields []string, what string) {
		for n, i := range cols {
			v := r[i]
			if v == "" || !strings.ContainsRune(formulaStart, rune(v[0])) {
				continue
			}
			if mode == "escape" && !isKeyField(fields[n]) {
				r[i] = "'" + v
				continue
			}
			if name := what + fields[n]; !slices.Contains(bad, name) {
				bad = append(bad, name)
			}
		}
	}
	check(person, personCols, personFields, "")
	for _, r := range roles {
		check(r, roleCols, roleFields, "role.")
	}
	return bad
}

// isKeyField reports whether f identifies the account in Spend Cloud's
// import, so no guard may alter it.
func isKeyField(f string) bool { return f == model.KeyField || f == "username" }

func fieldsOf(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Field
	}
	return out
}

func project(r Row, cols []Column, at []int) map[string]string {
	out := make(map[string]string, len(cols))
	for n, c := range cols {
		out[c.Header] = r[at[n]]
	}
	return out
}

// Limits are the export safety stops; zero disables one.
type Limits struct {
	MaxRemovals       int
	MaxRemovalPercent int
	MaxRenames        int // renames let through (held ones change nothing)
}

// Check refuses a dump that removes too many accounts or is empty while the
// previous export was not. Blocked persons do not count as removals.
func (l Limits) Check(s *Stats) error {
	n, before := s.Removals, s.Before
	switch {
	case s.Persons == 0 && before > 0:
		return fmt.Errorf("%w: the export would be empty while the previous one had %d persons (override with --force)", fault.ErrSafetyStop, before)
	case l.MaxRemovals > 0 && n > l.MaxRemovals:
		return fmt.Errorf("%w: the export would remove %d accounts, more than thresholds.max_removals %d (override with --force)", fault.ErrSafetyStop, n, l.MaxRemovals)
	case l.MaxRemovalPercent > 0 && before > 0 && n*100 > l.MaxRemovalPercent*before:
		return fmt.Errorf("%w: the export would remove %d of %d accounts (%.1f%%), more than thresholds.max_removal_percent %d%% (override with --force)",
			fault.ErrSafetyStop, n, before, float64(n)*100/float64(before), l.MaxRemovalPercent)
	}
	if renamed := len(s.Renames) - s.HeldRenames(); l.MaxRenames > 0 && renamed > l.MaxRenames {
		return fmt.Errorf("%w: the export would change the username of %d accounts, more than thresholds.max_renames %d; each makes a new employee in Spend Cloud and deactivates the old one (override with --force)",
			fault.ErrSafetyStop, renamed, l.MaxRenames)
	}
	return nil
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
