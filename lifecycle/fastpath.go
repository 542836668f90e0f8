package lifecycle

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"github.com/spendsync/spendsync/connector"
)

// The daily run mostly re-reads files that have not changed. A source whose
// files, settings, binary and the state it was applied to are all as they
// were at its last apply cannot produce a different diff, so it is not
// diffed again: its last rejects are recorded for this run instead. Any
// change to the state (another source, a block, a prune) bumps the state
// generation and so forces a full diff.

// bumpGeneration marks the state as changed, inside a transaction.
func bumpGeneration(tx *sql.Tx) error {
	_, err := tx.Exec(`UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'`)
	if err != nil {
		return fmt.Errorf("bump state generation: %w", err)
	}
	return nil
}

func generation(q interface {
	QueryRow(string, ...any) *sql.Row
}) (int64, error) {
	var g int64
	if err := q.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'`).Scan(&g); err != nil {
		return 0, fmt.Errorf("read state generation: %w", err)
	}
	return g, nil
}

// sourceDigest hashes everything a source's diff depends on besides the
// state: its file contents (lookup files included), its settings, the rules, the fields other
// sources own, and the binary.
func sourceDigest(src *connector.Source, rules connector.Rules, skip []string) (string, error) {
	h := sha256.New()
	settings, err := json.Marshal(struct {
		Src   *connector.Source
		Rules connector.Rules
		Skip  []string
		Build string
	}{src, rules, skip, buildID()})
	if err != nil {
		return "", err
	}
	h.Write(settings)
	if src.API != nil {
		// What an API answers cannot be known without pulling it, so a
		// pulled source is always diffed: its digest never repeats.
		fmt.Fprintf(h, "\x00pull %d", time.Now().UnixNano())
	}
	for _, p := range src.Files() {
		if fi, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("open source file: %w", err)
		} else if fi.IsDir() {
			return "", fmt.Errorf("source file %s is a folder, not a file", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("open source file: %w", err)
		}
		fmt.Fprintf(h, "\x00%s\x00", p)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("read %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildID changes with every build of different code, so a new binary
// (perhaps with new validation) always diffs again.
func buildID() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	id := bi.Main.Version + bi.GoVersion
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id += s.Value
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			id += fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return id
}

// unchangedSource reports whether src may skip its diff: same digest and
// no state change since its last apply. It returns that apply's rejects.
// unchangedPlan returns a plan that changes nothing and repeats the
// source's last rejects, when src may skip its diff; else nil.
func (s *Store) unchangedPlan(ctx context.Context, src, digest string) (*Plan, error) {
	var last string
	var gen, runID int64
	var rows int
	err := s.db.QueryRowContext(ctx, `SELECT digest, generation, run_id, rows FROM source_state WHERE source = ?`, src).
		Scan(&last, &gen, &runID, &rows)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read source state: %w", err)
	}
	cur, err := generation(s.db)
	if err != nil || last != digest || gen != cur {
		return nil, err
	}
	all, err := s.Rejects(ctx, runID)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Source: src, Rows: rows, Unchanged: runID, digest: digest, persons: map[string]*stored{}}
	// The orphans are as they were: the run's summary counted them.
	var summary string
	if err := s.db.QueryRowContext(ctx, `SELECT summary FROM runs WHERE id = ?`, runID).Scan(&summary); err == nil {
		var sum struct {
			Sources map[string]struct {
				Orphans       int    `json:"orphans"`
				OrphanExample string `json:"orphan_example"`
			} `json:"sources"`
		}
		if json.Unmarshal([]byte(summary), &sum) == nil {
			plan.Orphans, plan.OrphanExample = sum.Sources[src].Orphans, sum.Sources[src].OrphanExample
		}
	}
	for _, r := range all {
		if r.Source == src {
			plan.Rejects = append(plan.Rejects, connector.Reject{File: r.File, Line: r.Line, Column: r.Column,
				Reason: r.Reason, Raw: r.Raw, EmployeeNumber: r.EmployeeNumber})
		}
	}
	return plan, nil
}

// recordSourceState notes the digest and the generation a source left.
func recordSourceState(tx *sql.Tx, plan *Plan, runID int64) error {
	gen, err := generation(tx)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO source_state (source, digest, generation, run_id, rows) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET digest = excluded.digest, generation = excluded.generation,
			run_id = excluded.run_id, rows = excluded.rows`,
		plan.Source, plan.digest, gen, runID, plan.Rows)
	if err != nil {
		return fmt.Errorf("record source state: %w", err)
	}
	return nil
}

// carryGenerations moves a source's recorded generation forward over the
// changes later sources of the same run made, when those cannot alter its
// diff: providers that only filled fields the source skips (every source
// skips all provided fields; providers skip each other's when disjoint).
// Without this, a primary source applied before a provider that changed
// the state would be diffed again in full on the next, unchanged, run.
func (s *Store) carryGenerations(ctx context.Context, plans []*Plan) error {
	var carry []string
	for i, p := range plans {
		ok := p.digest != ""
		for _, later := range plans[i+1:] {
			if !later.changes() {
				continue
			}
			if len(later.provides) == 0 || slices.ContainsFunc(p.provides, func(f string) bool { return slices.Contains(later.provides, f) }) {
				ok = false
				break
			}
		}
		if ok {
			carry = append(carry, p.Source)
		}
	}
	if len(carry) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		gen, err := generation(tx)
		if err != nil {
			return err
		}
		for _, src := range carry {
			if _, err := tx.Exec(`UPDATE source_state SET generation = ? WHERE source = ?`, gen, src); err != nil {
				return fmt.Errorf("record source state: %w", err)
			}
		}
		return nil
	})
}
