/*
 * sdktest exercises the C SDK from inside the sandbox; sdk_test.go drives it.
 * What it does depends on the record's value:
 *   "produce-then-fail"  produces two records, then fails
 *   "big"                produces three 400 KiB records (past the 1 MiB flush)
 *   "big-then-fail"      the same, then fails
 *   "record"             wh_produce_record: partition 2 with the input's
 *                        timestamp, then partition -1 with timestamp 5
 *   "config"             produces config "k" and whether "nokey" is set
 *   "log"                logs a 2000-byte line with wh_logf
 *   "nulls"              produces a null key and an empty value
 *   "inplace"            produces its value, then a record with its own
 *                        topic and part of its value as value and header,
 *                        then changes the value in place: the host reads
 *                        the batch's bytes at the produce call, so the
 *                        outputs show the change
 *   "topics"             produces to three topics named in one buffer
 *   anything else        echoes key, value and headers to "echo"
 * The tick handler produces "tick <now_ms>" to "ticks", and fails the tick
 * after producing when config "tick_fail" is set.
 */
#define WASMHOST_IMPLEMENTATION
#include "../../wasmhost.h"

#include <stdio.h>
#include <stdlib.h>

static char big[400 << 10];

static const char *handle(const wh_record *r) {
	if (wh_eq(r->value, "produce-then-fail")) {
		wh_produce("out", r->key, wh_str("one"), NULL, 0);
		wh_produce("out", r->key, wh_str("two"), NULL, 0);
		return wh_errorf("failed after producing %d", 2);
	}
	if (wh_eq(r->value, "big") || wh_eq(r->value, "big-then-fail")) {
		memset(big, 'x', sizeof big);
		for (int i = 0; i < 3; i++) {
			int32_t st = wh_produce("out", r->key, wh_mem(big, sizeof big), NULL, 0);
			if (st != WH_OK) return wh_errorf("produce returned %d", (int)st);
		}
		return wh_eq(r->value, "big") ? NULL : "big then fail";
	}
	if (wh_eq(r->value, "record")) {
		wh_record c = *r;
		c.topic = wh_str("out");
		c.partition = 2;
		c.timestamp = 0;
		wh_produce_record(&c);
		c.partition = -1;
		c.timestamp = 5;
		wh_produce_record(&c);
		return NULL;
	}
	if (wh_eq(r->value, "config")) {
		const char *k = wh_config("k");
		wh_produce("out", wh_str(wh_config("nokey") ? "nokey set" : "nokey unset"), wh_str(k ? k : "(k unset)"), NULL, 0);
		return NULL;
	}
	if (wh_eq(r->value, "log")) {
		char line[2001];
		memset(line, 'L', 2000);
		line[2000] = 0;
		wh_logf(WH_WARN, "%s", line);
		return NULL;
	}
	if (wh_eq(r->value, "nulls")) {
		wh_produce("out", WH_NULL, wh_mem("", 0), NULL, 0);
		return NULL;
	}
	if (wh_eq(r->value, "inplace")) {
		wh_produce("out", r->key, r->value, NULL, 0);
		wh_bytes part = wh_mem(r->value.ptr + 2, 5); /* "place" */
		wh_header h = {r->headers[0].key, part};
		wh_record c = *r;
		c.value = part;
		c.headers = &h;
		c.header_count = 1;
		wh_produce_record(&c);
		uint8_t *v = (uint8_t *)r->value.ptr; /* the SDK's buffer: writable */
		v[0] = 'I';
		v[2] = 'P';
		return NULL;
	}
	if (wh_eq(r->value, "topics")) {
		char topic[8];
		for (int i = 0; i < 3; i++) {
			snprintf(topic, sizeof topic, "t%d", i);
			wh_produce(topic, WH_NULL, wh_str(topic), NULL, 0);
		}
		return NULL;
	}
	wh_produce("echo", r->key, r->value, r->headers, r->header_count);
	return NULL;
}

static const char *tick(int64_t now_ms) {
	wh_produce("ticks", WH_NULL, wh_str(wh_errorf("tick %lld", (long long)now_ms)), NULL, 0);
	if (wh_config("tick_fail")) return "asked to fail the tick";
	return NULL;
}

WASMHOST_ON_RECORD(handle)
WASMHOST_ON_TICK(tick)
