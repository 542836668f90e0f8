package lifecycle

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/internal/model"
	"zombiezen.com/go/sqlite"
)

func openCopyStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "spendsync.db"), Create)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func copyPerson(emp, source string) *Person {
	return &Person{Person: model.Person{EmployeeNumber: emp, FirstName: "F" + emp, LastName: "L"}, Source: source}
}

func hashOf(s string) Hash {
	var h Hash
	copy(h[:], s)
	return h
}

// indexed is what Index and EachHashes give, as text.
func indexed(t *testing.T, s *Store, source string) []string {
	t.Helper()
	var out []string
	names, err := s.Index(context.Background(), func(int) {}, func(emp string, e Indexed) {
		out = append(out, fmt.Sprintf("%s owner=%d left=%v", emp, e.Owner, e.Left))
	})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprint("owners ", names))
	_, err = s.EachHashes(context.Background(), source, "", func(_ int, emp string, h Hashes) {
		out = append(out, fmt.Sprintf("%s %q %q", emp, string(h.Person[:1]), string(h.Contracts[:1])))
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// fromRows is indexed with the copies out of the way.
func fromRows(t *testing.T, s *Store, source string) []string {
	t.Helper()
	heads := s.copyHeads(t)
	if err := s.exec(context.Background(), `UPDATE index_heads SET generation = -1`); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for name, gen := range heads {
			if err := s.exec(context.Background(), `UPDATE index_heads SET generation = ? WHERE name = ?`, gen, name); err != nil {
				t.Fatal(err)
			}
		}
	}()
	return indexed(t, s, source)
}

// copyHeads is every copy's generation, by name.
func (s *Store) copyHeads(t *testing.T) map[string]int64 {
	t.Helper()
	heads := map[string]int64{}
	err := s.do(context.Background(), func(c *sqlite.Conn) error {
		return each(c, `SELECT name, generation FROM index_heads`, func(st *sqlite.Stmt) error {
			heads[st.ColumnText(0)] = st.ColumnInt64(1)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return heads
}

// trueCopies names the copies true now.
func trueCopies(t *testing.T, s *Store) []string {
	t.Helper()
	g, err := s.Generation()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, gen := range s.copyHeads(t) {
		if gen == g {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func mustApply(t *testing.T, s *Store, ch *Changes) {
	t.Helper()
	if err := s.Apply(context.Background(), ch, 0); err != nil {
		t.Fatal(err)
	}
}

// The index an ingest starts from comes from the copy an apply wrote, in
// the same transaction, and agrees with the rows after each kind of change.
func TestIndexComesFromTheCopyTheApplyWrote(t *testing.T) {
	s := openCopyStore(t)
	mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("001", "hr"), copyPerson("002", "hr"), copyPerson("003", "hr")},
		Hashes: map[string]Hashes{"001": {Person: hashOf("a"), Contracts: hashOf("b")}, "002": {Person: hashOf("c"), Contracts: Hash{}}, "003": {}}})
	if got := trueCopies(t, s); !slices.Equal(got, []string{"persons"}) {
		t.Fatalf("true copies after the first apply: %v", got)
	}
	// A leaver, a hash put over a known one (an unknown keeps the old), a void.
	mustApply(t, s, &Changes{Source: "hr", Leave: []string{"003"}, VoidHashes: []string{"002"},
		Hashes: map[string]Hashes{"001": {Person: hashOf("x"), Contracts: Hash{}}}})
	want := []string{`001 "x" "b"`, "001 owner=1 left=false", "002 owner=1 left=false", `003 "\x00" "\x00"`, "003 owner=1 left=true", "owners [ hr]"}
	slices.Sort(want)
	if got := indexed(t, s, "hr"); !slices.Equal(got, want) {
		t.Fatalf("from the copy:\n%v\nwant\n%v", got, want)
	}
	if got := fromRows(t, s, "hr"); !slices.Equal(got, want) {
		t.Fatalf("from the rows:\n%v\nwant\n%v", got, want)
	}
	// Read from the copy: a row changed behind the store's back (which
	// nothing but a test does) does not show while the copy is true.
	if err := s.exec(context.Background(), `UPDATE persons SET left_at = NULL WHERE employee_number = '003'`); err != nil {
		t.Fatal(err)
	}
	if got := indexed(t, s, "hr"); !slices.Equal(got, want) {
		t.Fatalf("the index was not read from its copy:\n%v", got)
	}
}

// Whatever else changes the state (a block, a prune) leaves the copies
// stale: the rows are read, and the next apply writes them again.
func TestCopiesGoStaleWhenTheStateChangesOtherwise(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Store) error
	}{
		{"block", func(s *Store) error {
			_, err := s.SetBlocked(context.Background(), 0, "002", true, "test")
			return err
		}},
		{"prune", func(s *Store) error {
			_, err := s.Prune(context.Background(), 0, Retention{Leavers: time.Nanosecond}, time.Now().Add(time.Hour))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openCopyStore(t)
			mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("001", "hr"), copyPerson("002", "hr")},
				Hashes: map[string]Hashes{"001": {Person: hashOf("a"), Contracts: hashOf("b")}}})
			mustApply(t, s, &Changes{Source: "hr", Leave: []string{"001"}})
			if err := tc.change(s); err != nil {
				t.Fatal(err)
			}
			if got := trueCopies(t, s); len(got) != 0 {
				t.Fatalf("copies still true after a %s: %v", tc.name, got)
			}
			// Stale: what Index gives is the rows' (the prune removed 001).
			if err := s.exec(context.Background(), `UPDATE persons SET source = 'other' WHERE employee_number = '002'`); err != nil {
				t.Fatal(err)
			}
			got := indexed(t, s, "hr")
			if !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "owners ") && strings.HasSuffix(l, " other]") }) {
				t.Fatalf("a stale copy was read: %v", got)
			}
			mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("003", "hr")}})
			if got := trueCopies(t, s); !slices.Equal(got, []string{"persons"}) {
				t.Fatalf("copies after the next apply: %v", got)
			}
		})
	}
}

