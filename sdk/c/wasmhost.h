/*
 * wasmhost.h - the wasmhost plugin SDK for C, ABI version 1.
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
 * wh_produce copies its arguments before it returns. Strings from wh_config
 * live as long as the instance. The SDK allocates with malloc and reuses its
 * buffers from call to call.
 *
 * Semantics match the Go SDK: a handler that returns a reason fails its
 * record alone, and what that record produced is discarded; the host then
 * applies the pipeline's failure policy to it. Produced records are handed to
 * the host when the call ends (or once the buffer passes 1 MiB); the host may
 * refuse one (a topic not in produce_topics, a record over the size limit),
 * which fails the record it derives from. Trapping (abort, out of bounds)
 * makes the host throw the instance away. docs/abi.md is the full contract.
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
#define WH_ABI_VERSION 1

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
	WH_BAD_LEVEL = -10       /* unknown log level */
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

/* A byte string viewing a NUL-terminated string (without the NUL); NULL
 * gives the null byte string. */
static inline wh_bytes wh_str(const char *s) {
	if (s == NULL) return WH_NULL;
	return (wh_bytes){(const uint8_t *)s, (int32_t)strlen(s)};
}

/* A byte string viewing n bytes at p. */
static inline wh_bytes wh_mem(const void *p, size_t n) {
	return (wh_bytes){(const uint8_t *)p, (int32_t)n};
}

static inline int wh_is_null(wh_bytes b) { return b.len < 0; }

/* Whether b holds exactly the bytes of the NUL-terminated string s. */
static inline int wh_eq(wh_bytes b, const char *s) {
	size_t n = strlen(s);
	return b.len >= 0 && (size_t)b.len == n && (n == 0 || memcmp(b.ptr, s, n) == 0);
}

/* Produce a record to topic, partitioned by key, with the timestamp of the
 * input record being handled (or of the tick). The bytes are copied. Returns
 * WH_OK, or a negative status when called outside a handler or when the host
 * refused a whole produce buffer earlier in the call (which fails the call). */
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
__attribute__((import_module("wasmhost"), import_name("produce"))) int32_t wh_host_produce(const uint8_t *ptr, uint32_t len);
__attribute__((import_module("wasmhost"), import_name("record_fail"))) int32_t wh_host_record_fail(uint32_t index, const char *msg, uint32_t len);
__attribute__((import_module("wasmhost"), import_name("log"))) int32_t wh_host_log(int32_t level, const char *msg, uint32_t len);
__attribute__((import_module("wasmhost"), import_name("config_read"))) int32_t wh_host_config_read(uint8_t *ptr, uint32_t cap);

#ifdef __cplusplus
}
#endif

#ifdef WASMHOST_IMPLEMENTATION

#include <stdio.h>
#include <stdlib.h>

__attribute__((export_name("wasmhost_abi_version"))) int32_t wh_export_abi_version(void) { return WH_ABI_VERSION; }

/* A produce buffer past this size is handed to the host before the call
 * ends, so a plugin that produces a lot does not grow without bound. */
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
	wh_header *headers;   /* headers of the record being handled */
	uint32_t headers_cap;
	wh__buf out;          /* the produce buffer: u32 count, entries */
	uint32_t out_n;
	uint32_t flushes;
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

typedef struct {
	const uint8_t *p, *end;
	int ok;
} wh__dec;

static uint32_t wh__u32(wh__dec *d) {
	uint32_t v = 0;
	if (d->end - d->p < 4) {
		d->ok = 0;
		return 0;
	}
	memcpy(&v, d->p, 4);
	d->p += 4;
	return v;
}

static uint64_t wh__u64(wh__dec *d) {
	uint64_t v = 0;
	if (d->end - d->p < 8) {
		d->ok = 0;
		return 0;
	}
	memcpy(&v, d->p, 8);
	d->p += 8;
	return v;
}

