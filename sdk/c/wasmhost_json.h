/*
 * wasmhost_json.h - read fields of JSON values without decoding them, for
 * wasmhost plugins in C. Header only, no allocation (but for numbers longer
 * than 255 characters), no global state; include it after wasmhost.h.
 *
 *     wh_json n = wh_json_get(r->value, "favorite_number");
 *     double f;
 *     if (wh_json_number(n, &f) && f > 500) ...
 *     if (wh_json_eq(wh_json_get(r->value, "user.country"), "NO")) ...
 *     wh_json_iter it = wh_json_iter_array(wh_json_get(r->value, "items"));
 *     wh_json e;
 *     while (wh_json_next(&it, &e)) ...
 *
 * A wh_json points into the document and is valid as long as it is. On a
 * well-formed document the results are what Go's encoding/json decodes
 * (tests hold the two together): keys and strings compare after escapes are
 * resolved, a key given twice means its last value, invalid UTF-8 and
 * unpaired surrogates read as U+FFFD. The reader checks the structure it
 * walks through and the value it returns, not the insides of objects and
 * arrays it skips; on a malformed document it finds a value or
 * WH_JSON_MISSING, and never reads out of bounds.
 */
#ifndef WASMHOST_JSON_H
#define WASMHOST_JSON_H

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "wasmhost.h"

typedef enum {
	WH_JSON_MISSING = 0, /* nothing at the path, or malformed there */
	WH_JSON_NULL,
	WH_JSON_BOOL,
	WH_JSON_NUMBER,
	WH_JSON_STRING,
	WH_JSON_OBJECT,
	WH_JSON_ARRAY
} wh_json_kind;

/* A JSON value: its text in the document and its kind. */
typedef struct {
	const uint8_t *ptr;
	int32_t len;
	wh_json_kind kind;
} wh_json;

/* An iterator over an array's elements. */
typedef struct {
	const uint8_t *p, *end;
	int started, done;
} wh_json_iter;

static inline int wh__json_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static inline const uint8_t *wh__json_skip_space(const uint8_t *p, const uint8_t *end) {
	while (p < end && wh__json_space(*p)) p++;
	return p;
}

static inline int32_t wh__json_hex4(const uint8_t *p, const uint8_t *end) {
	int32_t r = 0;
	if (end - p < 4) return -1;
	for (int i = 0; i < 4; i++) {
		uint8_t c = p[i];
		if (c >= '0' && c <= '9') c -= '0';
		else if (c >= 'a' && c <= 'f') c = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') c = c - 'A' + 10;
		else return -1;
		r = r << 4 | c;
	}
	return r;
}

/* The end of the string starting at p (a quote), past the closing quote, or
 * NULL when it is malformed. */
static inline const uint8_t *wh__json_string_end(const uint8_t *p, const uint8_t *end) {
	for (p++; p < end; p++) {
		uint8_t c = *p;
		if (c == '"') return p + 1;
		if (c < 0x20) return NULL;
		if (c == '\\') {
			if (++p >= end) return NULL;
			switch (*p) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
			case 'u':
				if (wh__json_hex4(p + 1, end) < 0) return NULL;
				p += 4;
				break;
			default: return NULL;
			}
		}
	}
	return NULL;
}

static inline const uint8_t *wh__json_digits(const uint8_t *p, const uint8_t *end) {
	while (p < end && *p >= '0' && *p <= '9') p++;
	return p;
}

static inline const uint8_t *wh__json_number_end(const uint8_t *p, const uint8_t *end) {
	const uint8_t *q;
	if (p < end && *p == '-') p++;
	if (p < end && *p == '0') p++;
	else if (p < end && *p >= '1' && *p <= '9') p = wh__json_digits(p, end);
	else return NULL;
	if (p < end && *p == '.') {
		q = wh__json_digits(p + 1, end);
		if (q == p + 1) return NULL;
		p = q;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-')) p++;
		q = wh__json_digits(p, end);
		if (q == p) return NULL;
		p = q;
	}
	return p;
}

