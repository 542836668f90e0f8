package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/duration"
	"github.com/spendsync/spendsync/internal/show"
)

// Session is one source's pull: persons, then contracts, through one
// authenticated client, with its pages kept in one folder.
type Session struct {
	ctx    context.Context
	cancel context.CancelFunc
	cfg    *Config
	c      *client
	base   *url.URL
	keep   string         // this pull's folder while it is incomplete
	done   string         // and once it is
	kept   map[string]int // pages kept so far, by kind
	replay *manifest
}

// stampLayout names a kept pull's folder; it sorts by time.
const stampLayout = "20060102T150405.000000000Z"

// manifestName is the file a kept pull's folder gets last, once all its
// pages are in: without it the folder is not a whole pull.
const manifestName = "manifest.json"

// manifest records how many pages of each kind a kept pull holds, so a
// replay with pages missing is refused rather than read as fewer persons.
type manifest struct {
	Pages map[string]int `json:"pages"`
}

// Open prepares a pull. Nothing is fetched yet. The pull's deadline
// (api.deadline) starts now.
func Open(ctx context.Context, cfg *Config) (*Session, error) {
	s := &Session{ctx: ctx, cfg: cfg, cancel: func() {}, kept: map[string]int{}}
	if cfg.Replay != "" {
		m, err := readManifest(cfg.Replay)
		if err != nil {
			return nil, err
		}
		s.replay = m
		for _, kind := range slices.Sorted(maps.Keys(m.Pages)) {
			if _, err := s.replayFiles(kind); err != nil {
				return nil, err
			}
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
	d := cfg.deadline()
	s.ctx, s.cancel = context.WithTimeoutCause(ctx, d,
		final(fmt.Errorf("the pull took longer than %s (%s)", duration.String(d), cfg.key("deadline"))))
	return s, nil
}

// readManifest checks that dir is a whole kept pull.
func readManifest(dir string) (*manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat(filepath.Join(dir, "persons-0001.json")); perr != nil {
			return nil, fmt.Errorf("%s is not a kept pull (no %s in it)", dir, manifestName)
		}
		return nil, fmt.Errorf("%s is not a whole kept pull: it has no %s (the pull was cut short, or kept by an older spendsync), so pages may be missing; nothing was changed", dir, manifestName)
	}
	if err != nil {
		return nil, fmt.Errorf("kept pull: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Pages == nil {
		return nil, fmt.Errorf("%s: not a kept pull's manifest", filepath.Join(dir, manifestName))
	}
	return &m, nil
}

// Finish ends the pull. A complete pull's kept pages get their manifest,
// written last, and are moved into place (and older pulls pruned); an
// incomplete one's are removed: a kept pull is always whole, so replaying
// it can never remove half the company.
func (s *Session) Finish(complete bool) error {
	if s == nil {
		return nil
	}
	s.cancel()
	if s.keep == "" {
		return nil
	}
	if !complete {
		return os.RemoveAll(s.keep)
	}
	data, _ := json.Marshal(manifest{Pages: s.kept})
	if err := atomicfile.WriteBytes(filepath.Join(s.keep, manifestName), append(data, '\n')); err != nil {
		os.RemoveAll(s.keep)
		return fmt.Errorf("keep responses: %w", err)
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

// maxEmptyPages is how many empty pages in a row, each with a link to yet
// another page, a pull follows: an API that pages through nothing that
// long is not paging through its rows (each also counts to max_pages).
const maxEmptyPages = 10

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
	src      *bounded // the page being read
	dec      *json.Decoder
	req      *Error // the page's request: its path and attempts
	stage    *atomicfile.Staging
	onPage   int
	next     string
	finished bool
	queue    [][]string
	raw      string
	line     int

	// hash covers the rows of this page handed out so far: a page asked
	// again after its body broke off must give them back unchanged.
	seed maphash.Seed
	hash maphash.Hash
	// visited holds the pages asked so far (a SHA-256 of each URL): a
	// next link back to one is a loop.
	visited map[[32]byte]int
	empty   int // empty pages in a row that linked to another
	unique  *uniqueKeys
}

// Rows starts reading resource (kind is "persons" or "contracts"), with
// one column per path in columns, which also make the header.
func (s *Session) Rows(kind, resource string, columns []string) (*Rows, error) {
	r := &Rows{s: s, kind: kind, header: columns, sys: systems[s.cfg.System], seed: maphash.MakeSeed(), visited: map[[32]byte]int{}}
	r.hash.SetSeed(r.seed)
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
	if s.replay != nil {
		files, err := s.replayFiles(kind)
		if err != nil {
			return nil, err
		}
		r.files = files
		r.finished = len(files) == 0
		r.name = filepath.Join(s.cfg.Replay, kind)
		return r, nil
	}
	u, err := r.sys.first(s.base, resource, s.cfg.PageSize, r.paths)
	if err != nil {
		return nil, err
	}
	if s.keep != "" {
		s.kept[kind] += 0 // in the manifest even with no page kept (a 204)
	}
	r.cur = u
	r.visited[sha256.Sum256([]byte(u.String()))] = 1
	r.name = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	return r, nil
}

// replayFiles lists a kept pull's pages of kind, refusing a pull whose
// pages are not exactly those its manifest counts.
func (s *Session) replayFiles(kind string) ([]string, error) {
	dir := s.cfg.Replay
	n, ok := s.replay.Pages[kind]
	if !ok {
		return nil, fmt.Errorf("%s holds no %s pages", dir, kind)
	}
	found, err := filepath.Glob(filepath.Join(dir, kind+"-*.json"))
	if err != nil {
		return nil, err
	}
	var files []string
	for i := 1; i <= n; i++ {
		f := filepath.Join(dir, fmt.Sprintf("%s-%04d.json", kind, i))
		if !slices.Contains(found, f) {
			return nil, fmt.Errorf("%s is not a whole kept pull: %s is missing (%s lists %d %s pages); nothing was changed", dir, filepath.Base(f), manifestName, n, kind)
		}
		files = append(files, f)
	}
	if len(found) != n {
		return nil, fmt.Errorf("%s holds %d %s pages, but %s lists %d; nothing was changed", dir, len(found), kind, manifestName, n)
	}
	return files, nil
}

// Unique names columns (by position in the header) whose values together
// key a row: an employee number, or an employee number and a contract id.
// No two pages of one pull may hold the same key: pages that shifted while
// they were read (a row pushed onto the next page, a page served twice)
// would hide the rows they skipped, and those would read as gone. A key
// twice on one page is a duplicate in the HR data itself, left to the
// caller (a reject, as in a file). Empty values are not keys.
func (r *Rows) Unique(what string, cols ...int) {
	r.unique = &uniqueKeys{what: what, cols: cols, seen: map[[12]byte]int32{},
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// uniqueKeys remembers on which page each key was seen, by a 96-bit hash
// of its values (as the connector keys contracts): 16 bytes a row.
type uniqueKeys struct {
	what  string
	cols  []int
	seen  map[[12]byte]int32
	seeds [2]maphash.Seed
}

// check records rec's key as seen on page, or returns the page it was on
// before.
func (u *uniqueKeys) check(rec []string, page int) (prev int, vals []string) {
	var h [2]maphash.Hash
	h[0].SetSeed(u.seeds[0])
	h[1].SetSeed(u.seeds[1])
	for _, c := range u.cols {
		if c < 0 || c >= len(rec) || rec[c] == "" {
			return 0, nil
		}
		for i := range h {
			h[i].WriteString(rec[c])
			h[i].WriteByte(0)
		}
		vals = append(vals, rec[c])
	}
	var k [12]byte
	a, b := h[0].Sum64(), h[1].Sum64()
	for i := range 8 {
		k[i] = byte(a >> (8 * i))
	}
	for i := range 4 {
		k[8+i] = byte(b >> (8 * i))
	}
	if p, ok := u.seen[k]; ok {
		return int(p), vals
	}
	u.seen[k] = int32(page)
	return 0, vals
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
				r.drop()
				return nil, "", err
			}
			continue
		}
		var err error
		if r.dec.More() {
			err = r.row()
		} else if err = r.closePage(); err == nil {
			if err = r.endPage(); err == nil {
				err = r.advance()
			}
			if err != nil {
				r.drop()
				return nil, "", err
			}
			continue
		}
		if err != nil {
			if err = r.again(err); err != nil {
				r.drop()
				return nil, "", err
			}
		}
	}
}

// fail wraps an error of the current page with its request path.
func (r *Rows) fail(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	path := r.name
	attempts := 0
	if r.cur != nil {
		path = r.cur.EscapedPath()
	}
	if r.req != nil {
		attempts = r.req.Attempts
	}
	status := 0 // a bound or a shift: the status says nothing
	if errors.Is(err, io.EOF) {
		// Never io.EOF itself: to a reader that means "no more rows".
		err = errors.New("the answer ends before it is complete")
	}
	if !errors.As(err, new(finalError)) {
		err = fmt.Errorf("page %d is not the expected JSON: %w", r.page, err)
		status = 200
	}
	return &Error{Path: path, Status: status, Attempts: attempts, Err: err}
}

// again handles an error while reading a page: a body that broke off (the
// connection lost, a timeout) is asked again within api.retries and read
// on after the rows already handed out, which must come back the same. A
// bound reached or an answer of the wrong shape ends the pull.
func (r *Rows) again(err error) error {
	rerr := r.src.err
	if rerr == nil || r.req == nil || errors.As(rerr, new(finalError)) {
		if rerr != nil {
			err = rerr
		}
		return r.fail(err)
	}
	r.drop()
	r.req.Status, r.req.Err = 200, rerr
	if err := r.s.c.pause(r.s.ctx, r.req, 0); err != nil {
		return err
	}
	return r.load()
}

// drop closes the page being read and discards its kept copy.
func (r *Rows) drop() {
	if r.src != nil {
		r.src.close()
	}
	if r.stage != nil {
		r.stage.Abort()
	}
	r.src, r.dec, r.stage = nil, nil, nil
}

// openPage fetches (or reads) the next page and positions the decoder at
// the first row.
func (r *Rows) openPage() error {
	r.page++
	r.onPage, r.next = 0, ""
	r.hash.Reset()
	if r.files != nil {
		f, err := os.Open(r.files[0])
		if err != nil {
			return err
		}
		r.files = r.files[1:]
		if err := r.begin(f, 0); err != nil {
			if r.src.err != nil {
				err = r.src.err
			}
			return r.fail(err)
		}
		return nil
	}
	r.req = &Error{Path: r.cur.EscapedPath()}
	return r.load()
}

// load asks for the current page and reads it up to its first row not yet
// handed out: a body that breaks off before that is asked again.
func (r *Rows) load() error {
	skip := r.onPage
	for {
		body, err := r.s.c.get(r.s.ctx, r.cur, r.req)
		if err != nil {
			return err
		}
		if body == nil { // 204 No Content: no more rows
			if skip > 0 {
				return &Error{Path: r.req.Path, Status: 204, Attempts: r.req.Attempts,
					Err: final(fmt.Errorf("page %d was empty when asked again after its answer broke off", r.page))}
			}
			r.finished = true
			return nil
		}
		if r.s.keep != "" {
			name := filepath.Join(r.s.keep, fmt.Sprintf("%s-%04d.json", r.kind, r.page))
			if r.stage, err = atomicfile.Begin(name); err != nil {
				body.Close()
				return fmt.Errorf("keep responses: %w", err)
			}
		}
		err = r.begin(body, skip)
		if err == nil {
			return nil
		}
		rerr := r.src.err
		r.drop()
		if rerr == nil || errors.As(rerr, new(finalError)) {
			if rerr != nil {
				err = rerr
			}
			return r.fail(err)
		}
		r.req.Status, r.req.Err = 200, rerr
		if err := r.s.c.pause(r.s.ctx, r.req, 0); err != nil {
			return err
		}
	}
}

// begin starts decoding body, positioned at the first row of the rows
// array, after skipping skip rows (handed out from an earlier answer of
// the same page, which they must match).
func (r *Rows) begin(body io.ReadCloser, skip int) error {
	r.src = &bounded{r: body, c: body, max: r.s.cfg.maxBody(), key: r.s.cfg.key("max_body")}
	if r.stage != nil {
		r.src.tee = r.stage
	}
	r.dec = json.NewDecoder(r.src)
	r.dec.UseNumber()
	r.src.dec = r.dec
	r.next = ""
	for level, key := range r.sys.rows {
		if err := expectDelim(r.dec, '{'); err != nil {
			return err
		}
		found := false
		for r.dec.More() {
			k, err := r.key()
			if err != nil {
				return err
			}
			if slices.Contains(strings.Split(key, "|"), k) {
				found = true
				break
			}
			if err := r.field(level, k); err != nil {
				return err
			}
		}
		if !found {
			return fmt.Errorf("no %q in the answer", strings.Join(r.sys.rows[:level+1], "."))
		}
	}
	if err := expectDelim(r.dec, '['); err != nil {
		if r.src.err != nil {
			return err
		}
		return fmt.Errorf("%q is not an array", strings.Join(r.sys.rows, "."))
	}
	if skip == 0 {
		return nil
	}
	var h maphash.Hash
	h.SetSeed(r.seed)
	for range skip {
		var raw json.RawMessage
		if !r.dec.More() {
			return final(fmt.Errorf("page %d came back shorter when asked again after its answer broke off", r.page))
		}
		start := r.dec.InputOffset()
		if err := r.dec.Decode(&raw); err != nil {
			return err
		}
		h.Write(r.src.text(start, r.dec.InputOffset()))
	}
	if h.Sum64() != r.hash.Sum64() {
		return final(fmt.Errorf("page %d came back different when asked again after its answer broke off: the data changed while it was read", r.page))
	}
	return nil
}

// row decodes one row object into records.
func (r *Rows) row() error {
	// Decode once; the row's text (for rejects) is what the reader kept
	// of it.
	start := r.dec.InputOffset()
	var v any
	if err := r.dec.Decode(&v); err != nil {
		return err
	}
	raw := r.src.text(start, r.dec.InputOffset())
	r.onPage++
	r.line++
	r.hash.Write(raw)
	if max := r.s.cfg.maxRows(); r.line > max {
		return final(fmt.Errorf("more than %d rows of %s (%s)", max, r.kind, r.s.cfg.key("max_rows")))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("row %d is not an object", r.onPage)
	}
	r.raw = rawText(raw)
	start2 := len(r.queue)
	if r.fan == nil {
		r.queue = append(r.queue, r.record(obj, nil))
	} else {
		arr, _ := walk(obj, r.fan[:len(r.fan)-1])
		elems, _ := arr.([]any)
		for _, e := range elems {
			r.queue = append(r.queue, r.record(obj, e))
		}
	}
	if r.unique != nil {
		for _, rec := range r.queue[start2:] {
			if prev, vals := r.unique.check(rec, r.page); prev != 0 && prev != r.page {
				shown := make([]string, len(vals))
				for i, v := range vals {
					shown[i] = show.Quote(v)
				}
				return final(fmt.Errorf("page %d repeats the %s %s of page %d: the pages shifted while they were read, so rows may have been skipped; nothing was changed",
					r.page, r.unique.what, strings.Join(shown, ", "), prev))
			}
		}
	}
	return nil
}

// rawText is a row's text as a reject stores it (show.Raw): at most
// show.MaxRaw bytes, with the full length when cut. A pull holds no more
// of a row than that, however large the row.
func rawText(b []byte) string {
	if len(b) <= show.MaxRaw {
		return string(b)
	}
	suffix := fmt.Sprintf("… (%d bytes in all)", len(b))
	n := show.MaxRaw - len(suffix)
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + suffix
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
		if r.src.err != nil {
			return r.src.err
		}
		return fmt.Errorf("data after the answer")
	}
	return nil
}

// endPage closes the page read in full and puts its kept copy in place.
func (r *Rows) endPage() error {
	r.src.close()
	r.src, r.dec = nil, nil
	if r.stage == nil {
		return nil
	}
	st := r.stage
	r.stage = nil
	p, err := st.Done()
	if err == nil {
		err = p.Commit()
	}
	if err != nil {
		return fmt.Errorf("keep responses: %w", err)
	}
	r.s.kept[r.kind]++
	return nil
}

// field reads the value of key k at depth level: the next-page link, or
// something to skip.
func (r *Rows) field(level int, k string) error {
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return err
	}
	n := r.sys.next
	if len(n) == level+1 && k == n[level] && slices.Equal(n[:level], r.sys.rows[:level]) {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if s, ok := v.(string); ok {
			r.next = s
		} else if v != nil {
			return fmt.Errorf("%s is not a string", show.Quote(k))
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
		return "", fmt.Errorf("expected a key, found %s", token(t))
	}
	return k, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, found %s", want, token(t))
	}
	return nil
}

