/*
 * The chaincode resources' network actions, with the lifecycle client
 * (core/net/lifecycle.h): install on a peer as its org's admin, approve as
 * each org's admin (endorsed by one of its peers), commit once every
 * approval is in (checkcommitreadiness first), each idempotent: what the
 * peer already has is not sent again. Nodes not started are recorded not
 * done, with the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fabric/cc/cc.h"
#include "core/fabric/cc/cc_int.h"
#include "core/fabric/cc/collections.h"
#include "core/net/join.h"
#include "core/net/lifecycle.h"
#include "core/spec/spec.h"
#include "core/util/util.h"


const char *lf_cc__attr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "ADDR: WHAT: " before err's message */
int lf_cc__wrap(struct lf_err *err, int rc, const char *addr, const char *what)
{
	char msg[sizeof(err->msg)];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	return lf_err_set(err, rc, "%s: %s: %s", addr, what, msg);
}

char *lf_cc__org_dir(const struct lf_apply_env *env, const char *kind,
		     const struct lf_resource *node)
{
	return lf_xasprintf("%s/%s/%s", env->crypto_dir, kind,
			    lf_cc__attr(node->attrs, "domain"));
}

int lf_cc__peer_open(const struct lf_apply_env *env, const struct lf_resource *node,
		     const struct lf_identity *id, struct ccpeer *cp,
		     struct lf_err *err)
{
	const char *domain = lf_cc__attr(node->attrs, "domain");
	char *dir = lf_cc__org_dir(env, "peerOrganizations", node), *ca = NULL, *path;
	struct lf_grpc_tls tls = { NULL, NULL, NULL,
				   lf_cc__attr(node->attrs, "hostname") };
	size_t n;
	int rc;

	memset(cp, 0, sizeof(*cp));
	cp->node = node;
	path = lf_xasprintf("%s/tlsca/tlsca.%s-cert.pem", dir, domain);
	rc = lf_net_node_endpoint(env, node, "port", cp->endpoint,
				  sizeof(cp->endpoint), err);
	if (rc == 0)
		rc = lf_read_file(path, &ca, &n, err);
	tls.ca_pem = ca;
	if (rc == 0)
		rc = lf_grpc_channel_new(&cp->ch, cp->endpoint, &tls, err);
	cp->p.ch = cp->ch;
	cp->p.id = id;
	free(path);
	free(ca);
	free(dir);
	return rc;
}

void lf_cc__peer_close(struct ccpeer *cp)
{
	lf_grpc_channel_free(cp->ch);
	memset(cp, 0, sizeof(*cp));
}

/* the org admin of a peer node, from the crypto tree; LF_EAUTH when its
 * key is not here (an org that keeps its keys elsewhere) */
int lf_cc__admin_load(const struct lf_apply_env *env,
		      const struct lf_resource *node, struct lf_identity *id,
		      struct lf_err *err)
{
	const char *domain = lf_cc__attr(node->attrs, "domain");
	char *dir = lf_cc__org_dir(env, "peerOrganizations", node);
	char *msp = lf_xasprintf("%s/users/Admin@%s/msp", dir, domain);
	struct lf_err e = LF_ERR_INIT;
	int rc = lf_identity_load(id, msp, lf_cc__attr(node->attrs, "mspid"), &e);

	if (rc != 0)
		rc = lf_err_set(err, LF_EAUTH, "the admin of org '%s' (%s) cannot "
				"sign here: %s", lf_cc__attr(node->attrs, "org"),
				lf_cc__attr(node->attrs, "mspid"), e.msg);
	free(msp);
	free(dir);
	return rc;
}

/* a started peer of org (the first in the spec's order); NULL when none */
const struct lf_resource *lf_cc__org_peer(const struct lf_apply_env *env,
					  const char *org)
{
	const struct lf_org *o = lf_spec_org(env->spec, org);

	for (size_t i = 0; o && i < o->nnodes; i++) {
		char *addr;
		const struct lf_resource *n;

		if (o->nodes[i].kind != LF_NODE_PEER)
			continue;
		addr = lf_xasprintf("node.%s.%s", org, o->nodes[i].name);
		n = lf_net_lookup(env, addr);
		free(addr);
		if (lf_net_node_started(n))
			return n;
	}
	return NULL;
}

static bool org_offline(const struct lf_apply_env *env, const char *org)
{
	const struct lf_org *o = lf_spec_org(env->spec, org);

	return o && o->admin_offline;
}

int lf_cc__local_admin(const struct lf_apply_env *env, const char *channel,
		       struct lf_identity *id, struct lf_err *err)
{
	const struct lf_channel *ch = NULL;
	struct lf_err e = LF_ERR_INIT;

