package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/spendsync/spendsync/internal/model"
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
	return blob(h[:])
}

// Hashes are what one source last supplied for one person: a hash of the
// person fields it supplied and one of its contracts.
type Hashes struct {
	Person, Contracts Hash
}

// Indexed is what an ingest knows of a stored person without loading it:
// 36 bytes, since an ingest holds one for each of up to a million
// persons (the owner is a number, not a string).
type Indexed struct {
	Owner  uint16 // the owning source's position in Index's names; 0: none
	Left   bool
	Hashes Hashes // filled by the caller, for one source at a time (EachHashes)
}

// Index calls size with the number of stored persons, then add with each
// of them, leavers included, and returns the names the owners number
// (names[0] is "", no owner). The caller keeps them as compactly as it
// likes: a map of a million would be the largest thing an ingest holds.
func (s *Store) Index(ctx context.Context, size func(n int), add func(emp string, e Indexed)) ([]string, error) {
	names := []string{""}
	err := s.do(ctx, func(c *sqlite.Conn) error {
		var n int
		if _, err := first(c, `SELECT count(*) FROM persons`, func(st *sqlite.Stmt) { n = st.ColumnInt(0) }); err != nil {
			return err
		}
		size(n)
		ids := map[string]uint16{}
		var e Indexed
		return each(c, `SELECT employee_number, source, left_at IS NOT NULL FROM persons`, func(st *sqlite.Stmt) error {
			// The source's text is compared before it is copied: a
			// handful of sources own every person.
			src := st.ColumnText(1)
			id, ok := ids[src]
			if !ok {
				if len(names) > math.MaxUint16 {
					return fmt.Errorf("more than %d sources own persons", math.MaxUint16)
				}
				id = uint16(len(names))
				ids[src], names = id, append(names, src)
			}
			e.Owner, e.Left = id, st.ColumnBool(2)
			add(st.ColumnText(0), e)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	return names, nil
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

// Loader fetches single stored persons and their contracts: the ingest
// asks for the few whose hashes changed instead of loading every one.
// Its queries stay prepared on the store's connection.
type Loader struct {
	s *Store
}

var (
	loadPerson    = `SELECT ` + personCols + ` FROM persons WHERE employee_number = ?`
	loadContracts = `SELECT ` + contractCols + ` FROM contracts WHERE employee_number = ?`
)

// NewLoader makes a Loader; Close it.
func (s *Store) NewLoader(ctx context.Context) (*Loader, error) { return &Loader{s: s}, nil }

// Close releases the Loader.
func (l *Loader) Close() {}

// OwnedContracts counts the stored contracts of the current persons
// source owns.
func (s *Store) OwnedContracts(ctx context.Context, source string) (int, error) {
	var n int
	err := s.do(ctx, func(c *sqlite.Conn) error {
		_, err := first(c, `SELECT count(*) FROM contracts c JOIN persons p ON p.employee_number = c.employee_number
		WHERE p.source = ? AND p.left_at IS NULL`, func(st *sqlite.Stmt) { n = st.ColumnInt(0) }, source)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count contracts of %s: %w", source, err)
	}
	return n, nil
}

// Person returns the stored person, or nil.
func (l *Loader) Person(ctx context.Context, emp string) (*Person, error) {
	var p *Person
	err := l.s.do(ctx, func(c *sqlite.Conn) error {
		_, err := first(c, loadPerson, func(st *sqlite.Stmt) { p = readPerson(st) }, emp)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load person %s: %w", emp, err)
	}
	return p, nil
}

// Contracts returns the person's stored contracts by key.
func (l *Loader) Contracts(ctx context.Context, emp string) (map[string]model.Contract, error) {
	out := map[string]model.Contract{}
	err := l.s.do(ctx, func(c *sqlite.Conn) error {
		return each(c, loadContracts, func(st *sqlite.Stmt) error {
			c := readContract(st, 0)
			out[c.Key] = c
			return nil
		}, emp)
	})
	if err != nil {
		return nil, fmt.Errorf("load contracts of %s: %w", emp, err)
	}
	return out, nil
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
