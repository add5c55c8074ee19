/*
 * jsontest answers JSON lookups with wasmhost_json.h, for json_test.go to
 * compare with encoding/json (the contract is internal/testutil/jsoncheck's):
 * the record's value is a document, each header "p" one path element; it
 * produces "K:payload" to "out". A record whose key is set looks up the
 * key as a dotted path with wh_json_get instead.
 */
#define WASMHOST_IMPLEMENTATION
#include "../../wasmhost.h"
#include "../../wasmhost_json.h"

#include <stdio.h>
#include <stdlib.h>

static char text[1 << 16];
static char out[(1 << 16) + 32];

/* step looks up one path element: a key, or an index where v is an array. */
static wh_json step(wh_json v, wh_bytes p) {
	if (v.kind == WH_JSON_ARRAY) {
		uint32_t i = 0;
		if (p.len <= 0 || p.len > 9 || (p.len > 1 && p.ptr[0] == '0')) return (wh_json){NULL, 0, WH_JSON_MISSING};
		for (int32_t k = 0; k < p.len; k++) {
			if (p.ptr[k] < '0' || p.ptr[k] > '9') return (wh_json){NULL, 0, WH_JSON_MISSING};
			i = i * 10 + (uint32_t)(p.ptr[k] - '0');
		}
		return wh_json_index(v, i);
	}
	return wh_json_keyn(v, (const char *)p.ptr, p.len > 0 ? (size_t)p.len : 0);
}

static const char *handle(const wh_record *r) {
	wh_json v;
	if (!wh_is_null(r->key)) {
		char path[256];
		if (r->key.len >= (int32_t)sizeof path) return "path too long";
		memcpy(path, r->key.ptr, (size_t)r->key.len);
		path[r->key.len] = 0;
		v = wh_json_get(r->value, path);
	} else {
		v = wh_json_parse(r->value);
		for (uint32_t i = 0; i < r->header_count; i++) v = step(v, r->headers[i].value);
	}
	int n = 0;
	switch (v.kind) {
	case WH_JSON_BOOL: {
		int b = 0;
		if (!wh_json_bool(v, &b)) return "wh_json_bool refused a bool";
		n = snprintf(out, sizeof out, "2:%s", b ? "true" : "false");
		break;
	}
	case WH_JSON_NUMBER: {
		double d;
		if (!wh_json_number(v, &d)) return "wh_json_number refused a number";
		n = snprintf(out, sizeof out, "3:%.17g", d);
		break;
	}
	case WH_JSON_STRING: {
		int32_t len = wh_json_string(v, text, sizeof text);
		if (len < 0 || len >= (int32_t)sizeof text) return "wh_json_string failed";
		if (!wh_json_eqn(v, text, (size_t)len)) return "wh_json_eqn disagrees with wh_json_string";
		if (len > 0 && wh_json_eqn(v, text, (size_t)len - 1)) return "wh_json_eqn matched a prefix";
		n = 2 + len;
		out[0] = '4', out[1] = ':';
		memcpy(out + 2, text, (size_t)len);
		break;
	}
	case WH_JSON_ARRAY: {
		wh_json_iter it = wh_json_iter_array(v);
		wh_json e;
		int count = 0;
		while (wh_json_next(&it, &e)) count++;
		n = snprintf(out, sizeof out, "6:%d", count);
		break;
	}
	default:
		n = snprintf(out, sizeof out, "%d:", (int)v.kind);
	}
	wh_produce("out", WH_NULL, wh_mem(out, (size_t)n), NULL, 0);
	return NULL;
}

WASMHOST_ON_RECORD(handle)
