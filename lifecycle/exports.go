package lifecycle

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/internal/sqlrows"
)

// Export event kinds besides export's provisioning kinds.
const (
	ExportHeld     = "export.held"     // a person held back that was not, or not so, at the last export
	ExportReleased = "export.released" // a person the last export held back no longer is
	ExportFormula  = "export.formula"
	// ExportEmailReused: email_reuse: warn let through an email an
	// employee removed within email_reuse_days had.
	ExportEmailReused = "export.email_reused"
	Migrated          = "migrate.helloid"
)

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanCurrent reads rows of currentQuery (or currentOneQuery) and calls fn
// per person. contracts is reused between calls.
func scanCurrent(rows *sql.Rows, fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	defer rows.Close()
	var cur, next model.Person
	var blocked, nextBlocked, have bool
	var contracts []model.Contract
	// A person without contracts has NULL contract columns (LEFT JOIN).
	var key sql.NullString
	cfields := make([]sql.NullString, len(model.ContractFields))
	dest := appendPtrs([]any{&next.EmployeeNumber}, next.FieldPtrs())
	dest = append(dest, &nextBlocked, &key)
	for i := range cfields {
		dest = append(dest, &cfields[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("read state: %w", err)
		}
		if !have || next.EmployeeNumber != cur.EmployeeNumber {
			if have {
				if err := fn(&cur, blocked, contracts); err != nil {
					return err
				}
			}
			cur, blocked, have, contracts = next, nextBlocked, true, contracts[:0]
		}
		if key.Valid {
			c := model.Contract{EmployeeNumber: cur.EmployeeNumber, Key: key.String}
			for i, f := range c.FieldPtrs() {
				*f = cfields[i].String
			}
			contracts = append(contracts, c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	if have {
		return fn(&cur, blocked, contracts)
	}
	return nil
}

// currentQuery reads the current persons joined with their contracts, in
// employee-number order, a column per field.
var currentQuery = "SELECT " + prefixed("p.", append([]string{model.KeyField}, model.PersonFields...)) + ", p.blocked, " +
	prefixed("c.", append([]string{"key"}, model.ContractFields...)) + `
		FROM persons p LEFT JOIN contracts c ON c.employee_number = p.employee_number
		WHERE p.left_at IS NULL ORDER BY p.employee_number, c.key`

// currentOneQuery is currentQuery for one person.
var currentOneQuery = strings.Replace(currentQuery, "WHERE p.left_at IS NULL", "WHERE p.left_at IS NULL AND p.employee_number = ?", 1)

// Packed fields: a person's fields, or a contract's key and fields, as one
// text joined by unitSep. Reading a person as three columns and each
// contract as two, instead of a row of nineteen columns per contract, is
// what makes the export's full read cheap (each column is several calls
// into SQLite). A value holding the separator cannot be split back: the
// separator count shows it, and that person is read column by column.
const unitSep = "\x1f"

var (
	packedPersons = "SELECT " + model.KeyField + ", blocked, " + concatSQL(model.PersonFields) +
		" FROM persons WHERE left_at IS NULL ORDER BY " + model.KeyField
	packedContracts = "SELECT " + model.KeyField + ", " + concatSQL(append([]string{"key"}, model.ContractFields...)) +
		" FROM contracts ORDER BY " + model.KeyField + ", key"
)

func concatSQL(cols []string) string { return "concat_ws(char(31), " + strings.Join(cols, ", ") + ")" }

// current calls fn for every current (not left) person with its
// contracts (by key), in employee-number order, reading q: persons and
// contracts as two ordered scans merged here. Only one person is held at
// a time; contracts is reused between calls. q must run a query while
// others are open (a transaction): a person whose values hold the
// separator is read again.
func current(ctx context.Context, q queryer, fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	persons, err := q.QueryContext(ctx, packedPersons)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	defer persons.Close()
	crows, err := q.QueryContext(ctx, packedContracts)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	defer crows.Close()
	var (
		p            model.Person
		blocked      bool
		personText   string
		contracts    []model.Contract
		personPtrs   = p.FieldPtrs()
		c            model.Contract // filled through contractPtrs, then copied
		contractPtrs = c.FieldPtrs()
		// the contract read ahead
		cEmp, cText string
		cHave       = true
	)
	nextContract := func() error {
		if !crows.Next() {
			cHave = false
			return crows.Err()
		}
		return crows.Scan(&cEmp, &cText)
	}
	if err := nextContract(); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	for persons.Next() {
		if err := persons.Scan(&p.EmployeeNumber, &blocked, &personText); err != nil {
			return fmt.Errorf("read state: %w", err)
		}
		emp := p.EmployeeNumber
		// Contracts of persons who left come between: skip them.
		for cHave && cEmp < emp {
			if err := nextContract(); err != nil {
				return fmt.Errorf("read state: %w", err)
			}
		}
		ok := strings.Count(personText, unitSep) == len(personPtrs)-1
		for _, f := range personPtrs {
			*f, personText, _ = strings.Cut(personText, unitSep)
		}
		contracts = contracts[:0]
		for cHave && cEmp == emp {
			ok = ok && strings.Count(cText, unitSep) == len(model.ContractFields)
			c.EmployeeNumber = emp
			rec := cText
			c.Key, rec, _ = strings.Cut(rec, unitSep)
			for _, f := range contractPtrs {
				*f, rec, _ = strings.Cut(rec, unitSep)
			}
			contracts = append(contracts, c)
			if err := nextContract(); err != nil {
				return fmt.Errorf("read state: %w", err)
			}
		}
		if !ok {
			one, err := q.QueryContext(ctx, currentOneQuery, emp)
			if err != nil {
				return fmt.Errorf("read state: %w", err)
			}
			if err := scanCurrent(one, fn); err != nil {
				return err
			}
			continue
		}
		if !slices.IsSortedFunc(contracts, byKey) {
			slices.SortFunc(contracts, byKey)
		}
		if err := fn(&p, blocked, contracts); err != nil {
			return err
		}
	}
	if err := persons.Err(); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	return nil
}

func byKey(a, b model.Contract) int { return strings.Compare(a.Key, b.Key) }

func prefixed(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}

// ExportReader reads the state and the last export side by side for an
// export, in one read transaction on a connection of its own: a snapshot
// that an export's own write transaction (BeginExport) does not disturb,
// and that holds several statements open at once.
type ExportReader struct {
	db      *sql.DB
	tx      *sql.Tx
	ctx     context.Context
	ID      string // the last export's id ("" before the first)
	last    *sql.Rows
	person  *sql.Stmt
	started bool
}

// ReadExport opens an ExportReader; Close it.
func (s *Store) ReadExport(ctx context.Context) (_ *ExportReader, err error) {
	db, err := sql.Open("sqlite", s.path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(1)
	r := &ExportReader{db: db, ctx: ctx}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if r.tx, err = db.BeginTx(ctx, nil); err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	err = r.tx.QueryRowContext(ctx, `SELECT id FROM exports ORDER BY time DESC, rowid DESC LIMIT 1`).Scan(&r.ID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	if r.person, err = r.tx.PrepareContext(ctx, `SELECT row, roles FROM exported_persons WHERE employee_number = ?`); err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	return r, nil
}

// Current is Store.Current in the reader's snapshot.
func (r *ExportReader) Current(fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	return current(r.ctx, r.tx, fn)
}

// Next returns the next person of the last export in employee-number
// order with the hash of its stored rows (empty when stored by a version
// that kept none); ok is false at the end.
func (r *ExportReader) Next() (emp string, hash []byte, ok bool, err error) {
	if !r.started {
		r.started = true
		if r.last, err = r.tx.QueryContext(r.ctx, `SELECT employee_number, hash FROM exported_persons ORDER BY employee_number`); err != nil {
			return "", nil, false, fmt.Errorf("read last export: %w", err)
		}
	}
	if r.last == nil {
		return "", nil, false, nil
	}
	if !r.last.Next() {
		err := r.last.Err()
		r.last.Close()
		r.last = nil
		if err != nil {
			return "", nil, false, fmt.Errorf("read last export: %w", err)
		}
		return "", nil, false, nil
	}
	if err := r.last.Scan(&emp, &hash); err != nil {
		return "", nil, false, fmt.Errorf("read last export: %w", err)
	}
	return emp, hash, true, nil
}

// Rows returns the stored rows of emp in the last export: its person row
// and its role rows, as ExportWriter.Put stored them.
func (r *ExportReader) Rows(emp string) (person string, roles []string, err error) {
	var joined string
	if err := r.person.QueryRowContext(r.ctx, emp).Scan(&person, &joined); err != nil {
		return "", nil, fmt.Errorf("read last export of %s: %w", emp, err)
	}
	if joined != "" {
		roles = strings.Split(joined, RoleSep)
	}
	return person, roles, nil
}

// Close ends the read transaction and closes its connection.
func (r *ExportReader) Close() error {
	if r.last != nil {
		r.last.Close()
	}
	if r.tx != nil {
		r.tx.Rollback()
	}
	return r.db.Close()
}

// ExportWriter records an export as the new last export, in one write
// transaction opened before the export is computed and committed after its
// files are in place: the changed rows and the events are written as they
// are found, in batches, so neither is held in memory.
type ExportWriter struct {
	ctx       context.Context
	db        *sql.DB
	cacheSize int // the connection's own, restored after the export
	tx        *sql.Tx
	runID     int64
	t         string
	actor     string
	persons   *batcher
	events    *batcher
	details   []byte // scratch for encoding an event's details
	delPerson *sql.Stmt
}

// BeginExport opens an ExportWriter; Commit or Rollback it.
func (s *Store) BeginExport(ctx context.Context, runID int64) (_ *ExportWriter, err error) {
	w := &ExportWriter{ctx: ctx, runID: runID, t: now(), db: s.db, actor: Actor(),
		persons: newBatcher("exported_persons", []string{"employee_number", "row", "roles", "hash"}, nil,
			"ON CONFLICT (employee_number) DO UPDATE SET row = excluded.row, roles = excluded.roles, hash = excluded.hash"),
	}
	w.events = newBatcher("events", eventCols, []any{w.t, w.runID, w.actor}, "")
	// The export writes its rows and events once, mostly appending: a
	// small page cache costs it nothing, where the connection's larger
	// one would fill with written pages (at 64 MB, about 100 MB of the
	// first export's peak memory at 100k persons).
	if err := s.db.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&w.cacheSize); err != nil {
		return nil, fmt.Errorf("record export: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, fmt.Sprintf(`PRAGMA cache_size = %d`, exportCacheKiB)); err != nil {
		return nil, fmt.Errorf("record export: %w", err)
	}
	if w.tx, err = s.db.BeginTx(ctx, nil); err != nil {
		w.restoreCache()
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	if w.delPerson, err = w.tx.PrepareContext(ctx, `DELETE FROM exported_persons WHERE employee_number = ?`); err != nil {
		w.Rollback()
		return nil, fmt.Errorf("record export: %w", err)
	}
	return w, nil
}

// exportCacheKiB is the page cache of an export's write transaction, as
// PRAGMA cache_size takes it (negative: KiB).
const exportCacheKiB = -8192

func (w *ExportWriter) restoreCache() {
	if w.cacheSize != 0 {
		w.db.Exec(fmt.Sprintf(`PRAGMA cache_size = %d`, w.cacheSize))
		w.cacheSize = 0
	}
}

// batcher inserts rows batchRows at a time through one statement
// prepared once: a statement prepared on a transaction stays listed on it
// until it ends, so preparing one per batch (insertEach) would grow with
// the export. The first len(fixed) columns take the same values in every
// row (an event's time, run and actor): they are bound once per statement
// as ?1, ?2, ..., so a row binds only its own values (each bound value
// costs the driver a C allocation and a copy).
type batcher struct {
	table, suffix string
	cols          []string
	fixed         []any
	full          *sql.Stmt
	args          []any // fixed, then each queued row's values
	n             int
	free          chan []any // slices given back (take, give); nil: none kept
}

func newBatcher(table string, cols []string, fixed []any, suffix string) *batcher {
	return &batcher{table: table, cols: cols, fixed: fixed, suffix: suffix, args: slices.Clone(fixed)}
}

func (b *batcher) query(rows int) string {
	vals := make([]string, len(b.cols))
	for i := range vals {
		vals[i] = "?"
		if i < len(b.fixed) {
			vals[i] = fmt.Sprintf("?%d", i+1)
		}
	}
	one := "(" + strings.Join(vals, ", ") + ")"
	// OR FAIL: a multi-row INSERT that may abort part-way keeps a
	// statement journal, a copy of every existing page it changes, so it
	// can undo its own rows; at 100k persons a first export wrote 250 MB
	// of them to a temporary file. Undoing one statement buys nothing
	// here: any failed write fails the export, which rolls back the whole
	// transaction.
	return "INSERT OR FAIL INTO " + b.table + " (" + strings.Join(b.cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ") + " " + b.suffix
}

// add queues one row (its values appended to b.args by the caller) and
// writes a full batch.
func (b *batcher) add(ctx context.Context, tx *sql.Tx) error {
	if b.n++; b.n < batchRows {
		return nil
	}
	return b.flush(ctx, tx)
}

// flush writes the rows queued.
func (b *batcher) flush(ctx context.Context, tx *sql.Tx) error {
	if b.n == 0 {
		return nil
	}
	if err := b.exec(ctx, tx, b.args, b.n); err != nil {
		return err
	}
	b.reset()
	return nil
}

// exec inserts n rows whose values are args (the fixed ones first): a
// full batch through the statement prepared once, a shorter one through
// its own.
func (b *batcher) exec(ctx context.Context, tx *sql.Tx, args []any, n int) error {
	var err error
	if n == batchRows {
		if b.full == nil {
			if b.full, err = tx.PrepareContext(ctx, b.query(batchRows)); err != nil {
				return fmt.Errorf("prepare insert into %s: %w", b.table, err)
			}
		}
		_, err = b.full.ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, b.query(n), args...)
	}
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	return nil
}

// take hands the queued rows over, their values and how many, to be
// written elsewhere (exec, then give); b starts a new batch in a slice
// given back, or a new one.
func (b *batcher) take() ([]any, int) {
	args, n := b.args, b.n
	select {
	case b.args = <-b.free:
	default:
		b.args = make([]any, 0, cap(args))
	}
	b.args, b.n = append(b.args, b.fixed...), 0
	return args, n
}

// give returns a slice take handed over, once written, for reuse: a slice
// per batch was a gigabyte of garbage at 1M persons.
func (b *batcher) give(args []any) {
	clear(args)
	select {
	case b.free <- args[:0]:
	default:
	}
}

// close releases the prepared statement (a transaction's statements
// also go when it ends).
func (b *batcher) close() {
	if b.full != nil {
		b.full.Close()
	}
}

func (b *batcher) reset() {
	clear(b.args[len(b.fixed):])
	b.args, b.n = b.args[:len(b.fixed)], 0
}

// RoleSep joins a person's encoded role rows in the store: a control
// character that neither encoding of a row (quoted values, or the JSON
// objects of earlier versions) leaves unescaped.
const RoleSep = "\x1e"

// JoinRoles joins encoded role rows as Put takes them.
func JoinRoles(roles []string) string { return strings.Join(roles, RoleSep) }

// Put stores emp's rows in the last export, replacing any it had: its
// encoded person row, its encoded role rows in order joined by RoleSep
// (JoinRoles), and the hash of all of them.
func (w *ExportWriter) Put(emp, person, roles string, hash []byte) error {
	w.persons.args = append(w.persons.args, emp, person, roles, hash)
	return w.persons.add(w.ctx, w.tx)
}

// Drop removes emp from the last export.
// Drop takes emp out of the last export; email is the address its account
// had, which Spend Cloud keeps with the deactivated employee.
func (w *ExportWriter) Drop(emp, email string) error {
	if _, err := w.delPerson.ExecContext(w.ctx, emp); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	if email == "" {
		return nil
	}
	if _, err := w.tx.ExecContext(w.ctx, `INSERT INTO removed_emails (email, employee_number, time) VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET time = excluded.time`, strings.ToLower(email), emp, w.t); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	return nil
}

// RemovedEmails maps the (lowercase) emails of accounts the export removed
// at or after since to the employee number that had it, the latest first.
func (s *Store) RemovedEmails(ctx context.Context, since time.Time) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT email, employee_number FROM removed_emails WHERE time >= ? ORDER BY time`,
		since.UTC().Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("read removed emails: %w", err)
	}
	out := map[string]string{}
	err = sqlrows.Each(rows, func() error {
		var email, emp string
		if err := rows.Scan(&email, &emp); err != nil {
			return err
		}
		out[email] = emp
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read removed emails: %w", err)
	}
	return out, nil
}

// WithoutRole counts the persons of the last export that have no role row:
// Spend Cloud imports them, but they cannot log in.
func (s *Store) WithoutRole(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM exported_persons WHERE roles = ''`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count persons without a role: %w", err)
	}
	return n, nil
}

// Clear empties the last export (migrate replaces it whole).
func (w *ExportWriter) Clear() error {
	if _, err := w.tx.ExecContext(w.ctx, `DELETE FROM exported_persons`); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	return nil
}

// Event records an event of the export.
func (w *ExportWriter) Event(e Event) error {
	var err error
	if w.details, err = EncodeDetails(w.details, e.Details); err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return w.EncodedEvent(e.Source, e.Kind, e.EmployeeNumber, string(w.details))
}

// EncodedEvent records an event whose details EncodeDetails encoded (the
// export encodes them while another goroutine writes).
func (w *ExportWriter) EncodedEvent(source, kind, emp, details string) error {
	w.events.args = append(w.events.args, source, kind, emp, details)
	return w.events.add(w.ctx, w.tx)
}

// ExportRecord is what an export adds besides its rows.
type ExportRecord struct {
	ID, Date       string
	Origin         string // export or migrate
	Persons, Roles int
	Held           []HeldEntry // the persons this export held back
	Manifest       any         // stored as JSON
	Events         []Event     // recorded after those given to Event
	Renamed        []string    // persons whose rename allowance the export used
}

// Commit records the export as the last export, with its events, and
// commits the transaction.
func (w *ExportWriter) Commit(rec ExportRecord) error {
	defer w.Rollback() // only restores the cache after Commit
	for _, e := range rec.Events {
		if err := w.Event(e); err != nil {
			return err
		}
	}
	for _, b := range []*batcher{w.persons, w.events} {
		if err := b.flush(w.ctx, w.tx); err != nil {
			return err
		}
	}
	tx := w.tx
	if _, err := tx.ExecContext(w.ctx, `INSERT INTO exports (id, run_id, time, date, origin, persons, roles, held, manifest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.ID, w.runID, w.t, rec.Date, rec.Origin, rec.Persons, rec.Roles,
		len(rec.Held), mustJSON(rec.Manifest)); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	if _, err := tx.ExecContext(w.ctx, `DELETE FROM export_held`); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	if err := insertEach(tx, "export_held", []string{"employee_number", "details"}, "ON CONFLICT DO NOTHING", len(rec.Held),
		func(i int, args []any) ([]any, error) {
			return append(args, rec.Held[i].EmployeeNumber, rec.Held[i].Details), nil
		}); err != nil {
		return err
	}
	if err := useAllowances(tx, rec.Renamed); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rollback abandons the export: the last export stays as it was.
func (w *ExportWriter) Rollback() {
	if w.tx != nil {
		w.tx.Rollback()
	}
	w.restoreCache()
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // maps of strings always encode
	}
	return string(b)
}

// DomainCount is an email domain of current persons and how many use it.
type DomainCount struct {
	Domain  string
	Persons int
}

// EmailDomains counts current persons per email domain, by domain.
func (s *Store) EmailDomains(ctx context.Context) ([]DomainCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lower(substr(email, instr(email, '@') + 1)) AS d, COUNT(*)
		FROM persons WHERE left_at IS NULL AND instr(email, '@') > 0 GROUP BY d ORDER BY d`)
	if err != nil {
		return nil, fmt.Errorf("count domains: %w", err)
	}
	var out []DomainCount
	err = sqlrows.Each(rows, func() error {
		var d DomainCount
		if err := rows.Scan(&d.Domain, &d.Persons); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// Migrated reports the id of an earlier migrate's export, or "".
func (s *Store) Migrated(ctx context.Context) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM exports WHERE origin = 'migrate' ORDER BY time DESC LIMIT 1`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up earlier migrate: %w", err)
	}
	return id, nil
}

// HeldEntry is one reason the last export held a person back, its details
// as canonical JSON.
type HeldEntry struct{ EmployeeNumber, Details string }

// LastHeld returns what the last export held back.
func (s *Store) LastHeld(ctx context.Context) (map[HeldEntry]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT employee_number, details FROM export_held`)
	if err != nil {
		return nil, fmt.Errorf("read held persons: %w", err)
	}
	out := map[HeldEntry]bool{}
	err = sqlrows.Each(rows, func() error {
		var h HeldEntry
		if err := rows.Scan(&h.EmployeeNumber, &h.Details); err != nil {
			return err
		}
		out[h] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read held persons: %w", err)
	}
	return out, nil
}
