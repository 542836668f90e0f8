package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/lifecycle"
)

// Readers never block, not even while the first ingest fills an empty
// store with more than the page cache holds. (Writing that transaction
// through a rollback journal instead of the WAL would save a fifth of a
// 1M first ingest's time, but a reader would then wait for it and fail
// with "database is locked".)
func TestReaderRunsWhileTheFirstIngestFillsTheStore(t *testing.T) {
	st := newEnv(t).store
	details := map[string]any{"note": strings.Repeat("x", 8<<10)}
	err := applyStreamed(context.Background(), st, &lifecycle.Changes{Source: "hr", Streamed: 1}, func(w *lifecycle.Writer) error {
		p := &lifecycle.Person{Source: "hr"}
		p.EmployeeNumber, p.LastName = "001", "Boele"
		if err := w.Person(p); err != nil {
			return err
		}
		// 24 MB of events: past the 16 MB page cache, so the writer has
		// spilled pages into the database's files.
		for range 3000 {
			if err := w.Event(&lifecycle.Event{Source: "hr", Kind: "test.filler", EmployeeNumber: "001", Details: details}); err != nil {
				return err
			}
		}
		start := time.Now()
		r, err := lifecycle.Open(st.Path(), lifecycle.ReadOnly)
		if err != nil {
			t.Errorf("a reader could not open the store during the fill: %v", err)
			return nil
		}
		defer r.Close()
		if _, err := r.Person(context.Background(), "001"); err == nil {
			t.Error("the reader saw a person of the uncommitted fill")
		} else if waited := time.Since(start); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Errorf("reader during the fill (after %v): %v", waited, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The stream's batches are written on a goroutine of their own. When
// that writing fails (here: the context is cancelled part-way) or the
// caller's rows fail, Apply returns that error, nothing of the stream is
// stored, and neither side waits for the other forever.
func TestAFailedStreamStoresNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cancel  bool   // cancel the context after the first 300 persons
		callers error  // what the caller's function returns
		want    string // in the error: the writing's own, not the signal that stopped the caller
	}{
		{name: "writing fails", cancel: true, want: "insert into persons"},
		{name: "the caller fails", callers: errors.New("bad staged row")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newEnv(t).store
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := applyStreamed(ctx, st, &lifecycle.Changes{Source: "hr", Streamed: 1000}, func(w *lifecycle.Writer) error {
				for i := range 1000 {
					if i == 300 && tc.cancel {
						cancel()
					}
					p := &lifecycle.Person{Source: "hr"}
					p.EmployeeNumber, p.LastName = fmt.Sprintf("%04d", i), "Boele"
					if err := w.Person(p); err != nil {
						return err
					}
				}
				return tc.callers
			})
			switch {
			case err == nil:
				t.Fatal("Apply succeeded")
			case !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Apply: %v, want %v", err, tc.want)
			case tc.callers != nil && !errors.Is(err, tc.callers):
				t.Fatalf("Apply: %v, want the caller's %v", err, tc.callers)
			}
			if _, err := st.Person(context.Background(), "0000"); !errors.Is(err, lifecycle.ErrNotFound) {
				t.Errorf("a person of the failed stream is stored: %v", err)
			}
		})
	}
}

// A stream binds the source, "not blocked" and "current" once per
// statement, so it refuses a person that is not a current, unblocked
// person of the changes' source rather than store it wrongly.
func TestAStreamPutsOnlyCurrentUnblockedPersonsOfItsSource(t *testing.T) {
	for _, p := range []lifecycle.Person{{Source: "ad"}, {Source: "hr", Blocked: true}, {Source: "hr", BlockReason: "fraud"}, {Source: "hr", Left: true}} {
		st := newEnv(t).store
		p.EmployeeNumber = "001"
		err := applyStreamed(context.Background(), st, &lifecycle.Changes{Source: "hr", Streamed: 1}, func(w *lifecycle.Writer) error {
			return w.Person(&p)
		})
		if err == nil {
			t.Errorf("%+v was streamed", p)
		}
	}
}

// applyStreamed applies ch and streams fn's rows into the same
// transaction, as an ingest applies its staged joiners.
func applyStreamed(ctx context.Context, st *lifecycle.Store, ch *lifecycle.Changes, fn func(*lifecycle.Writer) error) error {
	w, err := st.BeginApply(ctx, ch, 1)
	if err != nil {
		return err
	}
	if err := fn(w); err != nil {
		w.Rollback()
		return err
	}
	return w.Commit()
}

// Changes that declare no streamed persons start no background writer: a
// row handed to their Writer is refused, and nothing of it is stored.
func TestAWriterOfChangesThatStreamNothingRefusesRows(t *testing.T) {
	st := newEnv(t).store
	p := &lifecycle.Person{Source: "hr"}
	p.EmployeeNumber, p.LastName = "001", "Boele"
	err := applyStreamed(context.Background(), st, &lifecycle.Changes{Source: "hr"}, func(w *lifecycle.Writer) error {
		return w.Person(p)
	})
	if err == nil || !strings.Contains(err.Error(), "Streamed is 0") {
		t.Fatalf("streaming into changes that declared none: %v", err)
	}
	if _, err := st.Person(context.Background(), "001"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("the refused row is stored: %v", err)
	}
}
