package lifecycle

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// The stage is a flat file of sorted runs, merged as it is read. Rows of
// one table and source wait in memory in a chunk; a full chunk is sorted
// by key and appended to the file as a segment. Segments in key order
// (files in employee order) join one run, read straight through; rows of
// files in HR order (by name, say) make a run per chunk, and reading
// merges the runs. Memory stays at a chunk a table while the rows come
// in, and a read buffer a run while they go out, whatever the files'
// size. The stage was a SQLite file: every row a B-tree insert, and in HR
// order a seek through pages its cache no longer held.
const (
	chunkBytes = 2 << 20 // a chunk's encoded rows
	// markEvery is how often a segment notes a row's key and place, so
	// that Load starts reading near the number it wants.
	markEvery  = 64
	readBuffer = 64 << 10
	writePiece = 256 << 10
)

// chunkRows is the most rows a chunk holds (tests make it small).
var chunkRows = 1 << 16

// Each row is stored as its length, then the employee number (with its
// length), the source, the line, the hash and the data (to the end).

// table is one of the stage's tables: persons, contracts, provided.
type table struct {
	// byProvider: rows order by (emp, src), and the first row staged for
	// a pair is the one read (provided); otherwise by (emp, line) within
	// one source.
	byProvider bool
	mu         sync.Mutex
	parts      map[int]*part // by source; provided: all in 0
	out        []byte        // the segment being written, reused
}

// part is the rows of one source of a table: the chunk filling up and
// the runs written.
type part struct {
	arena []byte
	recs  []rec
	runs  []*run
}

// rec is a row waiting in a chunk: its encoding is arena[off:end], its
// employee number arena[emp:empEnd], the number's first 8 bytes pre; n2
// is its line (or source).
type rec struct {
	off, end, emp, empEnd, n2 int
	pre                       uint64
}

// prefix is the first 8 bytes of an employee number as an integer,
// padded with zeros: of two numbers with different prefixes, the smaller
// prefix is the smaller number, so most comparisons of a sort or a merge
// compare two integers (numbers are 7-8 characters in most HR systems).
func prefix(emp []byte) uint64 {
	var p [8]byte
	copy(p[:], emp)
	return binary.BigEndian.Uint64(p[:])
}

func compareEmp(apre, bpre uint64, a, b []byte) int {
	if c := cmp.Compare(apre, bpre); c != 0 {
		return c
	}
	return bytes.Compare(a, b)
}

type run struct{ segs []*segment }

// segment is a sorted chunk as written: where it is in the file, its
// first and last keys, and a mark every markEvery rows.
type segment struct {
	off, n      int64
	first, last key
	marks       []mark
}

type key struct {
	emp string
	n2  int
}

type mark struct {
	emp string
	off int64 // within the segment
}

func compareKeys(a, b key) int {
	return cmp.Or(strings.Compare(a.emp, b.emp), cmp.Compare(a.n2, b.n2))
}

func (t *table) partFor(src int) *part {
	if t.byProvider {
		src = 0
	}
	p := t.parts[src]
	if p == nil {
		if t.parts == nil {
			t.parts = map[int]*part{}
		}
		p = &part{}
		t.parts[src] = p
	}
	return p
}

// add queues one row; data appends its encoding. Safe for several
// goroutines; a failure is Flush's to report.
func (t *table) add(st *Stage, src int, emp string, line int, h Hash, data func([]byte) []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.partFor(src)
	r := rec{off: len(p.arena), n2: line}
	if t.byProvider {
		r.n2 = src
	}
	p.arena = binary.AppendUvarint(p.arena, uint64(len(emp)))
	r.emp = len(p.arena)
	p.arena = append(p.arena, emp...)
	r.empEnd = len(p.arena)
	r.pre = prefix(p.arena[r.emp:r.empEnd])
	p.arena = binary.AppendUvarint(p.arena, uint64(src))
	p.arena = binary.AppendUvarint(p.arena, uint64(line))
	p.arena = append(p.arena, h[:]...)
	p.arena = data(p.arena)
	r.end = len(p.arena)
	p.recs = append(p.recs, r)
	if len(p.arena) >= chunkBytes || len(p.recs) >= chunkRows {
		t.write(st, p)
	}
}

// flush writes every part's waiting rows.
func (t *table) flush(st *Stage) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.parts {
		t.write(st, p)
	}
}

