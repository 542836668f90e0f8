package main

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkExport100k measures export on 100k persons / 150k contracts
// after a first export: the daily case (no change, full dump rewritten).
func BenchmarkExport100k(b *testing.B) {
	dir := b.TempDir()
	genDataset(b, filepath.Join(dir, "hr"), 100_000, 1)
	cfg := filepath.Join(dir, "spendsync.yaml")
	os.WriteFile(cfg, []byte("database: state/s.db\nsources:\n  - {name: afas, profile: afas, persons: hr/persons.csv, contracts: hr/contracts.csv}\n"), 0o600)
	for _, args := range [][]string{{"ingest"}, {"export"}} {
		if code, _, stderr := cli(b, append([]string{"--config", cfg, "-q"}, args...)...); code != 0 {
			b.Fatal(stderr)
		}
	}
	for b.Loop() {
		if code, _, stderr := cli(b, "--config", cfg, "-q", "export"); code != 0 {
			b.Fatal(stderr)
		}
	}
}
