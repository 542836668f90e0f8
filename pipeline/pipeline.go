// Package pipeline runs spendsync's stages (ingest, export, push, prune,
// migrate) in order, with the safety policy and the write ordering. The
// command turns flags into a Pipeline and options and makes one call; the
// stages' own packages (connector, lifecycle, export, transport) never call
// each other, and the ingest stage's diff is package ingest.
package pipeline

import (
	"errors"
	"io"
	"log/slog"

	"github.com/spendsync/spendsync/connector"
	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/phase"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/transport"
)

// Settings are the configured parts the stages need.
type Settings struct {
	Sources     []*connector.Source
	Rules       connector.Rules
	Thresholds  lifecycle.Thresholds
	Export      *export.Config
	ExportRules export.Rules
	Target      *transport.Config
	Retention   lifecycle.Retention
	// EmailReuseDays is how long Spend Cloud keeps a removed account's
	// email (rules.email_reuse_days).
	EmailReuseDays int
}

// Pipeline is one command's view of the stages: the open store, the run it
// records under (0 for a dry run, which writes nothing) and where it
// reports.
type Pipeline struct {
	Store    *lifecycle.Store
	RunID    int64
	Settings *Settings
	Log      *slog.Logger
	Stdout   io.Writer // one human line per stage
	Verbose  bool      // dry runs list every change
	// Progress returns a progress bar factory for a verb ("reading",
	// "uploading"), or nil for none.
	Progress func(verb string) func(name string, size int64) io.Writer
	// Phases shows long phases (diff, write, events) are alive; nil: silent.
	Phases *phase.Reporter
	// stopped, when set, is told each safety stop Force lets through
	// (ingestConfig.Stopped): a preview's.
	stopped func(stage string, err error)
}

// ErrRejected ends a stage that did its work but rejected rows: exit 5.
var ErrRejected = errors.New("rows were rejected")

func (p *Pipeline) progress(verb string) func(string, int64) io.Writer {
	if p.Progress == nil {
		return nil
	}
	return p.Progress(verb)
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Pipeline) stdout() io.Writer {
	if p.Stdout == nil {
		return io.Discard
	}
	return p.Stdout
}
