package lifecycle

import (
	"context"
	"fmt"

	"zombiezen.com/go/sqlite"
)

// Stats are the figures the metrics textfile reports besides runs,
// counts, rejects and deliveries.
type Stats struct {
	LastSuccess []CommandTime // per command, the end of its last run that exited 0 or 5
	LastExport  *ExportStats  // nil before the first export
	Deliveries  []DeliveryCount
}

// CommandTime is when a command last did something.
type CommandTime struct{ Command, Time string }

// ExportStats describes the last export (not migrate).
type ExportStats struct {
	Persons, Roles, Held int
	Time                 string
}

// DeliveryCount is the number of delivery attempts per target and result.
type DeliveryCount struct {
	Target string
	OK     bool
	N      int
}

// Stats reads the figures for the metrics textfile.
func (s *Store) Stats(ctx context.Context) (*Stats, error) {
	st := &Stats{}
	if err := s.each(ctx, `SELECT command, MAX(finished) FROM runs WHERE exit_code IN (0, 5) GROUP BY command ORDER BY command`,
		func(row *sqlite.Stmt) error {
			var c CommandTime
			scan(row, &c.Command, &c.Time)
			st.LastSuccess = append(st.LastSuccess, c)
			return nil
		}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var ex ExportStats
	found, err := s.one(ctx, `SELECT persons, roles, held, time FROM exports WHERE origin = 'export' ORDER BY time DESC, rowid DESC LIMIT 1`,
		[]any{&ex.Persons, &ex.Roles, &ex.Held, &ex.Time})
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if found {
		st.LastExport = &ex
	}
	if err := s.each(ctx, `SELECT target, ok, COUNT(*) FROM deliveries GROUP BY target, ok ORDER BY target, ok`, func(row *sqlite.Stmt) error {
		var d DeliveryCount
		scan(row, &d.Target, &d.OK, &d.N)
		st.Deliveries = append(st.Deliveries, d)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return st, nil
}
