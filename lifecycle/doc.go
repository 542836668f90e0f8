// Package lifecycle owns the SQLite state: persons, contracts, the event
// log, rejects, runs and the last export. It applies the changes an ingest
// planned (Apply) in one transaction, records every change as an event,
// stages a large ingest's joiners on disk (Stage), reads and records
// exports, and guards the database with a lock. The diff itself is the
// ingest engine's; this package only stores its outcome.
//
// spendsync talks to SQLite only here (sqlite.go: one connection, handed
// to one goroutine at a time), always with bound parameters; HelloID's
// connector database is read here too (ReadHelloID). Rows are written by
// one batch inserter (insert.go), from a producer's goroutine through one
// background writer (writer.go).
package lifecycle