// write sorts p's chunk, appends it to the file as a segment and empties
// it. The rows of a cancelled run are dropped.
func (t *table) write(st *Stage, p *part) {
	defer func() { p.arena, p.recs = p.arena[:0], p.recs[:0] }()
	if len(p.recs) == 0 || st.failed() {
		return
	}
	if err := st.ctx.Err(); err != nil {
		st.fail(err)
		return
	}
	empOf := func(r rec) []byte { return p.arena[r.emp:r.empEnd] }
	// Ties (a provider's second row for a number) keep the order staged.
	slices.SortFunc(p.recs, func(a, b rec) int {
		return cmp.Or(compareEmp(a.pre, b.pre, empOf(a), empOf(b)), cmp.Compare(a.n2, b.n2), cmp.Compare(a.off, b.off))
	})
	w := runWriter{st: st, out: t.out[:0]}
	for _, r := range p.recs {
		w.add(empOf(r), r.n2, p.arena[r.off:r.end])
	}
	w.flush()
	t.out = w.out
	if w.err != nil {
		st.fail(w.err)
		return
	}
	// A chunk in key order after the last run joins it.
	if k := len(p.runs); k > 0 {
		if r := p.runs[k-1]; compareKeys(r.segs[len(r.segs)-1].last, w.run.segs[0].first) < 0 {
			r.segs = append(r.segs, w.run.segs...)
			return
		}
	}
	p.runs = append(p.runs, &w.run)
}

// stagedRow is a staged row as read: valid until its reader moves on.
type stagedRow struct {
	emp       []byte
	src, line int
	hash      Hash
	data      []byte
}

// runReader reads one run in order, from the first row of emp on when
// emp is set, and to its last.
type runReader struct {
	st    *Stage
	order int // the run's place: of equal keys, the earlier run's row comes first
	segs  []*segment
	emp   string
	r     *bufio.Reader
	buf   []byte
	left  int64 // bytes of the segment not read yet
	row   stagedRow
	pre   uint64 // prefix(row.emp)
	ok    bool
}

func (rr *runReader) next() error {
	for {
		if rr.left == 0 {
			if len(rr.segs) == 0 {
				rr.ok = false
				return nil
			}
			rr.open()
			continue
		}
		n, err := rr.length()
		if err == nil && n >= uint64(rr.left) {
			err = errShortRow
		}
		if err == nil {
			rr.buf = slices.Grow(rr.buf[:0], int(n))[:n]
			_, err = io.ReadFull(rr.r, rr.buf)
		}
		if err == nil {
			rr.left -= int64(uvarintLen(n)) + int64(n)
			err = rr.decode()
			rr.pre = prefix(rr.row.emp)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read staging file: %w", err)
		}
		if rr.emp != "" {
			if c := strings.Compare(string(rr.row.emp), rr.emp); c < 0 {
				continue
			} else if c > 0 {
				rr.ok, rr.segs, rr.left = false, nil, 0
				return nil
			}
		}
		rr.ok = true
		return nil
	}
}

// length reads a row's length from the buffer in one go.
func (rr *runReader) length() (uint64, error) {
	b, err := rr.r.Peek(min(binary.MaxVarintLen64, int(rr.left)))
	if len(b) == 0 {
		return 0, err
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, errShortRow
	}
	_, err = rr.r.Discard(k)
	return n, err
}

func uvarintLen(n uint64) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}

// open starts reading the next segment: from its last mark before emp,
// when emp is set.
func (rr *runReader) open() {
	seg := rr.segs[0]
	rr.segs = rr.segs[1:]
	var from int64
	if rr.emp != "" {
		i, _ := slices.BinarySearchFunc(seg.marks, rr.emp, func(m mark, emp string) int { return strings.Compare(m.emp, emp) })
		if i > 0 {
			from = seg.marks[i-1].off
		}
	}
	src := io.NewSectionReader(rr.st.f, seg.off+from, seg.n-from)
	rr.left = seg.n - from
	if rr.r == nil {
		rr.r = bufio.NewReaderSize(src, readBuffer)
	} else {
		rr.r.Reset(src)
	}
}

var errShortRow = errors.New("a staged row is cut short")

func (rr *runReader) decode() error {
	b := rr.buf
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return errShortRow
	}
	rr.row.emp, b = b[k:k+int(n)], b[k+int(n):]
	src, k := binary.Uvarint(b)
	if k <= 0 {
		return errShortRow
	}
	b = b[k:]
	line, k := binary.Uvarint(b)
	if k <= 0 || len(b)-k < len(Hash{}) {
		return errShortRow
	}
	b = b[k:]
	rr.row.src, rr.row.line = int(src), int(line)
	copy(rr.row.hash[:], b)
	rr.row.data = b[len(Hash{}):]
	return nil
}

