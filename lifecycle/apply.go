package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
	"zombiezen.com/go/sqlite"
)

// Changes is what one source's ingest writes: the persons to upsert, the
// leavers, the contracts to put and delete, the events and the rejects,
// and (for the fast path) the source's digest.
type Changes struct {
	Source       string
	Persons      []*Person // sorted by employee number
	Leave        []string
	PutContracts []*model.Contract
	DelContracts []model.Contract
	Events       []Event
	Rejects      []Reject
	Digest       string // empty: record no source state
	Rows         int
	// Hashes are the source's new hashes; VoidHashes the persons whose
	// hashes every source must compute again (joined or left).
	Hashes     map[string]Hashes
	VoidHashes []string
	// ContractsSeed is the seed the Raw hashes were made under; nil when
	// the apply made none. MoreHashes, when set, yields more of the
	// source's new hashes, as Hashes holds them, from where the caller
	// keeps them (a million after a new binary): a person it yields may
	// be in Hashes too, for other hashes than the ones it yields.
	ContractsSeed []byte
	MoreHashes    func(yield func(emp string, h Hashes) error) error
	// Streamed is how many persons the caller adds through BeginApply's
	// Writer, from a Stage rather than from memory.
	Streamed int
	// Provides is a provider's field list: the store keeps the union of
	// every field a provider ever filled (ProvidedFields).
	Provides []string
}

// changed reports whether the changes alter the state.
func (c *Changes) changed() bool {
	return len(c.Persons) > 0 || len(c.Leave) > 0 || len(c.PutContracts) > 0 || len(c.DelContracts) > 0 || c.Streamed > 0
}

// Reject is a row a source could not use, with the reason.
type Reject struct {
	File           string
	Line           int
	Column         string
	Reason         string
	Raw            string
	EmployeeNumber string
}

// Apply writes the changes in one transaction: a crash leaves the previous
// state intact. A change to the state bumps its generation.
func (s *Store) Apply(ctx context.Context, ch *Changes, runID int64) error {
	w, err := s.BeginApply(ctx, ch, runID)
	if err != nil {
		return err
	}
	return w.Commit()
}

