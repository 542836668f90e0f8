package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"zombiezen.com/go/sqlite"
)

// Hash is a 128-bit hash of what a source supplied; the zero Hash is
// unknown (never recorded, or voided). Fixed size, so a map of a million
// persons' hashes holds no slice per hash.
type Hash [16]byte

// Known reports whether h was recorded.
func (h Hash) Known() bool { return h != Hash{} }

// blob is h as stored: NULL when unknown.
func (h Hash) blob() value {
	if !h.Known() {
		return value{}
	}
	return value{kind: kindHash, h: h}
}

// Hashes are what one source last supplied for one person: a hash of the
// person fields it supplied and one of its contracts.
type Hashes struct {
	Person, Contracts Hash
}

// EachHashes calls fn with each person's hashes source recorded.
func (s *Store) EachHashes(ctx context.Context, source string, fn func(emp string, h Hashes)) error {
	err := s.do(ctx, func(c *sqlite.Conn) error {
		return each(c, `SELECT employee_number, person, contracts FROM source_hashes WHERE source = ?`, func(st *sqlite.Stmt) error {
			var h Hashes
			st.ColumnBytes(1, h.Person[:])
			st.ColumnBytes(2, h.Contracts[:])
			fn(st.ColumnText(0), h)
			return nil
		}, source)
	})
	if err != nil {
		return fmt.Errorf("load hashes of %s: %w", source, err)
	}
	return nil
}

// writeHashes records a source's hashes (an unknown hash keeps the
// recorded one). void lists persons whose hashes
// every source must compute again (they joined, left or were rewritten),
// cleared first; then the source's own new hashes are written.
func writeHashes(c *sqlite.Conn, source string, void []string, put map[string]Hashes) error {
	if len(void) > 0 {
		v, err := newVoider(c)
		if err != nil {
			return err
		}
		if v != nil {
			if err := insertEach(v, len(void), func(vals []value, i int) []value { return append(vals, text(void[i])) }); err != nil {
				return err
			}
		}
	}
	// In key order: 100k inserts at random places in the B-tree cost
	// twice as much as appending.
	emps := slices.Sorted(maps.Keys(put))
	return insertEach(newInserter(c, "source_hashes", hashCols, nil, hashUpsert), len(emps), func(vals []value, i int) []value {
		h := put[emps[i]]
		return append(vals, text(source), text(emps[i]), h.Person.blob(), h.Contracts.blob())
	})
}

var (
	hashCols   = []string{"source", "employee_number", "person", "contracts"}
	hashUpsert = "ON CONFLICT (source, employee_number) DO UPDATE SET person = coalesce(excluded.person, person), contracts = coalesce(excluded.contracts, contracts)"
)

// newVoider makes the statement that clears every source's hashes of one
// person (its value: the employee number), or nil when the table is
// empty: a first ingest joins everyone into an empty table, and skips
// 100k deletes.
func newVoider(c *sqlite.Conn) (*inserter, error) {
	var any bool
	if _, err := first(c, `SELECT EXISTS (SELECT 1 FROM source_hashes)`, func(st *sqlite.Stmt) { any = st.ColumnBool(0) }); err != nil {
		return nil, fmt.Errorf("clear hashes: %w", err)
	}
	if !any {
		return nil, nil
	}
	return newStatement(c, "clear hashes", `DELETE FROM source_hashes WHERE employee_number = ?`, 1), nil
}
