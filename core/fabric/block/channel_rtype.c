/*
 * The `channel` resource type. create renders the genesis block
 * (channels_dir/NAME.block) and records the channel config
 * (NAME.config.pb). update computes the config update from the recorded
 * config to the desired one (NAME.update.pb, a Fabric CONFIG_UPDATE
 * Envelope carrying the config it applies to, that org admins sign with
 * `ledgerform sign` or `peer channel signconfigtx`); once the collected
 * signatures satisfy the mod policies it submits it, writes the envelope
 * (NAME.update.envelope.pb) and records the new config, otherwise it
 * returns LF_EPENDING naming who must sign. Callbacks keep no state and touch
 * only their channel's files: safe on concurrent worker threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/fabric/block/genesis.h"
#include "core/net/join.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/resource.h"

#define LF_SYSTEM_CHANNEL "system-channel"

/* ---- expansion ---- */
static json_t *org_json(const struct lf_org *o)
{
	json_t *ap = json_array();

	for (size_t i = 0; i < o->nanchor_peers; i++) {
		for (size_t k = 0; k < o->nnodes; k++) {
			const struct lf_node *n = &o->nodes[k];
			char *h;

			if (!lf_streq(n->name, o->anchor_peers[i]))
				continue;
			h = lf_gen_node_host(o, n);
			json_array_append_new(ap, json_sprintf("%s:%u",
				n->address ? n->address : h, n->port));
			free(h);
		}
	}
	return json_pack("{s:s, s:s, s:o}", "name", o->name, "mspid", o->mspid,
			 "anchor_peers", ap);
}

static json_t *batch_json(const struct lf_batch *b)
{
	return json_pack("{s:I, s:I, s:I, s:I}",
		"timeout_ms", (json_int_t)(b->timeout_ms ? b->timeout_ms : 2000),
		"max_message_count", (json_int_t)(b->max_message_count ?
						  b->max_message_count : 10),
		"absolute_max_bytes", (json_int_t)(b->absolute_max_bytes ?
						   b->absolute_max_bytes : 103809024),
		"preferred_max_bytes", (json_int_t)(b->preferred_max_bytes ?
						    b->preferred_max_bytes : 524288));
}

static json_t *channel_attrs(const struct lf_spec *spec,
			     const struct lf_channel *ch, const char *kind,
			     const struct lf_gen_cons *c, size_t nc)
{
	json_t *orgs = json_array(), *cons = json_array(), *pols = json_array();
	const char *cc, *oc, *ac;

	for (size_t i = 0; i < ch->norgs; i++) {
		const struct lf_org *o = lf_gen_org(spec, ch->orgs[i]);

		if (o)
			json_array_append_new(orgs, org_json(o));
	}
	for (size_t i = 0; i < nc; i++) {
		char *h = lf_gen_node_host(c[i].org, c[i].node);

		json_array_append_new(cons, json_pack("{s:s, s:s, s:s, s:s, s:i}",
			"org", c[i].org->name, "mspid", c[i].org->mspid,
			"node", c[i].node->name, "host",
			c[i].node->address ? c[i].node->address : h,
			"port", (int)c[i].node->port));
		free(h);
	}
	for (size_t i = 0; i < ch->npolicies; i++)
		json_array_append_new(pols, json_pack("{s:s, s:s, s:s}",
			"path", ch->policies[i].path, "type", ch->policies[i].type,
			"rule", ch->policies[i].rule));
	lf_gen_capabilities(spec, &cc, &oc, &ac);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:s, s:s, s:s}}",
		"channel", ch->name, "kind", kind,
		"consensus", lf_consensus_name(spec->consensus),
		"fabric_version", spec->fabric_version ? spec->fabric_version : "",
		"orgs", orgs, "consenters", cons, "batch", batch_json(&ch->batch),
		"policies", pols, "capabilities", "channel", cc, "orderer", oc,
		"application", ac);
}

static void add_dep_fmt(struct lf_resource *r, const char *org, const char *what)
{
	char *a = lf_xasprintf("crypto.%s.%s", org, what);

	lf_resource_add_dep(r, a);
	free(a);
}

