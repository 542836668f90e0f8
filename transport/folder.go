package transport

import (
	"context"
	"errors"
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
	temps := map[string]string{}
	defer func() {
		for _, tmp := range temps {
			os.Remove(tmp) // gone already after a commit
		}
	}()
	// Write every file to a temporary name (0600) and check its size
	// first: a failure here changes nothing under a final name.
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := openSource(f)
		if err != nil {
			return nil, fmt.Errorf("dir: cannot read %q: %w", f.Name, err)
		}
		p, err := atomicfile.Stage(filepath.Join(t.dir, f.Name), func(w io.Writer) error {
			_, err := io.Copy(io.MultiWriter(w, t.hooks.progress(f)), src)
			return err
		})
		src.Close()
		if err != nil {
			return nil, fmt.Errorf("dir: cannot write %q: %w", f.Name, err)
		}
		temps[f.Name] = p.Temp()
		if err := src.check(); err != nil {
			return nil, fmt.Errorf("dir: %w", err)
		}
		if fi, err := os.Stat(p.Temp()); err != nil || fi.Size() != f.Size {
			return nil, fmt.Errorf("dir: %q has the wrong size after writing", p.Temp())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := newCommit(files, id, func(f File) string { return temps[f.Name] }, func(name string) string { return filepath.Join(t.dir, name) })
	err := c.run(folderDrop{})
	if serr := atomicfile.SyncDir(t.dir); err == nil {
		err = serr
	}
	if err != nil {
		if c.broken != nil {
			return nil, fmt.Errorf("dir: %w; and the files renamed before it could not be put back: %v", err, c.broken)
		}
		return nil, fmt.Errorf("dir: %w (the drop holds the files it held before)", err)
	}
	return describe(files), nil
}

// folderDrop is a local folder as a drop; paths are full paths.
type folderDrop struct{}

func (folderDrop) stat(name string) (bool, error) {
	fi, err := os.Lstat(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case fi.Mode()&os.ModeSymlink != 0:
		return false, fmt.Errorf("%s %w", name, atomicfile.ErrSymlink)
	case fi.IsDir():
		return false, fmt.Errorf("%q is a folder; cannot put a file there", name)
	}
	return true, nil
}

func (folderDrop) link(oldname, newname string) error { return os.Link(oldname, newname) }

func (folderDrop) replace(oldname, newname string) error {
	if err := atomicfile.RefuseLink(newname); err != nil {
		return err
	}
	return os.Rename(oldname, newname) // a *LinkError names both
}

func (folderDrop) remove(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
