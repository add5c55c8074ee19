/*
 * runaway-c runs away without a loop (issue 12): branching recursion makes
 * 2^60 calls and is never deeper than 61 frames. What it does depends on
 * the record's value:
 *   "recurse"           f(60), calling itself twice per call
 *   "recurse-indirect"  the same through a function pointer (call_indirect)
 *   anything else       produces the record to config "to"
 * A call that returned would produce nothing for the recursions: the host
 * must stop it at the pipeline's call_timeout. Tests in host/ and
 * internal/e2e drive it.
 */
#define WASMHOST_IMPLEMENTATION
#include "../../../../sdk/c/wasmhost.h"

static volatile int sink;

/* The work after the second call keeps clang from turning it into a loop
 * (a tail call it could eliminate); volatile keeps the calls from being
 * optimized away. */
static void __attribute__((noinline)) f(int n) {
	if (n == 0) return;
	sink++;
	f(n - 1);
	f(n - 1);
	sink--;
}

static void (*volatile indirect)(int);

static void __attribute__((noinline)) g(int n) {
	if (n == 0) return;
	sink++;
	indirect(n - 1);
	indirect(n - 1);
	sink--;
}

static const char *handle(const wh_record *r) {
	if (wh_eq(r->value, "recurse")) {
		f(60);
		return "the recursion returned";
	}
	if (wh_eq(r->value, "recurse-indirect")) {
		indirect = g;
		g(60);
		return "the recursion returned";
	}
	const char *to = wh_config("to");
	int32_t st = wh_produce(to ? to : "out", r->key, r->value, NULL, 0);
	return st == WH_OK ? NULL : wh_errorf("produce returned %d", (int)st);
}

WASMHOST_ON_RECORD(handle)
