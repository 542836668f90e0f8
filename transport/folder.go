package transport

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spendsync/spendsync/internal/atomicfile"
)

// folderTarget is a local or mounted drop folder.
type folderTarget struct {
	dir   string
	hooks Hooks
}

func (t *folderTarget) Name() string { return "dir:" + t.dir }

func (t *folderTarget) Check(ctx context.Context) error {
	fi, err := os.Stat(t.dir)
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("drop folder %s is not a folder", t.dir)
	}
	_, err = os.ReadDir(t.dir)
	return err
}

func (t *folderTarget) Clean(ctx context.Context) ([]string, error) {
	removed, err := atomicfile.CleanTemp(t.dir)
	if err != nil {
		return removed, fmt.Errorf("dir: remove leftover temporary files: %w", err)
	}
	return removed, nil
}

func (t *folderTarget) Deliver(ctx context.Context, id string, files []File) ([]Delivered, error) {
	if err := atomicfile.MkdirPrivate(t.dir); err != nil {
		return nil, err
	}
	if _, err := atomicfile.CleanTemp(t.dir); err != nil {
		return nil, fmt.Errorf("dir: remove leftover temporary files: %w", err) // names the file
	}
	var staged []*atomicfile.Pending
	defer func() {
		for _, p := range staged {
			p.Discard()
		}
	}()
	for _, f := range files {
		p, err := atomicfile.Stage(filepath.Join(t.dir, f.Name), func(w io.Writer) error {
			_, err := io.MultiWriter(w, t.hooks.progress(f)).Write(f.Data)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("dir: cannot write %q: %w", f.Name, err)
		}
		staged = append(staged, p)
	}
	for len(staged) > 0 {
		if err := staged[0].Commit(); err != nil {
			return nil, fmt.Errorf("dir: %w", err)
		}
		staged = staged[1:]
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(t.dir, f.Name))
		if err != nil || fi.Size() != int64(len(f.Data)) {
			return nil, fmt.Errorf("dir: %q has the wrong size after delivery", f.Name)
		}
	}
	return describe(files), nil
}
