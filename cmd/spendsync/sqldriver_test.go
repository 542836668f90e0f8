package main

// The tests read the database files through database/sql; the store
// itself talks to SQLite without it, so the driver is registered here.
import _ "modernc.org/sqlite"
