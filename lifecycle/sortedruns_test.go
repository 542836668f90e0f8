package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spendsync/spendsync/internal/model"
)

// smallChunks makes the stage write a segment every n rows of a table,
// for the test.
func smallChunks(t *testing.T, n int) {
	old := chunkRows
	chunkRows = n
	t.Cleanup(func() { chunkRows = old })
}

func testStage(t *testing.T) *Stage {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "spendsync.db"), Create)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	st, err := s.NewStage()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func runsOf(t *table, src int) int {
	if p := t.parts[src]; p != nil {
		return len(p.runs)
	}
	return 0
}

// Rows of files in HR order make many runs, merged as they are read:
// every person, contract and provider row comes back once, in employee
// order, with its own line; a provider's first row for a number is the
// one read; Load finds any number from the segment marks, across runs.
// Rows in employee order make one run, read straight through.
func TestStageMergesTheRunsOfShuffledRowsInEmployeeOrder(t *testing.T) {
	smallChunks(t, 100)
	const n = 5000
	emp := func(i int) string { return fmt.Sprintf("%06d", i) }
	for _, shuffled := range []bool{false, true} {
		t.Run(fmt.Sprint("shuffled=", shuffled), func(t *testing.T) {
			st := testStage(t)
			order := make([]int, n)
			for i := range order {
				order[i] = i
			}
			if shuffled {
				order = rand.New(rand.NewPCG(1, 2)).Perm(n)
			}
			st.Begin(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() {
				for line, i := range order {
					st.Person(0, &model.Person{EmployeeNumber: emp(i), LastName: fmt.Sprint("L", i)}, line+2, nil, Hash{byte(i)})
				}
			})
			wg.Go(func() {
				// Two contract rows a person, the second far from the first.
				for pass := range 2 {
					for line, i := range order {
						st.Contract(0, &model.Contract{EmployeeNumber: emp(i), Key: fmt.Sprint("k", pass), OUCode: fmt.Sprint(i)}, pass*n+line+2, Hash{})
					}
				}
			})
			wg.Go(func() {
				// Every third person twice by provider 1: the first row counts.
				for line, i := range order {
					if i%3 == 0 {
						st.Provide(1, emp(i), line+2, []string{"first"}, nil, Hash{})
					}
				}
				for line, i := range order {
					if i%3 == 0 {
						st.Provide(1, emp(i), n+line+2, []string{"second"}, nil, Hash{})
					}
				}
			})
			wg.Wait()
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			if runs := runsOf(&st.persons, 0); shuffled != (runs > 1) {
				t.Errorf("persons in %d runs (shuffled: %v)", runs, shuffled)
			}
			lineOf := make([]int, n)
			for line, i := range order {
				lineOf[i] = line + 2
			}
			check := func(when string) {
				t.Helper()
				next := 0
				err := st.Each(context.Background(), 0, true, func(g *StagedGroup) error {
					i := next
					next++
					p := g.Person
					if g.Emp != emp(i) || p == nil || p.LastName != fmt.Sprint("L", i) || p.Line != lineOf[i] || p.Hash != (Hash{byte(i)}) {
						return fmt.Errorf("group %d: %q %+v", i, g.Emp, p)
					}
					if len(g.Contracts) != 2 || g.Contracts[0].Key != "k0" || g.Contracts[1].Key != "k1" ||
						g.Contracts[0].Line != lineOf[i] || g.Contracts[1].Line != n+lineOf[i] || g.Contracts[1].OUCode != fmt.Sprint(i) {
						return fmt.Errorf("group %d contracts: %+v", i, g.Contracts)
					}
					wantProvided := 0
					if i%3 == 0 {
						wantProvided = 1
					}
					if len(g.Provided) != wantProvided || wantProvided == 1 && (g.Provided[0].Values[0] != "first" || g.Provided[0].Line != lineOf[i]) {
						return fmt.Errorf("group %d provided: %+v", i, g.Provided)
					}
					return nil
				})
				if err != nil || next != n {
					t.Fatalf("%s: %d groups of %d: %v", when, next, n, err)
				}
				for _, i := range []int{0, 63, 64, 65, 2500, n - 1} {
					p, cs, err := st.Load(context.Background(), 0, emp(i))
					if err != nil || p == nil || p.LastName != fmt.Sprint("L", i) || len(cs) != 2 || cs[1].OUCode != fmt.Sprint(i) {
						t.Errorf("%s: Load %s: %+v %+v %v", when, emp(i), p, cs, err)
					}
				}
				if p, cs, err := st.Load(context.Background(), 0, "none"); p != nil || len(cs) != 0 || err != nil {
					t.Errorf("%s: Load of a number not staged: %+v %+v %v", when, p, cs, err)
				}
			}
			check("merging the runs")
			// Planning's read writes the runs as one, which the next reads.
			groups := 0
			if err := st.EachLine(context.Background(), 0, func(*StagedGroup) error { groups++; return nil }); err != nil || groups != n {
				t.Fatalf("EachLine: %d groups of %d: %v", groups, n, err)
			}
			if runs := runsOf(&st.persons, 0) + runsOf(&st.contracts, 0); runs != 2 {
				t.Errorf("persons and contracts in %d runs after EachLine, want one each", runs)
			}
			check("after EachLine")
		})
	}
}

