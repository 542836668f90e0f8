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
	"slices"
	"strings"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
	_ "modernc.org/sqlite"
)

// floors are reference rows of the bench table: the least each step must
// do, done through the same driver and settings and nothing else. The
// files are parsed with encoding/csv; there is no validation, mapping,
// hashing, stage or diff; inserts are multi-row statements prepared once,
// in one transaction. Their ratios to the import say how much of a target
// the driver alone uses up.
var floors = []struct{ name, of string }{
	{"driver floor: the import's work (two bare tables)", "bare"},
	{"driver floor: persons and contracts", "rows"},
	{"driver floor: + an event and hashes per person", "events"},
	{"driver floor: reading the index and the files", "index"},
	{"driver floor: a first export's events and stored rows", "export"},
	{"driver floor: reading every current person", "state"},
}

// floor does one floor's work in dir/floor/<of>; of is one of floors':
//   - "bare": what .import does, through modernc: the files into two
//     tables of text columns, without keys;
//   - "rows": the persons and contracts into spendsync's schema;
//   - "events": those, and per person one event of the size a
//     person.joined has (600 bytes of JSON at 100k) and a row of hashes,
//     as the audit log and the fast path need;
//   - "index": what an ingest of a day's changes reads at least: both
//     files, and the stored persons' keys and hashes (in "events"' store);
//   - "export": what a first export writes to the store: per person an
//     account.create (241 bytes) and a stored export row (250 bytes, and
//     220 of its roles), per contract a role.grant (171 bytes);
//   - "state": what an export reads at least: every stored person and
//     contract in employee order (in "events"' store).
func floor(dir, of string) error {
	ctx := context.Background()
	switch of {
	case "index":
		return readFloor(ctx, dir, func(db *sql.DB) error {
			for _, f := range []string{"persons.csv", "contracts.csv"} {
				if err := eachRecord(filepath.Join(dir, "hr", f), func([]string) error { return nil }); err != nil {
					return err
				}
			}
			return scanAll(ctx, db, `SELECT employee_number, source, left_at IS NOT NULL FROM persons`,
				`SELECT employee_number, person, contracts FROM source_hashes WHERE source = 'afas'`)
		})
	case "state":
		return readFloor(ctx, dir, func(db *sql.DB) error {
			// Packed into one text per row, as the export reads them.
			return scanAll(ctx, db, `SELECT employee_number, blocked, concat_ws(char(31), `+strings.Join(model.PersonFields, ", ")+
				`) FROM persons WHERE left_at IS NULL ORDER BY employee_number`,
				`SELECT employee_number, concat_ws(char(31), key, `+strings.Join(model.ContractFields, ", ")+
					`) FROM contracts ORDER BY employee_number, key`)
		})
	}
	db, err := openFloor(dir, of, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if of == "bare" {
		// As .import makes them for the generated files' 10 and 8 columns.
		for t, cols := range map[string]int{"persons": 10, "contracts": 8} {
			if _, err := db.Exec(`CREATE TABLE b` + t + ` (` + textColumns(cols) + `)`); err != nil {
				return err
			}
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tables := map[string]*floorTable{}
	for _, t := range []string{"persons", "contracts", "events", "source_hashes", "exported_persons", "bpersons", "bcontracts"} {
		tables[t] = &floorTable{ctx: ctx, tx: tx, name: t}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?)`, t).Scan(&tables[t].cols); err != nil {
			return err
		}
	}
	hash := make([]byte, 16)
	// event adds an event of n bytes of details.
	event := func(kind string, rec []string, n int) error {
		details, _ := json.Marshal(rec)
		pad := strings.Repeat(" ", max(0, n-len(details)))
		// id is the rowid: NULL picks the next one.
		return tables["events"].add(nil, "2026-11-24T00:00:00Z", 1, "floor", "afas", kind, rec[0], string(details)+pad)
	}
	err = eachRecord(filepath.Join(dir, "hr", "persons.csv"), func(rec []string) error {
		switch of {
		case "bare":
			return tables["bpersons"].add(anys(rec)...)
		case "export":
			if err := event("account.create", rec, 241); err != nil {
				return err
			}
			row := strings.Join(rec, ";")
			return tables["exported_persons"].add(rec[0], row+strings.Repeat(" ", max(0, 250-len(row))), hash, strings.Repeat("r", 220))
		case "events":
			if err := event("person.joined", rec, 600); err != nil {
				return err
			}
			if err := tables["source_hashes"].add("afas", rec[0], hash, hash); err != nil {
				return err
			}
		}
		// The number, the source, the 9 fields, not blocked, current.
		return tables["persons"].add(slices.Concat([]any{rec[0], "afas"}, anys(rec[1:]), []any{0, "", nil, "2026-11-24T00:00:00Z"})...)
	})
	if err != nil {
		return err
	}
	err = eachRecord(filepath.Join(dir, "hr", "contracts.csv"), func(rec []string) error {
		switch of {
		case "bare":
			return tables["bcontracts"].add(anys(rec)...)
		case "export":
			return event("role.grant", rec, 171)
		}
		// The number, the key (and contract id), the 6 fields.
		return tables["contracts"].add(slices.Concat([]any{rec[0], rec[1]}, anys(rec[1:]))...)
	})
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := t.flush(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// openFloor opens dir/floor/<of>/spendsync.db with spendsync's schema at
// its latest version and the connection settings of lifecycle.Open; with
// fresh, an empty one.
func openFloor(dir, of string, fresh bool) (*sql.DB, error) {
	path := filepath.Join(dir, "floor", of, "spendsync.db")
	if fresh {
		os.RemoveAll(filepath.Dir(path))
		st, err := lifecycle.Open(path, true, false)
		if err != nil {
			return nil, err
		}
		st.Close()
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// readFloor runs fn on the store the "events" floor wrote.
func readFloor(ctx context.Context, dir string, fn func(*sql.DB) error) error {
	db, err := openFloor(dir, "events", false)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

// scanAll reads every row of each query, every column as raw bytes.
func scanAll(ctx context.Context, db *sql.DB, queries ...string) error {
	for _, q := range queries {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.RawBytes)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				rows.Close()
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if n == 0 {
			return fmt.Errorf("%s: no rows (run the events floor first)", q)
		}
	}
	return nil
}

// floorTable batches rows for one table: a row's values fill its columns
// in order, and columns past them get an empty text.
type floorTable struct {
	ctx  context.Context
	tx   *sql.Tx
	name string
	cols int
	args []any
	n    int
	full *sql.Stmt
}

// floorBatch is spendsync's own batch size; 50 to 1000 made no
// difference here.
const floorBatch = 200

func (t *floorTable) add(vals ...any) error {
	for i := range t.cols {
		if i < len(vals) {
			t.args = append(t.args, vals[i])
		} else {
			t.args = append(t.args, "")
		}
	}
	if t.n++; t.n < floorBatch {
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

func (t *floorTable) flush() error {
	if t.n == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(t.ctx, t.query(t.n), t.args...); err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	return nil
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

// textColumns declares n text columns c1, c2, ...
func textColumns(n int) string {
	cols := make([]string, n)
	for i := range cols {
		cols[i] = fmt.Sprintf("c%d TEXT", i+1)
	}
	return strings.Join(cols, ", ")
}
