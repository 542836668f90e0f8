package lifecycle

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/model"
	"zombiezen.com/go/sqlite"
)

// Stage keeps the rows of the persons who join in an ingest on disk
// instead of in memory: a first ingest of 1M persons held every row and
// its planned copy at once (2.8 GB). The rows go into a private SQLite
// file beside the database while the source files are read, and come
// back in employee order when they are written, one person at a time.
// The file is removed when the stage is closed; one left by a killed run
// is removed by the next ingest.
type Stage struct {
	conn *sqlite.Conn
	path string
	// Between Begin and Flush the stage's background writer holds the
	// connection, inside a transaction.
	bg                           *writer
	persons, contracts, provided *inserter
	// The persons and contracts rows wait in runs, sorted by key before
	// they are inserted (sortedruns.go).
	personRun, contractRun run
	err                    error
}

const stagePattern = ".stage-*"

var stageSchema = []string{
	`CREATE TABLE persons (src INTEGER, emp TEXT, line INTEGER, data BLOB, hash BLOB, PRIMARY KEY (src, emp, line)) WITHOUT ROWID`,
	`CREATE TABLE contracts (src INTEGER, emp TEXT, line INTEGER, data BLOB, hash BLOB, PRIMARY KEY (src, emp, line)) WITHOUT ROWID`,
	`CREATE TABLE provided (emp TEXT, src INTEGER, line INTEGER, data BLOB, hash BLOB, PRIMARY KEY (emp, src)) WITHOUT ROWID`,
}

// RemoveStages removes the stages killed runs left. The caller must hold
// the database's lock: a running ingest's stage would go too.
func (s *Store) RemoveStages() {
	old, _ := filepath.Glob(s.path + stagePattern)
	for _, p := range old {
		os.Remove(p)
	}
}

// NewStage creates an empty stage beside the database, removing any a
// killed run left. The caller must hold the database's lock.
func (s *Store) NewStage() (*Stage, error) {
	s.RemoveStages()
	// A private file (0600; on Windows owner, SYSTEM and Administrators).
	f, err := atomicfile.CreatePrivateTemp(filepath.Dir(s.path), filepath.Base(s.path)+stagePattern)
	if err != nil {
		return nil, fmt.Errorf("create staging file: %w", err)
	}
	path := f.Name()
	f.Close()
	// No journal and no syncs: the file is scratch, thrown away after
	// the run or after a crash.
	c, err := openConn(path, "journal_mode = OFF", "synchronous = OFF", "cache_size = -8192")
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("open staging file: %w", err)
	}
	st := &Stage{conn: c, path: path}
	for _, q := range stageSchema {
		if err := execOnce(c, q); err != nil {
			st.Close()
			return nil, fmt.Errorf("create staging file: %w", err)
		}
	}
	return st, nil
}

// Begin starts taking a source's rows (Person, Contract, Provide) until
// Flush; they stop being written once ctx is done (Flush returns why).
func (st *Stage) Begin(ctx context.Context) {
	if st.bg != nil {
		return
	}
	st.persons = newInserter(st.conn, "persons", []string{"src", "emp", "line", "data", "hash"}, nil, "")
	st.contracts = newInserter(st.conn, "contracts", []string{"src", "emp", "line", "data", "hash"}, nil, "")
	// A provider's row for a joiner: the last one a source gives wins.
	st.provided = newInserter(st.conn, "provided", []string{"src", "emp", "line", "data", "hash"}, nil, "ON CONFLICT DO NOTHING")
	if err := exec(st.conn, "BEGIN"); err != nil {
		st.err = fmt.Errorf("write staging file: %w", err)
	}
	// The parsers go on while the rows are inserted.
	st.conn.SetInterrupt(ctx.Done())
	st.bg = startWriter(ctx, st.persons, st.contracts, st.provided)
	st.personRun.in, st.contractRun.in = st.persons, st.contracts
}

