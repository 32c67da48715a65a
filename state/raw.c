/*
 * The raw read path: a plan against a large state needs the records'
 * addresses, hashes and dependencies, and the attributes only of the
 * records that differ from the spec. One pass of yajl's event parser over
 * the document's bytes indexes the records (their text spans, hash, deps,
 * partial flag) and checks the document's shape; no JSON tree is built.
 * The planner parses a record's text with jansson only when it needs it.
 *
 * The scan accepts only plain documents: any escape sequence \uXXXX,
 * non-ASCII byte, control character other than tab, CR and LF, duplicate key (by a 64-bit key hash), unknown record key,
 * nesting past 2000 or shape problem makes it decline, and the caller
 * reads the document the ordinary way, so exactly the documents jansson
 * accepts are accepted and every refusal keeps its precise message.
 */
#include "state/state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "core/util/util.h"

#define RAW_MAX_DEPTH 2000
#define RAW_MAX_KEYS 512   /* keys of one nested object checked for dups */
#define UUID_LEN 36

enum { K_FV = 1, K_LIN = 2, K_SER = 4, K_VER = 8, K_RES = 16 };
enum { R_TYPE = 1, R_ATTRS = 2, R_OUT = 4, R_HASH = 8, R_DEPS = 16, R_PART = 32,
       R_TAINT = 64 };

/* keys seen in one open object below a record: hashes, for duplicates */
struct frame {
	uint64_t *keys;
	size_t n, cap;
};

struct scan {
	yajl_handle h;
	struct lf_state_raw *raw;
	struct lf_buf strings;
	size_t depth;
	unsigned top_seen, rec_seen;
	int top_key, rec_key;     /* the key whose value comes next */
	size_t recs_cap;
	struct lf_state_rec *rec; /* the record being read */
	struct frame *frames;     /* one per depth */
	size_t nframes;
	bool bad;
	size_t end;               /* just past the top-level object */
	char lineage[UUID_LEN + 1];
	uint64_t serial;
};

static uint64_t key_hash(const unsigned char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h ^ n;
}

static size_t str_add(struct scan *s, const unsigned char *p, size_t n)
{
	size_t off = s->strings.len;

	lf_buf_append(&s->strings, p, n);
	lf_buf_append(&s->strings, "", 1);
	return off;
}

static int decline(struct scan *s)
{
	s->bad = true;
	return 0; /* stops the parse */
}

/* a scalar or container starts where a value is expected: check the
 * envelope and record fields it belongs to; 0 declines */
static int value_at(struct scan *s, int kind)
{
	if (s->depth == 1)
		return (s->top_key == K_RES) == (kind == 'm') ? 1 : decline(s);
	if (s->depth == 4 && s->rec_key == R_DEPS)
		return kind == 's' ? 1 : decline(s); /* deps: strings only */
	if (s->depth == 2)
		return kind == 'm' ? 1 : decline(s); /* a record */
	if (s->depth == 3) {
		switch (s->rec_key) {
		case R_ATTRS: return kind == 'm' ? 1 : decline(s);
		case R_OUT: s->rec->has_outputs = true; return kind == 'm' ? 1 : decline(s);
		case R_DEPS: return kind == 'a' ? 1 : decline(s);
		case R_TYPE: case R_HASH: return kind == 's' ? 1 : decline(s);
		default: return 1; /* partial, tainted: any value */
		}
	}
	return 1;
}

static int on_null(void *ctx)
{
	struct scan *s = ctx;

	return s->depth <= 1 ? decline(s) : value_at(s, 'n');
}

static int on_bool(void *ctx, int b)
{
	struct scan *s = ctx;

	if (s->depth <= 1)
		return decline(s);
	if (s->depth == 3 && s->rec_key == R_PART)
		s->rec->partial = b != 0;
	if (s->depth == 3 && s->rec_key == R_TAINT)
		s->rec->tainted = b != 0;
	return value_at(s, 'b');
}

static int on_int(void *ctx, long long v)
{
	struct scan *s = ctx;

	if (s->depth == 1 && s->top_key == K_FV)
		return v >= 1 && v <= LF_STATE_FORMAT_VERSION ? 1 : decline(s);
	if (s->depth == 1 && s->top_key == K_SER) {
		s->serial = (uint64_t)v;
		return v >= 0 ? 1 : decline(s);
	}
	return s->depth <= 1 ? decline(s) : value_at(s, 'i');
}

static int on_double(void *ctx, double v)
{
	struct scan *s = ctx;

	(void)v;
	return s->depth <= 1 ? decline(s) : value_at(s, 'd');
}

static int on_string(void *ctx, const unsigned char *p, size_t n)
{
	struct scan *s = ctx;

	if (s->depth == 1 && s->top_key == K_LIN) {
		if (n != UUID_LEN)
			return decline(s);
		memcpy(s->lineage, p, n);
		s->lineage[n] = '\0';
		return 1;
	}
	if (s->depth == 1)
		return s->top_key == K_VER ? 1 : decline(s);
	if (s->depth == 3 && s->rec_key == R_TYPE && n == 0)
		return decline(s);
	if (s->depth == 3 && s->rec_key == R_HASH && n == 64) {
		memcpy(s->rec->hash, p, 64);
		s->rec->hash[64] = '\0';
	}
	if (s->depth == 4 && s->rec_key == R_DEPS) {
		if (s->rec->ndeps++ == 0)
			s->rec->deps = s->strings.len;
		str_add(s, p, n);
		return 1;
	}
	return value_at(s, 's');
}