	for (size_t i = 0; i < env->spec->nchannels; i++)
		if (lf_streq(env->spec->channels[i].name, channel))
			ch = &env->spec->channels[i];
	for (size_t i = 0; ch && i < ch->norgs; i++) {
		const struct lf_resource *n = lf_cc__org_peer(env, ch->orgs[i]);

		if (n && !org_offline(env, ch->orgs[i]) &&
		    lf_cc__admin_load(env, n, id, &e) == 0)
			return 0;
	}
	return lf_err_set(err, LF_EAUTH, "channel '%s': no member org's admin "
			  "signs here%s%s", channel, e.msg[0] ? ": " : "", e.msg);
}

/* ---- install ---- */

int lf_cc__read_package(const struct lf_apply_env *env, const char *name,
			char **data, size_t *len, struct lf_err *err)
{
	char *addr = lf_xasprintf("chaincode.%s", name);
	const struct lf_resource *c = lf_net_lookup(env, addr);
	const char *file = c ? lf_cc__attr(c->outputs, "file") : NULL;
	int rc = file ? lf_read_file(file, data, len, err)
		      : lf_err_set(err, LF_EINVALID, "%s has no package file "
				   "recorded", addr);

	free(addr);
	return rc;
}

int lf_cc_install(const struct lf_apply_env *env, const struct lf_resource *r,
		  json_t **outputs, struct lf_err *err)
{
	const struct lf_resource *node = lf_net_lookup(env, lf_cc__attr(r->attrs, "node"));
	char id[LF_LC_PACKAGE_ID_MAX], *pkg = NULL;
	struct lf_identity admin = { 0 };
	struct ccpeer cp = { 0 };
	bool already = false;
	size_t len = 0;
	int rc;

	if (!lf_net_node_started(node)) {
		*outputs = lf_cc_not_done(LF_CC_NOT_STARTED);
		return 0;
	}
	if (org_offline(env, lf_cc__attr(r->attrs, "org")))
		return lf_cc__install_offline(env, r, node, outputs, err);
	rc = lf_cc__read_package(env, lf_cc__attr(r->attrs, "chaincode"), &pkg, &len, err);
	if (rc == 0)
		rc = lf_cc__admin_load(env, node, &admin, err);
	if (rc == 0)
		rc = lf_cc__peer_open(env, node, &admin, &cp, err);
	if (rc == 0)
		rc = lf_lc_install(&cp.p, pkg, len, id, &already, err);
	if (rc == 0 && !lf_streq(id, lf_cc__attr(r->attrs, "package_id")))
		rc = lf_err_set(err, LF_ECONFLICT, "the peer calls the package "
				"%s, the plan %s", id, lf_cc__attr(r->attrs, "package_id"));
	if (rc == 0)
		*outputs = json_pack("{s:b, s:s, s:b}", "done", 1, "package_id",
				     id, "already", already);
	else
		lf_cc__wrap(err, rc, r->addr, "install");
	lf_cc__peer_close(&cp);
	lf_identity_clear(&admin);
	free(pkg);
	return rc;
}

/* ---- the definition ---- */

/* the collections as plan saw them (the file's hash), encoded */
static int collections_of(const struct lf_resource *r, struct ccdef *cd,
			  struct lf_err *err)
{
	const char *file = lf_cc__attr(r->attrs, "collections");
	char *data = NULL, hex[65];
	size_t len = 0;
	int rc = lf_read_file(file, &data, &len, err);

	if (rc == 0) {
		lf_sha256_hex(data, len, hex);
		if (!lf_streq(hex, lf_cc__attr(r->attrs, "collections_sha256")))
			rc = lf_err_set(err, LF_ECONFLICT, "%s: '%s' changed since "
					"plan: plan again", r->addr, file);
	}
	if (rc == 0)
		rc = lf_cc_collections(file, &cd->collections, &cd->d.collections_len,
				       err);
	cd->d.collections = cd->collections;
	free(data);
	return rc;
}

int lf_cc__def_of(const struct lf_resource *r, bool with_package,
		  struct ccdef *cd, struct lf_err *err)
{
	const json_t *a = r->attrs;
	const char *kind = lf_cc__attr(a, "policy_kind"), *pol = lf_cc__attr(a, "policy");
	int rc = 0;

