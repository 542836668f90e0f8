package connector

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// Table reads a delimited file as sources are read (encoding decoded with
// its byte order mark, delimiter sniffed when not given, lone CRs taken as
// line ends, rows bounded), for other readers of exported lists:
// spendsync reconcile reads a target's own account list with it.
type Table struct{ t *table }

// OpenTable decodes r and reads its header; file names it in errors.
// An empty encoding is UTF-8; an empty delimiter is sniffed.
func OpenTable(r io.Reader, file, encoding, delimiter string) (*Table, error) {
	if encoding == "" {
		encoding = "utf-8"
	}
	t, err := newTable(r, file, encoding, delimiter)
	if err != nil {
		return nil, err
	}
	return &Table{t}, nil
}

// Header returns the header's fields, trimmed.
func (t *Table) Header() []string { return t.t.header }

// Column returns the position of the header name (case and surrounding
// space ignored), -1 when missing; a name mapped twice is an error.
func (t *Table) Column(name string) (int, error) { return t.t.index(name) }

// Next returns the next record and its line; io.EOF at the end. A
// malformed row is an error naming the file, line and column.
func (t *Table) Next() ([]string, int, error) {
	rec, err := t.t.next()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.Line, fmt.Errorf("%s line %d column %d: %w", t.t.file, pe.Line, pe.Column, pe.Err)
		}
		return nil, 0, err
	}
	return rec, t.t.line, nil
}
