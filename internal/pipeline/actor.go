package pipeline

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/IBM/sarama"
	"github.com/rs/zerolog"

	"github.com/wasmhost/wasmhost/host"
	"github.com/wasmhost/wasmhost/internal/config"
)

// errNoInstance: a trapped instance could not be replaced because the
// partition is being revoked.
var errNoInstance = errors.New("no plugin instance: the partition is being revoked")

// actor feeds one assigned partition to one plugin instance.
type actor struct {
	p        *Pipeline
	sess     sarama.ConsumerGroupSession
	claim    sarama.ConsumerGroupClaim
	consumer string
	base     zerolog.Logger // pipeline and coordinates, for the plugin instance
	log      zerolog.Logger // base plus the plugin

	ver      *version // the plugin version inst runs; referenced until released
	inst     *host.Instance
	batch    host.Batch
	enc      encoder
	msgs     []*sarama.ConsumerMessage
	fails    []host.Failure
	timer    *time.Timer
	ticks    <-chan time.Time // tick_interval's ticker; nil without
	tickDue  bool             // a tick arrived while waiting for records
	acks     *ackQueue
	client   sarama.Client // the member's, for at-most-once commits
	out      collector
	single   [1]*sarama.ConsumerMessage
	halted   bool
	haltedAt int64 // offset of the record the stop policy halted at
	// cut: a batch stopped short of its end without halting, because the
	// session ended during a retry. Nothing after it may be handled: a
	// later batch's offset would commit over the records it skipped.
	cut   bool
	txn   *txnState   // exactly-once only
	state *actorState // when the plugin uses state (state.go)
	// skipBelow: records below it are done (a previous owner's partly
	// committed transaction that this actor finished; txnrecover.go).
	skipBelow int64
}

func newActor(p *Pipeline, sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim, consumer string) *actor {
	a := &actor{
		p: p, sess: sess, claim: claim, consumer: consumer,
		base: p.base.With().Str("consumer", consumer).Str("topic", claim.Topic()).
			Int32("partition", claim.Partition()).Logger(),
		msgs: make([]*sarama.ConsumerMessage, 0, p.cfg.BatchSize),
	}
	a.log = a.base.With().Str("plugin", p.slot.Plugin().Name()).Logger()
	topic, part := claim.Topic(), claim.Partition()
	a.acks = newAckQueue(p.producer, func(next int64) { sess.MarkOffset(topic, part, next, "") }, &p.stopping)
	a.acks.noResend = p.cfg.Guarantee == config.AtMostOnce
	return a
}

// run is the actor's life: ConsumeClaim calls it and returns its error.
func (a *actor) run() error {
	if a.ver = a.p.slot.acquire(); a.ver == nil {
		a.log.Error().Msg("the pipeline's plugin is closed; not consuming the partition")
		return nil
	}
	defer a.release()
	if a.p.cfg.Guarantee == config.ExactlyOnce {
		if !a.startTxn() {
			return nil
		}
		defer a.txn.prod.close()
	}
	// The state is restored before an instance exists: the plugin sees
	// the committed state from its first call on.
	if !a.openState() || !a.instantiate() {
		return nil
	}
	if d := a.p.cfg.TickInterval.Duration; d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		a.ticks = t.C
	}
	a.log.Debug().Str("from_offset", offsetName(a.claim.InitialOffset())).Msg("actor started")
	for {
		if a.halted {
			// The stop policy: hold the partition, unprocessed, so the
			// daemon goes on serving the others, until the group takes it
			// away or a new plugin version arrives to try again.
			if !a.awaitFix() {
				break
			}
			if !a.upgrade() {
				break
			}
			a.resume()
			continue
		}
		more := a.collect()
		if len(a.msgs) > 0 {
			if !a.upgrade() {
				break // revoked while instantiating: the batch was not handed over
			}
			a.handle()
		}
		if a.tickDue && !a.halted && !a.cut {
			a.tick()
		}
		if a.cut || !more && !a.halted {
			break
		}
	}
	a.finish()
	return nil
}

