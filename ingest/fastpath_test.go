package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/lifecycle"
)

func TestUnchangedSourcesSkipTheDiffOnlyWhenNothingChanged(t *testing.T) {
	e := newEnv(t)
	persons := personsHeader + "001;Jan;Boele;jan@example.nl\n002;Anna;Jansen;bad-email\n"
	hr := e.source("hr", "", persons, "")
	ad := &connector.Source{Name: "ad", Profile: "ad", Provides: []string{"email"},
		Persons: e.write("ad.csv", "employeeID,mail\n001,j@example.nl\n")}
	if err := ad.Validate(); err != nil {
		t.Fatal(err)
	}
	ingest := func(opts Config, srcs ...*connector.Source) *Report {
		t.Helper()
		_, rep, err := e.ingest(opts, srcs...)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	unchanged := func(rep *Report) bool {
		for _, p := range rep.Plans {
			if p.unchangedSince == 0 {
				return false
			}
		}
		return true
	}
	first := ingest(Config{}, hr, ad)
	// The event as it is stored: the person's non-empty fields.
	var joined struct {
		Person map[string]string `json:"person"`
	}
	if b, err := json.Marshal(first.Plans[0].Events[0].Lazy); err != nil || json.Unmarshal(b, &joined) != nil {
		t.Fatalf("joined event %s %v", b, err)
	}
	if unchanged(first) || first.Rejects != 1 || joined.Person["email"] != "j@example.nl" {
		t.Fatalf("first ingest %+v", first.Plans[0])
	}
	// The provider changed the state after hr was applied, but only in a
	// field hr skips: the next two runs both take the fast path.
	if rep := ingest(Config{}, hr, ad); !unchanged(rep) {
		t.Fatalf("second ingest of the same files was diffed again: %s / %s", rep.Plans[0].Summary(), rep.Plans[1].Summary())
	}
	rep := ingest(Config{}, hr, ad)
	if !unchanged(rep) || rep.Rejects != 1 || rep.Plans[0].Rows != 2 {
		t.Fatalf("third ingest of the same files was diffed again: %s", rep.Plans[0].Summary())
	}
	rejects, _ := e.store.Rejects(context.Background(), e.run)
	if len(rejects) != 1 || rejects[0].Line != 3 || rejects[0].RunID != e.run {
		t.Fatalf("the skipped run did not repeat its rejects: %+v", rejects)
	}
	if evs, _ := e.store.Events(context.Background(), lifecycle.EventFilter{RunID: e.run}); len(evs) != 0 {
		t.Fatalf("the skipped run recorded events: %v", evs)
	}

	// A block changes the state: the next ingest diffs.
	if _, err := e.store.SetBlocked(context.Background(), 99, "001", true, "test"); err != nil {
		t.Fatal(err)
	}
	if unchanged(ingest(Config{}, hr, ad)) {
		t.Fatal("skipped after a block changed the state")
	}
	ingest(Config{}, hr, ad)
	// Other rules: diff again.
	if unchanged(ingest(Config{Rules: connector.Rules{VerifiedDomains: []string{"example.nl"}}}, hr, ad)) {
		t.Fatal("skipped although the rules changed")
	}
	// A changed file: diff again, and the change lands.
	hr2 := e.source("hr", "", personsHeader+"001;Jan;Boele-Smit;jan@example.nl\n002;Anna;Jansen;bad-email\n", "")
	if rep := ingest(Config{}, hr2, ad); unchanged(rep) || rep.Plans[0].Count(lifecycle.PersonChanged) != 1 {
		t.Fatal("a changed file was not diffed")
	}
	// Too many rejects last time (let through with --force): an unchanged
	// file must meet the stop again, not slip through the shortcut.
	two := e.source("hr", "", personsHeader+"001;Jan;Boele-Smit;jan@example.nl\n002;Anna;Jansen;bad-email\n003;X;Y;also-bad\n", "")
	strict := Config{Thresholds: lifecycle.Thresholds{MaxRejects: 1}}
	if _, _, err := e.ingest(strict, two, ad); !errors.Is(err, fault.ErrSafetyStop) {
		t.Fatalf("err = %v, want a safety stop", err)
	}
	forced := strict
	forced.Force = true
	ingest(forced, two, ad)
	ingest(forced, two, ad)
	if _, _, err := e.ingest(strict, two, ad); !errors.Is(err, fault.ErrSafetyStop) {
		t.Fatalf("unchanged files with too many rejects: err = %v, want the safety stop again", err)
	}
}