// BeginApply is Apply for changes that do not all fit in memory: it
// writes ch in a transaction it keeps open and returns a Writer that adds
// the rest as the caller reads them (a first ingest's staged joiners,
// ch.Streamed of them). Commit ends the transaction, Rollback drops it;
// until then the store's connection is the Writer's.
func (s *Store) BeginApply(ctx context.Context, ch *Changes, runID int64) (*Writer, error) {
	c, err := s.take(ctx)
	if err != nil {
		return nil, err
	}
	if err := exec(c, "BEGIN IMMEDIATE"); err != nil {
		s.put(c)
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	w := &Writer{s: s, conn: c, ch: ch, runID: runID, t: now()}
	if w.copies, err = planCopies(c, ch); err != nil {
		w.Rollback()
		return nil, err
	}
	if w.mark, err = markingGen(c); err != nil {
		w.Rollback()
		return nil, err
	}
	if err := writeChanges(c, ch, runID, w.t); err != nil {
		w.Rollback()
		return nil, err
	}
	if err := markChanges(c, ch, w.mark); err != nil {
		w.Rollback()
		return nil, err
	}
	// Only staged joiners need the background writer; most applies
	// (every day's ingest after the first) hold all their changes in ch.
	if ch.Streamed > 0 {
		if err := w.start(ctx); err != nil {
			w.Rollback()
			return nil, err
		}
	}
	return w, nil
}

// writeChanges writes what ch holds in memory.
func writeChanges(c *sqlite.Conn, ch *Changes, runID int64, t string) error {
	if err := insertEach(newInserter(c, "persons", personWriteCols, nil, personUpsert), len(ch.Persons),
		func(vals []value, i int) []value { return appendPerson(vals, ch.Persons[i], t) }); err != nil {
		return err
	}
	for _, emp := range ch.Leave {
		if err := exec(c, `UPDATE persons SET left_at = ?, updated = ? WHERE employee_number = ?`, t, t, emp); err != nil {
			return fmt.Errorf("record leaver %s: %w", emp, err)
		}
		if err := exec(c, `DELETE FROM contracts WHERE employee_number = ?`, emp); err != nil {
			return fmt.Errorf("remove contracts of %s: %w", emp, err)
		}
	}
	for _, d := range ch.DelContracts {
		if err := exec(c, `DELETE FROM contracts WHERE employee_number = ? AND key = ?`, d.EmployeeNumber, d.Key); err != nil {
			return fmt.Errorf("remove contract %s of %s: %w", d.Key, d.EmployeeNumber, err)
		}
	}
	if err := insertEach(newInserter(c, "contracts", contractWriteCols, nil, contractUpsert), len(ch.PutContracts),
		func(vals []value, i int) []value { return appendContract(vals, ch.PutContracts[i]) }); err != nil {
		return err
	}
	if err := insertEvents(c, ch.Events, runID, t); err != nil {
		return err
	}
	if err := insertRejects(c, ch.Source, ch.Rejects, runID, t); err != nil {
		return err
	}
	return writeHashes(c, ch)
}

// finishChanges records, after every row is in, what the changes did to
// the state: the provided fields, the generation, the source's digest.
func finishChanges(c *sqlite.Conn, ch *Changes, runID int64) error {
	if err := recordProvided(c, ch.Provides); err != nil {
		return err
	}
	if ch.changed() {
		if err := bumpGeneration(c); err != nil {
			return err
		}
	}
	if ch.Digest == "" {
		return nil
	}
	return recordSourceState(c, ch, runID)
}

// The write columns and upserts derive from the canonical fields: an
// upsert overwrites every canonical field, and (for persons) the source,
// and marks a returning leaver current again.
var (
	personWriteCols = slices.Concat([]string{model.KeyField, "source"}, model.PersonFields,
		[]string{"blocked", "block_reason", "left_at", "updated"})
	personUpsert = "ON CONFLICT (" + model.KeyField + ") DO UPDATE SET " +
		setExcluded(append([]string{"source"}, model.PersonFields...)) + ", left_at = NULL, updated = excluded.updated"
	contractWriteCols = append([]string{model.KeyField, "key"}, model.ContractFields...)
	contractUpsert    = "ON CONFLICT (" + model.KeyField + ", key) DO UPDATE SET " + setExcluded(model.ContractFields)
)

func setExcluded(cols []string) string {
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = excluded." + c
	}
	return strings.Join(set, ", ")
}

// appendPerson appends p's values in personWriteCols order: current (no
// left_at), updated at t.
func appendPerson(vals []value, p *Person, t string) []value {
	vals = appendTexts(append(vals, text(p.EmployeeNumber), text(p.Source)), p.FieldPtrs())
	return append(vals, boolean(p.Blocked), text(p.BlockReason), value{}, text(t))
}

// A Writer binds what every person it puts shares (the source, not
// blocked, updated now) once per statement, in the first columns, and
// leaves left_at to its default: current. The inserts are what a first
// ingest waits for.
var (
	streamPersonFixed = []string{"source", "blocked", "block_reason", "updated"}
	streamPersonCols  = slices.Concat(streamPersonFixed, []string{model.KeyField}, model.PersonFields)
)

// appendStreamPerson appends p's own values in streamPersonCols order.
func appendStreamPerson(vals []value, p *Person) []value {
	return appendTexts(append(vals, text(p.EmployeeNumber)), p.FieldPtrs())
}

// appendContract appends c's values in contractWriteCols order.
func appendContract(vals []value, c *model.Contract) []value {
	return appendTexts(append(vals, text(c.EmployeeNumber), text(c.Key)), c.FieldPtrs())
}

// eventCols are an event's columns: its time, run and actor first, bound
// once per statement (eventFixed).
var eventCols = []string{"time", "run_id", "actor", "source", "kind", "employee_number", "details"}

