package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gocarina/gocsv"
)

// render writes rows as an aligned table, CSV, or (from value) JSON.
func render(w io.Writer, format string, header []string, rows [][]string, value any) error {
	switch format {
	case "", "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			cells := make([]string, len(r))
			for i, c := range r {
				// Keep a hostile value from breaking the table's layout.
				cells[i] = strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(c)
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		return tw.Flush()
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(value)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(header)
		cw.WriteAll(rows)
		return cw.Error()
	}
	return &usageError{fmt.Errorf("--format must be table, json or csv, not %q", format)}
}

// renderList writes items as an aligned table of their rows or as JSON
// (an empty list as []), or as CSV of their records, which name their
// columns in csv tags.
func renderList[T, R any](w io.Writer, format string, header []string, items []T, record func(T) R, row func(T) []string) error {
	if format == "csv" {
		records := make([]R, len(items))
		for i, it := range items {
			records[i] = record(it)
		}
		return gocsv.Marshal(records, w)
	}
	rows := make([][]string, len(items))
	for i, it := range items {
		rows[i] = row(it)
	}
	return render(w, format, header, rows, nonNil(items))
}

// checkFormat accepts format if it is one of allowed (default: all three).
func checkFormat(format string, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = []string{"table", "json", "csv"}
	}
	if slices.Contains(allowed, format) {
		return nil
	}
	return &usageError{fmt.Errorf("--format must be %s, not %q", strings.Join(allowed, " or "), format)}
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// nonNil is s, or an empty slice for nil: JSON lists print as [], not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
