/*
 * wasmhost.h - the wasmhost plugin SDK for C, ABI version 2.
 *
 * One header. In exactly one .c file of the plugin, define
 * WASMHOST_IMPLEMENTATION before including it; other files include it plainly.
 * Register handlers with WASMHOST_ON_RECORD and/or WASMHOST_ON_TICK:
 *
 *     #define WASMHOST_IMPLEMENTATION
 *     #include "wasmhost.h"
 *
 *     static const char *on_record(const wh_record *r) {
 *         const char *to = wh_config("to");
 *         if (!to) return "config \"to\" is not set";  // fails this record
 *         wh_produce(to, r->key, r->value, r->headers, r->header_count);
 *         return NULL;                                 // ok
 *     }
 *     WASMHOST_ON_RECORD(on_record)
 *
 * Build it as a WASI reactor (`wasmhost plugin build` does this):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -o p.wasm p.c
 *
 * Memory: a wh_record and every wh_bytes in it point into the SDK's batch
 * buffer and are valid only until the handler returns; copy what you keep.
 * wh_produce copies what it is given before it returns, so you may reuse
 * your own buffers at once, with one exception that makes passing records
 * on cheap: bytes that lie in the batch buffer (a record's topic, key, value,
 * header keys and values, or any part of them) are not copied but
 * referenced, and the host reads them when the produced records are handed
 * over (see below). The batch's bytes are const: a change made to them in
 * place through a cast shows in what references them, even in a record
 * produced before the change that was not handed over yet. Strings from
 * wh_config live as long as the instance. The SDK allocates with malloc and
 * reuses its buffers from call to call.
 *
 * Semantics match the Go SDK: a handler that returns a reason fails its
 * record alone, and what that record produced is discarded; the host then
 * applies the pipeline's failure policy to it. Produced records are handed to
 * the host when the call ends (or once 1 MiB of them is pending); the host
 * may refuse one (a topic not in produce_topics, a record over the size
 * limit), which fails the record it derives from. Trapping (abort, out of
 * bounds) makes the host throw the instance away. docs/abi.md is the full
 * contract, and the implementation below is a short reference for it.
 */
#ifndef WASMHOST_H
#define WASMHOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header speaks; the plugin exports it. */
#define WH_ABI_VERSION 2

/* Status codes returned by host functions and by the exports. */
enum {
	WH_OK = 0,
	WH_BAD_POINTER = -1,     /* a pointer/length pair outside guest memory */
	WH_BUFFER_TOO_SMALL = -2, /* the buffer cannot hold the result */
	WH_NO_BATCH = -3,        /* batch_read or record_fail outside on_batch */
	WH_BAD_ENCODING = -4,    /* a buffer does not decode */
	WH_BAD_INDEX = -5,       /* an input index outside the current batch */
	WH_TOO_LARGE = -6,       /* over a size or count limit */
	WH_FORBIDDEN = -7,       /* a topic the plugin may not produce to */
	WH_NO_HANDLER = -8,      /* no handler for this call */
	WH_FAILED = -9,          /* the handler failed the whole call */
	WH_BAD_LEVEL = -10,      /* unknown log level */
	WH_NOT_FOUND = -11,      /* state_get: the key is not set */
	WH_NO_STATE = -12        /* the host keeps no state for this instance */
};

/* Log levels. */
typedef enum { WH_DEBUG = 0, WH_INFO = 1, WH_WARN = 2, WH_ERROR = 3 } wh_level;

/* The input index of a record that derives from no input record. */
#define WH_NO_INPUT 0xffffffffu

/* A byte string; len -1 is null (a Kafka null key or value). Not
 * NUL-terminated. */
typedef struct {
	const uint8_t *ptr;
	int32_t len;
} wh_bytes;

/* One record header; the key is never null. */
typedef struct {
	wh_bytes key;
	wh_bytes value;
} wh_header;