	memset(cd, 0, sizeof(*cd));
	cd->d.name = lf_cc__attr(a, "name");
	cd->d.version = lf_cc__attr(a, "version");
	cd->d.sequence = (int64_t)json_integer_value(json_object_get(a, "sequence"));
	cd->d.init_required = json_is_true(json_object_get(a, "init_required"));
	if (with_package)
		cd->d.package_id = lf_cc__attr(a, "package_id");
	if (lf_cc__attr(a, "collections"))
		rc = collections_of(r, cd, err);
	if (rc == 0 && lf_streq(kind, "signature"))
		rc = lf_lc_policy_signature(pol, &cd->policy, &cd->policy_len, err);
	else if (rc == 0 && lf_streq(kind, "reference"))
		rc = lf_lc_policy_ref(pol, &cd->policy, &cd->policy_len, err);
	cd->d.validation_parameter = cd->policy;
	cd->d.validation_parameter_len = cd->policy_len;
	return rc;
}

/* a client of a started consenter of the channel */
int lf_cc__orderer_open(const struct lf_apply_env *env, const char *channel,
			lf_ab **ab, struct lf_err *err)
{
	char *addr = lf_xasprintf("channel.%s", channel);
	const struct lf_resource *ch = lf_net_lookup(env, addr);
	const json_t *c;
	size_t i;
	int rc = LF_ENOTFOUND;

	free(addr);
	json_array_foreach(ch ? json_object_get(ch->attrs, "consenters") : NULL,
			   i, c) {
		char *na = lf_xasprintf("node.%s.%s", lf_cc__attr(c, "org"),
					lf_cc__attr(c, "node"));
		const struct lf_resource *n = lf_net_lookup(env, na);
		const char *domain = n ? lf_cc__attr(n->attrs, "domain") : NULL;
		struct lf_grpc_tls tls = { NULL, NULL, NULL, NULL };
		char ep[300], *dir, *ca = NULL, *path;
		size_t len;

		free(na);
		if (!lf_net_node_started(n) ||
		    lf_net_node_endpoint(env, n, "port", ep, sizeof(ep), err) != 0)
			continue;
		dir = lf_cc__org_dir(env, "ordererOrganizations", n);
		path = lf_xasprintf("%s/tlsca/tlsca.%s-cert.pem", dir, domain);
		rc = lf_read_file(path, &ca, &len, err);
		tls.ca_pem = ca;
		tls.server_name = lf_cc__attr(n->attrs, "hostname");
		if (rc == 0)
			rc = lf_ab_new(ab, ep, &tls, err);
		free(ca);
		free(path);
		free(dir);
		if (rc == 0)
			return 0;
	}
	return rc == LF_ENOTFOUND ? lf_err_set(err, rc, "channel '%s': no "
					       "consenter is running", channel)
				  : rc;
}

/* ---- approve ---- */

/* the org approved this definition with this package already */
static bool approved(const struct ccpeer *cp, const char *channel,
		     const struct ccdef *cd)
{
	struct lf_lc_info info = { 0 };
	struct lf_err e = LF_ERR_INIT;
	bool same = false;

	if (lf_lc_query_approved(&cp->p, channel, cd->d.name, cd->d.sequence,
				 &info, &e) == 0)
		same = info.sequence == cd->d.sequence &&
		       lf_streq(info.version, cd->d.version) &&
		       lf_streq(info.package_id, cd->d.package_id);
	lf_lc_info_clear(&info);
	return same;
}

int lf_cc_approve(const struct lf_apply_env *env, const struct lf_resource *r,
		  json_t **outputs, struct lf_err *err)
{
	const char *channel = lf_cc__attr(r->attrs, "channel");
	const struct lf_resource *node = lf_cc__org_peer(env, lf_cc__attr(r->attrs, "org"));
	struct lf_identity admin = { 0 };
	struct ccpeer cp = { 0 };
	struct ccdef cd;
	lf_ab *ab = NULL;
	bool already = false;
	int rc;

	if (!node) {
		*outputs = lf_cc_not_done(LF_CC_NOT_STARTED);
		return 0;
	}
	if (org_offline(env, lf_cc__attr(r->attrs, "org")))
		return lf_cc__approve_offline(env, r, node, outputs, err);
	rc = lf_cc__def_of(r, true, &cd, err);
	if (rc == 0)
		rc = lf_cc__admin_load(env, node, &admin, err);
	if (rc == 0)
		rc = lf_cc__peer_open(env, node, &admin, &cp, err);
	if (rc == 0)
		already = approved(&cp, channel, &cd);
	if (rc == 0 && !already)
		rc = lf_cc__orderer_open(env, channel, &ab, err);
	if (rc == 0 && !already)
		rc = lf_lc_approve(&cp.p, 1, ab, channel, &cd.d, &admin, 0, err);
	if (rc == 0)
		*outputs = json_pack("{s:b, s:I, s:b}", "done", 1, "sequence",
				     (json_int_t)cd.d.sequence, "already", already);
	else
		lf_cc__wrap(err, rc, r->addr, "approve");
	lf_ab_free(ab);
	lf_cc__peer_close(&cp);
	lf_identity_clear(&admin);
	free(cd.policy);
	free(cd.collections);
	return rc;
}

