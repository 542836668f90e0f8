package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/spendsync/spendsync/internal/atomicfile"
	"github.com/spendsync/spendsync/internal/show"
)

// DefaultMaxSize is a source's max_size when it sets none: 4 GiB, far
// beyond any HR export, near enough that /dev/zero ends.
const DefaultMaxSize int64 = 4 << 30

// A source file that is not a regular file (a pipe, a device) can be read
// only once and has no size up front. Spool copies it once into a private
// temporary file, up to max_size, and the digest and the load both read
// that copy; a regular file is read in place, refused at once when it is
// larger than max_size.

// spooled is the copy of a source file that is not a regular file.
type spooled struct {
	f    *os.File
	size int64
	name string // set when the copy could not be removed at once (Windows)
}

func (c *spooled) close() {
	c.f.Close()
	if c.name != "" {
		os.Remove(c.name)
	}
}

func (s *Source) maxSize() int64 {
	if s.MaxSize > 0 {
		return s.MaxSize
	}
	return DefaultMaxSize
}

// Spool checks every file of the source and copies each that is not a
// regular file into a temporary file in dir (0600, removed from the folder
// as soon as it is made, so nothing is left whatever ends the run). A
// copy past max_size, or a stop of ctx, is an error and leaves no copy.
// Release closes the copies.
func (s *Source) Spool(ctx context.Context, dir string) error {
	for _, p := range s.Files() {
		if _, done := s.spool[p]; done {
			continue
		}
		fi, err := s.stat(p)
		if err != nil {
			s.Release()
			return err
		}
		if fi.Mode().IsRegular() {
			continue
		}
		c, err := s.copyFile(ctx, p, fi, dir)
		if err != nil {
			s.Release()
			return err
		}
		if s.spool == nil {
			s.spool = map[string]*spooled{}
		}
		s.spool[p] = c
	}
	return nil
}

// Release closes (and so frees) the copies Spool made.
func (s *Source) Release() {
	for p, c := range s.spool {
		c.close()
		delete(s.spool, p)
	}
}

// stat checks that path is a file the source may read: not a folder, and
// when a regular file, not larger than max_size.
func (s *Source) stat(path string) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, s.fileError(path, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("source file %s is a folder, not a file", show.Text(path))
	}
	if fi.Mode().IsRegular() && fi.Size() > s.maxSize() {
		return nil, s.tooLarge(path, fi.Size())
	}
	return fi, nil
}

// tooLarge says path is over max_size. It is a *os.PathError, so the
// read that meets it names the file once (atomicfile.Wrap).
// A size below 0 is a pipe's or a device's, known only by reading it.
func (s *Source) tooLarge(path string, size int64) error {
	what := "is not a regular file and holds more than"
	if size >= 0 {
		what = fmt.Sprintf("is %d bytes, more than", size)
	}
	return &os.PathError{Op: s.fileKey(path) + ":", Path: path,
		Err: fmt.Errorf("%s sources.max_size (%d bytes); raise max_size if the file is right", what, s.maxSize())}
}

func (s *Source) copyFile(ctx context.Context, path string, fi os.FileInfo, dir string) (_ *spooled, err error) {
	in, err := openFile(ctx, path, fi)
	if err != nil {
		return nil, s.openError(ctx, path, err)
	}
	defer in.Close()
	stop := context.AfterFunc(ctx, func() { in.SetReadDeadline(time.Now()) })
	defer stop()
	tmp, err := os.CreateTemp(dir, atomicfile.TempPrefix+"source-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("copy %s: %w", show.Text(path), err)
	}
	c := &spooled{f: tmp}
	if os.Remove(tmp.Name()) != nil {
		c.name = tmp.Name()
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	limit := &capReader{r: in, left: s.maxSize(), err: s.tooLarge(path, -1)}
	if c.size, err = io.Copy(tmp, ctxReader{ctx, limit}); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read %s: %w", show.Text(path), ctx.Err())
		}
		if errors.Is(err, limit.err) {
			return nil, err
		}
		return nil, atomicfile.Wrap("copy", path, err)
	}
	return c, nil
}

// openError is the error of an open that failed or was stopped.
func (s *Source) openError(ctx context.Context, path string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("open %s: %w", show.Text(path), ctx.Err())
	}
	return s.fileError(path, err)
}

// open opens one of the source's files for reading: its copy when Spool
// made one, else the file itself, checked as Spool checks it (a pipe or a
// device read without Spool is bounded by max_size as it is read). Every
// read first checks ctx, and a read that waits ends when ctx does.
func (s *Source) open(ctx context.Context, path string) (io.ReadCloser, int64, error) {
	if c, ok := s.spool[path]; ok {
		return io.NopCloser(ctxReader{ctx, io.NewSectionReader(c.f, 0, c.size)}), c.size, nil
	}
	fi, err := s.stat(path)
	if err != nil {
		return nil, 0, err
	}
	f, err := openFile(ctx, path, fi)
	if err != nil {
		return nil, 0, s.openError(ctx, path, err)
	}
	var r io.Reader = f
	if !fi.Mode().IsRegular() {
		r = &capReader{r: f, left: s.maxSize(), err: s.tooLarge(path, -1)}
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	return &readCloser{Reader: ctxReader{ctx, r}, close: func() error { stop(); return f.Close() }}, fi.Size(), nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// openFile opens path. Opening a pipe blocks until a writer opens it too,
// so for a pipe the open waits on a goroutine, and a stop of ctx releases
// it (by opening the pipe for writing, which lets it return) and returns.
func openFile(ctx context.Context, path string, fi os.FileInfo) (*os.File, error) {
	if fi.Mode()&os.ModeNamedPipe == 0 {
		return os.Open(path)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, o.err
	case <-ctx.Done():
	}
	go func() {
		if o := <-done; o.f != nil {
			o.f.Close()
		}
	}()
	if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}
	return nil, ctx.Err()
}

// ctxReader stops reading once ctx is done: the check costs one call per
// buffer (4 KiB or more), not per row.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.ctx.Err() != nil {
		err = c.ctx.Err() // the read the stop of ctx cut short
	}
	return n, err
}

// capReader reads at most left bytes and then err, if there is more.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, c.err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
