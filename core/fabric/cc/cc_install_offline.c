/*
 * Offline installs: an org whose admin signs elsewhere (orgs[].admin:
 * offline) installs a package on its peers through one signed proposal.
 * InstallChaincode is not a transaction (no channel, no endorsement): the
 * SignedProposal to `_lifecycle` is the whole call, so it is one round,
 * and the same signed proposal serves every peer of the org (a proposal
 * without a channel has no ledger to check its tx id against).
 *
 * apply writes WORKDIR/chaincodes/cc_install.NAME.ORG.json (offline.h's
 * format with "step": "install", "rounds": 1) holding the unsigned
 * proposal for the admin's certificate, and waits; `ledgerform sign`
 * signs it; the next apply sends it to each peer of the org in turn (the
 * org's installs depend on each other, first peer first), and the last
 * peer's install removes the file.
 *
 * The package is inside the signed bytes (InstallChaincodeArgs is the
 * proposal's argument and the signature covers the proposal), so the file
 * holds the package once, base64: "sign" is the proposal itself.
 * Without the admin's signature the peer's installed list cannot be read,
 * so a package already on a peer is recognised by the peer's refusal
 * ("chaincode already successfully installed"), the one place this code
 * reads an error text.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/cc/cc.h"
#include "core/fabric/cc/cc_int.h"
#include "core/fabric/cc/offline.h"
#include "core/net/peer.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "lfpb/lifecycle.pb-c.h"

#define ALREADY "already successfully installed"

struct inst {
	const struct lf_apply_env *env;
	const struct lf_resource *r, *node;
	char *path;
	json_t *j;                  /* the file, NULL when none */
};

static const char *A(const struct inst *in, const char *k)
{
	return lf_cc__attr(in->r->attrs, k);
}

static int waiting(const struct inst *in, struct lf_err *err)
{
	return lf_err_set(err, LF_EPENDING, "waiting for signatures: %s's admin "
			  "signs offline, the install proposal of %s (one round, "
			  "for every peer of org '%s'): run `ledgerform sign %s "
			  "--msp <%s admin msp folder>` where that key is kept, "
			  "then `ledgerform apply`", A(in, "mspid"),
			  A(in, "package_id"), A(in, "org"), in->path,
			  A(in, "mspid"));
}

/* InstallChaincodeArgs{the package} */
static int install_arg(const struct inst *in, uint8_t **arg, size_t *len,
		       struct lf_err *err)
{
	Lfpb__InstallChaincodeArgs a = LFPB__INSTALL_CHAINCODE_ARGS__INIT;
	char *pkg = NULL;
	size_t plen = 0;
	int rc = lf_cc__read_package(in->env, A(in, "chaincode"), &pkg, &plen,
				     err);

	if (rc == 0) {
		a.chaincode_install_package.data = (uint8_t *)pkg;
		a.chaincode_install_package.len = plen;
		*arg = lf_pb_pack(&a.base, len);
	}
	free(pkg);
	return rc;
}

/* the unsigned proposal for the admin's certificate, written out */
static int start(struct inst *in, struct lf_err *err)
{
	struct lf_lc_proposal prop = { 0 };
	char *cert = NULL, *b = NULL, *out = NULL;
	uint8_t *arg = NULL;
	size_t clen = 0, alen = 0;
	int rc = lf_cc__admin_cert(in->env, in->node, &cert, &clen, err);

	if (rc == 0)
		rc = install_arg(in, &arg, &alen, err);
	if (rc == 0)
		rc = lf_lc_unsigned_proposal(&prop, "", "InstallChaincode", arg,
					     alen, A(in, "mspid"), cert, clen, err);
	if (rc == 0) {
		json_decref(in->j);
		b = lf_cc_b64(prop.proposal_bytes, prop.proposal_len);
		in->j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, "
				  "s:s, s:s, s:s}", "ledgerform", LF_CC_SIGN_KIND,
				  "step", "install", "round", 1, "rounds", 1, "what",
				  "the install proposal (the package inside)",
				  "mspid", A(in, "mspid"), "chaincode",
				  A(in, "chaincode"), "package_id",
				  A(in, "package_id"), "tx_id", prop.tx_id,
				  "creator", cert, "sign", b);
		out = json_dumps(in->j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		rc = lf_write_file_atomic(in->path, out, strlen(out), 0644, err);
	}
	lf_lc_proposal_clear(&prop);
	free(out);
	free(b);
	free(arg);
	free(cert);
	return rc == 0 ? waiting(in, err) : rc;
}

