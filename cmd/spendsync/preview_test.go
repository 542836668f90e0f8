package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spendsync/spendsync/lifecycle"
)

// A preview (run --dry-run, diff --sources) must show exactly what the real
// run then does, event for event, and write nothing anywhere.

// seen is an event as a preview shows it and a run records it: kind,
// employee number and details without the ids and times only recording
// gives.
type seen struct{ Kind, Emp, Details string }

func canon(t *testing.T, kind, emp string, details map[string]any) seen {
	t.Helper()
	delete(details, "export_id")
	b, err := json.Marshal(details)
	if err != nil {
		t.Fatal(err)
	}
	return seen{kind, emp, string(b)}
}

// stateFiles hashes every file under the demo's state folder (database,
// its -wal and lock, export folder with history, drop), so any write, or a
// leftover copy, shows.
func stateFiles(t *testing.T, cfg string) map[string]string {
	t.Helper()
	return filesUnder(t, filepath.Join(filepath.Dir(cfg), "state"))
}

func filesUnder(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			out[rel+"/"] = "dir"
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameState(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed %s", what, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s left %s behind", what, k)
		}
	}
}

// recorded are the events after the newest one in before, as a run
// recorded them (all: ingest's and export's; changes: what diff --sources
// lists).
func allEvents(t *testing.T, cfg string) []struct {
	ID             int64          `json:"id"`
	Source         string         `json:"source"`
	Kind           string         `json:"kind"`
	EmployeeNumber string         `json:"employee_number"`
	Details        map[string]any `json:"details"`
} {
	t.Helper()
	var evs []struct {
		ID             int64          `json:"id"`
		Source         string         `json:"source"`
		Kind           string         `json:"kind"`
		EmployeeNumber string         `json:"employee_number"`
		Details        map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, "--config", cfg, "events", "--format", "json")), &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func lastEventID(t *testing.T, cfg string) int64 {
	evs := allEvents(t, cfg)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}

func recorded(t *testing.T, cfg string, after int64) (all, changes []seen) {
	t.Helper()
	for _, e := range allEvents(t, cfg) {
		// The push is not previewed beyond its check: the delivery's
		// event (sizes, hashes, duration) is the push's own.
		if e.ID <= after || strings.HasPrefix(e.Kind, "delivery.") {
			continue
		}
		s := canon(t, e.Kind, e.EmployeeNumber, e.Details)
		all = append(all, s)
		if e.Source == "export" || e.Kind == "force" {
			changes = append(changes, s)
		}
	}
	return all, changes
}

// dryRunEvents reads run --dry-run -v: the ingest's events as JSON lines,
// the export's as "kind employee details" lines.
func dryRunEvents(t *testing.T, out string) []seen {
	t.Helper()
	ingest, export := dryRunStages(t, out)
	return append(ingest, export...)
}

func dryRunStages(t *testing.T, out string) (ingest, export []seen) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "{"):
			var e struct {
				Kind           string         `json:"kind"`
				EmployeeNumber string         `json:"employee_number"`
				Details        map[string]any `json:"details"`
			}
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			ingest = append(ingest, canon(t, e.Kind, e.EmployeeNumber, e.Details))
		case strings.Contains(line, " {") && !strings.HasPrefix(line, "would"):
			kind, rest, _ := strings.Cut(line, " ")
			emp, details, _ := strings.Cut(rest, " ")
			var d map[string]any
			if err := json.Unmarshal([]byte(details), &d); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			export = append(export, canon(t, kind, emp, d))
		}
	}
	return ingest, export
}

func sortedSeen(s []seen) []seen {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b seen) int { return strings.Compare(a.Kind+a.Emp+a.Details, b.Kind+b.Emp+b.Details) })
	return s
}

func errorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "spendsync: error: ") || strings.HasPrefix(l, "spendsync: warning: ") {
			return l
		}
	}
	return ""
}

