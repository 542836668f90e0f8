package lifecycle

import (
	"encoding/json"
	"fmt"
	"strings"

	"zombiezen.com/go/sqlite"
)

// An export whose inputs are all as they were at the last export makes
// the same dump: the state (its generation, which every change to persons,
// contracts or blocks bumps), the export settings (a digest the caller
// computes), and the date as far as any contract's window is concerned.
// The last export records what it was computed from as its basis (in meta,
// so no schema change); the next export compares and, when nothing
// differs, copies the stored rows instead of walking the state.

// ExportBasis is what an export was computed from.
type ExportBasis struct {
	ExportID   string `json:"export_id"` // the export it belongs to: another export since (an older binary's) voids it
	Generation int64  `json:"generation"`
	Digest     string `json:"digest"`
	Date       string `json:"date"`
	// WithoutRole is how many persons of the dump have no role row: the
	// one count a dump's manifest does not give.
	WithoutRole int `json:"without_role"`
}

const basisKey = "export_basis"

// readBasis reads the basis recorded with the last export, or nil.
func readBasis(c *sqlite.Conn) (*ExportBasis, error) {
	var text string
	found, err := oneConn(c, `SELECT value FROM meta WHERE key = ?`, []any{&text}, basisKey)
	if err != nil || !found {
		return nil, err
	}
	var b ExportBasis
	if json.Unmarshal([]byte(text), &b) != nil {
		return nil, nil // unreadable: as if none, so the export walks
	}
	return &b, nil
}

// writeBasis records b as the last export's basis; nil clears it.
func writeBasis(c *sqlite.Conn, b *ExportBasis) error {
	if b == nil {
		return exec(c, `DELETE FROM meta WHERE key = ?`, basisKey)
	}
	return exec(c, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		basisKey, mustJSON(b))
}

// Basis returns the basis of the last export in the reader's snapshot,
// or nil when it has none that belongs to it.
func (r *ExportReader) Basis() *ExportBasis {
	if r.basis == nil || r.basis.ExportID != r.ID || r.ID == "" {
		return nil
	}
	return r.basis
}

// LastManifest returns the manifest recorded with the last export, as
// JSON ("" before the first).
func (r *ExportReader) LastManifest() (string, error) {
	var m string
	if _, err := oneConn(r.conn, `SELECT manifest FROM exports WHERE id = ?`, []any{&m}, r.ID); err != nil {
		return "", fmt.Errorf("read last export: %w", err)
	}
	return m, nil
}

// Generation is the state generation in the reader's snapshot.
func (r *ExportReader) Generation() int64 { return r.generation }

// Stored calls fn for every person of the last export in employee-number
// order with its stored rows, as Rows returns them.
func (r *ExportReader) Stored(fn func(emp, person string, roles []string) error) error {
	var roles []string
	var fnErr error
	err := each(r.conn, `SELECT employee_number, row, roles FROM exported_persons ORDER BY employee_number`, func(st *sqlite.Stmt) error {
		roles = roles[:0]
		if joined := st.ColumnText(2); joined != "" {
			roles = append(roles, strings.Split(joined, RoleSep)...)
		}
		fnErr = fn(st.ColumnText(0), st.ColumnText(1), roles)
		return fnErr
	})
	if fnErr != nil {
		return fnErr // the caller's, with its own context
	}
	if err != nil {
		return fmt.Errorf("read last export: %w", err)
	}
	return nil
}
