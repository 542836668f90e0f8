package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/spendsync/spendsync/internal/slowtest"
)

// TestReportHTMLInARealBrowser opens the report of the known history in
// headless Chromium: the tables hold the history's numbers, each chart is
// an inline SVG with one bar per bucket or month, the console stays
// empty, no request leaves the page, and it prints on A4.
func TestReportHTMLInARealBrowser(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Chromium does not run under Wine; the report's HTML is the same on every OS")
	}
	browser, err := exec.LookPath("chromium")
	if err != nil {
		slowtest.SkipMissing(t, "chromium (Debian's chromium package)")
	}
	h := buildReportHistory(t)
	page := filepath.Join(h.dir, "report.html")
	h.cmd(0, "report", "--from", "2020-01-01", "--to", "2020-06-30", "--out", page)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 1400))
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var requests, console []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, r.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, string(m.Type)+": "+m.String())
			mu.Unlock()
		}
	}()
	url := "file://" + filepath.ToSlash(page)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	cell := func(table string, row, col int) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`document.querySelector("#`+table+` tbody").rows[`+itoa(row)+`].cells[`+itoa(col)+`].textContent`))
		if err != nil {
			t.Fatalf("%s row %d col %d: %v", table, row, col, err)
		}
		return v
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return n
	}
	// Summary rows in Build's order: accounts at start, at end, joiners, leavers.
	for i, want := range []string{"0", "1", "6", "5", "8", "7", "4", "1"} {
		if got := cell("summary", i, 1); got != want {
			t.Errorf("summary %q = %s, want %s", cell("summary", i, 0), got, want)
		}
	}
	for i, want := range [][]string{{"2020-01", "5", "0"}, {"2020-02", "0", "1"}, {"2020-03", "0", "3"}, {"2020-04", "1", "0"}, {"2020-05", "0", "1"}} {
		if got := []string{cell("months", i, 0), cell("months", i, 1), cell("months", i, 2)}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("months row %d = %v, want %v", i, got, want)
		}
	}
	if got := cell("slowest", 0, 0) + " " + cell("slowest", 0, 7); got != "002 4" {
		t.Errorf("slowest first = %q, want 002 4", got)
	}
	if got := cell("open", 0, 0) + " " + cell("open", 0, 7); got != "006 open" {
		t.Errorf("open first = %q, want 006 open", got)
	}
	// Each chart one inline SVG; bars by their fill (a two-series chart's
	// legend draws one more swatch of each).
	if n := count(`#chart-revoke svg`); n != 1 {
		t.Errorf("time-to-revoke chart: %d svg elements, want 1", n)
	}
	if n := count(`#chart-revoke svg path[style*="fill:#1F5F99"]`); n != 7 {
		t.Errorf("time-to-revoke chart: %d bars, want 7 (one per bucket)", n)
	}
	if n := count(`#chart-months svg path[style*="fill:#1F5F99"]`); n != 5+1 {
		t.Errorf("months chart: %d joiner bars and swatch, want 5 + 1", n)
	}
	if n := count(`#chart-months svg path[style*="fill:#B23A2E"]`); n != 5+1 {
		t.Errorf("months chart: %d leaver bars and swatch, want 5 + 1", n)
	}
	if n := count(`script, link, img, iframe, object, embed`); n != 0 {
		t.Errorf("%d scripts, links or images in a page that must stand alone", n)
	}

	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize()))
	if err != nil {
		t.Fatalf("print: %v", err)
	}
	pages := len(regexp.MustCompile(`/Type\s*/Page\b[^s]`).FindAll(pdf, -1))
	if pages < 2 || pages > 6 {
		t.Errorf("printed on %d A4 pages, want 2 to 6", pages)
	}
	t.Logf("printed on %d A4 pages", pages)
	// A4 is 595.3 x 841.9 pt; Chromium rounds it to whole device pixels.
	if boxes := regexp.MustCompile(`/MediaBox\s*\[\s*0 0 59[45]\.\d+ 84[12]\.\d+\s*\]`).FindAll(pdf, -1); len(boxes) != pages {
		t.Errorf("%d of %d printed pages are A4", len(boxes), pages)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	os.WriteFile(filepath.Join(t.ArtifactDir(), "report.png"), png, 0o644)
	os.WriteFile(filepath.Join(t.ArtifactDir(), "report.pdf"), pdf, 0o644)

	// Probe the listeners: a console error the test makes must arrive,
	// and the page's own load must be among the requests.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`console.error("probe")`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := len(console)
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(console) == 0 || !strings.Contains(console[len(console)-1], "probe") {
		t.Fatalf("the console listener missed the probe: %q", console)
	}
	console = console[:len(console)-1]
	if !slices.Contains(requests, url) {
		t.Errorf("the request listener missed the page's own load: %q", requests)
	}
	for _, r := range requests {
		if r != url {
			t.Errorf("the page made a request: %s", r)
		}
	}
	if len(console) > 0 {
		t.Errorf("console: %q", console)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