static int expand_one(const struct lf_spec *spec, const struct lf_channel *ch,
		      struct lf_rset *rs, struct lf_err *err)
{
	struct lf_gen_cons *c = NULL;
	size_t nc = 0;
	struct lf_resource *r;
	char *addr;
	int rc = lf_gen_consenters(spec, ch, &c, &nc, err);

	if (rc)
		return rc;
	addr = lf_xasprintf("channel.%s", ch->name);
	r = lf_rset_add(rs, addr, channel_attrs(spec, ch, "application", c, nc));
	if (!r) {
		rc = lf_err_set(err, LF_ECONFLICT, "duplicate resource address "
				"'%s'", addr);
		goto cleanup;
	}
	for (size_t i = 0; i < ch->norgs; i++)
		add_dep_fmt(r, ch->orgs[i], "msp");
	for (size_t i = 0; i < nc; i++) {
		add_dep_fmt(r, c[i].org->name, "msp");
		add_dep_fmt(r, c[i].org->name, c[i].node->name);
	}
cleanup:
	free(addr);
	free(c);
	return rc;
}

/* Kafka: the orderer system channel (consortium of every peer org) as
 * resource channel.system-channel; application channels depend on it */
static int expand_system(const struct lf_spec *spec, struct lf_rset *rs,
			 struct lf_err *err)
{
	struct lf_channel sys;
	struct lf_resource *r;
	struct lf_gen_cons *c = NULL;
	size_t nc = 0;
	json_t *attrs, *orgs = json_array();
	int rc;

	memset(&sys, 0, sizeof(sys));
	sys.name = LF_SYSTEM_CHANNEL;
	rc = lf_gen_consenters(spec, &sys, &c, &nc, err);
	if (rc)
		return rc;
	attrs = channel_attrs(spec, &sys, "system", c, nc);
	for (size_t i = 0; i < spec->norgs; i++)
		if (spec->orgs[i].npeers)
			json_array_append_new(orgs, org_json(&spec->orgs[i]));
	json_object_set_new(attrs, "orgs", orgs);
	r = lf_rset_add(rs, "channel." LF_SYSTEM_CHANNEL, attrs);
	if (!r)
		rc = lf_err_set(err, LF_ECONFLICT, "duplicate resource address "
				"'channel.%s'", LF_SYSTEM_CHANNEL);
	for (size_t i = 0; r && i < spec->norgs; i++)
		if (spec->orgs[i].npeers)
			add_dep_fmt(r, spec->orgs[i].name, "msp");
	for (size_t i = 0; r && i < nc; i++) {
		add_dep_fmt(r, c[i].org->name, "msp");
		add_dep_fmt(r, c[i].org->name, c[i].node->name);
	}
	free(c);
	return rc;
}

int lf_channel_expand(const struct lf_spec *spec, struct lf_rset *rs,
		      struct lf_err *err)
{
	bool kafka = spec->consensus == LF_CONSENSUS_KAFKA;
	int rc = kafka ? expand_system(spec, rs, err) : 0;

	for (size_t i = 0; rc == 0 && i < spec->nchannels; i++) {
		rc = expand_one(spec, &spec->channels[i], rs, err);
		if (rc == 0 && kafka) {
			char *a = lf_xasprintf("channel.%s", spec->channels[i].name);

			lf_resource_add_dep(lf_rset_get(rs, a),
					    "channel." LF_SYSTEM_CHANNEL);
			free(a);
		}
	}
	return rc;
}

/* ---- files ---- */
static const char *attr_name(const struct lf_resource *r)
{
	return json_string_value(json_object_get(r->attrs, "channel"));
}

static char *chan_file(const struct lf_apply_env *env, const char *name,
		       const char *suffix)
{
	return lf_xasprintf("%s/%s%s", env->channels_dir, name, suffix);
}

/* a channel's recorded config, validated before any use: a damaged one
 * (a map entry that lost its value, a truncated file) is refused */
