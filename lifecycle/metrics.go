package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Metrics renders the state as a Prometheus textfile (node_exporter's
// textfile collector format), every series named spendsync_*.
func (s *Store) Metrics(ctx context.Context) (string, error) {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, labels map[string]string, v float64) {
		b.WriteString(name)
		if len(labels) > 0 {
			keys := make([]string, 0, len(labels))
			for k := range labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + `="` + escapeLabel(labels[k]) + `"`
			}
			b.WriteString("{" + strings.Join(parts, ",") + "}")
		}
		fmt.Fprintf(&b, " %g\n", v)
	}

	runs, err := s.LastRuns(ctx)
	if err != nil {
		return "", err
	}
	family("spendsync_last_run_timestamp_seconds", "gauge", "Start of the last run of each command.")
	for _, r := range runs {
		sample("spendsync_last_run_timestamp_seconds", map[string]string{"command": r.Command}, unix(r.Started))
	}
	family("spendsync_last_exit_code", "gauge", "Exit code of the last finished run of each command.")
	family("spendsync_last_duration_seconds", "gauge", "Duration of the last finished run of each command.")
	for _, r := range runs {
		if r.ExitCode == nil {
			continue
		}
		sample("spendsync_last_exit_code", map[string]string{"command": r.Command}, float64(*r.ExitCode))
		sample("spendsync_last_duration_seconds", map[string]string{"command": r.Command}, unix(r.Finished)-unix(r.Started))
	}
	family("spendsync_last_success_timestamp_seconds", "gauge", "End of the last run of each command that exited 0 or 5.")
	rows, err := s.db.QueryContext(ctx, `SELECT command, MAX(finished) FROM runs WHERE exit_code IN (0, 5) GROUP BY command ORDER BY command`)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	if err := eachRow(rows, func() error {
		var cmd, t string
		if err := rows.Scan(&cmd, &t); err != nil {
			return err
		}
		sample("spendsync_last_success_timestamp_seconds", map[string]string{"command": cmd}, unix(t))
		return nil
	}); err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}

	persons, contracts, blocked, err := s.Counts(ctx)
	if err != nil {
		return "", err
	}
	family("spendsync_persons", "gauge", "Current persons in the state.")
	sample("spendsync_persons", map[string]string{"state": "current"}, float64(persons))
	sample("spendsync_persons", map[string]string{"state": "blocked"}, float64(blocked))
	family("spendsync_contracts", "gauge", "Contracts in the state.")
	sample("spendsync_contracts", nil, float64(contracts))

	var exPersons, exRoles, exHeld float64
	var exTime string
	err = s.db.QueryRowContext(ctx, `SELECT persons, roles, held, time FROM exports WHERE origin = 'export' ORDER BY time DESC, rowid DESC LIMIT 1`).
		Scan(&exPersons, &exRoles, &exHeld, &exTime)
	if err == nil {
		family("spendsync_export_persons", "gauge", "Persons in the last export.")
		sample("spendsync_export_persons", nil, exPersons)
		family("spendsync_export_roles", "gauge", "Roles in the last export.")
		sample("spendsync_export_roles", nil, exRoles)
		family("spendsync_export_held_back", "gauge", "Persons held back in the last export.")
		sample("spendsync_export_held_back", nil, exHeld)
		family("spendsync_export_timestamp_seconds", "gauge", "Time of the last export.")
		sample("spendsync_export_timestamp_seconds", nil, unix(exTime))
	}
	rejects, err := s.Rejects(ctx, 0)
	if err != nil {
		return "", err
	}
	family("spendsync_rejects", "gauge", "Rows rejected by the last ingest.")
	sample("spendsync_rejects", nil, float64(len(rejects)))

	family("spendsync_deliveries_total", "counter", "Delivery attempts per target and result.")
	rows, err = s.db.QueryContext(ctx, `SELECT target, ok, COUNT(*) FROM deliveries GROUP BY target, ok ORDER BY target, ok`)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	if err := eachRow(rows, func() error {
		var target string
		var ok bool
		var n float64
		if err := rows.Scan(&target, &ok, &n); err != nil {
			return err
		}
		result := "failed"
		if ok {
			result = "ok"
		}
		sample("spendsync_deliveries_total", map[string]string{"target": target, "result": result}, n)
		return nil
	}); err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	_, lastOK, err := s.LastDeliveries(ctx)
	if err != nil {
		return "", err
	}
	family("spendsync_last_delivery_success_timestamp_seconds", "gauge", "Time of the last successful delivery per target.")
	for _, d := range lastOK {
		sample("spendsync_last_delivery_success_timestamp_seconds", map[string]string{"target": d.Target}, unix(d.Time))
	}
	return b.String(), nil
}

func unix(rfc3339 string) float64 {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return 0
	}
	return float64(t.Unix())
}

func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}
