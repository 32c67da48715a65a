/*
 * Resource sets: an array of resources with an address index (open
 * addressing, FNV-1a), canonical attribute hashing, and conversion to and
 * from the state document's "resources" object.
 */
#include "plans/resource.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/canon.h"
#include "core/util/util.h"
#include "state/state.h"

/* interned attribute strings: open addressing on the value's bytes */
struct strtab {
	json_t **slots;  /* shared json string (one reference held); NULL = empty */
	uint64_t *hashes;
	size_t cap, n;   /* cap: power of two, 0 until the first string */
};

/* an address's slot: its position and its hash, so that a probe that
 * meets another address compares no strings */
struct aslot {
	size_t pos;      /* position + 1; 0 = empty */
	uint64_t hash;   /* fnv1a of the address */
};

struct rindex {
	struct aslot *slots;
	size_t cap;      /* power of two */
	struct strtab strings;
	bool defer;      /* lf_rset_add leaves hashes to lf_rset_hash_pending */
	struct lf_hash_job *job; /* hashing on a thread: the array must not move */
};

static uint64_t fnv1a_n(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t fnv1a(const char *s)
{
	return fnv1a_n(s, strlen(s));
}

static void slot_put(struct aslot *slots, size_t cap, size_t pos, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i].pos != 0)
		i = (i + 1) & (cap - 1);
	slots[i].pos = pos + 1;
	slots[i].hash = h;
}

/* twice the slots; the hashes kept move over, no address is rehashed */
static void index_grow(struct lf_rset *rs)
{
	struct rindex *ix = rs->index;
	size_t cap = ix->cap ? ix->cap * 2 : 64, i;
	struct aslot *slots = lf_xcalloc(cap, sizeof(*slots));

	for (i = 0; i < ix->cap; i++)
		if (ix->slots[i].pos != 0)
			slot_put(slots, cap, ix->slots[i].pos - 1, ix->slots[i].hash);
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
}

int lf_rset_new(struct lf_rset **out)
{
	struct lf_rset *rs = lf_xcalloc(1, sizeof(*rs));

	rs->index = lf_xcalloc(1, sizeof(struct rindex));
	index_grow(rs);
	*out = rs;
	return 0;
}

void lf_rset_free(struct lf_rset *rs)
{
	size_t i, j;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++) {
		struct lf_resource *r = &rs->v[i];

		free(r->addr);
		free(r->type);
		json_decref(r->attrs);
		json_decref(r->outputs);
		free(r->drift);
		for (j = 0; j < r->ndeps; j++)
			free(r->deps[j]);
		free(r->deps);
	}
	free(rs->v);
	if (rs->index) {
		struct rindex *ix = rs->index;

		free(ix->slots);
		for (i = 0; i < ix->strings.cap; i++)
			json_decref(ix->strings.slots[i]);
		free(ix->strings.slots);
		free(ix->strings.hashes);
	}
	free(rs->index);
	free(rs);
}

/* the resource at addr, whose hash is h */
static struct lf_resource *rset_find(const struct lf_rset *rs, const char *addr,
				     uint64_t h)
{
	const struct rindex *ix = rs->index;
	size_t i = (size_t)h & (ix->cap - 1);

	while (ix->slots[i].pos != 0) {
		if (ix->slots[i].hash == h) {
			struct lf_resource *r = &rs->v[ix->slots[i].pos - 1];

			if (strcmp(r->addr, addr) == 0)
				return r;
		}
		i = (i + 1) & (ix->cap - 1);
	}
	return NULL;
}

struct lf_resource *lf_rset_get(const struct lf_rset *rs, const char *addr)
{
	return rset_find(rs, addr, fnv1a(addr));
}

char *lf_addr_type(const char *addr)
{
	const char *dot = strchr(addr, '.');

	return dot ? lf_xstrndup(addr, (size_t)(dot - addr)) : lf_xstrdup(addr);
}

/* sha256 of the attributes' compact, key-sorted JSON (the bytes
 * json_dumps gives), hashed as it is written (core/util/canon.h) */
void lf_resource_rehash(struct lf_resource *r)
{
	struct lf_hasher *h = lf_hasher_new();

	lf_json_canon_sha256_hex(h, r->attrs, r->hash);
	lf_hasher_free(h);
}

struct lf_hash_job {
	struct lf_rset *rs;
	size_t from, to;
	pthread_t th;
	bool threaded;
};

static void *hash_range(void *arg)
{
	struct lf_hash_job *j = arg;
	struct lf_resource *v = j->rs->v;
	struct lf_hasher *h = lf_hasher_new();
	size_t i;

	for (i = j->from; i < j->to; i++)
		if (!v[i].hash[0])
			lf_json_canon_sha256_hex(h, v[i].attrs, v[i].hash);
	lf_hasher_free(h);
	return NULL;
}