/* A Kafka record. timestamp is in Unix milliseconds. */
typedef struct {
	wh_bytes topic;
	int32_t partition;
	int64_t offset;
	int64_t timestamp;
	wh_bytes key;
	wh_bytes value;
	const wh_header *headers;
	uint32_t header_count;
} wh_record;

/* A record handler returns NULL when the record is handled, or the reason it
 * failed (a string that lives until the handler returns, e.g. a literal or
 * wh_errorf's result). */
typedef const char *(*wh_record_fn)(const wh_record *r);

/* A tick handler gets the host's time in Unix milliseconds; it returns NULL,
 * or a reason that fails the whole tick (nothing it produced is kept). */
typedef const char *(*wh_tick_fn)(int64_t now_ms);

/* The null byte string. */
#define WH_NULL ((wh_bytes){NULL, -1})

/* wh_str and wh_eq are always inlined: given a literal, strlen folds to a
 * constant, and in a sandboxed guest a call costs more than either helper. */

/* A byte string viewing a NUL-terminated string (without the NUL); NULL
 * gives the null byte string. */
static inline __attribute__((always_inline)) wh_bytes wh_str(const char *s) {
	if (s == NULL) return WH_NULL;
	return (wh_bytes){(const uint8_t *)s, (int32_t)strlen(s)};
}

/* A byte string viewing n bytes at p. */
static inline wh_bytes wh_mem(const void *p, size_t n) {
	return (wh_bytes){(const uint8_t *)p, (int32_t)n};
}

static inline int wh_is_null(wh_bytes b) { return b.len < 0; }

