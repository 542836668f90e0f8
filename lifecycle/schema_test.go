package lifecycle_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spendsync/spendsync/lifecycle"
	_ "modernc.org/sqlite" // the test reads the files through database/sql
)

func loadSQL(t *testing.T, fixture string) string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "testdata", "schema", fixture))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(text)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOldSchemaIsUpgradedInPlace(t *testing.T) {
	path := loadSQL(t, "v1.sql")
	if _, err := lifecycle.Open(path, lifecycle.ReadOnly); err == nil {
		t.Fatal("a reader opened a database that needs an upgrade")
	}
	st, err := lifecycle.Open(path, lifecycle.Existing)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.Person(context.Background(), "000101")
	if err != nil || p.LastName != "Boele" || len(p.Contracts) != 1 {
		t.Fatalf("data lost in the upgrade: %+v %v", p, err)
	}
	evs, err := st.Events(context.Background(), lifecycle.EventFilter{Kind: "person.joined"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %v %v", evs, err)
	}
	st.Close()
	db, _ := sql.Open("sqlite", path)
	defer db.Close()
	var version, indexes int
	db.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'`).Scan(&version)
	db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'events_kind'`).Scan(&indexes)
	if version != lifecycle.SchemaVersion || indexes != 1 {
		t.Fatalf("version %d, events_kind index %d", version, indexes)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := loadSQL(t, "v1.sql")
	db, _ := sql.Open("sqlite", path)
	db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
	db.Close()
	for _, mode := range []lifecycle.Mode{lifecycle.ReadOnly, lifecycle.Existing} {
		if _, err := lifecycle.Open(path, mode); !errors.Is(err, lifecycle.ErrNewerSchema) {
			t.Fatalf("mode %v: %v", mode, err)
		}
	}
}

func TestPruneRemovesExactlyWhatRetentionSays(t *testing.T) {
	path := loadSQL(t, "v1.sql")
	st, err := lifecycle.Open(path, lifecycle.Existing)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, _ := sql.Open("sqlite", path)
	defer db.Close()
	for _, q := range []string{
		`INSERT INTO events (time, run_id, actor, source, kind, employee_number, details) VALUES
			('2024-01-01T00:00:00Z', 1, 'a', 's', 'old', '1', '{}'),
			('2024-12-31T23:59:59Z', 1, 'a', 's', 'just-old', '1', '{}'),
			('2025-01-01T00:00:00Z', 1, 'a', 's', 'boundary', '1', '{}'),
			('2025-06-01T00:00:00Z', 1, 'a', 's', 'new', '1', '{}')`,
		`INSERT INTO rejects (run_id, time, source, file, line, col, reason, raw, employee_number) VALUES
			(1, '2024-06-01T00:00:00Z', 's', 'f', 2, '', 'r', 'x', ''), (1, '2025-06-01T00:00:00Z', 's', 'f', 2, '', 'r', 'x', '')`,
		`INSERT INTO persons VALUES
			('left-long-ago', 'afas', '', '', 'A', '', '', 'B', '', '', '', 0, '', '2025-03-01T00:00:00Z', '2025-03-01T00:00:00Z'),
			('left-recently', 'afas', '', '', 'B', '', '', 'B', '', '', '', 0, '', '2025-06-15T00:00:00Z', '2025-06-15T00:00:00Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	at := mustTime(t, "2025-07-01T00:00:00Z")
	r := lifecycle.Retention{Events: 181 * day, Leavers: 90 * day}
	p, err := st.Prune(context.Background(), 2, r, at)
	if err != nil {
		t.Fatal(err)
	}
	// 181 days before 2025-07-01 is 2025-01-01: older events go, that day stays.
	if p.Events != 2 || p.Rejects != 1 || p.Leavers != 1 {
		t.Fatalf("pruned %+v, want 2 events, 1 reject, 1 leaver", p)
	}
	var kinds []string
	rows, _ := db.Query(`SELECT kind FROM events ORDER BY time`)
	for rows.Next() {
		var k string
		rows.Scan(&k)
		kinds = append(kinds, k)
	}
	rows.Close()
	eq(t, "kept events", kinds, []string{"boundary", "person.joined", "new", "prune"})
	if _, err := st.Person(context.Background(), "left-recently"); err != nil {
		t.Fatal("a recent leaver was pruned")
	}
	if _, err := st.Person(context.Background(), "left-long-ago"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Fatal("an old leaver was kept")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const day = 24 * time.Hour

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}
