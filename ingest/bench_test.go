package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/lifecycle"
)

// genSource writes n persons with 1.5 contracts each on average, in the
// AFAS layout, and returns the source. SPENDSYNC_BENCH_KEEP=DIR keeps the
// files for comparison with sqlite3 .import.
func genSource(b testing.TB, dir string, n int) *connector.Source {
	b.Helper()
	if keep := os.Getenv("SPENDSYNC_BENCH_KEEP"); keep != "" {
		dir = keep
		os.MkdirAll(dir, 0o700)
	}
	write := func(name string, fn func(w *bufio.Writer)) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fn(w)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		return p
	}
	src := &connector.Source{Name: "afas", Profile: "afas", DateFormat: "02-01-2006",
		Persons: write("persons.csv", func(w *bufio.Writer) {
			w.WriteString("Medewerker;Roepnaam;Voorvoegsel;Geboortenaam;Voorvoegsel_partner;Geboortenaam_partner;Naamgebruik_code;Geslacht;Email_werk;UPN\n")
			for i := range n {
				fmt.Fprintf(w, "%07d;Voornaam%d;van der;Achternaam%d;de;Partner%d;%d;M;p%d@example.nl;p%d@example.nl\n", i, i, i, i, i%4, i, i)
			}
		}),
		Contracts: write("contracts.csv", func(w *bufio.Writer) {
			w.WriteString("Medewerker;ExternalID;Begindatum_functie;Einddatum_functie;Organisatorische_eenheid_code;Organisatorische_eenheid_omschrijving;Functie_code;Functie_omschrijving\n")
			for i := range n {
				fmt.Fprintf(w, "%07d;%d-1;01-01-2020;;OU%d;Eenheid %d;F%d;Functie %d\n", i, i, i%200, i%200, i%50, i%50)
				if i%2 == 0 {
					fmt.Fprintf(w, "%07d;%d-2;01-06-2022;31-12-2030;OU%d;Eenheid %d;F%d;Functie %d\n", i, i, (i+7)%200, (i+7)%200, (i+3)%50, (i+3)%50)
				}
			}
		}),
	}
	if err := src.Validate(); err != nil {
		b.Fatal(err)
	}
	return src
}

const benchPersons = 100_000

// BenchmarkIngestFirst measures a first ingest of 100k persons / 150k
// contracts into an empty database (250k rows, 250k events).
func BenchmarkIngestFirst(b *testing.B) {
	src := genSource(b, b.TempDir(), benchPersons)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		st, err := lifecycle.Open(filepath.Join(dir, "s.db"), lifecycle.Create)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := Run(context.Background(), st, 1, []*connector.Source{src}, Config{Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkIngestUnchanged measures re-ingesting the same files: the
// steady state of a daily cron run.
func BenchmarkIngestUnchanged(b *testing.B) {
	src := genSource(b, b.TempDir(), benchPersons)
	st, err := lifecycle.Open(filepath.Join(b.TempDir(), "s.db"), lifecycle.Create)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := Run(context.Background(), st, 1, []*connector.Source{src}, Config{Now: time.Now()}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := Run(context.Background(), st, 2, []*connector.Source{src}, Config{Now: time.Now()})
		if err != nil || len(rep.Plans[0].Events) != 0 {
			b.Fatal(err)
		}
	}
}
