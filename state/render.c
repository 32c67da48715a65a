/*
 * State document text; see render.h. The format is jansson's
 * JSON_INDENT(1) | JSON_SORT_KEYS (tests compare the two byte for byte):
 * strings escape '"', '\\' and control characters (\b \f \n \r \t, else
 * \u00XX) and keep other UTF-8 as is; reals are left to jansson.
 */
#include "state/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_MAX_DEPTH 512

struct kv {
	const char *key;
	size_t klen;
	json_t *val;
};

struct render {
	struct lf_buf *out;
	struct kv *stack; /* sorted keys of the objects being written */
	size_t top, cap;
};

/* room for n more bytes and a NUL (the lf_buf contract) */
static void reserve(struct lf_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap != b->cap) {
		b->data = lf_xrealloc(b->data, cap);
		b->cap = cap;
	}
}

/* the hot path: appends without leaving this file */
static inline void put(struct render *r, const char *s, size_t n)
{
	struct lf_buf *b = r->out;

	if (b->len + n + 1 > b->cap)
		reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

static void put_indent(struct render *r, size_t depth)
{
	static const char spaces[] = "\n                                ";
	size_t chunk = sizeof(spaces) - 2;

	put(r, spaces, 1);
	while (depth > 0) {
		size_t n = depth < chunk ? depth : chunk;

		put(r, spaces + 1, n);
		depth -= n;
	}
}

static void put_escape(struct render *r, unsigned char c)
{
	char seq[8];

	switch (c) {
	case '"': put(r, "\\\"", 2); return;
	case '\\': put(r, "\\\\", 2); return;
	case '\b': put(r, "\\b", 2); return;
	case '\f': put(r, "\\f", 2); return;
	case '\n': put(r, "\\n", 2); return;
	case '\r': put(r, "\\r", 2); return;
	case '\t': put(r, "\\t", 2); return;
	default:
		snprintf(seq, sizeof(seq), "\\u%04X", c);
		put(r, seq, 6);
	}
}

static void put_string(struct render *r, const char *s, size_t n)
{
	size_t i, run = 0;

	put(r, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(r, s + run, i - run);
		put_escape(r, c);
		run = i + 1;
	}
	put(r, s + run, n - run);
	put(r, "\"", 1);
}

static int cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* by key; insertion sort for the many small objects, qsort for big ones */
static void sort_kv(struct kv *a, size_t n)
{
	size_t i, j;

	if (n > 16) {
		qsort(a, n, sizeof(*a), cmp_kv);
		return;
	}
	for (i = 1; i < n; i++) {
		struct kv x = a[i];

		for (j = i; j > 0 && strcmp(a[j - 1].key, x.key) > 0; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* push the members of obj on the stack, sorted by key */
static void push_sorted(struct render *r, json_t *obj, size_t n)
{
	const char *k;
	size_t klen, i = r->top;
	json_t *v;

	if (r->top + n > r->cap) {
		r->cap = (r->top + n) * 2;
		r->stack = lf_xrealloc(r->stack, r->cap * sizeof(*r->stack));
	}
	json_object_keylen_foreach(obj, k, klen, v) {
		r->stack[i].key = k;
		r->stack[i].klen = klen;
		r->stack[i].val = v;
		i++;
	}
	sort_kv(r->stack + r->top, n);
	r->top += n;
}

static int put_value(struct render *r, const json_t *v, size_t depth);

static int put_object(struct render *r, json_t *obj, size_t depth)
{
	size_t n = json_object_size(obj), base = r->top, i;
	int rc = 0;

	if (n == 0) {
		put(r, "{}", 2);
		return 0;
	}
	push_sorted(r, obj, n);
	put(r, "{", 1);
	for (i = 0; i < n && rc == 0; i++) {
		/* index, not pointer: nested objects may move the stack */
		struct kv e = r->stack[base + i];

		if (i > 0)
			put(r, ",", 1);
		put_indent(r, depth + 1);
		put_string(r, e.key, e.klen);
		put(r, ": ", 2);
		rc = put_value(r, e.val, depth + 1);
	}
	r->top = base;
	put_indent(r, depth);
	put(r, "}", 1);
	return rc;
}

static int put_array(struct render *r, json_t *arr, size_t depth)
{
	size_t n = json_array_size(arr), i;
	int rc = 0;

	if (n == 0) {
		put(r, "[]", 2);
		return 0;
	}
	put(r, "[", 1);
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0)
			put(r, ",", 1);
		put_indent(r, depth + 1);
		rc = put_value(r, json_array_get(arr, i), depth + 1);
	}
	put_indent(r, depth);
	put(r, "]", 1);
	return rc;
}

/* reals are rare in state: let jansson format them exactly as it does */
static int put_real(struct render *r, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY);

	if (!s)
		return LF_ERROR;
	put(r, s, strlen(s));
	free(s);
	return 0;
}

static int put_value(struct render *r, const json_t *v, size_t depth)
{
	char num[32];
	int n;

	if (depth > RENDER_MAX_DEPTH)
		return LF_ERROR;
	switch (json_typeof(v)) {
	case JSON_OBJECT: return put_object(r, (json_t *)v, depth);
	case JSON_ARRAY: return put_array(r, (json_t *)v, depth);
	case JSON_STRING:
		put_string(r, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(r, num, (size_t)n);
		return 0;
	case JSON_REAL: return put_real(r, v);
	case JSON_TRUE: put(r, "true", 4); return 0;
	case JSON_FALSE: put(r, "false", 5); return 0;
	case JSON_NULL: put(r, "null", 4); return 0;
	}
	return LF_ERROR;
}

int lf_state__render(struct lf_buf *out, const json_t *v)
{
	struct render r = { out, NULL, 0, 0 };
	int rc = v ? put_value(&r, v, 0) : LF_ERROR;

	reserve(out, 0);
	out->data[out->len] = '\0';
	free(r.stack);
	return rc;
}
