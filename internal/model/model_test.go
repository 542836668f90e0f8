package model

import (
	"reflect"
	"slices"
	"testing"
)

// TestFieldTablesCoverEveryStructField protects the one declaration: a
// string field added to Person or Contract without its table line would
// silently never be mapped, stored, diffed or exported.
func TestFieldTablesCoverEveryStructField(t *testing.T) {
	for _, tc := range []struct {
		name    string
		typ     reflect.Type
		fields  []string
		skipped []string // keys, not fields
	}{
		{"Person", reflect.TypeFor[Person](), PersonFields, []string{KeyField}},
		{"Contract", reflect.TypeFor[Contract](), ContractFields, []string{KeyField, "key"}},
	} {
		var tags []string
		for f := range tc.typ.Fields() {
			if tag := f.Tag.Get("json"); !slices.Contains(tc.skipped, tag) {
				tags = append(tags, tag)
			}
		}
		slices.Sort(tags)
		got := slices.Sorted(slices.Values(tc.fields))
		if !slices.Equal(tags, got) {
			t.Errorf("%s: struct fields %v, declared fields %v", tc.name, tags, got)
		}
	}
	if missing := slices.DeleteFunc(slices.Clone(PositionFields), func(f string) bool { return slices.Contains(ContractFields, f) }); len(missing) > 0 {
		t.Errorf("PositionFields %v are not contract fields", missing)
	}
}

// TestFieldAccessorsAddressTheNamedField checks each table line points at
// its own struct field: SetField then reading the JSON-tagged struct field
// must agree, and FieldPtrs follows the declared order.
func TestFieldAccessorsAddressTheNamedField(t *testing.T) {
	var p Person
	for _, f := range append([]string{KeyField}, PersonFields...) {
		p.SetField(f, "v-"+f)
	}
	v := reflect.ValueOf(p)
	for i, f := range reflect.VisibleFields(v.Type()) {
		if tag := f.Tag.Get("json"); v.Field(i).String() != "v-"+tag {
			t.Errorf("Person.%s = %q after SetField(%q)", f.Name, v.Field(i).String(), tag)
		}
	}
	for i, ptr := range p.FieldPtrs() {
		if *ptr != "v-"+PersonFields[i] {
			t.Errorf("Person.FieldPtrs()[%d] = %q, want the field %s", i, *ptr, PersonFields[i])
		}
	}
	var c Contract
	for _, f := range ContractFields {
		c.SetField(f, "v-"+f)
	}
	for i, ptr := range c.FieldPtrs() {
		if *ptr != "v-"+ContractFields[i] || c.Field(ContractFields[i]) != *ptr {
			t.Errorf("Contract field %s: FieldPtrs %q, Field %q", ContractFields[i], *ptr, c.Field(ContractFields[i]))
		}
	}
}
