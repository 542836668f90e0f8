package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
)

// Session is one source's pull: persons, then contracts, through one
// authenticated client, with its pages kept in one folder.
type Session struct {
	ctx  context.Context
	cfg  *Config
	c    *client
	base *url.URL
	keep string // this pull's folder while it is incomplete
	done string // and once it is
}

// stampLayout names a kept pull's folder; it sorts by time.
const stampLayout = "20060102T150405.000000000Z"

// Open prepares a pull. Nothing is fetched yet.
func Open(ctx context.Context, cfg *Config) (*Session, error) {
	s := &Session{ctx: ctx, cfg: cfg}
	if cfg.Replay != "" {
		if _, err := os.Stat(filepath.Join(cfg.Replay, "persons-0001.json")); err != nil {
			return nil, fmt.Errorf("%s is not a kept pull (no persons-0001.json in it)", cfg.Replay)
		}
		return s, nil
	}
	base, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("api.url: %w", err)
	}
	s.base = base
	if s.c, err = newClient(ctx, cfg); err != nil {
		return nil, err
	}
	if cfg.Keep != "" {
		if err := atomicfile.MkdirPrivate(cfg.Keep); err != nil {
			return nil, fmt.Errorf("keep responses: %w", err)
		}
		stamp := time.Now().UTC().Format(stampLayout)
		s.done = filepath.Join(cfg.Keep, stamp)
		s.keep = s.done + ".partial"
		if err := atomicfile.MkdirPrivate(s.keep); err != nil {
			return nil, fmt.Errorf("keep responses: %w", err)
		}
	}
	return s, nil
}

// Finish ends the pull. A complete pull's kept pages are moved into place
// (and older pulls pruned); an incomplete one's are removed: a kept pull is
// always whole, so replaying it can never remove half the company.
func (s *Session) Finish(complete bool) error {
	if s == nil || s.keep == "" {
		return nil
	}
	if !complete {
		return os.RemoveAll(s.keep)
	}
	if err := os.Rename(s.keep, s.done); err != nil {
		return fmt.Errorf("keep responses: %w", err)
	}
	return prune(s.cfg.Keep, s.cfg.KeepFor, time.Now())
}

// prune removes kept pulls older than keepFor, and leftovers of pulls that
// never completed.
func prune(dir string, keepFor time.Duration, now time.Time) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("prune kept responses: %w", err)
	}
	for _, e := range entries {
		name, partial := strings.CutSuffix(e.Name(), ".partial")
		t, err := time.Parse(stampLayout, name)
		if err != nil || !e.IsDir() {
			continue
		}
		if (partial && now.Sub(t) > time.Hour) || (keepFor > 0 && now.Sub(t) > keepFor) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("prune kept responses: %w", err)
			}
		}
	}
	return nil
}

// Rows iterates one resource's rows as records of strings, one per path.
type Rows struct {
	s        *Session
	kind     string
	name     string
	header   []string
	paths    []Path
	fan      []step
	sys      system
	cur      *url.URL
	page     int
	files    []string // replay
	body     []byte   // the page being read
	dec      *json.Decoder
	onPage   int
	next     string
	finished bool
	queue    [][]string
	raw      string
	line     int
}

// Rows starts reading resource (kind is "persons" or "contracts"), with
// one column per path in columns, which also make the header.
func (s *Session) Rows(kind, resource string, columns []string) (*Rows, error) {
	r := &Rows{s: s, kind: kind, header: columns, sys: systems[s.cfg.System]}
	for _, c := range columns {
		p, err := ParsePath(c)
		if err != nil {
			return nil, err
		}
		if f := p.fan(); f != nil {
			if r.fan != nil && !sameSteps(r.fan, f) {
				return nil, fmt.Errorf("path %q: all [] paths of a resource must fan out the same array", c)
			}
			r.fan = f
		}
		r.paths = append(r.paths, p)
	}
	if s.cfg.Replay != "" {
		files, err := filepath.Glob(filepath.Join(s.cfg.Replay, kind+"-*.json"))
		if err != nil || len(files) == 0 {
			return nil, fmt.Errorf("%s holds no %s pages", s.cfg.Replay, kind)
		}
		slices.Sort(files)
		r.files = files
		r.name = filepath.Join(s.cfg.Replay, kind)
		return r, nil
	}
	u, err := r.sys.first(s.base, resource, s.cfg.PageSize, r.paths)
	if err != nil {
		return nil, err
	}
	r.cur = u
	r.name = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	return r, nil
}

// Name is the rows' origin for messages and rejects: the URL without its
// query, or the replayed folder.
func (r *Rows) Name() string { return r.name }

// Header is the configured paths.
func (r *Rows) Header() []string { return r.header }

// Line is the number of the row object the last record came from (1 is the
// first row of the first page).
func (r *Rows) Line() int { return r.line }

// Next returns the next record and the JSON of its row; io.EOF at the end.
// Any other error means the pull failed.
func (r *Rows) Next() ([]string, string, error) {
	for {
		if len(r.queue) > 0 {
			rec := r.queue[0]
			r.queue = r.queue[1:]
			return rec, r.raw, nil
		}
		if r.dec == nil {
			if r.finished {
				return nil, "", io.EOF
			}
			if err := r.openPage(); err != nil {
				return nil, "", err
			}
			continue
		}
		if r.dec.More() {
			if err := r.row(); err != nil {
				return nil, "", r.shapeErr(err)
			}
			continue
		}
		if err := r.closePage(); err != nil {
			return nil, "", r.shapeErr(err)
		}
		r.dec, r.body = nil, nil
		if err := r.advance(); err != nil {
			return nil, "", err
		}
	}
}

