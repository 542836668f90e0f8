// Package connector reads HR source exports (CSV in any of the supported
// encodings and delimiters), maps their columns to the canonical model and
// validates each row, reporting bad rows as rejects instead of failing.
//
// Load is the one entry and a Result the plain data it returns; it knows
// nothing of the store or the diff. Its files, in the order a row meets
// them: load.go (Load, Result, the Filter a caller may read through, the
// two files side by side), table.go (a file as records), columns.go (the
// header bound to canonical fields), rowhash.go (a persons row's hash as
// read, which lets a Filter drop it before its checks), rows.go (each row's checks and
// rejects), persons.go and contracts.go (the rows of each file, duplicate
// contracts), dates.go (date_format), lookup.go (side files that fill
// fields), held.go (removals a reject holds back), pullsource.go (an API
// source's pages as rows).
package connector
