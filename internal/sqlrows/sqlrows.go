// Package sqlrows walks database/sql result sets: the store and the
// HelloID reader share it.
package sqlrows

import "database/sql"

// Each calls fn for every row of rows (which fn scans), stops at the
// first error and closes rows; it returns fn's error or the iteration's.
func Each(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}
