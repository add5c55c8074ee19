"""The original design without Ray, as a benchmark row.

The original design ran a KafkaConsumer actor and a KafkaProducer actor on
Ray; collapsed into one process it is this loop on librdkafka (Debian's
python3-confluent-kafka): poll the input topic as a consumer group, hand
every record to a callback that decodes its JSON value and produces the
record again to the output topic, and flush the producer at the end.
wasmhost-bench (internal/bench/original.go) runs it beside wasmhost on the
same broker and times it by the output topic's offsets.

Tuning, so that the baseline is a fair one: records are polled in batches
of up to 1,000 (Consumer.consume, one call into librdkafka per batch instead
of one per record), delivery reports are served once per batch, and
librdkafka's producer batching is at its defaults (linger.ms 5,
acks=all). Offsets are auto-committed as records are polled, which is less
work than wasmhost's at-least-once (wasmhost commits an offset only once the
output of every record before it is acknowledged).

    /usr/bin/python3 original.py BROKERS TOPIC OUT GROUP

It runs until SIGTERM or SIGINT, then flushes and leaves the group.
"""

import json
import signal
import sys

from confluent_kafka import Consumer, KafkaException, Producer


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: original.py BROKERS TOPIC OUT GROUP")
    brokers, topic, out, group = sys.argv[1:]
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
    })
    producer = Producer({"bootstrap.servers": brokers})
    failed = []

    def delivered(err, _msg):
        if err is not None:
            failed.append(err)

    def on_record(msg):
        # The callback of the original design: decode, then produce again.
        json.loads(msg.value())
        while True:
            try:
                producer.produce(out, value=msg.value(), key=msg.key(), on_delivery=delivered)
                return
            except BufferError:  # the producer's queue is full: let it send
                producer.poll(0.05)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    consumer.subscribe([topic])
    while not stop:
        for msg in consumer.consume(num_messages=1000, timeout=0.1):
            if msg.error():
                raise KafkaException(msg.error())
            on_record(msg)
        producer.poll(0)
    producer.flush()
    consumer.close()
    if failed:
        sys.exit(f"{len(failed)} records were not delivered, the first: {failed[0]}")


if __name__ == "__main__":
    main()
