package export

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strings"
)

// csvWriter writes rows under the configured columns, one at a time, and
// sums what it writes. encoding/csv cannot quote every field, which the
// Spend Cloud import (like the HelloID connector's files) expects, so
// quoting is done here: a field is quoted when quote is all or it holds
// the delimiter, a quote, CR or LF; quotes inside are doubled.
type csvWriter struct {
	bw      *bufio.Writer
	sum     hash.Hash
	size    int64
	rows    int
	delim   string
	special string
	eol     string
	all     bool
	cols    []int
}

// newCSV starts a file for fc (its BOM and header) on w; cols are the
// positions of fc's columns in the rows it will be given.
func newCSV(w io.Writer, fc FileConfig, cols []int, cfg *Config) *csvWriter {
	c := &csvWriter{sum: sha256.New(), delim: fc.Delimiter, special: fc.Delimiter + "\"\r\n", eol: "\r\n",
		all: cfg.Quote == "all", cols: cols}
	c.bw = bufio.NewWriterSize(io.MultiWriter(w, c.sum, (*counter)(&c.size)), 64<<10)
	if cfg.LineEnding == "lf" {
		c.eol = "\n"
	}
	if *cfg.BOM {
		c.bw.WriteString("\ufeff")
	}
	header := make([]string, len(fc.Columns))
	for i, col := range fc.Columns {
		header[i] = col.Header
	}
	c.line(header)
	return c
}

type counter int64

func (n *counter) Write(p []byte) (int, error) { *n += counter(len(p)); return len(p), nil }

func (c *csvWriter) line(fields []string) {
	for i, f := range fields {
		if i > 0 {
			c.bw.WriteString(c.delim)
		}
		c.field(f)
	}
	c.bw.WriteString(c.eol)
}

func (c *csvWriter) field(f string) {
	if c.all || strings.ContainsAny(f, c.special) {
		c.bw.WriteByte('"')
		for {
			i := strings.IndexByte(f, '"')
			if i < 0 {
				break
			}
			c.bw.WriteString(f[:i+1])
			c.bw.WriteByte('"')
			f = f[i+1:]
		}
		c.bw.WriteString(f)
		c.bw.WriteByte('"')
	} else {
		c.bw.WriteString(f)
	}
}

// pos is how many bytes the file has so far.
func (c *csvWriter) pos() int64 { return c.size + int64(c.bw.Buffered()) }

// row writes one row.
func (c *csvWriter) row(r Row) {
	for n, i := range c.cols {
		if n > 0 {
			c.bw.WriteString(c.delim)
		}
		c.field(r[i])
	}
	c.bw.WriteString(c.eol)
	c.rows++
}

// finish flushes the file and describes it.
func (c *csvWriter) finish(name string) (FileInfo, error) {
	if err := c.bw.Flush(); err != nil {
		return FileInfo{}, err
	}
	return FileInfo{File: name, Rows: c.rows, Size: c.size, SHA256: hex.EncodeToString(c.sum.Sum(nil))}, nil
}