// previewThenRun previews the next run both ways, checks the previews
// wrote nothing, then runs for real (runArgs: "run" or "run --force", which
// the dry run then has too) and
// checks the run recorded exactly what the previews showed and ended the
// same way. It returns the recorded events.
func previewThenRun(t *testing.T, cfg string, runArgs ...string) (code int, all []seen) {
	t.Helper()
	before := stateFiles(t, cfg)
	force := slices.Contains(runArgs, "--force")
	args := []string{"--config", cfg, "-v", "run", "--dry-run"}
	if force {
		args = append(args, "--force")
	}
	pcode, out, perr := cli(t, args...)
	shown := dryRunEvents(t, out)
	sameState(t, "run --dry-run", before, stateFiles(t, cfg))
	dcode, dout, derr := cli(t, "--config", cfg, "diff", "--sources", "--format", "json")
	var listed []struct {
		Kind           string         `json:"kind"`
		EmployeeNumber string         `json:"employee_number"`
		Details        map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(dout), &listed); err != nil {
		t.Fatalf("diff --sources --format json: %v\n%s\n%s", err, dout, derr)
	}
	var changes []seen
	for _, c := range listed {
		changes = append(changes, canon(t, c.Kind, c.EmployeeNumber, c.Details))
	}
	sameState(t, "diff --sources", before, stateFiles(t, cfg))

	mark := lastEventID(t, cfg)
	code, _, rerr := cli(t, append([]string{"--config", cfg}, runArgs...)...)
	all, recChanges := recorded(t, cfg, mark)
	if !slices.Equal(shown, all) {
		t.Errorf("run --dry-run -v showed\n%s\nbut %q recorded\n%s", fmtSeen(shown), runArgs, fmtSeen(all))
	}
	if !slices.Equal(sortedSeen(changes), sortedSeen(recChanges)) {
		t.Errorf("diff --sources listed\n%s\nbut %q recorded\n%s", fmtSeen(changes), runArgs, fmtSeen(recChanges))
	}
	if force {
		// diff --sources has no --force: it ends with the stop run --force
		// overrides, and lists what run --force records.
		dcode, derr = code, rerr
	}
	if pcode != code || dcode != code || errorLine(perr) != errorLine(rerr) || errorLine(derr) != errorLine(rerr) {
		t.Errorf("previews ended %d %q and %d %q, the run %d %q", pcode, errorLine(perr), dcode, errorLine(derr), code, errorLine(rerr))
	}
	return code, all
}

func fmtSeen(s []seen) string {
	var b strings.Builder
	for _, e := range s {
		b.WriteString("  " + e.Kind + " " + e.Emp + " " + e.Details + "\n")
	}
	return b.String()
}

func has(evs []seen, kind, emp string) bool {
	return slices.ContainsFunc(evs, func(e seen) bool { return e.Kind == kind && e.Emp == emp })
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s holds no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o600); err != nil {
		t.Fatal(err)
	}
}

func hr(cfg, name string) string { return filepath.Join(filepath.Dir(cfg), "hr", name) }

func TestPreviewOfARenameIsWhatTheRunRecords(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "run")
	renameInAD(t, cfg, "jan.boele@example.nl", "jan.devries@example.nl")
	// The dry run used to say 0 update: it exported the stored state.
	code, out, _ := cli(t, "--config", cfg, "diff", "--sources")
	if code != exitRejected || !strings.Contains(out, "account.rename_held  000101    {\"new\":\"jan.devries@example.nl\"") ||
		!strings.Contains(out, "\nad: 12 rows, 0 joined, 1 changed") || !strings.Contains(out, "0 create, 1 update, 0 remove, 0 grant, 0 revoke; 1 held back; 0 renamed, 1 renames held (0 of 9 accounts removed)") {
		t.Fatalf("diff --sources: exit %d\n%s", code, out)
	}
	code, all := previewThenRun(t, cfg, "run")
	if code != exitRejected || !has(all, "person.changed", "000101") || !has(all, "account.rename_held", "000101") || !has(all, "account.update", "000101") {
		t.Fatalf("held rename: exit %d\n%s", code, fmtSeen(all))
	}
	// Let through: account.renamed with who allowed it.
	mustCLI(t, "--config", cfg, "person", "allow-rename", "000101", "--reason", "married")
	if code, all := previewThenRun(t, cfg, "run"); code != 0 || !has(all, "account.renamed", "000101") {
		t.Fatalf("allowed rename: exit %d\n%s", code, fmtSeen(all))
	}
}

func TestPreviewOfALeaverIsWhatTheRunRecords(t *testing.T) {
	cfg := demo(t)
	editFile(t, cfg, "rules:\n", "rules:\n  thresholds: {max_removal_percent: 50}\n")
	mustCLI(t, "--config", cfg, "run")
	editFile(t, hr(cfg, "medewerkers.csv"), "000102;Anna;;Jansen;;;0;V;anna.jansen@example.nl;ajansen@example.nl\n", "")
	code, all := previewThenRun(t, cfg, "run")
	if code != 0 || !has(all, "person.left", "000102") || !has(all, "account.remove", "000102") || !has(all, "role.revoke", "000102") {
		t.Fatalf("leaver: exit %d\n%s", code, fmtSeen(all))
	}
}

