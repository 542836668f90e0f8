package ingest

import (
	"fmt"
	"testing"
	"unsafe"
)

// At 1M persons every byte of an entry is a megabyte of an ingest's peak
// (docs/performance.md counts on 64).
func TestIndexEntryIs64Bytes(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n != 64 {
		t.Fatalf("an index entry is %d bytes", n)
	}
}

// The flat index must behave as the map it replaced: every number found
// again with its own entry after the table grew many times, numbers that
// are prefixes of each other kept apart, and unknown numbers not found.
func TestIndexFindsEveryEntryAfterGrowing(t *testing.T) {
	x := newIndex(0)
	const n = 5000
	for i := range n {
		x.add(fmt.Sprint(i)).Owner = uint16(i % 7)
		x.add(fmt.Sprintf("%06d", i)).Left = true
	}
	for i := range n {
		e := x.get(fmt.Sprint(i))
		if e == nil || e.Owner != uint16(i%7) || e.Left {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if z := x.get(fmt.Sprintf("%06d", i)); z == nil || !z.Left || z == e {
			t.Fatalf("entry %06d: %+v", i, z)
		}
	}
	for _, emp := range []string{"", "5000", "0000000", "x"} {
		if x.get(emp) != nil {
			t.Errorf("get(%q) found an entry it was never given", emp)
		}
	}
	if got := x.add("42"); got != x.get("42") || got.Owner != 0 {
		t.Errorf("add of a known number did not return its entry")
	}
	seen := map[string]bool{}
	x.each(func(emp string, e *entry) {
		if seen[emp] || x.get(emp) != e {
			t.Fatalf("each gave %q twice or with another entry", emp)
		}
		seen[emp] = true
	})
	if len(seen) != 2*n {
		t.Errorf("each gave %d entries, want %d", len(seen), 2*n)
	}
}

// A lookup tries the entry after the last it found: it must still find
// what the index finds, in order, out of order, repeated and unknown.
func TestLookupFindsWhatTheIndexFindsInAnyOrder(t *testing.T) {
	x := newIndex(0)
	const n = 300
	for i := range n {
		x.add(fmt.Sprintf("%04d", i))
	}
	var asks []string
	for i := range n {
		asks = append(asks, fmt.Sprintf("%04d", i)) // in order
	}
	for i := range n {
		asks = append(asks, fmt.Sprintf("%04d", (i*37)%n), fmt.Sprintf("%04d", (i*37)%n)) // shuffled, twice each
	}
	asks = append(asks, "0299", "x", "0000", "0300", "0001", "")
	l := lookup{x: x}
	for _, emp := range asks {
		if got, want := l.get(emp), x.get(emp); got != want {
			t.Fatalf("lookup of %q gave %p, the index %p", emp, got, want)
		}
	}
}
