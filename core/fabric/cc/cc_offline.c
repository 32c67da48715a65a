/*
 * Offline approvals (offline.h): apply writes the round's bytes to sign
 * into WORKDIR/chaincodes/ADDR.json and ends the action with the "waiting
 * for signatures" outcome config updates use (LF_EPENDING saying who
 * signs what: apply exits 3 when nothing else failed); once the admin signed, the next apply carries the round out.
 * The org's private key is never read here: only its admin certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fabric/cc/cc.h"
#include "core/fabric/cc/cc_int.h"
#include "core/fabric/cc/offline.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

struct approval {
	const struct lf_apply_env *env;
	const struct lf_resource *r, *node;
	char *path;
	json_t *j;                  /* the file, NULL when none */
	struct ccdef cd;
};

static const char *A(const struct approval *ap, const char *k)
{
	return lf_cc__attr(ap->r->attrs, k);
}

/* the admin's public certificate, from the crypto tree */
int lf_cc__admin_cert(const struct lf_apply_env *env,
		      const struct lf_resource *node, char **pem, size_t *len,
		      struct lf_err *err)
{
	const char *domain = lf_cc__attr(node->attrs, "domain");
	char *dir = lf_cc__org_dir(env, "peerOrganizations", node);
	char *p = lf_xasprintf("%s/users/Admin@%s/msp/signcerts/Admin@%s-cert.pem",
			       dir, domain, domain);
	int rc = lf_read_file(p, pem, len, err);

	free(p);
	free(dir);
	return rc;
}

/* what apply says while it waits: who signs which round of what */
static int waiting(const struct approval *ap, struct lf_err *err)
{
	int round = (int)json_integer_value(json_object_get(ap->j, "round"));

	return lf_err_set(err, LF_EPENDING, "waiting for signatures: %s's "
			  "admin signs offline, round %d of 2 (%s): run `ledgerform "
			  "sign %s --msp <%s admin msp folder>` where that key is "
			  "kept, then `ledgerform apply`", A(ap, "mspid"), round, round == 1 ? "the approval "
			  "proposal" : "the endorsed approval transaction",
			  ap->path, A(ap, "mspid"));
}

static int write_round(struct approval *ap, int round, const uint8_t *sign,
		       size_t len, struct lf_err *err)
{
	char *b = lf_cc_b64(sign, len), *out;
	int rc;

	json_object_set_new(ap->j, "round", json_integer(round));
	json_object_set_new(ap->j, "what", json_string(round == 1 ?
		"the approval proposal" : "the endorsed approval transaction"));
	json_object_set_new(ap->j, "sign", json_string(b));
	json_object_del(ap->j, "signature");
	out = json_dumps(ap->j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	rc = lf_write_file_atomic(ap->path, out, strlen(out), 0644, err);
	free(out);
	free(b);
	return rc == 0 ? waiting(ap, err) : rc;
}

/* round 1: the unsigned proposal for the admin's certificate */
static int start(struct approval *ap, struct lf_err *err)
{
	struct lf_lc_proposal prop = { 0 };
	char *cert = NULL, *b;
	size_t clen = 0;
	int rc = lf_cc__admin_cert(ap->env, ap->node, &cert, &clen, err);

	if (rc == 0)
		rc = lf_lc_approve_proposal(&prop, A(ap, "channel"), &ap->cd.d,
					    A(ap, "mspid"), cert, clen, err);
	if (rc == 0) {
		json_decref(ap->j);
		b = lf_cc_b64(prop.proposal_bytes, prop.proposal_len);
		ap->j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, "
				  "s:s, s:s}", "ledgerform", LF_CC_SIGN_KIND,
				  "resource", ap->r->addr, "mspid", A(ap, "mspid"),
				  "channel", A(ap, "channel"), "chaincode",
				  A(ap, "name"), "version", A(ap, "version"),
				  "sequence", (json_int_t)ap->cd.d.sequence,
				  "definition", ap->r->hash, "tx_id", prop.tx_id,
				  "creator", cert, "proposal", b);
		free(b);
		rc = write_round(ap, 1, prop.proposal_bytes, prop.proposal_len,
				 err);
	}
	lf_lc_proposal_clear(&prop);
	free(cert);
	return rc;
}

static int b64_field(const struct approval *ap, const char *k,
		     unsigned char **out, size_t *len, struct lf_err *err)
{
	if (lf_cc_unb64(lf_cc__attr(ap->j, k), out, len) != 0)
		return lf_err_set(err, LF_EINVALID, "%s: '%s' holds no valid %s",
				  ap->r->addr, ap->path, k);
	return 0;
}

/* round 1 signed: endorsed by the org's peer; round 2 written */
static int endorse(struct approval *ap, struct lf_err *err)
{
	unsigned char *prop = NULL, *sig = NULL;
	uint8_t *sp = NULL, *payload = NULL;
	size_t plen = 0, slen = 0, splen = 0, paylen = 0;
	struct lf_lc_endorsed e = { 0 };
	struct ccpeer cp = { 0 };
	int rc = b64_field(ap, "proposal", &prop, &plen, err);

	if (rc == 0)
		rc = b64_field(ap, "signature", &sig, &slen, err);
	if (rc == 0)
		rc = lf_lc_signed_proposal(prop, plen, sig, slen, &sp, &splen, err);
	if (rc == 0)
		rc = lf_cc__peer_open(ap->env, ap->node, NULL, &cp, err);
	if (rc == 0)
		rc = lf_lc_endorse(&cp.p, 1, sp, splen, &e, err);
	if (rc == 0)
		rc = lf_lc_tx_payload(prop, plen, &e, &payload, &paylen, err);
	if (rc == 0)
		rc = write_round(ap, 2, payload, paylen, err);
	lf_lc_endorsed_clear(&e);
	lf_cc__peer_close(&cp);
	free(payload);
	free(sp);
	free(sig);
	free(prop);
	return rc;
}