// merged reads every run of a part in key order.
type merged struct {
	byProvider bool
	heap       []*runReader
	// tee, when set, gets every row read, to write them as one run.
	tee *runWriter
	t   *table
	src int
}

// open reads src's rows of t (every source's, for provided), from emp's
// on and to its last when emp is set.
//
// With compact set, a read of more than one run writes the rows as it
// gives them into one run that takes the runs' place once every row was
// read (done): planning reads the stage through EachLine, and the write
// that follows then reads it straight. At 1M persons in HR order merging
// about 50 runs a row at a time cost seconds each time.
func (t *table) open(st *Stage, src int, emp string, compact bool) (*merged, error) {
	m := &merged{byProvider: t.byProvider, t: t, src: src}
	t.mu.Lock()
	p := t.parts[src]
	if t.byProvider {
		p = t.parts[0]
	}
	var runs []*run
	if p != nil {
		runs = p.runs
	}
	t.mu.Unlock()
	for i, r := range runs {
		segs := r.segs
		if emp != "" {
			// Segments wholly before emp are not read.
			j, _ := slices.BinarySearchFunc(segs, emp, func(s *segment, emp string) int { return strings.Compare(s.last.emp, emp) })
			segs = segs[j:]
		}
		rr := &runReader{st: st, order: i, segs: segs, emp: emp}
		if err := rr.next(); err != nil {
			return nil, err
		}
		if rr.ok {
			m.heap = append(m.heap, rr)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	if compact && emp == "" && len(runs) > 1 {
		m.tee = &runWriter{st: st}
	}
	return m, nil
}

// done ends a read that gave every row: a compacting one puts its run in
// place of those it read. One that failed to write leaves them as they
// were, to be merged again.
func (m *merged) done() {
	c := m.tee
	if c == nil {
		return
	}
	m.tee = nil
	if c.flush(); c.err != nil {
		return
	}
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	m.t.parts[m.src].runs = []*run{&c.run}
}

// runWriter writes rows that come in key order as the segments of one
// run, a writePiece each: a sorted chunk, or a compacting read's rows.
type runWriter struct {
	st      *Stage
	run     run
	seg     *segment
	out     []byte
	rows    int
	lastEmp []byte
	lastN2  int
	err     error
}

// add appends one row: emp is its employee number, raw its encoding.
func (c *runWriter) add(emp []byte, n2 int, raw []byte) {
	if c.seg == nil {
		c.seg, c.rows = &segment{first: key{string(emp), n2}}, 0
	}
	if c.rows%markEvery == 0 {
		c.seg.marks = append(c.seg.marks, mark{emp: string(emp), off: int64(len(c.out))})
	}
	c.out = binary.AppendUvarint(c.out, uint64(len(raw)))
	c.out = append(c.out, raw...)
	c.rows++
	c.lastEmp, c.lastN2 = append(c.lastEmp[:0], emp...), n2
	if len(c.out) >= writePiece {
		c.flush()
	}
}

func (c *runWriter) flush() {
	if c.seg == nil || c.err != nil {
		return
	}
	seg := c.seg
	seg.n = int64(len(c.out))
	seg.off = c.st.reserve(seg.n)
	seg.last = key{string(c.lastEmp), c.lastN2}
	if _, err := c.st.f.WriteAt(c.out, seg.off); err != nil {
		c.err = err
	}
	c.run.segs = append(c.run.segs, seg)
	c.seg, c.out = nil, c.out[:0]
}

func (m *merged) ok() bool { return m != nil && len(m.heap) > 0 }

// cur is the first row in key order; valid until next.
func (m *merged) cur() *stagedRow { return &m.heap[0].row }

func (m *merged) next() error {
	rr := m.heap[0]
	if m.tee != nil {
		n2 := rr.row.line
		if m.byProvider {
			n2 = rr.row.src
		}
		m.tee.add(rr.row.emp, n2, rr.buf)
	}
	if err := rr.next(); err != nil {
		return err
	}
	if !rr.ok {
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return nil
}

func (m *merged) less(a, b *runReader) bool {
	c := compareEmp(a.pre, b.pre, a.row.emp, b.row.emp)
	if c == 0 {
		if m.byProvider {
			c = cmp.Compare(a.row.src, b.row.src)
		} else {
			c = cmp.Compare(a.row.line, b.row.line)
		}
	}
	if c == 0 {
		c = cmp.Compare(a.order, b.order)
	}
	return c < 0
}

func (m *merged) down(i int) {
	h := m.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && m.less(h[r], h[l]) {
			j = r
		}
		if !m.less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}
