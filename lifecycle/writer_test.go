package lifecycle

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A write that fails stops every producer at its next hand-over with the
// writer's own error, and none of them is left blocked.
func TestAFailedWriteStopsEveryProducer(t *testing.T) {
	c, err := openConn(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// No such table: the first full batch fails.
	in := newInserter(c, "missing", []string{"a"}, nil, "")
	defer in.close()
	w := startWriter(context.Background(), in)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for i := range 100_000 {
				if err := w.add(in, func(vals []value) []value { return append(vals, integer(int64(i))) }); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a producer is still blocked")
	}
	close(errs)
	for err := range errs {
		if err == nil || !strings.Contains(err.Error(), "insert into missing") {
			t.Errorf("producer: %v, want the writer's insert error", err)
		}
	}
	if err := w.wait(); err == nil || !strings.Contains(err.Error(), "insert into missing") {
		t.Errorf("wait: %v, want the writer's insert error", err)
	}
}

// A cancelled context stops the producers too: the connection is
// interrupted and the writer's next statement fails.
func TestACancelledContextStopsTheWriter(t *testing.T) {
	c, err := openConn(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := execOnce(c, `CREATE TABLE t (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.SetInterrupt(ctx.Done())
	defer c.SetInterrupt(nil)
	in := newInserter(c, "t", []string{"a"}, nil, "")
	defer in.close()
	w := startWriter(ctx, in)
	var failed error
	for i := range 1_000_000 {
		if i == 1000 {
			cancel()
		}
		if failed = w.add(in, func(vals []value) []value { return append(vals, integer(int64(i))) }); failed != nil {
			break
		}
	}
	if failed == nil {
		t.Fatal("the writer took every row after the context was cancelled")
	}
	if err := w.wait(); err == nil {
		t.Error("wait succeeded after the context was cancelled")
	}
}
