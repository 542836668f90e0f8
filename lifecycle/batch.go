package lifecycle

import (
	"database/sql"
	"fmt"
	"strings"
)

// batchRows is how many rows go into one multi-row INSERT: per-statement
// overhead dominates single-row inserts in the pure-Go driver.
const batchRows = 200

// insertBatch inserts rows (each len(cols) values) with multi-row INSERT
// statements, all parameterised. suffix is appended (e.g. ON CONFLICT ...).
func insertBatch(tx *sql.Tx, table string, cols []string, suffix string, rows [][]any) error {
	return insertEach(tx, table, cols, suffix, len(rows), func(i int, args []any) ([]any, error) { return append(args, rows[i]...), nil })
}

// insertEach is insertBatch pulling row i from fn only when its batch is
// written, so a large insert never holds all its rows at once. fn appends
// the row's values to args, so no slice is made per row.
func insertEach(tx *sql.Tx, table string, cols []string, suffix string, n int, fn func(i int, args []any) ([]any, error)) error {
	if n == 0 {
		return nil
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	build := func(n int) string {
		return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + " " + suffix
	}
	var full *sql.Stmt
	args := make([]any, 0, batchRows*len(cols))
	for start := 0; start < n; start += batchRows {
		end := min(start+batchRows, n)
		args = args[:0]
		for i := start; i < end; i++ {
			var err error
			if args, err = fn(i, args); err != nil {
				return err
			}
		}
		var err error
		if end-start == batchRows {
			if full == nil {
				if full, err = tx.Prepare(build(batchRows)); err != nil {
					return fmt.Errorf("prepare insert into %s: %w", table, err)
				}
				defer full.Close()
			}
			_, err = full.Exec(args...)
		} else {
			_, err = tx.Exec(build(end-start), args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return nil
}
