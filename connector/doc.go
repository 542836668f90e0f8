// Package connector reads HR source exports (CSV in any of the supported
// encodings and delimiters), maps their columns to the canonical model and
// validates each row, reporting bad rows as rejects instead of failing.
package connector
