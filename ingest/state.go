package ingest

import (
	"context"
	"slices"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
)

// state is what an ingest knows of the stored persons and contracts. It
// holds an index of every person (owner, left), loads a
// person or its contracts only when a diff needs them, and keeps what the
// earlier sources of the same run changed, so every source is diffed
// against what they left. Persons whose hashes match what their source
// supplied last time are never loaded (hashes.go).
type state struct {
	ctx    context.Context
	store  *lifecycle.Store
	loader *lifecycle.Loader
	index  *index
	owners []string // the index entries' owners by number (Indexed.Owner)
	// persons and contracts hold the persons loaded or changed this run;
	// a contracts entry, even empty, is that person's whole set.
	persons   map[string]*lifecycle.Person
	contracts map[string]map[string]model.Contract
	// voided are persons that joined or left this run, or whose
	// provider-filled fields a primary source changed: every source's
	// recorded hashes for them are void.
	voided map[string]bool
	// providerFields are the fields a provider fills now or ever did
	// (lifecycle's ProvidedFields).
	providerFields []string
	err            error  // the first failed load; the plan is unusable then
	hashes         int    // how many hashes the source of useHashesOf recorded
	rawSeed        []byte // the seed of its raw hashes (nil: none)
	stg            *staging
	later          bool // more sources follow the one being planned
}

// loadState reads the index of the stored persons.
func loadState(ctx context.Context, s *lifecycle.Store) (*state, error) {
	var index *index
	owners, err := s.Index(ctx, func(n int) { index = newIndex(n) }, func(emp string, e lifecycle.Indexed) {
		index.add(emp).Indexed = e
	})
	if err != nil {
		return nil, err
	}
	loader, err := s.NewLoader(ctx)
	if err != nil {
		return nil, err
	}
	return &state{ctx: ctx, store: s, loader: loader, index: index, owners: owners, persons: map[string]*lifecycle.Person{},
		contracts: map[string]map[string]model.Contract{}, voided: map[string]bool{}}, nil
}

// Close releases the loader and removes the stage.
func (st *state) Close() {
	st.loader.Close()
	st.stg.close()
}

// person returns the stored (or this run's) person, or nil.
func (st *state) person(emp string) *lifecycle.Person {
	if p, ok := st.persons[emp]; ok {
		return p
	}
	if st.err != nil {
		return nil
	}
	if !st.known(emp) {
		if st.stg.stagedBy(emp) == "" {
			return nil
		}
		p, cs, err := st.loadStaged(emp)
		if err != nil {
			st.err = err
			return nil
		}
		st.persons[emp], st.contracts[emp] = p, cs
		return p
	}
	p, err := st.loader.Person(st.ctx, emp)
	if err != nil {
		st.err = err
		return nil
	}
	st.persons[emp] = p
	return p
}

// contractsOf returns the person's contracts by key, loading them once.
// The map is the state's own: remember changes it.
func (st *state) contractsOf(emp string) map[string]model.Contract {
	if m, ok := st.contracts[emp]; ok {
		return m
	}
	if st.stg.stagedBy(emp) != "" && st.person(emp) != nil {
		return st.contracts[emp]
	}
	m := map[string]model.Contract{}
	if e := st.index.get(emp); e != nil && !e.Left && st.err == nil {
		loaded, err := st.loader.Contracts(st.ctx, emp)
		if err != nil {
			st.err = err
		} else {
			m = loaded
		}
	}
	st.contracts[emp] = m
	return m
}

// useHashesOf puts what source recorded into the index entries, in place
// of the previous source's, and clears the previous source's contract
// sums: one index for the persons and what a source says of them, not a
// map each (a million entries each at 1M persons).
func (st *state) useHashesOf(source string) error {
	st.index.each(func(_ string, e *entry) {
		*e = entry{Indexed: lifecycle.Indexed{Owner: e.Owner, Left: e.Left}}
	})
	// In two halves at once, split at the middle entry: each half writes
	// only its own persons' entries, through a lookup of its own (the
	// hashes come in employee order, as the index most often is).
	at := ""
	if n := st.index.len(); n >= 2*minHalf {
		at = st.index.key(n / 2)
	}
	var ls [2]lookup
	var found [2]int
	for i := range ls {
		ls[i] = lookup{x: st.index}
	}
	seed, err := st.store.EachHashes(st.ctx, source, at, func(half int, emp string, h lifecycle.Hashes) {
		if e := ls[half].get(emp); e != nil {
			e.Hashes = recorded{h.Person, h.Contracts}
			// The raw hash in the mapped one's place: the entry holds one
			// (ContractsSeed puts the mapped one back when the seed changed).
			if h.Raw.Known() && h.Raw != lifecycle.NoRaw {
				e.Hashes.Contracts, e.raw = h.Raw, true
			}
			found[half]++
		}
	})
	st.hashes, st.rawSeed = found[0]+found[1], seed
	return err
}

// minHalf is the fewest persons worth a second connection to read the
// hashes of (useHashesOf). Tests lower it, so every ingest of two persons
// or more reads them in halves.
var minHalf = 5000

// recorded is what the source of useHashesOf recorded for emp, as far as
// its index entry holds it.
func (st *state) recorded(emp string) lifecycle.Hashes {
	if e := st.index.get(emp); e != nil {
		if e.raw {
			return lifecycle.Hashes{Person: e.Hashes.Person, Raw: e.Hashes.Contracts}
		}
		return lifecycle.Hashes{Person: e.Hashes.Person, Contracts: e.Hashes.Contracts}
	}
	return lifecycle.Hashes{}
}

// owner returns the number the index gives source, adding it if new.
func (st *state) owner(source string) uint16 {
	if i := slices.Index(st.owners, source); i >= 0 {
		return uint16(i)
	}
	st.owners = append(st.owners, source)
	return uint16(len(st.owners) - 1)
}

// known reports whether the index holds emp: stored, or planned by a
// source of this run in memory.
func (st *state) known(emp string) bool {
	return st.index.get(emp) != nil
}

// present reports whether emp is a current (not left) person.
func (st *state) present(emp string) bool {
	if e := st.index.get(emp); e != nil {
		return !e.Left
	}
	return st.stg.stagedBy(emp) != ""
}

// owned calls fn for every current person source owns.
func (st *state) owned(source string, fn func(emp string)) {
	st.index.each(func(emp string, e *entry) {
		if !e.Left && st.owners[e.Owner] == source {
			fn(emp)
		}
	})
}

// unchanged reports whether what src supplies for emp now hashes as what
// it recorded last time, for a current person src may skip: then the
// stored fields already hold it. A primary source skips only a person it
// owns (one another source took over is diffed in full); a provider owns
// no one.
func (st *state) unchanged(src *connector.Source, recorded, now lifecycle.Hash, emp string) bool {
	return st.unchangedAt(src, st.index.get(emp), recorded, now, emp)
}

// unchangedAt is unchanged for the caller that holds emp's index entry
// (nil: not stored).
func (st *state) unchangedAt(src *connector.Source, e *entry, recorded, now lifecycle.Hash, emp string) bool {
	if e == nil || !src.IsProvider() && st.owners[e.Owner] != src.Name {
		return false
	}
	return recorded.Known() && recorded == now && !e.Left && !st.voided[emp]
}
