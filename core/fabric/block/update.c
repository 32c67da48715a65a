/*
 * Config updates: the read set / write set from one channel config to
 * another, computed as `configtxlator compute_update` does (Fabric's
 * internal/configtxlator/update), the mod policies the change needs (as
 * the orderer's configtx validator resolves them: each modified existing
 * element's mod_policy, relative to its group), and the config that
 * results from applying an update.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/fabric/block/genesis.h"
#include "core/util/util.h"

static ProtobufCBinaryData bin_dup(ProtobufCBinaryData b)
{
	ProtobufCBinaryData d = { b.len, NULL };

	if (b.len) {
		d.data = lf_xmalloc(b.len);
		memcpy(d.data, b.data, b.len);
	}
	return d;
}

static bool bin_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data,
						       a.len) == 0);
}

/* protobuf-c leaves absent strings pointing at a shared empty string */
static void set_mod_policy(Lfpb__ConfigGroup *g, const char *mp)
{
	if (g->mod_policy && g->mod_policy != protobuf_c_empty_string)
		free(g->mod_policy);
	g->mod_policy = lf_xstrdup(mp ? mp : "");
}

/* value entry with a version; src NULL: version only (read set form) */
static void put_value_v(Lfpb__ConfigGroup *g, const char *k, uint64_t ver,
			const Lfpb__ConfigValue *src)
{
	ProtobufCBinaryData none = { 0, NULL };

	lf_cg_put_value(g, k, src ? bin_dup(src->value) : none,
			src ? src->mod_policy : NULL);
	lf_cg_value(g, k)->version = ver;
}

static void put_policy_v(Lfpb__ConfigGroup *g, const char *k, uint64_t ver,
			 const Lfpb__ConfigPolicy *src)
{
	ProtobufCBinaryData none = { 0, NULL };
	const Lfpb__Policy *p = src ? src->policy : NULL;
	Lfpb__ConfigPolicy *cp;

	lf_cg_put_policy(g, k, p ? p->type : 0, p ? bin_dup(p->value) : none,
			 src ? src->mod_policy : NULL);
	cp = lf_cg_policy(g, k);
	cp->version = ver;
	if (!p) {
		protobuf_c_message_free_unpacked(&cp->policy->base, NULL);
		cp->policy = NULL;
	}
}

struct same {       /* elements unchanged: version-only in both sets */
	char **pk, **vk, **gk;
	uint64_t *pv, *vv;
	Lfpb__ConfigGroup **gr;
	size_t np, nv, ng;
};

static void same_free(struct same *s)
{
	free(s->pk);
	free(s->vk);
	free(s->gk);
	free(s->pv);
	free(s->vv);
	free(s->gr);
}

static bool policies_update(const Lfpb__ConfigGroup *o,
			    const Lfpb__ConfigGroup *u, Lfpb__ConfigGroup *w,
			    struct same *s)
{
	bool members = false;

	for (size_t i = 0; i < o->n_policies; i++) {
		const char *k = o->policies[i]->key;
		const Lfpb__ConfigPolicy *op = o->policies[i]->value;
		const Lfpb__ConfigPolicy *up = lf_cg_policy(u, k);

		if (!up) {
			members = true;
		} else if (lf_cg_equal_policy(op, up)) {
			s->pk = lf_xrealloc(s->pk, (s->np + 1) * sizeof(char *));
			s->pv = lf_xrealloc(s->pv, (s->np + 1) * sizeof(uint64_t));
			s->pk[s->np] = o->policies[i]->key;
			s->pv[s->np++] = op->version;
		} else {
			put_policy_v(w, k, op->version + 1, up);
		}
	}
	for (size_t i = 0; i < u->n_policies; i++) {
		if (lf_cg_policy(o, u->policies[i]->key))
			continue;
		members = true;
		put_policy_v(w, u->policies[i]->key, 0, u->policies[i]->value);
	}
	return members;
}

static bool values_update(const Lfpb__ConfigGroup *o,
			  const Lfpb__ConfigGroup *u, Lfpb__ConfigGroup *w,
			  struct same *s)
{
	bool members = false;

	for (size_t i = 0; i < o->n_values; i++) {
		const char *k = o->values[i]->key;
		const Lfpb__ConfigValue *ov = o->values[i]->value;
		const Lfpb__ConfigValue *uv = lf_cg_value(u, k);

		if (!uv) {
			members = true;
		} else if (lf_streq(ov->mod_policy, uv->mod_policy) &&
			   bin_eq(ov->value, uv->value)) {
			s->vk = lf_xrealloc(s->vk, (s->nv + 1) * sizeof(char *));
			s->vv = lf_xrealloc(s->vv, (s->nv + 1) * sizeof(uint64_t));
			s->vk[s->nv] = o->values[i]->key;
			s->vv[s->nv++] = ov->version;
		} else {
			put_value_v(w, k, ov->version + 1, uv);
		}
	}
	for (size_t i = 0; i < u->n_values; i++) {
		if (lf_cg_value(o, u->values[i]->key))
			continue;
		members = true;
		put_value_v(w, u->values[i]->key, 0, u->values[i]->value);
	}
	return members;
}

