// Package export computes the daily full dump (persons.csv and roles.csv)
// from the stored state and writes it deterministically and atomically.
package export
