package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// Files returns the data files in delivery order: roles before persons, so
// an importer never sees persons without their roles.
func (m *Manifest) Files() []FileInfo { return []FileInfo{m.Roles, m.Persons} }

// Render produces the two files' bytes and the manifest, without writing.
func Render(d *Dump, id string, cfg *Config) (persons, roles []byte, m *Manifest, err error) {
	var pb, rb bytes.Buffer
	if err := writeCSV(&pb, cfg.Persons, d.Persons, cfg); err != nil {
		return nil, nil, nil, err
	}
	if err := writeCSV(&rb, cfg.Roles, d.Roles, cfg); err != nil {
		return nil, nil, nil, err
	}
	m = &Manifest{ExportID: id, Date: d.Date, Created: time.Now().UTC().Format(time.RFC3339),
		Persons: info(cfg.Persons.File, len(d.Persons), pb.Bytes()),
		Roles:   info(cfg.Roles.File, len(d.Roles), rb.Bytes())}
	return pb.Bytes(), rb.Bytes(), m, nil
}

func info(name string, rows int, data []byte) FileInfo {
	sum := sha256.Sum256(data)
	return FileInfo{File: name, Rows: rows, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}

// Write puts an export into dir: both files go to temporary names first,
// the previous export is linked into history/<its id>/, then roles, persons
// and, last, the manifest are renamed into place. With history false (the
// --out case) nothing is archived. keep bounds the history folders (0: all).
func Write(dir string, persons, roles []byte, m *Manifest, history bool, keep int) error {
	if err := atomicfile.MkdirPrivate(dir); err != nil {
		return err
	}
	if _, err := atomicfile.CleanTemp(dir); err != nil {
		return fmt.Errorf("clean leftover temporary files: %w", err) // names dir
	}
	if history {
		if err := archive(dir); err != nil {
			return err
		}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	var staged []*atomicfile.Pending
	defer func() {
		for _, p := range staged {
			p.Discard()
		}
	}()
	for _, f := range []struct {
		name string
		data []byte
	}{{m.Roles.File, roles}, {m.Persons.File, persons}, {ManifestName, append(manifest, '\n')}} {
		p, err := atomicfile.Stage(filepath.Join(dir, f.name), func(w io.Writer) error {
			_, err := w.Write(f.data)
			return err
		})
		if err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		staged = append(staged, p)
	}
	for len(staged) > 0 {
		if err := staged[0].Commit(); err != nil {
			return fmt.Errorf("write export: %w", err)
		}
		staged = staged[1:]
	}
	if history && keep > 0 {
		_, err := PruneHistory(dir, keep)
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

// Verify checks that the files in dir are those the manifest describes and
// returns their contents.
func Verify(dir string, m *Manifest) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, f := range m.Files() {
		data, err := os.ReadFile(filepath.Join(dir, f.File))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInconsistent, err)
		}
		if got := info(f.File, f.Rows, data); got.SHA256 != f.SHA256 || got.Size != f.Size {
			return nil, fmt.Errorf("%w: %s has sha256 %s, export.json says %s", ErrInconsistent, filepath.Join(dir, f.File), got.SHA256, f.SHA256)
		}
		out[f.File] = data
	}
	return out, nil
}