/* Whether b holds exactly the bytes of the NUL-terminated string s. */
static inline __attribute__((always_inline)) int wh_eq(wh_bytes b, const char *s) {
	size_t n = strlen(s);
	return b.len >= 0 && (size_t)b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

/* Produce a record to topic, partitioned by key, with the timestamp of the
 * input record being handled (or of the tick). The bytes are copied, except
 * bytes of the batch, which are referenced (see Memory above). Returns WH_OK,
 * or a negative status when called outside a handler or when the host
 * refused a whole produce call earlier in the call (which fails the call). */
int32_t wh_produce(const char *topic, wh_bytes key, wh_bytes value, const wh_header *headers, uint32_t header_count);

/* Produce a full record: topic, partition (-1 partitions by key), key,
 * value, headers and timestamp (0 takes wh_produce's); offset is ignored. */
int32_t wh_produce_record(const wh_record *r);

/* The value of key in the plugin's config (NUL-terminated, living as long as
 * the instance), or NULL when it is not set. The host also sets
 * "wasmhost.pipeline", "wasmhost.plugin" and "wasmhost.consumer". */
const char *wh_config(const char *key);

/* Log a line at a level; the host tags it with the plugin's name. */
void wh_log(wh_level level, const char *msg);
void wh_logf(wh_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Format a failure reason into a buffer that lives until the next call of
 * wh_errorf, and return it: return wh_errorf("bad value %d", v); */
const char *wh_errorf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* The dispatchers behind the registration macros. */
int32_t wh_run_batch(int32_t batch_len, int32_t count, wh_record_fn fn);
int32_t wh_run_tick(int64_t now_ms, wh_tick_fn fn);

/* Register fn as the record handler: it runs once per input record, in
 * offset order. Use once, at file scope. */
#define WASMHOST_ON_RECORD(fn)                                                      \
	__attribute__((export_name("wasmhost_on_batch"))) int32_t wh_export_on_batch( \
	    int32_t batch_len, int32_t count) {                                        \
		return wh_run_batch(batch_len, count, (fn));                               \
	}

/* Register fn as the tick handler, for sources. Use once, at file scope. */
#define WASMHOST_ON_TICK(fn)                                                                         \
	__attribute__((export_name("wasmhost_on_tick"))) int32_t wh_export_on_tick(int64_t now_ms) { \
		return wh_run_tick(now_ms, (fn));                                                           \
	}

/* The host functions (module "wasmhost"), for authors who want the raw ABI. */
__attribute__((import_module("wasmhost"), import_name("batch_read"))) int32_t wh_host_batch_read(uint8_t *ptr, uint32_t len);
__attribute__((import_module("wasmhost"), import_name("produce"))) int32_t wh_host_produce(const uint8_t *descs, uint32_t descs_len,
                                                                                           const uint8_t *data, uint32_t data_len);
__attribute__((import_module("wasmhost"), import_name("record_fail"))) int32_t wh_host_record_fail(uint32_t index, const char *msg, uint32_t len);
__attribute__((import_module("wasmhost"), import_name("log"))) int32_t wh_host_log(int32_t level, const char *msg, uint32_t len);
__attribute__((import_module("wasmhost"), import_name("config_read"))) int32_t wh_host_config_read(uint8_t *ptr, uint32_t cap);

/* State (docs/abi.md, "State"): a key-value store per pipeline and input
 * partition, kept by the host, committed with the outputs (exactly-once)
 * and restored after traps, reloads and rebalances. Optional: a plugin
 * that calls none of these does not import them. Keys are 1..4096 bytes,
 * values up to 1 MiB. */
__attribute__((import_module("wasmhost"), import_name("state_get"))) int32_t wh_host_state_get(const uint8_t *key, uint32_t key_len,
                                                                                             uint8_t *val, uint32_t val_cap);
__attribute__((import_module("wasmhost"), import_name("state_put"))) int32_t wh_host_state_put(const uint8_t *key, uint32_t key_len,
                                                                                             const uint8_t *val, uint32_t val_len);
__attribute__((import_module("wasmhost"), import_name("state_delete"))) int32_t wh_host_state_delete(const uint8_t *key, uint32_t key_len);
__attribute__((import_module("wasmhost"), import_name("state_scan"))) int32_t wh_host_state_scan(const uint8_t *start, uint32_t start_len,
                                                                                               const uint8_t *end, uint32_t end_len,
                                                                                               uint8_t *buf, uint32_t buf_cap);

/* The value's length, written to val when it fits cap (call again with a
 * larger buffer when it does not), or WH_NOT_FOUND, or a negative status. */
static inline int32_t wh_state_get(wh_bytes key, uint8_t *val, uint32_t cap) {
	return wh_host_state_get(key.ptr, (uint32_t)key.len, val, cap);
}
/* Set key to value: WH_OK, or WH_TOO_LARGE past the partition's limits
 * (the host then fails the record with the reason). */
static inline int32_t wh_state_put(wh_bytes key, wh_bytes value) {
	return wh_host_state_put(key.ptr, (uint32_t)key.len, value.ptr, value.len < 0 ? 0u : (uint32_t)value.len);
}
/* Remove key; a missing key is not an error. */
static inline int32_t wh_state_delete(wh_bytes key) { return wh_host_state_delete(key.ptr, (uint32_t)key.len); }

#ifdef __cplusplus
}
#endif

#ifdef WASMHOST_IMPLEMENTATION

#include <stdio.h>
#include <stdlib.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "wasmhost.h reads and writes the ABI's little-endian descriptors as C structs: build for wasm32"
#endif

__attribute__((export_name("wasmhost_abi_version"))) int32_t wh_export_abi_version(void) { return WH_ABI_VERSION; }

/* --- the encoding (docs/abi.md, "Encodings") ---
 *
 * A batch is: u32 count | u32 reserved | count record descriptors | data
 * area. A descriptor gives each byte string as an offset into the data area
 * and a length, WH__NULL for null. One produce call hands the host an array
 * of produce descriptors and a data area of its own; their refs index that
 * data area or, with WH__BATCH_REF set, the batch's, where the guest holds
 * it. The structs below are the descriptors' exact layout (little-endian, no
 * padding). They are copied in and out with memcpy, because a header
 * descriptor may lie at any offset. */

#define WH__NULL 0xffffffffu      /* the length of a null byte string */
#define WH__BATCH_REF 0x80000000u /* a ref into the batch's data area */

typedef struct { /* an input record */
	int32_t partition;
	uint32_t header_count;
	int64_t offset, timestamp;
	uint32_t topic_off, topic_len, key_off, key_len, value_off, value_len;
	uint32_t headers_off, reserved;
} wh__record_desc;

typedef struct { /* a header, in the batch and in what is produced */
	uint32_t key_off, key_len, value_off, value_len;
} wh__header_desc;

typedef struct { /* a produced record */
	uint32_t input;
	int32_t partition;
	int64_t timestamp;
	uint32_t topic_ref, topic_len, key_ref, key_len, value_ref, value_len;
	uint32_t headers_off, header_count;
} wh__produce_desc;

#define WH__BATCH_HEAD 8u
_Static_assert(sizeof(wh__record_desc) == 56, "record descriptor layout");
_Static_assert(sizeof(wh__header_desc) == 16, "header descriptor layout");
_Static_assert(sizeof(wh__produce_desc) == 48, "produce descriptor layout");

/* What is pending past this size (descriptors and data) is handed to the
 * host before the call ends, so a plugin that produces a lot does not grow
 * without bound. */
#define WH__FLUSH_SIZE (1u << 20)

/* A growable byte buffer. */
typedef struct {
	uint8_t *p;
	size_t len, cap;
} wh__buf;

static int wh__grow(wh__buf *b, size_t need) {
	if (need <= b->cap) return 1;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) return 0;
		cap *= 2;
	}
	uint8_t *p = (uint8_t *)realloc(b->p, cap);
	if (p == NULL) return 0;
	b->p = p;
	b->cap = cap;
	return 1;
}

