// Package configfile is the only place that knows spendsync's config is
// YAML. The packages' config structs carry plain `yaml:"key"` struct tags
// naming their keys and nothing else: no YAML types, no unmarshal methods.
// goccy/go-yaml was chosen over yaml.v3 on evidence (docs/development.md): its parser
// gives every node its line, so a bad indent names its own line, and it
// takes decoders for foreign types. The caller names those types
// ([OneKeyMap], [ValueList]), so this package imports none of the packages
// whose config it reads.
package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/spendsync/spendsync/internal/duration"
	"github.com/spendsync/spendsync/internal/show"
)

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

var durationType = reflect.TypeFor[time.Duration]()

// A Type tells Decode how a type the file writes in a shape of its own is
// checked and read: a value of the type is not decoded field by field.
type Type struct {
	t      reflect.Type
	list   bool // ValueList; else OneKeyMap
	hint   string
	decode yaml.DecodeOption
}

// OneKeyMap reads a T written as a map of one key, {key: value}, so that
// a list of them keeps its order; set fills the T. hint is the message
// for anything else, such as "a column is a one-key map such as
// {externalId: employee_number}".
func OneKeyMap[T any](set func(v *T, key, value string), hint string) Type {
	return Type{t: reflect.TypeFor[T](), hint: hint, decode: yaml.CustomUnmarshaler(func(v *T, b []byte) error {
		var m yaml.MapSlice
		if err := yaml.Unmarshal(b, &m); err != nil || len(m) != 1 {
			return errors.New(hint)
		}
		set(v, fmt.Sprint(m[0].Key), fmt.Sprint(m[0].Value))
		return nil
	})}
}

// ValueList reads a T written as one value or a list of values, each
// taken as text. hint is the message for a mapping in its place, such as
// "give a value or a list of values, such as [OU10, OU20]".
func ValueList[T ~[]string](hint string) Type {
	return Type{t: reflect.TypeFor[T](), list: true, hint: hint, decode: yaml.CustomUnmarshaler(func(vs *T, b []byte) error {
		var a any
		if err := yaml.Unmarshal(b, &a); err != nil {
			return err
		}
		*vs = nil
		if l, ok := a.([]any); ok {
			for _, e := range l {
				*vs = append(*vs, fmt.Sprint(e))
			}
			return nil
		}
		*vs = T{fmt.Sprint(a)}
		return nil
	})}
}

// Error is a problem in the file: the line (0 if unknown), the key path
// (empty for the file as a whole) and what is wrong.
type Error struct {
	Line int
	Key  string
	Err  error
}