// awaitFix waits, with the partition halted at a.haltedAt, for the session
// to end (false) or for the plugin to be replaced (true): then the rest of
// the batch in hand (under exactly-once, of the transaction's batches), from
// the halted record on, runs again on the new version. A fenced exactly-once
// actor only waits for the session to end.
func (a *actor) awaitFix() bool {
	done := a.sess.Context().Done()
	if a.txn != nil && a.txn.fenced {
		<-done
		return false
	}
	select {
	case <-done:
		return false
	case <-a.ver.replaced:
	}
	a.halted = false
	if ps := a.p.obs.part(a.consumer, a.claim.Topic(), a.claim.Partition()); ps != nil {
		ps.halted.Store(false)
	}
	if a.txn != nil {
		// The transaction that halted committed up to the halted record
		// and kept the records from it on (see span.committed).
		a.log.Info().Int64("offset", a.haltedAt).Int("records", len(a.txn.span.in)).
			Msg("new plugin version: resuming the halted partition")
		return len(a.txn.span.in) > 0
	}
	i := 0
	for i < len(a.msgs) && a.msgs[i].Offset < a.haltedAt {
		i++
	}
	// Copy down rather than reslice: collect sizes batches by cap(a.msgs).
	a.msgs = a.msgs[:copy(a.msgs, a.msgs[i:])]
	a.log.Info().Int64("offset", a.haltedAt).Int("records", len(a.msgs)).
		Msg("new plugin version: resuming the halted partition")
	return len(a.msgs) > 0
}

// resume runs what the halted partition held back, on the new version.
func (a *actor) resume() {
	if a.txn != nil {
		a.resumeTxn()
		return
	}
	a.handle() // the rest of the batch, from the record that halted
}

// finish waits for what the actor produced to be acknowledged, then commits,
// so the next owner of the partition starts where this one stopped.
func (a *actor) finish() {
	if a.txn != nil {
		// The open transaction commits what it holds, and the offset
		// with it. A fenced actor's partition belongs to another owner.
		if !a.txn.fenced {
			a.commitSpan()
		}
		a.log.Debug().Msg("actor stopped")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.p.drainTimeout)
	defer cancel()
	if !a.acks.drain(ctx) {
		a.log.Warn().Dur("waited", a.p.drainTimeout).Msg("records still unacknowledged at hand-over; their input will be consumed again")
	}
	a.sess.Commit()
	a.log.Debug().Msg("actor stopped")
}

// release closes the instance, then lets go of its plugin version.
func (a *actor) release() {
	if a.inst != nil {
		_ = a.inst.Close(context.Background())
		a.inst = nil
	}
	a.ver.release()
}

// upgrade moves the actor to the slot's current plugin version when it has
// changed: between batches, so a batch runs on one version from start to end.
// The check is one atomic load.
//
// Under exactly-once the switch may fall between two batches of one open
// transaction, without committing it first: nothing of the transaction is
// visible before it commits, and when it aborts every one of its batches
// runs again on the version then current. Either way each input record's
// committed output comes from exactly one version, and a partition's
// committed output switches versions at one input offset. Committing first
// would add a transaction per swap and buy no guarantee.
func (a *actor) upgrade() bool {
	if a.p.slot.current() == a.ver {
		return true
	}
	next := a.p.slot.acquire()
	if next == nil {
		return true // the slot is closing: finish on the version in hand
	}
	from := a.ver.plugin.SHA256()
	a.release()
	a.ver = next
	if !a.openState() || !a.instantiate() {
		return false
	}
	a.log.Debug().Str("from_version", shortSHA(from)).Str("to_version", shortSHA(next.plugin.SHA256())).
		Msg("actor switched plugin version")
	return true
}