static const char *const TOP[] = { "format_version", "lineage", "serial",
				   "ledgerform_version", "resources" };
static const char *const REC[] = { "type", "attrs", "outputs", "hash", "deps",
				   "partial", "tainted" };

/* the bit of key among names (1 << index), 0 when not one of them */
static int key_bit(const char *const *names, size_t nn, const unsigned char *p,
		   size_t n)
{
	size_t i;

	for (i = 0; i < nn; i++)
		if (strlen(names[i]) == n && memcmp(names[i], p, n) == 0)
			return 1 << i;
	return 0;
}

/* a key of a nested object: decline a duplicate */
static int frame_key(struct scan *s, const unsigned char *p, size_t n)
{
	struct frame *f = &s->frames[s->depth - 1];
	uint64_t h = key_hash(p, n);
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->keys[i] == h)
			return decline(s);
	if (f->n == RAW_MAX_KEYS)
		return decline(s);
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->keys = lf_xrealloc(f->keys, f->cap * sizeof(*f->keys));
	}
	f->keys[f->n++] = h;
	return 1;
}

/* a key of the envelope or a record: one of names, each once */
static int known_key(struct scan *s, const char *const *names, size_t nn,
		     unsigned *seen, int *key, const unsigned char *p, size_t n)
{
	int bit = key_bit(names, nn, p, n);

	if (!bit || (*seen & (unsigned)bit))
		return decline(s);
	*seen |= (unsigned)bit;
	*key = bit;
	return 1;
}

static int on_key(void *ctx, const unsigned char *p, size_t n)
{
	struct scan *s = ctx;

	if (s->depth == 1)
		return known_key(s, TOP, LF_ARRAY_LEN(TOP), &s->top_seen, &s->top_key, p, n);
	if (s->depth == 2) {
		struct lf_state_rec *r;

		if (n == 0 || memchr(p, '\0', n))
			return decline(s);
		if (s->raw->n == s->recs_cap) {
			s->recs_cap = s->recs_cap ? s->recs_cap * 2 : 1024;
			s->raw->v = lf_xrealloc(s->raw->v, s->recs_cap * sizeof(*r));
		}
		r = s->rec = &s->raw->v[s->raw->n++];
		memset(r, 0, sizeof(*r));
		r->addr = str_add(s, p, n);
		return 1;
	}
	if (s->depth == 3)
		return known_key(s, REC, LF_ARRAY_LEN(REC), &s->rec_seen, &s->rec_key, p, n);
	return frame_key(s, p, n);
}

static int open_container(struct scan *s, int kind)
{
	if (s->depth == 0 && kind != 'm')
		return decline(s);
	if (s->depth > 0 && !value_at(s, kind))
		return 0;
	if (s->depth == 2) {
		s->rec_seen = 0;
		s->rec_key = 0;
		s->rec->off = yajl_get_bytes_consumed(s->h) - 1;
	}
	if (s->depth == 3 && s->rec_key == R_OUT)
		s->rec->out_off = yajl_get_bytes_consumed(s->h) - 1;
	if (++s->depth > RAW_MAX_DEPTH)
		return decline(s);
	if (s->depth > s->nframes) {
		s->frames = lf_xrealloc(s->frames, s->depth * sizeof(*s->frames));
		memset(&s->frames[s->nframes], 0, (s->depth - s->nframes) * sizeof(*s->frames));
		s->nframes = s->depth;
	}
	s->frames[s->depth - 1].n = 0;
	return 1;
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, 'm');
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, 'a');
}

static int on_end(void *ctx)
{
	struct scan *s = ctx;

	s->depth--;
	if (s->depth == 0)
		s->end = yajl_get_bytes_consumed(s->h);
	if (s->depth == 3 && s->rec_key == R_OUT) {
		struct lf_state_rec *r = s->rec;

		r->out_len = yajl_get_bytes_consumed(s->h) - r->out_off;
		if (s->raw->text[r->out_off] != '{' ||
		    s->raw->text[r->out_off + r->out_len - 1] != '}')
			return decline(s);
	}
	if (s->depth == 2) {
		struct lf_state_rec *r = s->rec;

		if ((s->rec_seen & (R_TYPE | R_ATTRS)) != (R_TYPE | R_ATTRS))
			return decline(s); /* the ordinary read names the problem */
		r->len = yajl_get_bytes_consumed(s->h) - r->off;
		if (s->raw->text[r->off] != '{' || s->raw->text[r->off + r->len - 1] != '}')
			return decline(s);
	}
	return 1;
}

static const yajl_callbacks callbacks = {
	on_null, on_bool, on_int, on_double, NULL, on_string,
	on_start_map, on_key, on_end, on_start_array, on_end
};