static struct {
	wh__buf batch;        /* the input batch, copied from the host */
	const uint8_t *data;  /* the batch's data area */
	uint32_t data_len;
	wh_header *headers;   /* headers of the record being handled */
	uint32_t headers_cap;

	wh__buf descs, out;   /* the next produce call: descriptors, data area */
	uint32_t flushes;     /* produce calls made in this handler call */
	uint32_t ref_len;     /* bytes of the batch's data area refs may index: 0 in a tick */
	int has_topic;        /* the last topic produced was copied to out at topic_ref */
	uint32_t topic_ref, topic_len;

	int active;           /* a handler call is running */
	uint32_t input;       /* index of the record being handled, or WH_NO_INPUT */
	int64_t timestamp;    /* given to produced records */
	int32_t status;       /* first negative status of the call */
} wh__s;

static void wh__sdk_log(const char *msg) {
	char line[256];
	int n = snprintf(line, sizeof line, "wasmhost c sdk: %s", msg);
	if (n < 0) return;
	if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
	wh_host_log(WH_ERROR, line, (uint32_t)n);
}

/* --- decoding the batch --- */

/* Sets b to the len bytes at off in the batch's data area, or to null when
 * nullable and len is WH__NULL; 0 when they do not fit. */
static int wh__span(uint32_t off, uint32_t len, int nullable, wh_bytes *b) {
	if (len == WH__NULL && nullable) {
		*b = WH_NULL;
		return 1;
	}
	if (off > wh__s.data_len || len > wh__s.data_len - off || len > INT32_MAX) return 0;
	*b = (wh_bytes){wh__s.data + off, (int32_t)len};
	return 1;
}

/* Decodes record i of the batch into r. Returns NULL, or the name of the
 * field that does not fit in the data area. */