// add queues one row; a failure is Flush's to report.
func (st *Stage) add(in *inserter, src int, emp string, line int, data []byte, hash bool, h Hash) {
	st.bg.add(in, func(vals []value) []value {
		vals = append(vals, integer(int64(src)), text(strings.Clone(emp)), integer(int64(line)), blob(data))
		if hash {
			vals = append(vals, value{kind: kindHash, h: h})
		}
		return vals
	})
}

// Person stages a joiner's person row (its fields as the source set
// them), with the row's warnings and the source's hash of it. Safe to
// call from several goroutines between Begin and Flush.
func (st *Stage) Person(src int, p *model.Person, line int, warnings []string, hash Hash) {
	data := appendStrings(nil, personValues(p))
	data = appendStrings(data, warnings)
	st.personRun.add(st, stagedRow{src: src, emp: strings.Clone(p.EmployeeNumber), line: line, data: data, hash: hash, hashed: true})
}

// Contract stages a contract row of a joiner, with the hash of the row
// as read (zero: none).
func (st *Stage) Contract(src int, c *model.Contract, line int, hash Hash) {
	data := appendStrings(nil, contractValues(c))
	st.contractRun.add(st, stagedRow{src: src, emp: strings.Clone(c.EmployeeNumber), line: line, data: data, hash: hash, hashed: true})
}

// Provide stages what a provider supplies for a joiner: the values of its
// fields in order, the row's warnings and its hash.
func (st *Stage) Provide(src int, emp string, line int, values, warnings []string, hash Hash) {
	data := appendStrings(appendStrings(nil, values), warnings)
	st.add(st.provided, src, emp, line, data, true, hash)
}

// Flush waits until every row sent since Begin is written; the stage
// takes no more rows until Begin is called again.
func (st *Stage) Flush() error {
	if st.bg == nil {
		return st.err
	}
	st.personRun.handOver(st)
	st.contractRun.handOver(st)
	err := st.bg.wait()
	st.bg = nil
	st.conn.SetInterrupt(nil)
	for _, in := range []*inserter{st.persons, st.contracts, st.provided} {
		in.close()
	}
	if err == nil && st.err == nil {
		err = exec(st.conn, "COMMIT")
	}
	if err != nil {
		rollback(st.conn)
		if st.err == nil {
			st.err = fmt.Errorf("write staging file: %w", err)
		}
	}
	return st.err
}

// Close removes the stage.
func (st *Stage) Close() error {
	if st.bg != nil {
		st.Flush()
	}
	err := st.conn.Close()
	if rerr := os.Remove(st.path); err == nil && rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = rerr
	}
	return err
}

// StagedPerson is a staged persons row.
type StagedPerson struct {
	model.Person
	Line     int
	Warnings []string
	Hash     Hash
}

// StagedContract is a staged contract row.
type StagedContract struct {
	model.Contract
	Line int
	Hash Hash   // of the row as read (Each only)
	data []byte // EachLine: the row's key and fields as staged
}

// Same reports whether two contract rows EachLine gave hold the same key
// and fields.
func (c *StagedContract) Same(o *StagedContract) bool { return bytes.Equal(c.data, o.data) }

// HasID reports whether a contract row EachLine gave has a contract id.
func (c *StagedContract) HasID() bool { return c.Decoded().ContractID != "" }

// Decoded returns the key and fields of a contract row EachLine gave.
func (c *StagedContract) Decoded() model.Contract {
	d := model.Contract{EmployeeNumber: c.EmployeeNumber}
	if vals, _ := readStrings(c.data); len(vals) > 0 {
		d.Key = vals[0]
		setValues(d.FieldPtrs(), vals[1:])
	}
	return d
}

// StagedProvided is what one provider staged for a joiner.
type StagedProvided struct {
	Src      int
	Line     int
	Values   []string
	Warnings []string
	Hash     Hash
}

// StagedGroup is everything staged for one employee number.
type StagedGroup struct {
	Emp       string
	Person    *StagedPerson // nil: only contract rows (orphans)
	Contracts []StagedContract
	Provided  []StagedProvided
}