/* Scans the value at p; returns it (WH_JSON_MISSING when there is none). */
static inline wh_json wh__json_value(const uint8_t *p, const uint8_t *end) {
	wh_json v = {p, 0, WH_JSON_MISSING};
	const uint8_t *q = NULL;
	if (p >= end) return v;
	switch (*p) {
	case '"':
		q = wh__json_string_end(p, end);
		v.kind = WH_JSON_STRING;
		break;
	case '{':
	case '[': {
		int depth = 0;
		for (q = p; q < end; q++) {
			if (*q == '"') {
				q = wh__json_string_end(q, end);
				if (q == NULL) break;
				q--;
			} else if (*q == '{' || *q == '[') {
				depth++;
			} else if (*q == '}' || *q == ']') {
				if (--depth == 0) break;
			}
		}
		q = (q != NULL && q < end) ? q + 1 : NULL;
		v.kind = *p == '{' ? WH_JSON_OBJECT : WH_JSON_ARRAY;
		break;
	}
	case 't':
		if (end - p >= 4 && memcmp(p, "true", 4) == 0) q = p + 4;
		v.kind = WH_JSON_BOOL;
		break;
	case 'f':
		if (end - p >= 5 && memcmp(p, "false", 5) == 0) q = p + 5;
		v.kind = WH_JSON_BOOL;
		break;
	case 'n':
		if (end - p >= 4 && memcmp(p, "null", 4) == 0) q = p + 4;
		v.kind = WH_JSON_NULL;
		break;
	default:
		q = wh__json_number_end(p, end);
		v.kind = WH_JSON_NUMBER;
	}
	if (q == NULL) return (wh_json){p, 0, WH_JSON_MISSING};
	v.len = (int32_t)(q - p);
	return v;
}

/* Decodes one character of a string's contents at *pp (escapes checked),
 * as encoding/json does, into out; returns its UTF-8 length. */