/* A byte string; nullable ones use length -1 (0xffffffff) for null. */
static wh_bytes wh__bytes(wh__dec *d, int nullable) {
	uint32_t n = wh__u32(d);
	if (!d->ok) return WH_NULL;
	if (n == 0xffffffffu && nullable) return WH_NULL;
	if (n > 0x7fffffffu || (size_t)(d->end - d->p) < n) {
		d->ok = 0;
		return WH_NULL;
	}
	wh_bytes b = {d->p, (int32_t)n};
	d->p += n;
	return b;
}

static int wh__record(wh__dec *d, wh_record *r) {
	r->partition = (int32_t)wh__u32(d);
	r->offset = (int64_t)wh__u64(d);
	r->timestamp = (int64_t)wh__u64(d);
	r->topic = wh__bytes(d, 0);
	r->key = wh__bytes(d, 1);
	r->value = wh__bytes(d, 1);
	uint32_t n = wh__u32(d);
	/* A header takes at least 8 bytes: more than fit is malformed. */
	if (!d->ok || n > (size_t)(d->end - d->p) / 8) return 0;
	if (n > wh__s.headers_cap) {
		wh_header *h = (wh_header *)realloc(wh__s.headers, n * sizeof *h);
		if (h == NULL) return 0;
		wh__s.headers = h;
		wh__s.headers_cap = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		wh__s.headers[i].key = wh__bytes(d, 0);
		wh__s.headers[i].value = wh__bytes(d, 1);
	}
	r->headers = n ? wh__s.headers : NULL;
	r->header_count = n;
	return d->ok;
}

/* --- the produce buffer --- */

static void wh__out_reset(void) {
	wh__s.out.len = 4;
	wh__s.out_n = 0;
	if (wh__s.out.p) memset(wh__s.out.p, 0, 4);
}

static void wh__put(const void *p, size_t n) {
	if (n) memcpy(wh__s.out.p + wh__s.out.len, p, n);
	wh__s.out.len += n;
}

static void wh__put_u32(uint32_t v) { wh__put(&v, 4); }

static void wh__put_bytes(wh_bytes b) {
	if (b.len < 0) {
		wh__put_u32(0xffffffffu);
		return;
	}
	wh__put_u32((uint32_t)b.len);
	wh__put(b.ptr, (size_t)b.len);
}

static int32_t wh__flush(void) {
	memcpy(wh__s.out.p, &wh__s.out_n, 4);
	int32_t st = wh_host_produce(wh__s.out.p, (uint32_t)wh__s.out.len);
	wh__out_reset();
	wh__s.flushes++;
	if (st < 0) {
		wh_logf(WH_ERROR, "wasmhost c sdk: produce returned %d", (int)st);
		wh__s.status = st;
	}
	return st;
}