static int read_recorded(const char *path, char **cur, size_t *len,
			 struct lf_err *err)
{
	struct lf_err why = LF_ERR_INIT;
	Lfpb__Config *c;
	int rc = lf_read_file(path, cur, len, err);

	if (rc)
		return rc;
	c = lf_pb_unpack(&lfpb__config__descriptor, *len, (uint8_t *)*cur, &why);
	if (c && !c->channel_group)
		lf_err_set(&why, LF_EINVALID, "no channel group");
	else if (c)
		rc = 1;
	if (c)
		lfpb__config__free_unpacked(c, NULL);
	if (rc == 1)
		return 0;
	free(*cur);
	*cur = NULL;
	*len = 0;
	return lf_err_set(err, LF_EINVALID, "recorded channel config '%s' is "
			  "damaged (%s): restore it from the channel's latest "
			  "config block", path, why.msg);
}

/* path relative to the work dir when it lies below it */
static char *rel_path(const struct lf_apply_env *env, const char *path)
{
	size_t n = env->workdir ? strlen(env->workdir) : 0;

	if (n && strncmp(path, env->workdir, n) == 0 && path[n] == '/')
		return lf_xstrdup(path + n + 1);
	return lf_xstrdup(path);
}

static bool same_bytes(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	return la == lb && memcmp(a, b, la) == 0;
}

static json_t *outputs_for(const struct lf_apply_env *env, const char *block,
			   const uint8_t *blk, size_t blen, uint64_t seq)
{
	char hex[65], *rel = rel_path(env, block);
	json_t *o;

	lf_sha256_hex(blk, blen, hex);
	o = json_pack("{s:s, s:s, s:I}", "block", rel, "block_sha256", hex,
		      "config_sequence", (json_int_t)seq);
	free(rel);
	return o;
}

/* an existing genesis block whose config is the desired one is kept:
 * orderers may have joined with it already */
static bool reuse_block(const char *path, const uint8_t *cfg, size_t cfglen,
			uint8_t **blk, size_t *blen)
{
	char *data = NULL;
	size_t len = 0;
	uint8_t *have = NULL;
	size_t hlen = 0;
	bool ok = false;

	if (!lf_path_exists(path) || lf_read_file(path, &data, &len, NULL) != 0)
		return false;
	if (lf_block_config_bytes((uint8_t *)data, len, &have, &hlen, NULL) == 0)
		ok = same_bytes(have, hlen, cfg, cfglen);
	free(have);
	if (ok) {
		*blk = (uint8_t *)data;
		*blen = len;
	} else {
		free(data);
	}
	return ok;
}

static bool is_kafka(const struct lf_resource *r)
{
	return lf_streq(json_string_value(json_object_get(r->attrs, "consensus")),
			"kafka");
}

static bool is_system(const struct lf_resource *r)
{
	return lf_streq(json_string_value(json_object_get(r->attrs, "kind")),
			"system");
}

/* Kafka: the system channel's genesis block, or an application
 * channel's creation transaction (NAME.tx) */
static int kafka_create(const struct lf_apply_env *env,
			const struct lf_resource *desired, const char *name,
			json_t **outputs, struct lf_err *err)
{
	bool sys = is_system(desired);
	char *path = chan_file(env, name, sys ? ".block" : ".tx"), *rel, hex[65];
	uint8_t *b = NULL;
	size_t len = 0;
	int rc = lf_mkdirs(env->channels_dir, 0755, err);

	if (rc == 0 && sys)
		rc = lf_block_system_genesis(env->spec, name, env->crypto_dir, &b,
					     &len, err);
	else if (rc == 0)
		rc = lf_block_channel_tx(env->spec, name, env->crypto_dir, &b, &len,
					 err);
	if (rc == 0)
		rc = lf_write_file_atomic(path, b, len, 0644, err);
	if (rc == 0 && sys) {
		*outputs = outputs_for(env, path, b, len, 0);
	} else if (rc == 0) {
		lf_sha256_hex(b, len, hex);
		rel = rel_path(env, path);
		*outputs = json_pack("{s:s, s:s}", "channel_tx", rel, "tx_sha256", hex);
		free(rel);
	}
	free(b);
	free(path);
	return rc;
}

