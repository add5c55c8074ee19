package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestPipelineTicksItsPlugin runs the counter example in a pipeline with
// tick_interval: records are counted per key as they arrive, and the ticks
// of each partition's instance produce the counts. Every record is counted
// once, across however many windows the ticks cut.
func TestPipelineTicksItsPlugin(t *testing.T) {
	b := startBroker(t, "")
	createTopics(t, b.Addr(), 2, "in")
	createTopics(t, b.Addr(), 1, "counts")
	dir := t.TempDir()
	addPlugin(t, dir, "counter", "examples/counter")
	path := daemonConfig(t, b.Addr(), dir, `[[pipelines]]
name = "count"
plugin = "counter"
topics = ["in"]
tick_interval = "200ms"
produce_topics = ["counts"]
config = { to = "counts" }
`)
	d := runInProcess(t, path)

	want := map[string]int{"web-1": 30, "web-2": 20, "db-1": 7}
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // two bursts, so that counts span windows
		for key, n := range want {
			for range n / 2 {
				if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("hit")}); err != nil {
					t.Fatal(err)
				}
			}
			if round == 1 && n%2 == 1 {
				if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder(key), Value: sarama.StringEncoder("hit")}); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	_ = p.Close()

	c, err := sarama.NewConsumer([]string{b.Addr()}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("counts", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := map[string]int{}
	deadline := time.After(60 * time.Second)
	for fmt.Sprint(got) != fmt.Sprint(want) {
		select {
		case m := <-pc.Messages():
			var v struct {
				Key   string `json:"key"`
				Count int    `json:"count"`
			}
			if err := json.Unmarshal(m.Value, &v); err != nil || v.Key != string(m.Key) {
				t.Fatalf("count record %q (key %q): %v", m.Value, m.Key, err)
			}
			got[v.Key] += v.Count
		case <-deadline:
			t.Fatalf("counts %v, want %v", got, want)
		}
	}
	d.stop()
}
