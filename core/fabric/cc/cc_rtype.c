/*
 * The chaincode resources: expansion from the spec and what plan says
 * about them (dependencies, upgrades, refusals, notes). The network
 * actions are in cc_apply.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fabric/cc/cc.h"
#include "core/fabric/cc/package.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

static const char *attr_s(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long attr_i(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static bool done(const struct lf_resource *r)
{
	return r && json_is_true(json_object_get(r->outputs, "done"));
}

/* ---- expansion ---- */

static const char *const policy_kinds[] = { "default", "signature",
					    "reference" };

/* the definition as every org approves it and the channel commits it */
static int def_attrs(const struct lf_chaincode *cc, json_t **out,
		     struct lf_err *err)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:b}", "name", cc->name,
			      "version", cc->version,
			      "sequence", (json_int_t)cc->sequence,
			      "policy_kind", policy_kinds[cc->policy_kind],
			      "init_required", cc->init_required);
	char *data = NULL, hex[65];
	size_t len = 0;

	if (cc->policy)
		json_object_set_new(o, "policy", json_string(cc->policy));
	/* what plan shows at a glance */
	json_object_set_new(o, "kind", json_sprintf("version %s, sequence %llu",
						    cc->version, cc->sequence));
	if (cc->collections) {
		if (lf_read_file(cc->collections, &data, &len, err) != 0) {
			json_decref(o);
			return err->code;
		}
		lf_sha256_hex(data, len, hex);
		json_object_set_new(o, "collections", json_string(cc->collections));
		json_object_set_new(o, "collections_sha256", json_string(hex));
		free(data);
	}
	*out = o;
	return 0;
}

static struct lf_resource *add(struct lf_rset *rs, char *addr, json_t *attrs,
			       struct lf_err *err)
{
	struct lf_resource *r = lf_rset_add(rs, addr, attrs);

	if (!r)
		lf_err_set(err, LF_EINVALID, "duplicate resource address '%s'",
			   addr);
	free(addr);
	return r;
}

/* depend on dep when the plan has it */
static void dep_if(struct lf_rset *rs, const char *addr, char *dep)
{
	struct lf_resource *r = lf_rset_get(rs, addr);

	if (r && lf_rset_get(rs, dep))
		lf_resource_add_dep(r, dep);
	free(dep);
}

static struct lf_resource *add_install(const struct lf_chaincode *cc,
				       const struct lf_org *o,
				       const struct lf_node *n,
				       const char *package_id, const char *addr,
				       struct lf_rset *rs, struct lf_err *err)
{
	char *node = lf_xasprintf("node.%s.%s", o->name, n->name);
	struct lf_resource *r = add(rs, lf_xstrdup(addr), json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s}", "chaincode", cc->name,
		"package_id", package_id, "org", o->name, "mspid", o->mspid,
		"node", node, "kind", cc->label), err);

	free(node);
	return r;
}

/* cc_install.NAME.ORG.PEER for each peer of org (once per org); an
 * offline org's installs go one after the other, first peer first (they
 * share one signed proposal file, which the last one removes) */
static int add_installs(const struct lf_chaincode *cc, const struct lf_org *o,
			const char *package_id, struct lf_rset *rs,
			struct lf_err *err)
{
	const char *prev = NULL;

	for (size_t i = 0; i < o->nnodes; i++) {
		const struct lf_node *n = &o->nodes[i];
		char *addr;

		if (n->kind != LF_NODE_PEER)
			continue;
		addr = lf_xasprintf("cc_install.%s.%s.%s", cc->name, o->name,
				    n->name);
		if (lf_rset_get(rs, addr)) {       /* from another channel */
			free(addr);
			continue;
		}
		if (!add_install(cc, o, n, package_id, addr, rs, err)) {
			free(addr);
			return err->code;
		}
		if (o->admin_offline && prev)
			dep_if(rs, addr, lf_xasprintf("cc_install.%s.%s.%s",
						      cc->name, o->name, prev));
		prev = n->name;
		dep_if(rs, addr, lf_xasprintf("chaincode.%s", cc->name));
		dep_if(rs, addr, lf_xasprintf("crypto.%s.admin", o->name));
		for (size_t c = 0; c < cc->nchannels; c++)
			dep_if(rs, addr, lf_xasprintf("join.%s.%s.%s",
				cc->channels[c], o->name, n->name));
		free(addr);
	}
	return 0;
}