/* Two threads hash attrs at once, each with its own hasher: the values
 * (and the interned strings two resources share) are only read. */
void lf_rset_hash_pending(struct lf_rset *rs, size_t from)
{
	struct lf_hash_job a = { rs, from, from + (rs->n - from) / 2, 0, false };
	struct lf_hash_job b = { rs, a.to, rs->n, 0, false };
	pthread_t th;
	bool threaded = rs->n - from >= 256 &&
			pthread_create(&th, NULL, hash_range, &b) == 0;

	hash_range(&a);
	if (threaded)
		pthread_join(th, NULL);
	else
		hash_range(&b);
}

static void rset_reserve(struct lf_rset *rs, size_t cap)
{
	if (cap <= rs->cap)
		return;
	rs->cap = cap;
	rs->v = lf_xrealloc(rs->v, rs->cap * sizeof(*rs->v));
}

/*
 * The array is sized for `more` resources first, so that it does not move
 * while the thread hashes [from, n): the caller may add up to that many
 * (to be hashed later) and read anything but those hashes meanwhile;
 * past that, lf_rset_add would move the array under the thread (abort).
 */
struct lf_hash_job *lf_rset_hash_begin(struct lf_rset *rs, size_t from, size_t more)
{
	struct lf_hash_job *j = lf_xcalloc(1, sizeof(*j));

	rset_reserve(rs, rs->n + more);
	j->rs = rs;
	j->from = from;
	j->to = rs->n;
	j->threaded = pthread_create(&j->th, NULL, hash_range, j) == 0;
	if (!j->threaded)
		hash_range(j);
	((struct rindex *)rs->index)->job = j;
	return j;
}

void lf_rset_hash_end(struct lf_hash_job *j)
{
	if (!j)
		return;
	if (j->threaded)
		pthread_join(j->th, NULL);
	((struct rindex *)j->rs->index)->job = NULL;
	free(j);
}

struct lf_resource *lf_rset_add(struct lf_rset *rs, const char *addr,
				json_t *attrs)
{
	if (((struct rindex *)rs->index)->defer)
		return lf_rset_add_unhashed(rs, addr, attrs);
	return lf_rset_add_hashed(rs, addr, attrs, NULL);
}

void lf_rset_defer_hashes(struct lf_rset *rs, bool on)
{
	((struct rindex *)rs->index)->defer = on;
}

static void strtab_grow(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024, i, j;
	json_t **slots = lf_xcalloc(cap, sizeof(*slots));
	uint64_t *hashes = lf_xcalloc(cap, sizeof(*hashes));

	for (i = 0; i < t->cap; i++) {
		if (!t->slots[i])
			continue;
		for (j = (size_t)t->hashes[i] & (cap - 1); slots[j]; j = (j + 1) & (cap - 1))
			;
		slots[j] = t->slots[i];
		hashes[j] = t->hashes[i];
	}
	free(t->slots);
	free(t->hashes);
	t->slots = slots;
	t->hashes = hashes;
	t->cap = cap;
}

/* the shared string equal to sv (len bytes, hash h), or NULL and *slot
 * where it goes */
static json_t *strtab_find(struct strtab *t, const char *sv, size_t len, uint64_t h,
			   size_t *slot)
{
	size_t i;

	if ((t->n + 1) * 2 > t->cap)
		strtab_grow(t);
	for (i = (size_t)h & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1)) {
		json_t *s = t->slots[i];

		if (t->hashes[i] == h && json_string_length(s) == len &&
		    memcmp(json_string_value(s), sv, len) == 0)
			return s;
	}
	*slot = i;
	return NULL;
}

static void strtab_put(struct strtab *t, size_t slot, json_t *v, uint64_t h)
{
	t->slots[slot] = json_incref(v);
	t->hashes[slot] = h;
	t->n++;
}

/* the shared string equal to v, v itself (now shared) when it is new */
static json_t *strtab_intern(struct strtab *t, json_t *v, const char *sv, size_t len)
{
	uint64_t h = fnv1a_n(sv, len);
	size_t slot;
	json_t *s = strtab_find(t, sv, len, h, &slot);

	if (s)
		return s;
	strtab_put(t, slot, v, h);
	return v;
}

json_t *lf_rset_string(struct lf_rset *rs, const char *s)
{
	struct strtab *t = &((struct rindex *)rs->index)->strings;
	size_t len = strlen(s), slot;
	uint64_t h = fnv1a_n(s, len);
	json_t *v = strtab_find(t, s, len, h, &slot);

	if (v)
		return json_incref(v);
	v = json_string(s);
	if (v)
		strtab_put(t, slot, v, h);
	return v;
}

