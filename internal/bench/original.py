"""The original design without Ray, as a benchmark row.

The original design ran a KafkaConsumer actor and a KafkaProducer actor on
Ray; collapsed into one process it is this loop on librdkafka (Debian's
python3-confluent-kafka): poll the input topic as a consumer group, hand
every record to a callback that decodes its JSON value and produces the
record again to the output topic, and flush the producer at the end.
wasmhost-bench (internal/bench/original.go) runs it beside wasmhost on the
same broker and times it by the output topic's offsets.

Two loops, chosen by MODE:

- "poll" is the original design to the letter: Consumer.poll() returns one
  record at a time, and the callback decodes the JSON value and hands the
  decoded record to the producer actor's produce(), which serves delivery
  reports with poll(0) and encodes it again with json.dumps, as the original
  RayProducer does. This is the row's baseline.
- "batch" is that loop tuned as far as the design allows, shown beside it so
  that the comparison does not rest on a slow loop: records are polled in
  batches of up to 1,000 (Consumer.consume, one call into librdkafka per
  batch), delivery reports are served once per batch, and the value is
  produced as received.

Both use librdkafka's producer batching at its defaults (linger.ms 5,
acks=all) and auto-commit offsets as records are polled, which is less work
than wasmhost's at-least-once (wasmhost commits an offset only once the
output of every record before it is acknowledged).

    /usr/bin/python3 original.py BROKERS TOPIC OUT GROUP [poll|batch]

It runs until SIGTERM or SIGINT, then flushes and leaves the group.
"""

import json
import signal
import sys

from confluent_kafka import Consumer, KafkaException, Producer


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit("usage: original.py BROKERS TOPIC OUT GROUP [poll|batch]")
    brokers, topic, out, group = sys.argv[1:5]
    mode = sys.argv[5] if len(sys.argv) == 6 else "poll"
    if mode not in ("poll", "batch"):
        sys.exit(f"original.py: mode must be poll or batch, not {mode!r}")
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "session.timeout.ms": 6000,
    })
    producer = Producer({"bootstrap.servers": brokers})
    failed = []

    def delivered(err, _msg):
        if err is not None:
            failed.append(err)

    def produce(value, key):
        while True:
            try:
                producer.produce(out, value=value, key=key, on_delivery=delivered)
                return
            except BufferError:  # the producer's queue is full: let it send
                producer.poll(0.05)

    def on_record(msg):
        # The original design's callback and producer actor: decode, hand
        # the record over, serve delivery reports, encode, produce.
        data = json.loads(msg.value())
        producer.poll(0)
        produce(json.dumps(data).encode("utf-8"), msg.key())

    def on_record_tuned(msg):
        json.loads(msg.value())
        produce(msg.value(), msg.key())

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    consumer.subscribe([topic])
    if mode == "poll":
        while not stop:
            msg = consumer.poll(timeout=1.0)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            on_record(msg)
    else:
        while not stop:
            for msg in consumer.consume(num_messages=1000, timeout=0.1):
                if msg.error():
                    raise KafkaException(msg.error())
                on_record_tuned(msg)
            producer.poll(0)
    producer.flush(30)
    consumer.close()
    if failed:
        sys.exit(f"{len(failed)} records were not delivered, the first: {failed[0]}")


if __name__ == "__main__":
    main()
