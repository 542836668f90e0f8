package lifecycle

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/model"
)

// Stage keeps the rows of the persons who join in an ingest on disk
// instead of in memory: a first ingest of 1M persons held every row and
// its planned copy at once (2.8 GB). The rows go into a private file
// beside the database while the source files are read, in sorted runs
// (sortedruns.go), and come back in employee order when they are
// written, one person at a time. The file is removed when the stage is
// closed; one left by a killed run is removed by the next ingest.
type Stage struct {
	f    *os.File
	path string
	// ctx is Begin's: a cancelled ingest stages no more rows.
	ctx                          context.Context
	persons, contracts, provided table

	mu   sync.Mutex // guards what follows
	size int64      // of the file: where the next segment goes
	err  error
}

const stagePattern = ".stage-*"

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
	// It is scratch, thrown away after the run or after a crash: never
	// synced.
	f, err := atomicfile.CreatePrivateTemp(filepath.Dir(s.path), filepath.Base(s.path)+stagePattern)
	if err != nil {
		return nil, fmt.Errorf("create staging file: %w", err)
	}
	st := &Stage{f: f, path: f.Name(), ctx: context.Background()}
	st.provided.byProvider = true
	return st, nil
}

// Begin starts taking a source's rows (Person, Contract, Provide) until
// Flush; they stop being written once ctx is done (Flush returns why).
func (st *Stage) Begin(ctx context.Context) {
	st.ctx = ctx
}

// reserve takes n bytes at the end of the file and returns where.
func (st *Stage) reserve(n int64) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	off := st.size
	st.size += n
	return off
}

func (st *Stage) fail(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.err == nil {
		st.err = fmt.Errorf("write staging file: %w", err)
	}
}

func (st *Stage) failed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err != nil
}

// Person stages a joiner's person row (its fields as the source set
// them), with the row's warnings and the source's hash of it. Safe to
// call from several goroutines between Begin and Flush.
func (st *Stage) Person(src int, p *model.Person, line int, warnings []string, hash Hash) {
	st.persons.add(st, src, p.EmployeeNumber, line, hash, func(b []byte) []byte {
		b = binary.AppendUvarint(b, uint64(len(model.PersonFields)))
		for i := range model.PersonFields {
			b = appendString(b, p.FieldAt(i))
		}
		return appendStrings(b, warnings)
	})
}

// Contract stages a contract row of a joiner, with the hash of the row
// as read (zero: none).
func (st *Stage) Contract(src int, c *model.Contract, line int, hash Hash) {
	st.contracts.add(st, src, c.EmployeeNumber, line, hash, func(b []byte) []byte {
		// The key first: EachLine reads only that.
		b = binary.AppendUvarint(b, uint64(1+len(model.ContractFields)))
		b = appendString(b, c.Key)
		for i := range model.ContractFields {
			b = appendString(b, c.FieldAt(i))
		}
		return b
	})
}

// Provide stages what a provider supplies for a joiner: the values of its
// fields in order, the row's warnings and its hash. Of two rows a
// provider stages for one number, the first is read.
func (st *Stage) Provide(src int, emp string, line int, values, warnings []string, hash Hash) {
	st.provided.add(st, src, emp, line, hash, func(b []byte) []byte {
		return appendStrings(appendStrings(b, values), warnings)
	})
}

// Flush writes every row sent since Begin; it returns the first failure
// to stage a row, or that the run was cancelled.
func (st *Stage) Flush() error {
	for _, t := range []*table{&st.persons, &st.contracts, &st.provided} {
		t.flush(st)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// Close removes the stage.
func (st *Stage) Close() error {
	err := st.f.Close()
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
	setContract(&d, c.data)
	return d
}

// setContract sets c's key and fields from what Contract staged.
func setContract(c *model.Contract, data []byte) {
	vals, _ := readStrings(data)
	if len(vals) == 0 {
		return
	}
	c.Key = vals[0]
	for i, v := range vals[1:] {
		if i < len(model.ContractFields) {
			c.SetFieldAt(i, v)
		}
	}
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
	ps, err := st.persons.open(st, src, emp, lines)
	if err != nil {
		return err
	}
	cs, err := st.contracts.open(st, src, emp, lines)
	if err != nil {
		return err
	}
	var pv *merged
	if provided {
		if pv, err = st.provided.open(st, 0, "", false); err != nil {
			return err
		}
	}
	var g StagedGroup
	var person StagedPerson
	var lastProvided struct {
		emp string
		src int
	}
	for n := 0; ps.ok() || cs.ok(); n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !cs.ok() || ps.ok() && bytes.Compare(ps.cur().emp, cs.cur().emp) <= 0 {
			g.Emp = string(ps.cur().emp)
		} else {
			g.Emp = string(cs.cur().emp)
		}
		g.Person, g.Contracts, g.Provided = nil, g.Contracts[:0], g.Provided[:0]
		for ps.ok() && string(ps.cur().emp) == g.Emp {
			// One number has one staged row of a source, but for a
			// duplicate row the connector rejects after it was staged;
			// the last in line order is read, and the caller tells.
			r := ps.cur()
			person = StagedPerson{Line: r.line}
			person.EmployeeNumber = g.Emp
			if !lines {
				person.Hash = r.hash
				vals, rest := readStrings(r.data)
				for i, v := range vals {
					if i < len(model.PersonFields) {
						person.SetFieldAt(i, v)
					}
				}
				person.Warnings, _ = readStrings(rest)
			}
			g.Person = &person
			if err := ps.next(); err != nil {
				return err
			}
		}
		for cs.ok() && string(cs.cur().emp) == g.Emp {
			r := cs.cur()
			c := StagedContract{Line: r.line}
			c.EmployeeNumber = g.Emp
			if lines {
				c.Key = firstString(r.data) // the key: Contract puts it first
				c.data = bytes.Clone(r.data)
			} else {
				c.Hash = r.hash
				setContract(&c.Contract, r.data)
			}
			g.Contracts = append(g.Contracts, c)
			if err := cs.next(); err != nil {
				return err
			}
		}
		for pv.ok() && string(pv.cur().emp) <= g.Emp {
			r := pv.cur()
			if string(r.emp) == g.Emp && (lastProvided.emp != g.Emp || lastProvided.src != r.src) {
				lastProvided.emp, lastProvided.src = g.Emp, r.src
				vals, rest := readStrings(r.data)
				p := StagedProvided{Src: r.src, Line: r.line, Values: vals, Hash: r.hash}
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
	ps.done()
	cs.done()
	return nil
}

// appendStrings encodes a list as its length, then each value with its
// length.
func appendStrings(buf []byte, vals []string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(vals)))
	for _, v := range vals {
		buf = appendString(buf, v)
	}
	return buf
}

func appendString(buf []byte, v string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(v)))
	return append(buf, v...)
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
// The values share one string. The stage is written by this process
// only, so a short buffer means a bug; it reads as fewer values rather
// than a panic.
func readStrings(buf []byte) ([]string, []byte) {
	n, k := binary.Uvarint(buf)
	if k <= 0 {
		return nil, nil
	}
	buf = buf[k:]
	out := make([]string, 0, min(n, uint64(len(buf))))
	// The list's bytes, as one string: its end is found first.
	end := 0
	for range n {
		l, k := binary.Uvarint(buf[end:])
		if k <= 0 || uint64(len(buf)-end-k) < l {
			break
		}
		end += k + int(l)
	}
	all := string(buf[:end])
	for i := 0; i < end; {
		l, k := binary.Uvarint(buf[i:])
		out = append(out, all[i+k:i+k+int(l)])
		i += k + int(l)
	}
	return out, buf[end:]
}
