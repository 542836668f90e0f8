package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo's AD source provides username and email; AFAS, the primary,
// has columns for both too. Reading AFAS alone must not put its values
// over AD's.
func TestANamedPrimaryIngestNeverChangesWhatAProviderFills(t *testing.T) {
	cases := []struct {
		name string
		args func(dir string) []string
	}{
		{"ingest afas", func(string) []string { return []string{"ingest", "afas"} }},
		{"ingest --source afas --file", func(dir string) []string {
			return []string{"ingest", "--source", "afas", "--file", filepath.Join(dir, "hr", "medewerkers.csv")}
		}},
		{"ingest --source afas --file, a changed copy", func(dir string) []string {
			// A correction file: one name changed, so AFAS is diffed in
			// full rather than taking its unchanged-source fast path.
			text, err := os.ReadFile(filepath.Join(dir, "hr", "medewerkers.csv"))
			if err != nil {
				t.Fatal(err)
			}
			fixed := filepath.Join(dir, "correctie.csv")
			os.WriteFile(fixed, []byte(strings.Replace(string(text), "Jan", "Johan", 1)), 0o600)
			return []string{"ingest", "--source", "afas", "--file", fixed}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := demo(t)
			dir := filepath.Dir(cfg)
			db := filepath.Join(dir, "state", "spendsync.db")
			for _, args := range [][]string{{"ingest"}, {"export"}} {
				if code, _, stderr := cli(t, append([]string{"--config", cfg}, args...)...); code != 0 {
					t.Fatalf("%v: exit %d\n%s", args, code, stderr)
				}
			}
			usernames := column(t, db, "username")
			if code, _, stderr := cli(t, append([]string{"--config", cfg}, tc.args(dir)...)...); code != 0 {
				t.Fatalf("%v: exit %d\n%s", tc.args(dir), code, stderr)
			}
			if got := column(t, db, "username"); got != usernames {
				t.Fatalf("usernames changed by %s:\n got %s\nwant %s", tc.name, got, usernames)
			}
			// The changed copy renames one person: one update, no role or
			// account otherwise.
			code, stdout, stderr := cli(t, "--config", cfg, "export")
			if code != 0 || !strings.Contains(stdout, "0 create") || !strings.Contains(stdout, "0 grant, 0 revoke") ||
				(strings.Contains(tc.name, "changed") != strings.Contains(stdout, "1 update")) {
				t.Fatalf("the export after %s changes accounts (exit %d):\n%s%s", tc.name, code, stdout, stderr)
			}
		})
	}
}

// A provider dropped from the config lets the primary fill its fields;
// once it is back, its values return, although its own rows did not
// change since it last recorded them.
func TestAProviderBackInTheConfigPutsItsFieldsBack(t *testing.T) {
	cfg := demo(t)
	dir := filepath.Dir(cfg)
	db := filepath.Join(dir, "state", "spendsync.db")
	text, _ := os.ReadFile(cfg)
	i, j := strings.Index(string(text), "  - name: ad"), strings.Index(string(text), "rules:")
	noAD := filepath.Join(dir, "no-ad.yaml")
	os.WriteFile(noAD, []byte(string(text[:i])+string(text[j:])), 0o600)

	if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != 0 {
		t.Fatalf("ingest: %d\n%s", code, stderr)
	}
	withAD := column(t, db, "username")
	if code, _, stderr := cli(t, "--config", noAD, "ingest"); code != 0 {
		t.Fatalf("ingest without ad: %d\n%s", code, stderr)
	}
	if column(t, db, "username") == withAD {
		t.Fatal("the demo's AFAS usernames equal AD's: the test proves nothing")
	}
	if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != 0 {
		t.Fatalf("ingest with ad again: %d\n%s", code, stderr)
	}
	// 000108 has no AD row: AD never filled it, so AFAS's value stays.
	want := strings.Replace(withAD, "000108= ", "000108=myilmaz@example.nl ", 1)
	if got := column(t, db, "username"); got != want {
		t.Fatalf("AD's usernames did not come back:\n got %s\nwant %s", got, want)
	}
}

// column lists one person field of every stored person, in key order.
func column(t *testing.T, db, field string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", db+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query(`SELECT employee_number, ` + field + ` FROM persons ORDER BY employee_number`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var emp, v string
		if err := rows.Scan(&emp, &v); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s ", emp, v)
	}
	return b.String()
}

// A database that an earlier version's named ingest damaged (AFAS values
// over AD's, AD's hashes saying nothing changed) heals on its upgrade: the
// next ingest compares every person in full once.
func TestTheUpgradeRestoresProviderFieldsANamedIngestOverwrote(t *testing.T) {
	cfg := demo(t)
	db := filepath.Join(filepath.Dir(cfg), "state", "spendsync.db")
	if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != 0 {
		t.Fatalf("ingest: %d\n%s", code, stderr)
	}
	want := column(t, db, "username")
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE persons SET username = 'x' || username WHERE username != ''`,
		`UPDATE meta SET value = '7' WHERE key = 'schema_version'`} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	if code, _, stderr := cli(t, "--config", cfg, "ingest"); code != 0 {
		t.Fatalf("ingest after the upgrade: %d\n%s", code, stderr)
	}
	if got := column(t, db, "username"); got != want {
		t.Fatalf("usernames after the upgrade:\n got %s\nwant %s", got, want)
	}
}
