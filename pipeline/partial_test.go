package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spendsync/spendsync/pipeline"
)

// An export that walks only the persons changed since the last export and
// carries the rest makes, after every kind of change, what a walk of
// everyone makes: the same files byte for byte and the same events,
// whether it copies the carried persons' bytes from the last files or,
// with those edited, their stored rows.
func TestACarryingExportMakesWhatAFullWalkMakes(t *testing.T) {
	for _, fromFiles := range []bool{true, false} {
		t.Run(map[bool]string{true: "from the last files", false: "from the stored rows"}[fromFiles], func(t *testing.T) {
			testCarrying(t, fromFiles)
		})
	}
}

func testCarrying(t *testing.T, fromFiles bool) {
	row := func(emp, first, user, start, end, ou string) string {
		return fmt.Sprintf("%s;%s;L;%s;%s;%s;%s;%s;F\n", emp, first, user, start, end, ou, ou+"x")
	}
	base := map[string]string{
		"001": row("001", "A", "u1", "2020-01-01", "", "FIN"),
		"002": row("002", "B", "u2", "2020-01-01", "", "ICT"),
		"003": row("003", "C", "u3", "2020-01-01", "", "HR"),
		"004": row("004", "D", "u4", "2020-01-01", "2025-01-15", "HR"),
		"005": row("005", "E", "u5", "2025-03-01", "", "ICT"),
	}
	hr := func(m map[string]string) string {
		text := hrDated
		for _, emp := range slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		}) {
			text += m[emp]
		}
		return text
	}
	carrying, pc := copyEnv(t, hr(base))
	walking, pw := copyEnv(t, hr(base))
	ctx := context.Background()
	type step struct {
		name   string
		date   string
		change func(e *env, m map[string]string)
	}
	ingest := func(e *env, m map[string]string) { e.mustIngest(e.source("hr", "", hr(m), "")) }
	steps := []step{
		{"first export", "2025-01-01", nil},
		{"a name changed", "2025-01-01", func(e *env, m map[string]string) { m["002"] = row("002", "Bee", "u2", "2020-01-01", "", "ICT") }},
		{"a contract moved", "2025-01-01", func(e *env, m map[string]string) { m["001"] = row("001", "A", "u1", "2020-01-01", "", "ICT") }},
		{"a leaver", "2025-01-01", func(e *env, m map[string]string) { delete(m, "003") }},
		{"a joiner", "2025-01-01", func(e *env, m map[string]string) { m["006"] = row("006", "F", "u6", "2020-01-01", "", "FIN") }},
		{"a block", "2025-01-01", func(e *env, m map[string]string) {
			if _, err := e.store.SetBlocked(ctx, 0, "006", true, "test"); err != nil {
				t.Fatal(err)
			}
		}},
		{"nothing, a later date", "2025-01-02", nil},
		{"an unblock", "2025-01-02", func(e *env, m map[string]string) {
			if _, err := e.store.SetBlocked(ctx, 0, "006", false, ""); err != nil {
				t.Fatal(err)
			}
		}},
		{"a contract ended by the date", "2025-01-20", nil},
		{"a contract begun by the date", "2025-03-02", nil},
		{"a leaver returns", "2025-03-02", func(e *env, m map[string]string) { m["003"] = row("003", "C", "u3", "2025-03-01", "", "HR") }},
		{"two changes", "2025-03-03", func(e *env, m map[string]string) {
			m["002"] = row("002", "Bea", "u2", "2020-01-01", "", "FIN")
			m["005"] = row("005", "E", "u5", "2025-03-01", "2025-03-02", "ICT")
		}},
	}
	mc, mw := map[string]string{}, map[string]string{}
	for k, v := range base {
		mc[k], mw[k] = v, v
	}
	before, spliced := pipeline.CarryingWalks(), pipeline.SplicingWalks()
	for i, s := range steps {
		if s.change != nil {
			s.change(carrying, mc)
			s.change(walking, mw)
			if !strings.Contains(s.name, "block") {
				ingest(carrying, mc)
				ingest(walking, mw)
			}
		}
		if !fromFiles && i > 0 {
			edit := filepath.Join(pc.Settings.Export.Dir, "persons.csv")
			if err := os.WriteFile(edit, []byte("edited\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var cs, ws strings.Builder
		pc.Stdout, pw.Stdout = &cs, &ws
		cp, cr := exportOn(t, pc, s.date)
		restore := pipeline.WalkEveryone()
		wp, wr := exportOn(t, pw, s.date)
		restore()
		if cp != wp || cr != wr {
			t.Fatalf("%s: carrying export\n%s\n%s\nfull walk\n%s\n%s", s.name, cp, cr, wp, wr)
		}
		// The summaries count the same persons, roles and changes.
		if c, w := cs.String()[strings.Index(cs.String(), ":"):], ws.String()[strings.Index(ws.String(), ":"):]; c != w {
			t.Fatalf("%s: carrying export's summary %q, a full walk's %q", s.name, c, w)
		}
		ce, we := eventLines(t, carrying.store, pc.RunID), eventLines(t, walking.store, pw.RunID)
		if !slices.Equal(ce, we) {
			t.Fatalf("%s: carrying export's events %v, a full walk's %v", s.name, ce, we)
		}
	}
	n, spliced := pipeline.CarryingWalks()-before, pipeline.SplicingWalks()-spliced
	if n < 6 {
		t.Fatalf("%d of %d exports carried anyone", n, len(steps))
	}
	if fromFiles && spliced != n || !fromFiles && spliced != 0 {
		t.Fatalf("%d of %d carrying exports copied from the last files", spliced, n)
	}
}
