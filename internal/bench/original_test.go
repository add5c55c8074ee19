package bench

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// The original design's input: valid JSON objects of the size asked for
// (or their natural size when it is larger), different per record.
func TestJSONValue(t *testing.T) {
	for _, c := range []struct{ i, size int }{{0, 100}, {123456, 100}, {7, 1024}, {99999999, 10}} {
		v := jsonValue(c.i, c.size)
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			t.Errorf("jsonValue(%d, %d) = %s: %v", c.i, c.size, v, err)
			continue
		}
		if len(v) < c.size || (len(v) > c.size && len(jsonValue(c.i, 0)) != len(v)) {
			t.Errorf("jsonValue(%d, %d) has %d bytes", c.i, c.size, len(v))
		}
		if m["id"] != float64(c.i) || m["favorite_color"] != "teal" {
			t.Errorf("jsonValue(%d, %d) = %s", c.i, c.size, v)
		}
	}
}

// procCPU reads another process's CPU time as getrusage reads ours.
func TestProcCPU(t *testing.T) {
	start := time.Now()
	for time.Since(start) < 50*time.Millisecond {
	}
	got, want := procCPU(os.Getpid()), processCPU()
	if got <= 0 || got > want+20*time.Millisecond || got < want-100*time.Millisecond {
		t.Errorf("procCPU = %s, getrusage = %s", got, want)
	}
	if procCPU(-1) != 0 {
		t.Error("procCPU of no process is not 0")
	}
}