// Each calls fn for every employee number src staged a person or a
// contract row for, in employee order, with the providers' rows when
// provided is set. The group and its slices are reused between calls.
func (st *Stage) Each(ctx context.Context, src int, provided bool, fn func(*StagedGroup) error) error {
	return st.each(ctx, src, "", provided, false, fn)
}

// EachLine is Each without the providers' rows, whose groups say only
// where src's rows are: the person's line, and each contract row's key
// and line; no other field, warning or hash is read or decoded. Planning
// needs no more, and it reads the whole stage.
func (st *Stage) EachLine(ctx context.Context, src int, fn func(*StagedGroup) error) error {
	return st.each(ctx, src, "", false, true, fn)
}

// Load returns the person src staged for emp, or nil, and its contract
// rows.
func (st *Stage) Load(ctx context.Context, src int, emp string) (*StagedPerson, []StagedContract, error) {
	var p *StagedPerson
	var cs []StagedContract
	err := st.each(ctx, src, emp, false, false, func(g *StagedGroup) error {
		if g.Person != nil {
			c := *g.Person
			p = &c
		}
		cs = append(cs, g.Contracts...)
		return nil
	})
	return p, cs, err
}

// each is Each, for one employee number when emp is set, and EachLine
// when lines is set.
func (st *Stage) each(ctx context.Context, src int, emp string, provided, lines bool, fn func(*StagedGroup) error) error {
	if err := st.Flush(); err != nil {
		return err
	}
	where, args := "src = ?", []any{src}
	if emp != "" {
		where, args = where+" AND emp = ?", append(args, emp)
	}
	personCols := "emp, line, data, hash"
	if lines {
		personCols = "emp, line"
	}
	st.conn.SetInterrupt(ctx.Done())
	defer st.conn.SetInterrupt(nil)
	ps, err := newCursor(st.conn, `SELECT `+personCols+` FROM persons WHERE `+where+` ORDER BY emp, line`, args...)
	if err != nil {
		return err
	}
	defer ps.close()
	contractCols := "emp, line, data, hash"
	if lines {
		contractCols = "emp, line, data"
	}
	cs, err := newCursor(st.conn, `SELECT `+contractCols+` FROM contracts WHERE `+where+` ORDER BY emp, line`, args...)
	if err != nil {
		return err
	}
	defer cs.close()
	pv := &cursor{}
	if provided {
		if pv, err = newCursor(st.conn, `SELECT emp, line, data, hash, src FROM provided ORDER BY emp, src`); err != nil {
			return err
		}
		defer pv.close()
	}
	var g StagedGroup
	var person StagedPerson
	for ps.ok || cs.ok {
		g.Emp = cs.emp
		if !cs.ok || (ps.ok && ps.emp <= cs.emp) {
			g.Emp = ps.emp
		}
		g.Person, g.Contracts, g.Provided = nil, g.Contracts[:0], g.Provided[:0]
		for ps.ok && ps.emp == g.Emp {
			// One number has one staged row: a duplicate is rejected
			// before it is staged.
			person = StagedPerson{Line: ps.line, Hash: ps.hash}
			person.EmployeeNumber = g.Emp
			if !lines {
				vals, rest := readStrings(ps.data)
				setValues(person.FieldPtrs(), vals)
				person.Warnings, _ = readStrings(rest)
			}
			g.Person = &person
			if err := ps.next(); err != nil {
				return err
			}
		}
		for cs.ok && cs.emp == g.Emp {
			c := StagedContract{Line: cs.line, Hash: cs.hash}
			c.EmployeeNumber = g.Emp
			if lines {
				c.Key = firstString(cs.data) // the key: contractValues puts it first
				c.data = cs.data             // a copy of its own (Scan)
			} else if vals, _ := readStrings(cs.data); len(vals) > 0 {
				c.Key = vals[0]
				setValues(c.FieldPtrs(), vals[1:])
			}
			g.Contracts = append(g.Contracts, c)
			if err := cs.next(); err != nil {
				return err
			}
		}
		for pv.ok && pv.emp <= g.Emp {
			if pv.emp == g.Emp {
				vals, rest := readStrings(pv.data)
				p := StagedProvided{Src: pv.src, Line: pv.line, Values: vals, Hash: pv.hash}
				p.Warnings, _ = readStrings(rest)
				g.Provided = append(g.Provided, p)
			}
			if err := pv.next(); err != nil {
				return err
			}
		}
		if err := fn(&g); err != nil {
			return err
		}
	}
	return nil
}

