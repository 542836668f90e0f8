package ingest

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// A first ingest plans one person.joined event per person. Its details
// are not a map built per joiner but a joinedEvent pointing at the
// planned person and its put contracts, rendered (as encoding/json would
// render the map: keys sorted, same escaping) when the event is written:
// a map per joiner, with copies of its fields and contracts, was the
// larger part of a first ingest's memory.
type joinedEvent struct {
	person     joinedPerson
	contracts  joinedContracts // a window of the put contracts, not a copy
	file       string
	line       int
	providedBy []string // providers folded into the event (mergeProvided)
}

func (j *joinedEvent) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 512)
	buf = append(buf, '{')
	if len(j.contracts) > 0 {
		c, err := j.contracts.MarshalJSON()
		if err != nil {
			return nil, err
		}
		buf = append(append(buf, `"contracts":`...), c...)
		buf = append(buf, ',')
	}
	buf = appendJSONString(append(buf, `"file":`...), j.file)
	buf = strconv.AppendInt(append(buf, `,"line":`...), int64(j.line), 10)
	p, _ := j.person.MarshalJSON()
	buf = append(append(buf, `,"person":`...), p...)
	if len(j.providedBy) > 0 {
		buf = append(buf, `,"provided_by":[`...)
		for i, s := range j.providedBy {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, s)
		}
		buf = append(buf, ']')
	}
	return append(buf, '}'), nil
}

// EventDetails returns an event's details as a map, rendering lazy ones,
// for the places that show an event before it is written (dry run, log).
func EventDetails(e lifecycle.Event) map[string]any {
	if e.Lazy == nil {
		return e.Details
	}
	var d map[string]any
	if b, err := json.Marshal(e.Lazy); err == nil {
		json.Unmarshal(b, &d)
	}
	return d
}

// joinedPerson is a joiner's non-empty fields, rendered as a JSON object
// (keys sorted, as encoding/json orders a map) only when the event is
// written: a map per joiner was a sixth of a first ingest's memory.
type joinedPerson struct{ p *model.Person }

var sortedPersonFields = slices.Sorted(slices.Values(model.PersonFields))

func (j joinedPerson) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 256)
	buf = append(buf, '{')
	for _, f := range sortedPersonFields {
		v := j.p.Field(f)
		if v == "" {
			continue
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(append(appendJSONString(buf, f), ':'), v)
	}
	return append(buf, '}'), nil
}

// joinedContracts is a joiner's contracts in its event, rendered as
// encoding/json renders []model.Contract.
type joinedContracts []*model.Contract

var contractJSONKeys = append([]string{model.KeyField, "key"}, model.ContractFields...)

func (j joinedContracts) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 256*len(j))
	buf = append(buf, '[')
	for i, c := range j {
		if i > 0 {
			buf = append(buf, ',')
		}
		vals := append([]*string{&c.EmployeeNumber, &c.Key}, c.FieldPtrs()...)
		for k, v := range vals {
			buf = append(buf, ",{"[boolInt(k == 0)])
			buf = appendJSONString(append(appendJSONString(buf, contractJSONKeys[k]), ':'), *v)
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

// appendJSONString appends s as encoding/json writes a string: plain
// ASCII directly, anything else through encoding/json itself (HTML
// characters, invalid UTF-8 and U+2028 are escaped there).
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
