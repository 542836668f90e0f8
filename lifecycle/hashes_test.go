package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
)

// Read in two halves at once, the hashes are those read in one go: every
// person once, each in the half its number falls in, with the seed they
// were recorded under.
func TestHashesReadInTwoHalvesAreThoseReadAtOnce(t *testing.T) {
	s := openCopyStore(t)
	put := map[string]Hashes{}
	var persons []*Person
	for i := range 50 {
		emp := fmt.Sprintf("%03d", i)
		persons = append(persons, copyPerson(emp, "hr"))
		put[emp] = Hashes{Person: hashOf("p" + emp), Contracts: hashOf("c" + emp), Raw: hashOf("r" + emp)}
	}
	mustApply(t, s, &Changes{Source: "hr", Persons: persons, Hashes: put, ContractsSeed: []byte("seed")})
	mustApply(t, s, &Changes{Source: "ad", Hashes: map[string]Hashes{"010": {Person: hashOf("ad")}}})
	for _, at := range []string{"", "000", "025", "049", "999"} {
		var mu sync.Mutex
		got := map[string]Hashes{}
		seed, err := s.EachHashes(context.Background(), "hr", at, func(half int, emp string, h Hashes) {
			mu.Lock()
			defer mu.Unlock()
			if _, twice := got[emp]; twice {
				t.Errorf("at %q: %s given twice", at, emp)
			}
			if want := at != "" && emp >= at; (half == 1) != want {
				t.Errorf("at %q: %s in half %d", at, emp, half)
			}
			got[emp] = h
		})
		if err != nil {
			t.Fatal(err)
		}
		if string(seed) != "seed" || !maps.Equal(got, put) {
			t.Fatalf("at %q: seed %q, %d hashes of %d, or not as recorded", at, seed, len(got), len(put))
		}
	}
}
