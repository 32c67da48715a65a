/*
 * Canonical JSON text, hashed as it is written (see canon.h). The text is
 * jansson 2.14's compact, key-sorted dump: keys ordered by bytes (then
 * length), strings escaped only for '"', '\\' and control characters
 * (\b \f \n \r \t short, others \u00XX in upper case), UTF-8 left as is,
 * integers in decimal. Reals, and values nested deeper than any
 * attribute (where jansson's loop check matters), are dumped by jansson
 * itself into the same stream. Strings are assumed valid UTF-8, as
 * jansson's checked constructors and parser make them.
 */
#include "core/util/canon.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/util/util.h"

#define CANON_DEEP 64 /* deeper than this: jansson dumps (loop checked) */

struct lf_hasher {
	EVP_MD_CTX *ctx;           /* NULL: collect the text instead */
	unsigned char buf[8192];
	size_t len;
	bool failed;
	char *text;                /* text mode */
	size_t tlen, tcap;
};

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

const EVP_MD *lf_sha256_md(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_md ? sha256_md : EVP_sha256();
}

struct lf_hasher *lf_hasher_new(void)
{
	struct lf_hasher *h = lf_xcalloc(1, sizeof(*h));

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx)
		abort(); /* out of memory, as lf_xmalloc */
	return h;
}

void lf_hasher_free(struct lf_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h->text);
	free(h);
}

static void flush(struct lf_hasher *h)
{
	if (h->len == 0)
		return;
	if (h->ctx) {
		EVP_DigestUpdate(h->ctx, h->buf, h->len);
	} else {
		if (h->tlen + h->len + 1 > h->tcap) {
			h->tcap = (h->tlen + h->len + 1) * 2;
			h->text = lf_xrealloc(h->text, h->tcap);
		}
		memcpy(h->text + h->tlen, h->buf, h->len);
		h->tlen += h->len;
	}
	h->len = 0;
}

static void put(struct lf_hasher *h, const char *s, size_t n)
{
	while (n > 0) {
		size_t room = sizeof(h->buf) - h->len, k = n < room ? n : room;

		memcpy(h->buf + h->len, s, k);
		h->len += k;
		s += k;
		n -= k;
		if (h->len == sizeof(h->buf))
			flush(h);
	}
}