static bool group_update(const Lfpb__ConfigGroup *o, const Lfpb__ConfigGroup *u,
			 Lfpb__ConfigGroup **rs, Lfpb__ConfigGroup **ws);

static bool groups_update(const Lfpb__ConfigGroup *o,
			  const Lfpb__ConfigGroup *u, Lfpb__ConfigGroup *r,
			  Lfpb__ConfigGroup *w, struct same *s)
{
	bool members = false;

	for (size_t i = 0; i < o->n_groups; i++) {
		const char *k = o->groups[i]->key;
		const Lfpb__ConfigGroup *ug = lf_cg_group(u, k);
		Lfpb__ConfigGroup *gr = NULL, *gw = NULL;

		if (!ug) {
			members = true;
			continue;
		}
		if (group_update(o->groups[i]->value, ug, &gr, &gw)) {
			lf_cg_put_group(r, k, gr);
			lf_cg_put_group(w, k, gw);
			continue;
		}
		lf_cg_free(gw);
		s->gk = lf_xrealloc(s->gk, (s->ng + 1) * sizeof(char *));
		s->gr = lf_xrealloc(s->gr, (s->ng + 1) * sizeof(*s->gr));
		s->gk[s->ng] = o->groups[i]->key;
		s->gr[s->ng++] = gr;
	}
	for (size_t i = 0; i < u->n_groups; i++) {
		Lfpb__ConfigGroup *empty, *gr = NULL, *gw = NULL;

		if (lf_cg_group(o, u->groups[i]->key))
			continue;
		members = true;
		empty = lf_cg_new(NULL);
		group_update(empty, u->groups[i]->value, &gr, &gw);
		gw->version = 0;
		lf_cg_free(empty);
		lf_cg_free(gr);
		lf_cg_put_group(w, u->groups[i]->key, gw);
	}
	return members;
}

static void same_into(Lfpb__ConfigGroup *g, const struct same *s, bool own)
{
	for (size_t i = 0; i < s->np; i++)
		put_policy_v(g, s->pk[i], s->pv[i], NULL);
	for (size_t i = 0; i < s->nv; i++)
		put_value_v(g, s->vk[i], s->vv[i], NULL);
	for (size_t i = 0; i < s->ng; i++)
		lf_cg_put_group(g, s->gk[i], own ? s->gr[i] : lf_cg_dup(s->gr[i]));
}

/* Fabric's computeGroupUpdate: true when the group or anything below it
 * changes; *rs and *ws are always set */
static bool group_update(const Lfpb__ConfigGroup *o, const Lfpb__ConfigGroup *u,
			 Lfpb__ConfigGroup **rs, Lfpb__ConfigGroup **ws)
{
	struct same s;
	Lfpb__ConfigGroup *r = lf_cg_new(NULL), *w = lf_cg_new(NULL);
	bool members;

	memset(&s, 0, sizeof(s));
	members = policies_update(o, u, w, &s);
	members |= values_update(o, u, w, &s);
	members |= groups_update(o, u, r, w, &s);
	r->version = o->version;
	w->version = o->version;
	*rs = r;
	*ws = w;
	if (!members && lf_streq(o->mod_policy, u->mod_policy)) {
		for (size_t i = 0; i < s.ng; i++)
			lf_cg_free(s.gr[i]);
		same_free(&s);
		/* nothing changed when the write set stayed empty */
		return w->n_policies || w->n_values || w->n_groups ||
		       r->n_groups;
	}
	same_into(w, &s, false);
	same_into(r, &s, true);
	same_free(&s);
	w->version = o->version + 1;
	set_mod_policy(w, u->mod_policy);
	return true;
}

bool lf_update__sets(const Lfpb__ConfigGroup *cur,
		     const Lfpb__ConfigGroup *next, Lfpb__ConfigGroup **rs,
		     Lfpb__ConfigGroup **ws)
{
	return group_update(cur, next, rs, ws);
}

static Lfpb__Config *config_unpack(const uint8_t *b, size_t len,
				   struct lf_err *err)
{
	struct lf_err why = LF_ERR_INIT;
	Lfpb__Config *c = lf_pb_unpack(&lfpb__config__descriptor, len, b, &why);

	if (c && !c->channel_group)
		lf_err_set(&why, LF_EINVALID, "no channel group");
	if (!c || !c->channel_group) {
		if (c)
			lfpb__config__free_unpacked(c, NULL);
		lf_err_set(err, LF_EINVALID, "malformed channel config (%zu "
			   "bytes): %s", len, why.msg);
		return NULL;
	}
	return c;
}

