/*
 * Offline peer joins: a peer of an org whose admin signs elsewhere
 * (orgs[].admin: offline) joins a channel through one signed proposal.
 * cscc JoinChain is not a transaction: the proposal has no channel in its
 * header (the channel's genesis block is its argument), nothing is
 * endorsed or broadcast, and the SignedProposal is the whole call, which
 * the peer checks against its local MSP's admins. So it is one round, as
 * offline installs (core/fabric/cc/cc_install_offline.c), and the same
 * signed bytes serve every peer of the org: a proposal without a channel
 * has no ledger to check its tx id against.
 *
 * apply writes WORKDIR/joins/join.CHANNEL.ORG.json (the format of
 * core/fabric/cc/offline.h, "ledgerform": "peer-join", "step": "join",
 * "rounds": 1) holding the unsigned proposal for the admin's certificate
 * (signcerts only: the admin's key and TLS client pair are never read)
 * and waits (LF_EPENDING); `ledgerform sign` signs it; the next apply
 * sends it to each peer of the org in turn (the org's joins of a channel
 * depend on each other, first peer first) over server-verified TLS with
 * no client certificate, and the join that leaves no peer of the org
 * unjoined removes the file. A file made for another admin certificate or
 * another block (the spec changed between rounds) is replaced.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fabric/cc/cc_int.h"
#include "core/fabric/cc/offline.h"
#include "core/net/join.h"
#include "core/net/lifecycle.h"
#include "core/net/peer.h"
#include "core/spec/spec.h"
#include "core/util/crashpoint.h"
#include "core/util/util.h"

/* Fabric 2.5.5's refusal of a JoinChain for a ledger the peer has */
#define ALREADY "already exists"

struct ojoin {
	const struct lf_apply_env *env;
	const struct lf_resource *r, *node;
	const void *block;
	size_t block_len;
	char block_sha[65];
	char *cert;                 /* the admin's certificate (public) */
	size_t cert_len;
	char *path;
	json_t *j;                  /* the file, NULL when none */
};

static const char *A(const struct lf_resource *r, const char *k)
{
	return json_string_value(json_object_get(r->attrs, k));
}

char *lf_join_offline_file(const struct lf_apply_env *env, const char *channel,
			   const char *org)
{
	char *dir = lf_path_join(env->workdir, "joins");
	char *p = lf_xasprintf("%s/join.%s.%s.json", dir, channel, org);

	free(dir);
	return p;
}

static int waiting(const struct ojoin *o, struct lf_err *err)
{
	return lf_err_set(err, LF_EPENDING, "waiting for signatures: %s's "
			  "admin signs offline, the join of org '%s''s peers to "
			  "channel '%s' (one round, for every peer of the org): "
			  "run `ledgerform sign %s --msp <%s admin msp folder>` "
			  "where that key is kept, then `ledgerform apply`",
			  A(o->node, "mspid"), A(o->r, "org"),
			  A(o->r, "channel"), o->path, A(o->node, "mspid"));
}

/* the org's peers in the spec, for the file's reader */
static json_t *org_peers(const struct ojoin *o)
{
	const struct lf_org *org = lf_spec_org(o->env->spec, A(o->r, "org"));
	json_t *a = json_array();

	for (size_t i = 0; org && i < org->nnodes; i++)
		if (org->nodes[i].kind == LF_NODE_PEER)
			json_array_append_new(a, json_string(org->nodes[i].hostname));
	return a;
}