// A cancelled ingest stages no more: Flush, and every read, says why.
func TestACancelledStageSaysWhy(t *testing.T) {
	smallChunks(t, 10)
	st := testStage(t)
	ctx, cancel := context.WithCancel(context.Background())
	st.Begin(ctx)
	cancel()
	for i := range 100 {
		st.Person(0, &model.Person{EmployeeNumber: fmt.Sprint(i)}, i+2, nil, Hash{})
	}
	err := st.Flush()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "staging file") {
		t.Fatalf("Flush after cancel: %v", err)
	}
	if err := st.Each(context.Background(), 0, false, func(*StagedGroup) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Each after cancel: %v", err)
	}
}

// The strings a list decodes to are the list's values, however cut.
func TestReadStringsGivesBackWhatAppendStringsWrote(t *testing.T) {
	for _, vals := range [][]string{nil, {""}, {"a", "", "ünï"}, {strings.Repeat("x", 300), "y"}} {
		buf := appendStrings(nil, vals)
		buf = append(buf, "rest"...)
		got, rest := readStrings(buf)
		if !slices.Equal(got, vals) || string(rest) != "rest" {
			t.Errorf("%q: got %q rest %q", vals, got, rest)
		}
		// Cut short: fewer values, no panic.
		for i := range len(buf) - 4 {
			readStrings(buf[:i])
		}
	}
}

// Comparing by prefix first orders employee numbers as their bytes do.
func TestPrefixComparisonOrdersNumbersAsTheirBytes(t *testing.T) {
	cases := []string{"", "0", "00", "000123", "0001230", "12345678", "123456789", "12345679", "ab", "ab\x00", "ab\x00c", "abc", "\xff", "zz\x00\x00\x00\x00\x00\x00\x01"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = "0a\x00\xff9"[rng.IntN(5)]
		}
		cases = append(cases, string(b))
	}
	for _, a := range cases {
		for _, b := range cases {
			x, y := []byte(a), []byte(b)
			if got, want := compareEmp(prefix(x), prefix(y), x, y), bytes.Compare(x, y); got != want {
				t.Fatalf("compare %q %q: %d, want %d", a, b, got, want)
			}
		}
	}
}

// A stage file cut short under the run (a full disk, another process)
// reads as an error naming the staging file, not as fewer rows or a
// panic.
func TestAStageCutShortIsAnError(t *testing.T) {
	smallChunks(t, 50)
	st := testStage(t)
	st.Begin(context.Background())
	for i := range 1000 {
		st.Person(0, &model.Person{EmployeeNumber: fmt.Sprintf("%06d", i), LastName: "L"}, i+2, nil, Hash{})
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{st.size / 2, st.size - 1, 0} {
		if err := os.Truncate(st.path, size); err != nil {
			t.Fatal(err)
		}
		err := st.Each(context.Background(), 0, false, func(*StagedGroup) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "read staging file") {
			t.Errorf("cut to %d bytes: %v, want a read error of the staging file", size, err)
		}
	}
}
