package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// writeDump writes one person with a role into dir with cfg and returns
// the export's manifest.
func writeDump(t *testing.T, dir string, cfg *Config) *Manifest {
	t.Helper()
	p := PersonRow(map[string]string{"employee_number": "001", "first_name": "A", "username": "u1"})
	r := RoleRow(map[string]string{"employee_number": "001", "username": "u1", "ou_code": "FIN"})
	m, _, _ := writeRows(t, dir, cfg, []*PersonRows{{Person: p, Roles: []Row{r}}}, nil)
	return m
}

// copyWriter is a Writer into a folder of its own, discarded with the test.
func copyWriter(t *testing.T, cfg *Config) *Writer {
	t.Helper()
	w, err := NewWriter(filepath.Join(t.TempDir(), "copy"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Discard)
	return w
}

func validConfig(t *testing.T) *Config {
	t.Helper()
	cfg := Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

// Copy takes the last export's files only as the manifest recorded them
// and with this configuration's header; otherwise it writes nothing and
// the caller builds the rows.
func TestCopyTakesTheLastFilesOnlyAsRecorded(t *testing.T) {
	dir := t.TempDir()
	cfg := validConfig(t)
	last := writeDump(t, dir, cfg)
	persons, _ := os.ReadFile(filepath.Join(dir, cfg.Persons.File))

	w := copyWriter(t, cfg)
	if ok, err := w.Copy(dir, last); !ok || err != nil {
		t.Fatalf("copy of intact files: %v %v", ok, err)
	}
	m, err := w.Close("2", "2025-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if m.Persons.SHA256 != last.Persons.SHA256 || m.Roles.SHA256 != last.Roles.SHA256 || m.Persons.Rows != 1 || m.Roles.Rows != 1 {
		t.Errorf("copied manifest %+v, want the files of %+v", m, last)
	}

	other := validConfig(t)
	other.Persons.Columns = append(other.Persons.Columns, Column{Header: "Extra", Field: "first_name"})
	if ok, _ := copyWriter(t, other).Copy(dir, last); ok {
		t.Error("copied files under another header")
	}

	if err := os.WriteFile(filepath.Join(dir, cfg.Persons.File), append(persons, 'x'), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, _ := copyWriter(t, cfg).Copy(dir, last); ok {
		t.Error("copied an edited file")
	}
}

// sameFile accepts a file only when its size, SHA-256 and head are the
// recorded ones, and writes only what follows the head.
func TestSameFileAcceptsOnlyTheRecordedBytes(t *testing.T) {
	dir := t.TempDir()
	want := []byte("head\nrow 1\nrow 2\n")
	rec := info("f.csv", 2, want)
	for _, c := range []struct {
		name string
		data []byte // nil: no file
		head string
		ok   bool
	}{
		{"as recorded", want, "head\n", true},
		{"one byte changed", []byte("head\nrow 1\nrow 3\n"), "head\n", false},
		{"longer", append(append([]byte{}, want...), "row 3\n"...), "head\n", false},
		{"shorter", want[:len(want)-1], "head\n", false},
		{"another header", want, "HEAD\n", false},
		{"gone", nil, "head\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".csv")
			if c.data != nil {
				if err := os.WriteFile(path, c.data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			ok, err := sameFile(path, rec, []byte(c.head), &out)
			if err != nil || ok != c.ok {
				t.Fatalf("sameFile = %v, %v; want %v", ok, err, c.ok)
			}
			if ok && out.String() != "row 1\nrow 2\n" {
				t.Errorf("wrote %q, want the rows after the head", out.String())
			}
		})
	}
}

// info describes data as the manifest would.
func info(name string, rows int, data []byte) FileInfo {
	sum := sha256.Sum256(data)
	return FileInfo{File: name, Rows: rows, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
}
