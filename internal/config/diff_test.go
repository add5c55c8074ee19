package config

import (
	"slices"
	"testing"
	"time"
)

func TestChanged(t *testing.T) {
	a, b := Default(), Default()
	if got := Changed(a, b); len(got) != 0 {
		t.Fatalf("identical configs: %v", got)
	}
	b.Kafka.SASL.Username = "u"
	b.Kafka.Brokers = []string{"k:9092"}
	b.Reload.Delay = Duration{time.Second}
	b.ShutdownTimeout = Duration{time.Minute}
	b.Pipelines = append(b.Pipelines, DefaultPipeline()) // arrays of tables are not compared here
	b.Topics = append(b.Topics, DefaultTopic())
	want := []string{"kafka.brokers", "kafka.sasl.username", "reload.delay", "shutdown_timeout"}
	if got := Changed(a, b); !slices.Equal(got, want) {
		t.Fatalf("Changed = %v, want %v", got, want)
	}
}
