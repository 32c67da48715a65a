/*
 * The `join` resource type: a running node serving a channel.
 *
 *   join.CHANNEL.ORG.NODE   an orderer that is a consenter of CHANNEL
 *                           (etcdraft or BFT; Kafka orderers serve the
 *                           system channel instead)
 *   join.CHANNEL.ORG.PEER   a peer of a member org of CHANNEL (cscc
 *                           JoinChain, a proposal signed by the org's
 *                           admin, over gRPC), after the channel's orderers
 *                           joined; done when the peer has the block
 *                           (joined through the channel participation API
 *                           of its admin endpoint, mutual TLS as the
 *                           orderer org's admin)
 *
 * A join depends on its channel (the block it joins with), its node (the
 * running process) and the org admin's identity (the TLS client
 * certificate the admin endpoint asks for). A peer is reached over TLS
 * verified against its org's TLS CA, with no client certificate (peers
 * do not ask for one).
 *
 * A peer of an `admin: offline` org joins through a file its admin signs
 * elsewhere (join_offline.c): one round, one file for the org's peers of
 * a channel, so its joins of a channel depend on each other (first peer
 * first); the queries (GetChannels, GetChainInfo) are asked as the peer's
 * own identity (its msp folder: an org member whose key the node runs
 * with), never as the admin.
 *
 * A node that is not started (no FABRIC_BIN) cannot join: the join is
 * recorded with joined: false and the reason, and refresh does not call
 * that drift.
 *
 * Idempotent both ways: joining a channel the orderer already serves is a
 * no-op; a join removed from the spec while its orderer stays makes the
 * orderer leave the channel; when the node goes too, nothing is asked of
 * it (its ledger goes with its host).
 */
#include "core/net/join.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/net/participation.h"
#include "core/net/peer.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

/* how long a join waits for a just-started orderer's admin endpoint */
#define JOIN_WAIT_MS 120000
#define JOIN_POLL_MS 250
#define JOIN_POLL_FIRST_MS 25    /* while less than JOIN_POLL_MS has passed */

