package pull

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A Path picks one text value out of a JSON object. Syntax:
//
//	a.b.c            nested objects
//	a[0].b           an array element by position (from 0)
//	a[type=Business] the first element whose field type (itself a path) has
//	                 that text
//	a[].b            every element: one row each (contract arrays)
//	p|q              p, else q when p is empty or absent
//
// Strings are taken as they are, numbers as written, true/false as such,
// null and absent as empty; an OData /Date(ms)/ becomes YYYY-MM-DD.
type Path struct {
	src  string
	alts [][]step
}

type step struct {
	key    string // object key; empty for a bracket step
	index  int    // >= 0: array position
	filter []step // [k=v]: path of k within the element
	value  string // [k=v]: v
	fan    bool   // []
}

func (s step) bracket() bool { return s.key == "" }

// ParsePath parses the syntax above.
func ParsePath(text string) (Path, error) {
	p := Path{src: text}
	for alt := range strings.SplitSeq(text, "|") {
		steps, err := parseSteps(strings.TrimSpace(alt))
		if err != nil {
			return Path{}, fmt.Errorf("path %q: %w", text, err)
		}
		fans := 0
		for _, s := range steps {
			if s.fan {
				fans++
			}
		}
		if fans > 1 {
			return Path{}, fmt.Errorf("path %q: only one [] per path", text)
		}
		p.alts = append(p.alts, steps)
	}
	return p, nil
}

func parseSteps(s string) ([]step, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	var steps []step
	i := 0
	for i < len(s) {
		// A key runs to the next '.', '[' or the end.
		j := i
		for j < len(s) && s[j] != '.' && s[j] != '[' {
			if s[j] == ']' || s[j] == '=' {
				return nil, fmt.Errorf("unexpected %q at byte %d", s[j], j+1)
			}
			j++
		}
		if j == i {
			return nil, fmt.Errorf("missing field name at byte %d", i+1)
		}
		steps = append(steps, step{key: s[i:j], index: -1})
		i = j
		for i < len(s) && s[i] == '[' {
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at byte %d", i+1)
			}
			inner := s[i+1 : i+end]
			st := step{index: -1}
			switch k, v, isFilter := strings.Cut(inner, "="); {
			case inner == "":
				st.fan = true
			case isFilter:
				fs, err := parseSteps(k)
				if err != nil {
					return nil, fmt.Errorf("in [%s]: %w", inner, err)
				}
				for _, f := range fs {
					if f.fan {
						return nil, fmt.Errorf("in [%s]: no [] inside a filter", inner)
					}
				}
				st.filter, st.value = fs, v
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("[%s] is neither a position, [] nor [field=value]", inner)
				}
				st.index = n
			}
			steps = append(steps, st)
			i += end + 1
		}
		if i < len(s) {
			if s[i] != '.' || i+1 == len(s) {
				return nil, fmt.Errorf("unexpected %q at byte %d", s[i], i+1)
			}
			i++
		}
	}
	return steps, nil
}

// String returns the path as written.
func (p Path) String() string { return p.src }

// fan returns the steps up to the [] of the first alternative that has
// one, or nil.
func (p Path) fan() []step {
	for _, alt := range p.alts {
		for i, s := range alt {
			if s.fan {
				return alt[:i+1]
			}
		}
	}
	return nil
}

// text evaluates the path on obj; elem is the element of the fanned-out
// array this row stands for (used by alternatives with []).
func (p Path) text(obj any, elem any) string {
	for _, alt := range p.alts {
		var v any
		var ok bool
		if i := fanAt(alt); i >= 0 {
			v, ok = walk(elem, alt[i+1:])
		} else {
			v, ok = walk(obj, alt)
		}
		if ok {
			if t := scalarText(v); t != "" {
				return t
			}
		}
	}
	return ""
}

func fanAt(steps []step) int {
	for i, s := range steps {
		if s.fan {
			return i
		}
	}
	return -1
}

// walk follows steps (without []) from v.
func walk(v any, steps []step) (any, bool) {
	for _, s := range steps {
		switch {
		case !s.bracket():
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[s.key]; !ok {
				return nil, false
			}
		case s.index >= 0:
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false
			}
			v = a[s.index]
		case s.filter != nil:
			a, ok := v.([]any)
			if !ok {
				return nil, false
			}
			found := false
			for _, e := range a {
				if k, ok := walk(e, s.filter); ok && scalarText(k) == s.value {
					v, found = e, true
					break
				}
			}
			if !found {
				return nil, false
			}
		default:
			return nil, false // [] is resolved by the caller
		}
	}
	return v, true
}

var odataDate = regexp.MustCompile(`^/Date\((-?\d+)([+-]\d{4})?\)/$`)

// scalarText renders a JSON value as the text a CSV column would hold.
func scalarText(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		if m := odataDate.FindStringSubmatch(t); m != nil {
			ms, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				return time.UnixMilli(ms).UTC().Format("2006-01-02")
			}
		}
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	default:
		b, _ := json.Marshal(t)
		return string(b)
	}
}
