package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spendsync/spendsync/export"
	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/fault"
	"github.com/spendsync/spendsync/transport"
)

// PushOptions steer one delivery.
type PushOptions struct{ DryRun, Force bool }

func (p *Pipeline) target() (transport.Target, error) {
	t := p.Settings.Target
	if t == nil || !t.Configured() {
		return nil, fault.Key("target", "no target configured (set target.sftp or target.dir)")
	}
	log := p.log()
	return transport.Open(t, transport.Hooks{
		Logf:     func(msg string, args ...any) { log.Warn(msg, args...) },
		Progress: p.progress("uploading"),
	})
}

// Push delivers the latest export in the export folder to the target, once:
// an export already delivered there is skipped unless forced.
func (p *Pipeline) Push(ctx context.Context, o PushOptions) error {
	err := p.push(ctx, o)
	if o.DryRun {
		return err
	}
	// The SCIM service is told after the delivery, whatever became of it:
	// a failure of one never holds the other back.
	if cerr := p.Connect(ctx, true); cerr != nil {
		if err == nil {
			return cerr
		}
		return errors.Join(err, cerr)
	}
	return err
}

func (p *Pipeline) push(ctx context.Context, o PushOptions) error {
	target, err := p.target()
	if err != nil {
		return err
	}
	out, dir := p.stdout(), p.Settings.Export.Dir
	if o.DryRun {
		if err := target.Check(ctx); err != nil {
			return err
		}
		checked := "folder present" // a folder target has no host key to trust
		if p.Settings.Target.SFTP != nil {
			checked = "connected, host key trusted, folder present"
		}
		fmt.Fprintf(out, "would deliver to %s: %s\n", target.Name(), checked)
		return nil
	}
	// A killed export or push leaves temporary files whether or not there
	// is anything new to deliver: remove them on every push.
	if removed, err := atomicfile.CleanTemp(dir); err != nil {
		p.log().Warn("cannot remove leftover temporary files", "dir", dir, "error", err.Error())
	} else if len(removed) > 0 {
		p.log().Info("removed leftover temporary files", "dir", dir, "files", removed)
	}
	m, err := export.ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no export in %s yet (run spendsync export)", dir)
	}
	if err != nil {
		return err
	}
	if err := export.Verify(dir, m); err != nil {
		return fmt.Errorf("%w (run spendsync export again)", err)
	}
	done, err := p.Store.Delivered(ctx, m.ExportID, target.Name())
	if err != nil {
		return err
	}
	if done && !o.Force {
		if removed, err := target.Clean(ctx); err != nil {
			p.log().Warn("cannot remove leftover temporary files from the drop", "target", target.Name(), "error", err.Error())
		} else if len(removed) > 0 {
			p.log().Info("removed leftover temporary files from the drop", "target", target.Name(), "files", removed)
		}
		fmt.Fprintf(out, "export %s was already delivered to %s (use --force to deliver it again)\n", m.ExportID, target.Name())
		return nil
	}
	// persons.csv goes in first, roles.csv second: a set half renamed
	// when the second rename fails is undone by the target. The target
	// streams each file and checks it against the manifest again: one
	// changed since Verify is not delivered.
	var files []transport.File
	for _, f := range []export.FileInfo{m.Persons, m.Roles} {
		files = append(files, transport.File{Name: f.File, Path: filepath.Join(dir, f.File), Size: f.Size, SHA256: f.SHA256})
	}
	start := time.Now()
	delivered, err := target.Deliver(ctx, m.ExportID, files)
	if errors.Is(err, transport.ErrChanged) {
		err = fmt.Errorf("%w (run spendsync export again)", err)
	}
	details := map[string]any{"duration_ms": time.Since(start).Milliseconds(), "forced": o.Force && done}
	if err != nil {
		details["error"] = err.Error()
		// A push stopped by a signal is an attempt too: record it.
		if rerr := p.Store.RecordDelivery(context.WithoutCancel(ctx), p.RunID, m.ExportID, target.Name(), false, details); rerr != nil {
			p.log().Error("cannot record the failed delivery", "error", rerr.Error())
		}
		return err
	}
	details["files"] = delivered
	if err := p.Store.RecordDelivery(ctx, p.RunID, m.ExportID, target.Name(), true, details); err != nil {
		return err
	}
	if err := p.Store.Summarize(p.RunID, map[string]any{"delivery": map[string]any{"export_id": m.ExportID, "target": target.Name()}}); err != nil {
		return err
	}
	var names []string
	for _, d := range delivered {
		names = append(names, fmt.Sprintf("%s (%d bytes)", d.Name, d.Size))
	}
	p.log().Info("delivered", "export_id", m.ExportID, "target", target.Name(), "duration", time.Since(start).String())
	fmt.Fprintf(out, "delivered %s to %s: %s\n", m.ExportID, target.Name(), strings.Join(names, ", "))
	return nil
}