/* etcdraft consenters of a channel group, NULL when not etcdraft */
static Lfpb__RaftConfigMetadata *raft_md(const Lfpb__ConfigGroup *root)
{
	const Lfpb__ConfigValue *v = lf_cg_value(lf_cg_group(root, "Orderer"),
						 "ConsensusType");
	Lfpb__ConsensusType *ct = v ? lf_pb_unpack(&lfpb__consensus_type__descriptor,
		v->value.len, v->value.data, NULL) : NULL;
	Lfpb__RaftConfigMetadata *md = NULL;

	if (ct && lf_streq(ct->type, "etcdraft"))
		md = lf_pb_unpack(&lfpb__raft_config_metadata__descriptor, ct->metadata.len,
							ct->metadata.data, NULL);
	if (ct)
		lfpb__consensus_type__free_unpacked(ct, NULL);
	return md;
}

/* consenters of a not in b, by client TLS certificate (as etcdraft) */
static size_t raft_missing(const Lfpb__RaftConfigMetadata *a,
			   const Lfpb__RaftConfigMetadata *b)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_consenters; i++) {
		bool found = false;

		for (size_t k = 0; k < b->n_consenters && !found; k++)
			found = bin_eq(a->consenters[i]->client_tls_cert,
				       b->consenters[k]->client_tls_cert);
		n += !found;
	}
	return n;
}

/* etcdraft refuses a config update changing more than one consenter */
static int check_raft_change(const Lfpb__ConfigGroup *cur,
			     const Lfpb__ConfigGroup *next, struct lf_err *err)
{
	Lfpb__RaftConfigMetadata *a = raft_md(cur), *b = raft_md(next);
	size_t add = 0, rm = 0;
	int rc = 0;

	if (a && b) {
		add = raft_missing(b, a);
		rm = raft_missing(a, b);
	}
	if (add > 1 || rm > 1)
		rc = lf_err_set(err, LF_EINVALID, "etcdraft changes at most one "
				"consenter per config update (Fabric refuses more); "
				"this update adds %zu and removes %zu: change the "
				"consenters one at a time", add, rm);
	if (a)
		lfpb__raft_config_metadata__free_unpacked(a, NULL);
	if (b)
		lfpb__raft_config_metadata__free_unpacked(b, NULL);
	return rc;
}

static int compute(const Lfpb__ConfigGroup *cur, const Lfpb__ConfigGroup *next,
		   const char *channel, uint8_t **out, size_t *len,
		   char **summary, struct lf_err *err)
{
	Lfpb__ConfigUpdate cu = LFPB__CONFIG_UPDATE__INIT;
	Lfpb__ConfigUpdateEnvelope env = LFPB__CONFIG_UPDATE_ENVELOPE__INIT;
	Lfpb__ConfigGroup *rs = NULL, *ws = NULL;
	bool changed;
	int rc = check_raft_change(cur, next, err);

	if (rc)
		return rc;
	changed = group_update(cur, next, &rs, &ws);
	if (!changed) {
		rc = lf_err_set(err, LF_ENOTFOUND, "no differences detected "
				"between original and updated config");
		goto cleanup;
	}
	lf_cg_sort(rs);
	lf_cg_sort(ws);
	cu.channel_id = (char *)(channel ? channel : "");
	cu.read_set = rs;
	cu.write_set = ws;
	env.config_update = lf_pb_bin(&cu.base);
	*out = lf_pb_pack(&env.base, len);
	if (summary)
		rc = lf_update_describe(*out, *len, summary, err);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	free(env.config_update.data);
cleanup:
	lf_cg_free(rs);
	lf_cg_free(ws);
	return rc;
}

int lf_update_compute_configs(const uint8_t *cur, size_t curlen,
			      const uint8_t *next, size_t nextlen,
			      uint8_t **out, size_t *len, char **summary,
			      struct lf_err *err)
{
	Lfpb__Config *a = config_unpack(cur, curlen, err), *b = NULL;
	int rc = LF_EINVALID;

	if (a)
		b = config_unpack(next, nextlen, err);
	if (a && b)
		rc = compute(a->channel_group, b->channel_group, NULL, out, len,
			     summary, err);
	if (a)
		lfpb__config__free_unpacked(a, NULL);
	if (b)
		lfpb__config__free_unpacked(b, NULL);
	return rc;
}

int lf_update_compute(const uint8_t *cur, size_t curlen,
		      const struct lf_spec *spec, const char *channel,
		      const char *crypto_dir, uint8_t **out, size_t *len,
		      char **summary, struct lf_err *err)
{
	Lfpb__Config *a = config_unpack(cur, curlen, err);
	Lfpb__ConfigGroup *next = NULL;
	int rc = a ? 0 : LF_EINVALID;

	if (rc == 0)
		rc = lf_gen_channel_group(spec, channel, crypto_dir, &next, err);
	if (rc == 0)
		rc = compute(a->channel_group, next, channel, out, len, summary,
			     err);
	lf_cg_free(next);
	if (a)
		lfpb__config__free_unpacked(a, NULL);
	return rc;
}