/* ---- commit ---- */

struct committers {
	struct ccpeer *v;
	struct lf_peer *pv;         /* v[i].p, side by side */
	size_t n;
	struct lf_identity admin;   /* the first org whose admin is here */
};

static void committers_free(struct committers *c)
{
	for (size_t i = 0; c->v && i < c->n; i++)
		lf_cc__peer_close(&c->v[i]);
	free(c->v);
	free(c->pv);
	lf_identity_clear(&c->admin);
	memset(c, 0, sizeof(*c));
}

/* one started peer of each org; 1 when an org has none started */
static int committers_open(const struct lf_apply_env *env,
			   const struct lf_resource *r, struct committers *c,
			   struct lf_err *err)
{
	const json_t *orgs = json_object_get(r->attrs, "orgs"), *o;
	struct lf_err e = LF_ERR_INIT;
	size_t i;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->v = lf_xcalloc(json_array_size(orgs) + 1, sizeof(*c->v));
	json_array_foreach(orgs, i, o) {
		const struct lf_resource *n = lf_cc__org_peer(env, json_string_value(o));

		if (!n)
			return 1;
		if (!c->admin.mspid && !org_offline(env, json_string_value(o)))
			lf_cc__admin_load(env, n, &c->admin, &e);
		c->v[c->n++].node = n;
	}
	if (!c->admin.mspid)
		return lf_err_set(err, LF_EAUTH, "no member org's admin can sign "
				  "the commit here: %s", e.msg);
	c->pv = lf_xcalloc(c->n + 1, sizeof(*c->pv));
	for (i = 0; rc == 0 && i < c->n; i++) {
		rc = lf_cc__peer_open(env, c->v[i].node, &c->admin, &c->v[i], err);
		c->pv[i] = c->v[i].p;
	}
	return rc;
}

/* the orgs that have not approved d yet, listed in why; 0 when none */
static size_t missing(const struct ccpeer *cp, const char *channel,
		      const struct ccdef *cd, char *why, size_t size,
		      struct lf_err *err)
{
	struct lf_lc_approval *v = NULL;
	size_t n = 0, k = 0, off = 0;

	if (lf_lc_check_commit_readiness(&cp->p, channel, &cd->d, &v, &n, err))
		return (size_t)-1;
	why[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!v[i].approved && off < size)
			off += (size_t)snprintf(why + off, size - off, "%s%s",
						k++ ? ", " : "", v[i].mspid);
	lf_lc_approvals_free(v, n);
	return k;
}

static bool committed(const struct ccpeer *cp, const char *channel,
		      const struct ccdef *cd)
{
	struct lf_lc_info info = { 0 };
	struct lf_err e = LF_ERR_INIT;
	bool same = lf_lc_query_committed(&cp->p, channel, cd->d.name, &info,
					  &e) == 0 &&
		    info.sequence == cd->d.sequence;

	lf_lc_info_clear(&info);
	return same;
}

int lf_cc_commit(const struct lf_apply_env *env, const struct lf_resource *r,
		 json_t **outputs, struct lf_err *err)
{
	const char *channel = lf_cc__attr(r->attrs, "channel");
	struct committers c;
	struct ccdef cd = { 0 };
	char why[512];
	lf_ab *ab = NULL;
	bool already = false;
	size_t k = 0;
	int rc = committers_open(env, r, &c, err);

	if (rc == 1) {
		*outputs = lf_cc_not_done(LF_CC_NOT_STARTED);
		committers_free(&c);
		return 0;
	}
	if (rc == 0)
		rc = lf_cc__def_of(r, false, &cd, err);
	if (rc == 0)
		already = committed(&c.v[0], channel, &cd);
	if (rc == 0 && !already && (k = missing(&c.v[0], channel, &cd, why,
						sizeof(why), err)) != 0)
		rc = k == (size_t)-1 ? err->code : lf_err_set(err, LF_EAUTH,
			"sequence %lld is not approved by %s yet",
			(long long)cd.d.sequence, why);
	if (rc == 0 && !already)
		rc = lf_cc__orderer_open(env, channel, &ab, err);
	if (rc == 0 && !already)
		rc = lf_lc_commit(c.pv, c.n, ab, channel, &cd.d, &c.admin, 0,
				  err);
	if (rc == 0)
		*outputs = json_pack("{s:b, s:I, s:b}", "done", 1, "sequence",
				     (json_int_t)cd.d.sequence, "already", already);
	else
		lf_cc__wrap(err, rc, r->addr, "commit");
	lf_ab_free(ab);
	committers_free(&c);
	free(cd.policy);
	free(cd.collections);
	return rc;
}