// With two sources, each one's applies keep the one copy true; an apply
// that changes no owner and no leaver (changed names, new hashes) writes
// no copy and restamps it.
func TestAnotherSourcesApplyKeepsTheCopyTrue(t *testing.T) {
	s := openCopyStore(t)
	mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("001", "hr"), copyPerson("002", "hr")}})
	mustApply(t, s, &Changes{Source: "ad", Hashes: map[string]Hashes{"001": {Person: hashOf("p"), Contracts: Hash{}}}})
	mustApply(t, s, &Changes{Source: "crm", Persons: []*Person{copyPerson("004", "crm")}})
	written := s.chunkRows(t)
	renamed := copyPerson("001", "hr")
	renamed.LastName = "Other"
	mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{renamed}, Hashes: map[string]Hashes{"001": {Person: hashOf("q"), Contracts: Hash{}}}})
	if got := s.chunkRows(t); got != written {
		t.Errorf("a day of changed names rewrote the copy: chunks %s, were %s", got, written)
	}
	mustApply(t, s, &Changes{Source: "hr", Leave: []string{"002"}})
	if got := trueCopies(t, s); !slices.Equal(got, []string{"persons"}) {
		t.Fatalf("true copies: %v", got)
	}
	if got, want := indexed(t, s, "hr"), fromRows(t, s, "hr"); !slices.Equal(got, want) {
		t.Fatalf("the copy:\n%v\nrows:\n%v", got, want)
	}
}

