// Package ingest is the diff engine: it reads each source through the
// connector, compares what it holds with the store and writes the changes
// through lifecycle. Run is its one entry; the Plans of its Report are the
// result as data.
//
// A source whose files, settings and rules are as at its last apply, on a
// state no one changed since, is not read at all (fastpath.go).
//
// An ingest holds an index of the stored persons (employee number, owning
// source, left), not the persons themselves (index.go: the numbers in one
// arena, the entries in one slice, an open-addressed table of positions).
// Each source recorded, per person, a hash of its persons row and one of
// that person's contracts (hashes.go); before a source is read its hashes
// go into the index entries. The source is then read through a filter the
// engine implements (connector.Filter): a persons row is hashed as read,
// its record with a seed of all that decides how it maps (settings, rules,
// header, lookup files, binary, the fields other sources own), and dropped
// before it is checked or mapped when that hash is as last time; a row
// whose hash differs is compared at once with its stored person and
// dropped when the fields it is diffed on are the same, its new hash
// recorded (after an upgrade every hash differs: the rows need not all be
// held). The
// contracts file is read once to sum each person's contract hashes and,
// when some rows must be kept (persons whose contracts changed, persons
// no persons row lists, persons the store does not hold), a second time
// to keep only those. So the rows in memory follow the day's changes, not
// the size of the files. Beside the hash of a person's contracts as
// mapped, the source records one of its rows as read (Hashes.Raw, under a
// seed of the file's header, settings and binary), when every row was
// one of its contracts (no reject, duplicate or merge). While the seed is
// as recorded, such a person's rows are summed as read and not checked at
// all in the first pass; when the sum differs, the second pass checks
// them as the first would have, rejects, merges and dates included
// (connector.Filter.Unchecked). Under a new seed every row is checked and
// compared as mapped for a day, and the raw hashes recorded anew.
// A pulled source keeps every row, and records hashes of its mapped
// fields.
//
// The diff (diff.go) loads, one by one, only the persons whose hashes
// differ, and compares them field by field: a 1% change loads 1% of the
// state. A joiner or a leaver voids every source's hashes for that person,
// and a person another source took over is compared in full. The sources
// are diffed one after the other, each against the state as the earlier
// ones left it in memory (state.go), and nothing is written before all are
// checked against the thresholds (safety.go).
//
// Joiners (every row of a first ingest) are not planned in memory: their
// rows, and what providers supply for them, go to a stage on disk as they
// are read (staged.go), and come back in employee order when their
// source's changes are written, each as one person.joined event (joined.go)
// that folds in the providers' fields. A dry run plans in memory.
package ingest
