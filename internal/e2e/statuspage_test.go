package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// chromiumPath finds the browser for TestStatusPageInBrowser:
// $WASMHOST_CHROMIUM, or chromium on PATH (scripts/install-chromium.sh,
// which `make test` runs first, installs Debian's).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WASMHOST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run scripts/install-chromium.sh (make test does), or set WASMHOST_CHROMIUM")
	return ""
}

// TestStatusPageInBrowser opens the status page of a running daemon in
// headless Chromium: it loads without console errors, shows the pipeline
// and its partitions, its numbers change as records flow, and a failed
// record shows up with its coordinates. The screenshot is kept in
// artifacts/status-page.png.
func TestStatusPageInBrowser(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 3, "in", "out")
	dir := t.TempDir()
	addPlugin(t, dir, "hostile", "host/testdata/plugins/hostile")
	path := writeFile(t, filepath.Join(dir, "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[[pipelines]]
name = "copy"
plugin = "hostile"
topics = ["in"]
produce_topics = ["out"]
config = { to = "out" }
guarantee = "exactly-once"
failure = { policy = "skip", retries = 0 }
`, b.Addr(), dir, testutil.CacheDir(t)))
	d := runMonitored(t, path, nil)
	d.waitReady(t, 60*time.Second)

	alloc, cancelAlloc := chromedp.NewExecAllocator(contextFor(t),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1400),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()

	// Collect console messages from the first request on.
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	consoleCtx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	messages := chromedp.Console(consoleCtx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning {
				mu.Lock()
				problems = append(problems, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()

	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, a); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, d.logs)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		defer scancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	count := func(sel string) int {
		t.Helper()
		n, err := strconv.Atoi(strings.ReplaceAll(text(sel), ",", ""))
		if err != nil {
			t.Fatalf("%s is not a count: %v", sel, err)
		}
		return n
	}

	step("open the status page", chromedp.Navigate(d.url+"/"))
	card := `article[data-pipeline="copy"]`
	step("the pipeline card", chromedp.WaitVisible(chromedp.CSS(card)))
	waitFor(t, 30*time.Second, "the page to say ready", func() bool { return text("#ready") == "ready" })
	if got := text(card + ` [data-field="plugin"]`); !strings.HasPrefix(got, "hostile @ ") {
		t.Errorf("plugin shown as %q", got)
	}
	waitFor(t, 30*time.Second, "three partitions listed", func() bool {
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('article[data-pipeline="copy"] table.partitions tbody tr').length`))
		return err == nil && rows == 3
	})
	before := count(card + ` [data-field="in"]`)

	// 2000 records, one of which the plugin fails: it is skipped.
	const n = 2000
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf("value-%d", i)
	}
	values[1234] = "fail"
	produceSpread(t, b.Addr(), "in", values)
	waitFor(t, 60*time.Second, "the page to count the records in, out and skipped", func() bool {
		return count(card+` [data-field="in"]`) == before+n && count(card+` [data-field="out"]`) == before+n-1 &&
			count(card+` [data-field="skipped"]`) == 1
	})
	waitFor(t, 30*time.Second, "the skipped record in the latest errors", func() bool {
		row := text(`#errors tbody tr`)
		return strings.Contains(row, "copy") && strings.Contains(row, "in/") && strings.Contains(row, "skipped") &&
			strings.Contains(row, "hostile: asked to fail")
	})
	// The throughput chart drew a line: pixels of the "in" series' blue or
	// the "out" series' green (axes, grid and labels are grey). The out
	// line is drawn last and covers the in line wherever the two rates
	// are equal, as they are when the burst falls in one sample.
	waitFor(t, 30*time.Second, "a line in the records/s chart", func() bool {
		inked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
			const c = document.querySelector('article[data-pipeline="copy"] canvas[data-chart="rate"]');
			const copy = document.createElement("canvas"); // reading the page's canvas often makes Chrome warn
			copy.width = c.width; copy.height = c.height;
			const cc = copy.getContext("2d", { willReadFrequently: true });
			cc.drawImage(c, 0, 0);
			const px = cc.getImageData(0, 0, c.width, c.height).data;
			const blue = (r, g, b) => b > 150 && r < 120 && g < 160, green = (r, g, b) => g > 130 && r < 80 && b < 120;
			for (let i = 0; i < px.length; i += 4) if (px[i+3] > 128 && (blue(px[i], px[i+1], px[i+2]) || green(px[i], px[i+1], px[i+2]))) return true;
			return false;
		})()`))
		return err == nil && inked
	})
	checkHistorySurvivesReload(t, ctx, step)
	if got, want := text("#daemon"), "daemon "+d.status(t).DaemonID; got != want || len(want) != len("daemon ")+36 {
		t.Errorf("the page names the daemon %q, want %q", got, want)
	}
	// Once the probe has read the commits back, no partition lags.
	waitFor(t, 30*time.Second, "lag 0 on the page", func() bool { return count(card+` [data-field="lag"]`) == 0 })
	// Exactly-once: the page shows the transactions, as /metrics counts them.
	txns := count(card + ` [data-field="txn_committed"]`)
	if m := d.scrape(t); txns == 0 || m.sum("wasmhost_transactions_committed_total", map[string]string{"pipeline": "copy"}) != float64(txns) {
		t.Errorf("%d transactions on the page, %v in /metrics", txns, m.sum("wasmhost_transactions_committed_total", nil))
	}
	if got := text(`#producer`); !strings.Contains(got, "delivered") {
		t.Errorf("producer section: %q", got)
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	artifacts := filepath.Join(testutil.Root(t), "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifacts, "status-page.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	stopConsole()
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page wrote to the console:\n%s", strings.Join(problems, "\n"))
	}
}

// checkHistorySurvivesReload reloads the status page and checks its charts
// show at once what was drawn before the reload: the daemon keeps the
// history, not the page. A page that kept its own could only show samples
// taken after the reload.
func checkHistorySurvivesReload(t *testing.T, ctx context.Context, step func(string, chromedp.Action[chromedp.Void])) {
	t.Helper()
	chart := `document.querySelector('article[data-pipeline="copy"] canvas[data-chart="rate"]')`
	drawn := func() (points int, first int64) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => { const c = `+chart+`; return c ? [c.dataset.points || "0", c.dataset.first || "0"] : ["0", "0"]; })()`))
		if err != nil || len(v) != 2 {
			return 0, 0
		}
		points, _ = strconv.Atoi(v[0])
		first, _ = strconv.ParseInt(v[1], 10, 64)
		return points, first
	}
	var before, first int
	waitFor(t, 30*time.Second, "5 seconds of history in the chart", func() bool {
		var f int64
		before, f = drawn()
		first = int(f)
		return before >= 5 && f > 0
	})
	reloadedAt := time.Now().UnixMilli()
	step("reload the page", chromedp.Reload())
	var after int
	var firstAfter int64
	waitFor(t, 30*time.Second, "the chart drawn again", func() bool {
		after, firstAfter = drawn()
		return after > 0
	})
	if firstAfter > int64(first) || firstAfter >= reloadedAt || after < before {
		t.Errorf("after a reload the chart draws %d samples from %d, before it drew %d from %d (reloaded at %d): the history did not survive",
			after, firstAfter, before, first, reloadedAt)
	}
}
