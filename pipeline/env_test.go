package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
	_ "modernc.org/sqlite"
)

type env struct {
	t     *testing.T
	dir   string
	store *lifecycle.Store
	run   int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := lifecycle.Open(filepath.Join(dir, "db", "spendsync.db"), lifecycle.Create)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{t: t, dir: dir, store: st}
}

func (e *env) write(name, data string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) source(name, mode, persons, contracts string) *connector.Source {
	e.t.Helper()
	s := &connector.Source{Name: name, Mode: mode, Persons: e.write(name+"-persons.csv", persons)}
	if contracts != "" {
		s.Contracts = e.write(name+"-contracts.csv", contracts)
	}
	if err := s.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// mustIngest runs one ingest through the pipeline and returns its events
// as "kind emp" lines.
func (e *env) mustIngest(sources ...*connector.Source) []string {
	e.t.Helper()
	e.run++
	p := &pipeline.Pipeline{Store: e.store, RunID: e.run, Settings: &pipeline.Settings{Sources: sources}}
	if err := p.Ingest(context.Background(), pipeline.IngestOptions{Now: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
	return eventLines(e.t, e.store, e.run)
}

// eventLines returns a run's events as "kind emp" lines, in order.
func eventLines(t *testing.T, st *lifecycle.Store, run int64) []string {
	t.Helper()
	evs, err := st.Events(context.Background(), lifecycle.EventFilter{RunID: run})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Kind+" "+ev.EmployeeNumber)
	}
	return out
}
