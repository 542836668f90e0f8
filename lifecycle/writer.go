package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// A writer is the one background writer of the store: a goroutine that
// holds a connection inside a transaction and runs its inserters on the
// rows its producers queue, in the order they were queued, while the
// producers build the next ones (a first ingest reads its stage and
// renders its events on one core while SQLite inserts on the other; an
// export walks the state while its events and rows are written). Apply's
// stream (Writer) and the export (ExportWriter) use it.
//
// Rows are handed over in batches of queueRows rows (one hand-over per row
// cost both goroutines a wake-up each), at most queueDepth waiting, so
// memory stays flat; the batches are reused. Every hand-over honours the
// context, and a failed write cancels it: producers stop at their next
// hand-over with the writer's error, and no goroutine is left blocked.
//
// The producer side is safe for several goroutines.
// Until wait or stop returns, the connection belongs to the writer's
// goroutine.
type writer struct {
	ctx     context.Context // cancelled when the writer fails or stops
	cancel  context.CancelFunc
	g       *errgroup.Group
	queue   chan *queued
	free    chan *queued
	stopped atomic.Bool // stop was called: write nothing more

	mu     sync.Mutex // guards what follows: the producers' side
	cur    *queued
	closed bool
	err    error // the result of wait, once closed
}

// queued is a batch of rows for the writer: each row's inserter and the
// end of its values in vals.
type queued struct {
	rows []queuedRow
	vals []value
}

type queuedRow struct {
	in  *inserter
	end int
}

const queueRows, queueDepth = 256, 4

// startWriter starts writing into ins (on their connection, which the
// caller must not use until wait returns, and which ctx interrupts);
// flushing at the end goes in the order of ins.
func startWriter(ctx context.Context, ins ...*inserter) *writer {
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	w := &writer{ctx: gctx, cancel: cancel, g: g, queue: make(chan *queued, queueDepth),
		free: make(chan *queued, queueDepth+1), cur: &queued{}}
	g.Go(func() error { return w.run(ins) })
	return w
}

func (w *writer) run(ins []*inserter) error {
	// A cancelled context interrupts the connection (take), so the next
	// statement fails with the writing's own error; stop abandons the
	// rest at once.
	for q := range w.queue {
		if w.stopped.Load() {
			return errWriterStopped
		}
		if err := w.apply(q); err != nil {
			return err
		}
	}
	if w.stopped.Load() {
		return errWriterStopped
	}
	for _, in := range ins {
		if err := in.flush(); err != nil {
			return err
		}
	}
	return nil
}

// apply hands q's rows to their inserters, then q back for reuse.
func (w *writer) apply(q *queued) error {
	start := 0
	for _, r := range q.rows {
		r.in.pending = append(r.in.pending, q.vals[start:r.end]...)
		start = r.end
		if err := r.in.added(); err != nil {
			return err
		}
	}
	clear(q.vals)
	q.rows, q.vals = q.rows[:0], q.vals[:0]
	select {
	case w.free <- q:
	default:
	}
	return nil
}

// add queues one row for in, whose values fill appends. It returns the
// writer's error once it failed or stopped.
func (w *writer) add(in *inserter, fill func([]value) []value) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.closedErr()
	}
	q := w.cur
	q.vals = fill(q.vals)
	q.rows = append(q.rows, queuedRow{in: in, end: len(q.vals)})
	if len(q.rows) < queueRows {
		return nil
	}
	return w.send()
}

// send hands the current batch over; w.mu is held.
func (w *writer) send() error {
	select {
	case <-w.ctx.Done():
		w.close()
		return w.closedErr()
	case w.queue <- w.cur:
	}
	select {
	case w.cur = <-w.free:
	default:
		w.cur = &queued{}
	}
	return nil
}

// close stops taking rows and waits for the goroutine; w.mu is held.
func (w *writer) close() {
	if w.closed {
		return
	}
	w.closed = true
	close(w.queue)
	w.err = w.g.Wait()
	w.cancel()
}

func (w *writer) closedErr() error {
	if w.err != nil {
		return w.err
	}
	return errWriterStopped
}

// errWriterStopped is what a producer gets from a writer stopped without
// an error of its own (stop, or wait already called).
var errWriterStopped = errors.New("writer stopped")

// wait writes what is queued, flushes every inserter and returns the
// first error; the connection is the caller's again after it. Safe to
// call more than once.
func (w *writer) wait() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed && len(w.cur.rows) > 0 {
		if err := w.send(); err != nil {
			return err
		}
	}
	w.close()
	return w.err
}

// stop abandons what is queued and waits for the goroutine.
func (w *writer) stop() {
	w.stopped.Store(true)
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.close()
}
