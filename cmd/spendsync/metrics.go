package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/lifecycle"
)

// writeMetrics refreshes the Prometheus textfile atomically, so the
// collector never reads half a file.
func writeMetrics(st *lifecycle.Store, cfg *config) error {
	path := cfg.Metrics
	text, err := metricsText(context.Background(), st, cfg.MetricsLabels)
	if err != nil {
		return err
	}
	if err := atomicfile.MkdirPrivate(filepath.Dir(path)); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, []byte(text)); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	if cfg.metricsMode != 0o600 {
		// Written 0600 like everything else, then opened up as asked.
		if err := os.Chmod(path, cfg.metricsMode); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// metricsText renders the state as a Prometheus textfile (node_exporter's
// textfile collector format), every series named spendsync_*. The text is
// written by expfmt, so escaping and number formats are the exposition
// format's own; a family without samples is left out. extra labels (a
// tenant's name) go on every series.
func metricsText(ctx context.Context, s *lifecycle.Store, extra map[string]string) (string, error) {
	var families []*dto.MetricFamily
	byName := map[string]*dto.MetricFamily{}
	family := func(name, typ, help string) {
		t := dto.MetricType_GAUGE
		if typ == "counter" {
			t = dto.MetricType_COUNTER
		}
		mf := &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: t.Enum()}
		families = append(families, mf)
		byName[name] = mf
	}
	sample := func(name string, labels map[string]string, v float64) {
		mf := byName[name]
		m := &dto.Metric{}
		if len(extra) > 0 {
			labels = maps.Clone(labels)
			if labels == nil {
				labels = map[string]string{}
			}
			maps.Copy(labels, extra)
		}
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(labels[k])})
		}
		if mf.GetType() == dto.MetricType_COUNTER {
			m.Counter = &dto.Counter{Value: proto.Float64(v)}
		} else {
			m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
		}
		mf.Metric = append(mf.Metric, m)
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
	stats, err := s.Stats(ctx)
	if err != nil {
		return "", err
	}
	family("spendsync_last_success_timestamp_seconds", "gauge", "End of the last run of each command that exited 0 or 5.")
	for _, c := range stats.LastSuccess {
		sample("spendsync_last_success_timestamp_seconds", map[string]string{"command": c.Command}, unix(c.Time))
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

	if ex := stats.LastExport; ex != nil {
		family("spendsync_export_persons", "gauge", "Persons in the last export.")
		sample("spendsync_export_persons", nil, float64(ex.Persons))
		family("spendsync_export_roles", "gauge", "Roles in the last export.")
		sample("spendsync_export_roles", nil, float64(ex.Roles))
		family("spendsync_export_held_back", "gauge", "Persons held back in the last export.")
		sample("spendsync_export_held_back", nil, float64(ex.Held))
		if n, err := s.WithoutRole(ctx); err == nil {
			family("spendsync_export_without_role", "gauge", "Persons in the last export without a role: they cannot log in to Spend Cloud.")
			sample("spendsync_export_without_role", nil, float64(n))
		}
		family("spendsync_export_timestamp_seconds", "gauge", "Time of the last export.")
		sample("spendsync_export_timestamp_seconds", nil, unix(ex.Time))
	}
	rejects, err := s.Rejects(ctx, 0)
	if err != nil {
		return "", err
	}
	family("spendsync_rejects", "gauge", "Rows rejected by the last ingest.")
	sample("spendsync_rejects", nil, float64(len(rejects)))

	family("spendsync_deliveries_total", "counter", "Delivery attempts per target and result.")
	for _, d := range stats.Deliveries {
		result := "failed"
		if d.OK {
			result = "ok"
		}
		sample("spendsync_deliveries_total", map[string]string{"target": d.Target, "result": result}, float64(d.N))
	}
	_, lastOK, err := s.LastDeliveries(ctx)
	if err != nil {
		return "", err
	}
	family("spendsync_last_delivery_success_timestamp_seconds", "gauge", "Time of the last successful delivery per target.")
	for _, d := range lastOK {
		sample("spendsync_last_delivery_success_timestamp_seconds", map[string]string{"target": d.Target}, unix(d.Time))
	}
	revs, err := s.Revocations(ctx, "")
	if err != nil {
		return "", err
	}
	n, oldest := lifecycle.WithAccess(revs)
	family("spendsync_leavers_with_access", "gauge", "Leavers that still have access somewhere: in the last export, an undelivered removal, or not yet suspended at the SCIM service.")
	sample("spendsync_leavers_with_access", nil, float64(n))
	age := 0.0
	if oldest != nil && !oldest.Since().IsZero() {
		age = time.Since(oldest.Since()).Seconds()
	}
	family("spendsync_oldest_leaver_with_access_seconds", "gauge", "Seconds since the ingest saw the leave of the leaver that has had access longest (0: none).")
	sample("spendsync_oldest_leaver_with_access_seconds", nil, age)
	failing, _, err := s.ConnectFailures(ctx)
	if err != nil {
		return "", err
	}
	family("spendsync_connect_failing", "gauge", "Persons whose last SCIM call failed; the next command retries them.")
	sample("spendsync_connect_failing", nil, float64(failing))
	var b strings.Builder
	for _, mf := range families {
		if len(mf.Metric) == 0 {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return "", fmt.Errorf("render metrics: %w", err)
		}
	}
	return b.String(), nil
}

// ownLabels are the labels the series carry themselves.
var ownLabels = []string{"command", "state", "target", "result"}

// checkMetricsLabel refuses a label name Prometheus would refuse, or one
// the series carry themselves.
func checkMetricsLabel(name string) error {
	valid := name != "" && !strings.HasPrefix(name, "__")
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			valid = false
		}
	}
	if !valid {
		return fmt.Errorf("not a Prometheus label name (letters, digits and _, not first a digit or __)")
	}
	if slices.Contains(ownLabels, name) {
		return fmt.Errorf("the series carry a label %q themselves", name)
	}
	return nil
}

func unix(rfc3339 string) float64 {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return 0
	}
	return float64(t.Unix())
}
