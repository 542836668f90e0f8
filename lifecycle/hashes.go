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
// person fields it supplied, one of its contracts as mapped, and one of
// its contract rows as read (Raw, under the source's contracts seed,
// ContractsSeed), which an ingest compares before it checks or maps a
// row. Raw is recorded with Contracts, or as NoRaw: a raw hash describes
// the contracts whose hash is recorded beside it, or nothing.
type Hashes struct {
	Person, Contracts, Raw Hash
}

// NoRaw is the Raw of a person whose rows are not to be compared as read
// (they held a reject or a merge): it never matches a sum.
var NoRaw = Hash{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// EachHashes calls fn with each person's hashes source recorded, and
// returns the seed its raw hashes were recorded under (nil: none). With
// at, the rows are read in two halves at once, those from employee
// number at on a connection of its own: an ingest waits for a source's
// hashes before it reads a row, and one connection reading 100k rows was
// a seventh of a day's ingest. fn is then called from two goroutines
// (half 0 and half 1), never twice for one person.
func (s *Store) EachHashes(ctx context.Context, source, at string, fn func(half int, emp string, h Hashes)) ([]byte, error) {
	var seed []byte
	second := make(chan error, 1)
	if at != "" {
		go func() { second <- s.eachHashesFrom(ctx, source, at, fn) }()
	}
	err := s.do(ctx, func(c *sqlite.Conn) error {
		if _, err := first(c, `SELECT contracts FROM source_seeds WHERE source = ?`, func(st *sqlite.Stmt) {
			seed = make([]byte, st.ColumnLen(0))
			st.ColumnBytes(0, seed)
		}, source); err != nil {
			return err
		}
		query, args := hashesQuery+` WHERE source = ?`, []any{source}
		if at != "" {
			query, args = query+` AND employee_number < ?`, append(args, at)
		}
		return eachHashes(c, query, 0, fn, args...)
	})
	if at != "" {
		if err2 := <-second; err == nil {
			err = err2
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load hashes of %s: %w", source, err)
	}
	return seed, nil
}

const hashesQuery = `SELECT employee_number, person, contracts, raw FROM source_hashes`

// eachHashesFrom is EachHashes's second half, on a connection of its own.
func (s *Store) eachHashesFrom(ctx context.Context, source, at string, fn func(half int, emp string, h Hashes)) error {
	c, err := openConn(s.path, "query_only = 1")
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetInterrupt(ctx.Done())
	return eachHashes(c, hashesQuery+` WHERE source = ? AND employee_number >= ?`, 1, fn, source, at)
}

func eachHashes(c *sqlite.Conn, query string, half int, fn func(half int, emp string, h Hashes), args ...any) error {
	return each(c, query, func(st *sqlite.Stmt) error {
		var h Hashes
		st.ColumnBytes(1, h.Person[:])
		st.ColumnBytes(2, h.Contracts[:])
		st.ColumnBytes(3, h.Raw[:])
		fn(half, st.ColumnText(0), h)
		return nil
	}, args...)
}

// writeHashes records a source's hashes (an unknown hash keeps the
// recorded one). void lists persons whose hashes
// every source must compute again (they joined, left or were rewritten),
// cleared first; then the source's own new hashes are written.
func writeHashes(c *sqlite.Conn, ch *Changes) error {
	source, void, put := ch.Source, ch.VoidHashes, ch.Hashes
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
	if err := writeSeed(c, source, ch.ContractsSeed); err != nil {
		return err
	}
	// In key order: 100k inserts at random places in the B-tree cost
	// twice as much as appending.
	emps := slices.Sorted(maps.Keys(put))
	in := newInserter(c, "source_hashes", hashCols, nil, hashUpsert)
	defer in.close()
	for _, emp := range emps {
		if err := in.add(func(vals []value) []value { return appendHashes(vals, source, emp, put[emp]) }); err != nil {
			return err
		}
	}
	if ch.MoreHashes != nil {
		// The upsert keeps what a row does not set: a person in both
		// gets the hashes of each.
		if err := ch.MoreHashes(func(emp string, h Hashes) error {
			return in.add(func(vals []value) []value { return appendHashes(vals, source, emp, h) })
		}); err != nil {
			return err
		}
	}
	return in.flush()
}

// writeSeed records the seed the raw hashes of this apply were made
// under (nil: none were). Raw hashes recorded under an earlier seed stay:
// they no longer match any sum, so their persons are checked in full.
func writeSeed(c *sqlite.Conn, source string, seed []byte) error {
	if seed == nil {
		return nil
	}
	if err := exec(c, `INSERT INTO source_seeds (source, contracts) VALUES (?, ?)
		ON CONFLICT (source) DO UPDATE SET contracts = excluded.contracts`, source, seed); err != nil {
		return fmt.Errorf("record the contracts seed of %s: %w", source, err)
	}
	return nil
}

func appendHashes(vals []value, source, emp string, h Hashes) []value {
	return append(vals, text(source), text(emp), h.Person.blob(), h.Contracts.blob(), h.Raw.blob())
}

var (
	hashCols   = []string{"source", "employee_number", "person", "contracts", "raw"}
	hashUpsert = "ON CONFLICT (source, employee_number) DO UPDATE SET person = coalesce(excluded.person, person), contracts = coalesce(excluded.contracts, contracts), raw = coalesce(excluded.raw, raw)"
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
