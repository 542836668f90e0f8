// Package lifecycle owns the SQLite state: persons, contracts, the event
// log, rejects and runs. It diffs what a source says against what is stored,
// records every change as an event, and guards the database with a lock.
// All SQL of spendsync lives here, and all of it is parameterised.
package lifecycle
