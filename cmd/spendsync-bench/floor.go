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
	"time"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
	_ "modernc.org/sqlite" // the reference floors' driver, through database/sql
	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// floors are reference rows of the bench table: the least each step must
// do, done through the same driver and settings and nothing else. The
// files are parsed with encoding/csv; there is no validation, mapping,
// hashing, stage or diff; inserts are multi-row statements prepared once,
// in one transaction. Their ratios to the import say how much of a target
// the driver alone uses up.
//
// Each floor is measured twice: through database/sql and modernc's driver
// (the way the store called SQLite before, kept as the reference), and
// through zombiezen.com/go/sqlite over the same modernc SQLite, the binding
// the store uses (values bound by position, no database/sql): the floor
// the store's own steps can be read against.
var floors = []struct{ name, of string }{
	{"driver floor: the import's work (two bare tables)", "bare"},
	{"binding floor: the import's work (two bare tables)", "z:bare"},
	{"driver floor: persons and contracts", "rows"},
	{"binding floor: persons and contracts", "z:rows"},
	{"driver floor: + an event and hashes per person", "events"},
	{"binding floor: + an event and hashes per person", "z:events"},
	{"driver floor: reading the index and the files", "index"},
	{"binding floor: reading the index and the files", "z:index"},
	{"driver floor: a first export's events and stored rows", "export"},
	{"binding floor: a first export's events and stored rows", "z:export"},
	{"driver floor: reading every current person", "state"},
	{"binding floor: reading every current person", "z:state"},
	{"binding floor: a 1% day (reading the index and the files, writing 1% of persons)", "z:day"},
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
//
// "z:" and one of those is the same work through zombiezen (zfloor);
// "z:day" only so: what "index" reads, then, in one transaction, for
// every hundredth person its row and its hashes rewritten and a
// person.changed event (127 bytes) recorded, the least a day's ingest
// after a 1% change writes (in "events"' store, changed for good: run it
// last).
func floor(dir, of string) error {
	if z, ok := strings.CutPrefix(of, "z:"); ok {
		return zfloor(dir, z)
	}
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
	path, err := floorPath(dir, of, fresh)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// floorPath is dir/floor/<of>/spendsync.db; with fresh, a new one with
// spendsync's schema at its latest version.
func floorPath(dir, of string, fresh bool) (string, error) {
	path := filepath.Join(dir, "floor", of, "spendsync.db")
	if fresh {
		os.RemoveAll(filepath.Dir(path))
		st, err := lifecycle.Open(path, lifecycle.Create)
		if err != nil {
			return "", err
		}
		st.Close()
	}
	return path, nil
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

// zfloor is floor's work through zombiezen.com/go/sqlite: the same rows,
// statements and settings, each value bound by position straight into a
// statement prepared once, and read back as bytes without a copy per
// value. Its own stores are dir/floor/z-<of>; the read floors read the one
// "z:events" wrote.
func zfloor(dir, of string) error {
	switch of {
	case "day":
		if err := zfloor(dir, "index"); err != nil {
			return err
		}
		return zday(dir)
	case "index", "state":
		c, err := zopen(dir, "z-events", false)
		if err != nil {
			return err
		}
		defer c.Close()
		if of == "index" {
			for _, f := range []string{"persons.csv", "contracts.csv"} {
				if err := eachRecord(filepath.Join(dir, "hr", f), func([]string) error { return nil }); err != nil {
					return err
				}
			}
			return zscanAll(c, `SELECT employee_number, source, left_at IS NOT NULL FROM persons`,
				`SELECT employee_number, person, contracts FROM source_hashes WHERE source = 'afas'`)
		}
		return zscanAll(c, `SELECT employee_number, blocked, concat_ws(char(31), `+strings.Join(model.PersonFields, ", ")+
			`) FROM persons WHERE left_at IS NULL ORDER BY employee_number`,
			`SELECT employee_number, concat_ws(char(31), key, `+strings.Join(model.ContractFields, ", ")+
				`) FROM contracts ORDER BY employee_number, key`)
	}
	c, err := zopen(dir, "z-"+of, true)
	if err != nil {
		return err
	}
	defer c.Close()
	if of == "bare" {
		for t, cols := range map[string]int{"persons": 10, "contracts": 8} {
			if err := sqlitex.ExecuteTransient(c, `CREATE TABLE b`+t+` (`+textColumns(cols)+`)`, nil); err != nil {
				return err
			}
		}
	}
	if err := sqlitex.ExecuteTransient(c, "BEGIN IMMEDIATE", nil); err != nil {
		return err
	}
	tables := map[string]*zTable{}
	for _, t := range []string{"persons", "contracts", "events", "source_hashes", "exported_persons", "bpersons", "bcontracts"} {
		tables[t] = &zTable{c: c, name: t}
		err := sqlitex.Execute(c, `SELECT count(*) FROM pragma_table_info(?)`, &sqlitex.ExecOptions{Args: []any{t},
			ResultFunc: func(st *sqlite.Stmt) error { tables[t].cols = st.ColumnInt(0); return nil }})
		if err != nil {
			return err
		}
	}
	hash := make([]byte, 16)
	var details []byte
	event := func(kind string, rec []string, n int) error {
		details, _ = json.Marshal(rec)
		t := tables["events"]
		// id is the rowid: NULL picks the next one.
		t.null()
		t.text("2026-11-24T00:00:00Z")
		t.int(1)
		t.text("floor")
		t.text("afas")
		t.text(kind)
		t.text(rec[0])
		t.text(string(details) + strings.Repeat(" ", max(0, n-len(details))))
		return t.end()
	}
	persons, contracts := tables["persons"], tables["contracts"]
	err = eachRecord(filepath.Join(dir, "hr", "persons.csv"), func(rec []string) error {
		switch of {
		case "bare":
			return tables["bpersons"].texts(rec).end()
		case "export":
			if err := event("account.create", rec, 241); err != nil {
				return err
			}
			t := tables["exported_persons"]
			row := strings.Join(rec, ";")
			t.text(rec[0])
			t.text(row + strings.Repeat(" ", max(0, 250-len(row))))
			t.blob(hash)
			t.text(strings.Repeat("r", 220))
			return t.end()
		case "events":
			if err := event("person.joined", rec, 600); err != nil {
				return err
			}
			t := tables["source_hashes"]
			t.text("afas")
			t.text(rec[0])
			t.blob(hash)
			t.blob(hash)
			if err := t.end(); err != nil {
				return err
			}
		}
		// The number, the source, the 9 fields, not blocked, current.
		persons.text(rec[0])
		persons.text("afas")
		persons.texts(rec[1:])
		persons.int(0)
		persons.text("")
		persons.null()
		persons.text("2026-11-24T00:00:00Z")
		return persons.end()
	})
	if err != nil {
		return err
	}
	err = eachRecord(filepath.Join(dir, "hr", "contracts.csv"), func(rec []string) error {
		switch of {
		case "bare":
			return tables["bcontracts"].texts(rec).end()
		case "export":
			return event("role.grant", rec, 171)
		}
		// The number, the key (and contract id), the 6 fields.
		contracts.text(rec[0])
		contracts.text(rec[1])
		return contracts.texts(rec[1:]).end()
	})
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := t.flush(); err != nil {
			return err
		}
	}
	return sqlitex.ExecuteTransient(c, "COMMIT", nil)
}

// zday rewrites every hundredth person of the "events" floor's store, its
// hashes and an event, in one transaction.
func zday(dir string) error {
	c, err := zopen(dir, "z-events", false)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := sqlitex.ExecuteTransient(c, "BEGIN IMMEDIATE", nil); err != nil {
		return err
	}
	person, hashes := c.Prep(`UPDATE persons SET first_name = first_name || 'x', updated = ? WHERE employee_number = ?`),
		c.Prep(`UPDATE source_hashes SET person = ? WHERE source = 'afas' AND employee_number = ?`)
	events := &zTable{c: c, name: "events", cols: 8}
	hash, n := make([]byte, 16), 0
	err = eachRecord(filepath.Join(dir, "hr", "persons.csv"), func(rec []string) error {
		if n++; n%100 != 0 {
			return nil
		}
		person.BindText(1, "2026-11-25T00:00:00Z")
		person.BindText(2, rec[0])
		hash[0]++
		hashes.BindBytes(1, hash)
		hashes.BindText(2, rec[0])
		for _, st := range []*sqlite.Stmt{person, hashes} {
			if _, err := st.Step(); err != nil {
				return err
			}
			if err := st.Reset(); err != nil {
				return err
			}
		}
		events.null().text("2026-11-25T00:00:00Z").int(2).text("floor").text("afas").text("person.changed").text(rec[0]).
			text(`{"changed":{"first_name":{"from":"` + rec[1] + `","to":"` + rec[1] + `x"}},"source":"afas","x":"` + strings.Repeat(" ", 40) + `"}`)
		return events.end()
	})
	if err != nil {
		return err
	}
	if err := events.flush(); err != nil {
		return err
	}
	return sqlitex.ExecuteTransient(c, "COMMIT", nil)
}

// zopen opens the floor store named of (floorPath; fresh makes it anew) with
// lifecycle.Open's settings.
func zopen(dir, of string, fresh bool) (*sqlite.Conn, error) {
	path, err := floorPath(dir, of, fresh)
	if err != nil {
		return nil, err
	}
	c, err := sqlite.OpenConn(path, sqlite.OpenReadWrite|sqlite.OpenCreate)
	if err != nil {
		return nil, err
	}
	c.SetBusyTimeout(10 * time.Second)
	for _, p := range []string{"journal_mode = WAL", "synchronous = FULL", "foreign_keys = 1", "cache_size = -16384"} {
		if err := sqlitex.ExecuteTransient(c, "PRAGMA "+p, nil); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// zscanAll reads every row of each query, every column's bytes into one
// reused buffer.
func zscanAll(c *sqlite.Conn, queries ...string) error {
	var buf []byte
	for _, q := range queries {
		n := 0
		err := sqlitex.ExecuteTransient(c, q, &sqlitex.ExecOptions{ResultFunc: func(st *sqlite.Stmt) error {
			for i := range st.ColumnCount() {
				if l := st.ColumnLen(i); cap(buf) < l {
					buf = make([]byte, l)
				}
				st.ColumnBytes(i, buf[:cap(buf)])
			}
			n++
			return nil
		}})
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: no rows (run the events floor first)", q)
		}
	}
	return nil
}

// zTable is floorTable through zombiezen: a row's values are bound
// straight into the batch's statement as they come (text, int, null,
// blob), end fills its other columns with an empty text and runs a full
// batch.
type zTable struct {
	c    *sqlite.Conn
	name string
	cols int
	full *sqlite.Stmt
	vals []zValue // the batch's rows, one after the other, reused
	n    int      // rows in vals
}

// zValue is one value held for the last, short batch.
type zValue struct {
	kind byte // 't' text, 'i' int, 'n' null, 'b' blob
	s    string
	i    int64
	b    []byte
}

func (t *zTable) text(s string) *zTable { t.vals = append(t.vals, zValue{kind: 't', s: s}); return t }
func (t *zTable) int(i int64) *zTable   { t.vals = append(t.vals, zValue{kind: 'i', i: i}); return t }
func (t *zTable) null() *zTable         { t.vals = append(t.vals, zValue{kind: 'n'}); return t }
func (t *zTable) blob(b []byte) *zTable { t.vals = append(t.vals, zValue{kind: 'b', b: b}); return t }

func (t *zTable) texts(vals []string) *zTable {
	for _, v := range vals {
		t.text(v)
	}
	return t
}

// end ends a row; the values of a full batch are bound and run at once.
func (t *zTable) end() error {
	t.n++
	for len(t.vals) < t.n*t.cols {
		t.text("")
	}
	t.vals = t.vals[:t.n*t.cols]
	if t.n < floorBatch {
		return nil
	}
	if t.full == nil {
		var err error
		if t.full, err = t.c.Prepare(t.query(floorBatch)); err != nil {
			return err
		}
	}
	return t.exec(t.full)
}

func (t *zTable) exec(st *sqlite.Stmt) error {
	for i, v := range t.vals {
		switch v.kind {
		case 't':
			st.BindText(i+1, v.s)
		case 'i':
			st.BindInt64(i+1, v.i)
		case 'b':
			st.BindBytes(i+1, v.b)
		default:
			st.BindNull(i + 1)
		}
	}
	clear(t.vals)
	t.vals, t.n = t.vals[:0], 0
	if _, err := st.Step(); err != nil {
		return fmt.Errorf("insert into %s: %w", t.name, err)
	}
	return st.Reset()
}

func (t *zTable) flush() error {
	if t.n == 0 {
		return nil
	}
	st, _, err := t.c.PrepareTransient(t.query(t.n))
	if err != nil {
		return err
	}
	defer st.Finalize()
	return t.exec(st)
}

func (t *zTable) query(rows int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", t.cols), ", ") + ")"
	return "INSERT INTO " + t.name + " VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}
