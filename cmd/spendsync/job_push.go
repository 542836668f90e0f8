package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/lifecycle"
	"github.com/spendsync/spendsync/transport"
)

type pushOptions struct{ dryRun, force bool }

func (c *config) target(g *globals) (transport.Target, error) {
	if !c.Target.Configured() {
		return nil, &configError{file: c.path, key: "target", err: errors.New("no target configured (set target.sftp or target.dir)")}
	}
	return transport.Open(&c.Target, transport.Hooks{
		Logf:     func(msg string, args ...any) { g.log.Warn(msg, args...) },
		Progress: g.progress("uploading"),
	})
}

// runPushJob delivers the latest export in export.dir to the target, once:
// an export already delivered there is skipped unless forced.
func runPushJob(ctx context.Context, g *globals, cfg *config, st *lifecycle.Store, runID int64, o pushOptions) error {
	target, err := cfg.target(g)
	if err != nil {
		return err
	}
	if o.dryRun {
		if err := target.Check(ctx); err != nil {
			return err
		}
		checked := "folder present" // a folder target has no host key to trust
		if cfg.Target.SFTP != nil {
			checked = "connected, host key trusted, folder present"
		}
		fmt.Fprintf(g.stdout, "would deliver to %s: %s\n", target.Name(), checked)
		return nil
	}
	// A killed export or push leaves temporary files whether or not there
	// is anything new to deliver: remove them on every push.
	if removed, err := atomicfile.CleanTemp(cfg.Export.Dir); err != nil {
		g.log.Warn("cannot remove leftover temporary files", "dir", cfg.Export.Dir, "error", err.Error())
	} else if len(removed) > 0 {
		g.log.Info("removed leftover temporary files", "dir", cfg.Export.Dir, "files", removed)
	}
	m, err := export.ReadManifest(cfg.Export.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no export in %s yet (run spendsync export)", cfg.Export.Dir)
	}
	if err != nil {
		return err
	}
	data, err := export.Verify(cfg.Export.Dir, m)
	if err != nil {
		return fmt.Errorf("%w (run spendsync export again)", err)
	}
	done, err := st.Delivered(ctx, m.ExportID, target.Name())
	if err != nil {
		return err
	}
	if done && !o.force {
		if removed, err := target.Clean(ctx); err != nil {
			g.log.Warn("cannot remove leftover temporary files from the drop", "target", target.Name(), "error", err.Error())
		} else if len(removed) > 0 {
			g.log.Info("removed leftover temporary files from the drop", "target", target.Name(), "files", removed)
		}
		fmt.Fprintf(g.stdout, "export %s was already delivered to %s (use --force to deliver it again)\n", m.ExportID, target.Name())
		return nil
	}
	var files []transport.File
	for _, f := range m.Files() {
		files = append(files, transport.File{Name: f.File, Data: data[f.File]})
	}
	start := time.Now()
	delivered, err := target.Deliver(ctx, m.ExportID, files)
	details := map[string]any{"duration_ms": time.Since(start).Milliseconds(), "forced": o.force && done}
	if err != nil {
		details["error"] = err.Error()
		if rerr := st.RecordDelivery(ctx, runID, m.ExportID, target.Name(), false, details); rerr != nil {
			g.log.Error("cannot record the failed delivery", "error", rerr.Error())
		}
		return err
	}
	details["files"] = delivered
	if err := st.RecordDelivery(ctx, runID, m.ExportID, target.Name(), true, details); err != nil {
		return err
	}
	if err := st.Summarize(runID, map[string]any{"delivery": map[string]any{"export_id": m.ExportID, "target": target.Name()}}); err != nil {
		return err
	}
	var names []string
	for _, d := range delivered {
		names = append(names, fmt.Sprintf("%s (%d bytes)", d.Name, d.Size))
	}
	g.log.Info("delivered", "export_id", m.ExportID, "target", target.Name(), "duration", time.Since(start).String())
	fmt.Fprintf(g.stdout, "delivered %s to %s: %s\n", m.ExportID, target.Name(), strings.Join(names, ", "))
	return nil
}
