package export

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chunks keeps a layout as an ExportWriter stores it.
type chunks map[int][]byte

func (c chunks) put(seq int, data []byte) error { c[seq] = data; return nil }

// reader reads c as ExportReader.Layout does: chunk 0, then the rest in
// order, nil at the end.
func (c chunks) reader() func() ([]byte, error) {
	seq, n := 0, len(c)
	return func() ([]byte, error) {
		for ; seq < n+1; seq++ {
			if b, ok := c[seq]; ok {
				seq++
				return b, nil
			}
		}
		return nil, nil
	}
}

// spliceRows makes persons' rows: some without a role, some with two, and
// values that need quotes and span lines, so a person's bytes are not
// one line per row.
func spliceRows(emps []string, tag string) []*PersonRows {
	var out []*PersonRows
	for i, emp := range emps {
		p := &PersonRows{Person: PersonRow(map[string]string{"employee_number": emp, "first_name": "A;\"" + tag + "\"\nline",
			"username": "u" + emp})}
		for r := range i % 3 {
			p.Roles = append(p.Roles, RoleRow(map[string]string{"employee_number": emp, "username": "u" + emp,
				"ou_code": fmt.Sprintf("OU%d\r\n%s", r, tag)}))
		}
		out = append(out, p)
	}
	return out
}

func numbers(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%06d", i))
	}
	return out
}

