package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// TestStatusPageFleetSection opens the status page of one of two daemons
// sharing a broker: its fleet section lists both (this one marked), the
// plugin version both serve, and then the other one as stopped once it is
// stopped; the sources table shows the source's lease; no console errors.
func TestStatusPageFleetSection(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in", "out")
	dir := t.TempDir()
	addPlugin(t, dir, "forward", "plugins/forward")
	addPlugin(t, dir, "users", "plugins/users")
	path := writeFile(t, filepath.Join(dir, "wasmhost.toml"), fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[fleet]
status_interval = "300ms"
stale_after = 10
[[pipelines]]
name = "copy"
plugin = "forward"
topics = ["in"]
config = { to = "out" }
[[sources]]
name = "users"
plugin = "users"
interval = "1h"
`, b.Addr(), dir, testutil.CacheDir(t)))
	d1, d2 := runMonitored(t, path, nil), runMonitored(t, path, nil)
	id1, id2 := d1.status(t).DaemonID, d2.status(t).DaemonID

	ctx, problems := headlessPage(t)
	run := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	rowText := func(id string) string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`(document.querySelector('#fleet tr[data-daemon=%q]') || {textContent: ""}).textContent`, id)))
		if err != nil {
			t.Fatalf("fleet row: %v", err)
		}
		return s
	}
	run("open the status page", chromedp.Navigate(d1.url+"/"))
	run("the fleet section", chromedp.WaitVisible(chromedp.CSS("#fleet-section")))
	waitFor(t, 60*time.Second, "both daemons running in the fleet section", func() bool {
		r1, r2 := rowText(id1), rowText(id2)
		return strings.Contains(r1, "(this one)") && strings.Contains(r1, "running") && strings.Contains(r1, "forward @ ") &&
			strings.Contains(r2, "running") && !strings.Contains(r2, "this one")
	})
	waitFor(t, 30*time.Second, "one forward version served by both", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#fleet-plugins tbody').textContent`))
		return err == nil && strings.HasPrefix(s, "forward") && strings.Contains(s, id1[:8]) && strings.Contains(s, id2[:8])
	})
	waitFor(t, 30*time.Second, "the source's lease in the sources table", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('#sources tr[data-source="users"]') || {textContent: ""}).textContent`))
		return err == nil && strings.Contains(s, "(group wasmhost-source-users)") && (strings.Contains(s, "held") || strings.Contains(s, "standby"))
	})
	d2.stop()
	waitFor(t, 30*time.Second, "the stopped daemon shown as stopped", func() bool {
		return strings.Contains(rowText(id2), "stopped")
	})
	if p := problems(); len(p) > 0 {
		t.Errorf("the page wrote to the console:\n%s", strings.Join(p, "\n"))
	}
}

// headlessPage starts headless Chromium and returns its context and the
// console errors and warnings seen so far.
func headlessPage(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(contextFor(t),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
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
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}
