// Package phase shows that a long phase of work is alive: on a terminal a
// progress bar once a phase has run for a couple of seconds, in logs a line
// at regular intervals, so neither a person nor a log watcher mistakes a
// minute of inserting events for a hang.
package phase

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Reporter starts phases. A nil *Reporter is valid and shows nothing.
type Reporter struct {
	log  *slog.Logger
	bars io.Writer // nil: log lines instead of bars
	// After is how long a phase runs before its bar appears; Every is the
	// interval of log lines (0: only a line at the end of each phase).
	// Tests shorten them.
	After, Every time.Duration
}

// Bars reports on a terminal: a bar per phase that lasts over 2 s.
func Bars(w io.Writer) *Reporter {
	return &Reporter{bars: w, After: 2 * time.Second, Every: 10 * time.Second}
}

// Logs reports to log: a line every 10 s while a phase runs, and one at the
// end of a phase that lasted that long.
func Logs(log *slog.Logger) *Reporter {
	return &Reporter{log: log, After: 2 * time.Second, Every: 10 * time.Second}
}

// Phase is one running phase. Its methods are safe to call on nil.
type Phase struct {
	r     *Reporter
	name  string
	total int64
	done  atomic.Int64
	start time.Time
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// Start begins a phase of total units (-1 when unknown). Call Done when it
// ends.
func (r *Reporter) Start(name string, total int64) *Phase {
	if r == nil {
		return nil
	}
	p := &Phase{r: r, name: name, total: total, start: time.Now(), stop: make(chan struct{})}
	p.wg.Add(1)
	go p.watch()
	return p
}

// Add records n more units done.
func (p *Phase) Add(n int64) {
	if p != nil {
		p.done.Add(n)
	}
}

// Done ends the phase; nothing is written for it after Done returns.
// Calling it again does nothing, so it can be deferred as well.
func (p *Phase) Done() {
	if p == nil {
		return
	}
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
}

func (p *Phase) watch() {
	defer p.wg.Done()
	if p.r.bars != nil {
		p.watchBar()
		return
	}
	every := p.r.Every
	logged := every <= 0 // Every 0: log the end of every phase
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			logged = true
			p.r.log.Info("working", p.attrs()...)
		case <-p.stop:
			if logged {
				p.r.log.Info("phase done", p.attrs()...)
			}
			return
		}
	}
}

func (p *Phase) attrs() []any {
	a := []any{"phase", p.name, "done", p.done.Load()}
	if p.total >= 0 {
		a = append(a, "total", p.total)
	}
	return append(a, "elapsed", time.Since(p.start).Round(time.Second).String())
}

// watchBar waits out After, then draws a bar (a spinner without a total)
// and refreshes it until Done.
func (p *Phase) watchBar() {
	select {
	case <-time.After(p.r.After):
	case <-p.stop:
		return
	}
	bar := progressbar.NewOptions64(p.total, progressbar.OptionSetWriter(p.r.bars), progressbar.OptionSetDescription(p.name),
		progressbar.OptionClearOnFinish(), progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSpinnerType(14))
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		bar.Set64(p.done.Load())
		select {
		case <-t.C:
		case <-p.stop:
			bar.Finish()
			return
		}
	}
}
