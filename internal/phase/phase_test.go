package phase

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is written by the phase's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until the buffer holds want; it fails only if that never
// happens (no timing is asserted).
func waitFor(t *testing.T, buf *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if strings.Contains(buf.String(), want) {
			return
		}
	}
	t.Fatalf("never wrote %q; wrote %q", want, buf.String())
}

func TestLogsSayALongPhaseIsAliveWithItsProgress(t *testing.T) {
	var buf syncBuffer
	r := Logs(slog.New(slog.NewJSONHandler(&buf, nil)))
	r.Every = time.Millisecond
	p := r.Start("events", 500)
	p.Add(120)
	waitFor(t, &buf, `"done":120`)
	p.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first, last map[string]any
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil {
		t.Fatalf("not JSON lines: %q", buf.String())
	}
	if first["msg"] != "working" || first["phase"] != "events" || first["total"] != float64(500) {
		t.Errorf("first line %v", first)
	}
	if last["msg"] != "phase done" {
		t.Errorf("last line %v, want the phase's end", last)
	}
	after := buf.String()
	time.Sleep(5 * time.Millisecond)
	if buf.String() != after {
		t.Error("wrote after Done")
	}
}

func TestAShortPhaseShowsNothing(t *testing.T) {
	var logs, bars syncBuffer
	for _, r := range []*Reporter{Logs(slog.New(slog.NewJSONHandler(&logs, nil))), Bars(&bars)} {
		r.After, r.Every = time.Hour, time.Hour
		p := r.Start("diff", 10)
		p.Add(10)
		p.Done()
	}
	if logs.String() != "" || bars.String() != "" {
		t.Fatalf("a phase shorter than the thresholds wrote %q %q", logs.String(), bars.String())
	}
}

func TestBarsAppearForALongPhaseWithAndWithoutATotal(t *testing.T) {
	for _, total := range []int64{1000, -1} {
		var buf syncBuffer
		r := Bars(&buf)
		r.After = 0
		p := r.Start("write", total)
		p.Add(250)
		waitFor(t, &buf, "write")
		p.Done()
		if total > 0 {
			waitFor(t, &buf, "250/1000")
		}
	}
}

func TestNilReporterIsSilent(t *testing.T) {
	var r *Reporter
	p := r.Start("x", 1)
	p.Add(1)
	p.Done()
	p.Done()
}

func TestDoneTwiceIsHarmless(t *testing.T) {
	p := Logs(slog.New(slog.DiscardHandler)).Start("x", 1)
	p.Done()
	p.Done()
}
