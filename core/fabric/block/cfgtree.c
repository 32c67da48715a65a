/*
 * Config trees: Fabric ConfigGroup messages held as protobuf-c structs.
 * Everything is allocated with malloc in the layout protobuf-c's unpacker
 * produces, so protobuf_c_message_free_unpacked(NULL allocator) frees a
 * built tree and an unpacked one alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fabric/block/blk.h"
#include "core/util/ctx.h"
#include "core/util/util.h"

uint8_t *lf_pb_pack(const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = lf_xmalloc(n ? n : 1);

	*len = protobuf_c_message_pack(m, buf);
	return buf;
}

ProtobufCBinaryData lf_pb_bin(const ProtobufCMessage *m)
{
	ProtobufCBinaryData b;

	b.data = lf_pb_pack(m, &b.len);
	return b;
}

static char *pol_str(const char *s)
{
	return lf_xstrdup(s ? s : "");
}

Lfpb__ConfigGroup *lf_cg_new(const char *mod_policy)
{
	Lfpb__ConfigGroup *g = lf_xmalloc(sizeof(*g));

	lfpb__config_group__init(g);
	if (mod_policy)
		g->mod_policy = pol_str(mod_policy);
	return g;
}

void lf_cg_free(Lfpb__ConfigGroup *g)
{
	if (g)
		protobuf_c_message_free_unpacked(&g->base, NULL);
}

Lfpb__ConfigGroup *lf_cg_dup(const Lfpb__ConfigGroup *g)
{
	size_t len;
	uint8_t *buf = lf_pb_pack(&g->base, &len);
	Lfpb__ConfigGroup *d = lfpb__config_group__unpack(NULL, len, buf);

	free(buf);
	if (!d)
		abort();  /* our own bytes: cannot fail but on OOM */
	return d;
}

Lfpb__ConfigGroup *lf_cg_group(const Lfpb__ConfigGroup *g, const char *key)
{
	for (size_t i = 0; g && i < g->n_groups; i++)
		if (strcmp(g->groups[i]->key, key) == 0)
			return g->groups[i]->value;
	return NULL;
}

Lfpb__ConfigValue *lf_cg_value(const Lfpb__ConfigGroup *g, const char *key)
{
	for (size_t i = 0; g && i < g->n_values; i++)
		if (strcmp(g->values[i]->key, key) == 0)
			return g->values[i]->value;
	return NULL;
}

Lfpb__ConfigPolicy *lf_cg_policy(const Lfpb__ConfigGroup *g, const char *key)
{
	for (size_t i = 0; g && i < g->n_policies; i++)
		if (strcmp(g->policies[i]->key, key) == 0)
			return g->policies[i]->value;
	return NULL;
}

void lf_cg_put_group(Lfpb__ConfigGroup *g, const char *key,
		     Lfpb__ConfigGroup *child)
{
	Lfpb__ConfigGroup__GroupsEntry *e;

	for (size_t i = 0; i < g->n_groups; i++) {
		if (strcmp(g->groups[i]->key, key) == 0) {
			lf_cg_free(g->groups[i]->value);
			g->groups[i]->value = child;
			return;
		}
	}
	e = lf_xmalloc(sizeof(*e));
	lfpb__config_group__groups_entry__init(e);
	e->key = lf_xstrdup(key);
	e->value = child;
	g->groups = lf_xrealloc(g->groups, (g->n_groups + 1) * sizeof(e));
	g->groups[g->n_groups++] = e;
}

void lf_cg_put_value(Lfpb__ConfigGroup *g, const char *key,
		     ProtobufCBinaryData data, const char *mod_policy)
{
	Lfpb__ConfigGroup__ValuesEntry *e = NULL;
	Lfpb__ConfigValue *v;

	for (size_t i = 0; i < g->n_values && !e; i++)
		if (strcmp(g->values[i]->key, key) == 0)
			e = g->values[i];
	if (e) {
		protobuf_c_message_free_unpacked(&e->value->base, NULL);
	} else {
		e = lf_xmalloc(sizeof(*e));
		lfpb__config_group__values_entry__init(e);
		e->key = lf_xstrdup(key);
		g->values = lf_xrealloc(g->values,
					(g->n_values + 1) * sizeof(e));
		g->values[g->n_values++] = e;
	}
	v = lf_xmalloc(sizeof(*v));
	lfpb__config_value__init(v);
	v->value = data;
	v->mod_policy = pol_str(mod_policy);
	e->value = v;
}