static inline int wh__json_char(const uint8_t **pp, const uint8_t *end, uint8_t out[4]) {
	const uint8_t *p = *pp;
	uint32_t r;
	uint8_t c = p[0];
	if (c != '\\') {
		int n = 0;
		uint8_t lo = 0x80, hi = 0xBF;
		if (c < 0x80) { out[0] = c; *pp = p + 1; return 1; }
		if (c >= 0xC2 && c <= 0xDF) n = 2;
		else if (c >= 0xE0 && c <= 0xEF) { n = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
		else if (c >= 0xF0 && c <= 0xF4) { n = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
		if (n == 0 || end - p < n || p[1] < lo || p[1] > hi) goto bad;
		for (int i = 2; i < n; i++) if (p[i] < 0x80 || p[i] > 0xBF) goto bad;
		memcpy(out, p, (size_t)n);
		*pp = p + n;
		return n;
	bad:
		*pp = p + 1;
		out[0] = 0xEF, out[1] = 0xBF, out[2] = 0xBD;
		return 3;
	}
	switch (p[1]) {
	case 'b': r = '\b'; break;
	case 'f': r = '\f'; break;
	case 'n': r = '\n'; break;
	case 'r': r = '\r'; break;
	case 't': r = '\t'; break;
	case 'u': {
		r = (uint32_t)wh__json_hex4(p + 2, end);
		*pp = p + 6;
		if (r >= 0xD800 && r <= 0xDFFF) {
			int32_t r2;
			if (r < 0xDC00 && end - p >= 12 && p[6] == '\\' && p[7] == 'u' &&
			    (r2 = wh__json_hex4(p + 8, end)) >= 0xDC00 && r2 <= 0xDFFF) {
				r = 0x10000 + ((r - 0xD800) << 10) + ((uint32_t)r2 - 0xDC00);
				*pp = p + 12;
			} else {
				r = 0xFFFD;
			}
		}
		goto encode;
	}
	default: r = p[1]; /* " \ / */
	}
	*pp = p + 2;
encode:
	if (r < 0x80) { out[0] = (uint8_t)r; return 1; }
	if (r < 0x800) { out[0] = (uint8_t)(0xC0 | r >> 6); out[1] = (uint8_t)(0x80 | (r & 0x3F)); return 2; }
	if (r < 0x10000) {
		out[0] = (uint8_t)(0xE0 | r >> 12), out[1] = (uint8_t)(0x80 | ((r >> 6) & 0x3F)), out[2] = (uint8_t)(0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | r >> 18), out[1] = (uint8_t)(0x80 | ((r >> 12) & 0x3F));
	out[2] = (uint8_t)(0x80 | ((r >> 6) & 0x3F)), out[3] = (uint8_t)(0x80 | (r & 0x3F));
	return 4;
}

/* Whether the string contents [p, end) decode to the n bytes at s. */
static inline int wh__json_str_eq(const uint8_t *p, const uint8_t *end, const uint8_t *s, size_t n) {
	size_t j = 0;
	while (p < end) {
		if (*p < 0x80 && *p != '\\') {
			if (j >= n || s[j] != *p) return 0;
			p++, j++;
			continue;
		}
		uint8_t buf[4];
		int m = wh__json_char(&p, end, buf);
		if (n - j < (size_t)m || memcmp(s + j, buf, (size_t)m) != 0) return 0;
		j += (size_t)m;
	}
	return j == n;
}

/* The document's top-level value (space around it allowed, nothing else). */
static inline wh_json wh_json_parse(wh_bytes doc) {
	if (doc.len <= 0) return (wh_json){NULL, 0, WH_JSON_MISSING};
	const uint8_t *end = doc.ptr + doc.len;
	wh_json v = wh__json_value(wh__json_skip_space(doc.ptr, end), end);
	if (v.kind != WH_JSON_MISSING && wh__json_skip_space(v.ptr + v.len, end) != end) v.kind = WH_JSON_MISSING;
	return v;
}

/* The member of object v named by the n bytes at key (the last one when
 * the key is there twice); WH_JSON_MISSING when there is none. */
static inline wh_json wh_json_keyn(wh_json v, const char *key, size_t n) {
	wh_json found = {NULL, 0, WH_JSON_MISSING};
	if (v.kind != WH_JSON_OBJECT) return found;
	const uint8_t *end = v.ptr + v.len, *p = wh__json_skip_space(v.ptr + 1, end);
	if (p < end && *p == '}') return found;
	while (p < end && *p == '"') {
		const uint8_t *kend = wh__json_string_end(p, end);
		if (kend == NULL) break;
		int match = wh__json_str_eq(p + 1, kend - 1, (const uint8_t *)key, n);
		p = wh__json_skip_space(kend, end);
		if (p >= end || *p != ':') break;
		p = wh__json_skip_space(p + 1, end);
		wh_json m = wh__json_value(p, end);
		if (m.kind == WH_JSON_MISSING) break;
		if (match) found = m;
		p = wh__json_skip_space(p + m.len, end);
		if (p < end && *p == '}') return found;
		if (p >= end || *p != ',') break;
		p = wh__json_skip_space(p + 1, end);
	}
	return (wh_json){NULL, 0, WH_JSON_MISSING};
}

/* The member of object v named key (NUL-terminated). */
static inline wh_json wh_json_key(wh_json v, const char *key) { return wh_json_keyn(v, key, strlen(key)); }

/* An iterator over array v's elements (none unless v is an array). */
static inline wh_json_iter wh_json_iter_array(wh_json v) {
	wh_json_iter it = {v.ptr, v.ptr + v.len, 0, v.kind != WH_JSON_ARRAY};
	return it;
}

/* Moves to the next element, stored in *elem; returns 0 at the end (or at a
 * malformed element). */
static inline int wh_json_next(wh_json_iter *it, wh_json *elem) {
	if (it->done) return 0;
	const uint8_t *p = wh__json_skip_space(it->p + 1, it->end); /* past [ or , */
	if (!it->started && p < it->end && *p == ']') return it->done = 1, 0;
	it->started = 1;
	wh_json e = wh__json_value(p, it->end);
	if (e.kind == WH_JSON_MISSING) return it->done = 1, 0;
	p = wh__json_skip_space(p + e.len, it->end);
	if (p >= it->end || (*p != ',' && *p != ']')) return it->done = 1, 0;
	it->done = *p == ']';
	it->p = p;
	*elem = e;
	return 1;
}

/* Element i of array v. */
static inline wh_json wh_json_index(wh_json v, uint32_t i) {
	wh_json_iter it = wh_json_iter_array(v);
	wh_json e;
	while (wh_json_next(&it, &e)) {
		if (i-- == 0) return e;
	}
	return (wh_json){NULL, 0, WH_JSON_MISSING};
}

/* The value at a dotted path in doc: "user.address.city", "items.0.id"
 * (a number indexes an array). A key that holds a dot needs wh_json_key. */
static inline wh_json wh_json_get(wh_bytes doc, const char *path) {
	wh_json v = wh_json_parse(doc);
	while (*path && v.kind != WH_JSON_MISSING) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (v.kind == WH_JSON_ARRAY) {
			uint32_t i = 0;
			size_t k;
			for (k = 0; k < n && k < 10 && path[k] >= '0' && path[k] <= '9'; k++) i = i * 10 + (uint32_t)(path[k] - '0');
			if (k == 0 || k != n || (n > 1 && path[0] == '0')) return (wh_json){NULL, 0, WH_JSON_MISSING};
			v = wh_json_index(v, i);
		} else {
			v = wh_json_keyn(v, path, n);
		}
		path += n + (dot != NULL);
	}
	return v;
}

/* A boolean's value in *out; returns 0 for any other kind. */
static inline int wh_json_bool(wh_json v, int *out) {
	if (v.kind != WH_JSON_BOOL) return 0;
	*out = v.ptr[0] == 't';
	return 1;
}

/* A number as the nearest double, in *out; returns 0 for another kind or a
 * number out of double's range (as encoding/json refuses it). */
static inline int wh_json_number(wh_json v, double *out) {
	char small[256], *buf = small;
	if (v.kind != WH_JSON_NUMBER) return 0;
	if ((size_t)v.len >= sizeof small && (buf = (char *)malloc((size_t)v.len + 1)) == NULL) return 0;
	memcpy(buf, v.ptr, (size_t)v.len);
	buf[v.len] = 0;
	errno = 0;
	double d = strtod(buf, NULL);
	int ok = !(errno == ERANGE && isinf(d));
	if (buf != small) free(buf);
	if (ok) *out = d;
	return ok;
}

/* A number written as an integer (no fraction or exponent) that fits in an
 * int64_t, in *out; returns 0 otherwise. */
static inline int wh_json_int(wh_json v, int64_t *out) {
	if (v.kind != WH_JSON_NUMBER) return 0;
	const uint8_t *p = v.ptr, *end = v.ptr + v.len;
	int neg = *p == '-';
	uint64_t n = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (p += neg; p < end; p++) {
		if (*p < '0' || *p > '9') return 0;
		if (n > (limit - (uint64_t)(*p - '0')) / 10) return 0;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (int64_t)(0 - n) : (int64_t)n;
	return 1;
}

/* Decodes a string into buf (at most cap-1 bytes, then a NUL when cap > 0)
 * and returns its full decoded length, which may exceed cap-1 (the text was
 * cut: call again with a larger buffer); -1 when v is not a string. */
static inline int32_t wh_json_string(wh_json v, char *buf, size_t cap) {
	if (v.kind != WH_JSON_STRING) return -1;
	const uint8_t *p = v.ptr + 1, *end = v.ptr + v.len - 1;
	size_t n = 0;
	while (p < end) {
		uint8_t ch[4];
		int m = wh__json_char(&p, end, ch);
		for (int i = 0; i < m; i++, n++) {
			if (n + 1 < cap) buf[n] = (char)ch[i];
		}
	}
	if (cap > 0) buf[n < cap ? n : cap - 1] = 0;
	return (int32_t)n;
}

/* Whether v is a string that decodes to the n bytes at s. */
static inline int wh_json_eqn(wh_json v, const char *s, size_t n) {
	return v.kind == WH_JSON_STRING && wh__json_str_eq(v.ptr + 1, v.ptr + v.len - 1, (const uint8_t *)s, n);
}

/* Whether v is a string that decodes to the NUL-terminated s. */
static inline int wh_json_eq(wh_json v, const char *s) { return wh_json_eqn(v, s, strlen(s)); }

/* The value's JSON text as a byte string (to produce it, or compare it). */
static inline wh_bytes wh_json_raw(wh_json v) {
	return v.kind == WH_JSON_MISSING ? WH_NULL : (wh_bytes){v.ptr, v.len};
}

#endif /* WASMHOST_JSON_H */
