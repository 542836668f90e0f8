package main

import (
	"fmt"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/model"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/pipeline"
)

// settings are the configured parts the pipeline's stages need.
func (c *config) settings() *pipeline.Settings {
	return &pipeline.Settings{
		Sources:    c.Sources,
		Rules:      c.connectorRules(),
		Thresholds: c.Rules.Thresholds,
		Export:     &c.Export,
		ExportRules: export.Rules{LeadDays: c.Rules.LeadDays, GraceDays: c.Rules.GraceDays, NameStyle: c.Rules.NameStyle,
			RemoveDiacritics: *c.Rules.RemoveDiacritics, GenderMap: c.Rules.GenderMap, Scope: c.Rules.Scope,
			AllowRenames: c.Rules.UsernameChange == "allow", EmailReuse: c.Rules.EmailReuse,
			RequireRole: c.Export.RequireRole == "hold"},
		Target:         &c.Target,
		Retention:      c.Retention,
		EmailReuseDays: *c.Rules.EmailReuseDays,
	}
}

// pipeline is the stages on st, recorded as runID (0: dry, writes nothing).
func (g *globals) pipeline(cfg *config, st *lifecycle.Store, runID int64) *pipeline.Pipeline {
	return &pipeline.Pipeline{Store: st, RunID: runID, Settings: cfg.settings(), Log: g.log, Stdout: g.stdout,
		Verbose: g.verbose, Progress: g.progress, Phases: g.phases()}
}

// checkDate refuses a --date that is not YYYY-MM-DD.
func checkDate(date string) error {
	if date == "" {
		return nil
	}
	if _, err := time.Parse(model.DateLayout, date); err != nil {
		return &usageError{fmt.Errorf("--date %q is not YYYY-MM-DD", date)}
	}
	return nil
}
