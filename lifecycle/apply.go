package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/show"
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
	// Stream, when set, writes more of the changes in the same
	// transaction, from a Stage rather than from memory; Streamed is how
	// many persons it joins.
	Stream   func(*Writer) error
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
	return s.tx(ctx, func(tx *sql.Tx) error {
		t := now()
		if err := insertEach(tx, "persons", personWriteCols, personUpsert, len(ch.Persons), func(i int, args []any) ([]any, error) {
			return appendPerson(args, ch.Persons[i], t), nil
		}); err != nil {
			return err
		}
		for _, emp := range ch.Leave {
			if _, err := tx.Exec(`UPDATE persons SET left_at = ?, updated = ? WHERE employee_number = ?`, t, t, emp); err != nil {
				return fmt.Errorf("record leaver %s: %w", emp, err)
			}
			if _, err := tx.Exec(`DELETE FROM contracts WHERE employee_number = ?`, emp); err != nil {
				return fmt.Errorf("remove contracts of %s: %w", emp, err)
			}
		}
		for _, c := range ch.DelContracts {
			if _, err := tx.Exec(`DELETE FROM contracts WHERE employee_number = ? AND key = ?`, c.EmployeeNumber, c.Key); err != nil {
				return fmt.Errorf("remove contract %s of %s: %w", c.Key, c.EmployeeNumber, err)
			}
		}
		if err := insertEach(tx, "contracts", contractWriteCols, contractUpsert, len(ch.PutContracts), func(i int, args []any) ([]any, error) {
			return appendContract(args, ch.PutContracts[i]), nil
		}); err != nil {
			return err
		}
		if err := insertEvents(tx, ch.Events, runID, t); err != nil {
			return err
		}
		if err := insertRejects(tx, ch.Source, ch.Rejects, runID, t); err != nil {
			return err
		}
		if err := writeHashes(tx, ch.Source, ch.VoidHashes, ch.Hashes); err != nil {
			return err
		}
		if ch.Stream != nil {
			if err := stream(ctx, tx, ch.Source, ch.Stream, runID, t); err != nil {
				return err
			}
		}
		if err := recordProvided(tx, ch.Provides); err != nil {
			return err
		}
		if ch.changed() {
			if err := bumpGeneration(tx); err != nil {
				return err
			}
		}
		if ch.Digest == "" {
			return nil
		}
		return recordSourceState(tx, ch, runID)
	})
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
func appendPerson(args []any, p *Person, t string) []any {
	args = appendValues(append(args, p.EmployeeNumber, p.Source), p.FieldPtrs())
	return append(args, p.Blocked, p.BlockReason, nil, t)
}

// A Writer binds what every person it puts shares (the source, not
// blocked, updated now) once per statement, in the first columns, and
// leaves left_at to its default: current. Each bound value costs the
// driver a call, a C allocation and a copy, and the inserts are what a
// first ingest waits for.
var (
	streamPersonFixed = []string{"source", "blocked", "block_reason", "updated"}
	streamPersonCols  = slices.Concat(streamPersonFixed, []string{model.KeyField}, model.PersonFields)
)

// appendStreamPerson appends p's own values in streamPersonCols order.
func appendStreamPerson(args []any, p *Person) []any {
	return appendValues(append(args, p.EmployeeNumber), p.FieldPtrs())
}

// appendContract appends c's values in contractWriteCols order.
func appendContract(args []any, c *model.Contract) []any {
	return appendValues(append(args, c.EmployeeNumber, c.Key), c.FieldPtrs())
}

func appendValues(args []any, ptrs []*string) []any {
	for _, p := range ptrs {
		args = append(args, *p)
	}
	return args
}

func insertEvents(tx *sql.Tx, events []Event, runID int64, t string) error {
	actor := Actor()
	return insertEach(tx, "events", eventCols, "",
		len(events), func(i int, args []any) ([]any, error) {
			return appendEvent(args, &events[i], runID, actor, t)
		})
}

var eventCols = []string{"time", "run_id", "actor", "source", "kind", "employee_number", "details"}

// appendEvent appends an event's column values, its details rendered.
func appendEvent(args []any, e *Event, runID int64, actor, t string) ([]any, error) {
	return appendEventRow(append(args, t, runID, actor), e)
}

// appendEventRow appends an event's own column values, as appendEvent
// does after its time, run and actor.
func appendEventRow(args []any, e *Event) ([]any, error) {
	var details []byte
	var err error
	if e.Lazy != nil {
		details, err = e.Lazy.MarshalJSON()
	} else {
		details, err = json.Marshal(e.Details)
	}
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return append(args, e.Source, e.Kind, e.EmployeeNumber, string(details)), nil
}