static int add_approve(const struct lf_chaincode *cc, const char *channel,
		       const struct lf_org *o, const json_t *def,
		       const char *package_id, struct lf_rset *rs,
		       struct lf_err *err)
{
	json_t *a = json_deep_copy(def);
	char *addr = lf_xasprintf("cc_approve.%s.%s.%s", cc->name, channel,
				  o->name);
	int rc = 0;

	json_object_set_new(a, "channel", json_string(channel));
	json_object_set_new(a, "org", json_string(o->name));
	json_object_set_new(a, "mspid", json_string(o->mspid));
	json_object_set_new(a, "package_id", json_string(package_id));
	if (!add(rs, lf_xstrdup(addr), a, err))
		rc = err->code;
	for (size_t i = 0; rc == 0 && i < o->nnodes; i++)
		if (o->nodes[i].kind == LF_NODE_PEER)
			dep_if(rs, addr, lf_xasprintf("cc_install.%s.%s.%s",
				cc->name, o->name, o->nodes[i].name));
	if (rc == 0)
		dep_if(rs, addr, lf_xasprintf("crypto.%s.admin", o->name));
	free(addr);
	return rc;
}

static int add_channel(const struct lf_spec *spec,
		       const struct lf_chaincode *cc, const struct lf_channel *ch,
		       const json_t *def, const char *package_id,
		       struct lf_rset *rs, struct lf_err *err)
{
	json_t *c = json_deep_copy(def), *orgs = json_array();
	char *addr = lf_xasprintf("cc_commit.%s.%s", cc->name, ch->name);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ch->norgs; i++) {
		const struct lf_org *o = lf_spec_org(spec, ch->orgs[i]);

		if (!o || !lf_chaincode_has_org(cc, ch, o->name))
			continue;
		json_array_append_new(orgs, json_string(o->name));
		rc = add_installs(cc, o, package_id, rs, err);
		if (rc == 0)
			rc = add_approve(cc, ch->name, o, def, package_id, rs, err);
	}
	json_object_set_new(c, "channel", json_string(ch->name));
	json_object_set_new(c, "orgs", orgs);
	if (rc == 0 && !add(rs, lf_xstrdup(addr), c, err))
		rc = err->code;
	else if (rc != 0)
		json_decref(c);
	for (size_t i = 0; rc == 0 && i < ch->norgs; i++)
		dep_if(rs, addr, lf_xasprintf("cc_approve.%s.%s.%s", cc->name,
					      ch->name, ch->orgs[i]));
	free(addr);
	return rc;
}

static int expand_one(const struct lf_spec *spec,
		      const struct lf_chaincode *cc, struct lf_rset *rs,
		      struct lf_err *err)
{
	struct lf_cc_package pkg;
	json_t *def = NULL;
	int rc = lf_cc_package_get(&pkg, cc, err);

	if (rc == 0)
		rc = def_attrs(cc, &def, err);
	if (rc == 0 && !add(rs, lf_xasprintf("chaincode.%s", cc->name),
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
				      "name", cc->name, "version", cc->version,
				      "kind", pkg.type,
				      "label", pkg.label, "type", pkg.type,
				      "package_id", pkg.id, "source",
				      cc->file ? cc->file : cc->path ? cc->path
				      : "connection.json"), err))
		rc = err->code;
	for (size_t i = 0; rc == 0 && i < cc->nchannels; i++) {
		size_t k;

		for (k = 0; k < spec->nchannels; k++)
			if (lf_streq(spec->channels[k].name, cc->channels[i]))
				break;
		if (k < spec->nchannels)
			rc = add_channel(spec, cc, &spec->channels[k], def, pkg.id,
					 rs, err);
	}
	json_decref(def);
	lf_cc_package_free(&pkg);
	return rc;
}