static int channel_create(const struct lf_apply_env *env,
			  const struct lf_resource *desired, json_t **outputs,
			  struct lf_err *err)
{
	const char *name = attr_name(desired);
	char *block = NULL, *cfgp = NULL;
	uint8_t *blk = NULL, *cfg = NULL;
	size_t blen = 0, cfglen = 0;
	int rc;

	if (!name || !env->spec)
		return lf_err_set(err, LF_EINVALID, "channel resource '%s' has no "
				  "channel name or spec", desired->addr);
	if (is_kafka(desired))
		return kafka_create(env, desired, name, outputs, err);
	rc = lf_mkdirs(env->channels_dir, 0755, err);
	if (rc == 0)
		rc = lf_block_config_for(env->spec, name, env->crypto_dir, &cfg,
					 &cfglen, err);
	block = chan_file(env, name, ".block");
	cfgp = chan_file(env, name, ".config.pb");
	if (rc == 0 && !reuse_block(block, cfg, cfglen, &blk, &blen)) {
		rc = lf_block_genesis(env->spec, name, env->crypto_dir, &blk, &blen,
				      err);
		if (rc == 0)
			rc = lf_write_file_atomic(block, blk, blen, 0644, err);
	}
	if (rc == 0)
		rc = lf_write_file_atomic(cfgp, cfg, cfglen, 0644, err);
	if (rc == 0)
		*outputs = outputs_for(env, block, blk, blen, 0);
	free(blk);
	free(cfg);
	free(block);
	free(cfgp);
	return rc;
}

/* the ConfigUpdateEnvelope of an update file (NULL when absent) */
static int read_update_file(const char *path, char **env, size_t *len,
			    struct lf_err *err)
{
	char *data = NULL;
	size_t dlen = 0;
	uint8_t *cfg = NULL;
	size_t cfglen = 0;
	int rc = lf_read_file(path, &data, &dlen, err);

	if (rc == 0)
		rc = lf_update_file_open((uint8_t *)data, dlen, (uint8_t **)env,
					 len, &cfg, &cfglen, err);
	free(cfg);
	free(data);
	return rc;
}

/* how a pending update file compares with a freshly computed update:
 * -1 absent or unsigned (replace it), 0 same config_update (keep it and
 * its signatures), else the number of signatures it carries (a file
 * that does not decode counts as signed: it is not ours to drop) */
static long pending_update(const char *path, const uint8_t *env, size_t len)
{
	char *data = NULL;
	size_t dlen = 0;
	Lfpb__ConfigUpdateEnvelope *a = NULL, *b = NULL;
	Lfpb__ConfigUpdate *ua = NULL, *ub;
	long r = 1;

	if (!lf_path_exists(path))
		return -1;
	if (read_update_file(path, &data, &dlen, NULL) == 0)
		ua = lf_update__unpack((uint8_t *)data, dlen, &a, NULL);
	ub = lf_update__unpack(env, len, &b, NULL);
	if (ua && ub && same_bytes(a->config_update.data, a->config_update.len,
				   b->config_update.data, b->config_update.len))
		r = 0;
	else if (ua)
		r = a->n_signatures ? (long)a->n_signatures : -1;
	if (ua)
		lfpb__config_update__free_unpacked(ua, NULL);
	if (ub)
		lfpb__config_update__free_unpacked(ub, NULL);
	if (a)
		lfpb__config_update_envelope__free_unpacked(a, NULL);
	if (b)
		lfpb__config_update_envelope__free_unpacked(b, NULL);
	free(data);
	return r;
}

/* write the freshly computed update (with the config it applies to, for
 * signers elsewhere); a signed, unsubmitted update for another change is
 * never overwritten: refused, naming it */