// Writer adds persons, contracts, events and hashes to an Apply's
// transaction as they come (Changes.Stream), in batches. The batches are
// written on a goroutine of their own, in the order they were made, while
// the caller builds the next rows: a first ingest reads its stage and
// renders its events on one core while SQLite inserts on the other.
type Writer struct {
	source                             string
	persons, contracts, events, hashes *batcher
	clearHashes                        bool // the store has hashes: a person put clears its old ones
	ops                                chan writeOp
	failed                             atomic.Bool // the writing goroutine failed: stop building rows
}

// writeOp is one batch for the writing goroutine, or (b nil) a person
// whose recorded hashes it clears.
type writeOp struct {
	b    *batcher
	args []any
	n    int
	emp  string
}

// errWriterFailed stops the caller's rows once the writing goroutine has
// failed; stream returns the goroutine's own error instead.
var errWriterFailed = errors.New("writing failed")

// writeQueue is how many batches may wait for the writing goroutine.
const writeQueue = 8

func stream(ctx context.Context, tx *sql.Tx, source string, fn func(*Writer) error, runID int64, t string) (err error) {
	v, err := newVoider(tx)
	if err != nil {
		return err
	}
	defer v.close()
	w := &Writer{source: source, clearHashes: v.del != nil, ops: make(chan writeOp, writeQueue),
		persons:   newBatcher("persons", streamPersonCols, []any{source, false, "", t}, personUpsert),
		contracts: newBatcher("contracts", contractWriteCols, nil, contractUpsert),
		events:    newBatcher("events", eventCols, []any{t, runID, Actor()}, ""),
		hashes:    newBatcher("source_hashes", hashCols, nil, hashUpsert),
	}
	all := []*batcher{w.persons, w.contracts, w.events, w.hashes}
	for _, b := range all {
		b.free = make(chan []any, writeQueue+1)
		defer b.close()
	}
	var stop atomic.Bool // the caller failed: skip what is still queued
	done := make(chan error, 1)
	go func() {
		var err error
		for op := range w.ops {
			if err != nil || stop.Load() {
				continue // drain, so the caller never blocks
			}
			if op.b == nil {
				err = v.void(op.emp)
			} else {
				err = op.b.exec(ctx, tx, op.args, op.n)
				op.b.give(op.args)
			}
			if err != nil {
				w.failed.Store(true)
			}
		}
		done <- err
	}()
	err = fn(w)
	if err == nil {
		for _, b := range all {
			if b.n > 0 {
				args, n := b.take()
				w.ops <- writeOp{b: b, args: args, n: n}
			}
		}
	} else {
		stop.Store(true)
	}
	close(w.ops)
	if werr := <-done; werr != nil {
		return werr
	}
	return err
}

// add hands b's batch over when it is full.
func (w *Writer) add(b *batcher) error {
	if w.failed.Load() {
		return errWriterFailed
	}
	if b.n++; b.n == batchRows {
		args, n := b.take()
		w.ops <- writeOp{b: b, args: args, n: n}
	}
	return nil
}

// Person puts a person of the changes' source, current and not blocked
// (a joiner), as Changes.Persons does; its earlier hashes, if any, are
// void.
func (w *Writer) Person(p *Person) error {
	if p.Source != w.source || p.Blocked || p.BlockReason != "" || p.Left {
		return fmt.Errorf("stream a person of %s: not a current, unblocked person of %s", p.Source, w.source)
	}
	if w.clearHashes {
		w.ops <- writeOp{emp: p.EmployeeNumber}
	}
	w.persons.args = appendStreamPerson(w.persons.args, p)
	return w.add(w.persons)
}

// Contract puts a contract.
func (w *Writer) Contract(c *model.Contract) error {
	w.contracts.args = appendContract(w.contracts.args, c)
	return w.add(w.contracts)
}

// Event records an event.
func (w *Writer) Event(e *Event) error {
	var err error
	if w.events.args, err = appendEventRow(w.events.args, e); err != nil {
		return err
	}
	return w.add(w.events)
}

// Hashes records what source supplied for emp.
func (w *Writer) Hashes(source, emp string, h Hashes) error {
	w.hashes.args = append(w.hashes.args, source, emp, h.Person.blob(), h.Contracts.blob())
	return w.add(w.hashes)
}

func insertRejects(tx *sql.Tx, source string, rejects []Reject, runID int64, t string) error {
	rows := make([][]any, 0, len(rejects))
	for _, r := range rejects {
		// A multi-megabyte broken row is evidence enough in its first 4 KiB.
		rows = append(rows, []any{runID, t, source, r.File, r.Line, r.Column, r.Reason, show.Raw(r.Raw), r.EmployeeNumber})
	}
	return insertBatch(tx, "rejects", []string{"run_id", "time", "source", "file", "line", "col", "reason", "raw", "employee_number"}, "", rows)
}

// Record writes events outside a plan (manual actions, force, deliveries).
func (s *Store) Record(ctx context.Context, runID int64, events ...Event) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertEvents(tx, events, runID, now()) })
}