static const char *wh__record(uint32_t i, wh_record *r) {
	wh__record_desc d;
	memcpy(&d, wh__s.batch.p + WH__BATCH_HEAD + (size_t)i * sizeof d, sizeof d);
	r->partition = d.partition;
	r->offset = d.offset;
	r->timestamp = d.timestamp;
	if (!wh__span(d.topic_off, d.topic_len, 0, &r->topic)) return "topic";
	if (!wh__span(d.key_off, d.key_len, 1, &r->key)) return "key";
	if (!wh__span(d.value_off, d.value_len, 1, &r->value)) return "value";
	r->headers = NULL;
	r->header_count = d.header_count;
	if (d.header_count == 0) return NULL;
	if (d.headers_off > wh__s.data_len ||
	    d.header_count > (wh__s.data_len - d.headers_off) / sizeof(wh__header_desc)) {
		return "header descriptors";
	}
	if (d.header_count > wh__s.headers_cap) {
		wh_header *h = (wh_header *)realloc(wh__s.headers, d.header_count * sizeof *h);
		if (h == NULL) return "headers (out of memory)";
		wh__s.headers = h;
		wh__s.headers_cap = d.header_count;
	}
	for (uint32_t k = 0; k < d.header_count; k++) {
		wh__header_desc h;
		memcpy(&h, wh__s.data + d.headers_off + k * sizeof h, sizeof h);
		if (!wh__span(h.key_off, h.key_len, 0, &wh__s.headers[k].key)) return "header key";
		if (!wh__span(h.value_off, h.value_len, 1, &wh__s.headers[k].value)) return "header value";
	}
	r->headers = wh__s.headers;
	return NULL;
}

/* --- producing --- */

static void wh__out_reset(void) {
	wh__s.descs.len = 0;
	wh__s.out.len = 0;
	wh__s.has_topic = 0;
}

/* The ref of the n bytes at p: into the batch's data area when they lie in
 * it, so nothing is copied; else to a copy appended to out, which has room. */
static uint32_t wh__ref(const uint8_t *p, uint32_t n) {
	uintptr_t off = (uintptr_t)p - (uintptr_t)wh__s.data;
	if (off < wh__s.ref_len && n <= wh__s.ref_len - off) return (uint32_t)off | WH__BATCH_REF;
	uint32_t ref = (uint32_t)wh__s.out.len;
	if (n) memcpy(wh__s.out.p + wh__s.out.len, p, n);
	wh__s.out.len += n;
	return ref;
}

/* Sets ref and len for b: its ref and length, or 0 and WH__NULL. */
static void wh__put(wh_bytes b, uint32_t *ref, uint32_t *len) {
	if (b.len < 0) {
		*ref = 0;
		*len = WH__NULL;
		return;
	}
	*ref = wh__ref(b.ptr, (uint32_t)b.len);
	*len = (uint32_t)b.len;
}

/* The ref of a topic (never null): the copy made for the record before when
 * it holds the same bytes, so that records to one topic share one copy. */
static uint32_t wh__topic(wh_bytes t) {
	uint32_t n = (uint32_t)t.len;
	if (wh__s.has_topic && n == wh__s.topic_len && (n == 0 || memcmp(wh__s.out.p + wh__s.topic_ref, t.ptr, n) == 0)) {
		return wh__s.topic_ref;
	}
	uint32_t ref = wh__ref(t.ptr, n);
	if (!(ref & WH__BATCH_REF)) {
		wh__s.has_topic = 1;
		wh__s.topic_ref = ref;
		wh__s.topic_len = n;
	}
	return ref;
}

/* Appends n header descriptors to out, then what of their bytes is copied,
 * and returns their offset. out has room. */
static uint32_t wh__headers(const wh_header *hs, uint32_t n) {
	uint32_t off = (uint32_t)wh__s.out.len;
	wh__s.out.len += (size_t)n * sizeof(wh__header_desc);
	for (uint32_t k = 0; k < n; k++) {
		wh__header_desc h;
		wh_bytes key = hs[k].key;
		if (key.len < 0) key.len = 0; /* a header key is never null */
		wh__put(key, &h.key_off, &h.key_len);
		wh__put(hs[k].value, &h.value_off, &h.value_len);
		memcpy(wh__s.out.p + off + k * sizeof h, &h, sizeof h);
	}
	return off;
}

