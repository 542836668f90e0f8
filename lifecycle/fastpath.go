package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"zombiezen.com/go/sqlite"
)

// The daily run mostly re-reads files that have not changed. A source whose
// files, settings, binary and the state it was applied to are all as they
// were at its last apply cannot produce a different diff, so it is not
// diffed again: its last rejects are recorded for this run instead. Any
// change to the state (another source, a block, a prune) bumps the state
// generation and so forces a full diff.

// bumpGeneration marks the state as changed, inside a transaction.
func bumpGeneration(c *sqlite.Conn) error {
	err := exec(c, `UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'`)
	if err != nil {
		return fmt.Errorf("bump state generation: %w", err)
	}
	return nil
}

func generation(c *sqlite.Conn) (int64, error) {
	var g int64
	if _, err := oneConn(c, `SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'`, []any{&g}); err != nil {
		return 0, fmt.Errorf("read state generation: %w", err)
	}
	return g, nil
}

// SourceState is what a source left at its last apply.
type SourceState struct {
	Digest     string
	Generation int64 // the state generation after that apply
	RunID      int64
	Rows       int
}

// SourceState returns the source's state at its last apply, or nil.
func (s *Store) SourceState(ctx context.Context, source string) (*SourceState, error) {
	var st SourceState
	found, err := s.one(ctx, `SELECT digest, generation, run_id, rows FROM source_state WHERE source = ?`,
		[]any{&st.Digest, &st.Generation, &st.RunID, &st.Rows}, source)
	if err != nil {
		return nil, fmt.Errorf("read source state: %w", err)
	}
	if !found {
		return nil, nil
	}
	return &st, nil
}

// Generation is the current state generation.
func (s *Store) Generation() (int64, error) {
	var g int64
	err := s.do(context.Background(), func(c *sqlite.Conn) (err error) {
		g, err = generation(c)
		return err
	})
	return g, err
}

// recordSourceState notes the digest and the generation a source left.
func recordSourceState(c *sqlite.Conn, ch *Changes, runID int64) error {
	gen, err := generation(c)
	if err != nil {
		return err
	}
	err = exec(c, `INSERT INTO source_state (source, digest, generation, run_id, rows) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET digest = excluded.digest, generation = excluded.generation,
			run_id = excluded.run_id, rows = excluded.rows`,
		ch.Source, ch.Digest, gen, runID, ch.Rows)
	if err != nil {
		return fmt.Errorf("record source state: %w", err)
	}
	return nil
}

// CarryGenerations records the current generation for the sources: the
// caller knows the changes since their last apply cannot alter their diff.
func (s *Store) CarryGenerations(ctx context.Context, carry []string) error {
	if len(carry) == 0 {
		return nil
	}
	return s.tx(ctx, func(c *sqlite.Conn) error {
		gen, err := generation(c)
		if err != nil {
			return err
		}
		for _, src := range carry {
			if err := exec(c, `UPDATE source_state SET generation = ? WHERE source = ?`, gen, src); err != nil {
				return fmt.Errorf("record source state: %w", err)
			}
		}
		return nil
	})
}

// ProvidedFields are the person fields some provider source has ever
// filled. A primary source that changes one of them (a provider dropped
// from the config, say) makes the providers' recorded hashes of that
// person void: otherwise a provider back in the config would find its rows
// unchanged and never put its values back.
func (s *Store) ProvidedFields(ctx context.Context) ([]string, error) {
	var text string
	found, err := s.one(ctx, `SELECT value FROM meta WHERE key = 'provided_fields'`, []any{&text})
	if err != nil {
		return nil, fmt.Errorf("read provided fields: %w", err)
	}
	if !found {
		return nil, nil
	}
	var fields []string
	if err := json.Unmarshal([]byte(text), &fields); err != nil {
		return nil, fmt.Errorf("read provided fields: %w", err)
	}
	return fields, nil
}

// recordProvided adds a provider's fields to ProvidedFields, inside the
// transaction that applies what the provider filled.
func recordProvided(c *sqlite.Conn, fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	var text string
	if _, err := oneConn(c, `SELECT value FROM meta WHERE key = 'provided_fields'`, []any{&text}); err != nil {
		return fmt.Errorf("read provided fields: %w", err)
	}
	var all []string
	if text != "" {
		if err := json.Unmarshal([]byte(text), &all); err != nil {
			return fmt.Errorf("read provided fields: %w", err)
		}
	}
	n := len(all)
	for _, f := range fields {
		if !slices.Contains(all, f) {
			all = append(all, f)
		}
	}
	if len(all) == n && text != "" {
		return nil
	}
	slices.Sort(all)
	b, _ := json.Marshal(all)
	if err := exec(c, `INSERT INTO meta (key, value) VALUES ('provided_fields', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, string(b)); err != nil {
		return fmt.Errorf("record provided fields: %w", err)
	}
	return nil
}
