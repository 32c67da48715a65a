/*
 * A string hash set (FNV-1a, open addressing, linear probing) so that
 * duplicate checks over thousands of names stay linear.
 */
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

static size_t hash_str(const char *s)
{
	size_t h = (size_t)1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= (size_t)1099511628211ULL;
	}
	return h;
}

static void grow(struct lf_sset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64, i;
	struct lf_sset_ent *v = lf_xcalloc(cap, sizeof(*v));

	for (i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->v[i].key)
			continue;
		j = hash_str(s->v[i].key) & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
}

const void *lf_sset_put(struct lf_sset *s, const char *key, const void *val,
			bool *found)
{
	size_t j;

	if (found)
		*found = false;
	if (!key)
		return NULL;
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	j = hash_str(key) & (s->cap - 1);
	while (s->v[j].key) {
		if (strcmp(s->v[j].key, key) == 0) {
			if (found)
				*found = true;
			return s->v[j].val;
		}
		j = (j + 1) & (s->cap - 1);
	}
	s->v[j].key = s->own_keys ? lf_xstrdup(key) : key;
	s->v[j].val = val;
	s->n++;
	return NULL;
}

const void *lf_sset_get(const struct lf_sset *s, const char *key)
{
	size_t j;

	if (!key || !s->cap)
		return NULL;
	j = hash_str(key) & (s->cap - 1);
	while (s->v[j].key) {
		if (strcmp(s->v[j].key, key) == 0)
			return s->v[j].val;
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

void lf_sset_free(struct lf_sset *s)
{
	if (!s)
		return;
	if (s->own_keys)
		for (size_t i = 0; i < s->cap; i++)
			free((char *)s->v[i].key);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
