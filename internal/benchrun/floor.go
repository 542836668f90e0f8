//go:build unix

package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spendsync/spendsync/lifecycle"
	_ "modernc.org/sqlite"
)

// floor writes the rows a first ingest must write into spendsync's own
// schema through the same driver and settings, and nothing else: the two
// files parsed with encoding/csv, no validation, mapping, hashing, stage
// or diff; multi-row statements prepared once, one transaction. It is the
// fastest a first ingest could be with modernc.org/sqlite, so its ratio to
// the import says how much of a target the driver alone uses up.
//
// of says what is written:
//   - "rows": the persons and contracts;
//   - "events": those, and per person one event of the size a
//     person.joined has (600 bytes of JSON at 100k) and a row of hashes,
//     as the audit log and the fast path need;
//   - "export": what a first export writes to the store instead: per
//     person an account.create (241 bytes) and a stored export row (250
//     bytes, and 220 of its roles), per contract a role.grant (171 bytes).
func floor(dir, of string) error {
	path := filepath.Join(dir, "floor", "spendsync.db")
	os.RemoveAll(filepath.Dir(path))
	st, err := lifecycle.Open(path, true, false) // spendsync's schema, at its latest version
	if err != nil {
		return err
	}
	st.Close()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	persons, err := newFloorTable(ctx, tx, "persons")
	if err != nil {
		return err
	}
	contracts, err := newFloorTable(ctx, tx, "contracts")
	if err != nil {
		return err
	}
	ev, err := newFloorTable(ctx, tx, "events")
	if err != nil {
		return err
	}
	hashes, err := newFloorTable(ctx, tx, "source_hashes")
	if err != nil {
		return err
	}
	exported, err := newFloorTable(ctx, tx, "exported_persons")
	if err != nil {
		return err
	}
	hash := make([]byte, 16)
	// event adds an event of n bytes of details.
	event := func(kind string, rec []string, n int) error {
		details, _ := json.Marshal(rec)
		pad := strings.Repeat(" ", max(0, n-len(details)))
		// id is the rowid: NULL picks the next one.
		return ev.add(nil, "2026-11-24T00:00:00Z", 1, "floor", "afas", kind, rec[0], string(details)+pad)
	}
	err = eachRecord(filepath.Join(dir, "hr", "persons.csv"), func(rec []string) error {
		switch of {
		case "export":
			if err := event("account.create", rec, 241); err != nil {
				return err
			}
			row := strings.Join(rec, ";")
			return exported.add(rec[0], row+strings.Repeat(" ", max(0, 250-len(row))), hash, strings.Repeat("r", 220))
		case "events":
			if err := event("person.joined", rec, 600); err != nil {
				return err
			}
			if err := hashes.add("afas", rec[0], hash, hash); err != nil {
				return err
			}
		}
		return persons.add(anys(rec)...)
	})
	if err != nil {
		return err
	}
	err = eachRecord(filepath.Join(dir, "hr", "contracts.csv"), func(rec []string) error {
		if of == "export" {
			return event("role.grant", rec, 171)
		}
		return contracts.add(anys(rec)...)
	})
	if err != nil {
		return err
	}
	for _, t := range []*floorTable{persons, contracts, ev, hashes, exported} {
		if err := t.flush(ctx, tx); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// floorTable batches rows for one table: a row's values fill its columns
// in order, and columns past them get an empty text.
type floorTable struct {
	ctx       context.Context
	tx        *sql.Tx
	name      string
	cols      int
	args      []any
	n         int
	full      *sql.Stmt
	batchRows int
}

func newFloorTable(ctx context.Context, tx *sql.Tx, name string) (*floorTable, error) {
	var cols int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?)`, name).Scan(&cols); err != nil {
		return nil, err
	}
	// spendsync's own batch size.
	return &floorTable{ctx: ctx, tx: tx, name: name, cols: cols, batchRows: 200}, nil
}

func (t *floorTable) add(vals ...any) error {
	for i := range t.cols {
		if i < len(vals) {
			t.args = append(t.args, vals[i])
		} else {
			t.args = append(t.args, "")
		}
	}
	if t.n++; t.n < t.batchRows {
		return nil
	}
	if t.full == nil {
		var err error
		if t.full, err = t.tx.PrepareContext(t.ctx, t.query(t.n)); err != nil {
			return err
		}
	}
	if _, err := t.full.ExecContext(t.ctx, t.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	t.args, t.n = t.args[:0], 0
	return nil
}

func (t *floorTable) flush(ctx context.Context, tx *sql.Tx) error {
	if t.n == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, t.query(t.n), t.args...)
	return err
}

func (t *floorTable) query(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", t.cols), ", ") + ")"
	return "INSERT INTO " + t.name + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// eachRecord calls fn with each record of a ;-separated file after its
// header; fn may keep the record.
func eachRecord(path string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	if _, err := r.Read(); err != nil {
		return err
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

func anys(rec []string) []any {
	out := make([]any, len(rec))
	for i, v := range rec {
		out[i] = v
	}
	return out
}
