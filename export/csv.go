package export

import (
	"bufio"
	"io"
	"strings"
)

// writeCSV writes rows under the configured columns. encoding/csv cannot
// quote every field, which the Spend Cloud import (like the HelloID
// connector's files) expects, so quoting is done here: a field is quoted
// when quote is all or it holds the delimiter, a quote, CR or LF; quotes
// inside are doubled.
func writeCSV(w io.Writer, fc FileConfig, rows []Row, cfg *Config) error {
	bw := bufio.NewWriter(w)
	if *cfg.BOM {
		bw.WriteString("\ufeff")
	}
	eol := "\r\n"
	if cfg.LineEnding == "lf" {
		eol = "\n"
	}
	all := cfg.Quote == "all"
	line := func(fields []string) {
		for i, f := range fields {
			if i > 0 {
				bw.WriteString(fc.Delimiter)
			}
			if all || strings.ContainsAny(f, fc.Delimiter+"\"\r\n") {
				bw.WriteByte('"')
				bw.WriteString(strings.ReplaceAll(f, `"`, `""`))
				bw.WriteByte('"')
			} else {
				bw.WriteString(f)
			}
		}
		bw.WriteString(eol)
	}
	header := make([]string, len(fc.Columns))
	for i, c := range fc.Columns {
		header[i] = c.Header
	}
	line(header)
	fields := make([]string, len(fc.Columns))
	for _, r := range rows {
		for i, c := range fc.Columns {
			fields[i] = r[c.Field]
		}
		line(fields)
	}
	return bw.Flush()
}