// instantiate makes an instance of the actor's plugin version, retrying
// until it works or the session ends.
func (a *actor) instantiate() bool {
	backoff := 100 * time.Millisecond
	for {
		inst, err := a.p.newInstance(a.ver.plugin, a.consumer, a.base, a.hostState())
		if err == nil {
			a.inst = inst
			return true
		}
		a.log.Error().Err(err).Dur("retry_in", backoff).Msg("cannot instantiate plugin")
		select {
		case <-a.sess.Context().Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// collect gathers the next batch: it waits for a first record, takes what is
// ready up to the batch size (batch_size records, or the record that brings
// them to batch_bytes), and waits at most batch_wait for the rest. It
// returns false once the claim or the session has ended.
func (a *actor) collect() bool {
	a.msgs = a.msgs[:0]
	size, limit := 0, int(a.p.cfg.BatchBytes)
	if limit <= 0 { // a config not from config.Load: no byte limit
		limit = math.MaxInt
	}
	msgs, done := a.claim.Messages(), a.sess.Context().Done()
	select {
	case m, ok := <-msgs:
		if !ok {
			return false
		}
		a.msgs = append(a.msgs, m)
		size += messageBytes(m)
	case <-a.ticks: // nil without tick_interval: never ready
		a.tickDue = true
		return true
	case <-done:
		return false
	}
	if a.timer == nil {
		a.timer = time.NewTimer(a.p.cfg.BatchWait.Duration)
	} else {
		a.timer.Reset(a.p.cfg.BatchWait.Duration)
	}
	defer a.timer.Stop()
	for len(a.msgs) < cap(a.msgs) && size < limit {
		var m *sarama.ConsumerMessage
		ok := true
		if len(msgs) > 0 {
			// What the channel already holds needs no select: a plain
			// receive costs a fraction of a three-way one, per record.
			m, ok = <-msgs
		} else {
			select {
			case m, ok = <-msgs:
			case <-a.timer.C:
				return true
			case <-done:
				return false
			}
		}
		if !ok {
			return false
		}
		a.msgs = append(a.msgs, m)
		size += messageBytes(m)
	}
	return true
}

// messageBytes is what a record counts toward batch_bytes: its key, value
// and headers.
func messageBytes(m *sarama.ConsumerMessage) int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		if h != nil {
			n += len(h.Key) + len(h.Value)
		}
	}
	return n
}

// handle runs one batch through the plugin and the failure policy, then
// seals it for marking (under exactly-once, adds it to the open
// transaction).
func (a *actor) handle() {
	first, last := a.msgs[0], a.msgs[len(a.msgs)-1]
	a.p.stats.In.Add(uint64(len(a.msgs)))
	if a.txn != nil {
		a.handleTxn()
		return
	}
	atMostOnce := a.p.cfg.Guarantee == config.AtMostOnce
	if atMostOnce {
		// Committed before the plugin sees the batch: never a duplicate,
		// and a crash loses at most this batch. A commit that fails (the
		// group is rebalancing) means the next owner starts before this
		// batch, so this actor must not run it.
		if err := a.commitSync(last.Offset + 1); err != nil {
			a.log.Warn().Err(err).Int64("first_offset", first.Offset).Int("records", len(a.msgs)).
				Msg("offset commit failed; batch not run (at-most-once: the partition's next owner runs it, or it is lost)")
			return
		}
	}
	p := a.acks.open()
	next := a.process(&a.out, a.msgs)
	a.cut = next <= last.Offset && !a.halted
	for _, m := range a.out.kept(first.Offset, next) {
		p.send(m)
	}
	a.sendChangelog(p)
	if atMostOnce {
		next = -1
	}
	p.seal(next)
}

// emitter receives the records a batch produces, with the offset of the
// input record each derives from.
type emitter interface {
	emit(msg *sarama.ProducerMessage, input int64)
}

// collector holds a batch's records until its outcome is known, so that
// when the actor stops at a record (the stop policy, a revoke mid-retry)
// nothing derived from the records after it is produced.
type collector struct {
	outs []collected
	msgs []*sarama.ProducerMessage
}

type collected struct {
	msg   *sarama.ProducerMessage
	input int64 // offset of the input record, -1 for the batch as a whole
}

func (c *collector) emit(msg *sarama.ProducerMessage, input int64) {
	c.outs = append(c.outs, collected{msg, input})
}

// kept returns, in order, the records derived from input records before
// next (the batch starts at first), and empties the collector.
func (c *collector) kept(first, next int64) []*sarama.ProducerMessage {
	c.msgs = c.msgs[:0]
	for _, o := range c.outs {
		if (o.input < 0 && next > first) || (o.input >= 0 && o.input < next) {
			c.msgs = append(c.msgs, o.msg)
		}
	}
	clear(c.outs)
	c.outs = c.outs[:0]
	return c.msgs
}

// process runs a batch through the plugin and the failure policy. It
// returns the offset to commit: past the batch, or at the first record the
// actor could not finish.
func (a *actor) process(p emitter, msgs []*sarama.ConsumerMessage) (next int64) {
	defer func() { a.processedTo(next) }()
	a.batch.Reset()
	for _, m := range msgs {
		a.enc.add(&a.batch, m)
	}
	res, err := a.call()
	if err != nil {
		// The whole call failed: find the records to blame by handing
		// them over one at a time.
		a.log.Warn().Err(err).Int("records", len(msgs)).Int64("first_offset", msgs[0].Offset).
			Msg("batch failed; retrying its records one by one")
		for _, m := range msgs {
			if err := a.one(p, m); err != nil && !a.settle(p, m, 2, err) {
				return m.Offset
			}
		}
		return msgs[len(msgs)-1].Offset + 1
	}
	a.send(p, res, msgs)
	a.fails = append(a.fails[:0], res.Failures...)
	for _, f := range a.fails {
		m := msgs[f.Index]
		if !a.settle(p, m, 1, f.Err()) {
			return m.Offset
		}
	}
	return msgs[len(msgs)-1].Offset + 1
}

// call hands the current batch to the instance, replacing it after a trap.
func (a *actor) call() (*host.Result, error) {
	if a.inst == nil {
		return nil, errNoInstance
	}
	// Not the session's context: a batch in hand is finished even when the
	// partition is being revoked. The call's time limit bounds it.
	a.beginCall()
	res, err := a.handleBatch()
	err = a.endCall(res, err, a.batch.Len())
	if err != nil && a.inst.Broken() {
		// The same version: the batch in hand finishes on it.
		a.replaceBroken()
	}
	return res, err
}

// replaceBroken replaces an instance a trap or a timeout broke with a new
// one of the same version; inst stays nil if the session ends first.
func (a *actor) replaceBroken() {
	a.p.stats.Traps.Add(1)
	_ = a.inst.Close(context.Background())
	a.inst = nil
	a.instantiate()
}

// one runs a single record; on success its outputs are sent.
func (a *actor) one(p emitter, m *sarama.ConsumerMessage) error {
	a.batch.Reset()
	a.enc.add(&a.batch, m)
	res, err := a.call()
	if err != nil {
		return err
	}
	if len(res.Failures) > 0 {
		return res.Failures[0].Err()
	}
	a.send(p, res, a.alone(m))
	return nil
}

func (a *actor) alone(m *sarama.ConsumerMessage) []*sarama.ConsumerMessage {
	a.single[0] = m
	return a.single[:]
}

// send emits a call's outputs; msgs are the records of the call, by index.
func (a *actor) send(p emitter, res *host.Result, msgs []*sarama.ConsumerMessage) {
	for i := range res.Outputs {
		o := &res.Outputs[i]
		input := int64(-1)
		if int(o.Input) < len(msgs) {
			input = msgs[o.Input].Offset
		}
		p.emit(producerMessage(&o.Record), input)
	}
	a.p.stats.Out.Add(uint64(len(res.Outputs)))
}

// tick calls the plugin's tick handler (tick_interval) between batches and
// produces what it returns, like a source's tick: derived from no input
// record, so no offset waits on it, but the actor's ack queue still holds
// its delivery, which a revoke or a stop drains.
func (a *actor) tick() {
	a.tickDue = false
	if !a.upgrade() || a.inst == nil {
		return
	}
	if a.txn != nil {
		a.tickTxn()
		return
	}
	if res := a.callTick(); res != nil {
		a.p.stats.Out.Add(produceTick(a.acks, res, a.sendChangelog))
	}
}

// callTick calls the plugin's tick and returns its result, or nil when the
// call failed (logged, and a broken instance replaced).
func (a *actor) callTick() *host.Result {
	a.beginCall()
	res, err := a.inst.Tick(context.Background(), time.Now())
	if err = a.endCall(res, err, 0); err != nil {
		a.log.Error().Err(err).Msg("tick failed")
		if a.inst.Broken() {
			a.replaceBroken()
		}
		return nil
	}
	return res
}
