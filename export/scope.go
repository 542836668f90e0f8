package export

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/internal/model"
)

// Values is a condition's list of accepted values; the config may give one
// value or a list.
type Values []string

// Condition is one scope or role_map entry: canonical field -> accepted
// values. Fields are ANDed, a field's values ORed; a value matches exactly,
// or as a glob where * stands for any run of characters (nothing else is
// special, so OU names with brackets or slashes need no escaping).
type Condition map[string]Values

// ConditionFields are what a condition may test: the contract's fields and
// its person's (as read from HR, before name formatting).
var ConditionFields = slices.Concat([]string{model.KeyField}, model.PersonFields, model.ContractFields)

// matches reports whether the person's contract meets every field of cond.
func (cond Condition) matches(p *model.Person, c *model.Contract) bool {
	for f, vals := range cond {
		if f == roleKey {
			continue
		}
		v := p.Field(f)
		if slices.Contains(model.ContractFields, f) {
			v = c.Field(f)
		}
		if !slices.ContainsFunc(vals, func(pat string) bool { return glob(pat, v) }) {
			return false
		}
	}
	return true
}

// validate checks cond's fields; skip names a field that is not a condition
// (role_map's role).
func (cond Condition) validate(key, skip string) error {
	for _, f := range slices.Sorted(maps.Keys(cond)) {
		if f == skip {
			continue
		}
		if !slices.Contains(ConditionFields, f) {
			return fault.Key(key+"."+f, "unknown field (known: %s)", strings.Join(ConditionFields, ", "))
		}
		if len(cond[f]) == 0 {
			return fault.Key(key+"."+f, "an empty list matches nothing; give at least one value")
		}
	}
	return nil
}

// glob matches v against pattern, where * stands for any run of characters.
func glob(pattern, v string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == v
	}
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(v, mid)
		if i < 0 {
			return false
		}
		v = v[i+len(mid):]
	}
	return len(v) >= len(last) && strings.HasSuffix(v, last)
}

// Scope is rules.scope: which contracts count towards an account.
type Scope struct {
	Include []Condition `yaml:"include"` // empty: every contract; else one entry must match
	Exclude []Condition `yaml:"exclude"` // a contract matching any entry does not count
}

// Validate checks the entries. An entry without conditions is refused: in
// include it would let everything in, in exclude it would remove everyone.
func (s *Scope) Validate() error {
	for _, part := range []struct {
		key   string
		conds []Condition
	}{{"include", s.Include}, {"exclude", s.Exclude}} {
		for i, cond := range part.conds {
			key := fmt.Sprintf("%s[%d]", part.key, i)
			if len(cond) == 0 {
				return fault.Key(key, "an entry needs at least one field, such as {ou_code: [OU10]}")
			}
			if err := cond.validate(key, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// Counts reports whether the person's contract is in scope.
func (s *Scope) Counts(p *model.Person, c *model.Contract) bool {
	if len(s.Include) > 0 && !slices.ContainsFunc(s.Include, func(cond Condition) bool { return cond.matches(p, c) }) {
		return false
	}
	return !slices.ContainsFunc(s.Exclude, func(cond Condition) bool { return cond.matches(p, c) })
}

// roleKey is the role_map entry's result, not a condition.
const roleKey = "role"

// validateRoleMap checks export.role_map: every entry names one role (which
// may be empty, to give matching contracts no role) and valid conditions.
func validateRoleMap(rm []Condition) error {
	for i, entry := range rm {
		key := fmt.Sprintf("role_map[%d]", i)
		if len(entry[roleKey]) != 1 {
			return fault.Key(key+"."+roleKey, "required: one role profile, such as {function_code: [F100], role: CONTROLLER}")
		}
		if err := entry.validate(key, roleKey); err != nil {
			return err
		}
	}
	return nil
}

// RoleOf returns the role of the first role_map entry the person's contract
// matches; an entry with no conditions matches every contract. It returns
// empty when no entry matches.
func RoleOf(rm []Condition, p *model.Person, c *model.Contract) string {
	for _, entry := range rm {
		if entry.matches(p, c) {
			return entry[roleKey][0]
		}
	}
	return ""
}