func eventFixed(t string, runID int64) []value {
	return []value{text(t), integer(runID), text(Actor())}
}

func newEventInserter(c *sqlite.Conn, t string, runID int64) *inserter {
	return newInserter(c, "events", eventCols, eventFixed(t, runID), "")
}

func insertEvents(c *sqlite.Conn, events []Event, runID int64, t string) error {
	var err error
	ierr := insertEach(newEventInserter(c, t, runID), len(events), func(vals []value, i int) []value {
		var e error
		if vals, e = appendEventRow(vals, &events[i]); e != nil && err == nil {
			err = e
		}
		return vals
	})
	if err != nil {
		return err
	}
	return ierr
}

// appendEventRow appends an event's own column values (after its time,
// run and actor), its details rendered.
func appendEventRow(vals []value, e *Event) ([]value, error) {
	var details []byte
	var err error
	if e.Lazy != nil {
		details, err = e.Lazy.MarshalJSON()
	} else {
		details, err = json.Marshal(e.Details)
	}
	if err != nil {
		return vals, fmt.Errorf("encode event: %w", err)
	}
	return append(vals, text(e.Source), text(e.Kind), text(e.EmployeeNumber), text(string(details))), nil
}

// Writer adds persons, contracts, events and hashes to a BeginApply's
// transaction as they come, through the store's background writer
// (writer.go): the caller builds the next rows while the last are
// inserted. It is for one goroutine.
type Writer struct {
	s *Store
	// writeback runs while rows stream (writeback.go).
	writeback func()
	conn      *sqlite.Conn // nil once Commit or Rollback ended the transaction
	ch        *Changes
	runID     int64
	t         string

	bg                                 *writer
	persons, contracts, events, hashes *inserter
	voids                              *inserter // nil: the store has no hashes, a person put clears none
	copies                             *copyPlan // the index copies (indexmerge.go)
	chunks                             *inserter // their chunks, while streaming
	mark                               int64     // the generation of the persons' marks; 0: none (exportmarks.go)
	marks                              *inserter
}

// start starts the background writer on w's connection.
func (w *Writer) start(ctx context.Context) error {
	c, source := w.conn, w.ch.Source
	voids, err := newVoider(c)
	if err != nil {
		return err
	}
	w.voids = voids
	w.persons = newInserter(c, "persons", streamPersonCols, []value{text(source), boolean(false), text(""), text(w.t)}, personUpsert)
	w.contracts = newInserter(c, "contracts", contractWriteCols, nil, contractUpsert)
	w.events = newEventInserter(c, w.t, w.runID)
	w.hashes = newInserter(c, "source_hashes", hashCols, nil, hashUpsert)
	if w.mark != 0 {
		w.marks = newMarker(c, w.mark)
	}
	if w.copies.streaming {
		w.chunks = newStatement(c, "write index copy", `INSERT INTO index_chunks (name, slot, seq, data) VALUES (?, ?, ?, ?)`, 4)
		err := w.copies.startStreaming(c, w.ch, func(name string, slot, seq int64, data []byte) error {
			return w.queue(w.chunks, func(vals []value) []value {
				return append(vals, text(name), integer(slot), integer(seq), blob(data))
			})
		})
		if err != nil {
			return err
		}
	}
	w.bg = startWriter(ctx, w.inserters()...)
	w.writeback = w.s.writeback()
	return nil
}

func (w *Writer) inserters() []*inserter {
	all := []*inserter{w.persons, w.contracts, w.events, w.hashes}
	for _, in := range []*inserter{w.voids, w.chunks, w.marks} {
		if in != nil {
			all = append(all, in)
		}
	}
	return all
}

