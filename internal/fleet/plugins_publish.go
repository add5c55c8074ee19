package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

// SHA256 is the hex sha256 of a module: its version.
func SHA256(code []byte) string {
	sum := sha256.Sum256(code)
	return hex.EncodeToString(sum[:])
}

// Publisher writes to the plugin topic: what `wasmhost plugin deploy`,
// `rollback` and `remove` do. Not safe for concurrent use. Two publishers
// writing the same plugin at once are ordered by the topic: the last
// pointer written wins, on every daemon alike.
type Publisher struct {
	client   sarama.Client
	producer sarama.SyncProducer
	topic    string
	// By names who publishes, in the records' headers; Now is the clock.
	By  string
	Now func() time.Time
}

// NewPublisher writes to topic through client, whose MaxMessageBytes must
// allow the largest module plus RecordHeadroom (kafka.ClientOptions).
// Close it before the client.
func NewPublisher(client sarama.Client, topic, by string) (*Publisher, error) {
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("plugin topic producer: %w", err)
	}
	return &Publisher{client: client, producer: producer, topic: topic, By: by, Now: time.Now}, nil
}

// Close closes the producer.
func (p *Publisher) Close() error { return p.producer.Close() }

// Catalog reads the topic as it is now.
func (p *Publisher) Catalog(ctx context.Context) (*Catalog, error) {
	return ReadCatalog(ctx, p.client, p.topic)
}

// Module is a plugin to deploy: checked (host.Runtime.InspectCode) before
// it gets here.
type Module struct {
	Name      string
	Code      []byte
	ABI       int
	Signature *Signature
}

// Deploy publishes m as the current version of its plugin: its version
// record, then the pointer to it. The version record is not written again
// when the topic has it with the same signature, or with a signature and m
// has none: deploying signed bytes again unsigned keeps their signature. With ifMissing, a plugin that has a current version is
// left alone (deployed is then false): how a bootstrap job seeds the topic
// without undoing a later deploy or rollback.
func (p *Publisher) Deploy(ctx context.Context, m Module, ifMissing bool) (v Version, deployed bool, err error) {
	cat, err := p.Catalog(ctx)
	if err != nil {
		return Version{}, false, err
	}
	sha := SHA256(m.Code)
	if ifMissing {
		if cur, _, err := cat.Current(m.Name); err == nil {
			return cur, false, nil
		}
	}
	now := p.Now().UTC()
	v = Version{Plugin: m.Name, SHA256: sha, ABI: m.ABI, Size: len(m.Code), Time: now, By: p.By, Signature: m.Signature}
	var msgs []*sarama.ProducerMessage
	old, exists := Plugin{}, false
	if pl, ok := cat.Plugin(m.Name); ok {
		old, exists = pl, true
	}
	if prev, ok := old.version(sha); exists && ok && (sameSignature(prev.Signature, m.Signature) || m.Signature == nil) {
		v = prev
	} else {
		msgs = append(msgs, p.versionMessage(v, m.Code))
	}
	msgs = append(msgs, p.pointerMessage(m.Name, sha, previous(cat, m.Name), ActionDeploy, now))
	if err := p.producer.SendMessages(msgs); err != nil {
		return Version{}, false, fmt.Errorf("publishing %s to %s: %w", m.Name, p.topic, sendErr(err))
	}
	return v, true, nil
}

func sameSignature(a, b *Signature) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Rollback points name at an earlier version: to (a sha256 or a unique
// prefix), or without it the version deployed before the current one.
func (p *Publisher) Rollback(ctx context.Context, name, to string) (Version, error) {
	cat, err := p.Catalog(ctx)
	if err != nil {
		return Version{}, err
	}
	pl, ok := cat.Plugin(name)
	if !ok {
		return Version{}, fmt.Errorf("plugin %s: %w: the topic %s has no record of it", name, ErrNotDeployed, p.topic)
	}
	v, err := pl.rollbackTarget(to)
	if err != nil {
		return Version{}, err
	}
	if pl.Current != nil && pl.Current.SHA256 == v.SHA256 {
		return Version{}, fmt.Errorf("plugin %s: version %s is already the current one", name, short(v.SHA256))
	}
	if _, _, err := p.producer.SendMessage(p.pointerMessage(name, v.SHA256, previous(cat, name), ActionRollback, p.Now().UTC())); err != nil {
		return Version{}, fmt.Errorf("rolling back %s: %w", name, err)
	}
	return v, nil
}

// Remove withdraws name: its pointer says "removed" (who and when stay in
// the topic), and daemons keep serving the version they have loaded but a
// daemon that starts cannot load it. Its versions stay, so a rollback --to
// can bring it back; purge also writes tombstones for them and the pointer,
// and compaction then deletes them.
func (p *Publisher) Remove(ctx context.Context, name string, purge bool) error {
	cat, err := p.Catalog(ctx)
	if err != nil {
		return err
	}
	pl, ok := cat.Plugin(name)
	if !ok {
		return fmt.Errorf("plugin %s: %w: the topic %s has no record of it", name, ErrNotDeployed, p.topic)
	}
	msgs := []*sarama.ProducerMessage{p.pointerMessage(name, "", previous(cat, name), ActionRemove, p.Now().UTC())}
	if purge {
		for _, v := range pl.Versions {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(versionKey(name, v.SHA256))})
		}
		msgs = append(msgs, &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(name)})
	}
	if err := p.producer.SendMessages(msgs); err != nil {
		return fmt.Errorf("removing %s: %w", name, sendErr(err))
	}
	return nil
}

func (p *Publisher) versionMessage(v Version, code []byte) *sarama.ProducerMessage {
	hs := []sarama.RecordHeader{
		header(HeaderSHA256, v.SHA256),
		header(HeaderABI, strconv.Itoa(v.ABI)),
		header(HeaderSize, strconv.Itoa(v.Size)),
		header(HeaderTime, v.Time.Format(time.RFC3339Nano)),
		header(HeaderBy, v.By),
	}
	if v.Signature != nil {
		hs = append(hs, sarama.RecordHeader{Key: []byte(HeaderSignature), Value: v.Signature.Marshal()})
	}
	return &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(versionKey(v.Plugin, v.SHA256)), Value: sarama.ByteEncoder(code), Headers: hs}
}

// previous is the sha256 the current pointer of name names, kept in the
// next pointer.
func previous(cat *Catalog, name string) string {
	if pl, ok := cat.Plugin(name); ok && pl.Current != nil {
		return pl.Current.SHA256
	}
	return ""
}

func (p *Publisher) pointerMessage(name, sha, prev, action string, now time.Time) *sarama.ProducerMessage {
	val, _ := json.Marshal(pointerValue{SHA256: sha, Previous: prev, Action: action, Time: now, By: p.By}) // cannot fail
	return &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(name), Value: sarama.ByteEncoder(val),
		Headers: []sarama.RecordHeader{header(HeaderSHA256, sha), header(HeaderTime, now.Format(time.RFC3339Nano)), header(HeaderBy, p.By)}}
}

// sendErr says why a produce request failed: sarama reports "Failed to
// deliver N messages" and keeps the reasons inside.
func sendErr(err error) error {
	var pes sarama.ProducerErrors
	if errors.As(err, &pes) && len(pes) > 0 {
		return pes[0].Err
	}
	return err
}

func header(k, v string) sarama.RecordHeader {
	return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
}