/* bytes the scan never accepts: escapes \uXXXX, non-ASCII (jansson's
 * checks of code points and surrogates are the authority there) and
 * control characters but \t, \n and \r */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define LOWS 0x7f7f7f7f7f7f7f7full

/* 0x80 in each byte of w (all below 0x80) equal to c, exactly */
static uint64_t bytes_eq(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (ONES * c);

	return ~(((x & LOWS) + LOWS) | x | LOWS);
}

/* whether one of 8 bytes is not plain: 0x80 and up, or a control
 * character but \t, \n and \r; per byte, so no borrow crosses bytes */
static bool word_unplain(uint64_t w)
{
	uint64_t ctl;

	if (w & HIGHS)
		return true;
	ctl = ~((w | HIGHS) - ONES * 0x20) & HIGHS;
	return (ctl & ~(bytes_eq(w, '\t') | bytes_eq(w, '\n') | bytes_eq(w, '\r'))) != 0;
}

static bool byte_unplain(unsigned char c)
{
	/* yajl takes \v and \f for white space, jansson does not */
	return c >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r');
}

static bool plain_text(const char *t, size_t len)
{
	const char *p = t, *end = t + len;
	size_t i;
	uint64_t w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, t + i, 8);
		if (word_unplain(w))
			return false;
	}
	for (; i < len; i++)
		if (byte_unplain((unsigned char)t[i]))
			return false;
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (p + 1 < end && p[1] == 'u')
			return false;
		p += 2; /* the escaped character is never the start of one */
		if (p >= end)
			break;
	}
	return true;
}

/* every address once (the records' addresses, by a hash table) */
static bool unique_addrs(const struct lf_state_raw *raw)
{
	size_t cap = 64, i;
	size_t *slots;
	bool ok = true;

	while (cap < raw->n * 2)
		cap *= 2;
	slots = lf_xcalloc(cap, sizeof(*slots));
	for (i = 0; ok && i < raw->n; i++) {
		const char *a = lf_state_rec_addr(raw, &raw->v[i]);
		size_t k = (size_t)key_hash((const unsigned char *)a, strlen(a)) & (cap - 1);

		while (ok && slots[k]) {
			ok = strcmp(lf_state_rec_addr(raw, &raw->v[slots[k] - 1]), a) != 0;
			k = (k + 1) & (cap - 1);
		}
		slots[k] = i + 1;
	}
	free(slots);
	return ok;
}

static void scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->nframes; i++)
		free(s->frames[i].keys);
	free(s->frames);
	if (s->h)
		yajl_free(s->h);
}

static bool only_space(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
		p++;
		n--;
	}
	return n == 0;
}

int lf_state_raw_scan(struct lf_state_raw **out, char *text, size_t len,
		      char lineage[37], uint64_t *serial)
{
	struct scan s;
	bool ok;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.raw = lf_xcalloc(1, sizeof(*s.raw));
	s.raw->text = text;
	s.raw->len = len;
	ok = plain_text(text, len);
	if (ok) {
		s.h = yajl_alloc(&callbacks, NULL, &s);
		ok = yajl_parse(s.h, (const unsigned char *)text, len) == yajl_status_ok &&
		     yajl_complete_parse(s.h) == yajl_status_ok && !s.bad;
		/* yajl takes an unterminated string after the document for
		 * an incomplete token and ends without an error: only JSON
		 * white space may follow the object (as jansson says) */
		ok = ok && s.end > 0 && s.end <= len && only_space(text + s.end,
								  len - s.end);
	}
	s.raw->strings = (char *)s.strings.data;
	s.raw->strings_len = s.strings.len;
	ok = ok && s.top_seen == (K_FV | K_LIN | K_SER | K_VER | K_RES) &&
	     unique_addrs(s.raw);
	scan_free(&s);
	if (!ok) {
		lf_state_raw_free(s.raw);
		return 1;
	}
	memcpy(lineage, s.lineage, sizeof(s.lineage));
	*serial = s.serial;
	*out = s.raw;
	return 0;
}

void lf_state_raw_free(struct lf_state_raw *raw)
{
	if (!raw)
		return;
	free(raw->text);
	free(raw->strings);
	free(raw->v);
	free(raw);
}

json_t *lf_state_rec_parse(const struct lf_state_raw *raw,
			   const struct lf_state_rec *r)
{
	return json_loadb(raw->text + r->off, r->len, JSON_REJECT_DUPLICATES, NULL);
}

json_t *lf_state_rec_outputs(const struct lf_state_raw *raw,
			     const struct lf_state_rec *r)
{
	if (!r->has_outputs)
		return NULL;
	return json_loadb(raw->text + r->out_off, r->out_len, JSON_REJECT_DUPLICATES, NULL);
}

int lf_state_read_raw(struct lf_state *st, struct lf_state_doc *out,
		      struct lf_err *err)
{
	if (st->ops->read_raw)
		return st->ops->read_raw(st, out, err);
	return st->ops->read_all(st, out, err);
}
