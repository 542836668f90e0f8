package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"zombiezen.com/go/sqlite"
)

// SchemaVersion is the database layout this binary writes: the base schema
// (version 1) plus every step in migrations.
var SchemaVersion = 1 + len(migrations)

// Sentinel errors callers map to exit codes.
var (
	ErrNoDatabase  = errors.New("database does not exist (run spendsync init)")
	ErrNewerSchema = errors.New("database was written by a newer spendsync")
)

// Store is an open spendsync database.
type Store struct {
	conn chan *sqlite.Conn // the one connection, while no goroutine holds it (take, put)
	path string

	closed    chan struct{} // closed by Close: take fails from then on
	closeOnce sync.Once
	closeErr  error
}

// Mode says how Open treats the database file.
type Mode int

const (
	// Existing opens a database that must exist, for reading and writing.
	Existing Mode = iota
	// Create is Existing, but a missing database (and its folder) is
	// created first, 0600 in 0700.
	Create
	// ReadOnly opens a database that must exist and never writes to it.
	ReadOnly
)

// Open opens the database at path as mode says. ReadOnly
// connections never write, so readers can run beside a writer (WAL).
func Open(path string, mode Mode) (*Store, error) {
	create, readOnly := mode == Create, mode == ReadOnly
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%s: %w", path, ErrNoDatabase)
		}
		if err := atomicfile.MkdirPrivate(filepath.Dir(path)); err != nil {
			return nil, err
		}
		// Create the file ourselves so it is 0600 from the first byte;
		// SQLite gives its -wal and -shm files the same mode. On Windows
		// it gets the private DACL, and the others inherit the folder's.
		f, err := atomicfile.CreatePrivate(path)
		if err != nil {
			return nil, fmt.Errorf("create database: %w", err)
		}
		f.Close()
	} else if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// A 16 MB page cache: an ingest's reads are single scans and keyed
	// lookups, and its writes append in key order; the 64 MB cache it had
	// filled with written pages, a fifth of a 100k first ingest's peak
	// memory, for no measurable time.
	pragmas := []string{"journal_mode = WAL", "synchronous = FULL", "foreign_keys = 1", "cache_size = -16384"}
	if readOnly {
		pragmas = []string{"query_only = 1"}
	}
	c, err := openConn(path, pragmas...)
	if err != nil {
		return nil, err
	}
	s := &Store{conn: make(chan *sqlite.Conn, 1), closed: make(chan struct{}), path: path}
	s.conn <- c
	if err := s.migrate(readOnly); err != nil {
		s.Close()
		return nil, err
	}
	if !readOnly {
		if err := protectSidecars(path); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the database.
// Close closes the database, once the goroutine holding its connection,
// if any, gives it back. Safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		c, _ := s.take(context.Background())
		close(s.closed)
		s.closeErr = c.Close()
	})
	return s.closeErr
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

