package lifecycle

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/spendsync/spendsync/internal/sqlrows"
	"maps"
	"math"
	"slices"

	"github.com/spendsync/spendsync/internal/model"
)

// Hash is a 128-bit hash of what a source supplied; the zero Hash is
// unknown (never recorded, or voided). Fixed size, so a map of a million
// persons' hashes holds no slice per hash.
type Hash [16]byte

// Known reports whether h was recorded.
func (h Hash) Known() bool { return h != Hash{} }

// blob is h as stored: NULL when unknown.
func (h Hash) blob() any {
	if !h.Known() {
		return nil
	}
	return h[:]
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
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM persons`).Scan(&n); err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	size(n)
	rows, err := s.db.QueryContext(ctx, `SELECT employee_number, source, left_at IS NOT NULL FROM persons`)
	if err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	names := []string{""}
	ids := map[string]uint16{}
	var emp, src string
	var e Indexed
	if err := sqlrows.Each(rows, func() error {
		if err := rows.Scan(&emp, &src, &e.Left); err != nil {
			return err
		}
		id, ok := ids[src]
		if !ok {
			if len(names) > math.MaxUint16 {
				return fmt.Errorf("more than %d sources own persons", math.MaxUint16)
			}
			id = uint16(len(names))
			ids[src], names = id, append(names, src)
		}
		e.Owner = id
		add(emp, e)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	return names, nil
}

// EachHashes calls fn with each person's hashes source recorded.
func (s *Store) EachHashes(ctx context.Context, source string, fn func(emp string, h Hashes)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT employee_number, person, contracts FROM source_hashes WHERE source = ?`, source)
	if err != nil {
		return fmt.Errorf("load hashes of %s: %w", source, err)
	}
	var emp string
	var person, contracts sql.RawBytes
	if err := sqlrows.Each(rows, func() error {
		if err := rows.Scan(&emp, &person, &contracts); err != nil {
			return err
		}
		var h Hashes
		copy(h.Person[:], person)
		copy(h.Contracts[:], contracts)
		fn(emp, h)
		return nil
	}); err != nil {
		return fmt.Errorf("load hashes of %s: %w", source, err)
	}
	return nil
}

// Loader fetches single stored persons and their contracts: the ingest
// asks for the few whose hashes changed instead of loading every one.
type Loader struct {
	person, contracts *sql.Stmt
}

// NewLoader prepares the queries; Close releases them.
func (s *Store) NewLoader(ctx context.Context) (*Loader, error) {
	ps, err := s.db.PrepareContext(ctx, `SELECT `+personCols+` FROM persons WHERE employee_number = ?`)
	if err != nil {
		return nil, fmt.Errorf("load persons: %w", err)
	}
	cs, err := s.db.PrepareContext(ctx, `SELECT `+contractCols+` FROM contracts WHERE employee_number = ?`)
	if err != nil {
		ps.Close()
		return nil, fmt.Errorf("load contracts: %w", err)
	}
	return &Loader{person: ps, contracts: cs}, nil
}

// Close releases the prepared queries.
func (l *Loader) Close() {
	l.person.Close()
	l.contracts.Close()
}

// OwnedContracts counts the stored contracts of the current persons
// source owns.
func (s *Store) OwnedContracts(ctx context.Context, source string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM contracts c JOIN persons p ON p.employee_number = c.employee_number
		WHERE p.source = ? AND p.left_at IS NULL`, source).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count contracts of %s: %w", source, err)
	}
	return n, nil
}

// Person returns the stored person, or nil.
func (l *Loader) Person(ctx context.Context, emp string) (*Person, error) {
	p, err := scanPerson(l.person.QueryRowContext(ctx, emp))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load person %s: %w", emp, err)
	}
	return p, nil
}

// Contracts returns the person's stored contracts by key.
func (l *Loader) Contracts(ctx context.Context, emp string) (map[string]model.Contract, error) {
	rows, err := l.contracts.QueryContext(ctx, emp)
	if err != nil {
		return nil, fmt.Errorf("load contracts of %s: %w", emp, err)
	}
	out := map[string]model.Contract{}
	if err := sqlrows.Each(rows, func() error {
		c, err := scanContract(rows)
		out[c.Key] = c
		return err
	}); err != nil {
		return nil, fmt.Errorf("load contracts of %s: %w", emp, err)
	}
	return out, nil
}

// writeHashes records a source's hashes (an unknown hash keeps the
// recorded one). void lists persons whose hashes
// every source must compute again (they joined, left or were rewritten),
// cleared first; then the source's own new hashes are written.
func writeHashes(tx *sql.Tx, source string, void []string, put map[string]Hashes) error {
	if err := voidHashes(tx, void); err != nil {
		return err
	}
	// In key order: 100k inserts at random places in the B-tree cost
	// twice as much as appending.
	emps := slices.Sorted(maps.Keys(put))
	return insertEach(tx, "source_hashes", hashCols, hashUpsert, len(emps), func(i int, args []any) ([]any, error) {
		h := put[emps[i]]
		return append(args, source, emps[i], h.Person.blob(), h.Contracts.blob()), nil
	})
}

var (
	hashCols   = []string{"source", "employee_number", "person", "contracts"}
	hashUpsert = "ON CONFLICT (source, employee_number) DO UPDATE SET person = coalesce(excluded.person, person), contracts = coalesce(excluded.contracts, contracts)"
)

func voidHashes(tx *sql.Tx, emps []string) error {
	if len(emps) == 0 {
		return nil
	}
	v, err := newVoider(tx)
	if err != nil {
		return err
	}
	defer v.close()
	for _, emp := range emps {
		if err := v.void(emp); err != nil {
			return err
		}
	}
	return nil
}

// voider clears every source's hashes of one person at a time.
type voider struct {
	del *sql.Stmt // nil: no hash is recorded, nothing to clear
}

// newVoider prepares the delete, unless the table is empty: a first
// ingest joins everyone into an empty table, and skips 100k deletes.
func newVoider(tx *sql.Tx) (*voider, error) {
	var any bool
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM source_hashes)`).Scan(&any); err != nil || !any {
		return &voider{}, err
	}
	del, err := tx.Prepare(`DELETE FROM source_hashes WHERE employee_number = ?`)
	if err != nil {
		return nil, fmt.Errorf("clear hashes: %w", err)
	}
	return &voider{del: del}, nil
}

func (v *voider) void(emp string) error {
	if v.del == nil {
		return nil
	}
	if _, err := v.del.Exec(emp); err != nil {
		return fmt.Errorf("clear hashes of %s: %w", emp, err)
	}
	return nil
}

func (v *voider) close() {
	if v.del != nil {
		v.del.Close()
	}
}