static int32_t wh__flush(void) {
	int32_t st = wh_host_produce(wh__s.descs.p, (uint32_t)wh__s.descs.len, wh__s.out.p, (uint32_t)wh__s.out.len);
	wh__out_reset();
	wh__s.flushes++;
	if (st < 0) {
		wh_logf(WH_ERROR, "wasmhost c sdk: produce returned %d", (int)st);
		wh__s.status = st;
	}
	return st;
}

static uint64_t wh__len(wh_bytes b) { return b.len > 0 ? (uint64_t)b.len : 0; }

static int32_t wh__produce(wh_bytes topic, int32_t partition, int64_t timestamp, wh_bytes key, wh_bytes value,
                           const wh_header *headers, uint32_t header_count) {
	if (!wh__s.active) return WH_NO_BATCH;
	if (wh__s.status < 0) return wh__s.status;
	if (topic.len < 0) topic.len = 0; /* the host refuses a record without a topic */
	/* Room for the worst case, where every byte string is copied. A ref into
	 * out has bit 31 clear, so out stays under 2 GiB. */
	uint64_t need = wh__len(topic) + wh__len(key) + wh__len(value) + (uint64_t)header_count * sizeof(wh__header_desc);
	for (uint32_t i = 0; i < header_count; i++) need += wh__len(headers[i].key) + wh__len(headers[i].value);
	if (need > INT32_MAX - wh__s.out.len) {
		wh__sdk_log("a produced record is over 2 GiB");
		return wh__s.status = WH_TOO_LARGE;
	}
	if (!wh__grow(&wh__s.descs, wh__s.descs.len + sizeof(wh__produce_desc)) ||
	    !wh__grow(&wh__s.out, wh__s.out.len + (size_t)need)) {
		wh__sdk_log("out of memory for produced records");
		return wh__s.status = WH_TOO_LARGE;
	}
	wh__produce_desc d = {.input = wh__s.input, .partition = partition, .timestamp = timestamp};
	d.topic_ref = wh__topic(topic);
	d.topic_len = (uint32_t)topic.len;
	wh__put(key, &d.key_ref, &d.key_len);
	wh__put(value, &d.value_ref, &d.value_len);
	if (header_count) d.headers_off = wh__headers(headers, header_count);
	d.header_count = header_count;
	memcpy(wh__s.descs.p + wh__s.descs.len, &d, sizeof d);
	wh__s.descs.len += sizeof d;
	if (wh__s.descs.len + wh__s.out.len >= WH__FLUSH_SIZE) {
		int32_t st = wh__flush();
		if (st < 0) return st;
	}
	return WH_OK;
}

int32_t wh_produce(const char *topic, wh_bytes key, wh_bytes value, const wh_header *headers, uint32_t header_count) {
	return wh__produce(wh_str(topic), -1, wh__s.timestamp, key, value, headers, header_count);
}

int32_t wh_produce_record(const wh_record *r) {
	return wh__produce(r->topic, r->partition, r->timestamp ? r->timestamp : wh__s.timestamp, r->key, r->value,
	                   r->headers, r->header_count);
}

/* Starts a handler call. data is the batch's data area, which what is
 * produced may reference; NULL in a tick. */
static void wh__begin(uint32_t input, int64_t timestamp, const uint8_t *data, uint32_t data_len) {
	wh__s.active = 1;
	wh__s.input = input;
	wh__s.timestamp = timestamp;
	wh__s.status = WH_OK;
	wh__s.flushes = 0;
	wh__s.data = data;
	wh__s.data_len = data_len;
	/* A batch ref holds a 31-bit offset: past that, bytes are copied. */
	wh__s.ref_len = data != NULL && data_len < WH__BATCH_REF ? data_len : 0;
	wh__out_reset();
}

/* Ends a handler call without handing over what is pending. */
static void wh__abort(void) {
	wh__s.active = 0;
	wh__s.input = WH_NO_INPUT;
	wh__s.ref_len = 0;
	wh__out_reset();
}

