/* forward-c is plugins/forward in C, for BenchmarkBoundary: every record is
 * produced, key, value and headers referenced from the batch, to the topic
 * in config "to". */
#define WASMHOST_IMPLEMENTATION
#include "../../../sdk/c/wasmhost.h"

static const char *to;

static const char *forward(const wh_record *r) {
	if (to == NULL && (to = wh_config("to")) == NULL) return "forward: config \"to\" is not set";
	wh_produce(to, r->key, r->value, r->headers, r->header_count);
	return NULL;
}

WASMHOST_ON_RECORD(forward)
