package cli

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wasmhost/wasmhost/internal/config"
)

// TestLoggerDurationsCarryUnits checks that a duration field reads "1.5s",
// not zerolog's default bare 1500, in both formats.
func TestLoggerDurationsCarryUnits(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, config.LevelInfo, config.FormatJSON)
	log.Info().
		Dur("interval", time.Second).Dur("load_took", 1500*time.Millisecond).Msg("x")
	var ev map[string]any
	if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if ev["interval"] != "1s" || ev["load_took"] != "1.5s" {
		t.Errorf("interval=%v load_took=%v, want 1s and 1.5s: %s", ev["interval"], ev["load_took"], buf.String())
	}
	buf.Reset()
	log = newLogger(&buf, config.LevelInfo, config.FormatConsole)
	log.Info().Dur("retry_in", 250*time.Millisecond).Msg("x")
	if plain := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(buf.String(), ""); !strings.Contains(plain, "retry_in=250ms") {
		t.Errorf("console line %q lacks retry_in=250ms", buf.String())
	}
}