func TestPreviewOfAJoinerIsWhatTheRunRecords(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "run")
	persons, _ := os.ReadFile(hr(cfg, "medewerkers.csv"))
	os.WriteFile(hr(cfg, "medewerkers.csv"), append(persons, "000120;Eva;;Mulder;;;0;V;eva.mulder@example.nl;emulder@example.nl\n"...), 0o600)
	contracts, _ := os.ReadFile(hr(cfg, "dienstverbanden.csv"))
	os.WriteFile(hr(cfg, "dienstverbanden.csv"), append(contracts, "000120;120-1;01-01-2024;;FIN;Financiën;CTRL;Controller\n"...), 0o600)
	ad := filepath.Join(filepath.Dir(cfg), "ad", "users.csv")
	users, _ := os.ReadFile(ad)
	os.WriteFile(ad, append(users, "000120,emulder,eva.mulder@example.nl,eva.mulder@example.nl\n"...), 0o600)
	code, all := previewThenRun(t, cfg, "run")
	if code != 0 || !has(all, "person.joined", "000120") || !has(all, "account.create", "000120") || !has(all, "role.grant", "000120") {
		t.Fatalf("joiner: exit %d\n%s", code, fmtSeen(all))
	}
}

// A scope change is a config edit, not HR news: the ingest changes
// nothing, the export removes those now out of scope.
func TestPreviewOfAScopeChangeIsWhatTheRunRecords(t *testing.T) {
	cfg := demo(t)
	editFile(t, cfg, "rules:\n", "rules:\n  thresholds: {max_removal_percent: 50}\n")
	mustCLI(t, "--config", cfg, "run")
	editFile(t, cfg, "rules:\n", "rules:\n  scope:\n    exclude:\n      - {function_code: [REC]}\n")
	code, all := previewThenRun(t, cfg, "run")
	if code != 0 || !has(all, "account.remove", "000111") || has(all, "person.left", "000111") {
		t.Fatalf("scope change: exit %d\n%s", code, fmtSeen(all))
	}
}

// A change that trips a threshold: the previews end as the run does (exit
// 3, the same message), show what that run records before it stops, and
// list beyond the stop what run --force then records.
func TestPreviewOfAChangeThatTripsAThresholdStopsAsTheRunDoes(t *testing.T) {
	anna := "000102;Anna;;Jansen;;;0;V;anna.jansen@example.nl;ajansen@example.nl\n"
	noel := "000103;Noël;de;Bruïne;van;Dijk;1;V;noel.debruine@example.nl;nbruine@example.nl\n"
	t.Run("at the export", func(t *testing.T) {
		cfg := demo(t)
		mustCLI(t, "--config", cfg, "run")
		// 1 of 12 persons is 8% (the ingest goes on), 1 of 9 accounts 11%:
		// over max_removal_percent 10, the export stops.
		editFile(t, hr(cfg, "medewerkers.csv"), anna, "")
		before := stateFiles(t, cfg)
		code, out, stderr := cli(t, "--config", cfg, "-v", "run", "--dry-run")
		if code != exitSafety || !strings.Contains(stderr, "the export would remove 1 of 9 accounts") ||
			!strings.Contains(out, "would export: 8 persons") || !strings.Contains(out, "would stop here") || strings.Contains(out, "would deliver") {
			t.Fatalf("run --dry-run: exit %d\n%s\n%s", code, out, stderr)
		}
		sameState(t, "run --dry-run", before, stateFiles(t, cfg))
		ingest, export := dryRunStages(t, out)
		mark := lastEventID(t, cfg)
		rcode, _, rerr := cli(t, "--config", cfg, "run")
		if rcode != exitSafety || errorLine(rerr) != errorLine(stderr) {
			t.Fatalf("run: exit %d %q; the preview said %q", rcode, errorLine(rerr), errorLine(stderr))
		}
		// The run applied the ingest, then stopped before the export.
		if all, _ := recorded(t, cfg, mark); !slices.Equal(all, ingest) || !has(all, "person.left", "000102") {
			t.Fatalf("the stopped run recorded\n%s\nthe preview showed for its ingest\n%s", fmtSeen(all), fmtSeen(ingest))
		}
		// The export the preview showed past the stop is run --force's.
		_, all := previewThenRun(t, cfg, "run", "--force")
		if !slices.Equal(all, export) || !has(all, "force", "") || !has(all, "account.remove", "000102") {
			t.Fatalf("run --force recorded\n%s\nthe first preview showed\n%s", fmtSeen(all), fmtSeen(export))
		}
	})
	t.Run("at the ingest", func(t *testing.T) {
		cfg := demo(t)
		mustCLI(t, "--config", cfg, "run")
		// 2 of 12 persons is 17%: the ingest stops, nothing is recorded.
		editFile(t, hr(cfg, "medewerkers.csv"), anna+noel, "")
		before := stateFiles(t, cfg)
		code, out, stderr := cli(t, "--config", cfg, "-v", "run", "--dry-run")
		if code != exitSafety || !strings.Contains(stderr, "would remove 2 of 12 persons") || !strings.Contains(out, "would stop here") {
			t.Fatalf("run --dry-run: exit %d\n%s\n%s", code, out, stderr)
		}
		mark := lastEventID(t, cfg)
		rcode, _, rerr := cli(t, "--config", cfg, "run")
		if rcode != exitSafety || errorLine(rerr) != errorLine(stderr) {
			t.Fatalf("run: exit %d %q; the preview said %q", rcode, errorLine(rerr), errorLine(stderr))
		}
		if all, _ := recorded(t, cfg, mark); len(all) != 0 {
			t.Fatalf("the stopped run recorded\n%s", fmtSeen(all))
		}
		// Only its run record changed the database.
		after := stateFiles(t, cfg)
		delete(before, "spendsync.db")
		delete(after, "spendsync.db")
		sameState(t, "the stopped run", before, after)
		if _, all := previewThenRun(t, cfg, "run", "--force"); !slices.Equal(all, dryRunEvents(t, out)) || !has(all, "person.left", "000103") {
			t.Fatalf("run --force recorded\n%s\nthe first preview showed\n%s", fmtSeen(all), out)
		}
	})
}