/* Ends a handler call: hands over what is pending and returns the call's
 * status. */
static int32_t wh__finish(void) {
	if (wh__s.status >= 0 && wh__s.descs.len > 0) wh__flush();
	int32_t st = wh__s.status;
	wh__abort();
	return st;
}

/* --- the exports --- */

int32_t wh_run_batch(int32_t batch_len, int32_t count, wh_record_fn fn) {
	if (batch_len < (int32_t)WH__BATCH_HEAD || count < 0) {
		wh_logf(WH_ERROR, "wasmhost c sdk: on_batch called with length %d and count %d", (int)batch_len, (int)count);
		return WH_BAD_ENCODING;
	}
	if (!wh__grow(&wh__s.batch, (size_t)batch_len)) {
		wh__sdk_log("out of memory for the batch");
		return WH_TOO_LARGE;
	}
	int32_t n = wh_host_batch_read(wh__s.batch.p, (uint32_t)batch_len);
	if (n < (int32_t)WH__BATCH_HEAD || n > batch_len) {
		wh_logf(WH_ERROR, "wasmhost c sdk: batch_read returned %d", (int)n);
		return n < 0 ? n : WH_BAD_ENCODING;
	}
	uint32_t held;
	memcpy(&held, wh__s.batch.p, 4);
	if (held != (uint32_t)count) {
		wh_logf(WH_ERROR, "wasmhost c sdk: the batch holds %u records, on_batch said %d", (unsigned)held, (int)count);
		return WH_BAD_ENCODING;
	}
	uint64_t head = WH__BATCH_HEAD + (uint64_t)count * sizeof(wh__record_desc);
	if (head > (uint32_t)n) {
		wh_logf(WH_ERROR, "wasmhost c sdk: a batch of %d bytes cannot hold %d record descriptors", (int)n, (int)count);
		return WH_BAD_ENCODING;
	}
	wh__begin(0, 0, wh__s.batch.p + head, (uint32_t)n - (uint32_t)head);
	for (uint32_t i = 0; i < (uint32_t)count; i++) {
		wh_record r;
		const char *bad = wh__record(i, &r);
		if (bad != NULL) {
			wh_logf(WH_ERROR, "wasmhost c sdk: malformed batch: the %s of record %u lies outside its data area", bad,
			        (unsigned)i);
			wh__abort();
			return WH_BAD_ENCODING;
		}
		wh__s.input = i;
		wh__s.timestamp = r.timestamp;
		size_t mark_descs = wh__s.descs.len, mark_out = wh__s.out.len;
		uint32_t mark_flushes = wh__s.flushes;
		const char *reason = fn(&r);
		if (wh__s.status < 0) break; /* a produce call failed: the batch fails */
		if (reason != NULL) {
			/* Discard what this record produced; what was already handed
			 * over is the host's to discard. */
			if (wh__s.flushes != mark_flushes) {
				wh__out_reset();
			} else {
				wh__s.descs.len = mark_descs;
				wh__s.out.len = mark_out;
				if (wh__s.has_topic && wh__s.topic_ref >= mark_out) wh__s.has_topic = 0;
			}
			uint32_t len = (uint32_t)strlen(reason);
			if (len == 0) {
				reason = "failed";
				len = 6;
			}
			wh_host_record_fail(i, reason, len);
		}
	}
	return wh__finish();
}

int32_t wh_run_tick(int64_t now_ms, wh_tick_fn fn) {
	wh__begin(WH_NO_INPUT, now_ms, NULL, 0);
	const char *reason = fn(now_ms);
	if (reason != NULL) {
		wh_logf(WH_ERROR, "tick failed: %s", reason);
		int32_t st = wh__s.status < 0 ? wh__s.status : WH_FAILED;
		wh__abort();
		return st;
	}
	return wh__finish();
}

/* --- config --- */

static struct {
	int loaded;
	uint32_t n;
	char **keys, **values;
} wh__cfg;