static const char *attr_s(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- expansion ---- */

static struct lf_resource *add_join(struct lf_rset *rs, const char *kind,
				     const char *channel, const char *org,
				     const char *node, struct lf_err *err)
{
	char *addr = lf_xasprintf("join.%s.%s.%s", channel, org, node);
	char *naddr = lf_xasprintf("node.%s.%s", org, node);
	char *chaddr = lf_xasprintf("channel.%s", channel);
	char *admin = lf_xasprintf("crypto.%s.admin", org);
	struct lf_resource *r;

	r = lf_rset_add(rs, addr, json_pack("{s:s, s:s, s:s, s:s}", "channel", channel,
					    "kind", kind, "node", naddr, "org", org));
	if (!r) {
		lf_err_set(err, LF_EINVALID, "duplicate resource address '%s'", addr);
		goto cleanup;
	}
	lf_resource_add_dep(r, chaddr);
	lf_resource_add_dep(r, naddr);
	if (lf_rset_get(rs, admin))
		lf_resource_add_dep(r, admin);
cleanup:
	free(addr);
	free(naddr);
	free(chaddr);
	free(admin);
	return r;
}

/* the peers of the channel's member orgs, each after every orderer join
 * of the channel (a peer catches up from the orderers) */
static int add_peer_joins(const struct lf_spec *spec, struct lf_rset *rs, size_t chi,
			  const char *name, size_t first_ord, size_t nord,
			  struct lf_err *err)
{
	const json_t *orgs = json_object_get(rs->v[chi].attrs, "orgs");
	const json_t *o;
	size_t k;

	json_array_foreach(orgs, k, o) {
		const struct lf_org *org = lf_spec_org(spec, attr_s(o, "name"));
		char *prev = NULL;

		for (size_t n = 0; org && n < org->nnodes; n++) {
			struct lf_resource *r;

			if (org->nodes[n].kind != LF_NODE_PEER)
				continue;
			r = add_join(rs, "peer", name, org->name, org->nodes[n].name, err);
			if (!r) {
				free(prev);
				return err->code;
			}
			for (size_t d = 0; d < nord; d++)
				lf_resource_add_dep(r, rs->v[first_ord + d].addr);
			/* an offline org's joins share its signed file */
			if (org->admin_offline && prev)
				lf_resource_add_dep(r, prev);
			free(prev);
			prev = lf_xstrdup(r->addr);
		}
		free(prev);
	}
	return 0;
}

int lf_join_expand(const struct lf_spec *spec, struct lf_rset *rs,
		   struct lf_err *err)
{
	size_t nch = rs->n;

	for (size_t i = 0; i < nch; i++) {
		const struct lf_resource *ch = &rs->v[i];
		const json_t *c;
		char *name;
		size_t k, first = rs->n, nord = 0;
		int rc = 0;

		if (strcmp(ch->type, "channel") != 0 ||
		    !lf_streq(attr_s(ch->attrs, "kind"), "application"))
			continue;
		name = lf_xstrdup(attr_s(ch->attrs, "channel"));
		/* Kafka orderers serve the system channel, not joins */
		if (!lf_streq(attr_s(ch->attrs, "consensus"), "kafka")) {
			json_array_foreach(json_object_get(ch->attrs, "consenters"), k, c) {
				if (!add_join(rs, "orderer", name, attr_s(c, "org"),
					      attr_s(c, "node"), err)) {
					rc = err->code;
					break;
				}
				nord++;
				ch = &rs->v[i]; /* rs->v may have moved */
			}
		}
		if (rc == 0)
			rc = add_peer_joins(spec, rs, i, name, first, nord, err);
		free(name);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- where the node is and who speaks for its org ---- */

/* a resource from the desired set (with the outputs of this apply), else
 * the recorded one */
const struct lf_resource *lf_net_lookup(const struct lf_apply_env *env, const char *addr)
{
	const struct lf_resource *r = env->desired ? lf_rset_get(env->desired, addr) : NULL;
	const struct lf_resource *c = env->current ? lf_rset_get(env->current, addr) : NULL;

	if (r && (r->outputs || !c))
		return r;
	return c ? c : r;
}

struct joinctx {
	const struct lf_resource *node;
	char endpoint[300];
	char *ca_pem, *cert_pem, *key_pem;
	size_t key_len;
	char *block;
	size_t block_len;
};

static void joinctx_free(struct joinctx *j)
{
	free(j->ca_pem);
	free(j->cert_pem);
	lf_free_secret(j->key_pem, j->key_len);
	free(j->block);
	memset(j, 0, sizeof(*j));
}

/* where the node is reached: its machine's address and port_key's port */
int lf_net_node_endpoint(const struct lf_apply_env *env, const struct lf_resource *node,
			 const char *port_key, char *out, size_t n, struct lf_err *err)
{
	const struct lf_resource *host = lf_net_lookup(env, attr_s(node->attrs, "host"));
	const char *ma = NULL, *lh = attr_s(node->attrs, "listen_host");
	json_int_t port = json_integer_value(json_object_get(node->attrs, port_key));

	if (host)
		ma = host->outputs ? attr_s(host->outputs, "machine_address") : NULL;
	if (!ma && host)
		ma = attr_s(host->attrs, "address");
	if (!ma && lh && strcmp(lh, "0.0.0.0") != 0)
		ma = lh;
	if (!ma || port <= 0)
		return lf_err_set(err, LF_EINVALID, "%s: no address or %s known",
				  node->addr, port_key);
	snprintf(out, n, strchr(ma, ':') ? "[%s]:%lld" : "%s:%lld", ma, (long long)port);
	return 0;
}

/* the org's TLS CA and, for an orderer's admin endpoint, the org admin's
 * TLS client pair, from the crypto tree (a peer asks for no client
 * certificate) */
static int admin_tls(const struct lf_apply_env *env, const struct lf_resource *node,
		     struct joinctx *j, struct lf_err *err)
{
	const char *domain = attr_s(node->attrs, "domain");
	const char *kind = attr_s(node->attrs, "kind");
	char *dir = lf_xasprintf("%s/%s/%s", env->crypto_dir,
				 lf_streq(kind, "orderer") ? "ordererOrganizations"
							   : "peerOrganizations", domain);
	char *ca = lf_xasprintf("%s/tlsca/tlsca.%s-cert.pem", dir, domain);
	char *crt = lf_xasprintf("%s/users/Admin@%s/tls/client.crt", dir, domain);
	char *key = lf_xasprintf("%s/users/Admin@%s/tls/client.key", dir, domain);
	size_t n;
	int rc = lf_read_file(ca, &j->ca_pem, &n, err);

	if (rc == 0 && !lf_streq(kind, "orderer"))
		goto cleanup;
	if (rc == 0)
		rc = lf_read_file(crt, &j->cert_pem, &n, err);
	if (rc == 0 && lf_read_file(key, &j->key_pem, &j->key_len, err) != 0)
		rc = lf_err_set(err, LF_EAUTH,
				"%s: the admin TLS key of org '%s' is not here (%s): joins of "
				"its nodes are made where that org keeps its keys",
				node->addr, attr_s(node->attrs, "org"), key);
cleanup:
	free(dir);
	free(ca);
	free(crt);
	free(key);
	return rc;
}

/* the channel's block to join with, as the channel resource recorded it */
static int channel_block(const struct lf_apply_env *env, const char *channel,
			 bool peer, struct joinctx *j, struct lf_err *err)
{
	char *addr = lf_xasprintf("channel.%s", channel);
	const struct lf_resource *ch = lf_net_lookup(env, addr);
	const char *rel = NULL;
	char *path;
	int rc;

	free(addr);
	/* an orderer joins with the latest config block; a peer with the
	 * genesis block, and catches up from the orderers */
	if (ch && ch->outputs && !peer)
		rel = attr_s(ch->outputs, "config_block");
	if (!rel && ch && ch->outputs)
		rel = attr_s(ch->outputs, "block");
	if (!rel)
		return lf_err_set(err, LF_EINVALID, "channel '%s' has no block recorded", channel);
	path = rel[0] == '/' ? lf_xstrdup(rel) : lf_path_join(env->workdir, rel);
	rc = lf_read_file(path, &j->block, &j->block_len, err);
	free(path);
	return rc;
}

bool lf_net_node_started(const struct lf_resource *node)
{
	return node && json_is_true(json_object_get(node->outputs, "started"));
}

static void conn_of(const struct joinctx *j, struct lf_participation_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->endpoint = j->endpoint;
	c->ca_pem = j->ca_pem;
	c->cert_pem = j->cert_pem;
	c->key_pem = j->key_pem;
	c->key_len = j->key_len;
	c->timeout_ms = 30000;
}

static int joinctx_open(const struct lf_apply_env *env, const struct lf_resource *r,
			struct joinctx *j, struct lf_err *err)
{
	int rc;

	memset(j, 0, sizeof(*j));
	j->node = lf_net_lookup(env, attr_s(r->attrs, "node"));
	if (!j->node)
		return lf_err_set(err, LF_EINVALID, "%s: node '%s' is not in the plan",
				  r->addr, attr_s(r->attrs, "node"));
	rc = lf_net_node_endpoint(env, j->node, lf_streq(attr_s(r->attrs, "kind"), "peer")
			   ? "port" : "admin_port", j->endpoint, sizeof(j->endpoint), err);
	if (rc == 0)
		rc = admin_tls(env, j->node, j, err);
	return rc;
}

/* join, waiting (bounded, polled) for an admin endpoint that is still
 * coming up after the node's start */
static bool keep_polling(const struct lf_apply_env *env, int rc, unsigned int *waited);

static int orderer_join(const struct lf_apply_env *env, const struct lf_resource *r,
			struct joinctx *j, struct lf_participation_info *info,
			struct lf_err *err)
{
	struct lf_participation_conn c;
	unsigned int waited = 0;
	int rc;

	conn_of(j, &c);
	do {
		lf_err_clear(err);
		rc = lf_participation_join(&c, attr_s(r->attrs, "channel"), j->block,
					   j->block_len, info, err);
	} while (keep_polling(env, rc, &waited));
	return rc;
}

/* ---- peers ---- */

struct peerconn {
	lf_grpc_channel *ch;
	struct lf_identity id;
	struct lf_peer p;
};

static void peerconn_close(struct peerconn *pc)
{
	lf_grpc_channel_free(pc->ch);
	lf_identity_clear(&pc->id);
	memset(pc, 0, sizeof(*pc));
}

/* does the org's admin sign elsewhere (admin: offline)? */
static bool org_offline(const struct lf_apply_env *env, const char *org)
{
	const struct lf_org *o = env->spec ? lf_spec_org(env->spec, org) : NULL;

	return o && o->admin_offline;
}

/* a gRPC channel to the peer (its TLS certificate verified against the
 * org's TLS CA, by its host name, no client certificate) and the signer:
 * the org admin, or for an offline org the peer's own identity (queries
 * only: an offline org's JoinChain is signed elsewhere) */
static int peerconn_open(const struct lf_apply_env *env, const struct joinctx *j,
			 struct peerconn *pc, struct lf_err *err)
{
	const char *domain = attr_s(j->node->attrs, "domain");
	const char *host = attr_s(j->node->attrs, "hostname");
	struct lf_grpc_tls tls = { j->ca_pem, NULL, NULL, host };
	char *msp = org_offline(env, attr_s(j->node->attrs, "org"))
		? lf_xasprintf("%s/peerOrganizations/%s/peers/%s/msp", env->crypto_dir,
			       domain, host)
		: lf_xasprintf("%s/peerOrganizations/%s/users/Admin@%s/msp", env->crypto_dir,
			       domain, domain);
	int rc;

	memset(pc, 0, sizeof(*pc));
	rc = lf_identity_load(&pc->id, msp, attr_s(j->node->attrs, "mspid"), err);
	free(msp);
	if (rc == 0)
		rc = lf_grpc_channel_new(&pc->ch, j->endpoint, &tls, err);
	pc->p.ch = pc->ch;
	pc->p.id = &pc->id;
	return rc;
}

/* is the channel among the peer's (cscc GetChannels)? */
static int peer_has(const struct lf_peer *p, const char *channel, bool *has,
		    struct lf_err *err)
{
	char **v = NULL;
	size_t n = 0;
	int rc = lf_peer_channels(p, &v, &n, err);

	*has = false;
	for (size_t i = 0; rc == 0 && i < n; i++)
		*has = *has || strcmp(v[i], channel) == 0;
	lf_peer_channels_free(v);
	return rc;
}

/* poll while the peer is still starting (connection refused), bounded;
 * the first polls come quickly (a node that just became healthy, a ledger
 * that is opening, take tens of milliseconds), then every JOIN_POLL_MS */
static bool keep_polling(const struct lf_apply_env *env, int rc, unsigned int *waited)
{
	unsigned int ms = *waited < JOIN_POLL_MS ? JOIN_POLL_FIRST_MS : JOIN_POLL_MS;

	if (rc != LF_ERETRY || *waited >= JOIN_WAIT_MS || (env->cancel && atomic_load(env->cancel)))
		return false;
	lf_sleep_ms(ms);
	*waited += ms;
	return true;
}

/* the channel's height at a consenter that joined it in this apply (or
 * before); 1 (the genesis block) when none can tell */
static uint64_t channel_height(const struct lf_apply_env *env, const char *channel)
{
	const struct lf_rset *sets[] = { env->desired, env->current };

	for (size_t s = 0; s < 2; s++) {
		for (size_t i = 0; sets[s] && i < sets[s]->n; i++) {
			const struct lf_resource *o = lf_net_lookup(env, sets[s]->v[i].addr);
			struct lf_err e = LF_ERR_INIT;
			uint64_t h = 0;

			if (strcmp(o->type, "join") != 0 ||
			    !lf_streq(attr_s(o->attrs, "kind"), "orderer") ||
			    !lf_streq(attr_s(o->attrs, "channel"), channel) ||
			    !json_is_true(json_object_get(o->outputs, "joined")))
				continue;
			if (lf_join_height(env, o, &h, &e) == 0 && h > 0)
				return h;
		}
	}
	return 1;
}

/* join, then wait until the peer's ledger is as high as the channel's at
 * the orderers (a late joiner catches up) */
static int peer_join(const struct lf_apply_env *env, const struct lf_resource *r,
		     struct joinctx *j, bool *already, uint64_t *height,
		     struct lf_err *err)
{
	struct lf_peer_chain_info info;
	struct peerconn pc;
	unsigned int waited = 0;
	int rc = peerconn_open(env, j, &pc, err);
	bool offline = org_offline(env, attr_s(r->attrs, "org"));
	uint64_t target = 1;

	/* an offline org: is it in already (an apply cut off after sending)?
	 * else the signed file */
	if (rc == 0 && offline) {
		do {
			lf_err_clear(err);
			rc = peer_has(&pc.p, attr_s(r->attrs, "channel"), already, err);
		} while (keep_polling(env, rc, &waited));
		if (rc == 0 && !*already)
			rc = lf_join_offline(env, r, j->node, pc.ch, j->block,
					     j->block_len, already, err);
	} else if (rc == 0) {
		do {
			lf_err_clear(err);
			rc = lf_peer_join(&pc.p, j->block, j->block_len, already, err);
		} while (keep_polling(env, rc, &waited));
	}
	if (rc == 0)
		target = channel_height(env, attr_s(r->attrs, "channel"));
	waited = 0;
	while (rc == 0) {
		rc = lf_peer_height(&pc.p, attr_s(r->attrs, "channel"), &info, err);
		if (rc == 0 && info.height >= target)
			break;
		/* joined a moment ago: the ledger is opening; or its org came
		 * in by a config update the peer has not pulled yet, so its
		 * own admin is no channel reader yet: catching up */
		if (rc == LF_ENOTFOUND || rc == LF_EAUTH || rc == 0)
			rc = LF_ERETRY;
		if (!keep_polling(env, rc, &waited))
			break;
		rc = 0;
	}
	*height = rc == 0 ? info.height : 0;
	peerconn_close(&pc);
	return rc;
}

/* refresh: is the channel among the peer's? */
static int peer_has_channel(const struct lf_apply_env *env, const struct joinctx *j,
			    const char *channel, bool *has, struct lf_err *err)
{
	struct peerconn pc;
	int rc = peerconn_open(env, j, &pc, err);

	*has = false;
	if (rc == 0)
		rc = peer_has(&pc.p, channel, has, err);
	peerconn_close(&pc);
	return rc;
}

static json_t *outputs_not_joined(const char *why)
{
	return json_pack("{s:b, s:s}", "joined", 0, "why", why);
}

static int join_create(const struct lf_apply_env *env, const struct lf_resource *des,
		       json_t **outputs, struct lf_err *err)
{
	struct lf_participation_info info;
	struct joinctx j;
	int rc = joinctx_open(env, des, &j, err);

	if (rc == 0 && !lf_net_node_started(j.node)) {
		*outputs = outputs_not_joined("the node is not started (FABRIC_BIN is not set)");
		goto cleanup;
	}
	if (rc == 0)
		rc = channel_block(env, attr_s(des->attrs, "channel"),
				   lf_streq(attr_s(des->attrs, "kind"), "peer"), &j, err);
	if (rc == 0 && lf_streq(attr_s(des->attrs, "kind"), "peer")) {
		bool already = false;
		uint64_t height = 0;

		rc = peer_join(env, des, &j, &already, &height, err);
		if (rc == 0 && org_offline(env, attr_s(des->attrs, "org"))) {
			*outputs = json_pack("{s:b, s:b, s:I, s:b}", "joined", 1, "already",
					     already, "height", (json_int_t)height,
					     "offline", 1);
			lf_join_offline_done(env, des);
		} else if (rc == 0) {
			*outputs = json_pack("{s:b, s:b, s:I}", "joined", 1, "already", already,
					     "height", (json_int_t)height);
		}
	} else if (rc == 0) {
		rc = orderer_join(env, des, &j, &info, err);
		if (rc == 0)
			*outputs = json_pack("{s:b, s:s, s:s, s:I}", "joined", 1, "relation",
					     info.consensus_relation, "status", info.status,
					     "height", (json_int_t)info.height);
	}
	if (rc != 0 && rc != LF_EPENDING) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		lf_err_set(err, rc, "%s: join of channel '%s' at %s: %s", des->addr,
			   attr_s(des->attrs, "channel"), j.endpoint, msg);
	}
cleanup:
	joinctx_free(&j);
	return rc;
}

int lf_join_height(const struct lf_apply_env *env, const struct lf_resource *join,
		   uint64_t *height, struct lf_err *err)
{
	const char *channel = attr_s(join->attrs, "channel");
	struct joinctx j;
	int rc = joinctx_open(env, join, &j, err);

	*height = 0;
	if (rc == 0 && lf_streq(attr_s(join->attrs, "kind"), "peer")) {
		struct lf_peer_chain_info info;
		struct peerconn pc;

		rc = peerconn_open(env, &j, &pc, err);
		if (rc == 0)
			rc = lf_peer_height(&pc.p, channel, &info, err);
		if (rc == 0)
			*height = info.height;
		peerconn_close(&pc);
	} else if (rc == 0) {
		struct lf_participation_info info;
		struct lf_participation_conn c;

		conn_of(&j, &c);
		rc = lf_participation_get(&c, channel, &info, err);
		if (rc == 0)
			*height = info.height;
	}
	joinctx_free(&j);
	return rc;
}

/* leave the channel, unless the node goes too (then nothing is asked of
 * it: its ledger goes with it) */
static int join_delete(const struct lf_apply_env *env, const struct lf_resource *prior,
		       struct lf_err *err)
{
	const char *naddr = attr_s(prior->attrs, "node");
	struct lf_participation_conn c;
	struct joinctx j;
	int rc;

	if (!env->desired || !lf_rset_get(env->desired, naddr) ||
	    !json_is_true(json_object_get(prior->outputs, "joined")))
		return 0;
	rc = joinctx_open(env, prior, &j, err);
	if (rc == 0 && lf_net_node_started(j.node) && lf_streq(attr_s(prior->attrs, "kind"), "orderer")) {
		conn_of(&j, &c);
		rc = lf_participation_remove(&c, attr_s(prior->attrs, "channel"), err);
	}
	joinctx_free(&j);
	return rc;
}

/* a running peer cannot leave a channel (Fabric's `peer node unjoin`
 * needs the peer stopped); only a peer that goes too can lose its join */
static char *join_refuse_delete(const struct lf_apply_env *env,
				const struct lf_resource *prior,
				const struct lf_resource *desired)
{
	const char *naddr = attr_s(prior->attrs, "node");

	(void)desired;
	if (!lf_streq(attr_s(prior->attrs, "kind"), "peer") || !env->desired ||
	    !lf_rset_get(env->desired, naddr) ||
	    !json_is_true(json_object_get(prior->outputs, "joined")))
		return NULL;
	return lf_xasprintf("peer %s cannot leave channel '%s' while it runs (Fabric has no "
			    "online leave; `peer node unjoin` needs the peer stopped): keep its "
			    "org in the channel, or remove the peer", naddr,
			    attr_s(prior->attrs, "channel"));
}

/* refresh: a node that no longer serves the channel must join again; a
 * node that cannot be reached says nothing (its node's own refresh
 * finds a dead process) */
static int join_read(const struct lf_apply_env *env, const struct lf_resource *prior,
		     json_t **live, struct lf_err *err)
{
	struct lf_participation_info info;
	struct lf_participation_conn c;
	struct lf_err e = LF_ERR_INIT;
	struct joinctx j;
	int rc;

	*live = NULL;
	if (!json_is_true(json_object_get(prior->outputs, "joined")))
		return 0;
	rc = joinctx_open(env, prior, &j, &e);
	if (rc == 0 && lf_net_node_started(j.node) && lf_streq(attr_s(prior->attrs, "kind"), "peer")) {
		bool has = true;

		rc = peer_has_channel(env, &j, attr_s(prior->attrs, "channel"), &has, &e);
		rc = rc == 0 && !has ? lf_err_set(err, LF_ENOTFOUND, "%s: the peer is not in "
						  "channel '%s'", prior->addr,
						  attr_s(prior->attrs, "channel")) : 0;
	} else if (rc == 0 && lf_net_node_started(j.node)) {
		conn_of(&j, &c);
		rc = lf_participation_get(&c, attr_s(prior->attrs, "channel"), &info, &e);
		if (rc == LF_ENOTFOUND)
			lf_err_set(err, rc, "%s", e.msg);
		else
			rc = 0;
	} else {
		rc = 0;
	}
	joinctx_free(&j);
	return rc;
}

static bool join_read_cheap(const struct lf_apply_env *env, const struct lf_resource *r)
{
	(void)env;
	(void)r;
	return true; /* one request to a node of this network */
}

/* a peer of an org whose admin signs elsewhere joins through a file */
static char *join_note(const struct lf_apply_env *env, const struct lf_resource *prior,
		       const struct lf_resource *desired)
{
	const char *org = attr_s(desired->attrs, "org");

	(void)prior;
	if (!lf_streq(attr_s(desired->attrs, "kind"), "peer") || !org_offline(env, org))
		return NULL;
	return lf_xasprintf("org %s's admin signs offline: apply writes the join proposal "
			    "for `ledgerform sign` (one round, one file for the org's peers)",
			    org);
}

/* a join whose dependency was (re)created (the node replaced; not the
 * org admin's identity issued anew: a join once made stays made): joined
 * again where it is not, which joining finds out itself (a peer or
 * orderer already in the channel is recorded "already"); a running peer
 * never has to leave for it. Every attribute change is still a leave and
 * a join (no in_place) */
static int join_update(const struct lf_apply_env *env, const struct lf_resource *prior,
		       const struct lf_resource *desired, json_t **outputs,
		       struct lf_err *err)
{
	(void)prior;
	return join_create(env, desired, outputs, err);
}

const struct lf_rtype lf_rtype_join = {
	.type = "join",
	.create = join_create,
	.update = join_update,
	.follows = lf_follows_but_admin,
	.delete = join_delete,
	.refuse_delete = join_refuse_delete,
	.note = join_note,
	.read = join_read,
	.read_cheap = join_read_cheap,
};
