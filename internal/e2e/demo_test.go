package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/config"
	"github.com/wasmhost/wasmhost/internal/testutil"
)

var printLine = regexp.MustCompile(`^offset=(\d+) key=(\d+) name="[^"]+" favorite_color="[^"]+" favorite_number=(\d+)$`)

// TestDemoUsersToPrint runs the shipped demo's shape on the embedded broker
// started by the daemon itself: the users source feeds the print pipeline,
// which prints well-formed records.
func TestDemoUsersToPrint(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testDemo(t, "") })
	// The embedded broker with TLS and SCRAM: the daemon's own clients
	// authenticate and trust its certificate from the [embedded] section.
	t.Run("tls+scram", func(t *testing.T) {
		cert, key := testutil.SelfSignedCert(t, t.TempDir())
		testDemo(t, fmt.Sprintf(`
[embedded.tls]
cert_file = %q
key_file = %q
[embedded.sasl]
mechanism = "SCRAM-SHA-512"
username = "demo"
password = "s3cret"
`, cert, key))
	})
}

func testDemo(t *testing.T, extra string) {
	dir := t.TempDir()
	shipped, err := config.Load(filepath.Join(testutil.Root(t), "config.toml"))
	if err != nil {
		t.Fatalf("the shipped config.toml: %v", err)
	}
	if !shipped.Embedded() || len(shipped.Sources) != 1 || len(shipped.Pipelines) != 1 {
		t.Fatalf("the shipped config is not the demo: %+v", shipped)
	}
	path := writeFile(t, filepath.Join(dir, "demo.toml"), fmt.Sprintf(`
[embedded]
listen = %q
data_dir = %q
[plugins]
dir = %q
cache_dir = %q
[[topics]]
name = "users"
partitions = 10
[[sources]]
name = "users"
plugin = "users"
interval = "50ms"
produce_topics = ["users"]
[[pipelines]]
name = "print-users"
plugin = "print"
topics = ["users"]
%s`, freePort(t), filepath.Join(dir, "data"), pluginsDir(t, "users", "print"), testutil.CacheDir(t), extra))
	d := runInProcess(t, path)

	var printed []printed
	waitFor(t, 60*time.Second, "10 printed records", func() bool {
		printed = printedLines(t, d.logs.String())
		return len(printed) >= 10
	})
	d.stop()
	for _, l := range printed {
		m := printLine.FindStringSubmatch(l.Message)
		if m == nil {
			t.Fatalf("malformed print line: %q", l.Message)
		}
		// The line's fields say where the record came from; the message
		// does not repeat them.
		if l.Topic != "users" || l.Partition == nil || *l.Partition < 0 || *l.Partition > 9 || l.Pipeline != "print-users" {
			t.Errorf("print line fields %+v, want topic users, a partition 0..9, pipeline print-users", l)
		}
		// The client id, the daemon's short id, the pipeline, the member.
		if !consumerID.MatchString(l.Consumer) || len(l.Daemon) < 8 || l.Consumer[9:17] != l.Daemon[:8] {
			t.Errorf("consumer id %q of daemon %q, want wasmhost-<daemon id>-print-users-0", l.Consumer, l.Daemon)
		}
		if k, _ := strconv.Atoi(m[2]); k < 0 || k > 100 {
			t.Errorf("key %d outside 0..100", k)
		}
		if n, _ := strconv.Atoi(m[3]); n < 0 || n > 1000 {
			t.Errorf("favorite_number %d outside 0..1000", n)
		}
	}
}

var consumerID = regexp.MustCompile(`^wasmhost-[0-9a-f]{8}-print-users-0$`)

// printed is a log line of the print plugin.
type printed struct {
	Message   string `json:"message"`
	Plugin    string `json:"plugin"`
	Daemon    string `json:"daemon"`
	Pipeline  string `json:"pipeline"`
	Consumer  string `json:"consumer"`
	Topic     string `json:"topic"`
	Partition *int32 `json:"partition"`
}

// printedLines returns the print plugin's log lines.
func printedLines(t *testing.T, logs string) []printed {
	var out []printed
	for _, l := range strings.Split(logs, "\n") {
		var ev printed
		if json.Unmarshal([]byte(l), &ev) == nil && ev.Plugin == "print" && strings.HasPrefix(ev.Message, "offset=") {
			out = append(out, ev)
		}
	}
	return out
}
