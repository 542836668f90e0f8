package ingest

import (
	"hash/maphash"
	"unsafe"

	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// entry is what an ingest holds of one stored person: the index entry
// and, for the source being read, the sum of its contract rows.
type entry struct {
	lifecycle.Indexed
	// Hashes are what the source being read recorded (useHashesOf); when
	// raw is set, Contracts holds its Raw hash, not the mapped one.
	Hashes recorded
	// contractsChanged: the sum hashes otherwise than the source recorded.
	contractsChanged bool
	raw              bool // beside contractsChanged: the entry stays 64 bytes
	// rehashed: the persons row only hashed anew (sameAsStored), and
	// Hashes.Person holds its new hash, to be recorded (indexHashes).
	rehashed bool
	// line is where the source's persons file lists the person, when the
	// row was dropped as unchanged (sourceFilter.Line); 0: not kept here.
	line int32
	// The source's contract rows for this person (contractSum), flattened:
	// as a contractSum field the entry would be 72 bytes, not 64. The
	// valid rows as mapped, or, when raw and the source's seed is as
	// recorded, every row of the header's width as read.
	sumN       uint32
	sumA, sumB uint64
}

// recorded is the pair of hashes an entry holds of what its person's
// source recorded.
type recorded struct{ Person, Contracts lifecycle.Hash }

func (e *entry) sum() contractSum { return contractSum{e.sumA, e.sumB, uint64(e.sumN)} }

func (e *entry) setSum(s contractSum) { e.sumA, e.sumB, e.sumN = s.a, s.b, uint32(s.n) }

// addContract sums c's hash into the entry.
func (e *entry) addContract(x *hasher, c *model.Contract) {
	s := e.sum()
	s.add(x, c)
	e.setSum(s)
}

// addRaw sums the hash of a row as read into the entry.
func (e *entry) addRaw(h [16]byte) {
	s := e.sum()
	s.addHash(h)
	e.setSum(s)
}

// index holds an entry per stored person. At 1M persons it is the largest
// thing an ingest holds, so it is flat: the employee numbers are packed
// in one arena, the entries in one slice, and an open-addressed table of
// positions finds them. As a Go map of strings with a second map for the
// contract sums it was 215 MB at 1M persons; flat it is about 96 MB.
//
// The persons file and the contracts file are read on two goroutines:
// the contracts side writes only the sum fields, the persons side only
// line, neither touches the other's fields, and neither adds entries
// while both run.
type index struct {
	keys []byte // every employee number, one after the other
	ends []int  // where entry i's number ends in keys
	ents []entry
	// slots: 0 is empty; else the low 32 bits are the position in ents +
	// 1 and the high 32 the top of the number's hash, so a probe passes
	// other numbers' slots without reading their text (a cache miss each).
	slots []uint64
	seed  maphash.Seed
}

func newIndex(n int) *index {
	x := &index{seed: maphash.MakeSeed(), ends: make([]int, 0, n), keys: make([]byte, 0, 8*n), ents: make([]entry, 0, n)}
	x.rehash(n)
	return x
}

// rehash sizes the table for n entries at most half full (short probes)
// and puts every entry back in.
func (x *index) rehash(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	x.slots = make([]uint64, size)
	for i := range x.ents {
		s, tag := x.probe(x.key(i))
		x.slots[s] = tag | uint64(i+1)
	}
}

// key is entry i's employee number. It points into the arena instead of
// copying: written bytes never change, and an arena that append replaced
// stays alive while a string points into it.
func (x *index) key(i int) string {
	start := 0
	if i > 0 {
		start = x.ends[i-1]
	}
	if start == x.ends[i] {
		return ""
	}
	return unsafe.String(&x.keys[start], x.ends[i]-start)
}

// probe returns emp's slot, or the empty slot where it would go, and the
// tag a slot of emp carries.
func (x *index) probe(emp string) (int, uint64) {
	h := maphash.String(x.seed, emp)
	tag := h &^ (1<<32 - 1)
	mask := uint64(len(x.slots) - 1)
	for s := h & mask; ; s = (s + 1) & mask {
		v := x.slots[s]
		if v == 0 || v&^(1<<32-1) == tag && x.key(int(uint32(v))-1) == emp {
			return int(s), tag
		}
	}
}

// get returns emp's entry, or nil. The pointer is valid until the next
// add.
func (x *index) get(emp string) *entry {
	if i := x.find(emp); i >= 0 {
		return &x.ents[i]
	}
	return nil
}

// find returns the position of emp's entry, or -1.
func (x *index) find(emp string) int {
	s, _ := x.probe(emp)
	if v := x.slots[s]; v != 0 {
		return int(uint32(v)) - 1
	}
	return -1
}

// add returns emp's entry, adding a zero one if emp is new.
func (x *index) add(emp string) *entry {
	s, tag := x.probe(emp)
	if v := x.slots[s]; v != 0 {
		return &x.ents[uint32(v)-1]
	}
	x.keys = append(x.keys, emp...)
	x.ends = append(x.ends, len(x.keys))
	x.ents = append(x.ents, entry{})
	x.slots[s] = tag | uint64(len(x.ents))
	if 2*len(x.ents) > len(x.slots) {
		x.rehash(len(x.ents))
	}
	return &x.ents[len(x.ents)-1]
}

func (x *index) len() int { return len(x.ents) }

// each calls fn with every entry, in the order they were added.
func (x *index) each(fn func(emp string, e *entry)) {
	for i := range x.ents {
		fn(x.key(i), &x.ents[i])
	}
}
