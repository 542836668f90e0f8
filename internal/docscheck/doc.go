// Package docscheck holds no code: its test keeps README.md and docs/
// self-contained, so a user of the repository never meets a link into files
// only the developers had.
package docscheck
