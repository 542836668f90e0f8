//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// tenants measures a service provider's box: n tenants of persons each, one
// spendsync process after the other, as their timers would start them.
// Each tenant has its own config, database and drop folder. The first
// round is every tenant's first day (ingest, export, delivery of
// everyone); the second an ordinary day on which HR sent the same files.
// The second round's per-tenant time is the fixed cost of one run:
// process start, config, lock, database, the unchanged-source check.
func tenants(n, persons int, dir, bin string) error {
	hr := filepath.Join(dir, "hr")
	if err := generate(hr, persons, 0); err != nil {
		return err
	}
	cfgs := make([]string, n)
	for i := range n {
		t := filepath.Join(dir, fmt.Sprintf("tenant%03d", i))
		if err := os.MkdirAll(t, 0o700); err != nil {
			return err
		}
		cfgs[i] = filepath.Join(t, "spendsync.yaml")
		// Every tenant reads the same generated files: the work per run
		// is the same, and 200 copies would only measure the page cache.
		if err := os.WriteFile(cfgs[i], []byte(fmt.Sprintf(`database: state/spendsync.db
sources:
  - name: afas
    profile: afas
    date_format: 02-01-2006
    persons: %s/persons.csv
    contracts: %s/contracts.csv
export:
  dir: state/out
target:
  dir: {path: drop}
metrics: state/spendsync.prom
metrics_labels: {tenant: t%03d}
`, hr, hr, i)), 0o600); err != nil {
			return err
		}
	}
	start, err := measure("spendsync version", "", dir, bin, "version")
	if err != nil {
		return err
	}
	// The baseline: the native shell putting one tenant's two files into
	// two bare tables, as for the 100k table.
	imp, err := measure("sqlite3 .import", "", dir, "sqlite3", "-batch", filepath.Join(dir, "import.db"),
		".mode csv", ".separator ;", ".import hr/persons.csv persons", ".import hr/contracts.csv contracts")
	if err != nil {
		return err
	}
	fmt.Printf("%d tenants of %d persons, one run after the other, %s, %d CPUs\n\n", n, persons, cpuModel(), numCPU())
	fmt.Println("| round | total wall time | per tenant: median | × import | slowest | CPU time per tenant | peak RSS (largest run) |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, round := range []string{"first day (everyone joins, is exported and delivered)", "an unchanged day (the fixed cost of one run)"} {
		var walls []time.Duration
		var cpu time.Duration
		var rss int64
		began := time.Now()
		for _, cfg := range cfgs {
			st, err := measure(round, "", filepath.Dir(cfg), bin, "--config", cfg, "-q", "run")
			if err != nil {
				return err
			}
			walls = append(walls, st.elapsed)
			cpu += st.cpu
			rss = max(rss, st.rssKB)
		}
		total := time.Since(began)
		slices.Sort(walls)
		fmt.Printf("| %s | %.1f s | %.0f ms | %.1fx | %.0f ms | %.0f ms | %d MB |\n", round, total.Seconds(),
			ms(walls[len(walls)/2]), ms(walls[len(walls)/2])/ms(imp.elapsed), ms(walls[len(walls)-1]), ms(cpu/time.Duration(n)), rss/1024)
	}
	fmt.Printf("\nsqlite3 .import of one tenant's files: %.0f ms wall; starting the binary alone (spendsync version): %.0f ms wall, %d MB\n",
		ms(imp.elapsed), ms(start.elapsed), start.rssKB/1024)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
