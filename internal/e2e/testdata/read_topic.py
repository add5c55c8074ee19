"""Reads a whole topic with librdkafka (Debian's python3-confluent-kafka),
checking every batch's CRC, and prints one JSON line per record:
partition, offset, key, value, headers. An independent reader for the
tests: none of the project's code or sarama's is involved.

usage: read_topic.py BOOTSTRAP TOPIC [committed]
(read_committed with "committed", read_uncommitted otherwise)
"""
import base64
import json
import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "read-topic",
    "enable.auto.commit": False,
    "check.crcs": True,
    "enable.partition.eof": True,
    "isolation.level": "read_committed" if sys.argv[3:] == ["committed"] else "read_uncommitted",
})
meta = c.list_topics(topic, timeout=30)
parts = sorted(meta.topics[topic].partitions)
c.assign([TopicPartition(topic, p, 0) for p in parts])  # from offset 0
left = set(parts)
b64 = lambda b: None if b is None else base64.b64encode(b).decode()
while left:
    m = c.poll(30)
    if m is None:
        sys.exit("read_topic: no record nor end of partition in 30 s; left: %s" % sorted(left))
    if m.error():
        if m.error().code() == -191:  # _PARTITION_EOF
            if m.partition() in left:
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, m.partition()), timeout=10)
                print("read_topic: partition %d: end at offset %d, high water %d" % (m.partition(), m.offset(), hi), file=sys.stderr)
            left.discard(m.partition())
            continue
        raise KafkaException(m.error())
    print(json.dumps({
        "partition": m.partition(), "offset": m.offset(),
        "key": b64(m.key()), "value": b64(m.value()),
        "headers": [[k, b64(v)] for k, v in (m.headers() or [])],
    }))
c.close()
