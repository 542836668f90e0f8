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
	if len(rows) == 0 {
		return nil
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	build := func(n int) string {
		return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", n), ", ") + " " + suffix
	}
	var full *sql.Stmt
	args := make([]any, 0, batchRows*len(cols))
	for start := 0; start < len(rows); start += batchRows {
		end := min(start+batchRows, len(rows))
		args = args[:0]
		for _, r := range rows[start:end] {
			args = append(args, r...)
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