// chunkRows lists the copy's chunks as slot:seq.
func (s *Store) chunkRows(t *testing.T) string {
	t.Helper()
	var out []string
	err := s.do(context.Background(), func(c *sqlite.Conn) error {
		return each(c, `SELECT slot, seq FROM index_chunks ORDER BY slot, seq`, func(st *sqlite.Stmt) error {
			out = append(out, fmt.Sprintf("%d:%d", st.ColumnInt64(0), st.ColumnInt64(1)))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

// A copy that does not decode is never used: the rows are read, with no
// error, and the next apply writes it again.
func TestADamagedCopyIsNotRead(t *testing.T) {
	s := openCopyStore(t)
	mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("001", "hr"), copyPerson("002", "hr")}})
	want := indexed(t, s, "hr")
	if err := s.exec(context.Background(), `UPDATE index_chunks SET data = substr(data, 1, length(data) - 1) WHERE name = 'persons'`); err != nil {
		t.Fatal(err)
	}
	if err := s.exec(context.Background(), `UPDATE persons SET source = 'x' WHERE employee_number = '002'`); err != nil {
		t.Fatal(err)
	}
	got := indexed(t, s, "hr")
	if slices.Equal(got, want) || !slices.Contains(got, "owners [ hr x]") {
		t.Fatalf("a damaged copy was read: %v", got)
	}
}

// Joiners streamed into an empty store (a first ingest) are merged into
// the copy as they come; streamed out of order, the copy is built from the
// rows instead. Into a store that holds persons (a day's joiners) they are
// gathered and merged at the commit. Every way, the copy agrees with the
// rows.
func TestStreamedJoinersReachTheCopies(t *testing.T) {
	for _, tc := range []struct {
		order  []string
		before bool
	}{{[]string{"001", "002", "010", "011"}, false}, {[]string{"010", "001", "011", "002"}, false},
		{[]string{"001", "002", "010", "011"}, true}} {
		order := tc.order
		t.Run(fmt.Sprint(order, tc.before), func(t *testing.T) {
			s := openCopyStore(t)
			want := []string{"persons"}
			if tc.before {
				mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("003", "hr"), copyPerson("010", "hr")},
					Hashes: map[string]Hashes{"003": {Person: hashOf("3"), Contracts: hashOf("c")}, "010": {Person: hashOf("0"), Contracts: hashOf("c")}}})
				mustApply(t, s, &Changes{Source: "ad", Hashes: map[string]Hashes{"003": {Person: hashOf("A"), Contracts: Hash{}}, "010": {Person: hashOf("B"), Contracts: Hash{}}}})
			}
			ch := &Changes{Source: "hr", Persons: []*Person{copyPerson("005", "hr")}, Streamed: len(order),
				Hashes: map[string]Hashes{"005": {Person: hashOf("e"), Contracts: Hash{}}}}
			w, err := s.BeginApply(context.Background(), ch, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, emp := range order {
				if err := w.Person(copyPerson(emp, "hr")); err != nil {
					t.Fatal(err)
				}
				if err := w.Hashes("hr", emp, Hashes{Person: hashOf("s" + emp), Contracts: hashOf("c")}); err != nil {
					t.Fatal(err)
				}
				if tc.before && emp == "002" {
					if err := w.Hashes("ad", emp, Hashes{Person: hashOf("P"), Contracts: Hash{}}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err) // the check compares the copies with the rows
			}
			if got := trueCopies(t, s); !slices.Equal(got, want) {
				t.Fatalf("true copies: %v", got)
			}
			if got, rows := indexed(t, s, "hr"), fromRows(t, s, "hr"); !slices.Equal(got, rows) {
				t.Fatalf("the copy:\n%v\nrows:\n%v", got, rows)
			}
		})
	}
}

// An upgrade removes the copies: what they copied may have changed.
func TestAnUpgradeRemovesTheCopies(t *testing.T) {
	s := openCopyStore(t)
	mustApply(t, s, &Changes{Source: "hr", Persons: []*Person{copyPerson("001", "hr")}})
	if err := s.exec(context.Background(), `UPDATE meta SET value = '11' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	path := s.Path()
	s.Close()
	s, err := Open(path, Existing)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.copyHeads(t); len(got) != 0 {
		t.Fatalf("copies after an upgrade: %v", got)
	}
}
