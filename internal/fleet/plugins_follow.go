package fleet

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

// Follower keeps a daemon's view of the plugin topic: it reads it from the
// start when it is made, then follows it, and says when a plugin changed.
// Its methods are safe for concurrent use.
type Follower struct {
	topic    string
	log      zerolog.Logger
	clients  []sarama.Client // its own: a client's requests to a broker go one at a time
	follower sarama.Consumer // follows the topic
	fetcher  sarama.Consumer // reads one version record by offset, on its own client
	pc       sarama.PartitionConsumer

	mu    sync.Mutex
	cat   *Catalog
	newer map[string]cached // the newest version record of each plugin, as read

	changes chan struct{}
	done    chan struct{}
}

type cached struct {
	key  string
	code []byte
}

// Follow reads the plugin topic up to its end (as of now) before it
// returns, so Current then knows every deployed plugin; then it follows the
// topic until Close. It connects with o, whose MaxMessageBytes must allow
// the largest module plus RecordHeadroom, on clients of its own: a
// following fetch waits at the broker for new records, and would hold up
// every other request of a shared client.
func Follow(ctx context.Context, o kafka.ClientOptions, topic string, log zerolog.Logger) (f *Follower, err error) {
	f = &Follower{topic: topic, log: log, cat: NewCatalog(), newer: map[string]cached{},
		changes: make(chan struct{}, 1), done: make(chan struct{})}
	defer func() {
		if err != nil {
			f.closeClients()
		}
	}()
	for range 2 {
		c, err := kafka.Connect(ctx, o, log)
		if err != nil {
			return nil, err
		}
		f.clients = append(f.clients, c)
	}
	end, err := f.clients[0].GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("plugin topic %s: %w", topic, err)
	}
	if f.follower, err = sarama.NewConsumerFromClient(f.clients[0]); err != nil {
		return nil, err
	}
	if f.fetcher, err = sarama.NewConsumerFromClient(f.clients[1]); err != nil {
		return nil, err
	}
	if f.pc, err = f.follower.ConsumePartition(topic, 0, sarama.OffsetOldest); err != nil {
		return nil, fmt.Errorf("plugin topic %s: %w", topic, err)
	}
	for read := int64(0); read < end; {
		select {
		case <-ctx.Done():
			_ = f.pc.Close()
			return nil, fmt.Errorf("reading plugin topic %s: %w", topic, ctx.Err())
		case m := <-f.pc.Messages():
			f.apply(m)
			read = m.Offset + 1
		}
	}
	go f.follow()
	return f, nil
}

func (f *Follower) follow() {
	defer close(f.done)
	for m := range f.pc.Messages() {
		name := f.apply(m)
		f.log.Info().Str("plugin", name).Int64("offset", m.Offset).Str("key", string(m.Key)).Msg("plugin topic: new record")
		select {
		case f.changes <- struct{}{}:
		default:
		}
	}
}

// apply adds a record to the catalog and keeps the newest version's code.
func (f *Follower) apply(m *sarama.ConsumerMessage) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, err := f.cat.Apply(m)
	if err != nil {
		f.log.Warn().Err(err).Msg("plugin topic: record skipped")
		return name
	}
	if _, _, isVersion := cutVersion(m.Key); isVersion && m.Value != nil {
		f.newer[name] = cached{key: string(m.Key), code: m.Value}
	}
	return name
}

func cutVersion(key []byte) (string, string, bool) {
	for i, c := range key {
		if c == versionSep[0] {
			return string(key[:i]), string(key[i+1:]), true
		}
	}
	return string(key), "", false
}

// Changes receives a value after records arrived (coalesced): Current may
// then say something new.
func (f *Follower) Changes() <-chan struct{} { return f.changes }

// Current returns the version of name that should run (see
// Catalog.Current).
func (f *Follower) Current(name string) (Version, Pointer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cat.Current(name)
}

// Fallbacks lists the versions to try when the current one of name does
// not load (see Catalog.Fallbacks).
func (f *Follower) Fallbacks(name string, max int) []Version {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cat.Fallbacks(name, max)
}

// Code returns the module of v, checked against its sha256: from memory
// when it is the newest version read, else read again from the topic.
func (f *Follower) Code(ctx context.Context, v Version) ([]byte, error) {
	f.mu.Lock()
	c, ok := f.newer[v.Plugin]
	f.mu.Unlock()
	if ok && c.key == versionKey(v.Plugin, v.SHA256) {
		return checkContent(v, c.code)
	}
	return fetchVersion(ctx, f.fetcher, f.topic, v)
}

// Close stops following and closes its clients.
func (f *Follower) Close() error {
	err := f.pc.Close()
	<-f.done
	f.closeClients()
	return err
}

// closeClients closes the clients, and with them the consumers on them.
func (f *Follower) closeClients() {
	for _, c := range []sarama.Consumer{f.fetcher, f.follower} {
		if c != nil {
			_ = c.Close()
		}
	}
	for _, c := range f.clients {
		_ = c.Close()
	}
}