/*
 * Share equal top-level string values between resources: a 10,000-node
 * spec repeats org names, domains, profiles and sizes tens of thousands of
 * times, and each jansson string costs two allocations. Attribute values
 * are never changed in place (objects are edited by replacing values), so
 * sharing is safe. The value is swapped through the iterator: no key
 * lookup.
 */
static void intern_strings(struct lf_rset *rs, json_t *attrs)
{
	struct rindex *ix = rs->index;
	const char *key;
	json_t *v;

	json_object_foreach(attrs, key, v) {
		const char *sv = json_string_value(v);
		size_t len;
		json_t *shared;

		if (!sv)
			continue; /* not a string */
		len = json_string_length(v);
		if (memchr(sv, 0, len))
			continue; /* a NUL inside */
		shared = strtab_intern(&ix->strings, v, sv, len);
		if (shared != v)
			json_object_iter_set_new(attrs, json_object_key_to_iter(key),
						 json_incref(shared));
	}
}

/* hash: the stored one, NULL to compute it, "" to leave it for
 * lf_rset_hash_pending */
static struct lf_resource *rset_add(struct lf_rset *rs, const char *addr,
				    json_t *attrs, const char *hash)
{
	struct rindex *ix = rs->index;
	uint64_t h = fnv1a(addr);
	struct lf_resource *r;

	if (rset_find(rs, addr, h)) {
		json_decref(attrs);
		return NULL;
	}
	if (rs->n == rs->cap) {
		if (((struct rindex *)rs->index)->job)
			abort(); /* more than lf_rset_hash_begin reserved */
		rset_reserve(rs, rs->cap ? rs->cap * 2 : 64);
	}
	r = &rs->v[rs->n];
	memset(r, 0, sizeof(*r));
	r->addr = lf_xstrdup(addr);
	r->type = lf_addr_type(addr);
	r->attrs = attrs ? attrs : json_object();
	if (!hash || !hash[0]) /* a new desired resource; records read from
				 * state are not worth the time (parsed once
				 * and shared) */
		intern_strings(rs, r->attrs);
	if (hash && strlen(hash) == 64)
		memcpy(r->hash, hash, 65);
	else if (!hash || hash[0])
		lf_resource_rehash(r);
	rs->n++;
	if (rs->n * 2 > ix->cap)
		index_grow(rs);
	slot_put(ix->slots, ix->cap, rs->n - 1, h);
	return r;
}

struct lf_resource *lf_rset_add_hashed(struct lf_rset *rs, const char *addr,
				       json_t *attrs, const char *hash)
{
	return rset_add(rs, addr, attrs, hash && !hash[0] ? NULL : hash);
}

struct lf_resource *lf_rset_add_unhashed(struct lf_rset *rs, const char *addr,
					 json_t *attrs)
{
	return rset_add(rs, addr, attrs, "");
}

void lf_resource_add_dep(struct lf_resource *r, const char *dep)
{
	size_t i;

	for (i = 0; i < r->ndeps; i++)
		if (strcmp(r->deps[i], dep) == 0)
			return;
	r->deps = lf_xrealloc(r->deps, (r->ndeps + 1) * sizeof(*r->deps));
	r->deps[r->ndeps++] = lf_xstrdup(dep);
}

json_t *lf_resource_to_json(const struct lf_resource *r)
{
	json_t *rec = json_object(), *deps = json_array();
	size_t j;

	for (j = 0; j < r->ndeps; j++)
		json_array_append_new(deps, json_string(r->deps[j]));
	json_object_set_new(rec, "type", json_string(r->type));
	json_object_set(rec, "attrs", r->attrs);
	json_object_set_new(rec, "hash", json_string(r->hash));
	json_object_set_new(rec, "deps", deps);
	if (r->outputs)
		json_object_set(rec, "outputs", r->outputs);
	if (r->partial)
		json_object_set_new(rec, "partial", json_true());
	return rec;
}

json_t *lf_rset_to_json(const struct lf_rset *rs)
{
	json_t *obj = json_object();
	size_t i;

	for (i = 0; i < rs->n; i++)
		json_object_set_new(obj, rs->v[i].addr,
				    lf_resource_to_json(&rs->v[i]));
	return obj;
}

int lf_rset_from_json(struct lf_rset **out, const json_t *resources,
		      struct lf_err *err)
{
	struct lf_rset *rs;
	const char *addr;
	json_t *rec;