int lf_cc__send_signed(const json_t *file, const char *path, lf_grpc_channel *ch,
		       const char *already_text, struct lf_proposal_reply *reply,
		       bool *already, struct lf_err *err)
{
	unsigned char *prop = NULL, *sig = NULL;
	uint8_t *sp = NULL, *resp = NULL;
	size_t plen = 0, slen = 0, splen = 0, rlen = 0;
	int rc = 0;

	memset(reply, 0, sizeof(*reply));
	*already = false;
	if (lf_cc_unb64(lf_cc__attr(file, "sign"), &prop, &plen) != 0 ||
	    lf_cc_unb64(lf_cc__attr(file, "signature"), &sig, &slen) != 0)
		rc = lf_err_set(err, LF_EINVALID, "'%s' holds no valid proposal "
				"and signature", path);
	if (rc == 0)
		rc = lf_lc_signed_proposal(prop, plen, sig, slen, &sp, &splen, err);
	if (rc == 0)
		rc = lf_grpc_unary(ch, LF_PEER_METHOD, sp, splen, &resp, &rlen,
				   LF_PEER_DEADLINE_DEFAULT_MS, NULL, err);
	if (rc == 0) {
		rc = lf_proposal_reply_decode(resp, rlen, reply, err);
		if (rc != 0 && reply->message && strstr(reply->message, already_text)) {
			lf_err_clear(err);
			*already = true;
			rc = 0;
		}
	}
	free(resp);
	free(sp);
	free(sig);
	free(prop);
	return rc;
}

/* the signed proposal to this peer: its InstallChaincodeResult, or its
 * "already installed" refusal */
static int send(struct inst *in, bool *already, struct lf_err *err)
{
	struct lf_proposal_reply r = { 0 };
	Lfpb__InstallChaincodeResult *res = NULL;
	struct ccpeer cp = { 0 };
	int rc = lf_cc__peer_open(in->env, in->node, NULL, &cp, err);

	*already = false;
	if (rc == 0)
		rc = lf_cc__send_signed(in->j, in->path, cp.ch, ALREADY, &r, already, err);
	if (rc == 0 && !*already) {
		res = lf_pb_unpack(&lfpb__install_chaincode_result__descriptor,
				   r.payload_len, r.payload, NULL);
		if (!res || !lf_streq(res->package_id, A(in, "package_id")))
			rc = lf_err_set(err, LF_ECONFLICT, "the peer calls the "
					"package %s, the plan %s", res &&
					res->package_id ? res->package_id : "?",
					A(in, "package_id"));
	}
	if (res)
		lfpb__install_chaincode_result__free_unpacked(res, NULL);
	lf_proposal_reply_clear(&r);
	lf_cc__peer_close(&cp);
	return rc;
}

/* is node the org's last peer in the spec (whose install removes the
 * file)? */
static bool last_peer(const struct inst *in)
{
	const struct lf_org *o = lf_spec_org(in->env->spec, A(in, "org"));
	const char *last = NULL;
	char *addr;
	bool yes;

	for (size_t i = 0; o && i < o->nnodes; i++)
		if (o->nodes[i].kind == LF_NODE_PEER)
			last = o->nodes[i].name;
	if (!last)
		return true;
	addr = lf_xasprintf("node.%s.%s", A(in, "org"), last);
	yes = lf_streq(addr, A(in, "node"));
	free(addr);
	return yes;
}

int lf_cc__install_offline(const struct lf_apply_env *env,
			   const struct lf_resource *r,
			   const struct lf_resource *node, json_t **outputs,
			   struct lf_err *err)
{
	struct inst in = { env, r, node, NULL, NULL };
	char *dir = lf_path_join(env->workdir, "chaincodes");
	bool already = false;
	int rc = lf_mkdirs(dir, 0755, err);

	in.path = lf_xasprintf("%s/cc_install.%s.%s.json", dir,
			       A(&in, "chaincode"), A(&in, "org"));
	free(dir);
	if (rc == 0 && lf_path_exists(in.path))
		in.j = json_load_file(in.path, 0, NULL);
	if (rc == 0 && (!in.j || !lf_streq(lf_cc__attr(in.j, "package_id"),
					   A(&in, "package_id"))))
		rc = start(&in, err);   /* none yet, or for another package */
	else if (rc == 0 && !lf_cc__attr(in.j, "signature"))
		rc = waiting(&in, err);
	else if (rc == 0 && (rc = send(&in, &already, err)) != 0)
		lf_cc__wrap(err, rc, r->addr, "offline install");
	if (rc == 0) {
		if (last_peer(&in))
			unlink(in.path);
		*outputs = json_pack("{s:b, s:s, s:b, s:b}", "done", 1,
				     "package_id", A(&in, "package_id"),
				     "already", already, "offline", 1);
	}
	json_decref(in.j);
	free(in.path);
	return rc;
}
