package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spendsync/spendsync/export"
)

// RunOptions steer the daily job.
type RunOptions struct{ DryRun, Force bool }

// Run does ingest, export, push and (with retention set) prune, in that
// order under the caller's lock. A safety stop or a failure in a stage
// stops the run before the next; rejected rows do not, and are returned at
// the end. A dry run is a preview (preview.go): the same run on a private
// copy of the database.
func (p *Pipeline) Run(ctx context.Context, o RunOptions) error {
	if o.DryRun {
		return p.previewRun(ctx, o)
	}
	ingestErr := p.Ingest(ctx, IngestOptions{Force: o.Force})
	// A SCIM failure (ConnectError) never holds back the export or the
	// delivery: it ends the run with exit 1 once they are done.
	if ingestErr != nil && !errors.Is(ingestErr, ErrRejected) && !errors.As(ingestErr, new(*ConnectError)) {
		return ingestErr
	}
	var connectErr error
	// A held rename is a finding, not a failure: the dump without it is
	// still delivered.
	_, exportErr := p.Export(ctx, ExportOptions{Force: o.Force})
	if exportErr != nil && !errors.Is(exportErr, ErrHeld) {
		return exportErr
	}
	if t := p.Settings.Target; t != nil && t.Configured() {
		if err := p.Push(ctx, PushOptions{}); err != nil {
			if !onlyConnect(err) {
				return err
			}
			connectErr = err
		}
	} else {
		if err := p.Connect(ctx, true); err != nil {
			connectErr = err
		}
		p.log().Warn("no target configured: the export is not delivered")
	}
	if p.retains() {
		if err := p.Prune(ctx); err != nil {
			return err
		}
	}
	if connectErr != nil && onlyConnect(ingestErr) {
		// The push's SCIM calls retried the ingest's failures: one report.
		ingestErr = nil
	}
	return errors.Join(ingestErr, exportErr, connectErr)
}

func (p *Pipeline) retains() bool {
	r := p.Settings.Retention
	return r.Events > 0 || r.Exports > 0 || r.Leavers > 0
}

// Prune applies the retention policy to the state and the export history.
func (p *Pipeline) Prune(ctx context.Context) error {
	r := p.Settings.Retention
	pr, err := p.Store.Prune(ctx, p.RunID, r, time.Now())
	if err != nil {
		return err
	}
	exports := 0
	if r.Exports > 0 {
		if exports, err = export.PruneHistory(p.Settings.Export.Dir, r.Exports); err != nil {
			return err
		}
	}
	p.log().Info("prune", "events", pr.Events, "rejects", pr.Rejects, "leavers", pr.Leavers, "exports", exports)
	fmt.Fprintf(p.stdout(), "pruned %d events, %d rejects, %d leavers, %d exports\n", pr.Events, pr.Rejects, pr.Leavers, exports)
	return nil
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
