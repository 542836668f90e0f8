package connector

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/show"
)

// encodings maps a configured encoding to a decoder factory, given the
// file's first bytes. The UTF decoders honour a byte order mark and drop it.
var encodings = map[string]func(head []byte) transform.Transformer{
	"utf-8":        func([]byte) transform.Transformer { return unicode.BOMOverride(validUTF8{unicode.UTF8.NewDecoder()}) },
	"utf8":         func([]byte) transform.Transformer { return unicode.BOMOverride(validUTF8{unicode.UTF8.NewDecoder()}) },
	"windows-1252": func([]byte) transform.Transformer { return charmap.Windows1252.NewDecoder() },
	"cp1252":       func([]byte) transform.Transformer { return charmap.Windows1252.NewDecoder() },
	"iso-8859-1":   func([]byte) transform.Transformer { return charmap.ISO8859_1.NewDecoder() },
	"latin1":       func([]byte) transform.Transformer { return charmap.ISO8859_1.NewDecoder() },
	"utf-16": func(head []byte) transform.Transformer {
		order := unicode.LittleEndian
		if utf16BigEndian(head) {
			order = unicode.BigEndian
		}
		return unicode.BOMOverride(unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder())
	},
}

// validUTF8 decodes UTF-8 as its decoder dec does (each ill-formed
// sequence becomes U+FFFD), but passes a chunk that is valid UTF-8 as it
// is, in one copy: the decoder looks at the bytes one by one, which was 7%
// of the CPU of an ingest after a 1% change. A chunk that ends inside a
// character is not valid on its own and goes to dec, which waits for the
// rest.
type validUTF8 struct{ dec transform.Transformer }

func (v validUTF8) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	if len(src) <= len(dst) && utf8.Valid(src) {
		return copy(dst, src), len(src), nil
	}
	return v.dec.Transform(dst, src, atEOF)
}

func (v validUTF8) Reset() { v.dec.Reset() }

// utf16BigEndian reads the byte order of UTF-16 without a byte order mark
// from where the NUL bytes fall: the ASCII of a CSV header is 00 xx in
// big-endian and xx 00 in little-endian. Without a clear pattern it says
// little-endian, what Windows tools write.
func utf16BigEndian(head []byte) bool {
	var even, odd int
	for i := 0; i+1 < len(head); i += 2 {
		if head[i] == 0 {
			even++
		}
		if head[i+1] == 0 {
			odd++
		}
	}
	return even > odd
}

// sniffCandidates are the delimiters tried, in order of preference on a tie.
var sniffCandidates = []rune{';', ',', '\t', '|'}

// table reads a delimited file row by row, keeping each row's raw text (for
// the rejects table) and its line number.
type table struct {
	file   string
	csv    *csv.Reader
	rec    *recorder
	header []string
	from   int64 // the last row's text is from..prev
	prev   int64
	line   int
	// hint suggests an encoding for bytes invalid in the declared one.
	hint string
}

// recorder keeps the decoded bytes the CSV reader has consumed but not yet
// forgotten, so a row's raw text can be made when it is asked for (a
// reject): a string for every row was as many bytes again as the files.
type recorder struct {
	r    io.Reader
	buf  []byte // the text from offset base on
	base int64
}

