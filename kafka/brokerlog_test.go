package kafka

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kfake's "EndTxn slow" warning is a debug line; its other warnings stay
// warnings.
func TestBrokerLogLevels(t *testing.T) {
	var buf strings.Builder
	z := zerologAdapter{zerolog.New(&buf).Level(zerolog.InfoLevel)}
	z.Logf(kfake.LogLevelWarn, "txn: EndTxn slow pid=%d epoch=%d elapsed=%dms batches=%d groups=%d", 1, 0, 6, 3, 1)
	if buf.Len() != 0 {
		t.Fatalf("slow EndTxn logged at info or above: %s", buf.String())
	}
	z.Logf(kfake.LogLevelWarn, "pids.log: discarding %d corrupt trailing bytes", 3)
	if !strings.Contains(buf.String(), `"level":"warn"`) {
		t.Fatalf("other warnings must stay warnings: %q", buf.String())
	}
}