// writeRows writes rows into dir as a whole export, recording its layout
// into c (unless nil), and returns the manifest and the files.
func writeRows(t *testing.T, dir string, cfg *Config, rows []*PersonRows, c chunks) (*Manifest, string, string) {
	t.Helper()
	w, err := NewWriter(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	if c != nil {
		w.RecordLayout(c.put)
	}
	for _, p := range rows {
		if err := w.Rows(p); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close("1", "2025-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(m, true, 0); err != nil {
		t.Fatal(err)
	}
	return m, read(t, filepath.Join(dir, cfg.Persons.File)), read(t, filepath.Join(dir, cfg.Roles.File))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A splice makes, from the last files and the changed persons' rows, the
// files and the layout a writer given every person's rows makes: changed
// persons replaced, removed ones gone, joiners in their place, before,
// between and after the copied ones.
func TestASpliceMakesTheFilesAWholeWriteMakes(t *testing.T) {
	cfg := validConfig(t)
	last, lastChunks := t.TempDir(), chunks{}
	all := spliceRows(numbers(10, 3000), "old") // more than a read buffer of bytes
	m, _, _ := writeRows(t, last, cfg, all, lastChunks)

	// 000010 changed, 000500 left, 000501 changed, 000005 and 001000x
	// joined, 002999 changed: the last person.
	changed := []string{"000005", "000010", "000500", "000501", "001000x", "002999"}
	newRow := func(emp string) *PersonRows { return spliceRows([]string{emp}, "new")[0] }
	walked := []*PersonRows{newRow("000005"), newRow("000010"), newRow("000501"), newRow("001000x"), newRow("002999")}
	var want []*PersonRows
	for _, p := range all {
		emp := p.Person[keyAt]
		switch emp {
		case "000010":
			want = append(want, newRow("000005"), newRow(emp))
		case "000500":
		case "000501", "002999":
			want = append(want, newRow(emp))
		case "001000":
			want = append(want, p, newRow("001000x"))
		default:
			want = append(want, p)
		}
	}
	wantChunks := chunks{}
	_, wantPersons, wantRoles := writeRows(t, t.TempDir(), cfg, want, wantChunks)

	out, gotChunks := t.TempDir(), chunks{}
	w, err := NewWriter(out, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Discard()
	w.RecordLayout(gotChunks.put)
	if ok, err := w.Splice(last, m, lastChunks.reader, changed); !ok || err != nil {
		t.Fatalf("splice of intact files: %v %v", ok, err)
	}
	for _, p := range walked {
		if err := w.Rows(p); err != nil {
			t.Fatal(err)
		}
	}
	carried, err := w.SpliceRest()
	if err != nil {
		t.Fatal(err)
	}
	if carried.Persons != len(all)-4 {
		t.Errorf("carried %d persons, want %d", carried.Persons, len(all)-4)
	}
	got, err := w.Close("2", "2025-01-02")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(got, false, 0); err != nil {
		t.Fatal(err)
	}
	if p := read(t, filepath.Join(out, cfg.Persons.File)); p != wantPersons {
		t.Errorf("spliced persons.csv differs from a whole write (%d bytes, want %d)", len(p), len(wantPersons))
	}
	if r := read(t, filepath.Join(out, cfg.Roles.File)); r != wantRoles {
		t.Errorf("spliced roles.csv differs from a whole write (%d bytes, want %d)", len(r), len(wantRoles))
	}
	if len(gotChunks) != len(wantChunks) {
		t.Fatalf("%d layout chunks, want %d", len(gotChunks), len(wantChunks))
	}
	for seq, b := range wantChunks {
		if !bytes.Equal(gotChunks[seq], b) {
			t.Errorf("layout chunk %d differs from a whole write's", seq)
		}
	}
}

// A splice takes the last files only as recorded, and only with a layout
// that names them and adds up to them; otherwise it writes nothing and
// the caller carries the stored rows.
func TestASpliceTakesTheLastFilesOnlyWithTheirLayout(t *testing.T) {
	cfg := validConfig(t)
	rows := spliceRows(numbers(1, 50), "x")
	try := func(t *testing.T, spoil func(dir string, m *Manifest, c chunks)) bool {
		dir, c := t.TempDir(), chunks{}
		m, _, _ := writeRows(t, dir, cfg, rows, c)
		spoil(dir, m, c)
		w := copyWriter(t, cfg)
		ok, err := w.Splice(dir, m, c.reader, []string{"000003"})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !try(t, func(string, *Manifest, chunks) {}) {
		t.Fatal("no splice of intact files and layout")
	}
	cases := []struct {
		name  string
		spoil func(dir string, m *Manifest, c chunks)
	}{
		{"no layout", func(_ string, _ *Manifest, c chunks) { clear(c) }},
		{"a layout of other files", func(_ string, _ *Manifest, c chunks) { c[0] = []byte("layout 1 aa bb") }},
		{"a layout cut short", func(_ string, _ *Manifest, c chunks) { c[1] = c[1][:len(c[1])-3] }},
		{"a layout one person short", func(_ string, _ *Manifest, c chunks) {
			e, _, _ := (&layoutReader{next: chunks{0: c[1]}.reader()}).read()
			c[1] = c[1][len(encode(e)):]
		}},
		{"a layout out of order", func(_ string, _ *Manifest, c chunks) {
			c[1] = append(encode(layoutEntry{emp: "999999"}), c[1]...)
		}},
		{"a file edited", func(dir string, m *Manifest, _ chunks) {
			p := filepath.Join(dir, m.Persons.File)
			os.WriteFile(p, []byte(strings.Replace(read(t, p), "u000002", "u000009", 1)), 0o600)
		}},
		{"a file gone", func(dir string, m *Manifest, _ chunks) { os.Remove(filepath.Join(dir, m.Roles.File)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if try(t, tc.spoil) {
				t.Error("spliced anyway")
			}
		})
	}
}

func encode(e layoutEntry) []byte {
	l := &layoutWriter{put: func(int, []byte) error { return nil }}
	l.add(e)
	return l.buf
}

// A last file that changes once the splice has checked it fails the
// export: its copy is not this export's dump.
func TestALastFileChangedDuringTheSpliceFailsIt(t *testing.T) {
	cfg := validConfig(t)
	dir, c := t.TempDir(), chunks{}
	m, persons, _ := writeRows(t, dir, cfg, spliceRows(numbers(1, 20000), "x"), c)
	w := copyWriter(t, cfg)
	if ok, err := w.Splice(dir, m, c.reader, nil); !ok || err != nil {
		t.Fatalf("splice of intact files: %v %v", ok, err)
	}
	// The same size, one byte changed near the end: past what the splice
	// has read yet.
	f, err := os.OpenFile(filepath.Join(dir, m.Persons.File), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("Z"), int64(len(persons)-10)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := w.SpliceRest(); err == nil || !strings.Contains(err.Error(), "changed while it was copied") {
		t.Fatalf("splice of a file changed under it: %v", err)
	}
}
