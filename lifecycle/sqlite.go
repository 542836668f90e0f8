package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// The store talks to SQLite through zombiezen.com/go/sqlite, a thin
// binding over modernc.org/sqlite's pure-Go SQLite (builds stay static,
// CGO_ENABLED=0): values are bound by position straight into prepared
// statements, where database/sql's driver looked up, allocated and copied
// every one.
//
// A connection is not safe for concurrent use. The store has one, held by
// one goroutine at a time (take, put): a transaction holds it until it
// ends, and a background writer (writer.go) holds it while it writes the
// rows its producer hands over. Readers that need a snapshot beside a
// writer open a connection of their own (ReadExport); WAL keeps them from
// blocking each other.

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 10 * time.Second

// openConn opens path with the pragmas, each run as "PRAGMA " + p.
func openConn(path string, pragmas ...string) (*sqlite.Conn, error) {
	c, err := sqlite.OpenConn(path, sqlite.OpenReadWrite|sqlite.OpenCreate)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	c.SetBusyTimeout(busyTimeout)
	for _, p := range pragmas {
		if err := sqlitex.ExecuteTransient(c, "PRAGMA "+p, nil); err != nil {
			c.Close()
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	return c, nil
}

// take waits for the store's connection, or for ctx; put gives it back.
// While taken, a cancelled ctx interrupts the statement running.
func (s *Store) take(ctx context.Context) (*sqlite.Conn, error) {
	select {
	case c := <-s.conn:
		c.SetInterrupt(ctx.Done())
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.closed:
		return nil, errClosed
	}
}

// errClosed is the use of a store after Close.
var errClosed = errors.New("database is closed")

func (s *Store) put(c *sqlite.Conn) {
	c.SetInterrupt(nil)
	s.conn <- c
}

// do runs fn with the store's connection.
func (s *Store) do(ctx context.Context, fn func(*sqlite.Conn) error) error {
	c, err := s.take(ctx)
	if err != nil {
		return err
	}
	defer s.put(c)
	return fn(c)
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE: the write lock is
// taken at the start, so a busy database waits there rather than failing
// part-way), committed when fn returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sqlite.Conn) error) error {
	return s.do(ctx, func(c *sqlite.Conn) error { return inTx(c, "BEGIN IMMEDIATE", fn) })
}

func inTx(c *sqlite.Conn, begin string, fn func(*sqlite.Conn) error) error {
	if err := exec(c, begin); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(c); err != nil {
		rollback(c)
		return err
	}
	if err := exec(c, "COMMIT"); err != nil {
		rollback(c)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback ends c's transaction, if any, even when c was interrupted.
func rollback(c *sqlite.Conn) {
	if c.AutocommitEnabled() {
		return
	}
	old := c.SetInterrupt(nil)
	exec(c, "ROLLBACK")
	c.SetInterrupt(old)
}

// exec runs a statement that returns no rows, args bound by position.
func exec(c *sqlite.Conn, query string, args ...any) error {
	return sqlitex.Execute(c, query, &sqlitex.ExecOptions{Args: args})
}

// each calls fn for every row of query.
func each(c *sqlite.Conn, query string, fn func(*sqlite.Stmt) error, args ...any) error {
	return sqlitex.Execute(c, query, &sqlitex.ExecOptions{Args: args, ResultFunc: fn})
}

// errFirst stops each after the first row.
var errFirst = errors.New("first row read")

// first calls fn with the first row of query, if any, and reports whether
// there was one.
func first(c *sqlite.Conn, query string, fn func(*sqlite.Stmt), args ...any) (bool, error) {
	found := false
	err := each(c, query, func(st *sqlite.Stmt) error {
		fn(st)
		found = true
		return errFirst
	}, args...)
	if errors.Is(err, errFirst) {
		err = nil
	}
	return found, err
}

// scan reads the row's columns into dest, by position: *string, *int,
// *int64, *bool, *[]byte (a copy; nil for NULL), and **string, **bool
// and **int64 (nil for NULL). For the paths that read few rows; hot paths read columns
// themselves.
func scan(st *sqlite.Stmt, dest ...any) {
	for i, d := range dest {
		switch d := d.(type) {
		case *string:
			*d = st.ColumnText(i)
		case *int:
			*d = st.ColumnInt(i)
		case *int64:
			*d = st.ColumnInt64(i)
		case *bool:
			*d = st.ColumnBool(i)
		case *[]byte:
			*d = columnBytes(st, i, nil)
		case **string:
			*d = nil
			if !st.ColumnIsNull(i) {
				v := st.ColumnText(i)
				*d = &v
			}
		case **bool:
			*d = nil
			if !st.ColumnIsNull(i) {
				v := st.ColumnBool(i)
				*d = &v
			}
		case **int64:
			*d = nil
			if !st.ColumnIsNull(i) {
				v := st.ColumnInt64(i)
				*d = &v
			}
		default:
			panic(fmt.Sprintf("scan into %T", d)) // a bug in this package, not input
		}
	}
}

// columnBytes appends column i's bytes to buf[:0]; nil for NULL.
func columnBytes(st *sqlite.Stmt, i int, buf []byte) []byte {
	if st.ColumnIsNull(i) {
		return nil
	}
	n := st.ColumnLen(i)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	st.ColumnBytes(i, buf)
	return buf
}

// isNoTable reports a query of a table the database does not have.
func isNoTable(err error) bool {
	return err != nil && sqlite.ErrCode(err) == sqlite.ResultError && strings.Contains(err.Error(), "no such table")
}

// exec runs a statement that returns no rows on the store's connection.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	return s.do(ctx, func(c *sqlite.Conn) error { return exec(c, query, args...) })
}

// execOnce runs a statement used once (the schema's), not kept prepared.
func execOnce(c *sqlite.Conn, query string) error {
	return sqlitex.ExecuteTransient(c, query, nil)
}

// one scans the first row of query into dest (see scan) on the store's
// connection and reports whether there was one.
func (s *Store) one(ctx context.Context, query string, dest []any, args ...any) (found bool, err error) {
	err = s.do(ctx, func(c *sqlite.Conn) error {
		found, err = first(c, query, func(st *sqlite.Stmt) { scan(st, dest...) }, args...)
		return err
	})
	return found, err
}

// each calls fn for every row of query on the store's connection.
func (s *Store) each(ctx context.Context, query string, fn func(*sqlite.Stmt) error, args ...any) error {
	return s.do(ctx, func(c *sqlite.Conn) error { return each(c, query, fn, args...) })
}

// oneConn is Store.one on a connection held already.
func oneConn(c *sqlite.Conn, query string, dest []any, args ...any) (bool, error) {
	return first(c, query, func(st *sqlite.Stmt) { scan(st, dest...) }, args...)
}

// errNoRow is a row that must exist and does not.
var errNoRow = errors.New("no such row")

// rows is a cursor over a query's result on the store's connection,
// which it holds until Close (or eachRow's end).
type rows struct {
	s   *Store
	c   *sqlite.Conn
	st  *sqlite.Stmt
	err error
}

// query runs query with args bound by position; Close the rows.
func (s *Store) query(ctx context.Context, query string, args ...any) (*rows, error) {
	c, err := s.take(ctx)
	if err != nil {
		return nil, err
	}
	st, err := c.Prepare(query)
	if err != nil {
		s.put(c)
		return nil, err
	}
	for i, a := range args {
		bindAny(st, i+1, a)
	}
	return &rows{s: s, c: c, st: st}, nil
}

// Next steps to the next row; false at the end or on an error (Err).
func (r *rows) Next() bool {
	if r.st == nil || r.err != nil {
		return false
	}
	ok, err := r.st.Step()
	r.err = err
	return ok && err == nil
}

// Scan reads the row into dest (see scan).
func (r *rows) Scan(dest ...any) error {
	scan(r.st, dest...)
	return nil
}

func (r *rows) Err() error { return r.err }

// Close resets the statement and gives the connection back.
func (r *rows) Close() {
	if r.st == nil {
		return
	}
	r.st.Reset()
	r.st = nil
	r.s.put(r.c)
}

// eachRow calls fn for every row and closes rows.
func eachRow(r *rows, fn func() error) error {
	defer r.Close()
	for r.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return r.Err()
}

// bindAny binds v to parameter i by its type.
func bindAny(st *sqlite.Stmt, i int, v any) {
	switch v := v.(type) {
	case nil:
		st.BindNull(i)
	case string:
		st.BindText(i, v)
	case int:
		st.BindInt64(i, int64(v))
	case int64:
		st.BindInt64(i, v)
	case bool:
		st.BindBool(i, v)
	case []byte:
		st.BindBytes(i, v)
	case float64:
		st.BindFloat(i, v)
	default:
		st.BindText(i, fmt.Sprint(v))
	}
}

// row is a query expected to return one row: Scan reads it, or returns
// errNoRow.
type row struct {
	s     *Store
	ctx   context.Context
	query string
	args  []any
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) row {
	return row{s: s, ctx: ctx, query: query, args: args}
}

func (r row) Scan(dest ...any) error {
	found, err := r.s.one(r.ctx, r.query, dest, r.args...)
	if err == nil && !found {
		err = errNoRow
	}
	return err
}