func (e *Error) Error() string {
	if e.Key == "" {
		return e.Err.Error()
	}
	return e.Key + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Doc is a decoded file: where each key stands and which values came from
// ${VAR}, so messages give a line and never echo a secret.
type Doc struct {
	lines map[string]int    // key path -> line
	vars  map[string]string // key path -> the ${VAR} its value came from
	used  map[string]string // ${VAR} name -> its value, for Redact
	types map[reflect.Type]Type
}

// Redact replaces in msg every value that came from an environment
// variable with its name, so a message from a later check (a validation of
// the decoded value) never echoes a secret either.
func (d *Doc) Redact(msg string) string {
	for _, name := range slices.Sorted(maps.Keys(d.used)) {
		v := d.used[name]
		if v == "" {
			continue
		}
		ref := "the value of ${" + name + "}"
		msg = strings.ReplaceAll(msg, show.Quote(v), ref)
		msg = strings.ReplaceAll(msg, strconv.Quote(v), ref)
		if len(v) >= 4 { // shorter ones would mangle ordinary words
			// Also as a URL path or query holds it (a run-time message
			// naming a request built from the value).
			for _, form := range []string{v, url.PathEscape(v), url.QueryEscape(v), show.Text(v)} {
				msg = strings.ReplaceAll(msg, form, "${"+name+"}")
			}
		}
	}
	return msg
}

// Decode parses data and decodes it into v, a pointer to a struct whose
// defaults are set; types are the types in v written in a shape of their
// own. Before decoding, one walk over the tree guided by v's type expands
// ${VAR}, checks keys and scalar types and reads durations, so every error
// is an *Error with the key path and line.
func Decode(data []byte, v any, types ...Type) (*Doc, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // Notepad's byte order mark
	if err := checkText(data); err != nil {
		return nil, err
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, syntaxError(err)
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, &Error{Err: errors.New("empty")}
	}
	if len(f.Docs) > 1 {
		return nil, &Error{Line: line(f.Docs[1].Body), Err: errors.New("holds more than one YAML document (---)")}
	}
	d := &Doc{lines: map[string]int{}, vars: map[string]string{}, used: map[string]string{}, types: map[reflect.Type]Type{}}
	opts := []yaml.DecodeOption{yaml.DisallowUnknownField(),
		yaml.CustomUnmarshaler(func(d *time.Duration, b []byte) error {
			ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			*d = time.Duration(ns)
			return err
		})}
	for _, t := range types {
		d.types[t.t] = t
		opts = append(opts, t.decode)
	}
	body, err := d.walk(f.Docs[0].Body, reflect.TypeOf(v).Elem(), "")
	if err != nil {
		return nil, err
	}
	err = yaml.NodeToValue(body, v, opts...)
	if err != nil {
		// The walk checked what it can name; whatever the decoder still
		// finds is said without its Go types.
		return nil, &Error{Err: errors.New(plainYAMLError(err))}
	}
	return d, nil
}

// LineOf is the line of key, or of its nearest parent in the file (a
// required key that is missing is reported on its section's line).
func (d *Doc) LineOf(key string) int {
	for k := key; k != ""; {
		if n, ok := d.lines[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// syntaxError turns a parse error into "line N: what", without the
// library's source excerpt and caret.
func syntaxError(err error) error {
	var ye interface {
		GetToken() *token.Token
		GetMessage() string
	}
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		tk := ye.GetToken()
		// A plain scalar runs on over a wrongly indented line ("3\n
		// grace_days: 4" is one value): the fault is where it ends.
		n := tk.Position.Line + strings.Count(strings.TrimRight(tk.Origin, " \t\r\n"), "\n")
		msg := escapeControls(ye.GetMessage())
		if strings.Contains(msg, "not allowed in this context") {
			msg += " (check the indentation of this line)"
		}
		return &Error{Line: n, Err: fmt.Errorf("not valid YAML: %s", msg)}
	}
	return &Error{Err: fmt.Errorf("not valid YAML: %s", plainYAMLError(err))}
}

// checkText refuses what YAML does not allow in a file and the parser
// lets through: invalid UTF-8 and control characters other than tab, CR
// and LF (a binary file or a wrong encoding).
func checkText(data []byte) error {
	n := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return &Error{Line: n, Err: errors.New("not valid YAML: not UTF-8 text (save the file as UTF-8)")}
		case r == '\n':
			n++
		case unicode.IsControl(r) && r != '\t' && r != '\r' && r != 0x85:
			return &Error{Line: n, Err: fmt.Errorf("not valid YAML: control character %U (a binary file?)", r)}
		}
		i += size
	}
	return nil
}

// escapeControls keeps a library message printable (it may quote a tab).
func escapeControls(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.NewReplacer("\t", `\t`, "\r", `\r`, "\n", `\n`).Replace(s))
}

func plainYAMLError(err error) string {
	var ye interface{ GetMessage() string }
	if errors.As(err, &ye) {
		return escapeControls(ye.GetMessage())
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return escapeControls(msg)
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// walk checks node n against type t at key path, returning the node to
// decode in its place (expanded, or a duration turned into nanoseconds).
func (d *Doc) walk(n ast.Node, t reflect.Type, path string) (ast.Node, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := n.(type) {
	case *ast.AnchorNode:
		inner, err := d.walk(v.Value, t, path)
		v.Value = inner
		return v, err
	case *ast.TagNode:
		return n, d.errAt(n, path, "tags (!!) are not used in spendsync's config")
	case *ast.AliasNode, *ast.MergeKeyNode:
		return n, nil // the anchor it names was checked where it stands
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = line(n)
	}
	if _, isNull := n.(*ast.NullNode); isNull {
		return n, nil
	}
	switch {
	case t == durationType:
		text, err := d.scalarText(n, path)
		if err != nil {
			return n, err
		}
		dur, err := duration.Parse(text)
		if err != nil {
			return n, d.badValue(n, path, text, err.Error())
		}
		// Nanoseconds, read back by the time.Duration decoder below.
		ns := strconv.FormatInt(int64(dur), 10)
		return ast.String(token.New(ns, ns, n.GetToken().Position)), nil
	case d.types[t].list:
		if seq, ok := n.(*ast.SequenceNode); ok {
			for i, e := range seq.Values {
				val, err := d.scalar(e, reflect.String, fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return n, err
				}
				seq.Values[i] = val
			}
			return n, nil
		}
		if pairs := mappingPairs(n); pairs != nil {
			return n, d.errAt(n, path, d.types[t].hint)
		}
		return d.scalar(n, reflect.String, path)
	case d.types[t].t != nil:
		if len(mappingPairs(n)) != 1 {
			return n, d.errAt(n, path, d.types[t].hint)
		}
		return n, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		pairs := mappingPairs(n)
		if pairs == nil && !isEmptyMapping(n) {
			return n, d.errAt(n, path, "expects a mapping of keys (key: value lines below it)")
		}
		for _, p := range pairs {
			key := keyText(p.Key)
			kpath := joinKey(path, key)
			d.lines[kpath] = line(p.Key)
			f, ok := fieldByKey(t, key)
			if !ok {
				return n, &Error{Key: kpath, Line: line(p.Key), Err: errors.New("unknown key")}
			}
			if p.Value == nil {
				continue
			}
			val, err := d.walk(p.Value, f.Type, kpath)
			if err != nil {
				return n, err
			}
			p.Value = val
		}
	case reflect.Map:
		pairs := mappingPairs(n)
		if pairs == nil && !isEmptyMapping(n) {
			return n, d.errAt(n, path, "expects a mapping (key: value)")
		}
		for _, p := range pairs {
			kpath := joinKey(path, keyText(p.Key))
			d.lines[kpath] = line(p.Key)
			if p.Value == nil {
				continue
			}
			val, err := d.walk(p.Value, t.Elem(), kpath)
			if err != nil {
				return n, err
			}
			p.Value = val
		}
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			return n, d.errAt(n, path, "expects a list ([a, b] or lines starting with -)")
		}
		for i, e := range seq.Values {
			val, err := d.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return n, err
			}
			seq.Values[i] = val
		}
	case reflect.String, reflect.Int, reflect.Int64, reflect.Bool:
		return d.scalar(n, t.Kind(), path)
	}
	return n, nil
}