/* round 2 signed: broadcast, awaited on the org's peer (polled as a
 * member org whose admin signs here) */
static int submit(struct approval *ap, struct lf_err *err)
{
	unsigned char *payload = NULL, *sig = NULL;
	uint8_t *envb = NULL;
	size_t plen = 0, slen = 0, elen = 0;
	struct lf_identity id = { 0 };
	struct ccpeer cp = { 0 };
	lf_ab *ab = NULL;
	int rc = b64_field(ap, "sign", &payload, &plen, err);

	if (rc == 0)
		rc = b64_field(ap, "signature", &sig, &slen, err);
	if (rc == 0)
		rc = lf_lc_tx_envelope(payload, plen, sig, slen, &envb, &elen, err);
	if (rc == 0)
		rc = lf_cc__local_admin(ap->env, A(ap, "channel"), &id, err);
	if (rc == 0)
		rc = lf_cc__peer_open(ap->env, ap->node, &id, &cp, err);
	if (rc == 0)
		rc = lf_cc__orderer_open(ap->env, A(ap, "channel"), &ab, err);
	if (rc == 0)
		rc = lf_lc_submit(ab, A(ap, "channel"), envb, elen,
				  lf_cc__attr(ap->j, "tx_id"), &cp.p, 1, 0, NULL,
				  err);
	lf_ab_free(ab);
	lf_cc__peer_close(&cp);
	lf_identity_clear(&id);
	free(envb);
	free(sig);
	free(payload);
	return rc;
}

/* the org's approval of this definition is on the channel already (an
 * apply cut off after its submission); asked as a member that signs here */
static bool already(const struct approval *ap)
{
	struct lf_identity id = { 0 };
	struct lf_lc_approval *v = NULL;
	struct lf_err e = LF_ERR_INIT;
	struct ccpeer cp = { 0 };
	size_t n = 0;
	bool yes = false;

	if (lf_cc__local_admin(ap->env, A(ap, "channel"), &id, &e) == 0 &&
	    lf_cc__peer_open(ap->env, ap->node, &id, &cp, &e) == 0 &&
	    lf_lc_check_commit_readiness(&cp.p, A(ap, "channel"), &ap->cd.d, &v,
					 &n, &e) == 0)
		for (size_t i = 0; i < n; i++)
			yes |= v[i].approved && lf_streq(v[i].mspid, A(ap, "mspid"));
	lf_lc_approvals_free(v, n);
	lf_cc__peer_close(&cp);
	lf_identity_clear(&id);
	return yes;
}

static void approval_free(struct approval *ap)
{
	json_decref(ap->j);
	free(ap->path);
	free(ap->cd.policy);
	free(ap->cd.collections);
}

int lf_cc__approve_offline(const struct lf_apply_env *env,
			   const struct lf_resource *r,
			   const struct lf_resource *node, json_t **outputs,
			   struct lf_err *err)
{
	struct approval ap = { env, r, node, NULL, NULL, { { 0 }, NULL, 0, NULL } };
	char *dir = lf_path_join(env->workdir, "chaincodes");
	int rc = lf_mkdirs(dir, 0755, err), round;

	ap.path = lf_xasprintf("%s/%s.json", dir, r->addr);
	free(dir);
	if (rc == 0)
		rc = lf_cc__def_of(r, true, &ap.cd, err);
	if (rc == 0 && already(&ap)) {
		unlink(ap.path);
		*outputs = json_pack("{s:b, s:I, s:b, s:b}", "done", 1, "sequence",
				     (json_int_t)ap.cd.d.sequence, "offline", 1,
				     "already", 1);
		approval_free(&ap);
		return 0;
	}
	if (rc == 0 && lf_path_exists(ap.path))
		ap.j = json_load_file(ap.path, 0, NULL);
	if (rc == 0 && (!ap.j || !lf_streq(lf_cc__attr(ap.j, "definition"), r->hash)))
		rc = start(&ap, err);   /* none yet, or for another definition */
	round = (int)json_integer_value(json_object_get(ap.j, "round"));
	if (rc == 0 && !lf_cc__attr(ap.j, "signature"))
		rc = waiting(&ap, err);
	else if (rc == 0 && round == 1)
		rc = endorse(&ap, err);
	else if (rc == 0)
		rc = submit(&ap, err);
	if (rc == 0) {
		unlink(ap.path);
		*outputs = json_pack("{s:b, s:I, s:b}", "done", 1, "sequence",
				     (json_int_t)ap.cd.d.sequence, "offline", 1);
	} else if (rc != LF_EPENDING) {
		lf_cc__wrap(err, rc, r->addr, "offline approval");
	}
	approval_free(&ap);
	return rc;
}