func (r *recorder) Read(p []byte) (int, error) {
	if len(r.buf) > maxRow {
		// Not one row yet in all these bytes: a file without line ends
		// (zeros, a binary) would otherwise be held whole in memory.
		return 0, fmt.Errorf("no row ends within %d MiB (a binary file, or a quote never closed?)", maxRow>>20)
	}
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// maxRow bounds the text of one row (and so what reading one holds):
// a real row is a few hundred bytes, MaxField bounds each field.
const maxRow = 64 << 20

// forget drops the text before offset to. What is left (the CSV reader's
// read-ahead) moves to the front only once 64 KB were forgotten: moving it
// after every row would copy the read-ahead each time.
func (r *recorder) forget(to int64) {
	n := to - r.base
	if n < 64<<10 || n > int64(len(r.buf)) {
		return
	}
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	r.base = to
}

// bytes returns the raw bytes between offsets from and to (nil when they
// were forgotten), not to be kept.
func (r *recorder) bytes(from, to int64) []byte {
	lo, hi := from-r.base, to-r.base
	if lo < 0 || hi > int64(len(r.buf)) || lo > hi {
		return nil
	}
	return r.buf[lo:hi]
}

// text returns the raw text between offsets from and to.
func (r *recorder) text(from, to int64) string {
	lo, hi := from-r.base, to-r.base
	if lo < 0 || hi > int64(len(r.buf)) || lo > hi {
		return ""
	}
	return strings.TrimRight(string(r.buf[lo:hi]), "\r\n")
}

// crToLF turns old-Mac line endings (a lone CR) into LF.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := range p[:n] {
		if p[i] == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// errEmpty reports a file without even a header line.
var errEmpty = errors.New("file is empty (no header line)")

// newTable decodes r and reads its header. delimiter may be empty (sniffed).
func newTable(r io.Reader, file, encoding, delimiter string) (*table, error) {
	dec := encodings[strings.ToLower(encoding)]
	if dec == nil {
		return nil, fmt.Errorf("unknown encoding %s", show.Quote(encoding))
	}
	// Read in 64 KB: the file in 4 KB reads was a system call per 4 KB.
	raw := bufio.NewReaderSize(r, 64<<10)
	first, err := raw.Peek(4 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, atomicfile.Wrap("read", file, err)
	}
	br := bufio.NewReaderSize(transform.NewReader(raw, dec(first)), 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, atomicfile.Wrap("read", file, err)
	}
	if len(bytes.TrimSpace(head)) == 0 {
		return nil, fmt.Errorf("%s: %w", file, errEmpty)
	}
	var src io.Reader = br
	if bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(head, '\r') >= 0 {
		src = crToLF{br}
		head = bytes.ReplaceAll(head, []byte("\r"), []byte("\n"))
	}
	comma := ';'
	if delimiter != "" {
		comma, _ = utf8.DecodeRuneInString(delimiter)
	} else {
		comma = sniff(head)
	}
	t := &table{file: file, rec: &recorder{r: src}, hint: encodingHint(encoding)}
	t.csv = csv.NewReader(t.rec)
	t.csv.Comma = comma
	t.csv.FieldsPerRecord = -1
	header, err := t.next()
	if err != nil {
		return nil, fmt.Errorf("%s line 1: header: %w", file, err)
	}
	for i, h := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	t.header = header
	return t, nil
}

// sniff picks the candidate delimiter that occurs most often, outside quotes,
// in the first line.
func sniff(head []byte) rune {
	counts := map[rune]int{}
	inQuote := false
	for _, c := range string(head) {
		if c == '"' {
			inQuote = !inQuote
			continue
		}
		if !inQuote && (c == '\n' || c == '\r') {
			break
		}
		if !inQuote {
			counts[c]++
		}
	}
	best := sniffCandidates[0]
	for _, c := range sniffCandidates {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// next returns the next record; io.EOF at the end. A *csv.ParseError
// leaves the reader usable for the following rows.
func (t *table) next() ([]string, error) {
	t.rec.forget(t.prev)
	rec, err := t.csv.Read()
	t.from, t.prev = t.prev, t.csv.InputOffset()
	if err != nil {
		return nil, err
	}
	t.line, _ = t.csv.FieldPos(0)
	if t.crInside() {
		verbatim(rec, t.rawRecord(), t.csv.Comma)
	}
	return rec, nil
}

// crInside reports whether the last row's text holds a CR before its line
// end: only then may encoding/csv have folded a CR LF inside a quoted
// field to LF. One IndexByte over the row's bytes, which the common row
// (no CR, or CR LF only at its end) passes at once.
func (t *table) crInside() bool {
	b := t.rec.bytes(t.from, t.prev)
	for n := len(b); n > 0 && (b[n-1] == '\n' || b[n-1] == '\r'); n-- {
		b = b[:n-1]
	}
	return bytes.IndexByte(b, '\r') >= 0
}

// rawRecord is the last row's text without the blank lines encoding/csv
// skipped before it and without its line end.
func (t *table) rawRecord() string {
	s := t.rec.text(t.from, t.prev)
	for {
		switch {
		case strings.HasPrefix(s, "\n"):
			s = s[1:]
		case strings.HasPrefix(s, "\r\n"):
			s = s[2:]
		default:
			return s
		}
	}
}

// verbatim puts back the CR LF pairs encoding/csv folded to LF inside
// quoted fields (SPEC: any text is stored verbatim). raw is the record's
// text, which the reader accepted, so it splits as encoding/csv splits it;
// a field is replaced only when the split agrees with rec but for those
// line ends.
func verbatim(rec []string, raw string, comma rune) {
	fields := splitRecord(raw, comma)
	if len(fields) != len(rec) {
		return
	}
	for i, f := range fields {
		if f != rec[i] && strings.ReplaceAll(f, "\r\n", "\n") == rec[i] {
			rec[i] = f
		}
	}
}

// splitRecord splits one well-formed record (strict quoting, as
// encoding/csv reads it) into its fields, keeping every byte of a quoted
// field.
func splitRecord(raw string, comma rune) []string {
	var out []string
	sep := string(comma)
	for {
		if !strings.HasPrefix(raw, `"`) {
			f, rest, more := strings.Cut(raw, sep)
			out = append(out, f)
			if !more {
				return out
			}
			raw = rest
			continue
		}
		var b strings.Builder
		raw = raw[1:]
		for {
			i := strings.IndexByte(raw, '"')
			if i < 0 { // cannot happen in a record the reader accepted
				b.WriteString(raw)
				return append(out, b.String())
			}
			b.WriteString(raw[:i])
			raw = raw[i+1:]
			if strings.HasPrefix(raw, `"`) {
				b.WriteByte('"')
				raw = raw[1:]
				continue
			}
			break
		}
		out = append(out, b.String())
		if !strings.HasPrefix(raw, sep) {
			return out
		}
		raw = raw[len(sep):]
	}
}

// raw returns the text of the row the last next call read, without its
// line end.
func (t *table) raw() string { return t.rec.text(t.from, t.prev) }

// index resolves header names (case and surrounding space ignored) to
// column positions. Duplicate headers are an error only when mapped.
func (t *table) index(name string) (int, error) {
	found := -1
	for i, h := range t.header {
		if strings.EqualFold(h, strings.TrimSpace(name)) {
			if found >= 0 {
				return -1, fmt.Errorf("%s line 1: column %s appears twice (columns %d and %d)", t.file, show.Quote(name), found+1, i+1)
			}
			found = i
		}
	}
	return found, nil
}

// encodingHint is what a row with bytes invalid in the declared encoding
// most likely means. A byte that is not UTF-8 in an HR export is almost
// always an accented letter written by a Windows tool (é as E9), and
// windows-1252 reads every byte; UTF-16 would show NULs instead.
func encodingHint(declared string) string {
	switch strings.ToLower(declared) {
	case "", "utf-8", "utf8":
		return ": looks like windows-1252: set encoding: windows-1252"
	}
	return ""
}