static int32_t wh__produce(wh_bytes topic, int32_t partition, int64_t timestamp, wh_bytes key, wh_bytes value,
                           const wh_header *headers, uint32_t header_count) {
	if (!wh__s.active) return WH_NO_BATCH;
	if (wh__s.status < 0) return wh__s.status;
	if (topic.len < 0) topic.len = 0;
	size_t need = 4 + 4 + 8 + 8 + 4 + (size_t)topic.len + 4 + (size_t)(key.len > 0 ? key.len : 0) + 4 +
	              (size_t)(value.len > 0 ? value.len : 0) + 4;
	for (uint32_t i = 0; i < header_count; i++) {
		need += 8 + (size_t)(headers[i].key.len > 0 ? headers[i].key.len : 0) +
		        (size_t)(headers[i].value.len > 0 ? headers[i].value.len : 0);
	}
	if (wh__s.out.cap == 0) {
		if (!wh__grow(&wh__s.out, 4)) return wh__s.status = WH_TOO_LARGE;
		wh__out_reset();
	}
	if (!wh__grow(&wh__s.out, wh__s.out.len + need)) {
		wh__sdk_log("out of memory growing the produce buffer");
		return wh__s.status = WH_TOO_LARGE;
	}
	uint64_t zero = 0;
	wh__put_u32(wh__s.input);
	wh__put_u32((uint32_t)partition);
	wh__put(&zero, 8);
	wh__put(&timestamp, 8);
	wh__put_bytes(topic);
	wh__put_bytes(key);
	wh__put_bytes(value);
	wh__put_u32(header_count);
	for (uint32_t i = 0; i < header_count; i++) {
		wh_bytes k = headers[i].key;
		if (k.len < 0) k.len = 0;
		wh__put_bytes(k);
		wh__put_bytes(headers[i].value);
	}
	wh__s.out_n++;
	if (wh__s.out.len >= WH__FLUSH_SIZE) {
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

static void wh__begin(uint32_t input, int64_t timestamp) {
	wh__s.active = 1;
	wh__s.input = input;
	wh__s.timestamp = timestamp;
	wh__s.status = WH_OK;
	if (wh__s.out.cap) wh__out_reset();
}

static int32_t wh__finish(void) {
	if (wh__s.status >= 0 && wh__s.out_n > 0) wh__flush();
	int32_t st = wh__s.status;
	wh__s.active = 0;
	wh__s.input = WH_NO_INPUT;
	if (wh__s.out.cap) wh__out_reset();
	return st;
}

/* --- the exports --- */

int32_t wh_run_batch(int32_t batch_len, int32_t count, wh_record_fn fn) {
	if (batch_len < 4 || count < 0) return WH_BAD_ENCODING;
	if (!wh__grow(&wh__s.batch, (size_t)batch_len)) {
		wh__sdk_log("out of memory for the batch");
		return WH_TOO_LARGE;
	}
	int32_t n = wh_host_batch_read(wh__s.batch.p, (uint32_t)batch_len);
	if (n < 0) return n;
	if (n > batch_len) return WH_BAD_ENCODING;
	wh__dec d = {wh__s.batch.p, wh__s.batch.p + n, 1};
	if (wh__u32(&d) != (uint32_t)count || !d.ok) {
		wh__sdk_log("the batch's record count differs from on_batch's");
		return WH_BAD_ENCODING;
	}
	wh__begin(0, 0);
	for (uint32_t i = 0; i < (uint32_t)count; i++) {
		wh_record r;
		if (!wh__record(&d, &r)) {
			wh__sdk_log("malformed batch");
			wh__s.active = 0;
			return WH_BAD_ENCODING;
		}
		wh__s.input = i;
		wh__s.timestamp = r.timestamp;
		size_t mark_len = wh__s.out.len;
		uint32_t mark_n = wh__s.out_n, mark_flushes = wh__s.flushes;
		const char *reason = fn(&r);
		if (wh__s.status < 0) break; /* a produce call failed: the batch fails */
		if (reason != NULL) {
			/* Discard what this record produced; what was already flushed
			 * is the host's to discard. */
			if (wh__s.flushes != mark_flushes) {
				wh__out_reset();
			} else {
				wh__s.out.len = mark_len;
				wh__s.out_n = mark_n;
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
	wh__begin(WH_NO_INPUT, now_ms);
	const char *reason = fn(now_ms);
	if (reason != NULL) {
		wh_logf(WH_ERROR, "tick failed: %s", reason);
		int32_t st = wh__s.status < 0 ? wh__s.status : WH_FAILED;
		wh__s.active = 0;
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
	wh__dec d = {buf, buf + size, 1};
	uint32_t n = wh__u32(&d);
	if (n > (uint32_t)(size - 4) / 8) n = 0, d.ok = 0;
	wh__cfg.keys = (char **)calloc(n ? n : 1, sizeof(char *));
	wh__cfg.values = (char **)calloc(n ? n : 1, sizeof(char *));
	for (uint32_t i = 0; d.ok && wh__cfg.keys && wh__cfg.values && i < n; i++) {
		wh_bytes k = wh__bytes(&d, 0), v = wh__bytes(&d, 0);
		if (!d.ok) break;
		wh__cfg.keys[i] = wh__cstr(k);
		wh__cfg.values[i] = wh__cstr(v);
		if (wh__cfg.keys[i] == NULL || wh__cfg.values[i] == NULL) break;
		wh__cfg.n = i + 1;
	}
	if (!d.ok) wh__sdk_log("malformed config");
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
