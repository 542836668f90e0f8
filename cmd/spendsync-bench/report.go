//go:build unix

package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// reportBench writes a year of events for n persons straight into a store
// (as floor.go does: spendsync's schema, bare inserts), then measures
// `spendsync report` over that year as HTML and as CSV. Per person about
// 50 events, as the 100k persons and 5M events: a join (person,
// account, two roles), 44 changes spread over the year; a fifth leave
// (contract ended, account removed, roles revoked) 0 to 40 days after
// their HR end date. A delivery (two files) ends each day.
func reportBench(n int, dir, bin string) error {
	db, err := openFloor(dir, "report", true)
	if err != nil {
		return err
	}
	start := time.Now()
	events, err := reportHistory(context.Background(), db, n)
	db.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchrun: %d events for %d persons written in %s\n", events, n, time.Since(start).Round(time.Millisecond))
	cfg := filepath.Join(dir, "report.yaml")
	yaml := "database: " + filepath.Join(dir, "floor", "report", "spendsync.db") +
		"\nsources:\n  - {name: hr, persons: p.csv}\nrules: {verified_domains: [example.nl]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return err
	}
	var steps []step
	for _, format := range []string{"html", "csv"} {
		s, err := measure("report --format "+format, "", dir, bin, "--config", cfg, "-q", "report",
			"--from", "2025-01-01", "--to", "2025-12-31", "--format", format, "--out", filepath.Join(dir, "report."+format))
		if err != nil {
			return err
		}
		steps = append(steps, s)
	}
	fmt.Printf("%d persons, %d events, %s, %d CPUs, %s\n\n", n, events, cpuModel(), numCPU(), runtime.Version())
	fmt.Println("| step | wall time | CPU time | peak RSS |")
	fmt.Println("|---|---|---|---|")
	for _, s := range steps {
		fmt.Printf("| %s | %.2f s | %.2f s | %d MB |\n", s.name, s.elapsed.Seconds(), s.cpu.Seconds(), s.rssKB/1024)
	}
	return nil
}

func reportHistory(ctx context.Context, db *sql.DB, n int) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	events := &floorTable{ctx: ctx, tx: tx, name: "events", cols: 8}
	contracts := &floorTable{ctx: ctx, tx: tx, name: "contracts", cols: 9}
	deliveries := &floorTable{ctx: ctx, tx: tx, name: "deliveries", cols: 7}
	rng := rand.New(rand.NewPCG(1, 2))
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	type person struct{ join, leave, end int }
	ps := make([]person, n)
	for i := range ps {
		ps[i] = person{join: -1, leave: -1}
		if i%10 == 0 { // a tenth join during the year, the rest before it
			ps[i].join = rng.IntN(300)
		}
		if i%5 == 1 {
			ps[i].end = rng.IntN(320) + 10
			ps[i].leave = min(364, ps[i].end+rng.IntN(41))
		}
	}
	id, count := 0, 0
	ev := func(day, sec int, kind, emp, details string) error {
		id++
		count++
		t := year.AddDate(0, 0, day).Add(time.Duration(sec) * time.Second).Format(time.RFC3339)
		return events.add(id, t, 1, "bench@host", "hr", kind, emp, details)
	}
	emp := func(i int) string { return fmt.Sprintf("%07d", i) }
	role := func(i, r int) string {
		return fmt.Sprintf(`{"export_id":"x","role":{"externalId":"%s","Organisatorische Eenheid":"OU %d","Gebruikersnaam":"u%d@example.nl","Functieprofiel Code":"F%d"}}`,
			emp(i), i%40, i, (i+r)%25)
	}
	row := func(i int) string {
		domain := "example.nl"
		if i%97 == 0 {
			domain = "partner.example.com"
		}
		return fmt.Sprintf(`{"export_id":"x","row":{"externalId":"%s","voornaam":"Voornaam","achternaam":"Achternaam %d","email":"u%d@%s","gebruikersnaam":"u%d@example.nl"}}`,
			emp(i), i, i, domain, i)
	}
	join := func(day, i int) error {
		for _, k := range []struct{ kind, det string }{{"person.joined", `{"file":"p.csv","line":1}`}, {"account.create", row(i)},
			{"role.grant", role(i, 0)}, {"role.grant", role(i, 1)}} {
			if err := ev(day, 3600, k.kind, emp(i), k.det); err != nil {
				return err
			}
		}
		return nil
	}
	// Those there before the year: their join is a year earlier.
	for i, p := range ps {
		if p.join < 0 {
			if err := join(-365, i); err != nil {
				return 0, err
			}
		}
		end := ""
		if p.leave >= 0 {
			end = year.AddDate(0, 0, p.end).Format("2006-01-02")
		}
		if err := contracts.add(emp(i), "c1", "c1", "2020-01-01", end, "OU", "OU", "F", "F"); err != nil {
			return 0, err
		}
	}
	changesPerDay := n * 44 / 365
	for day := range 365 {
		for i, p := range ps {
			if p.join == day {
				if err := join(day, i); err != nil {
					return 0, err
				}
			}
		}
		for range changesPerDay {
			i := rng.IntN(n)
			if err := ev(day, 7200, "person.changed", emp(i), `{"fields":{"last_name":{"old":"Achternaam","new":"Achternaam-Jansen"}},"file":"p.csv","line":12}`); err != nil {
				return 0, err
			}
		}
		for i, p := range ps {
			if p.leave != day {
				continue
			}
			for _, k := range []struct{ kind, det string }{{"contract.ended", `{"key":"c1"}`}, {"account.remove", row(i)},
				{"role.revoke", role(i, 0)}, {"role.revoke", role(i, 1)}} {
				if err := ev(day, 10800, k.kind, emp(i), k.det); err != nil {
					return 0, err
				}
			}
		}
		if day%90 == 45 {
			if err := ev(day, 10000, "force", "", `{"overridden":"safety stop: the export would remove 60 accounts, more than thresholds.max_removals 50"}`); err != nil {
				return 0, err
			}
		}
		t := year.AddDate(0, 0, day).Add(4 * time.Hour).Format(time.RFC3339)
		det := `{"files":[{"name":"persons.csv","size":9000000,"sha256":"` + strings.Repeat("ab", 32) +
			`"},{"name":"roles.csv","size":12000000,"sha256":"` + strings.Repeat("cd", 32) + `"}],"export_id":"x","target":"sftp:drop"}`
		if err := deliveries.add(day+1, 1, t, "x", "sftp:drop", 1, det); err != nil {
			return 0, err
		}
		if err := ev(day, 4*3600, "delivery.ok", "", det); err != nil {
			return 0, err
		}
	}
	for _, t := range []*floorTable{events, contracts, deliveries} {
		if err := t.flush(); err != nil {
			return 0, err
		}
	}
	return count, tx.Commit()
}
