package fleet

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/kafka"
)

const maxModule = 8 << 20

// connect starts an embedded broker and a client able to carry modules of
// maxModule bytes; the options connect followers.
func connect(t *testing.T) (sarama.Client, kafka.ClientOptions) {
	t.Helper()
	b, err := kafka.StartBroker(kafka.BrokerOptions{Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := kafka.ClientOptions{Brokers: []string{b.Addr()}, MaxMessageBytes: maxModule + RecordHeadroom}
	c, err := kafka.Connect(ctx, o, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := EnsureTopic(ctx, c, "plugins", maxModule); err != nil {
		t.Fatal(err)
	}
	return c, o
}

func module(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeployRollbackRemove publishes three versions (one of 4 MiB, four
// times the broker's default record size), rolls back, removes, and reads
// the history back from a new follower: every version with who and when,
// the pointer where the last action left it.
func TestDeployRollbackRemove(t *testing.T) {
	client, opts := connect(t)
	ctx := context.Background()
	pub, err := NewPublisher(client, "plugins", "alice@ci")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	v1, v2, v3 := module(t, 1000), module(t, 4<<20), module(t, 2000)
	for _, code := range [][]byte{v1, v2, v3} {
		if _, deployed, err := pub.Deploy(ctx, Module{Name: "tag", Code: code, ABI: 2}, false); err != nil || !deployed {
			t.Fatalf("deploy: %v %v", deployed, err)
		}
	}
	// A bootstrap deploy leaves the current version alone.
	if _, deployed, err := pub.Deploy(ctx, Module{Name: "tag", Code: v1, ABI: 2}, true); err != nil || deployed {
		t.Fatalf("deploy --if-missing over a deployed plugin: deployed=%v err=%v", deployed, err)
	}
	f, err := Follow(ctx, opts, "plugins", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cur, _, err := f.Current("tag")
	if err != nil || cur.SHA256 != SHA256(v3) || cur.By != "alice@ci" || cur.ABI != 2 || cur.Size != len(v3) {
		t.Fatalf("current %+v %v, want v3", cur, err)
	}

	back, err := pub.Rollback(ctx, "tag", "")
	if err != nil || back.SHA256 != SHA256(v2) {
		t.Fatalf("rollback: %+v %v, want v2", back, err)
	}
	waitCurrent(t, f, "tag", SHA256(v2))
	cur, _, _ = f.Current("tag")
	code, err := f.Code(ctx, cur) // v2 is not the newest record: read again by offset
	if err != nil || !bytes.Equal(code, v2) {
		t.Fatalf("code of v2: %d bytes, %v", len(code), err)
	}
	if _, err := pub.Rollback(ctx, "tag", SHA256(v1)[:10]); err != nil {
		t.Fatal(err)
	}
	waitCurrent(t, f, "tag", SHA256(v1))
	if _, err := pub.Rollback(ctx, "tag", ""); err == nil {
		t.Fatal("rolled back from the first version")
	}

	if err := pub.Remove(ctx, "tag", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the removal", func() bool { _, _, err := f.Current("tag"); return errors.Is(err, ErrNotDeployed) })
	cat, err := ReadCatalog(ctx, client, "plugins")
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := cat.Plugin("tag")
	if len(pl.Versions) != 3 || pl.Current == nil || pl.Current.Action != ActionRemove || pl.Current.By != "alice@ci" {
		t.Fatalf("history after remove: %+v", pl)
	}
	// Removed, it can come back with rollback --to.
	if _, err := pub.Rollback(ctx, "tag", SHA256(v2)); err != nil {
		t.Fatal(err)
	}
	waitCurrent(t, f, "tag", SHA256(v2))

	if err := pub.Remove(ctx, "tag", true); err != nil {
		t.Fatal(err)
	}
	cat, _ = ReadCatalog(ctx, client, "plugins")
	if pl, _ := cat.Plugin("tag"); len(pl.Versions) != 0 || pl.Current != nil {
		t.Fatalf("after purge: %+v", pl)
	}
}

// TestForgedRecordRefused: a version record whose content does not hash
// to the sha256 in its key is refused when its code is asked for.
func TestForgedRecordRefused(t *testing.T) {
	client, opts := connect(t)
	ctx := context.Background()
	pub, err := NewPublisher(client, "plugins", "mallory")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	real, evil := module(t, 100), module(t, 100)
	msg := pub.versionMessage(Version{Plugin: "tag", SHA256: SHA256(real), ABI: 2, Size: 100, Time: time.Now()}, evil)
	if _, _, err := pub.producer.SendMessage(msg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pub.producer.SendMessage(pub.pointerMessage("tag", SHA256(real), "", ActionDeploy, time.Now())); err != nil {
		t.Fatal(err)
	}
	f, err := Follow(ctx, opts, "plugins", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cur, _, err := f.Current("tag")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Code(ctx, cur); err == nil {
		t.Fatal("a record whose content does not match its key was accepted")
	}
}

func waitCurrent(t *testing.T, f *Follower, name, sha string) {
	t.Helper()
	waitFor(t, "version "+short(sha), func() bool { v, _, err := f.Current(name); return err == nil && v.SHA256 == sha })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTopicTooSmallRefused: a plugin topic made by someone else with
// Kafka's default record limit would refuse every Go plugin; EnsureTopic
// says so and how to fix it, instead of a bare MESSAGE_TOO_LARGE later.
func TestTopicTooSmallRefused(t *testing.T) {
	client, _ := connect(t)
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("small", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	_, err = EnsureTopic(context.Background(), client, "small", maxModule)
	if err == nil || !strings.Contains(err.Error(), "has max.message.bytes=1048588") || !strings.Contains(err.Error(), "--add-config max.message.bytes=") {
		t.Fatalf("a topic with the default record limit: %v", err)
	}
	// And the broker does enforce it: a 4 MiB module is refused there.
	pub, err := NewPublisher(client, "small", "t")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if _, _, err := pub.Deploy(context.Background(), Module{Name: "big", Code: module(t, 4<<20)}, false); !errors.Is(err, sarama.ErrMessageSizeTooLarge) {
		t.Fatalf("4 MiB into a topic with the default limit: %v", err)
	}
}

// TestFallbacks: a daemon that cannot load the current version tries first
// the version the current pointer replaced (after a rollback to v1 and a
// bad v4, that is v1, which the fleet serves, not v3), then the others
// deployed before the current one, newest first.
func TestFallbacks(t *testing.T) {
	client, _ := connect(t)
	ctx := context.Background()
	pub, err := NewPublisher(client, "plugins", "ci")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	vs := [][]byte{module(t, 10), module(t, 20), module(t, 30), module(t, 40)}
	for _, code := range vs[:3] {
		if _, _, err := pub.Deploy(ctx, Module{Name: "p", Code: code}, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.Rollback(ctx, "p", SHA256(vs[0])); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pub.Deploy(ctx, Module{Name: "p", Code: vs[3]}, false); err != nil {
		t.Fatal(err)
	}
	cat, err := ReadCatalog(ctx, client, "plugins")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range cat.Fallbacks("p", 4) {
		got = append(got, v.SHA256)
	}
	want := []string{SHA256(vs[0]), SHA256(vs[2]), SHA256(vs[1])}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("fallbacks %v, want v1, v3, v2", got)
	}
	if n := len(cat.Fallbacks("p", 1)); n != 1 {
		t.Fatalf("%d fallbacks with max 1", n)
	}
}
