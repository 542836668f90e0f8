package connector

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"

	"github.com/spendsync/spendsync/internal/buildid"
)

// A persons row read through a Filter is hashed as it was read, before it
// is validated or mapped, so that the filter can drop a row that is byte
// for byte as last time at the cost of a read and a hash. The hash covers
// the record's fields and a seed of everything else that decides what the
// record maps to: the source's settings but for where its files lie (columns, profile, date format,
// encoding, lookups, naming and gender maps), the rules, the file's header
// (which column is which field), the fields the source supplies, the
// bytes of the lookup files as loaded, the binary, and what the filter
// adds of its own (Filter.Seed). Equal hashes mean the same record under
// the same mapping, so the same row, valid as it was.

// rowHasher hashes the records of one file under one seed.
type rowHasher struct {
	seed [sha256.Size]byte
	buf  []byte
}

// newRowHasher returns the hasher of the rows of a file whose header is
// head, for the fields res supplies; extra is the filter's seed.
func (res *reader) newRowHasher(head []string, rules Rules, extra []byte) (*rowHasher, error) {
	// Where the files lie does not change what a row maps to: a source
	// whose files move keeps its hashes.
	src := *res.Source
	src.Persons, src.Contracts, src.Lookups = "", "", nil
	for _, l := range res.Source.Lookups {
		c := *l
		c.File = ""
		src.Lookups = append(src.Lookups, &c)
	}
	b, err := json.Marshal(struct {
		Src     *Source
		Rules   Rules
		Build   string
		Head    []string
		Fields  []string
		Lookups []byte
		Extra   []byte
	}{&src, rules, buildid.String(), head, res.Fields, res.lookupSum, extra})
	if err != nil {
		return nil, err
	}
	return &rowHasher{seed: sha256.Sum256(b)}, nil
}

// sum hashes rec: the seed, then each field with its length, so ("ab","c")
// and ("a","bc") differ. SHA-256 truncated to 128 bits, as the store keeps
// its hashes.
func (x *rowHasher) sum(rec []string) [16]byte {
	x.buf = append(x.buf[:0], x.seed[:]...)
	for _, f := range rec {
		x.buf = binary.AppendUvarint(x.buf, uint64(len(f)))
		x.buf = append(x.buf, f...)
	}
	s := sha256.Sum256(x.buf)
	return [16]byte(s[:16])
}