static int put_update(const char *path, const uint8_t *upd, size_t ulen,
		      const char *cur, size_t curlen, struct lf_err *err)
{
	long p = pending_update(path, upd, ulen);
	uint8_t *file = NULL;
	size_t flen = 0;
	int rc;

	if (p == 0)
		return 0;
	if (p > 0)
		return lf_err_set(err, LF_ECONFLICT, "'%s' holds %ld signature%s "
				  "for an earlier change that was not submitted, "
				  "and the spec now asks for another one; submit "
				  "it first (apply the spec it was made for), or "
				  "delete the file to discard its signatures, then "
				  "apply again", path, p, p == 1 ? "" : "s");
	rc = lf_update_file_wrap(upd, ulen, (const uint8_t *)cur, curlen, &file,
				 &flen, err);
	if (rc == 0)
		rc = lf_write_file_atomic(path, file, flen, 0644, err);
	free(file);
	return rc;
}

struct upd_files {
	char *cfg, *upd, *envp, *block;
	char *cur, *sig;          /* file contents */
	size_t curlen, siglen;
};

static void files_free(struct upd_files *f)
{
	free(f->cfg);
	free(f->upd);
	free(f->envp);
	free(f->block);
	free(f->cur);
	free(f->sig);
}

/* the config block the orderers cut for the update, kept beside the
 * genesis block: an orderer that joins later joins with it */
static int keep_config_block(const struct lf_apply_env *env, const char *name,
			     const uint8_t *blk, size_t blen, json_t *outputs,
			     struct lf_err *err)
{
	char *path = chan_file(env, name, ".config.block"), *rel;
	int rc = lf_write_file_atomic(path, blk, blen, 0644, err);

	if (rc == 0) {
		rel = rel_path(env, path);
		json_object_set_new(outputs, "config_block", json_string(rel));
		free(rel);
	}
	free(path);
	return rc;
}

/* the prior outputs, without a pending update (a new object) */
static json_t *prior_outputs(const struct lf_resource *prior)
{
	json_t *o = prior->outputs ? json_deep_copy(prior->outputs) : NULL;

	if (!o)
		o = json_object();
	json_object_del(o, "pending_update");
	return o;
}

/* signatures satisfy the policies: the update goes to a running orderer
 * and counts as made only once its config block is delivered; then the
 * new config is recorded and the signed update file retired. A refused
 * or failed submission keeps the update file (and its signatures) and the
 * recorded config as they were. With no orderer running (nodes not
 * started) nothing is sent and outputs say so. */
static int finish_update(const struct lf_apply_env *env, const char *name,
			 struct upd_files *f, const struct lf_resource *prior,
			 const struct lf_resource *desired, json_t **outputs,
			 struct lf_err *err)
{
	uint8_t *envb = NULL, *next = NULL, *blk = NULL;
	size_t envlen = 0, nlen = 0, blen = 0;
	Lfpb__Config *c = NULL;
	bool submitted = false;
	char *rel;
	int rc = lf_update_envelope((uint8_t *)f->sig, f->siglen, name, &envb,
				    &envlen, err);

	if (rc == 0)
		rc = lf_update_apply((uint8_t *)f->cur, f->curlen, (uint8_t *)f->sig,
				     f->siglen, &next, &nlen, err);
	if (rc == 0) {
		c = lf_pb_unpack(&lfpb__config__descriptor, nlen, next, NULL);
		if (!c)
			rc = lf_err_set(err, LF_ERROR, "channel '%s': the updated config "
					"does not decode", name);
	}
	if (rc == 0)
		rc = lf_net_submit_update(env, desired, (uint8_t *)f->sig, f->siglen,
					  c->sequence, &blk, &blen, &submitted, err);
	if (rc == 0) {
		*outputs = prior_outputs(prior);
		json_object_set_new(*outputs, "config_sequence",
				    json_integer((json_int_t)c->sequence));
		json_object_set_new(*outputs, "submitted", json_boolean(submitted));
		if (submitted)
			rc = keep_config_block(env, name, blk, blen, *outputs, err);
	}
	if (rc == 0)
		rc = lf_write_file_atomic(f->envp, envb, envlen, 0644, err);
	if (rc == 0)
		rc = lf_write_file_atomic(f->cfg, next, nlen, 0644, err);
	if (rc == 0) {
		rel = rel_path(env, f->envp);
		json_object_set_new(*outputs, "update_envelope", json_string(rel));
		free(rel);
		unlink(f->upd);
	} else if (*outputs) {
		json_decref(*outputs);
		*outputs = NULL;
	}
	if (c)
		lfpb__config__free_unpacked(c, NULL);
	free(envb);
	free(next);
	free(blk);
	return rc;
}