// scalar expands ${VAR} in a scalar value and checks it fits kind.
func (d *Doc) scalar(n ast.Node, kind reflect.Kind, path string) (ast.Node, error) {
	text, err := d.scalarText(n, path)
	if err != nil {
		return n, err
	}
	pos := n.GetToken().Position
	switch kind {
	case reflect.String:
		if s, ok := n.(*ast.StringNode); ok {
			s.Value = text
			return s, nil
		}
		return ast.String(token.New(text, text, pos)), nil
	case reflect.Int, reflect.Int64:
		if _, err := strconv.Atoi(text); err != nil {
			return n, d.badValue(n, path, text, "expects a whole number")
		}
		return ast.Integer(token.New(text, text, pos)), nil
	default: // bool
		switch b := strings.ToLower(text); b {
		case "true", "false":
			return ast.Bool(token.New(b, b, pos)), nil
		}
		return n, d.badValue(n, path, text, "expects true or false")
	}
}

// scalarText is a scalar's text with ${VAR} expanded; the path is noted
// when a variable was used, so no message echoes what it held.
func (d *Doc) scalarText(n ast.Node, path string) (string, error) {
	var text string
	switch v := n.(type) {
	case *ast.StringNode:
		text = v.Value
	case *ast.LiteralNode:
		text = v.Value.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		text = n.GetToken().Value
	default:
		return "", d.errAt(n, path, "expects a single value, not a "+nodeKind(n))
	}
	var missing string
	out := varRef.ReplaceAllStringFunc(text, func(ref string) string {
		name := ref[2 : len(ref)-1]
		v, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		d.used[name] = v
		if _, seen := d.vars[path]; !seen {
			d.vars[path] = name
		}
		return v
	})
	if missing != "" {
		return "", d.errAt(n, path, fmt.Sprintf("environment variable %s is not set", missing))
	}
	return out, nil
}

// badValue says what is wrong with a value, quoting it unless it came from
// an environment variable: that may be a secret.
func (d *Doc) badValue(n ast.Node, path, text, why string) error {
	if v, ok := d.vars[path]; ok {
		return d.errAt(n, path, fmt.Sprintf("the value of ${%s}: %s", v, why))
	}
	return d.errAt(n, path, fmt.Sprintf("%s, got %s", why, show.Quote(text)))
}

func (d *Doc) errAt(n ast.Node, path, msg string) error {
	return &Error{Key: path, Line: line(n), Err: errors.New(msg)}
}

func nodeKind(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "mapping"
	case *ast.SequenceNode:
		return "list"
	}
	return strings.ToLower(n.Type().String())
}

// mappingPairs lists a mapping's pairs; goccy gives a one-pair block
// mapping as a bare MappingValueNode.
func mappingPairs(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

func isEmptyMapping(n ast.Node) bool {
	m, ok := n.(*ast.MappingNode)
	return ok && len(m.Values) == 0
}

func keyText(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

// fieldByKey finds the struct field whose yaml tag (or lower-cased name)
// is key.
func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