int lf_cc_expand(const struct lf_spec *spec, struct lf_rset *rs,
		 struct lf_err *err)
{
	for (size_t i = 0; spec && i < spec->nchaincodes; i++) {
		int rc = expand_one(spec, &spec->chaincodes[i], rs, err);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- plan: upgrades, refusals, notes ---- */

/* attributes that make another chaincode definition (an org may change
 * its package ID at the same sequence) */
static const char *const def_keys[] = { "version", "policy_kind", "policy",
					"init_required", "collections_sha256" };

static bool def_changed(const json_t *a, const json_t *b)
{
	for (size_t i = 0; i < LF_ARRAY_LEN(def_keys); i++) {
		const json_t *x = json_object_get(a, def_keys[i]);
		const json_t *y = json_object_get(b, def_keys[i]);

		if (!(x == y || (x && y && json_equal(x, y))))
			return true;
	}
	return false;
}

/* Fabric's sequence rule against what was really approved/committed */
static char *def_refuse(const struct lf_apply_env *env,
			const struct lf_resource *prior,
			const struct lf_resource *desired)
{
	long long ps, ds;
	const char *name = attr_s(desired->attrs, "name");

	(void)env;
	if (!done(prior))               /* a create (prior NULL) too */
		return NULL;
	ps = attr_i(prior->attrs, "sequence");
	ds = attr_i(desired->attrs, "sequence");
	if (ds < ps)
		return lf_xasprintf("chaincode '%s': sequence %lld is lower than "
				    "the %lld already on channel '%s' (Fabric's "
				    "sequences only go up)", name, ds, ps,
				    attr_s(desired->attrs, "channel"));
	if (ds == ps && def_changed(prior->attrs, desired->attrs))
		return lf_xasprintf("chaincode '%s': the definition changes but "
				    "sequence stays %lld: an upgrade needs "
				    "sequence: %lld", name, ps, ps + 1);
	if (ds > ps + 1)
		return lf_xasprintf("chaincode '%s': sequence goes from %lld to "
				    "%lld: Fabric takes %lld next", name, ps, ds,
				    ps + 1);
	return NULL;
}

/* Fabric has no undeploy: a definition approved or committed on a channel
 * that stays cannot be removed */
static char *def_refuse_delete(const struct lf_apply_env *env,
			       const struct lf_resource *prior,
			       const struct lf_resource *desired)
{
	const char *ch = attr_s(prior->attrs, "channel");
	char *chaddr;
	bool stays;

	if (desired || !env->spec || !env->desired || !done(prior))
		return NULL;
	chaddr = lf_xasprintf("channel.%s", ch);
	stays = lf_rset_get(env->desired, chaddr) != NULL;
	free(chaddr);
	if (!stays)
		return NULL;
	return lf_xasprintf("%s: chaincode '%s' is %s on channel '%s' and Fabric "
			    "has no undeploy; keep it in the spec (a new sequence "
			    "can change its definition, such as its endorsement "
			    "policy), or remove the channel", prior->addr,
			    attr_s(prior->attrs, "name"),
			    lf_streq(prior->type, "cc_commit") ? "committed"
							       : "approved",
			    ch);
}

static bool any_in_place(const struct lf_apply_env *env,
			 const struct lf_resource *prior, const char *key)
{
	(void)env;
	(void)prior;
	(void)key;
	return true;
}

static bool offline(const struct lf_apply_env *env, const char *org)
{
	const struct lf_org *o = env->spec ? lf_spec_org(env->spec, org) : NULL;

	return o && o->admin_offline;
}

/* which orgs' approvals of the desired sequence are not recorded yet (a
 * first deployment: every org), and which of them sign offline */
static char *commit_note(const struct lf_apply_env *env,
			 const struct lf_resource *prior,
			 const struct lf_resource *desired)
{
	const json_t *orgs = json_object_get(desired->attrs, "orgs"), *o;
	struct lf_buf b = LF_BUF_INIT, off = LF_BUF_INIT;
	long long seq = attr_i(desired->attrs, "sequence");
	char *out = NULL;
	size_t i;

	(void)prior;
	json_array_foreach(orgs, i, o) {
		const char *org = json_string_value(o);
		char *addr = lf_xasprintf("cc_approve.%s.%s.%s",
					  attr_s(desired->attrs, "name"),
					  attr_s(desired->attrs, "channel"), org);
		const struct lf_resource *a = env->current ?
			lf_rset_get(env->current, addr) : NULL;

		if (!done(a) || attr_i(a->attrs, "sequence") != seq) {
			lf_buf_printf(&b, "%s%s", b.len ? ", " : "", org);
			if (offline(env, org))
				lf_buf_printf(&off, "%s%s", off.len ? ", " : "",
					      org);
		}
		free(addr);
	}
	if (b.len)
		out = lf_xasprintf("commits sequence %lld once approved by: %s%s%s",
				   seq, b.data, off.len ? "; offline (apply stops "
				   "and waits for their `ledgerform sign` files): "
				   : "", off.len ? off.data : "");
	lf_buf_free(&off);
	lf_buf_free(&b);
	return out;
}

/* an org whose admin signs elsewhere installs (one round, one file for
 * all its peers) and approves (two rounds) through files */
static char *offline_note(const struct lf_apply_env *env,
			  const struct lf_resource *prior,
			  const struct lf_resource *desired)
{
	bool install = lf_streq(desired->type, "cc_install");

	(void)prior;
	if (!offline(env, attr_s(desired->attrs, "org")))
		return NULL;
	return lf_xasprintf("%s's admin signs offline: apply writes the %s for "
			    "`ledgerform sign` (%s)", attr_s(desired->attrs, "mspid"),
			    install ? "install proposal" : "approval",
			    install ? "one round" : "two rounds");
}

/* ---- actions ---- */

json_t *lf_cc_not_done(const char *why)
{
	return json_pack("{s:b, s:s}", "done", 0, "why", why);
}

/* the package is built (or checked) again: the bytes apply installs are
 * the ones plan saw */
static int chaincode_create(const struct lf_apply_env *env,
			    const struct lf_resource *des, json_t **outputs,
			    struct lf_err *err)
{
	const struct lf_chaincode *cc =
		lf_spec_chaincode(env->spec, attr_s(des->attrs, "name"));
	struct lf_cc_package pkg = { LF_BUF_INIT, NULL, NULL, { 0 }, NULL };
	char *dir = lf_path_join(env->workdir, "chaincodes"), *path = NULL;
	int rc = cc ? lf_cc_package_get(&pkg, cc, err)
		    : lf_err_set(err, LF_EINVALID, "%s: not in the spec",
				 des->addr);

	if (rc == 0 && !lf_streq(pkg.id, attr_s(des->attrs, "package_id")))
		rc = lf_err_set(err, LF_ECONFLICT, "%s: the package changed since "
				"plan (now %s, planned %s): plan again", des->addr,
				pkg.id, attr_s(des->attrs, "package_id"));
	if (rc == 0)
		rc = lf_mkdirs(dir, 0755, err);
	if (rc == 0) {
		path = lf_xasprintf("%s/%s.tar.gz", dir, pkg.label);
		rc = lf_write_file_atomic(path, pkg.bytes.data, pkg.bytes.len,
					  0644, err);
	}
	if (rc == 0)
		*outputs = json_pack("{s:s, s:s, s:I}", "package_id", pkg.id,
				     "file", path, "bytes",
				     (json_int_t)pkg.bytes.len);
	lf_cc_package_free(&pkg);
	free(path);
	free(dir);
	return rc;
}

static int chaincode_update(const struct lf_apply_env *env,
			    const struct lf_resource *prior,
			    const struct lf_resource *des, json_t **outputs,
			    struct lf_err *err)
{
	(void)prior;
	return chaincode_create(env, des, outputs, err);
}

static int chaincode_delete(const struct lf_apply_env *env,
			    const struct lf_resource *prior, struct lf_err *err)
{
	const char *file = attr_s(prior->outputs, "file");

	(void)env;
	(void)err;
	if (file)
		unlink(file);
	return 0;
}

/* an installed package stays on its peer (the peer CLI of Fabric 2.5 has
 * no uninstall); a removed install is forgotten */
static int forget(const struct lf_apply_env *env,
		  const struct lf_resource *prior, struct lf_err *err)
{
	(void)env;
	(void)prior;
	(void)err;
	return 0;
}

static int def_update(const struct lf_apply_env *env,
		      const struct lf_resource *prior,
		      const struct lf_resource *des, json_t **outputs,
		      struct lf_err *err)
{
	(void)prior;
	if (lf_streq(des->type, "cc_commit"))
		return lf_cc_commit(env, des, outputs, err);
	return lf_cc_approve(env, des, outputs, err);
}

const struct lf_rtype lf_rtype_chaincode = {
	.type = "chaincode",
	.create = chaincode_create,
	.update = chaincode_update,
	.delete = chaincode_delete,
	.in_place = any_in_place,
};

/* no update: another package is another install */
const struct lf_rtype lf_rtype_cc_install = {
	.type = "cc_install",
	.create = lf_cc_install,
	.delete = forget,
	.follows = lf_follows_but_admin,
	.note = offline_note,
};

const struct lf_rtype lf_rtype_cc_approve = {
	.type = "cc_approve",
	.create = lf_cc_approve,
	.update = def_update,
	.follows = lf_follows_but_admin,
	.delete = forget,
	.in_place = any_in_place,
	.note = offline_note,
	.refuse = def_refuse,
	.refuse_delete = def_refuse_delete,
};

const struct lf_rtype lf_rtype_cc_commit = {
	.type = "cc_commit",
	.create = lf_cc_commit,
	.update = def_update,
	.delete = forget,
	.in_place = any_in_place,
	.note = commit_note,
	.refuse = def_refuse,
	.refuse_delete = def_refuse_delete,
};
