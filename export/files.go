package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
)

// ManifestName is the file that ties one export's files together. It is
// written last: a reader that finds files whose checksums do not match it
// is looking at an export being replaced (or a killed one) and must wait.
const ManifestName = "export.json"

// HistoryDir holds earlier exports, one folder per export id.
const HistoryDir = "history"

// FileInfo describes one exported file.
type FileInfo struct {
	File   string `json:"file"`
	Rows   int    `json:"rows"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is export.json.
type Manifest struct {
	ExportID string   `json:"export_id"`
	Date     string   `json:"date"`
	Created  string   `json:"created"`
	Persons  FileInfo `json:"persons"`
	Roles    FileInfo `json:"roles"`
}

// Files returns the data files, for Verify. (Push delivers persons.csv
// first and roles.csv second, and undoes a half-renamed set: see
// pipeline/push.go.)
func (m *Manifest) Files() []FileInfo { return []FileInfo{m.Roles, m.Persons} }

// Writer writes one export's files as the rows come: persons.csv and
// roles.csv go to temporary names in the folder, summed as they are
// written; nothing is visible until Commit.
type Writer struct {
	dir            string
	created        bool // dir did not exist: Discard removes it again if empty
	committed      bool
	cfg            *Config
	persons, roles *atomicfile.Staging
	pw, rw         *csvWriter
	pending        []*atomicfile.Pending
	layout         *layoutWriter // RecordLayout's
	splice         *splice       // Splice's
}

// NewWriter starts an export into dir (made 0700 if missing; temporary
// files left by a killed export are removed).
func NewWriter(dir string, cfg *Config) (_ *Writer, err error) {
	_, statErr := os.Lstat(dir)
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return nil, err
	}
	if _, err := atomicfile.CleanTemp(dir); err != nil {
		return nil, fmt.Errorf("clean leftover temporary files: %w", err) // names dir
	}
	w := &Writer{dir: dir, cfg: cfg, created: errors.Is(statErr, os.ErrNotExist)}
	if w.roles, err = atomicfile.Begin(filepath.Join(dir, cfg.Roles.File)); err != nil {
		return nil, fmt.Errorf("write export: %w", err)
	}
	if w.persons, err = atomicfile.Begin(filepath.Join(dir, cfg.Persons.File)); err != nil {
		w.Discard()
		return nil, fmt.Errorf("write export: %w", err)
	}
	w.pw = newCSV(w.persons, cfg.Persons, columnsAt(cfg.Persons.Columns, personAt), cfg)
	w.rw = newCSV(w.roles, cfg.Roles, columnsAt(cfg.Roles.Columns, roleAt), cfg)
	return w, nil
}

// Rows writes one person's rows (persons in employee order, so both files
// come out sorted).
func (w *Writer) Rows(p *PersonRows) error {
	if w.splice != nil {
		if err := w.splice.upTo(p.Person[keyAt], false); err != nil {
			return err
		}
	}
	if w.layout == nil {
		w.writeRows(p)
		return nil
	}
	p0, r0 := w.pw.pos(), w.rw.pos()
	w.writeRows(p)
	return w.layout.add(layoutEntry{emp: p.Person[keyAt], persons: w.pw.pos() - p0, roles: w.rw.pos() - r0, nroles: int64(len(p.Roles))})
}

func (w *Writer) writeRows(p *PersonRows) {
	w.pw.row(p.Person)
	for _, r := range p.Roles {
		w.rw.row(r)
	}
}

// RecordLayout has the writer record where each person's rows are in its
// files (layout.go), handing put the layout's chunks as they fill and
// chunk 0 at Close. An export that copies the last files whole (Copy)
// records none: the last one still holds.
func (w *Writer) RecordLayout(put func(seq int, data []byte) error) {
	w.layout = &layoutWriter{put: put}
}

// Copy writes the data files of the export last describes, read from dir,
// as this export's files: an export whose rows are the last export's
// (unchanged inputs) need not build them again. It reports false, having
// written nothing, unless dir holds those files byte for byte (checked
// against last) under this configuration's names and header. The files
// are streamed, twice: once to check them, once to copy them, so memory
// stays flat whatever their size.
func (w *Writer) Copy(dir string, last *Manifest) (bool, error) {
	heads, ok, err := w.sameFiles(dir, last)
	if !ok || err != nil {
		return false, err
	}
	w.layout = nil
	files := []struct {
		c    *csvWriter
		info FileInfo
	}{{w.pw, last.Persons}, {w.rw, last.Roles}}
	for i, f := range files {
		// Rows are written now: a file that changed since its check (or a
		// failed write) fails the export instead of falling back.
		ok, err := sameFile(filepath.Join(dir, f.info.File), f.info, heads[i], f.c.bw)
		if err == nil && !ok {
			err = errors.New("it changed while it was copied")
		}
		if err != nil {
			return true, fmt.Errorf("copy the last export's %s: %w", f.info.File, err)
		}
		f.c.rows = f.info.Rows
	}
	return true, nil
}

// sameFile reports whether path holds the bytes info describes (size and
// SHA-256) and starts with head, reading it once; what follows head goes
// to out as it is read. err is out's or the read's error.
func sameFile(path string, info FileInfo, head []byte, out io.Writer) (bool, error) {
	f, err := openRegular(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	n, sum, headOK, err := readSummed(f, info.Size, head, out)
	if err != nil || !headOK {
		return false, err
	}
	return n == info.Size && sum == info.SHA256, nil
}

// openRegular opens path for reading only when it is a regular file, not
// a link, a pipe or a device: the open of a pipe put in the export folder
// would block, past any signal, until something writes to it, and a link
// would read another file than the one an export wrote.
func openRegular(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !os.SameFile(fi, st) {
		f.Close()
		return nil, fmt.Errorf("%s was replaced while it was opened", path)
	}
	return f, nil
}

// readSummed reads r through SHA-256 (hex) up to one byte past size, so a
// file that grew is found without reading all of it: what follows head
// goes to out, and headOK says whether r started with head (nothing is
// read on when it did not). n counts every byte read, head included.
func readSummed(r io.Reader, size int64, head []byte, out io.Writer) (n int64, sum string, headOK bool, err error) {
	h := sha256.New()
	tr := io.TeeReader(io.LimitReader(r, size+1), h)
	got := make([]byte, len(head))
	if _, err := io.ReadFull(tr, got); err != nil || !bytes.Equal(got, head) {
		return 0, "", false, nil
	}
	n, err = io.Copy(out, tr)
	return int64(len(head)) + n, hex.EncodeToString(h.Sum(nil)), true, err
}

// Close finishes both files (flushed and fsynced, still under temporary
// names) and returns their manifest.
func (w *Writer) Close(id, date string) (*Manifest, error) {
	m := &Manifest{ExportID: id, Date: date, Created: time.Now().UTC().Format(time.RFC3339)}
	var err error
	if m.Roles, err = w.rw.finish(w.cfg.Roles.File); err != nil {
		return nil, fmt.Errorf("write export: %w", err)
	}
	if m.Persons, err = w.pw.finish(w.cfg.Persons.File); err != nil {
		return nil, fmt.Errorf("write export: %w", err)
	}
	if w.layout != nil {
		if err := w.layout.finish(m); err != nil {
			return nil, err
		}
	}
	for _, s := range []**atomicfile.Staging{&w.roles, &w.persons} {
		p, err := (*s).Done()
		*s = nil
		if err != nil {
			return nil, fmt.Errorf("write export: %w", err)
		}
		w.pending = append(w.pending, p)
	}
	return m, nil
}

// Discard removes whatever the writer staged (and the folder, if the
// writer made it and nothing was committed): a stopped export leaves the
// folder as it was.
func (w *Writer) Discard() {
	if w.splice != nil {
		w.splice.close()
		w.splice = nil
	}
	for _, s := range []*atomicfile.Staging{w.roles, w.persons} {
		if s != nil {
			s.Abort()
		}
	}
	for _, p := range w.pending {
		p.Discard()
	}
	w.roles, w.persons, w.pending = nil, nil, nil
	if w.created && !w.committed {
		os.Remove(w.dir) // only if empty
		w.created = false
	}
}

// Commit makes a closed export visible: the previous export is linked into
// history/<its id>/ (unless history is false: the --out case), then roles,
// persons and, last, the manifest are renamed into place. keep bounds the
// history folders (0: all).
func (w *Writer) Commit(m *Manifest, history bool, keep int) error {
	w.committed = true // from here on files may be in place
	defer w.Discard()
	if history {
		if err := archive(w.dir); err != nil {
			return err
		}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	p, err := atomicfile.Stage(filepath.Join(w.dir, ManifestName), func(f io.Writer) error {
		_, err := f.Write(append(manifest, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	w.pending = append(w.pending, p)
	for len(w.pending) > 0 {
		if err := w.pending[0].Commit(); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		w.pending = w.pending[1:]
	}
	if history && keep > 0 {
		_, err := PruneHistory(w.dir, keep)
		return err
	}
	return nil
}

// archive links (or copies) the current export into history/<id>/.
func archive(dir string) error {
	cur, err := ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		// A broken manifest is a killed export's leftover: nothing to keep.
		return nil
	}
	dst := filepath.Join(dir, HistoryDir, cur.ExportID)
	if err := atomicfile.MkdirPrivate(dst); err != nil {
		return err
	}
	for _, name := range []string{cur.Roles.File, cur.Persons.File, ManifestName} {
		src, to := filepath.Join(dir, name), filepath.Join(dst, name)
		if _, err := os.Lstat(to); err == nil {
			continue
		}
		if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
			continue // never archive what a link points at
		}
		if err := os.Link(src, to); err != nil {
			if err := copyFile(src, to); err != nil && !errors.Is(err, os.ErrNotExist) {
				return atomicfile.Wrap("archive", src, err)
			}
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// PruneHistory keeps the newest keep folders under dir/history (ids sort
// by time) and returns how many it removed.
func PruneHistory(dir string, keep int) (int, error) {
	hist := filepath.Join(dir, HistoryDir)
	entries, err := os.ReadDir(hist)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	removed := 0
	for len(ids) > keep {
		if err := os.RemoveAll(filepath.Join(hist, ids[0])); err != nil {
			return removed, fmt.Errorf("prune export history: %w", err)
		}
		ids = ids[1:]
		removed++
	}
	return removed, nil
}

// ReadManifest reads dir/export.json.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return &m, nil
}

// ErrInconsistent means the files in an export folder do not match its
// manifest: an export was killed mid-way (run export again).
var ErrInconsistent = errors.New("export files do not match export.json")

// Verify checks that the files in dir are those the manifest describes,
// streaming them through SHA-256 (memory stays flat whatever their size).
// The caller reads them again to use them, and must check what it reads
// against the manifest once more: they may change in between.
func Verify(dir string, m *Manifest) error {
	for _, f := range m.Files() {
		path := filepath.Join(dir, f.File)
		size, sum, err := hashFile(path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInconsistent, err)
		}
		if sum != f.SHA256 || size != f.Size {
			return fmt.Errorf("%w: %s has sha256 %s, export.json says %s", ErrInconsistent, path, sum, f.SHA256)
		}
	}
	return nil
}

// hashFile returns the size and SHA-256 (hex) of the whole file at path,
// so a mismatch names the file's own sum.
func hashFile(path string) (int64, string, error) {
	f, err := openRegular(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	n, sum, _, err := readSummed(f, math.MaxInt64-1, nil, io.Discard)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return n, sum, nil
}