// cursor is one ordered scan of a staged table: employee number, line,
// and (when selected, in this order) data, hash and source. The employee
// number is a string of its own per row; data is a copy of its own too
// (EachLine keeps it), the hash is read in place.
type cursor struct {
	st   *sqlite.Stmt
	cols int
	ok   bool
	emp  string
	src  int
	line int
	data []byte
	hash Hash
}

func newCursor(c *sqlite.Conn, query string, args ...any) (*cursor, error) {
	st, err := c.Prepare(query)
	if err != nil {
		return nil, fmt.Errorf("read staging file: %w", err)
	}
	for i, a := range args {
		bindAny(st, i+1, a)
	}
	cur := &cursor{st: st, cols: st.ColumnCount()}
	return cur, cur.next()
}

func (c *cursor) next() error {
	ok, err := c.st.Step()
	if c.ok = ok; err != nil {
		return fmt.Errorf("read staging file: %w", err)
	}
	if !ok {
		return nil
	}
	c.emp, c.line = c.st.ColumnText(0), c.st.ColumnInt(1)
	c.data, c.hash = nil, Hash{}
	if c.cols > 2 {
		c.data = columnBytes(c.st, 2, nil)
	}
	if c.cols > 3 {
		c.st.ColumnBytes(3, c.hash[:])
	}
	if c.cols > 4 {
		c.src = c.st.ColumnInt(4)
	}
	return nil
}

func (c *cursor) close() {
	if c.st != nil {
		c.st.Reset()
	}
}

func personValues(p *model.Person) []string {
	ptrs := p.FieldPtrs()
	out := make([]string, len(ptrs))
	for i, v := range ptrs {
		out[i] = *v
	}
	return out
}

func contractValues(c *model.Contract) []string {
	ptrs := c.FieldPtrs()
	out := make([]string, 0, 1+len(ptrs))
	out = append(out, c.Key)
	for _, v := range ptrs {
		out = append(out, *v)
	}
	return out
}

func setValues(ptrs []*string, vals []string) {
	for i, p := range ptrs {
		if i < len(vals) {
			*p = vals[i]
		}
	}
}

// appendStrings encodes a list as its length, then each value with its
// length.
func appendStrings(buf []byte, vals []string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(vals)))
	for _, v := range vals {
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	return buf
}

// firstString decodes only the first of the strings appendStrings wrote.
func firstString(buf []byte) string {
	n, k := binary.Uvarint(buf)
	if k <= 0 || n == 0 {
		return ""
	}
	buf = buf[k:]
	l, k := binary.Uvarint(buf)
	if k <= 0 || uint64(len(buf)-k) < l {
		return ""
	}
	return string(buf[k : k+int(l)])
}

// readStrings decodes a list appendStrings wrote and returns the rest.
// The stage is written by this process only, so a short buffer means a
// bug; it reads as fewer values rather than a panic.
func readStrings(buf []byte) ([]string, []byte) {
	n, k := binary.Uvarint(buf)
	if k <= 0 {
		return nil, nil
	}
	buf = buf[k:]
	out := make([]string, 0, n)
	for range n {
		l, k := binary.Uvarint(buf)
		if k <= 0 || uint64(len(buf)-k) < l {
			return out, nil
		}
		out = append(out, string(buf[k:k+int(l)]))
		buf = buf[k+int(l):]
	}
	return out, buf
}