// token shows a JSON token of an answer: a string quoted, escaped and cut.
func token(t json.Token) string {
	if s, ok := t.(string); ok {
		return show.Quote(s)
	}
	return show.Text(fmt.Sprint(t))
}

// advance moves to the next page, or marks the end.
func (r *Rows) advance() error {
	if r.cur == nil { // replay
		r.finished = len(r.files) == 0
		return nil
	}
	fail := func(err error) error { return &Error{Path: r.cur.EscapedPath(), Err: err} }
	nxt, err := r.sys.more(r.cur, r.onPage, r.s.cfg.PageSize, r.next)
	if err != nil {
		return fail(final(err))
	}
	if nxt == nil {
		r.finished = true
		return nil
	}
	if r.onPage > 0 {
		r.empty = 0
	} else if r.empty++; r.empty >= maxEmptyPages {
		return fail(final(fmt.Errorf("%d empty pages in a row, each linking to another: the server is not paging through its rows", r.empty)))
	}
	if max := r.s.cfg.maxPages(); r.page >= max {
		return fail(final(fmt.Errorf("more than %d pages of %s (%s)", max, r.kind, r.s.cfg.key("max_pages"))))
	}
	h := sha256.Sum256([]byte(nxt.String()))
	if p, ok := r.visited[h]; ok {
		return fail(final(fmt.Errorf("the next-page link of page %d leads back to page %d: the paging loops", r.page, p)))
	}
	r.visited[h] = r.page + 1
	r.cur = nxt
	return nil
}

