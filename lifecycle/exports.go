package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spendsync/spendsync/internal/model"
	"zombiezen.com/go/sqlite"
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

// scanCurrent reads rows of currentOneQuery and calls fn per person.
// contracts is reused between calls.
func scanCurrent(c *sqlite.Conn, emp string, fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	return scanPersons(c, currentOneQuery, fn, emp)
}

// scanPersons reads the rows of query (currentQuery's columns, in its
// order) and calls fn per person.
func scanPersons(c *sqlite.Conn, query string, fn func(p *model.Person, blocked bool, contracts []model.Contract) error, args ...any) error {
	var cur model.Person
	var blocked, have bool
	var contracts []model.Contract
	var fnErr error
	err := each(c, query, func(st *sqlite.Stmt) error {
		if emp := st.ColumnText(0); !have || emp != cur.EmployeeNumber {
			if have {
				if fnErr = fn(&cur, blocked, contracts); fnErr != nil {
					return fnErr
				}
			}
			cur.EmployeeNumber, contracts = emp, contracts[:0]
			i := readTexts(st, 1, cur.FieldPtrs())
			blocked, have = st.ColumnBool(i), true
		}
		// A person without contracts has NULL contract columns (LEFT JOIN).
		col := 2 + len(model.PersonFields)
		if st.ColumnIsNull(col) {
			return nil
		}
		c := model.Contract{EmployeeNumber: cur.EmployeeNumber, Key: st.ColumnText(col)}
		readTexts(st, col+1, c.FieldPtrs())
		contracts = append(contracts, c)
		return nil
	}, args...)
	if fnErr != nil {
		return fnErr // the caller's, with its own context
	}
	if err != nil {
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

// currentOneQuery is currentQuery for one person, currentOfQuery for the
// employee numbers of a JSON array.
var (
	currentOneQuery = strings.Replace(currentQuery, "WHERE p.left_at IS NULL", "WHERE p.left_at IS NULL AND p.employee_number = ?", 1)
	currentOfQuery  = strings.Replace(currentQuery, "WHERE p.left_at IS NULL",
		"WHERE p.left_at IS NULL AND p.employee_number IN (SELECT value FROM json_each(?))", 1)
)

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
// contracts (by key), in employee-number order, reading on c: persons and
// contracts as two ordered scans merged here. Only one person is held at
// a time; contracts is reused between calls. A person whose values hold
// the separator is read again, column by column.
func current(c *sqlite.Conn, fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	persons, err := c.Prepare(packedPersons)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	defer persons.Reset()
	crows, err := c.Prepare(packedContracts)
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	defer crows.Reset()
	var (
		p            model.Person
		contracts    []model.Contract
		personPtrs   = p.FieldPtrs()
		ct           model.Contract // filled through contractPtrs, then copied
		contractPtrs = ct.FieldPtrs()
		// the contract read ahead: its employee number's bytes (compared,
		// never copied) and its packed text
		cEmp  []byte
		cText string
	)
	cHave := true
	nextContract := func() error {
		ok, err := crows.Step()
		if cHave = ok; !ok {
			return err
		}
		cEmp = columnBytes(crows, 0, cEmp)
		cText = crows.ColumnText(1)
		return nil
	}
	if err := nextContract(); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	for {
		ok, err := persons.Step()
		if err != nil {
			return fmt.Errorf("read state: %w", err)
		}
		if !ok {
			return nil
		}
		emp := persons.ColumnText(0)
		blocked := persons.ColumnBool(1)
		personText := persons.ColumnText(2)
		p.EmployeeNumber = emp
		// Contracts of persons who left come between: skip them.
		for cHave && string(cEmp) < emp {
			if err := nextContract(); err != nil {
				return fmt.Errorf("read state: %w", err)
			}
		}
		ok = strings.Count(personText, unitSep) == len(personPtrs)-1
		for _, f := range personPtrs {
			*f, personText, _ = strings.Cut(personText, unitSep)
		}
		contracts = contracts[:0]
		for cHave && string(cEmp) == emp {
			ok = ok && strings.Count(cText, unitSep) == len(model.ContractFields)
			ct.EmployeeNumber = emp
			rec := cText
			ct.Key, rec, _ = strings.Cut(rec, unitSep)
			for _, f := range contractPtrs {
				*f, rec, _ = strings.Cut(rec, unitSep)
			}
			contracts = append(contracts, ct)
			if err := nextContract(); err != nil {
				return fmt.Errorf("read state: %w", err)
			}
		}
		if !ok {
			if err := scanCurrent(c, emp, fn); err != nil {
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
	conn       *sqlite.Conn
	ID         string // the last export's id ("" before the first)
	basis      *ExportBasis
	generation int64
	last       *sqlite.Stmt
	person     *sqlite.Stmt
	only       string // Only's persons, as a JSON array
	layout     *sqlite.Stmt
	chunk      []byte // Layout's, reused
	started    bool
	stored     []byte   // StoredRows' text, reused
	roles      []string // and its roles
}

// ReadExport opens an ExportReader; Close it.
func (s *Store) ReadExport(ctx context.Context) (_ *ExportReader, err error) {
	c, err := openConn(s.path, "query_only = 1")
	if err != nil {
		return nil, err
	}
	c.SetInterrupt(ctx.Done())
	r := &ExportReader{conn: c}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if err := exec(c, "BEGIN"); err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	// The first read starts the snapshot.
	if _, err := oneConn(c, `SELECT id FROM exports ORDER BY time DESC, rowid DESC LIMIT 1`, []any{&r.ID}); err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	if r.basis, err = readBasis(c); err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	if r.generation, err = generation(c); err != nil {
		return nil, err
	}
	if r.person, err = c.Prepare(`SELECT row, roles FROM exported_persons WHERE employee_number = ?`); err != nil {
		return nil, fmt.Errorf("read last export: %w", err)
	}
	return r, nil
}

// Current calls fn for every current (not left) person with its contracts
// (by key), in employee-number order, in the reader's snapshot. Only one
// person is held at a time; contracts is reused between calls.
func (r *ExportReader) Current(fn func(p *model.Person, blocked bool, contracts []model.Contract) error) error {
	return current(r.conn, fn)
}

// Next returns the next person of the last export in employee-number
// order with the hash of its stored rows (empty when stored by a version
// that kept none); ok is false at the end.
func (r *ExportReader) Next() (emp string, hash []byte, ok bool, err error) {
	if !r.started {
		r.started = true
		query := lastQuery
		if r.only != "" {
			query = lastOfQuery
		}
		if r.last, err = r.conn.Prepare(query); err != nil {
			return "", nil, false, fmt.Errorf("read last export: %w", err)
		}
		if r.only != "" {
			r.last.BindText(1, r.only)
		}
	}
	if r.last == nil {
		return "", nil, false, nil
	}
	if ok, err = r.last.Step(); !ok {
		r.last.Reset()
		r.last = nil
		if err != nil {
			return "", nil, false, fmt.Errorf("read last export: %w", err)
		}
		return "", nil, false, nil
	}
	// The hash is the caller's to keep: a copy of its own.
	return r.last.ColumnText(0), columnBytes(r.last, 1, nil), true, nil
}

// lastQuery reads the last export in employee-number order, lastOfQuery
// the persons of a JSON array in it (Only).
var (
	lastQuery   = `SELECT employee_number, hash, row, roles FROM exported_persons ORDER BY employee_number`
	lastOfQuery = strings.Replace(lastQuery, " ORDER BY", " WHERE employee_number IN (SELECT value FROM json_each(?)) ORDER BY", 1)
)

// Only has Next read only those of emps that are in the last export;
// call it before the first Next.
func (r *ExportReader) Only(emps []string) error {
	list, err := json.Marshal(emps)
	if err != nil {
		return err
	}
	r.only = string(list)
	return nil
}

// Layout starts a read of the last export's layout (export/layout.go) in
// the reader's snapshot: each call of the function it returns gives the
// next chunk, chunk 0 first, nil at the end. A chunk is valid until the
// next call. Starting again ends the read before.
func (r *ExportReader) Layout() func() ([]byte, error) {
	if r.layout != nil {
		r.layout.Reset()
	}
	ended := false
	return func() ([]byte, error) {
		var err error
		if ended {
			return nil, nil
		}
		if r.layout == nil {
			if r.layout, err = r.conn.Prepare(`SELECT data FROM export_layout ORDER BY seq`); err != nil {
				return nil, fmt.Errorf("read last export layout: %w", err)
			}
		}
		ok, err := r.layout.Step()
		if err != nil || !ok {
			r.layout.Reset()
			ended = true
			if err != nil {
				return nil, fmt.Errorf("read last export layout: %w", err)
			}
			return nil, nil
		}
		r.chunk = columnBytes(r.layout, 0, r.chunk[:0])
		return r.chunk, nil
	}
}

// Rows returns the stored rows of emp in the last export: its person row
// and its role rows, as ExportWriter.Put stored them.
func (r *ExportReader) Rows(emp string) (person string, roles []string, err error) {
	r.person.BindText(1, emp)
	ok, err := r.person.Step()
	if err == nil && !ok {
		err = errNoRow
	}
	if err != nil {
		r.person.Reset()
		return "", nil, fmt.Errorf("read last export of %s: %w", emp, err)
	}
	person, joined := r.person.ColumnText(0), r.person.ColumnText(1)
	if err := r.person.Reset(); err != nil {
		return "", nil, fmt.Errorf("read last export of %s: %w", emp, err)
	}
	if joined != "" {
		roles = strings.Split(joined, RoleSep)
	}
	return person, roles, nil
}

// Close ends the read transaction and closes its connection.
func (r *ExportReader) Close() error {
	rollback(r.conn)
	return r.conn.Close()
}

// ExportWriter records an export as the new last export, in one write
// transaction opened before the export is computed and committed after its
// files are in place: the changed rows and the events are written as they
// are found, by the store's background writer (writer.go) while the
// caller goes on walking, so neither is held in memory. It holds the
// store's connection until Commit or Rollback.
type ExportWriter struct {
	s         *Store
	conn      *sqlite.Conn
	cacheSize int    // the connection's own, restored after the export
	writeback func() // while the transaction runs (writeback.go)
	runID     int64
	t         string
	bg        *writer
	persons   *inserter
	events    *inserter
	drop      *inserter
	removed   *inserter
	clear     *inserter
	layout    *inserter
	relayout  *inserter // empties the layout before the first chunk
	laidOut   bool
	details   []byte // scratch for encoding an event's details
}

// BeginExport opens an ExportWriter; Commit or Rollback it.
func (s *Store) BeginExport(ctx context.Context, runID int64) (_ *ExportWriter, err error) {
	c, err := s.take(ctx)
	if err != nil {
		return nil, err
	}
	w := &ExportWriter{s: s, conn: c, runID: runID, t: now()}
	// The export writes its rows and events once, mostly appending: a
	// small page cache costs it nothing, where the connection's larger
	// one would fill with written pages (at 64 MB, about 100 MB of the
	// first export's peak memory at 100k persons).
	if _, err := oneConn(c, `PRAGMA cache_size`, []any{&w.cacheSize}); err != nil {
		s.put(c)
		return nil, fmt.Errorf("record export: %w", err)
	}
	if err := execOnce(c, fmt.Sprintf(`PRAGMA cache_size = %d`, exportCacheKiB)); err != nil {
		s.put(c)
		return nil, fmt.Errorf("record export: %w", err)
	}
	if err := exec(c, "BEGIN IMMEDIATE"); err != nil {
		w.restoreCache()
		s.put(c)
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	w.persons = newInserter(c, "exported_persons", []string{"employee_number", "row", "roles", "hash"}, nil,
		"ON CONFLICT (employee_number) DO UPDATE SET row = excluded.row, roles = excluded.roles, hash = excluded.hash")
	w.events = newEventInserter(c, w.t, runID)
	w.drop = newStatement(c, "record export", `DELETE FROM exported_persons WHERE employee_number = ?`, 1)
	w.removed = newStatement(c, "record export", `INSERT INTO removed_emails (email, employee_number, time) VALUES (?, ?, ?)
		ON CONFLICT DO UPDATE SET time = excluded.time`, 3)
	w.clear = newStatement(c, "record export", `DELETE FROM exported_persons`, 0)
	w.relayout = newStatement(c, "record export layout", `DELETE FROM export_layout`, 0)
	w.layout = newStatement(c, "record export layout", `INSERT INTO export_layout (seq, data) VALUES (?, ?)`, 2)
	w.bg = startWriter(ctx, w.persons, w.events, w.drop, w.removed, w.clear, w.relayout, w.layout)
	w.writeback = s.writeback()
	return w, nil
}

// exportCacheKiB is the page cache of an export's write transaction, as
// PRAGMA cache_size takes it (negative: KiB).
const exportCacheKiB = -8192

func (w *ExportWriter) restoreCache() {
	if w.cacheSize != 0 {
		execOnce(w.conn, fmt.Sprintf(`PRAGMA cache_size = %d`, w.cacheSize))
		w.cacheSize = 0
	}
}

// RoleSep joins a person's encoded role rows in the store: a control
// character that neither encoding of a row (quoted values, or the JSON
// objects of earlier versions) leaves unescaped.
const RoleSep = "\x1e"

// JoinRoles joins encoded role rows as Put takes them.
func JoinRoles(roles []string) string { return strings.Join(roles, RoleSep) }

// Put stores emp's rows in the last export, replacing any it had: its
// encoded person row, its encoded role rows in order joined by RoleSep
// (JoinRoles), and the hash of all of them. hash must not change after.
func (w *ExportWriter) Put(emp, person, roles string, hash []byte) error {
	return w.bg.add(w.persons, func(vals []value) []value {
		return append(vals, text(emp), text(person), text(roles), value{kind: kindBlob, b: hash})
	})
}

// Drop takes emp out of the last export; email is the address its account
// had, which Spend Cloud keeps with the deactivated employee.
func (w *ExportWriter) Drop(emp, email string) error {
	if err := w.bg.add(w.drop, func(vals []value) []value { return append(vals, text(emp)) }); err != nil {
		return err
	}
	if email == "" {
		return nil
	}
	return w.bg.add(w.removed, func(vals []value) []value {
		return append(vals, text(strings.ToLower(email)), text(emp), text(w.t))
	})
}

// RemovedEmails maps the (lowercase) emails of accounts the export removed
// at or after since to the employee number that had it, the latest first.
func (s *Store) RemovedEmails(ctx context.Context, since time.Time) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT email, employee_number FROM removed_emails WHERE time >= ? ORDER BY time`,
		since.UTC().Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("read removed emails: %w", err)
	}
	out := map[string]string{}
	err = eachRow(rows, func() error {
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
	if _, err := s.one(ctx, `SELECT COUNT(*) FROM exported_persons WHERE roles = ''`, []any{&n}); err != nil {
		return 0, fmt.Errorf("count persons without a role: %w", err)
	}
	return n, nil
}

// Layout stores chunk seq of the export's layout (export.Writer's
// RecordLayout), replacing the last export's: the first call empties it.
// data must not change after.
func (w *ExportWriter) Layout(seq int, data []byte) error {
	if !w.laidOut {
		w.laidOut = true
		if err := w.bg.add(w.relayout, func(vals []value) []value { return vals }); err != nil {
			return err
		}
	}
	return w.bg.add(w.layout, func(vals []value) []value {
		return append(vals, integer(int64(seq)), value{kind: kindBlob, b: data})
	})
}

// Clear empties the last export (migrate replaces it whole).
func (w *ExportWriter) Clear() error {
	return w.bg.add(w.clear, func(vals []value) []value { return vals })
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
	return w.bg.add(w.events, func(vals []value) []value {
		return append(vals, text(source), text(kind), text(emp), text(details))
	})
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
	// Basis is what the export was computed from, when its dump depends
	// on nothing else (exportbasis.go); nil records none.
	Basis *ExportBasis
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
	if err := w.bg.wait(); err != nil {
		return err
	}
	// The writer is done: the connection is this goroutine's again.
	c := w.conn
	if err := exec(c, `INSERT INTO exports (id, run_id, time, date, origin, persons, roles, held, manifest)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.ID, w.runID, w.t, rec.Date, rec.Origin, rec.Persons, rec.Roles,
		len(rec.Held), mustJSON(rec.Manifest)); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	if err := exec(c, `DELETE FROM export_held`); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	if err := insertEach(newInserter(c, "export_held", []string{"employee_number", "details"}, nil, "ON CONFLICT DO NOTHING"), len(rec.Held),
		func(vals []value, i int) []value {
			return append(vals, text(rec.Held[i].EmployeeNumber), text(rec.Held[i].Details))
		}); err != nil {
		return err
	}
	if err := useAllowances(c, rec.Renamed); err != nil {
		return err
	}
	if rec.Basis != nil {
		rec.Basis.ExportID = rec.ID
	}
	if err := writeBasis(c, rec.Basis); err != nil {
		return fmt.Errorf("record export: %w", err)
	}
	if err := clearMarks(c); err != nil {
		return err
	}
	if err := exec(c, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rollback abandons the export, unless committed: the last export stays
// as it was. It gives the store's connection back; safe to call more
// than once.
func (w *ExportWriter) Rollback() {
	if w.conn == nil {
		return
	}
	w.bg.stop()
	for _, in := range []*inserter{w.persons, w.events, w.drop, w.removed, w.clear, w.relayout, w.layout} {
		in.close()
	}
	rollback(w.conn)
	w.writeback()
	w.restoreCache()
	w.s.put(w.conn)
	w.conn = nil
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
	rows, err := s.query(ctx, `SELECT lower(substr(email, instr(email, '@') + 1)) AS d, COUNT(*)
		FROM persons WHERE left_at IS NULL AND instr(email, '@') > 0 GROUP BY d ORDER BY d`)
	if err != nil {
		return nil, fmt.Errorf("count domains: %w", err)
	}
	var out []DomainCount
	err = eachRow(rows, func() error {
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
	if _, err := s.one(ctx, `SELECT id FROM exports WHERE origin = 'migrate' ORDER BY time DESC LIMIT 1`, []any{&id}); err != nil {
		return "", fmt.Errorf("look up earlier migrate: %w", err)
	}
	return id, nil
}

// HeldEntry is one reason the last export held a person back, its details
// as canonical JSON.
type HeldEntry struct{ EmployeeNumber, Details string }

// LastHeld returns what the last export held back.
func (s *Store) LastHeld(ctx context.Context) (map[HeldEntry]bool, error) {
	rows, err := s.query(ctx, `SELECT employee_number, details FROM export_held`)
	if err != nil {
		return nil, fmt.Errorf("read held persons: %w", err)
	}
	out := map[HeldEntry]bool{}
	err = eachRow(rows, func() error {
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