	*out = NULL;
	if (resources && !json_is_object(resources))
		return lf_err_set(err, LF_EINVALID, "state: 'resources' is not an object");
	lf_rset_new(&rs);
	json_object_foreach((json_t *)resources, addr, rec) {
		json_t *attrs = json_object_get(rec, "attrs");
		json_t *deps = json_object_get(rec, "deps");
		json_t *outputs = json_object_get(rec, "outputs");
		struct lf_resource *r;
		size_t k;
		json_t *d;

		if (!json_is_object(rec) || !json_is_object(attrs)) {
			lf_rset_free(rs);
			return lf_err_set(err, LF_EINVALID,
					  "state: resource '%s' has no attrs object", addr);
		}
		/* shared with the document: records are replaced, never
		 * changed in place, so a reference is enough */
		r = lf_rset_add_hashed(rs, addr, json_incref(attrs),
				       json_string_value(json_object_get(rec, "hash")));
		if (json_is_object(outputs))
			r->outputs = json_incref(outputs);
		r->partial = json_is_true(json_object_get(rec, "partial"));
		json_array_foreach(deps, k, d)
			if (json_is_string(d))
				lf_resource_add_dep(r, json_string_value(d));
	}
	*out = rs;
	return 0;
}

/* a raw record's attrs and outputs: the desired attrs when its hash is
 * the desired one's (then only its outputs are parsed), else parsed from
 * its text; NULL attrs when it has none */
static void raw_parts(const struct lf_state_raw *raw, const struct lf_state_rec *rec,
		      const struct lf_resource *des, json_t **attrs, json_t **outputs)
{
	json_t *obj;

	*attrs = *outputs = NULL;
	if (des && rec->hash[0] && !rec->partial && strcmp(des->hash, rec->hash) == 0) {
		*outputs = lf_state_rec_outputs(raw, rec);
		if (!rec->has_outputs || *outputs) {
			*attrs = json_incref(des->attrs);
			return;
		}
	}
	obj = lf_state_rec_parse(raw, rec);
	*attrs = json_incref(json_object_get(obj, "attrs"));
	if (json_is_object(json_object_get(obj, "outputs")))
		*outputs = json_incref(json_object_get(obj, "outputs"));
	json_decref(obj);
}

/* one raw record into rs */
static int add_raw(struct lf_rset *rs, const struct lf_state_raw *raw,
		   const struct lf_state_rec *rec, const struct lf_rset *desired,
		   struct lf_err *err)
{
	const char *addr = lf_state_rec_addr(raw, rec), *d;
	json_t *attrs, *outputs;
	struct lf_resource *r;
	size_t k;

	raw_parts(raw, rec, desired ? lf_rset_get(desired, addr) : NULL, &attrs, &outputs);
	if (!json_is_object(attrs)) {
		json_decref(attrs);
		json_decref(outputs);
		return lf_err_set(err, LF_EINVALID,
				  "state: resource '%s' has no attrs object", addr);
	}
	r = lf_rset_add_hashed(rs, addr, attrs, rec->hash[0] ? rec->hash : NULL);
	r->outputs = outputs;
	r->partial = rec->partial;
	for (k = 0, d = raw->strings + rec->deps; k < rec->ndeps; k++, d += strlen(d) + 1)
		lf_resource_add_dep(r, d);
	return 0;
}

int lf_rset_from_raw(struct lf_rset **out, const struct lf_state_raw *raw,
		     const struct lf_rset *desired, struct lf_err *err)
{
	return lf_rset_from_raw2(out, raw, desired, NULL, NULL, NULL, err);
}

/* is the raw record i's desired resource one of the second round? */
static bool raw_later(const struct lf_state_raw *raw, size_t i, const struct lf_rset *desired,
		      bool (*later)(void *arg, const struct lf_resource *des), void *arg)
{
	const struct lf_resource *des;

	if (!later || !desired)
		return false;
	des = lf_rset_get(desired, lf_state_rec_addr(raw, &raw->v[i]));
	return des && later(arg, des);
}

int lf_rset_from_raw2(struct lf_rset **out, const struct lf_state_raw *raw,
		      const struct lf_rset *desired,
		      bool (*later)(void *arg, const struct lf_resource *des),
		      void (*between)(void *arg, const struct lf_rset *first), void *arg,
		      struct lf_err *err)
{
	unsigned char *second = lf_xcalloc(raw->n + 1, 1);
	struct lf_rset *rs;
	size_t i;
	int round, rc = 0;

	*out = NULL;
	lf_rset_new(&rs);
	for (i = 0; i < raw->n; i++)
		second[i] = raw_later(raw, i, desired, later, arg);
	for (round = 0; rc == 0 && round < 2; round++) {
		if (round == 1 && between)
			between(arg, rs);
		for (i = 0; rc == 0 && i < raw->n; i++)
			if (second[i] == round)
				rc = add_raw(rs, raw, &raw->v[i], desired, err);
	}
	free(second);
	if (rc != 0) {
		lf_rset_free(rs);
		return err ? err->code : LF_EINVALID;
	}
	*out = rs;
	return 0;
}