void lf_cg_put_policy(Lfpb__ConfigGroup *g, const char *key, int type,
		      ProtobufCBinaryData data, const char *mod_policy)
{
	Lfpb__ConfigGroup__PoliciesEntry *e = NULL;
	Lfpb__ConfigPolicy *cp;

	for (size_t i = 0; i < g->n_policies && !e; i++)
		if (strcmp(g->policies[i]->key, key) == 0)
			e = g->policies[i];
	if (e) {
		protobuf_c_message_free_unpacked(&e->value->base, NULL);
	} else {
		e = lf_xmalloc(sizeof(*e));
		lfpb__config_group__policies_entry__init(e);
		e->key = lf_xstrdup(key);
		g->policies = lf_xrealloc(g->policies,
					  (g->n_policies + 1) * sizeof(e));
		g->policies[g->n_policies++] = e;
	}
	cp = lf_xmalloc(sizeof(*cp));
	lfpb__config_policy__init(cp);
	cp->policy = lf_xmalloc(sizeof(*cp->policy));
	lfpb__policy__init(cp->policy);
	cp->policy->type = type;
	cp->policy->value = data;
	cp->mod_policy = pol_str(mod_policy);
	e->value = cp;
}

void lf_cg_del_group(Lfpb__ConfigGroup *g, const char *key)
{
	for (size_t i = 0; i < g->n_groups; i++) {
		if (strcmp(g->groups[i]->key, key) != 0)
			continue;
		protobuf_c_message_free_unpacked(&g->groups[i]->base, NULL);
		memmove(&g->groups[i], &g->groups[i + 1],
			(g->n_groups - i - 1) * sizeof(g->groups[0]));
		g->n_groups--;
		return;
	}
}

static int cmp_gkey(const void *a, const void *b)
{
	return strcmp((*(Lfpb__ConfigGroup__GroupsEntry *const *)a)->key,
		      (*(Lfpb__ConfigGroup__GroupsEntry *const *)b)->key);
}

static int cmp_vkey(const void *a, const void *b)
{
	return strcmp((*(Lfpb__ConfigGroup__ValuesEntry *const *)a)->key,
		      (*(Lfpb__ConfigGroup__ValuesEntry *const *)b)->key);
}

static int cmp_pkey(const void *a, const void *b)
{
	return strcmp((*(Lfpb__ConfigGroup__PoliciesEntry *const *)a)->key,
		      (*(Lfpb__ConfigGroup__PoliciesEntry *const *)b)->key);
}

void lf_cg_sort(Lfpb__ConfigGroup *g)
{
	if (!g)
		return;
	if (g->n_groups > 1)
		qsort(g->groups, g->n_groups, sizeof(g->groups[0]), cmp_gkey);
	if (g->n_values > 1)
		qsort(g->values, g->n_values, sizeof(g->values[0]), cmp_vkey);
	if (g->n_policies > 1)
		qsort(g->policies, g->n_policies, sizeof(g->policies[0]),
		      cmp_pkey);
	for (size_t i = 0; i < g->n_groups; i++)
		lf_cg_sort(g->groups[i]->value);
}

static bool bin_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data,
						       a.len) == 0);
}

bool lf_cg_equal_policy(const Lfpb__ConfigPolicy *a,
			const Lfpb__ConfigPolicy *b)
{
	const Lfpb__Policy *pa = a->policy, *pb = b->policy;

	if (!lf_streq(a->mod_policy, b->mod_policy))
		return false;
	if (!pa || !pb)
		return pa == pb;
	return pa->type == pb->type && bin_eq(pa->value, pb->value);
}

void lf_go_duration(unsigned int ms, char out[32])
{
	unsigned int h = ms / 3600000, m = (ms / 60000) % 60;
	unsigned int s = (ms / 1000) % 60, frac = ms % 1000;
	char sec[16];

	if (ms == 0) {
		snprintf(out, 32, "0s");
		return;
	}
	if (ms < 1000) {
		snprintf(out, 32, "%ums", ms);
		return;
	}
	if (frac == 0)
		snprintf(sec, sizeof(sec), "%us", s);
	else if (frac % 100 == 0)
		snprintf(sec, sizeof(sec), "%u.%us", s, frac / 100);
	else if (frac % 10 == 0)
		snprintf(sec, sizeof(sec), "%u.%02us", s, frac / 10);
	else
		snprintf(sec, sizeof(sec), "%u.%03us", s, frac);
	if (h)
		snprintf(out, 32, "%uh%um%s", h, m, sec);
	else if (ms >= 60000)
		snprintf(out, 32, "%um%s", m, sec);
	else
		snprintf(out, 32, "%s", sec);
}

/* block time: SOURCE_DATE_EPOCH (through the context) for reproducible
 * blocks, else now */
int64_t lf_blk_epoch(bool *fixed)
{
	const struct lf_ctx *c = lf_ctx_current();

	*fixed = c->epoch_fixed;
	return c->epoch_fixed ? c->epoch : (int64_t)time(NULL);
}

void lf_blk_nonce(const char *seed, uint8_t out[24])
{
	bool fixed;
	uint8_t h[32];
	char *s;

	(void)lf_blk_epoch(&fixed);
	if (!fixed && lf_random(out, 24) == 0)
		return;
	s = lf_xasprintf("ledgerform-nonce:%s:%lld", seed ? seed : "",
			 (long long)lf_ctx_current()->epoch);
	lf_sha256(s, strlen(s), h);
	free(s);
	memcpy(out, h, 24);
}
