package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/slowtest"
	"github.com/spendsync/spendsync/lifecycle"
)

func TestBackupAndReadersWhileALongIngestWrites(t *testing.T) {
	slowtest.Require(t)
	dir := t.TempDir()
	src := genSource(t, dir, 20_000)
	db := filepath.Join(dir, "state", "spendsync.db")
	w, err := lifecycle.Open(db, lifecycle.Create)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), w, 1, []*connector.Source{src}, Config{Now: time.Now()})
		done <- err
	}()
	r, err := lifecycle.Open(db, lifecycle.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	backups := 0
	for running := true; running; backups++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, _, _, err := r.Counts(ctx); err != nil {
			t.Fatalf("reader blocked or failed during the ingest: %v", err)
		}
		if _, err := r.Events(ctx, lifecycle.EventFilter{Limit: 5}); err != nil {
			t.Fatalf("events during the ingest: %v", err)
		}
		cancel()
		out := filepath.Join(dir, "backups", fmt.Sprintf("b%d.db", backups))
		if err := r.Backup(context.Background(), out); err != nil {
			t.Fatalf("backup during the ingest: %v", err)
		}
		if err := lifecycle.IntegrityCheck(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		if perm := accesstest.Perm(t, out); perm != 0o600 {
			t.Fatalf("backup mode %v", perm)
		}
	}
	if backups < 2 {
		t.Logf("only %d backups overlapped the ingest", backups)
	}
	if err := r.Backup(context.Background(), filepath.Join(dir, "backups", "b0.db")); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
}