static char *wh__cstr(wh_bytes b) {
	char *s = (char *)malloc((size_t)b.len + 1);
	if (s == NULL) return NULL;
	if (b.len > 0) memcpy(s, b.ptr, (size_t)b.len);
	s[b.len] = 0;
	return s;
}

/* Sets s to the next string of a config at *p (a u32 length, then the
 * bytes) and moves *p past it; 0 when it does not fit before end. */
static int wh__cfg_str(const uint8_t **p, const uint8_t *end, wh_bytes *s) {
	uint32_t n;
	if (end - *p < 4) return 0;
	memcpy(&n, *p, 4);
	*p += 4;
	if (n > (size_t)(end - *p)) return 0;
	*s = (wh_bytes){*p, (int32_t)n};
	*p += n;
	return 1;
}

/* Reads the config: a u32 pair count, then pairs of strings. */
static void wh__load_config(void) {
	wh__cfg.loaded = 1;
	int32_t size = wh_host_config_read(NULL, 0);
	if (size < 4) {
		wh_logf(WH_ERROR, "wasmhost c sdk: config_read returned %d", (int)size);
		return;
	}
	uint8_t *buf = (uint8_t *)malloc((size_t)size);
	if (buf == NULL || wh_host_config_read(buf, (uint32_t)size) != size) {
		wh__sdk_log("cannot read the config");
		free(buf);
		return;
	}
	const uint8_t *p = buf + 4, *end = buf + size;
	uint32_t n;
	memcpy(&n, buf, 4);
	int ok = n <= (uint32_t)(size - 4) / 8; /* a pair takes at least 8 bytes */
	if (!ok) n = 0;
	wh__cfg.keys = (char **)calloc(n ? n : 1, sizeof(char *));
	wh__cfg.values = (char **)calloc(n ? n : 1, sizeof(char *));
	for (uint32_t i = 0; ok && wh__cfg.keys && wh__cfg.values && i < n; i++) {
		wh_bytes k, v;
		ok = wh__cfg_str(&p, end, &k) && wh__cfg_str(&p, end, &v);
		if (!ok) break;
		wh__cfg.keys[i] = wh__cstr(k);
		wh__cfg.values[i] = wh__cstr(v);
		if (wh__cfg.keys[i] == NULL || wh__cfg.values[i] == NULL) break;
		wh__cfg.n = i + 1;
	}
	if (!ok) wh__sdk_log("malformed config");
	free(buf);
}

const char *wh_config(const char *key) {
	if (!wh__cfg.loaded) wh__load_config();
	for (uint32_t i = 0; i < wh__cfg.n; i++) {
		if (strcmp(wh__cfg.keys[i], key) == 0) return wh__cfg.values[i];
	}
	return NULL;
}

/* --- logging --- */

void wh_log(wh_level level, const char *msg) { wh_host_log((int32_t)level, msg, (uint32_t)strlen(msg)); }

void wh_logf(wh_level level, const char *format, ...) {
	char small[512];
	va_list ap;
	va_start(ap, format);
	int n = vsnprintf(small, sizeof small, format, ap);
	va_end(ap);
	if (n < 0) return;
	if ((size_t)n < sizeof small) {
		wh_host_log((int32_t)level, small, (uint32_t)n);
		return;
	}
	char *big = (char *)malloc((size_t)n + 1);
	if (big == NULL) {
		wh_host_log((int32_t)level, small, (uint32_t)sizeof small - 1);
		return;
	}
	va_start(ap, format);
	vsnprintf(big, (size_t)n + 1, format, ap);
	va_end(ap);
	wh_host_log((int32_t)level, big, (uint32_t)n);
	free(big);
}

const char *wh_errorf(const char *format, ...) {
	static char reason[1024];
	va_list ap;
	va_start(ap, format);
	vsnprintf(reason, sizeof reason, format, ap);
	va_end(ap);
	return reason;
}

#endif /* WASMHOST_IMPLEMENTATION */
#endif /* WASMHOST_H */