/* the signatures do not satisfy the policies yet: not a failure but a
 * wait (LF_EPENDING); the record keeps the prior config with outputs
 * naming the update file and who must sign, err the next steps */
static int waiting(const struct lf_apply_env *env, const struct lf_resource *prior,
		   const struct upd_files *f, json_t **outputs, struct lf_err *err)
{
	char *rel = rel_path(env, f->upd);
	char *m = lf_xasprintf("%s; next: each admin still needed runs `ledgerform "
			       "sign %s --msp <admin msp dir>` (or `peer channel "
			       "signconfigtx -f %s`), then `ledgerform apply` submits "
			       "it", err->msg, f->upd, f->upd);
	json_t *p = json_pack("{s:s, s:s}", "file", rel, "needs", err->msg);

	*outputs = prior_outputs(prior);
	json_object_set_new(*outputs, "pending_update", p);
	lf_err_clear(err);
	lf_err_set(err, LF_EPENDING, "%s", m);
	free(m);
	free(rel);
	return LF_EPENDING;
}

static int channel_update(const struct lf_apply_env *env,
			  const struct lf_resource *prior,
			  const struct lf_resource *desired, json_t **outputs,
			  struct lf_err *err)
{
	const char *name = attr_name(desired);
	struct upd_files f;
	uint8_t *upd = NULL;
	size_t ulen = 0;
	int rc;

	memset(&f, 0, sizeof(f));
	if (!name || !env->spec)
		return lf_err_set(err, LF_EINVALID, "channel resource '%s' has no "
				  "channel name or spec", desired->addr);
	if (is_kafka(desired))
		return lf_err_set(err, LF_EUNSUPPORTED, "channel '%s': ledgerform "
				  "does not compute config updates for Kafka "
				  "channels; recreate the network or migrate it "
				  "to etcdraft", name);
	f.cfg = chan_file(env, name, ".config.pb");
	f.upd = chan_file(env, name, ".update.pb");
	f.envp = chan_file(env, name, ".update.envelope.pb");
	if (!lf_path_exists(f.cfg)) {
		rc = lf_err_set(err, LF_ENOTFOUND, "channel '%s': no recorded "
				"config at '%s' to compute the update from (was "
				"the channel created by ledgerform?)", name, f.cfg);
		goto cleanup;
	}
	rc = read_recorded(f.cfg, &f.cur, &f.curlen, err);
	if (rc == 0)
		rc = lf_update_compute((uint8_t *)f.cur, f.curlen, env->spec, name,
				       env->crypto_dir, &upd, &ulen, NULL, err);
	if (rc == LF_ENOTFOUND) {        /* config already as desired */
		lf_err_clear(err);
		*outputs = prior_outputs(prior);
		rc = 0;
		goto cleanup;
	}
	if (rc == 0)
		rc = put_update(f.upd, upd, ulen, f.cur, f.curlen, err);
	if (rc == 0)
		rc = read_update_file(f.upd, &f.sig, &f.siglen, err);
	if (rc == 0)
		rc = lf_update_check((uint8_t *)f.cur, f.curlen, (uint8_t *)f.sig,
				     f.siglen, err);
	if (rc == LF_EAUTH)
		rc = waiting(env, prior, &f, outputs, err);
	if (rc == 0)
		rc = finish_update(env, name, &f, prior, desired, outputs, err);
cleanup:
	free(upd);
	files_free(&f);
	return rc;
}