// A leftover copy of a killed preview is removed by the next one; a live
// one's (its lock held) is not.
func TestAPreviewRemovesTheCopyAKilledPreviewLeft(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "run")
	state := filepath.Join(filepath.Dir(cfg), "state")
	left := filepath.Join(state, ".spendsync-preview-123")
	os.MkdirAll(left, 0o700)
	os.WriteFile(filepath.Join(left, "copy.db"), []byte("personal data"), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(left, old, old)
	if code, _, stderr := cli(t, "--config", cfg, "diff", "--sources"); code != 0 {
		t.Fatalf("diff --sources: %d %s", code, stderr)
	}
	if _, err := os.Stat(left); err == nil {
		t.Fatal("the killed preview's copy is still there")
	}
	entries, _ := os.ReadDir(state)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".spendsync-") {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

// A preview pulls from the HR API as the run would, but keeps none of its
// responses (api.keep_responses) and writes no metrics.
func TestAPreviewKeepsNoAPIResponsesAndWritesNoMetrics(t *testing.T) {
	t.Setenv("SPENDSYNC_TEST_AFAS_TOKEN", afasTokenXML)
	srv := newHRAPI(t, "afas", afasRows(t))
	rig := newPullRig(t, "")
	rig = newPullRig(t, afasSource(srv, srv.caFile(rig.dir), "      keep_responses: true\n"))
	if code, _, stderr := rig.cli("run"); code != exitOK && code != exitRejected {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	before := filesUnder(t, rig.dir)
	if _, err := os.Stat(filepath.Join(rig.dir, "state", "spendsync.prom")); err != nil {
		t.Fatalf("the run wrote no metrics: %v", err)
	}
	for _, args := range [][]string{{"run", "--dry-run"}, {"diff", "--sources"}} {
		if code, out, stderr := rig.cli(args...); (code != exitOK && code != exitRejected) || !strings.Contains(out, "persons") {
			t.Fatalf("%q: exit %d\n%s\n%s", args, code, out, stderr)
		}
		sameState(t, strings.Join(args, " "), before, filesUnder(t, rig.dir))
	}
}

// A preview is a reader: it runs while a writer holds the lock.
func TestAPreviewRunsBesideAWriter(t *testing.T) {
	cfg := demo(t)
	mustCLI(t, "--config", cfg, "run")
	renameInAD(t, cfg, "jan.boele@example.nl", "jan.devries@example.nl")
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := lifecycle.Acquire(c.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if code, out, stderr := cli(t, "--config", cfg, "run", "--dry-run"); code != exitRejected || !strings.Contains(out, "1 renames held") {
		t.Fatalf("run --dry-run beside a writer: exit %d\n%s\n%s", code, out, stderr)
	}
}
