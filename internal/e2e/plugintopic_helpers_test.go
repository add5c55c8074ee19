package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/fleet"
	"github.com/wasmhost/wasmhost/internal/observe"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

// fleetConfig is a daemon config copying "in" to "out" under exactly-once
// with plugin "tag" from the plugin topic, trusting key pub. The daemons
// have no plugin files: plugins.dir does not exist.
func fleetConfig(t *testing.T, addr, pub string) string {
	t.Helper()
	return writeFile(t, filepath.Join(t.TempDir(), "wasmhost.toml"), fmt.Sprintf(`
shutdown_timeout = "20s"
[kafka]
brokers = [%q]
[http]
listen = "127.0.0.1:0"
[plugins]
dir = "no-plugins-here"
from = "kafka"
cache_dir = %q
trusted_keys = [%q]
[[pipelines]]
name = "copy"
plugin = "tag"
topics = ["in"]
guarantee = "exactly-once"
batch_size = 100
batch_wait = "5ms"
session_timeout = "2s"
transaction_timeout = "3s"
produce_topics = ["out"]
config = { to = "out" }
`, addr, testutil.CacheDir(t), pub))
}

var statusURL = regexp.MustCompile(`"url":"(http://[^"]+)/"`)

// statusOf returns the daemon's /api/status, once its server listens.
func statusOf(t *testing.T, d *daemonProc) (observe.Status, bool) {
	t.Helper()
	m := statusURL.FindStringSubmatch(d.logs.String())
	if m == nil {
		return observe.Status{}, false
	}
	// Not httpGet: a daemon that exited is a "no", for the caller to time
	// out on with the daemon's log.
	c := http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(m[1] + "/api/status")
	if err != nil {
		return observe.Status{}, false
	}
	defer res.Body.Close()
	var st observe.Status
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&st) != nil {
		return observe.Status{}, false
	}
	return st, true
}

// serving is the sha256 of the plugin version the daemon serves, "" when
// it does not say yet.
func serving(t *testing.T, d *daemonProc, plugin string) string {
	t.Helper()
	st, ok := statusOf(t, d)
	if !ok {
		return ""
	}
	for _, p := range st.Plugins {
		if p.Name == plugin {
			return p.SHA256
		}
	}
	return ""
}

// waitFleet waits until every daemon serves version sha of plugin.
func waitFleet(t *testing.T, ds []*daemonProc, plugin, sha string) {
	t.Helper()
	waitFor(t, 90*time.Second, fmt.Sprintf("every daemon to serve %s %.12s", plugin, sha), func() bool {
		for _, d := range ds {
			if serving(t, d, plugin) != sha {
				return false
			}
		}
		return true
	})
}

// refusals counts the daemon's refusals of a new plugin version whose
// error says reason.
func refusals(d *daemonProc, reason string) int {
	n := 0
	for _, l := range lines(d.logs.String()) {
		if strings.Contains(l, `"message":"new plugin version refused`) && strings.Contains(l, reason) {
			n++
		}
	}
	return n
}

// keygen makes a key pair with the CLI and returns the public key text.
func keygen(t *testing.T, path string) string {
	t.Helper()
	if out, errOut, code := runCLI(t, "plugin", "keygen", path); code != 0 {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fleet.SHA256(b)
}