static int channel_delete(const struct lf_apply_env *env,
			  const struct lf_resource *prior, struct lf_err *err)
{
	static const char *const sfx[] = { ".block", ".config.pb", ".update.pb",
		".update.envelope.pb", ".update.pb.replaced", ".tx" };
	const char *name = attr_name(prior);

	if (!name)
		return 0;
	for (size_t i = 0; i < LF_ARRAY_LEN(sfx); i++) {
		char *p = chan_file(env, name, sfx[i]);

		if (unlink(p) != 0 && lf_path_exists(p)) {
			int rc = lf_err_sys(err, LF_ERROR, "cannot remove '%s'", p);

			free(p);
			return rc;
		}
		free(p);
	}
	return 0;
}

static bool channel_in_place(const struct lf_apply_env *env,
			     const struct lf_resource *prior, const char *key)
{
	return !lf_streq(key, "channel") && !lf_streq(key, "consensus") &&
	       !lf_streq(key, "kind");
}

/* A live channel's consensus type or channel id is not something a config
 * update made here can change: a replace would write a new genesis block
 * for a channel whose ledger already exists. Refuse the plan instead. */
static char *channel_refuse(const struct lf_apply_env *env,
			    const struct lf_resource *prior,
			    const struct lf_resource *desired)
{
	const char *was;
	const char *now = json_string_value(json_object_get(desired->attrs, "consensus"));
	const char *name = attr_name(desired);
	struct lf_err err = LF_ERR_INIT;
	char *cfgp, *cur = NULL, *why = NULL;
	size_t len = 0;

	if (!prior) /* a create: nothing live to protect */
		return NULL;
	was = json_string_value(json_object_get(prior->attrs, "consensus"));
	if (was && now && !lf_streq(was, now))
		return lf_xasprintf("%s: the consensus type of a live channel cannot change "
				    "(%s -> %s); use Fabric's consensus migration, or a new channel",
				    desired->addr, was, now);
	if (!name || !env || !env->channels_dir)
		return NULL;
	cfgp = chan_file(env, name, ".config.pb");
	if (lf_path_exists(cfgp) &&
	    read_recorded(cfgp, &cur, &len, &err) == LF_EINVALID)
		why = lf_xasprintf("%s: %s", desired->addr, err.msg);
	free(cur);
	free(cfgp);
	return why;
}

/* ---- plan note ---- */
static bool in_list(const json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
		if (lf_streq(json_string_value(json_object_get(e, key)), val))
			return true;
	return false;
}

static void note_orgs(struct lf_buf *b, const json_t *pa, const json_t *da,
		      bool *members, json_t *anchors)
{
	size_t i;
	json_t *e;

	json_array_foreach(da, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (!in_list(pa, "name", n)) {
			lf_buf_printf(b, "%sadd org %s", b->len ? ", " : "", n);
			*members = true;
		}
	}
	json_array_foreach(pa, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));
		json_t *d = NULL, *x;
		size_t k;

		if (!in_list(da, "name", n)) {
			lf_buf_printf(b, "%sremove org %s", b->len ? ", " : "", n);
			*members = true;
			continue;
		}
		json_array_foreach(da, k, x)
			if (lf_streq(json_string_value(json_object_get(x, "name")), n))
				d = x;
		if (d && !json_equal(json_object_get(e, "anchor_peers"),
				     json_object_get(d, "anchor_peers"))) {
			lf_buf_printf(b, "%sanchor peers of %s", b->len ? ", " : "", n);
			json_array_append(anchors, json_object_get(e, "mspid"));
		}
	}
}

/* "needs ..." from the recorded config when there is one */
static char *note_needs(const struct lf_apply_env *env, const char *name)
{
	char *cfgp = chan_file(env, name, ".config.pb"), *cur = NULL, *needs = NULL;
	size_t curlen = 0, ulen = 0;
	uint8_t *upd = NULL;

	if (env->spec && lf_read_file(cfgp, &cur, &curlen, NULL) == 0 &&
	    lf_update_compute((uint8_t *)cur, curlen, env->spec, name,
			      env->crypto_dir, &upd, &ulen, NULL, NULL) == 0)
		(void)lf_update__needs((uint8_t *)cur, curlen, upd, ulen, true,
				       &needs, NULL);
	free(upd);
	free(cur);
	free(cfgp);
	return needs;
}