var schema = []string{
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE runs (
		id INTEGER PRIMARY KEY, command TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
		actor TEXT NOT NULL, exit_code INTEGER, summary TEXT NOT NULL DEFAULT '{}')`,
	`CREATE TABLE persons (
		employee_number TEXT PRIMARY KEY, source TEXT NOT NULL,
		first_name TEXT NOT NULL, prefix TEXT NOT NULL, last_name TEXT NOT NULL,
		partner_prefix TEXT NOT NULL, partner_last_name TEXT NOT NULL, naming_convention TEXT NOT NULL,
		gender TEXT NOT NULL, email TEXT NOT NULL, username TEXT NOT NULL,
		blocked INTEGER NOT NULL DEFAULT 0, block_reason TEXT NOT NULL DEFAULT '',
		left_at TEXT, updated TEXT NOT NULL)`,
	`CREATE TABLE contracts (
		employee_number TEXT NOT NULL, key TEXT NOT NULL, contract_id TEXT NOT NULL,
		start_date TEXT NOT NULL, end_date TEXT NOT NULL, ou_code TEXT NOT NULL, ou_name TEXT NOT NULL,
		function_code TEXT NOT NULL, function_name TEXT NOT NULL,
		PRIMARY KEY (employee_number, key))`,
	`CREATE TABLE events (
		id INTEGER PRIMARY KEY, time TEXT NOT NULL, run_id INTEGER, actor TEXT NOT NULL,
		source TEXT NOT NULL, kind TEXT NOT NULL, employee_number TEXT NOT NULL, details TEXT NOT NULL)`,
	`CREATE INDEX events_employee ON events (employee_number, id)`,
	`CREATE TABLE rejects (
		id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, time TEXT NOT NULL, source TEXT NOT NULL,
		file TEXT NOT NULL, line INTEGER NOT NULL, col TEXT NOT NULL, reason TEXT NOT NULL,
		raw TEXT NOT NULL, employee_number TEXT NOT NULL)`,
	`CREATE INDEX rejects_run ON rejects (run_id)`,
	// The last export: what Spend Cloud was last given, by canonical field.
	`CREATE TABLE exports (
		id TEXT PRIMARY KEY, run_id INTEGER, time TEXT NOT NULL, date TEXT NOT NULL, origin TEXT NOT NULL,
		persons INTEGER NOT NULL, roles INTEGER NOT NULL, held INTEGER NOT NULL, manifest TEXT NOT NULL)`,
	`CREATE TABLE exported_persons (employee_number TEXT PRIMARY KEY, row TEXT NOT NULL)`,
	`CREATE TABLE exported_roles (employee_number TEXT NOT NULL, row TEXT NOT NULL)`,
	`CREATE INDEX exported_roles_employee ON exported_roles (employee_number)`,
	`CREATE TABLE deliveries (
		id INTEGER PRIMARY KEY, run_id INTEGER, time TEXT NOT NULL, export_id TEXT NOT NULL, target TEXT NOT NULL,
		ok INTEGER NOT NULL, details TEXT NOT NULL)`,
	`CREATE INDEX deliveries_target ON deliveries (target, ok, id)`,
}

// migrations upgrade version i+1 to i+2. Append only: released databases
// hold the earlier versions.
var migrations = [][]string{
	// 2: events --kind and the metrics read events by kind.
	{`CREATE INDEX events_kind ON events (kind, id)`},
	// 3: unchanged sources are recognised without a diff (see fastpath.go).
	{`CREATE TABLE source_state (source TEXT PRIMARY KEY, digest TEXT NOT NULL, generation INTEGER NOT NULL,
		run_id INTEGER NOT NULL, rows INTEGER NOT NULL)`,
		`INSERT INTO meta (key, value) VALUES ('generation', '0')`},
	// 4: key-addressed tables without a rowid (one B-tree instead of a
	// table and its primary-key index), and the set of persons the last
	// export held back, so export.held is recorded when that set changes.
	{`CREATE TABLE persons_v4 (
		employee_number TEXT PRIMARY KEY, source TEXT NOT NULL,
		first_name TEXT NOT NULL, prefix TEXT NOT NULL, last_name TEXT NOT NULL,
		partner_prefix TEXT NOT NULL, partner_last_name TEXT NOT NULL, naming_convention TEXT NOT NULL,
		gender TEXT NOT NULL, email TEXT NOT NULL, username TEXT NOT NULL,
		blocked INTEGER NOT NULL DEFAULT 0, block_reason TEXT NOT NULL DEFAULT '',
		left_at TEXT, updated TEXT NOT NULL) WITHOUT ROWID`,
		`INSERT INTO persons_v4 SELECT employee_number, source, first_name, prefix, last_name, partner_prefix,
			partner_last_name, naming_convention, gender, email, username, blocked, block_reason, left_at, updated FROM persons`,
		`DROP TABLE persons`,
		`ALTER TABLE persons_v4 RENAME TO persons`,
		`CREATE TABLE contracts_v4 (
		employee_number TEXT NOT NULL, key TEXT NOT NULL, contract_id TEXT NOT NULL,
		start_date TEXT NOT NULL, end_date TEXT NOT NULL, ou_code TEXT NOT NULL, ou_name TEXT NOT NULL,
		function_code TEXT NOT NULL, function_name TEXT NOT NULL,
		PRIMARY KEY (employee_number, key)) WITHOUT ROWID`,
		`INSERT INTO contracts_v4 SELECT employee_number, key, contract_id, start_date, end_date, ou_code, ou_name,
			function_code, function_name FROM contracts`,
		`DROP TABLE contracts`,
		`ALTER TABLE contracts_v4 RENAME TO contracts`,
		`CREATE TABLE exported_persons_v4 (employee_number TEXT PRIMARY KEY, row TEXT NOT NULL) WITHOUT ROWID`,
		`INSERT INTO exported_persons_v4 SELECT employee_number, row FROM exported_persons`,
		`DROP TABLE exported_persons`,
		`ALTER TABLE exported_persons_v4 RENAME TO exported_persons`,
		`CREATE TABLE export_held (employee_number TEXT NOT NULL, details TEXT NOT NULL, PRIMARY KEY (employee_number, details)) WITHOUT ROWID`},
	// 5: what each source last supplied per person, as hashes, so an
	// ingest compares hashes and fetches only the persons that changed
	// (see hashes.go). Empty at first: a person without a row is compared
	// in full once.
	{`CREATE TABLE source_hashes (source TEXT NOT NULL, employee_number TEXT NOT NULL,
		person BLOB, contracts BLOB, PRIMARY KEY (source, employee_number)) WITHOUT ROWID`},
	// 6: a hash of each exported person's rows (person row and roles), so
	// an export recognises an unchanged person without reading its rows
	// back. Rows stored before have none (empty): their next export
	// compares them field by field and stores the hash.
	{`ALTER TABLE exported_persons ADD COLUMN hash BLOB NOT NULL DEFAULT x''`},
	// 7: a person's exported role rows sit in its exported_persons row
	// (roles: the encoded rows in order, joined by RoleSep), so an export
	// writes and reads one row per person instead of one per role plus an
	// index entry. The rows and their hashes stay as they were: the next
	// export finds them unchanged.
	{`ALTER TABLE exported_persons ADD COLUMN roles TEXT NOT NULL DEFAULT ''`,
		`UPDATE exported_persons SET roles = coalesce((SELECT group_concat(r.row, char(30) ORDER BY r.rowid)
			FROM exported_roles r WHERE r.employee_number = exported_persons.employee_number), '')`,
		`DROP TABLE exported_roles`},
	// 8: before this version a named ingest of a primary source (ingest
	// afas) overwrote the fields a provider fills, while the provider's
	// recorded hashes still said it had nothing new: those fields never
	// came back. Every source compares every person in full once, so the
	// next ingest restores them.
	{`DELETE FROM source_hashes`, `DELETE FROM source_state`},
	// 9: person allow-rename's leave for one rename, until an export uses
	// it (renames.go).
	{`CREATE TABLE IF NOT EXISTS rename_allowed (employee_number TEXT PRIMARY KEY, reason TEXT NOT NULL, actor TEXT NOT NULL,
		time TEXT NOT NULL, run_id INTEGER) WITHOUT ROWID`},
	// 10: the emails of accounts the export removed, with when: Spend
	// Cloud refuses an email a deactivated employee still holds.
	{`CREATE TABLE IF NOT EXISTS removed_emails (email TEXT NOT NULL, employee_number TEXT NOT NULL, time TEXT NOT NULL,
		PRIMARY KEY (email, employee_number)) WITHOUT ROWID`},
	// 11: each person's state at the SCIM service (target.scim, connect.go):
	// the user found, its active flag as last set, the last failure.
	{`CREATE TABLE IF NOT EXISTS connect_state (employee_number TEXT PRIMARY KEY, scim_id TEXT NOT NULL DEFAULT '',
		matched TEXT NOT NULL DEFAULT '', active INTEGER, synced TEXT NOT NULL DEFAULT '', suspended_at TEXT,
		error TEXT NOT NULL DEFAULT '', failures INTEGER NOT NULL DEFAULT 0, attempted TEXT) WITHOUT ROWID`},
	// 12: a copy of the index and of each source's hashes as a few large
	// blobs, which an ingest reads instead of 200k rows (indexcopy.go).
	// Empty at first: the next apply writes them.
	{`CREATE TABLE IF NOT EXISTS index_heads (name TEXT PRIMARY KEY, generation INTEGER NOT NULL, slot INTEGER NOT NULL,
		chunks INTEGER NOT NULL, entries INTEGER NOT NULL, owners TEXT NOT NULL) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS index_chunks (name TEXT NOT NULL, slot INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
		PRIMARY KEY (name, slot, seq))`},
	// 13: the persons whose exported inputs changed since the last export
	// (exportmarks.go), so the next export rebuilds only them.
	{`CREATE TABLE IF NOT EXISTS person_marks (employee_number TEXT PRIMARY KEY, changed INTEGER NOT NULL) WITHOUT ROWID`},
	// 14: a hash of each person's contract rows as read (Hashes.Raw), and
	// the seed each source's were made under, so an ingest drops the
	// unchanged rows of the contracts file before it checks them. Empty at
	// first: the next apply records them.
	{`ALTER TABLE source_hashes ADD COLUMN raw BLOB`,
		`CREATE TABLE IF NOT EXISTS source_seeds (source TEXT PRIMARY KEY, contracts BLOB NOT NULL) WITHOUT ROWID`},
	// 15: where each person's rows are in the last export's files, in
	// chunks (export/layout.go), so the next export copies the unchanged
	// persons' bytes from those files. Empty at first: the next export
	// that writes its rows records it.
	{`CREATE TABLE IF NOT EXISTS export_layout (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)`},
}

// migrate creates the schema in a new database, upgrades an older one in
// one transaction, and refuses a newer one.
func (s *Store) migrate(readOnly bool) error {
	var version int
	err := s.do(context.Background(), func(c *sqlite.Conn) error {
		_, err := first(c, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'`,
			func(st *sqlite.Stmt) { version = st.ColumnInt(0) })
		return err
	})
	if err != nil && !isNoTable(err) {
		return fmt.Errorf("read schema version of %s: %w", s.path, err)
	}
	switch {
	case version > SchemaVersion:
		return fmt.Errorf("%s has schema %d, this binary knows %d: %w", s.path, version, SchemaVersion, ErrNewerSchema)
	case version == SchemaVersion:
		return nil
	case readOnly && version == 0:
		return fmt.Errorf("%s: %w", s.path, ErrNoDatabase)
	case readOnly:
		return fmt.Errorf("%s has schema %d, this binary needs %d: run a writing command (ingest) once to upgrade it", s.path, version, SchemaVersion)
	}
	return s.tx(context.Background(), func(c *sqlite.Conn) error {
		if version == 0 {
			for _, stmt := range schema {
				if err := execOnce(c, stmt); err != nil {
					return fmt.Errorf("create schema: %w", err)
				}
			}
			version = 1
		}
		for v := version; v < SchemaVersion; v++ {
			for _, stmt := range migrations[v-1] {
				if err := execOnce(c, stmt); err != nil && !columnThere(stmt, err) {
					return fmt.Errorf("upgrade schema %d to %d: %w", v, v+1, err)
				}
			}
		}
		// An upgrade may change what the index copies hold a copy of: they
		// go, and the next apply writes them again.
		for _, stmt := range []string{`DELETE FROM index_heads`, `DELETE FROM index_chunks`} {
			if err := execOnce(c, stmt); err != nil {
				return fmt.Errorf("upgrade schema %d to %d: %w", version, SchemaVersion, err)
			}
		}
		return exec(c, `INSERT INTO meta (key, value) VALUES ('schema_version', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, SchemaVersion)
	})
}

// columnThere reports an ADD COLUMN that failed because the column is
// there: a step run again over its own result (as the CREATE TABLE IF
// NOT EXISTS steps may be) changes nothing.
func columnThere(stmt string, err error) bool {
	return strings.Contains(stmt, " ADD COLUMN ") && strings.Contains(err.Error(), "duplicate column name")
}

var actorOnce = sync.OnceValue(func() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
		if runtime.GOOS == "windows" {
			if i := strings.LastIndexByte(name, '\\'); i >= 0 {
				name = name[i+1:]
			}
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return name + "@" + host
})

// Actor is who runs this process: OS user@host.
func Actor() string { return actorOnce() }

func now() string { return time.Now().UTC().Format(time.RFC3339) }

// BeginRun records the start of a command and returns its run id.
func (s *Store) BeginRun(command string) (int64, error) {
	var id int64
	err := s.do(context.Background(), func(c *sqlite.Conn) error {
		if err := exec(c, `INSERT INTO runs (command, started, actor) VALUES (?, ?, ?)`, command, now(), Actor()); err != nil {
			return err
		}
		id = c.LastInsertRowID()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	return id, nil
}

// FinishRun records a command's end and exit code.
func (s *Store) FinishRun(id int64, exitCode int) error {
	err := s.exec(context.Background(), `UPDATE runs SET finished = ?, exit_code = ? WHERE id = ?`, now(), exitCode, id)
	if err != nil {
		return fmt.Errorf("record end of run %d: %w", id, err)
	}
	return nil
}

// DiscardRun removes the record of a run that did no work (a usage or
// configuration error found after the run began), so status keeps showing
// the last real run. A run that left any trace is kept.
func (s *Store) DiscardRun(id int64) error {
	err := s.exec(context.Background(), `DELETE FROM runs WHERE id = ?1
		AND NOT EXISTS (SELECT 1 FROM events WHERE run_id = ?1) AND NOT EXISTS (SELECT 1 FROM rejects WHERE run_id = ?1)
		AND NOT EXISTS (SELECT 1 FROM exports WHERE run_id = ?1) AND NOT EXISTS (SELECT 1 FROM deliveries WHERE run_id = ?1)
		AND NOT EXISTS (SELECT 1 FROM source_state WHERE run_id = ?1)`, id)
	if err != nil {
		return fmt.Errorf("discard record of run %d: %w", id, err)
	}
	return nil
}

// Summarize merges facts (encoded as a JSON object) into the run's
// summary, so each stage of a run adds its own part.
func (s *Store) Summarize(id int64, facts map[string]any) error {
	if id == 0 {
		return nil
	}
	err := s.exec(context.Background(), `UPDATE runs SET summary = json_patch(summary, ?) WHERE id = ?`, mustJSON(facts), id)
	if err != nil {
		return fmt.Errorf("record summary of run %d: %w", id, err)
	}
	return nil
}