// bounded reads one answer (or kept page) through the bounds: max bytes
// in all (api.max_body, counted after gzip), and at most maxValue held by
// the decoder for one value; what it reads is copied to tee (the kept
// page). err is the first failure of the underlying reader (a connection
// lost, a timeout) or a bound reached. It keeps the bytes from the
// decoder's position on (hist, from offset histFrom), so a row's text
// comes without decoding it twice.
type bounded struct {
	r        io.Reader
	c        io.Closer
	dec      *json.Decoder
	n        int64
	max      int64
	key      string
	tee      io.Writer
	err      error
	hist     []byte
	histFrom int64
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.dec != nil {
		// The decoder reads only when its buffer holds no whole value:
		// what lies past its position is the value it is decoding.
		at := b.dec.InputOffset()
		if b.n-at > maxValue {
			b.err = final(fmt.Errorf("the answer holds a single value (a row or a field) larger than %d MiB", maxValue>>20))
			return 0, b.err
		}
		if d := at - b.histFrom; d > 256<<10 {
			b.hist = append(b.hist[:0], b.hist[d:]...)
			b.histFrom = at
		}
	}
	// Small reads keep the bounds close to exact.
	p = p[:min(len(p), 64<<10)]
	n, err := b.r.Read(p)
	b.hist = append(b.hist, p[:n]...)
	b.n += int64(n)
	if b.n > b.max {
		b.err = final(fmt.Errorf("the answer is larger than %s (%s): lower api.page_size", sizeText(b.max), b.key))
		return 0, b.err
	}
	if b.tee != nil && n > 0 {
		if _, werr := b.tee.Write(p[:n]); werr != nil {
			b.err = final(fmt.Errorf("keep responses: %w", werr))
			return 0, b.err
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *bounded) close() { b.c.Close() }

// text is the answer's bytes from offset start to end (a value as the
// decoder read it), without the separators before it.
func (b *bounded) text(start, end int64) []byte {
	start = max(start, b.histFrom)
	return bytes.TrimLeft(b.hist[start-b.histFrom:end-b.histFrom], ", \t\r\n")
}

// sizeText writes a byte count in MiB when it is whole ones.
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
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
