package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"

	"zombiezen.com/go/sqlite"
)

// Delivery event kinds and manual actions.
const (
	DeliveryOK     = "delivery.ok"
	DeliveryFailed = "delivery.failed"
	PersonBlocked  = "person.blocked"
	Unblocked      = "person.unblocked"
)

// RecordDelivery stores a delivery attempt and its event.
func (s *Store) RecordDelivery(ctx context.Context, runID int64, exportID, target string, ok bool, details map[string]any) error {
	kind := DeliveryFailed
	if ok {
		kind = DeliveryOK
	}
	details["export_id"], details["target"] = exportID, target
	return s.tx(ctx, func(c *sqlite.Conn) error {
		t := now()
		if err := exec(c, `INSERT INTO deliveries (run_id, time, export_id, target, ok, details) VALUES (?, ?, ?, ?, ?, ?)`,
			runID, t, exportID, target, ok, mustJSON(details)); err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		return insertEvents(c, []Event{{Source: "push", Kind: kind, Details: details}}, runID, t)
	})
}

// Delivered reports whether exportID was delivered to target.
func (s *Store) Delivered(ctx context.Context, exportID, target string) (bool, error) {
	var n int
	_, err := s.one(ctx, `SELECT COUNT(*) FROM deliveries WHERE export_id = ? AND target = ? AND ok`, []any{&n}, exportID, target)
	if err != nil {
		return false, fmt.Errorf("read deliveries: %w", err)
	}
	return n > 0, nil
}

// Delivery is a recorded delivery attempt.
type Delivery struct {
	Time     string          `json:"time"`
	ExportID string          `json:"export_id"`
	Target   string          `json:"target"`
	OK       bool            `json:"ok"`
	Details  json.RawMessage `json:"details"`
}

// LastDeliveries returns the last attempt and the last success per target.
func (s *Store) LastDeliveries(ctx context.Context) (last, lastOK []Delivery, err error) {
	query := func(q string) ([]Delivery, error) {
		var out []Delivery
		err := s.each(ctx, q, func(st *sqlite.Stmt) error {
			var d Delivery
			var details string
			scan(st, &d.Time, &d.ExportID, &d.Target, &d.OK, &details)
			d.Details = json.RawMessage(details)
			out = append(out, d)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read deliveries: %w", err)
		}
		return out, nil
	}
	if last, err = query(`SELECT time, export_id, target, ok, details FROM deliveries
		WHERE id IN (SELECT MAX(id) FROM deliveries GROUP BY target) ORDER BY target`); err != nil {
		return nil, nil, err
	}
	lastOK, err = query(`SELECT time, export_id, target, ok, details FROM deliveries
		WHERE id IN (SELECT MAX(id) FROM deliveries WHERE ok GROUP BY target) ORDER BY target`)
	return last, lastOK, err
}

// SetBlocked blocks or unblocks a person, recording who did it and why.
func (s *Store) SetBlocked(ctx context.Context, runID int64, emp string, blocked bool, reason string) (changed bool, err error) {
	err = s.tx(ctx, func(c *sqlite.Conn) error {
		var was bool
		found, err := oneConn(c, `SELECT blocked FROM persons WHERE employee_number = ?`, []any{&was}, emp)
		if err != nil {
			return fmt.Errorf("read person %s: %w", emp, err)
		}
		if !found {
			return fmt.Errorf("employee number %q: %w", emp, ErrNotFound)
		}
		if was == blocked {
			return nil
		}
		changed = true
		t := now()
		stored := reason
		if !blocked {
			stored = ""
		}
		if err := exec(c, `UPDATE persons SET blocked = ?, block_reason = ?, updated = ? WHERE employee_number = ?`,
			blocked, stored, t, emp); err != nil {
			return fmt.Errorf("block %s: %w", emp, err)
		}
		gen, err := markingGen(c)
		if err != nil {
			return err
		}
		if gen != 0 {
			if err := insertEach(newMarker(c, gen), 1, func(vals []value, _ int) []value { return append(vals, text(emp)) }); err != nil {
				return fmt.Errorf("block %s: %w", emp, err)
			}
		}
		if err := bumpGeneration(c); err != nil {
			return err
		}
		kind, details := PersonBlocked, map[string]any{"reason": reason}
		if !blocked {
			kind = Unblocked
		}
		return insertEvents(c, []Event{{Source: "manual", Kind: kind, EmployeeNumber: emp, Details: details}}, runID, t)
	})
	return changed, err
}
