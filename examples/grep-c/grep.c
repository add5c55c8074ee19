/*
 * grep is an example wasmhost plugin in C: it forwards the records whose
 * value contains a string, with a header naming the match, and drops the
 * others.
 *
 * Config:
 *   match  the bytes to look for (required)
 *   to     the topic to forward to (required)
 *
 * A record with a null value fails. Built with `wasmhost plugin build`, which
 * runs clang --target=wasm32-wasi -mexec-model=reactor.
 */
#define WASMHOST_IMPLEMENTATION
#include "../../sdk/c/wasmhost.h"

#include <stdlib.h>

/* contains reports whether hay holds needle. */
static int contains(wh_bytes hay, const char *needle) {
	size_t n = strlen(needle);
	if (n == 0) return 1;
	for (int32_t i = 0; i + (int32_t)n <= hay.len; i++) {
		if (memcmp(hay.ptr + i, needle, n) == 0) return 1;
	}
	return 0;
}

static wh_header *headers; /* the input's headers plus ours, reused */
static uint32_t headers_cap;

static const char *grep(const wh_record *r) {
	const char *match = wh_config("match");
	const char *to = wh_config("to");
	if (match == NULL || to == NULL) return "grep: config \"match\" and \"to\" are required";
	if (wh_is_null(r->value)) return wh_errorf("null value at offset %lld", (long long)r->offset);
	if (!contains(r->value, match)) {
		wh_logf(WH_DEBUG, "offset %lld: no match", (long long)r->offset);
		return NULL; /* dropped */
	}
	uint32_t n = r->header_count + 1;
	if (n > headers_cap) {
		wh_header *h = realloc(headers, n * sizeof *h);
		if (h == NULL) return "out of memory";
		headers = h;
		headers_cap = n;
	}
	if (r->header_count) memcpy(headers, r->headers, r->header_count * sizeof *headers);
	headers[r->header_count] = (wh_header){wh_str("grep-match"), wh_str(match)};
	wh_produce(to, r->key, r->value, headers, n);
	return NULL;
}

WASMHOST_ON_RECORD(grep)
