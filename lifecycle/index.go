package lifecycle

import (
	"context"
	"fmt"
	"math"

	"zombiezen.com/go/sqlite"
)

// Indexed is what an ingest knows of a stored person without loading it:
// 36 bytes, since an ingest holds one for each of up to a million
// persons (the owner is a number, not a string).
type Indexed struct {
	Owner uint16 // the owning source's position in Index's names; 0: none
	Left  bool
}

// Index calls size with the number of stored persons, then add with each
// of them, leavers included, and returns the names the owners number
// (names[0] is "", no owner). The caller keeps them as compactly as it
// likes: a map of a million would be the largest thing an ingest holds.
// emp is valid during the call only. The index comes from its copy when
// that is true (indexcopy.go), else from the rows.
func (s *Store) Index(ctx context.Context, size func(n int), add func(emp string, e Indexed)) ([]string, error) {
	names := []string{""}
	err := s.do(ctx, func(c *sqlite.Conn) error {
		copied, ok, err := personsFromCopy(c, size, add)
		if err != nil || ok {
			names = copied
			return err
		}
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
