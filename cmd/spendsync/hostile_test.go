package main

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/internal/access/accesstest"
	"github.com/spendsync/spendsync/internal/slowtest"
)

// copyTree copies a folder (the baseline) so every case starts from it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bigCase builds the hostile inputs too large to commit.
func bigCase(name string, baseline []byte) []byte {
	switch name {
	case "multi-megabyte-field.csv":
		return append(bytes.Clone(baseline), []byte("000113;A;;"+strings.Repeat("Lang", 800_000)+";;;0;M;a@example.nl;a@example.nl\n")...)
	case "multi-megabyte-line.csv":
		return append(bytes.Clone(baseline), []byte("000113"+strings.Repeat(";", 3_000_000)+"\n")...)
	case "very-wide-header.csv":
		var b strings.Builder
		for i := range 20_000 {
			fmt.Fprintf(&b, "c%d;", i)
		}
		return []byte(b.String() + "x\n1\n")
	case "huge-header-missing-column.csv":
		return []byte(strings.Repeat("Kolom", 4<<20) + ";Naam\n1;x\n") // 20 MB
	case "million-column-header.csv":
		return []byte(strings.Repeat("c;", 1_000_000) + "x\n1\n")
	}
	return nil
}

func TestHostileInputs(t *testing.T) {
	slowtest.Require(t)
	bin := buildBinary(t)
	hostile, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "hostile"))
	manifest, err := os.ReadFile(filepath.Join(hostile, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(demo(t))
	spend := func(dir string, args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SPENDSYNC_DEMO_OUT="+filepath.Join(dir, "state"), "SPENDSYNC_CONFIG=")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}
	if code, _, stderr := spend(base, "--config", "spendsync.yaml", "ingest"); code != 0 {
		t.Fatalf("baseline ingest: %s", stderr)
	}
	spend(base, "--config", "spendsync.yaml", "export", "--date", "2026-11-23")
	_, baseDiff, _ := spend(base, "--config", "spendsync.yaml", "diff", "--date", "2026-11-23", "--format", "json")
	baseState := dbState(t, filepath.Join(base, "state", "spendsync.db"))
	baselinePersons, _ := os.ReadFile(filepath.Join(base, "hr", "medewerkers.csv"))

	n := 0
	for _, line := range strings.Split(string(manifest), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		name, target, wantCode, expect, after := f[0], f[1], f[2], f[3], f[4]
		n++
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, base, dir)
			persons := filepath.Join(dir, "hr", "medewerkers.csv")
			args := []string{"--config", "spendsync.yaml", "ingest"}
			switch target {
			case "persons", "contracts":
				data := bigCase(name, baselinePersons)
				if data == nil {
					if data, err = os.ReadFile(filepath.Join(hostile, "data", name)); err != nil {
						t.Fatal(err)
					}
				}
				file := persons
				if target == "contracts" {
					file = filepath.Join(dir, "hr", "dienstverbanden.csv")
				}
				os.WriteFile(file, data, 0o600)
			case "persons-utf16":
				data, err := os.ReadFile(filepath.Join(hostile, "data", name))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(persons, data, 0o600)
				cfg := filepath.Join(dir, "spendsync.yaml")
				text, _ := os.ReadFile(cfg)
				os.WriteFile(cfg, []byte(strings.Replace(string(text), "persons: hr/medewerkers.csv", "persons: hr/medewerkers.csv\n    encoding: utf-16", 1)), 0o600)
			case "state-symlink":
				// A link planted beside the database must not be written through.
				victim := filepath.Join(t.TempDir(), "victim")
				os.WriteFile(victim, []byte("keep me"), 0o600)
				os.Remove(filepath.Join(dir, "state", name))
				accesstest.Symlink(t, victim, filepath.Join(dir, "state", name))
				t.Cleanup(func() {
					if data, _ := os.ReadFile(victim); string(data) != "keep me" {
						t.Errorf("the link's target now holds %q", data)
					}
				})
			case "path":
				os.Remove(persons)
				if name == "persons-is-a-folder" {
					os.Mkdir(persons, 0o700)
				}
			case "config":
				args = []string{"--config", filepath.Join(hostile, "config", name), "ingest"}
			}
			code, _, stderr := spend(dir, args...)
			if fmt.Sprint(code) != wantCode {
				t.Fatalf("exit %d, want %s\n%s", code, wantCode, tail(stderr))
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Fatalf("panicked:\n%s", tail(stderr))
			}
			// Whatever the input, a message stays short and printable.
			if len(stderr) > 16<<10 {
				t.Fatalf("stderr is %d bytes", len(stderr))
			}
			if i := strings.IndexFunc(stderr, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
				t.Fatalf("stderr holds control character %q at %d:\n%q", stderr[i], i, tail(stderr))
			}
			if !strings.Contains(stderr, expect) {
				t.Fatalf("stderr lacks %q:\n%s", expect, tail(stderr))
			}
			if target != "config" && target != "state-symlink" && code != 0 && !strings.Contains(stderr, "medewerkers.csv") && !strings.Contains(stderr, "dienstverbanden.csv") {
				t.Fatalf("the message does not name the file:\n%s", tail(stderr))
			}
			if after == "changed" {
				// Accepted hostile text is stored exactly as the file has it.
				data, _ := os.ReadFile(persons)
				r := csv.NewReader(bytes.NewReader(data))
				r.Comma = ';'
				recs, err := r.ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				last := recs[len(recs)-1]
				db, _ := sql.Open("sqlite", filepath.Join(dir, "state", "spendsync.db")+"?_pragma=query_only(1)")
				defer db.Close()
				var first, last2 string
				if err := db.QueryRow(`SELECT first_name, last_name FROM persons WHERE employee_number = ?`, last[0]).Scan(&first, &last2); err != nil {
					t.Fatal(err)
				}
				if first != last[1] || last2 != strings.Trim(last[3], " ") {
					t.Fatalf("stored %q %q, file has %q %q", first, last2, last[1], last[3])
				}
				for _, table := range []string{"persons", "contracts", "events"} {
					if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(new(int)); err != nil {
						t.Fatalf("table %s: %v", table, err)
					}
				}
			}
			if after == "same" && target != "config" {
				if got := dbState(t, filepath.Join(dir, "state", "spendsync.db")); got != baseState {
					t.Fatal("the stored state changed")
				}
				if _, diff, _ := spend(dir, "--config", "spendsync.yaml", "diff", "--date", "2026-11-23", "--format", "json"); diff != baseDiff {
					t.Fatalf("the next dump would change:\n%s", diff)
				}
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d hostile cases", n)
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
