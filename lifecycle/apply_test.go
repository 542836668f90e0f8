package lifecycle_test

import (
	"context"
	"errors"
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
	err := st.Apply(context.Background(), &lifecycle.Changes{Source: "hr", Streamed: 1, Stream: func(w *lifecycle.Writer) error {
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
		r, err := lifecycle.Open(st.Path(), false, true)
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
	}}, 1)
	if err != nil {
		t.Fatal(err)
	}
}