func (r *Rows) shapeErr(err error) error {
	path := r.name
	if r.cur != nil {
		path = r.cur.EscapedPath()
	}
	return &Error{Path: path, Status: 200, Err: fmt.Errorf("page %d is not the expected JSON: %w", r.page, err)}
}

// openPage fetches (or reads) the next page and positions the decoder at
// the first row.
func (r *Rows) openPage() error {
	r.page++
	r.onPage, r.next = 0, ""
	var body []byte
	if r.files != nil {
		var err error
		if body, err = os.ReadFile(r.files[0]); err != nil {
			return err
		}
		r.files = r.files[1:]
	} else {
		var err error
		if body, err = r.s.c.get(r.s.ctx, r.cur); err != nil {
			return err
		}
		if body == nil { // 204 No Content: no more rows
			r.finished = true
			return nil
		}
		if r.s.keep != "" {
			name := filepath.Join(r.s.keep, fmt.Sprintf("%s-%04d.json", r.kind, r.page))
			// A new 0600 file, never through a link (as everywhere spendsync writes).
			if err := atomicfile.WriteNew(name, body); err != nil {
				return fmt.Errorf("keep responses: %w", err)
			}
		}
	}
	r.body = body
	r.dec = json.NewDecoder(bytes.NewReader(body))
	r.dec.UseNumber()
	for level, key := range r.sys.rows {
		if err := expectDelim(r.dec, '{'); err != nil {
			return r.shapeErr(err)
		}
		found := false
		for r.dec.More() {
			k, err := r.key()
			if err != nil {
				return r.shapeErr(err)
			}
			if slices.Contains(strings.Split(key, "|"), k) {
				found = true
				break
			}
			if err := r.field(level, k); err != nil {
				return r.shapeErr(err)
			}
		}
		if !found {
			return r.shapeErr(fmt.Errorf("no %q in the answer", strings.Join(r.sys.rows[:level+1], ".")))
		}
	}
	if err := expectDelim(r.dec, '['); err != nil {
		return r.shapeErr(fmt.Errorf("%q is not an array", strings.Join(r.sys.rows, ".")))
	}
	return nil
}

// row decodes one row object into records.
func (r *Rows) row() error {
	// Decode once; the row's text (for rejects) is sliced from the page.
	start := r.dec.InputOffset()
	var v any
	if err := r.dec.Decode(&v); err != nil {
		return err
	}
	r.onPage++
	r.line++
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("row %d is not an object", r.onPage)
	}
	r.raw = string(bytes.TrimLeft(r.body[start:r.dec.InputOffset()], ", \t\r\n"))
	if r.fan == nil {
		r.queue = append(r.queue, r.record(obj, nil))
		return nil
	}
	arr, _ := walk(obj, r.fan[:len(r.fan)-1])
	elems, _ := arr.([]any)
	for _, e := range elems {
		r.queue = append(r.queue, r.record(obj, e))
	}
	return nil
}

func (r *Rows) record(obj, elem any) []string {
	rec := make([]string, len(r.paths))
	for i, p := range r.paths {
		rec[i] = p.text(obj, elem)
	}
	return rec
}

// closePage reads the rest of the answer after the rows array, picking up
// a next-page link that follows it.
func (r *Rows) closePage() error {
	if err := expectDelim(r.dec, ']'); err != nil {
		return err
	}
	for level := len(r.sys.rows) - 1; level >= 0; level-- {
		for r.dec.More() {
			k, err := r.key()
			if err != nil {
				return err
			}
			if err := r.field(level, k); err != nil {
				return err
			}
		}
		if err := expectDelim(r.dec, '}'); err != nil {
			return err
		}
	}
	if _, err := r.dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the answer")
	}
	return nil
}

// field reads the value of key k at depth level: the next-page link, or
// something to skip.
func (r *Rows) field(level int, k string) error {
	var v any
	if err := r.dec.Decode(&v); err != nil {
		return err
	}
	n := r.sys.next
	if len(n) == level+1 && k == n[level] && slices.Equal(n[:level], r.sys.rows[:level]) {
		if s, ok := v.(string); ok {
			r.next = s
		} else if v != nil {
			return fmt.Errorf("%q is not a string", k)
		}
	}
	return nil
}

func (r *Rows) key() (string, error) {
	t, err := r.dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("expected a key, found %v", t)
	}
	return k, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %v", want, t)
	}
	return nil
}

// advance moves to the next page, or marks the end.
func (r *Rows) advance() error {
	if r.cur == nil { // replay
		r.finished = len(r.files) == 0
		return nil
	}
	nxt, err := r.sys.more(r.cur, r.onPage, r.s.cfg.PageSize, r.next)
	if err != nil {
		return &Error{Path: r.cur.EscapedPath(), Status: 200, Err: err}
	}
	if nxt == nil {
		r.finished = true
		return nil
	}
	if nxt.String() == r.cur.String() {
		return &Error{Path: r.cur.EscapedPath(), Status: 200, Err: errors.New("the next page is this page again")}
	}
	r.cur = nxt
	return nil
}

func sameSteps(a, b []step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].key != b[i].key || a[i].index != b[i].index || a[i].fan != b[i].fan || a[i].value != b[i].value || !sameSteps(a[i].filter, b[i].filter) {
			return false
		}
	}
	return true
}