/* ---- mod policies of a delta ---- */
void lf_modpols_free(struct lf_modpol *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].path);
		free(v[i].name);
	}
	free(v);
}

struct mp_ctx {
	const Lfpb__ConfigGroup *root;
	struct lf_modpol *v;
	size_t n;
	struct lf_err *err;
	int rc;
};

/* resolve mod_policy `mp` of an element whose policy context is group g
 * at path `path` (e.g. "/Channel/Application/Org1MSP") */
static void mp_add(struct mp_ctx *c, const Lfpb__ConfigGroup *g,
		   const char *path, const char *mp)
{
	char *gpath = NULL, *name = NULL;
	const char *slash;

	if (!mp || !*mp) {
		c->rc = lf_err_set(c->err, LF_EINVALID, "element under '%s' has "
				   "no mod_policy", path);
		return;
	}
	if (mp[0] == '/') {
		const char *p = lf_str_has_prefix(mp, "/Channel/") ? mp + 9 : mp + 1;

		g = c->root;
		while ((slash = strchr(p, '/')) != NULL && g) {
			char *k = lf_xstrndup(p, (size_t)(slash - p));

			g = lf_cg_group(g, k);
			free(k);
			p = slash + 1;
		}
		slash = strrchr(mp, '/');
		gpath = lf_xstrndup(mp, (size_t)(slash - mp));
		name = lf_xstrdup(slash + 1);
	} else {
		gpath = lf_xstrdup(path);
		name = lf_xstrdup(mp);
	}
	for (size_t i = 0; i < c->n; i++) {
		if (lf_streq(c->v[i].path, gpath) && lf_streq(c->v[i].name, name)) {
			free(gpath);
			free(name);
			return;
		}
	}
	if (!g || !lf_cg_policy(g, name)) {
		c->rc = lf_err_set(c->err, LF_EINVALID, "mod_policy '%s' of an "
				   "element under '%s' does not exist", mp, path);
		free(gpath);
		free(name);
		return;
	}
	c->v = lf_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n].group = g;
	c->v[c->n].path = gpath;
	c->v[c->n++].name = name;
}

static void mp_walk(struct mp_ctx *c, const Lfpb__ConfigGroup *cur,
		    const Lfpb__ConfigGroup *rs, const Lfpb__ConfigGroup *ws,
		    const char *path)
{
	if (cur && (!rs || rs->version != ws->version))
		mp_add(c, cur, path, cur->mod_policy);
	for (size_t i = 0; cur && i < ws->n_values; i++) {
		const char *k = ws->values[i]->key;
		const Lfpb__ConfigValue *r = lf_cg_value(rs, k), *e = lf_cg_value(cur, k);

		if (e && !(r && r->version == ws->values[i]->value->version))
			mp_add(c, cur, path, e->mod_policy);
	}
	for (size_t i = 0; cur && i < ws->n_policies; i++) {
		const char *k = ws->policies[i]->key;
		const Lfpb__ConfigPolicy *r = lf_cg_policy(rs, k), *e = lf_cg_policy(cur, k);

		if (e && !(r && r->version == ws->policies[i]->value->version))
			mp_add(c, cur, path, e->mod_policy);
	}
	for (size_t i = 0; i < ws->n_groups; i++) {
		const char *k = ws->groups[i]->key;
		char *sub = lf_xasprintf("%s/%s", path, k);

		mp_walk(c, lf_cg_group(cur, k), lf_cg_group(rs, k),
			ws->groups[i]->value, sub);
		free(sub);
	}
}

/* read set versions must match the current config (stale update) */
static int check_read_set(const Lfpb__ConfigGroup *cur,
			  const Lfpb__ConfigGroup *rs, const char *path,
			  struct lf_err *err)
{
	if (!cur)
		return lf_err_set(err, LF_ECONFLICT, "config update reads '%s', "
				  "which the channel config does not have", path);
	if (cur->version != rs->version)
		return lf_err_set(err, LF_ECONFLICT, "config update was computed "
				  "for '%s' at version %llu, the channel has "
				  "version %llu: recompute it", path,
				  (unsigned long long)rs->version,
				  (unsigned long long)cur->version);
	for (size_t i = 0; i < rs->n_groups; i++) {
		char *sub = lf_xasprintf("%s/%s", path, rs->groups[i]->key);
		int rc = check_read_set(lf_cg_group(cur, rs->groups[i]->key),
					rs->groups[i]->value, sub, err);

		free(sub);
		if (rc)
			return rc;
	}
	return 0;
}