static void put_c(struct lf_hasher *h, char c)
{
	if (h->len == sizeof(h->buf))
		flush(h);
	h->buf[h->len++] = (unsigned char)c;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* whether one of the 8 bytes in w must be escaped: below 0x20, '"' or
 * '\\' (bytes of 0x80 and up, UTF-8, are never flagged) */
static bool word_special(uint64_t w)
{
	uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');

	return (((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

static bool byte_special(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/* the end of the run of bytes from i that need no escape: eight at a
 * time, then one by one */
static size_t plain_run(const char *s, size_t i, size_t n)
{
	uint64_t w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		if (word_special(w))
			break;
	}
	while (i < n && !byte_special((unsigned char)s[i]))
		i++;
	return i;
}

static void put_escape(struct lf_hasher *h, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[6] = { '\\', 0, '0', '0', 0, 0 };

	switch (c) {
	case '"': esc[1] = '"'; break;
	case '\\': esc[1] = '\\'; break;
	case '\b': esc[1] = 'b'; break;
	case '\f': esc[1] = 'f'; break;
	case '\n': esc[1] = 'n'; break;
	case '\r': esc[1] = 'r'; break;
	case '\t': esc[1] = 't'; break;
	default:
		esc[1] = 'u';
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 15];
		put(h, esc, 6);
		return;
	}
	put(h, esc, 2);
}

static void put_string(struct lf_hasher *h, const char *s, size_t n)
{
	size_t i = 0, j;

	put_c(h, '"');
	for (;;) {
		j = plain_run(s, i, n);
		put(h, s + i, j - i);
		if (j == n)
			break;
		put_escape(h, (unsigned char)s[j]);
		i = j + 1;
	}
	put_c(h, '"');
}

static void put_integer(struct lf_hasher *h, json_int_t v)
{
	char d[24];
	size_t i = sizeof(d);
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--i] = '-';
	put(h, d + i, sizeof(d) - i);
}

static int put_cb(const char *buf, size_t n, void *arg)
{
	put(arg, buf, n);
	return 0;
}

/* jansson writes this one value into the stream */
static void put_by_jansson(struct lf_hasher *h, const json_t *v)
{
	if (json_dump_callback(v, put_cb, h,
			       JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS) != 0)
		h->failed = true;
}

static void put_value(struct lf_hasher *h, const json_t *v, unsigned depth);

struct ckey {
	const char *k;
	size_t n;
	const json_t *v;
};

static int ckey_cmp(const void *a, const void *b)
{
	const struct ckey *x = a, *y = b;
	int r = memcmp(x->k, y->k, x->n < y->n ? x->n : y->n);

	return r ? r : (x->n > y->n) - (x->n < y->n);
}

/* attrs have a dozen keys, often in order already: insertion sort */
static void ckey_sort(struct ckey *k, size_t n)
{
	size_t i, j;

	if (n > 32) {
		qsort(k, n, sizeof(*k), ckey_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		struct ckey t = k[i];

		for (j = i; j > 0 && ckey_cmp(&k[j - 1], &t) > 0; j--)
			k[j] = k[j - 1];
		k[j] = t;
	}
}

static void put_object(struct lf_hasher *h, const json_t *o, unsigned depth)
{
	struct ckey small[32], *keys = small;
	size_t n = json_object_size(o), i = 0;
	void *it;

	if (n > LF_ARRAY_LEN(small))
		keys = lf_xmalloc(n * sizeof(*keys));
	for (it = json_object_iter((json_t *)o); it && i < n;
	     it = json_object_iter_next((json_t *)o, it), i++) {
		keys[i].k = json_object_iter_key(it);
		keys[i].n = json_object_iter_key_len(it);
		keys[i].v = json_object_iter_value(it);
	}
	ckey_sort(keys, i);
	put_c(h, '{');
	for (n = 0; n < i; n++) {
		if (n)
			put_c(h, ',');
		put_string(h, keys[n].k, keys[n].n);
		put_c(h, ':');
		put_value(h, keys[n].v, depth + 1);
	}
	put_c(h, '}');
	if (keys != small)
		free(keys);
}

static void put_value(struct lf_hasher *h, const json_t *v, unsigned depth)
{
	size_t i;

	if (depth > CANON_DEEP) {
		put_by_jansson(h, v);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		put_object(h, v, depth);
		break;
	case JSON_ARRAY:
		put_c(h, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				put_c(h, ',');
			put_value(h, json_array_get(v, i), depth + 1);
		}
		put_c(h, ']');
		break;
	case JSON_STRING:
		put_string(h, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_integer(h, json_integer_value(v));
		break;
	case JSON_TRUE: put(h, "true", 4); break;
	case JSON_FALSE: put(h, "false", 5); break;
	case JSON_NULL: put(h, "null", 4); break;
	default: /* reals: jansson's own formatting */
		put_by_jansson(h, v);
		break;
	}
}

/* json_dumps without JSON_ENCODE_ANY refuses what is not an object or
 * an array (and NULL) */
static void put_top(struct lf_hasher *h, const json_t *v)
{
	h->len = 0;
	h->failed = !v || (!json_is_object(v) && !json_is_array(v));
	if (!h->failed)
		put_value(h, v, 0);
}

void lf_json_canon_sha256_hex(struct lf_hasher *h, const json_t *v, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_DigestInit_ex2(h->ctx, lf_sha256_md(), NULL) != 1)
		abort();
	put_top(h, v);
	if (h->failed) { /* the empty text, as before */
		h->len = 0;
		EVP_DigestInit_ex2(h->ctx, lf_sha256_md(), NULL);
	}
	flush(h);
	EVP_DigestFinal_ex(h->ctx, md, &mdlen);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

char *lf_json_canon_text(const json_t *v)
{
	struct lf_hasher h;
	char *s;

	memset(&h, 0, sizeof(h));
	put_top(&h, v);
	flush(&h);
	s = h.failed ? lf_xstrdup("") : lf_xstrndup(h.text ? h.text : "", h.tlen);
	free(h.text);
	return s;
}