/* without the desired crypto on disk yet (plan before apply): the mod
 * policies the change will meet, from the recorded config alone */
static void estimate_one(struct lf_buf *b, const Lfpb__ConfigGroup *g)
{
	struct lf_eval ev;

	if (g && lf_policy_eval(g, "Admins", NULL, 0, &ev, NULL) == 0 && ev.brief &&
	    !strstr(b->data ? b->data : "", ev.brief))
		lf_buf_printf(b, "%s%s", b->len ? "; " : "", ev.brief);
	lf_eval_clear(&ev);
}

static char *note_estimate(const struct lf_apply_env *env, const char *name,
			   bool members, bool orderer, const json_t *anchors)
{
	char *cfgp = chan_file(env, name, ".config.pb"), *cur = NULL;
	size_t curlen = 0, i;
	Lfpb__Config *c = NULL;
	const Lfpb__ConfigGroup *app;
	struct lf_buf b = LF_BUF_INIT;
	json_t *m;

	if (lf_read_file(cfgp, &cur, &curlen, NULL) == 0)
		c = lf_pb_unpack(&lfpb__config__descriptor, curlen,
				 (uint8_t *)cur, NULL);
	app = c ? lf_cg_group(c->channel_group, "Application") : NULL;
	if (c && members)
		estimate_one(&b, app);
	if (c && orderer)
		estimate_one(&b, lf_cg_group(c->channel_group, "Orderer"));
	json_array_foreach(anchors, i, m)
		if (c)
			estimate_one(&b, lf_cg_group(app, json_string_value(m)));
	if (c)
		lfpb__config__free_unpacked(c, NULL);
	free(cur);
	free(cfgp);
	return b.data;
}

/* an earlier apply left the update waiting for signatures */
static void note_waiting(struct lf_buf *b, const struct lf_resource *prior)
{
	const json_t *p = json_object_get(prior->outputs, "pending_update");
	const char *file = json_string_value(json_object_get(p, "file"));

	if (file)
		lf_buf_printf(b, "; waiting for signatures on %s (in the workspace)",
			      file);
}

static char *channel_note(const struct lf_apply_env *env,
			  const struct lf_resource *prior,
			  const struct lf_resource *desired)
{
	struct lf_buf b = LF_BUF_INIT;
	const char *name = attr_name(desired);
	bool members = false, orderer = false;
	json_t *anchors;
	char *needs;

	if (!prior || !prior->attrs || !name)
		return NULL;
	anchors = json_array();
	note_orgs(&b, json_object_get(prior->attrs, "orgs"),
		  json_object_get(desired->attrs, "orgs"), &members, anchors);
	if (!json_equal(json_object_get(prior->attrs, "consenters"),
			json_object_get(desired->attrs, "consenters"))) {
		lf_buf_printf(&b, "%sconsenters", b.len ? ", " : "");
		orderer = true;
	}
	if (!json_equal(json_object_get(prior->attrs, "batch"),
			json_object_get(desired->attrs, "batch"))) {
		lf_buf_printf(&b, "%sbatch settings", b.len ? ", " : "");
		orderer = true;
	}
	if (!json_equal(json_object_get(prior->attrs, "policies"),
			json_object_get(desired->attrs, "policies")) ||
	    !json_equal(json_object_get(prior->attrs, "capabilities"),
			json_object_get(desired->attrs, "capabilities")))
		lf_buf_printf(&b, "%spolicies/capabilities", b.len ? ", " : "");
	needs = note_needs(env, name);
	if (!needs && !is_kafka(desired))
		needs = note_estimate(env, name, members, orderer, anchors);
	if (needs && *needs)
		lf_buf_printf(&b, ": needs %s", needs);
	free(needs);
	note_waiting(&b, prior);
	json_decref(anchors);
	return b.data;
}

const struct lf_rtype lf_rtype_channel = {
	.type = "channel",
	.create = channel_create,
	.update = channel_update,
	.delete = channel_delete,
	.in_place = channel_in_place,
	.note = channel_note,
	.refuse = channel_refuse,
};