// Commit waits for every row handed over, records what the changes did,
// and commits; on an error nothing of the changes is stored.
func (w *Writer) Commit() error {
	if w.conn == nil {
		return errors.New("apply: the transaction has ended")
	}
	var err error
	if w.bg != nil {
		err = w.bg.wait()
	}
	if err == nil {
		err = finishChanges(w.conn, w.ch, w.runID)
	}
	if err == nil {
		err = w.copies.commit(w.conn, w.ch)
	}
	if err == nil {
		if cerr := exec(w.conn, "COMMIT"); cerr != nil {
			err = fmt.Errorf("commit: %w", cerr)
		}
	}
	w.end()
	return err
}

// Rollback drops everything the transaction wrote; after Commit it does
// nothing.
func (w *Writer) Rollback() {
	if w.conn == nil {
		return
	}
	if w.bg != nil {
		w.bg.stop()
	}
	w.end()
}

// end closes the statements, rolls back what is not committed and gives
// the connection back to the store.
func (w *Writer) end() {
	if w.bg != nil {
		for _, in := range w.inserters() {
			in.close()
		}
	}
	rollback(w.conn)
	if w.writeback != nil {
		w.writeback()
	}
	w.s.put(w.conn)
	w.conn = nil
}

// errNotStreamed is a row handed to a Writer whose Changes said it would
// stream none (Streamed 0).
var errNotStreamed = errors.New("apply: a row streamed into changes that declared none (Changes.Streamed is 0)")

// queue hands one row to the background writer.
func (w *Writer) queue(in *inserter, fill func([]value) []value) error {
	if w.bg == nil {
		return errNotStreamed
	}
	return w.bg.add(in, fill)
}

// Person puts a person of the changes' source, current and not blocked
// (a joiner), as Changes.Persons does; its earlier hashes, if any, are
// void.
func (w *Writer) Person(p *Person) error {
	if p.Source != w.ch.Source || p.Blocked || p.BlockReason != "" || p.Left {
		return fmt.Errorf("stream a person of %s: not a current, unblocked person of %s", p.Source, w.ch.Source)
	}
	if w.voids != nil {
		if err := w.queue(w.voids, func(vals []value) []value { return append(vals, text(p.EmployeeNumber)) }); err != nil {
			return err
		}
	}
	if err := w.queue(w.persons, func(vals []value) []value { return appendStreamPerson(vals, p) }); err != nil {
		return err
	}
	if w.marks != nil {
		if err := w.queue(w.marks, func(vals []value) []value { return append(vals, text(p.EmployeeNumber)) }); err != nil {
			return err
		}
	}
	return w.copies.joiner(p.EmployeeNumber)
}

// Contract puts a contract.
func (w *Writer) Contract(c *model.Contract) error {
	return w.queue(w.contracts, func(vals []value) []value { return appendContract(vals, c) })
}

// Event records an event.
func (w *Writer) Event(e *Event) error {
	var err error
	if aerr := w.queue(w.events, func(vals []value) []value {
		vals, err = appendEventRow(vals, e)
		return vals
	}); aerr != nil {
		return aerr
	}
	return err
}

// Hashes records what source supplied for emp.
func (w *Writer) Hashes(source, emp string, h Hashes) error {
	return w.queue(w.hashes, func(vals []value) []value {
		return appendHashes(vals, source, emp, h)
	})
}

var rejectCols = []string{"run_id", "time", "source", "file", "line", "col", "reason", "raw", "employee_number"}

func insertRejects(c *sqlite.Conn, source string, rejects []Reject, runID int64, t string) error {
	return insertEach(newInserter(c, "rejects", rejectCols, nil, ""), len(rejects), func(vals []value, i int) []value {
		r := &rejects[i]
		// A multi-megabyte broken row is evidence enough in its first 4 KiB.
		return append(vals, integer(runID), text(t), text(source), text(r.File), integer(int64(r.Line)), text(r.Column),
			text(r.Reason), text(show.Raw(r.Raw)), text(r.EmployeeNumber))
	})
}

// Record writes events outside a plan (manual actions, force, deliveries).
func (s *Store) Record(ctx context.Context, runID int64, events ...Event) error {
	return s.tx(ctx, func(c *sqlite.Conn) error { return insertEvents(c, events, runID, now()) })
}
