package configfile

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// column and values stand for the types a caller names to Decode.
type (
	column struct{ Header, Field string }
	values []string
)

var sampleTypes = []Type{
	OneKeyMap(func(c *column, header, field string) { c.Header, c.Field = header, field }, "a column is a one-key map"),
	ValueList[values]("give a value or a list of values"),
}

type sample struct {
	Name    string            `yaml:"name"`
	Count   int               `yaml:"count"`
	On      *bool             `yaml:"on"`
	Wait    time.Duration     `yaml:"wait"`
	Tags    []string          `yaml:"tags"`
	Map     map[string]string `yaml:"map"`
	Columns []column          `yaml:"columns"`
	Match   map[string]values `yaml:"match"`
	Nested  struct {
		Deep int `yaml:"deep"`
	} `yaml:"nested"`
}

func TestDecodeFillsEveryShape(t *testing.T) {
	t.Setenv("CONFIGFILE_TEST_N", "7")
	var s sample
	_, err := Decode([]byte(`name: a
count: ${CONFIGFILE_TEST_N}
on: True
wait: 2w
tags: [x, y]
map: {k: v}
columns:
  - {externalId: employee_number}
  - voornaam: first_name
match: {ou_code: OU10, function_code: [F1, "F*"]}
nested:
  deep: 3
`), &s, sampleTypes...)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "a" || s.Count != 7 || s.On == nil || !*s.On || s.Wait != 14*24*time.Hour || len(s.Tags) != 2 || s.Map["k"] != "v" || s.Nested.Deep != 3 {
		t.Errorf("decoded %+v", s)
	}
	if len(s.Columns) != 2 || s.Columns[1] != (column{Header: "voornaam", Field: "first_name"}) {
		t.Errorf("columns %+v", s.Columns)
	}
	if strings.Join(s.Match["ou_code"], ",") != "OU10" || strings.Join(s.Match["function_code"], ",") != "F1,F*" {
		t.Errorf("values %+v", s.Match)
	}
}

func TestDecodeErrorsNameLineAndKey(t *testing.T) {
	for _, tc := range []struct{ in, key string }{
		{"name: a\nnested:\n  deap: 1\n", "nested.deap"},
		{"columns:\n  - {a: b, c: d}\n", "columns[0]"},
		{"match: {ou_code: {a: b}}\n", "match.ou_code"},
		{"wait: soon\n", "wait"},
		{"tags: {a: b}\n", "tags"},
		{"count: [1]\n", "count"},
	} {
		var s sample
		_, err := Decode([]byte(tc.in), &s, sampleTypes...)
		var e *Error
		if !errors.As(err, &e) || e.Key != tc.key || e.Line == 0 {
			t.Errorf("%q: %#v (%v), want key %s with a line", tc.in, e, err, tc.key)
		}
	}
	var s sample
	if _, err := Decode([]byte("name: a\n---\nname: b\n"), &s); err == nil || !strings.Contains(err.Error(), "more than one") {
		t.Errorf("two documents: %v", err)
	}
}
