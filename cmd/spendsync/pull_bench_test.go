package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkIngest100kPullVsCSV ingests the same 100k persons / 150k
// contracts into a fresh database, once from the CSV files and once pulled
// from a local AFAS GetConnector over TLS in pages of 1000. The pull
// should stay within 1.5x the CSV time.
func BenchmarkIngest100kPullVsCSV(b *testing.B) {
	dir := b.TempDir()
	genDataset(b, filepath.Join(dir, "hr"), 100_000, 1)
	const page = 1000
	srv := httptest.NewTLSServer(afasPages(b, filepath.Join(dir, "hr"), page))
	b.Cleanup(srv.Close)
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pemCert(srv), 0o600)
	b.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	sources := map[string]string{
		"csv": "  - {name: afas, profile: afas, persons: hr/persons.csv, contracts: hr/contracts.csv}\n",
		"afas-pull": fmt.Sprintf("  - name: afas\n    profile: afas\n    api: {url: %s/profitrestservices, token_env: SPENDSYNC_TEST_AFAS_TOKEN, ca_file: %s, page_size: %d}\n",
			srv.URL, ca, page),
	}
	for _, name := range []string{"csv", "afas-pull"} {
		b.Run(name, func(b *testing.B) {
			cfg := filepath.Join(dir, name+".yaml")
			os.WriteFile(cfg, []byte("database: state-"+name+"/s.db\nsources:\n"+sources[name]), 0o600)
			for b.Loop() {
				b.StopTimer()
				os.RemoveAll(filepath.Join(dir, "state-"+name))
				b.StartTimer()
				if code, out, stderr := cli(b, "--config", cfg, "-q", "ingest"); code != 0 || strings.Contains(out, " 0 joined") {
					b.Fatalf("exit %d: %s %s", code, out, stderr)
				}
			}
		})
	}
}

// afasPages serves the CSV files as AFAS GetConnector pages, rendered
// once up front so the server's own work does not count.
func afasPages(b *testing.B, dir string, size int) http.Handler {
	render := func(file string) [][]byte {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.Comma = ';'
		recs, err := r.ReadAll()
		if err != nil {
			b.Fatal(err)
		}
		var pages [][]byte
		for skip := 0; ; skip += size {
			rows := []map[string]any{}
			for _, rec := range recs[1+min(skip, len(recs)-1) : 1+min(skip+size, len(recs)-1)] {
				m := map[string]any{}
				for i, h := range recs[0] {
					if rec[i] == "" {
						m[h] = nil
					} else if strings.HasPrefix(h, "Begindatum") {
						m[h] = rec[i] + "T00:00:00Z"
					} else {
						m[h] = rec[i]
					}
				}
				rows = append(rows, m)
			}
			var buf bytes.Buffer
			json.NewEncoder(&buf).Encode(map[string]any{"skip": skip, "take": size, "rows": rows})
			pages = append(pages, buf.Bytes())
			if len(rows) < size {
				return pages
			}
		}
	}
	data := map[string][][]byte{"T4E_HelloID_Users": render("persons.csv"), "T4E_HelloID_Employments": render("contracts.csv")}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages := data[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]]
		skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
		w.Header().Set("Content-Type", "application/json")
		if p := skip / size; p < len(pages) {
			w.Write(pages[p])
			return
		}
		w.Write([]byte(`{"skip":0,"take":0,"rows":[]}`))
	})
}
