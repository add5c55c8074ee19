package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/testutil"
)

// TestReloadAddingATopicKeepsPipelinesRunning adds a [[topics]] entry to
// the config of a running daemon: the topic is created, and a pipeline
// whose produce_topics = [] ("every topic") gets the wider allowlist
// without being restarted. It keeps its group session, its counts and its
// progress.
func TestReloadAddingATopicKeepsPipelinesRunning(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in")
	dir := t.TempDir()
	head := fmt.Sprintf(`
[kafka]
brokers = [%q]
[plugins]
dir = %q
cache_dir = %q
[http]
listen = "127.0.0.1:0"
[[topics]]
name = "out"
partitions = 2
`, b.Addr(), pluginsDir(t, "forward"), testutil.CacheDir(t))
	pipe := `
[[pipelines]]
name = "fwd"
plugin = "forward"
topics = ["in"]
batch_wait = "5ms"
config = { to = "out" }
`
	path := writeFile(t, filepath.Join(dir, "wasmhost.toml"), head+pipe)
	reload := make(chan struct{}, 1)
	d := runMonitored(t, path, reload)
	d.waitReady(t, 60*time.Second)
	produceN(t, b.Addr(), "in", 0, 100)
	waitFor(t, 60*time.Second, "100 records forwarded", func() bool { return highWater(t, b.Addr(), "out") == 100 })
	before := d.status(t).Pipelines[0]

	writeFile(t, path, head+"[[topics]]\nname = \"more\"\npartitions = 3\n"+pipe)
	reload <- struct{}{}
	waitFor(t, 30*time.Second, "the reload", func() bool { return strings.Contains(d.logs.String(), `"config reloaded"`) })
	logs := d.logs.String()
	if !strings.Contains(logs, `"changed":[]`) || !strings.Contains(logs, `"allowlist_changed":["fwd"]`) {
		t.Errorf("the reload line does not say fwd ran on with a new allowlist:\n%s", logs)
	}
	if n := strings.Count(logs, `"pipeline started"`); n != 1 || strings.Contains(logs, `"pipeline stopped"`) {
		t.Errorf("the pipeline was restarted (%d starts):\n%s", n, logs)
	}
	if n := highWater(t, b.Addr(), "more"); n != 0 {
		t.Errorf("the new topic holds %d records", n)
	}
	produceN(t, b.Addr(), "in", 100, 100)
	waitFor(t, 60*time.Second, "100 more records forwarded", func() bool { return highWater(t, b.Addr(), "out") == 200 })
	after := d.status(t).Pipelines[0]
	// The same pipeline: its count went on from 100 (a new one counts from
	// 0), and its member never left its group session.
	if after.Counts.In != 200 || after.Members[0].Generation != before.Members[0].Generation ||
		after.Members[0].MemberID != before.Members[0].MemberID || !after.Members[0].Joined {
		t.Errorf("before the reload %+v %+v, after %+v %+v", before.Counts, before.Members, after.Counts, after.Members)
	}
}