/* the unsigned JoinChain proposal for the admin's certificate, written */
static int start(struct ojoin *o, struct lf_err *err)
{
	struct lf_bytes args[2] = { { "JoinChain", 9 }, { o->block, o->block_len } };
	uint8_t *prop = NULL;
	size_t plen = 0;
	char tx_id[65], *b = NULL, *out = NULL;
	int rc = lf_proposal_bytes("", "cscc", args, 2, A(o->node, "mspid"), o->cert,
				   o->cert_len, &prop, &plen, tx_id, err);

	if (rc == 0) {
		json_decref(o->j);
		b = lf_cc_b64(prop, plen);
		o->j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:o, "
				 "s:s, s:s, s:s, s:s}", "ledgerform", LF_JOIN_SIGN_KIND,
				 "step", "join", "round", 1, "rounds", 1, "what",
				 "the channel join proposal (the channel's block inside)",
				 "mspid", A(o->node, "mspid"), "org", A(o->r, "org"),
				 "channel", A(o->r, "channel"), "peers", org_peers(o),
				 "block_sha256", o->block_sha, "tx_id", tx_id,
				 "creator", o->cert, "sign", b);
		out = json_dumps(o->j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		rc = lf_write_file_atomic(o->path, out, strlen(out), 0644, err);
	}
	free(out);
	free(b);
	free(prop);
	return rc == 0 ? waiting(o, err) : rc;
}

/* the file was made for this admin and this block */
static bool current(const struct ojoin *o)
{
	const char *s = json_string_value(json_object_get(o->j, "creator"));

	return lf_streq(json_string_value(json_object_get(o->j, "ledgerform")),
			LF_JOIN_SIGN_KIND) &&
	       lf_streq(json_string_value(json_object_get(o->j, "block_sha256")),
			o->block_sha) &&
	       lf_streq(json_string_value(json_object_get(o->j, "channel")),
			A(o->r, "channel")) &&
	       s && strlen(s) == o->cert_len && memcmp(s, o->cert, o->cert_len) == 0;
}

/* the signed proposal to this peer: 0 with *already for a peer that has
 * the ledger (Fabric refuses the join saying so) */
static int send(const struct ojoin *o, lf_grpc_channel *ch, bool *already,
		struct lf_err *err)
{
	struct lf_proposal_reply r;
	int rc = lf_cc__send_signed(o->j, o->path, ch, ALREADY, &r, already, err);

	lf_proposal_reply_clear(&r);
	return rc;
}

int lf_join_offline(const struct lf_apply_env *env, const struct lf_resource *r,
		    const struct lf_resource *node, lf_grpc_channel *ch,
		    const void *block, size_t block_len, bool *already,
		    struct lf_err *err)
{
	struct ojoin o = { env, r, node, block, block_len, { 0 }, NULL, 0, NULL, NULL };
	char *dir = lf_path_join(env->workdir, "joins");
	int rc = lf_mkdirs(dir, 0755, err);

	free(dir);
	o.path = lf_join_offline_file(env, A(r, "channel"), A(r, "org"));
	lf_sha256_hex(block, block_len, o.block_sha);
	if (rc == 0)
		rc = lf_cc__admin_cert(env, node, &o.cert, &o.cert_len, err);
	if (rc == 0 && lf_path_exists(o.path))
		o.j = json_load_file(o.path, 0, NULL);
	if (rc == 0 && (!o.j || !current(&o)))
		rc = start(&o, err);   /* none yet, or for another admin or block */
	else if (rc == 0 && !json_object_get(o.j, "signature"))
		rc = waiting(&o, err);
	else if (rc == 0)
		rc = send(&o, ch, already, err);
	if (rc == 0)
		lf_crash_point("join.offline.after_send");
	json_decref(o.j);
	free(o.path);
	free(o.cert);
	return rc;
}

void lf_join_offline_done(const struct lf_apply_env *env, const struct lf_resource *r)
{
	const struct lf_org *org = lf_spec_org(env->spec, A(r, "org"));
	bool all = true;
	char *path;

	for (size_t i = 0; org && i < org->nnodes; i++) {
		char *addr;
		const struct lf_resource *other;

		if (org->nodes[i].kind != LF_NODE_PEER)
			continue;
		addr = lf_xasprintf("join.%s.%s.%s", A(r, "channel"), org->name,
				    org->nodes[i].name);
		other = lf_net_lookup(env, addr);
		all = all && (lf_streq(addr, r->addr) ||
			      (other && json_is_true(json_object_get(other->outputs,
								     "joined"))));
		free(addr);
	}
	if (!all)
		return;
	path = lf_join_offline_file(env, A(r, "channel"), A(r, "org"));
	unlink(path);
	free(path);
}