int lf_update_modpols(const Lfpb__ConfigGroup *cur,
		      const Lfpb__ConfigUpdate *upd, struct lf_modpol **out,
		      size_t *n, struct lf_err *err)
{
	struct mp_ctx c = { cur, NULL, 0, err, 0 };

	*out = NULL;
	*n = 0;
	if (!upd->write_set || !upd->read_set)
		return lf_err_set(err, LF_EINVALID, "config update has no read "
				  "set or write set");
	c.rc = check_read_set(cur, upd->read_set, "/Channel", err);
	if (c.rc == 0)
		mp_walk(&c, cur, upd->read_set, upd->write_set, "/Channel");
	if (c.rc == 0 && c.n == 0)
		c.rc = lf_err_set(err, LF_EINVALID, "config update changes "
				  "nothing that exists (empty delta set)");
	if (c.rc) {
		lf_modpols_free(c.v, c.n);
		return c.rc;
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

/* ---- applying ---- */
/* the config after the update: the write set's delta merged over cur */
static void merge(Lfpb__ConfigGroup *cur, const Lfpb__ConfigGroup *rs,
		  const Lfpb__ConfigGroup *ws)
{
	bool members = !rs || rs->version != ws->version;

	for (size_t i = 0; i < ws->n_values; i++) {
		const Lfpb__ConfigValue *v = ws->values[i]->value;
		const Lfpb__ConfigValue *r = lf_cg_value(rs, ws->values[i]->key);

		if (!(r && r->version == v->version))
			put_value_v(cur, ws->values[i]->key, v->version, v);
	}
	for (size_t i = 0; i < ws->n_policies; i++) {
		const Lfpb__ConfigPolicy *p = ws->policies[i]->value;
		const Lfpb__ConfigPolicy *r = lf_cg_policy(rs, ws->policies[i]->key);

		if (!(r && r->version == p->version))
			put_policy_v(cur, ws->policies[i]->key, p->version, p);
	}
	for (size_t i = 0; i < ws->n_groups; i++) {
		const char *k = ws->groups[i]->key;
		Lfpb__ConfigGroup *cg = lf_cg_group(cur, k);

		if (!cg) {
			lf_cg_put_group(cur, k, lf_cg_dup(ws->groups[i]->value));
			continue;
		}
		merge(cg, lf_cg_group(rs, k), ws->groups[i]->value);
	}
	if (!members)
		return;
	/* membership changed: exactly the write set's members remain */
	for (size_t i = cur->n_groups; i-- > 0;)
		if (!lf_cg_group(ws, cur->groups[i]->key))
			lf_cg_del_group(cur, cur->groups[i]->key);
	for (size_t i = cur->n_values; i-- > 0;) {
		if (lf_cg_value(ws, cur->values[i]->key))
			continue;
		protobuf_c_message_free_unpacked(&cur->values[i]->base, NULL);
		cur->values[i] = cur->values[--cur->n_values];
	}
	for (size_t i = cur->n_policies; i-- > 0;) {
		if (lf_cg_policy(ws, cur->policies[i]->key))
			continue;
		protobuf_c_message_free_unpacked(&cur->policies[i]->base, NULL);
		cur->policies[i] = cur->policies[--cur->n_policies];
	}
	cur->version = ws->version;
	set_mod_policy(cur, ws->mod_policy);
}

static Lfpb__ConfigUpdate *update_unpack(const uint8_t *env, size_t len,
					 Lfpb__ConfigUpdateEnvelope **e,
					 struct lf_err *err)
{
	struct lf_err why = LF_ERR_INIT;
	Lfpb__ConfigUpdate *u = NULL;

	*e = lf_pb_unpack(&lfpb__config_update_envelope__descriptor, len, env,
			  &why);
	if (*e)
		u = lf_pb_unpack(&lfpb__config_update__descriptor,
				 (*e)->config_update.len,
				 (*e)->config_update.data, &why);
	if (u && (!u->read_set || !u->write_set))
		lf_err_set(&why, LF_EINVALID, "no read set or write set");
	if (!u || !u->read_set || !u->write_set) {
		if (u)
			lfpb__config_update__free_unpacked(u, NULL);
		if (*e)
			lfpb__config_update_envelope__free_unpacked(*e, NULL);
		*e = NULL;
		lf_err_set(err, LF_EINVALID, "not a config update envelope, or "
			   "a damaged one (%zu bytes): %s", len, why.msg);
		return NULL;
	}
	return u;
}

Lfpb__ConfigUpdate *lf_update__unpack(const uint8_t *env, size_t len,
				      Lfpb__ConfigUpdateEnvelope **e,
				      struct lf_err *err)
{
	return update_unpack(env, len, e, err);
}

int lf_update_apply(const uint8_t *cur, size_t curlen, const uint8_t *env,
		    size_t envlen, uint8_t **out, size_t *outlen,
		    struct lf_err *err)
{
	Lfpb__ConfigUpdateEnvelope *e = NULL;
	Lfpb__Config *c = config_unpack(cur, curlen, err);
	Lfpb__ConfigUpdate *u = c ? update_unpack(env, envlen, &e, err) : NULL;
	int rc = LF_EINVALID;

	if (u)
		rc = check_read_set(c->channel_group, u->read_set, "/Channel", err);
	if (u && rc == 0) {
		merge(c->channel_group, u->read_set, u->write_set);
		lf_cg_sort(c->channel_group);
		c->sequence++;
		*out = lf_pb_pack(&c->base, outlen);
	}
	if (u)
		lfpb__config_update__free_unpacked(u, NULL);
	if (e)
		lfpb__config_update_envelope__free_unpacked(e, NULL);
	if (c)
		lfpb__config__free_unpacked(c, NULL);
	return rc;
}

/* ---- the update file: a Fabric CONFIG_UPDATE Envelope ---- */
/* env with lf_config replaced by cfg (NULL: removed) */
static int set_context(const uint8_t *env, size_t len, const uint8_t *cfg,
		       size_t cfglen, uint8_t **out, size_t *outlen,
		       Lfpb__ConfigUpdate **u, struct lf_err *err)
{
	Lfpb__ConfigUpdateEnvelope *e = NULL;

	*u = update_unpack(env, len, &e, err);
	if (!*u)
		return LF_EINVALID;
	free(e->lf_config.data);
	e->lf_config.data = cfg ? lf_xmalloc(cfglen ? cfglen : 1) : NULL;
	e->lf_config.len = cfg ? cfglen : 0;
	if (cfg && cfglen)
		memcpy(e->lf_config.data, cfg, cfglen);
	*out = lf_pb_pack(&e->base, outlen);
	lfpb__config_update_envelope__free_unpacked(e, NULL);
	return 0;
}

int lf_update_file_wrap(const uint8_t *env, size_t len, const uint8_t *cfg,
			size_t cfglen, uint8_t **out, size_t *outlen,
			struct lf_err *err)
{
	Lfpb__ConfigUpdate *u = NULL;
	ProtobufCBinaryData data = { 0, NULL }, res;
	int rc = set_context(env, len, cfg, cfglen, &data.data, &data.len, &u,
			     err);

	if (rc)
		return rc;
	lf_gen_envelope(LF_HDR_CONFIG_UPDATE, 0, u->channel_id, data, &res);
	*out = res.data;
	*outlen = res.len;
	free(data.data);
	lfpb__config_update__free_unpacked(u, NULL);
	return 0;
}

/* the ConfigUpdateEnvelope inside a CONFIG_UPDATE Envelope (borrowed
 * from *p); NULL when file is not one */
static const ProtobufCBinaryData *envelope_data(const uint8_t *file, size_t len,
						Lfpb__Envelope **e,
						Lfpb__Payload **p)
{
	Lfpb__ChannelHeader *ch = NULL;
	bool ok = false;

	*p = NULL;
	*e = lf_pb_unpack(&lfpb__envelope__descriptor, len, file, NULL);
	if (*e && (*e)->payload.len)
		*p = lf_pb_unpack(&lfpb__payload__descriptor, (*e)->payload.len,
				  (*e)->payload.data, NULL);
	if (*p && (*p)->header && (*p)->header->channel_header.len)
		ch = lf_pb_unpack(&lfpb__channel_header__descriptor,
				  (*p)->header->channel_header.len,
				  (*p)->header->channel_header.data, NULL);
	ok = ch && ch->type == LF_HDR_CONFIG_UPDATE;
	if (ch)
		lfpb__channel_header__free_unpacked(ch, NULL);
	return ok ? &(*p)->data : NULL;
}

int lf_update_file_open(const uint8_t *file, size_t len, uint8_t **env,
			size_t *envlen, uint8_t **cfg, size_t *cfglen,
			struct lf_err *err)
{
	Lfpb__Envelope *e = NULL;
	Lfpb__Payload *p = NULL;
	const ProtobufCBinaryData *d = envelope_data(file, len, &e, &p);
	Lfpb__ConfigUpdateEnvelope *cue = NULL;
	Lfpb__ConfigUpdate *u;
	int rc = 0;

	/* or a bare ConfigUpdateEnvelope (what older ledgerform wrote) */
	u = update_unpack(d ? d->data : file, d ? d->len : len, &cue, err);
	if (!u) {
		rc = LF_EINVALID;
		goto cleanup;
	}
	*env = lf_pb_pack(&cue->base, envlen);
	*cfg = NULL;
	*cfglen = 0;
	if (cue->lf_config.len) {
		*cfg = lf_xmalloc(cue->lf_config.len);
		memcpy(*cfg, cue->lf_config.data, cue->lf_config.len);
		*cfglen = cue->lf_config.len;
	}
	lfpb__config_update__free_unpacked(u, NULL);
	lfpb__config_update_envelope__free_unpacked(cue, NULL);
cleanup:
	if (p)
		lfpb__payload__free_unpacked(p, NULL);
	if (e)
		lfpb__envelope__free_unpacked(e, NULL);
	return rc;
}

/* the update as submitted: without lf_config, for channel */
static int submitted_form(const uint8_t *env, size_t len, const char *channel,
			  ProtobufCBinaryData *data, struct lf_err *err)
{
	Lfpb__ConfigUpdate *u = NULL;
	int rc = set_context(env, len, NULL, 0, &data->data, &data->len, &u, err);

	if (rc == 0 && channel && !lf_streq(u->channel_id, channel))
		rc = lf_err_set(err, LF_EINVALID, "config update is for channel "
				"'%s', not '%s'", u->channel_id, channel);
	if (u)
		lfpb__config_update__free_unpacked(u, NULL);
	if (rc) {
		free(data->data);
		data->data = NULL;
	}
	return rc;
}

int lf_update_envelope(const uint8_t *env, size_t len, const char *channel,
		       uint8_t **out, size_t *outlen, struct lf_err *err)
{
	ProtobufCBinaryData data = { 0, NULL };
	int rc = submitted_form(env, len, channel, &data, err);

	if (rc == 0)
		rc = lf_update_file_wrap(data.data, data.len, NULL, 0, out, outlen,
					 err);
	free(data.data);
	return rc;
}

int lf_update_envelope_signed(const uint8_t *env, size_t len,
			      const char *channel, const char *mspdir,
			      const char *mspid, uint8_t **out,
			      size_t *outlen, struct lf_err *err)
{
	ProtobufCBinaryData data = { 0, NULL };
	struct lf_envelope_req r = { LF_HDR_CONFIG_UPDATE, channel, NULL, 0,
				     mspdir, mspid, NULL };
	int rc = submitted_form(env, len, channel, &data, err);

	*out = NULL;
	*outlen = 0;
	r.data = data.data;
	r.len = data.len;
	if (rc == 0)
		rc = lf_envelope_sign(&r, out, outlen, err);
	free(data.data);
	return rc;
}

/* ---- describing an update (what `sign` shows before signing) ---- */
static void describe_value(struct lf_buf *b, const char *k,
			   const Lfpb__ConfigValue *v)
{
	if (strcmp(k, "AnchorPeers") == 0) {
		Lfpb__AnchorPeers *ap = lf_pb_unpack(&lfpb__anchor_peers__descriptor,
			v->value.len, v->value.data, NULL);

		lf_buf_printf(b, " [");
		for (size_t i = 0; ap && i < ap->n_anchor_peers; i++)
			lf_buf_printf(b, "%s%s:%d", i ? ", " : "",
				      ap->anchor_peers[i]->host,
				      ap->anchor_peers[i]->port);
		lf_buf_printf(b, "]");
		if (ap)
			lfpb__anchor_peers__free_unpacked(ap, NULL);
	} else if (strcmp(k, "BatchSize") == 0) {
		Lfpb__BatchSize *bs = lf_pb_unpack(&lfpb__batch_size__descriptor, v->value.len,
							       v->value.data, NULL);

		if (bs)
			lf_buf_printf(b, " [max_message_count %u, absolute_max_bytes "
				      "%u, preferred_max_bytes %u]",
				      bs->max_message_count, bs->absolute_max_bytes,
				      bs->preferred_max_bytes);
		if (bs)
			lfpb__batch_size__free_unpacked(bs, NULL);
	} else if (strcmp(k, "BatchTimeout") == 0) {
		Lfpb__BatchTimeout *bt = lf_pb_unpack(&lfpb__batch_timeout__descriptor,
			v->value.len, v->value.data, NULL);

		if (bt)
			lf_buf_printf(b, " [%s]", bt->timeout);
		if (bt)
			lfpb__batch_timeout__free_unpacked(bt, NULL);
	} else if (strcmp(k, "ConsensusType") == 0) {
		Lfpb__ConsensusType *ct = lf_pb_unpack(&lfpb__consensus_type__descriptor,
			v->value.len, v->value.data, NULL);
		Lfpb__RaftConfigMetadata *md = NULL;

		if (ct && lf_streq(ct->type, "etcdraft"))
			md = lf_pb_unpack(&lfpb__raft_config_metadata__descriptor,
				ct->metadata.len, ct->metadata.data, NULL);
		lf_buf_printf(b, " [%s", ct ? ct->type : "?");
		for (size_t i = 0; md && i < md->n_consenters; i++)
			lf_buf_printf(b, "%s%s:%u", i ? ", " : "; consenters ",
				      md->consenters[i]->host,
				      md->consenters[i]->port);
		lf_buf_printf(b, "]");
		if (md)
			lfpb__raft_config_metadata__free_unpacked(md, NULL);
		if (ct)
			lfpb__consensus_type__free_unpacked(ct, NULL);
	}
}

static void describe_walk(struct lf_buf *b, const Lfpb__ConfigGroup *rs,
			  const Lfpb__ConfigGroup *ws, const char *path)
{
	if (!rs) {
		lf_buf_printf(b, "  + add %s (new group", path);
		for (size_t i = 0; i < ws->n_values; i++)
			lf_buf_printf(b, "%s%s", i ? ", " : ": ", ws->values[i]->key);
		lf_buf_printf(b, ")\n");
		return;
	}
	if (rs->version != ws->version) {
		lf_buf_printf(b, "  ~ %s: members change (version %llu -> %llu); "
			      "groups after the update:", path,
			      (unsigned long long)rs->version,
			      (unsigned long long)ws->version);
		for (size_t i = 0; i < ws->n_groups; i++)
			lf_buf_printf(b, " %s", ws->groups[i]->key);
		lf_buf_printf(b, "%s\n", ws->n_groups ? "" : " none");
	}
	for (size_t i = 0; i < ws->n_values; i++) {
		const Lfpb__ConfigValue *v = ws->values[i]->value;
		const Lfpb__ConfigValue *r = lf_cg_value(rs, ws->values[i]->key);

		if (r && r->version == v->version)
			continue;
		lf_buf_printf(b, "  ~ set value %s/%s (version %llu)", path,
			      ws->values[i]->key, (unsigned long long)v->version);
		describe_value(b, ws->values[i]->key, v);
		lf_buf_printf(b, "\n");
	}
	for (size_t i = 0; i < ws->n_policies; i++) {
		const Lfpb__ConfigPolicy *p = ws->policies[i]->value;
		const Lfpb__ConfigPolicy *r = lf_cg_policy(rs, ws->policies[i]->key);
		char *d;

		if (r && r->version == p->version)
			continue;
		d = lf_policy_describe(p->policy);
		lf_buf_printf(b, "  ~ set policy %s/%s = %s\n", path,
			      ws->policies[i]->key, d);
		free(d);
	}
	for (size_t i = 0; i < ws->n_groups; i++) {
		char *sub = lf_xasprintf("%s/%s", path, ws->groups[i]->key);

		describe_walk(b, lf_cg_group(rs, ws->groups[i]->key),
			      ws->groups[i]->value, sub);
		free(sub);
	}
}

int lf_update_describe(const uint8_t *env, size_t len, char **out,
		       struct lf_err *err)
{
	Lfpb__ConfigUpdateEnvelope *e = NULL;
	Lfpb__ConfigUpdate *u = update_unpack(env, len, &e, err);
	struct lf_buf b = LF_BUF_INIT;
	char hex[65];

	if (!u)
		return LF_EINVALID;
	lf_sha256_hex(e->config_update.data, e->config_update.len, hex);
	lf_buf_printf(&b, "config update for channel '%s' (sha256 %.16s, %zu "
		      "signature%s so far)\n", u->channel_id, hex,
		      e->n_signatures, e->n_signatures == 1 ? "" : "s");
	describe_walk(&b, u->read_set, u->write_set, "Channel");
	*out = b.data;
	lfpb__config_update__free_unpacked(u, NULL);
	lfpb__config_update_envelope__free_unpacked(e, NULL);
	return 0;
}

int lf_block_config_bytes(const uint8_t *block, size_t len, uint8_t **out,
			  size_t *outlen, struct lf_err *err)
{
	Lfpb__Block *b = lf_pb_unpack(&lfpb__block__descriptor, len, block, NULL);
	Lfpb__Envelope *e = NULL;
	Lfpb__Payload *p = NULL;
	Lfpb__ConfigEnvelope *ce = NULL;
	int rc = 0;

	if (b && b->data && b->data->n_data == 1)
		e = lf_pb_unpack(&lfpb__envelope__descriptor, b->data->data[0].len,
					   b->data->data[0].data, NULL);
	if (e)
		p = lf_pb_unpack(&lfpb__payload__descriptor, e->payload.len,
				 e->payload.data, NULL);
	if (p)
		ce = lf_pb_unpack(&lfpb__config_envelope__descriptor,
				  p->data.len, p->data.data, NULL);
	if (!ce || !ce->config || !ce->config->channel_group)
		rc = lf_err_set(err, LF_EINVALID, "not a config block (%zu bytes)",
				len);
	else
		*out = lf_pb_pack(&ce->config->base, outlen);
	if (ce)
		lfpb__config_envelope__free_unpacked(ce, NULL);
	if (p)
		lfpb__payload__free_unpacked(p, NULL);
	if (e)
		lfpb__envelope__free_unpacked(e, NULL);
	if (b)
		lfpb__block__free_unpacked(b, NULL);
	return rc;
}
