/*
 * Fabric's chaincode lifecycle over gRPC (see lifecycle.h): `_lifecycle`
 * calls, and endorser transactions built, endorsed, signed, broadcast and
 * awaited step by step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/net/lifecycle.h"
#include "core/util/util.h"
#include "lfpb/lifecycle.pb-c.h"
#include "lfpb/proposal.pb-c.h"

/* ---- arguments ---- */

int lf_lc_policy_signature(const char *rule, uint8_t **out, size_t *len,
			   struct lf_err *err)
{
	Lfpb__ApplicationPolicy ap = LFPB__APPLICATION_POLICY__INIT;
	ProtobufCBinaryData env;
	int pt, rc = lf_policy_encode("Signature", rule, &pt, &env, err);

	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	ap.type_case = LFPB__APPLICATION_POLICY__TYPE_SIGNATURE_POLICY;
	ap.signature_policy = env;
	*out = lf_pb_pack(&ap.base, len);
	free(env.data);
	return 0;
}

int lf_lc_policy_ref(const char *ref, uint8_t **out, size_t *len,
		     struct lf_err *err)
{
	Lfpb__ApplicationPolicy ap = LFPB__APPLICATION_POLICY__INIT;

	*out = NULL;
	*len = 0;
	if (!ref || ref[0] != '/')
		return lf_err_set(err, LF_EINVALID, "a channel policy reference "
				  "is a path such as /Channel/Application/"
				  "Endorsement, not '%s'", ref ? ref : "");
	ap.type_case =
		LFPB__APPLICATION_POLICY__TYPE_CHANNEL_CONFIG_POLICY_REFERENCE;
	ap.channel_config_policy_reference = (char *)ref;
	*out = lf_pb_pack(&ap.base, len);
	return 0;
}

static int def_check(const struct lf_lc_def *d, struct lf_err *err)
{
	if (!d || !d->name || !*d->name || !d->version || !*d->version ||
	    d->sequence < 1)
		return lf_err_set(err, LF_EINVALID, "a chaincode definition "
				  "needs a name, a version and a sequence >= 1");
	return 0;
}

static const char *or_default(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

int lf_lc_commit_args(const struct lf_lc_def *d, uint8_t **out, size_t *len,
		      struct lf_err *err)
{
	Lfpb__CommitChaincodeDefinitionArgs a =
		LFPB__COMMIT_CHAINCODE_DEFINITION_ARGS__INIT;
	int rc = def_check(d, err);

	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	a.sequence = d->sequence;
	a.name = (char *)d->name;
	a.version = (char *)d->version;
	a.endorsement_plugin = (char *)or_default(d->endorsement_plugin, "escc");
	a.validation_plugin = (char *)or_default(d->validation_plugin, "vscc");
	a.validation_parameter.data = (uint8_t *)d->validation_parameter;
	a.validation_parameter.len = d->validation_parameter_len;
	a.collections.data = (uint8_t *)d->collections;
	a.collections.len = d->collections_len;
	a.init_required = d->init_required;
	*out = lf_pb_pack(&a.base, len);
	return 0;
}

int lf_lc_approve_args(const struct lf_lc_def *d, uint8_t **out,
		       size_t *len, struct lf_err *err)
{
	Lfpb__ApproveChaincodeDefinitionForMyOrgArgs a =
		LFPB__APPROVE_CHAINCODE_DEFINITION_FOR_MY_ORG_ARGS__INIT;
	Lfpb__ChaincodeSource src = LFPB__CHAINCODE_SOURCE__INIT;
	Lfpb__ChaincodeSource__Local loc = LFPB__CHAINCODE_SOURCE__LOCAL__INIT;
	Lfpb__ChaincodeSource__Unavailable un =
		LFPB__CHAINCODE_SOURCE__UNAVAILABLE__INIT;
	int rc = def_check(d, err);

	*out = NULL;
	*len = 0;
	if (rc)
		return rc;
	a.sequence = d->sequence;
	a.name = (char *)d->name;
	a.version = (char *)d->version;
	a.endorsement_plugin = (char *)or_default(d->endorsement_plugin, "escc");
	a.validation_plugin = (char *)or_default(d->validation_plugin, "vscc");
	a.validation_parameter.data = (uint8_t *)d->validation_parameter;
	a.validation_parameter.len = d->validation_parameter_len;
	a.collections.data = (uint8_t *)d->collections;
	a.collections.len = d->collections_len;
	a.init_required = d->init_required;
	if (d->package_id && *d->package_id) {
		loc.package_id = (char *)d->package_id;
		src.type_case = LFPB__CHAINCODE_SOURCE__TYPE_LOCAL_PACKAGE;
		src.local_package = &loc;
	} else {
		src.type_case = LFPB__CHAINCODE_SOURCE__TYPE_UNAVAILABLE;
		src.unavailable = &un;
	}
	a.source = &src;
	*out = lf_pb_pack(&a.base, len);
	return 0;
}

/* ---- calls to `_lifecycle` ---- */

/* fn(arg) on channel as p->id; reply cleared by the caller */
static int lc_call(const struct lf_peer *p, const char *channel,
		   const char *fn, const ProtobufCMessage *arg,
		   struct lf_proposal_reply *reply, struct lf_err *err)
{
	struct lf_bytes a[2];
	size_t len = 0;
	uint8_t *buf = lf_pb_pack(arg, &len);
	int rc;

	a[0].data = fn;
	a[0].len = strlen(fn);
	a[1].data = buf;
	a[1].len = len;
	rc = lf_peer_invoke(p, channel, LF_LC_CC, a, 2, reply, NULL, err);
	free(buf);
	return rc;
}

/* unpack a reply's payload as d, or LF_EINVALID naming fn */
static void *lc_unpack(const ProtobufCMessageDescriptor *d,
		       const struct lf_proposal_reply *r, const char *fn,
		       struct lf_err *err)
{
	void *m = lf_pb_unpack(d, r->payload_len, r->payload, NULL);

	if (!m)
		lf_err_set(err, LF_EINVALID, "peer: %s answered something "
			   "else than its result", fn);
	return m;
}

void lf_lc_installed_free(struct lf_lc_installed *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].package_id);
		free(v[i].label);
	}
	free(v);
}

int lf_lc_query_installed(const struct lf_peer *p,
			  struct lf_lc_installed **out, size_t *n,
			  struct lf_err *err)
{
	Lfpb__QueryInstalledChaincodesArgs a =
		LFPB__QUERY_INSTALLED_CHAINCODES_ARGS__INIT;
	Lfpb__QueryInstalledChaincodesResult *q = NULL;
	struct lf_proposal_reply r;
	int rc = lc_call(p, "", "QueryInstalledChaincodes", &a.base, &r, err);

	*out = NULL;
	*n = 0;
	if (rc == 0 &&
	    !(q = lc_unpack(&lfpb__query_installed_chaincodes_result__descriptor,
			    &r, "QueryInstalledChaincodes", err)))
		rc = LF_EINVALID;
	if (rc == 0) {
		*out = lf_xcalloc(q->n_installed_chaincodes + 1, sizeof(**out));
		for (size_t i = 0; i < q->n_installed_chaincodes; i++) {
			(*out)[i].package_id = lf_xstrdup(
				q->installed_chaincodes[i]->package_id);
			(*out)[i].label =
				lf_xstrdup(q->installed_chaincodes[i]->label);
		}
		*n = q->n_installed_chaincodes;
	}
	if (q)
		lfpb__query_installed_chaincodes_result__free_unpacked(q, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

int lf_lc_query_installed_one(const struct lf_peer *p, const char *package_id,
			      char *label, size_t label_n, struct lf_err *err)
{
	Lfpb__QueryInstalledChaincodeArgs a =
		LFPB__QUERY_INSTALLED_CHAINCODE_ARGS__INIT;
	Lfpb__QueryInstalledChaincodeResult *q = NULL;
	struct lf_proposal_reply r;
	int rc;

	a.package_id = (char *)package_id;
	rc = lc_call(p, "", "QueryInstalledChaincode", &a.base, &r, err);
	/* Fabric 2.5: status 500 "... could not find chaincode with package
	 * id 'X'" */
	if (rc && r.message && strstr(r.message, "could not find chaincode")) {
		lf_err_clear(err);
		rc = lf_err_set(err, LF_ENOTFOUND, "package '%s' is not "
				"installed on the peer", package_id);
	}
	if (rc == 0 &&
	    !(q = lc_unpack(&lfpb__query_installed_chaincode_result__descriptor,
			    &r, "QueryInstalledChaincode", err)))
		rc = LF_EINVALID;
	if (rc == 0 && label && label_n)
		snprintf(label, label_n, "%s", q->label ? q->label : "");
	if (q)
		lfpb__query_installed_chaincode_result__free_unpacked(q, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

/* the installed package whose id ends in ":" + hex, into package_id */
static int find_installed(const struct lf_peer *p, const char *hex,
			  char *package_id, bool *found, struct lf_err *err)
{
	struct lf_lc_installed *v = NULL;
	size_t n = 0;
	int rc = lf_lc_query_installed(p, &v, &n, err);

	*found = false;
	for (size_t i = 0; rc == 0 && i < n && !*found; i++) {
		const char *c = v[i].package_id ? strrchr(v[i].package_id, ':')
						: NULL;

		if (c && strcmp(c + 1, hex) == 0 &&
		    strlen(v[i].package_id) < LF_LC_PACKAGE_ID_MAX) {
			strcpy(package_id, v[i].package_id);
			*found = true;
		}
	}
	lf_lc_installed_free(v, n);
	return rc;
}

/* InstallChaincode of pkg; the peer's package ID into package_id */
static int install_send(const struct lf_peer *p, const void *pkg, size_t len,
			char *package_id, struct lf_err *err)
{
	Lfpb__InstallChaincodeArgs a = LFPB__INSTALL_CHAINCODE_ARGS__INIT;
	Lfpb__InstallChaincodeResult *res = NULL;
	struct lf_proposal_reply r;
	int rc;

	a.chaincode_install_package.data = (uint8_t *)pkg;
	a.chaincode_install_package.len = len;
	rc = lc_call(p, "", "InstallChaincode", &a.base, &r, err);
	if (rc == 0 &&
	    !(res = lc_unpack(&lfpb__install_chaincode_result__descriptor, &r,
			      "InstallChaincode", err)))
		rc = LF_EINVALID;
	if (rc == 0 && (!res->package_id ||
			strlen(res->package_id) >= LF_LC_PACKAGE_ID_MAX))
		rc = lf_err_set(err, LF_EINVALID, "peer: InstallChaincode "
				"answered no package ID");
	if (rc == 0)
		strcpy(package_id, res->package_id);
	if (res)
		lfpb__install_chaincode_result__free_unpacked(res, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

int lf_lc_install(const struct lf_peer *p, const void *pkg, size_t len,
		  char *package_id, bool *already, struct lf_err *err)
{
	struct lf_err e2 = LF_ERR_INIT;
	char hex[65];
	int rc;

	package_id[0] = '\0';
	lf_sha256_hex(pkg, len, hex);
	rc = find_installed(p, hex, package_id, already, err);
	if (rc || *already)
		return rc;
	rc = install_send(p, pkg, len, package_id, err);
	/* installed meanwhile (another apply)? the list says so, whatever
	 * the peer's refusal reads */
	if (rc && find_installed(p, hex, package_id, already, &e2) == 0 &&
	    *already) {
		lf_err_clear(err);
		rc = 0;
	}
	lf_err_clear(&e2);
	return rc;
}

void lf_lc_approvals_free(struct lf_lc_approval *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].mspid);
	free(v);
}

static int approval_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lf_lc_approval *)a)->mspid,
		      ((const struct lf_lc_approval *)b)->mspid);
}

/* an empty approvals array of ne (+1) entries */
static struct lf_lc_approval *approvals_new(size_t ne)
{
	return lf_xcalloc(ne + 1, sizeof(struct lf_lc_approval));
}

int lf_lc_check_commit_readiness(const struct lf_peer *p, const char *channel,
				 const struct lf_lc_def *d,
				 struct lf_lc_approval **out, size_t *n,
				 struct lf_err *err)
{
	Lfpb__CheckCommitReadinessResult *q = NULL;
	struct lf_proposal_reply r = { 0 };
	struct lf_bytes a[2] = { { "CheckCommitReadiness", 20 }, { NULL, 0 } };
	uint8_t *arg = NULL;
	size_t len = 0;
	int rc = lf_lc_commit_args(d, &arg, &len, err);

	*out = NULL;
	*n = 0;
	a[1].data = arg;
	a[1].len = len;
	if (rc == 0)
		rc = lf_peer_invoke(p, channel, LF_LC_CC, a, 2, &r, NULL, err);
	if (rc == 0 &&
	    !(q = lc_unpack(&lfpb__check_commit_readiness_result__descriptor,
			    &r, "CheckCommitReadiness", err)))
		rc = LF_EINVALID;
	if (rc == 0) {
		*out = approvals_new(q->n_approvals);
		for (size_t i = 0; i < q->n_approvals; i++) {
			(*out)[i].mspid = lf_xstrdup(q->approvals[i]->key);
			(*out)[i].approved = q->approvals[i]->value;
		}
		*n = q->n_approvals;
		qsort(*out, *n, sizeof(**out), approval_cmp);
	}
	if (q)
		lfpb__check_commit_readiness_result__free_unpacked(q, NULL);
	lf_proposal_reply_clear(&r);
	free(arg);
	return rc;
}

void lf_lc_info_clear(struct lf_lc_info *i)
{
	if (!i)
		return;
	free(i->version);
	free(i->endorsement_plugin);
	free(i->validation_plugin);
	free(i->validation_parameter);
	free(i->package_id);
	lf_lc_approvals_free(i->approvals, i->n_approvals);
	memset(i, 0, sizeof(*i));
}

static void info_fill(struct lf_lc_info *out, int64_t seq, const char *ver,
		      const char *ep, const char *vp,
		      const ProtobufCBinaryData *param, bool init)
{
	out->sequence = seq;
	out->version = lf_xstrdup(ver ? ver : "");
	out->endorsement_plugin = lf_xstrdup(ep ? ep : "");
	out->validation_plugin = lf_xstrdup(vp ? vp : "");
	if (param->len) {
		out->validation_parameter = lf_xmalloc(param->len);
		memcpy(out->validation_parameter, param->data, param->len);
		out->validation_parameter_len = param->len;
	}
	out->init_required = init;
}

/* Fabric 2.5 answers a missing definition with status 500 and "... not
 * found" / "could not fetch ..."; made LF_ENOTFOUND */
static int notfound_map(int rc, const struct lf_proposal_reply *r,
			const char *what, const char *name,
			struct lf_err *err)
{
	if (rc && r->message && (strstr(r->message, "not found") ||
				 strstr(r->message, "could not fetch"))) {
		lf_err_clear(err);
		return lf_err_set(err, LF_ENOTFOUND, "no %s definition of "
				  "chaincode '%s': %s", what, name, r->message);
	}
	return rc;
}

int lf_lc_query_approved(const struct lf_peer *p, const char *channel,
			 const char *name, int64_t sequence,
			 struct lf_lc_info *out, struct lf_err *err)
{
	Lfpb__QueryApprovedChaincodeDefinitionArgs a =
		LFPB__QUERY_APPROVED_CHAINCODE_DEFINITION_ARGS__INIT;
	Lfpb__QueryApprovedChaincodeDefinitionResult *q = NULL;
	struct lf_proposal_reply r;
	int rc;

	memset(out, 0, sizeof(*out));
	a.name = (char *)name;
	a.sequence = sequence;
	rc = lc_call(p, channel, "QueryApprovedChaincodeDefinition", &a.base,
		     &r, err);
	rc = notfound_map(rc, &r, "approved", name, err);
	if (rc == 0 &&
	    !(q = lc_unpack(
		      &lfpb__query_approved_chaincode_definition_result__descriptor,
		      &r, "QueryApprovedChaincodeDefinition", err)))
		rc = LF_EINVALID;
	if (rc == 0) {
		info_fill(out, q->sequence, q->version, q->endorsement_plugin,
			  q->validation_plugin, &q->validation_parameter,
			  q->init_required);
		if (q->source && q->source->type_case ==
		    LFPB__CHAINCODE_SOURCE__TYPE_LOCAL_PACKAGE)
			out->package_id =
				lf_xstrdup(q->source->local_package->package_id);
	}
	if (q)
		lfpb__query_approved_chaincode_definition_result__free_unpacked(
			q, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

int lf_lc_query_committed(const struct lf_peer *p, const char *channel,
			  const char *name, struct lf_lc_info *out,
			  struct lf_err *err)
{
	Lfpb__QueryChaincodeDefinitionArgs a =
		LFPB__QUERY_CHAINCODE_DEFINITION_ARGS__INIT;
	Lfpb__QueryChaincodeDefinitionResult *q = NULL;
	struct lf_proposal_reply r;
	int rc;

	memset(out, 0, sizeof(*out));
	a.name = (char *)name;
	rc = lc_call(p, channel, "QueryChaincodeDefinition", &a.base, &r, err);
	rc = notfound_map(rc, &r, "committed", name, err);
	if (rc == 0 &&
	    !(q = lc_unpack(&lfpb__query_chaincode_definition_result__descriptor,
			    &r, "QueryChaincodeDefinition", err)))
		rc = LF_EINVALID;
	if (rc == 0) {
		info_fill(out, q->sequence, q->version, q->endorsement_plugin,
			  q->validation_plugin, &q->validation_parameter,
			  q->init_required);
		out->approvals = approvals_new(q->n_approvals);
		for (size_t i = 0; i < q->n_approvals; i++) {
			out->approvals[i].mspid = lf_xstrdup(q->approvals[i]->key);
			out->approvals[i].approved = q->approvals[i]->value;
		}
		out->n_approvals = q->n_approvals;
		qsort(out->approvals, out->n_approvals,
		      sizeof(*out->approvals), approval_cmp);
	}
	if (q)
		lfpb__query_chaincode_definition_result__free_unpacked(q, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

/* ---- endorser transactions ---- */

void lf_lc_proposal_clear(struct lf_lc_proposal *p)
{
	if (!p)
		return;
	free(p->proposal_bytes);
	free(p->unsigned_sp);
	memset(p, 0, sizeof(*p));
}

int lf_lc_signed_proposal(const uint8_t *proposal_bytes, size_t proposal_len,
			  const uint8_t *sig, size_t sig_len, uint8_t **out,
			  size_t *len, struct lf_err *err)
{
	Lfpb__SignedProposal sp = LFPB__SIGNED_PROPOSAL__INIT;

	*out = NULL;
	*len = 0;
	if (!proposal_bytes || !proposal_len)
		return lf_err_set(err, LF_EINVALID, "no proposal to sign");
	sp.proposal_bytes.data = (uint8_t *)proposal_bytes;
	sp.proposal_bytes.len = proposal_len;
	sp.signature.data = (uint8_t *)sig;
	sp.signature.len = sig ? sig_len : 0;
	*out = lf_pb_pack(&sp.base, len);
	return 0;
}

int lf_lc_unsigned_proposal(struct lf_lc_proposal *out, const char *channel,
			    const char *fn, const uint8_t *arg, size_t arg_len,
			    const char *mspid, const char *cert_pem,
			    size_t cert_len, struct lf_err *err)
{
	struct lf_bytes a[2];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!fn || !*fn)
		return lf_err_set(err, LF_EINVALID, "_lifecycle: no function");
	a[0].data = fn;
	a[0].len = strlen(fn);
	a[1].data = arg;
	a[1].len = arg_len;
	rc = lf_proposal_bytes(channel, LF_LC_CC, a, arg ? 2 : 1, mspid,
			       cert_pem, cert_len, &out->proposal_bytes,
			       &out->proposal_len, out->tx_id, err);
	if (rc == 0)
		rc = lf_lc_signed_proposal(out->proposal_bytes,
					   out->proposal_len, NULL, 0,
					   &out->unsigned_sp,
					   &out->unsigned_sp_len, err);
	if (rc)
		lf_lc_proposal_clear(out);
	return rc;
}

typedef int (*args_fn)(const struct lf_lc_def *, uint8_t **, size_t *,
		       struct lf_err *);

static int def_proposal(struct lf_lc_proposal *out, const char *channel,
			const char *fn, args_fn make,
			const struct lf_lc_def *d, const char *mspid,
			const char *cert_pem, size_t cert_len,
			struct lf_err *err)
{
	uint8_t *arg = NULL;
	size_t len = 0;
	int rc = make(d, &arg, &len, err);

	memset(out, 0, sizeof(*out));
	if (rc == 0 && (!channel || !*channel))
		rc = lf_err_set(err, LF_EINVALID, "%s needs a channel", fn);
	if (rc == 0)
		rc = lf_lc_unsigned_proposal(out, channel, fn, arg, len, mspid,
					     cert_pem, cert_len, err);
	free(arg);
	return rc;
}

int lf_lc_approve_proposal(struct lf_lc_proposal *out, const char *channel,
			   const struct lf_lc_def *d, const char *mspid,
			   const char *cert_pem, size_t cert_len,
			   struct lf_err *err)
{
	return def_proposal(out, channel, "ApproveChaincodeDefinitionForMyOrg",
			    lf_lc_approve_args, d, mspid, cert_pem, cert_len,
			    err);
}

int lf_lc_commit_proposal(struct lf_lc_proposal *out, const char *channel,
			  const struct lf_lc_def *d, const char *mspid,
			  const char *cert_pem, size_t cert_len,
			  struct lf_err *err)
{
	return def_proposal(out, channel, "CommitChaincodeDefinition",
			    lf_lc_commit_args, d, mspid, cert_pem, cert_len,
			    err);
}

void lf_lc_endorsed_clear(struct lf_lc_endorsed *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->responses[i]);
	free(e->responses);
	free(e->lens);
	memset(e, 0, sizeof(*e));
}

/* a ProposalResponse's payload (ProposalResponsePayload) with status 200
 * and an endorsement; *pr to free by the caller */
static int response_check(const uint8_t *buf, size_t len, size_t i,
			  Lfpb__ProposalResponse **pr, struct lf_err *err)
{
	struct lf_proposal_reply r;
	int rc = lf_proposal_reply_decode(buf, len, &r, err);

	lf_proposal_reply_clear(&r);
	*pr = NULL;
	if (rc)
		return rc;
	*pr = lf_pb_unpack(&lfpb__proposal_response__descriptor, len, buf, NULL);
	if (!*pr || !(*pr)->payload.len || !(*pr)->endorsement ||
	    !(*pr)->endorsement->signature.len)
		return lf_err_set(err, LF_EINVALID, "peer %zu: the response "
				  "carries no endorsement", i + 1);
	return 0;
}

/* the ProposalResponse of peer i to sp (raw bytes, 200, endorsed) */
static int endorse_one(const struct lf_peer *p, size_t i, const uint8_t *sp,
		       size_t sp_len, uint8_t **resp, size_t *resp_len,
		       Lfpb__ProposalResponse **pr, struct lf_err *err)
{
	unsigned int deadline = p->deadline_ms ? p->deadline_ms
					       : LF_PEER_DEADLINE_DEFAULT_MS;
	int rc = lf_grpc_unary(p->ch, LF_PEER_METHOD, sp, sp_len, resp,
			       resp_len, deadline, NULL, err);

	*pr = NULL;
	if (rc == 0)
		rc = response_check(*resp, *resp_len, i, pr, err);
	return rc;
}

static bool bin_equal(const ProtobufCBinaryData *a,
		      const ProtobufCBinaryData *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

int lf_lc_endorse(const struct lf_peer *peers, size_t npeers,
		  const uint8_t *signed_proposal, size_t sp_len,
		  struct lf_lc_endorsed *out, struct lf_err *err)
{
	Lfpb__ProposalResponse *first = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!npeers)
		return lf_err_set(err, LF_EINVALID, "no endorsing peer given");
	out->responses = lf_xcalloc(npeers, sizeof(*out->responses));
	out->lens = lf_xcalloc(npeers, sizeof(*out->lens));
	for (size_t i = 0; rc == 0 && i < npeers; i++) {
		Lfpb__ProposalResponse *pr = NULL;

		rc = endorse_one(&peers[i], i, signed_proposal, sp_len,
				 &out->responses[i], &out->lens[i], &pr, err);
		out->n = i + 1;
		if (rc == 0 && first && !bin_equal(&first->payload, &pr->payload))
			rc = lf_err_set(err, LF_ECONFLICT, "endorsing peer %zu "
					"answered differently from peer 1 (their "
					"states differ)", i + 1);
		if (!first)
			first = pr;
		else if (pr)
			lfpb__proposal_response__free_unpacked(pr, NULL);
	}
	if (first)
		lfpb__proposal_response__free_unpacked(first, NULL);
	if (rc)
		lf_lc_endorsed_clear(out);
	return rc;
}

/* ChaincodeProposalPayload without its transient map (what Fabric puts in
 * the transaction) */
static int payload_for_tx(const ProtobufCBinaryData *in,
			  ProtobufCBinaryData *out, struct lf_err *err)
{
	Lfpb__ChaincodeProposalPayload *pp =
		lf_pb_unpack(&lfpb__chaincode_proposal_payload__descriptor,
			     in->len, in->data, NULL);
	Lfpb__ChaincodeProposalPayload tx = LFPB__CHAINCODE_PROPOSAL_PAYLOAD__INIT;

	if (!pp)
		return lf_err_set(err, LF_EINVALID, "the proposal's payload is "
				  "malformed");
	tx.input = pp->input;
	*out = lf_pb_bin(&tx.base);
	lfpb__chaincode_proposal_payload__free_unpacked(pp, NULL);
	return 0;
}

/* ChaincodeActionPayload bytes of the endorsed responses */
static int action_payload(const ProtobufCBinaryData *prop_payload,
			  const struct lf_lc_endorsed *e,
			  ProtobufCBinaryData *out, struct lf_err *err)
{
	Lfpb__ChaincodeActionPayload cap = LFPB__CHAINCODE_ACTION_PAYLOAD__INIT;
	Lfpb__ChaincodeEndorsedAction cea = LFPB__CHAINCODE_ENDORSED_ACTION__INIT;
	Lfpb__ProposalResponse **pr = lf_xcalloc(e->n + 1, sizeof(*pr));
	Lfpb__TxEndorsement *en = lf_xcalloc(e->n + 1, sizeof(*en));
	Lfpb__TxEndorsement **enp = lf_xcalloc(e->n + 1, sizeof(*enp));
	int rc = e->n ? 0 : lf_err_set(err, LF_EINVALID, "no endorsement");

	for (size_t i = 0; rc == 0 && i < e->n; i++) {
		rc = response_check(e->responses[i], e->lens[i], i, &pr[i], err);
		if (rc == 0 && !bin_equal(&pr[0]->payload, &pr[i]->payload))
			rc = lf_err_set(err, LF_ECONFLICT, "endorsement %zu "
					"differs from the first", i + 1);
		if (rc)
			break;
		lfpb__tx_endorsement__init(&en[i]);
		en[i].endorser = pr[i]->endorsement->endorser;
		en[i].signature = pr[i]->endorsement->signature;
		enp[i] = &en[i];
	}
	if (rc == 0)
		rc = payload_for_tx(prop_payload, &cap.chaincode_proposal_payload,
				    err);
	if (rc == 0) {
		cea.proposal_response_payload = pr[0]->payload;
		cea.endorsements = enp;
		cea.n_endorsements = e->n;
		cap.action = &cea;
		*out = lf_pb_bin(&cap.base);
	}
	free(cap.chaincode_proposal_payload.data);
	for (size_t i = 0; i < e->n; i++)
		if (pr[i])
			lfpb__proposal_response__free_unpacked(pr[i], NULL);
	free(pr);
	free(en);
	free(enp);
	return rc;
}

int lf_lc_tx_payload(const uint8_t *proposal_bytes, size_t proposal_len,
		     const struct lf_lc_endorsed *e, uint8_t **out,
		     size_t *len, struct lf_err *err)
{
	Lfpb__Proposal *prop = lf_pb_unpack(&lfpb__proposal__descriptor,
					    proposal_len, proposal_bytes, NULL);
	Lfpb__Header *h = NULL;
	Lfpb__TransactionAction ta = LFPB__TRANSACTION_ACTION__INIT;
	Lfpb__TransactionAction *tap = &ta;
	Lfpb__Transaction tx = LFPB__TRANSACTION__INIT;
	Lfpb__Payload pl = LFPB__PAYLOAD__INIT;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (prop)
		h = lf_pb_unpack(&lfpb__header__descriptor, prop->header.len,
				 prop->header.data, NULL);
	if (!h)
		rc = lf_err_set(err, LF_EINVALID, "the proposal is malformed");
	if (rc == 0)
		rc = action_payload(&prop->payload, e, &ta.payload, err);
	if (rc == 0) {
		ta.header = h->signature_header;
		tx.actions = &tap;
		tx.n_actions = 1;
		pl.header = h;
		pl.data = lf_pb_bin(&tx.base);
		*out = lf_pb_pack(&pl.base, len);
		free(pl.data.data);
	}
	free(ta.payload.data);
	if (h)
		lfpb__header__free_unpacked(h, NULL);
	if (prop)
		lfpb__proposal__free_unpacked(prop, NULL);
	return rc;
}

int lf_lc_tx_envelope(const uint8_t *payload, size_t payload_len,
		      const uint8_t *sig, size_t sig_len, uint8_t **out,
		      size_t *len, struct lf_err *err)
{
	Lfpb__Envelope env = LFPB__ENVELOPE__INIT;

	*out = NULL;
	*len = 0;
	if (!payload || !payload_len || !sig || !sig_len)
		return lf_err_set(err, LF_EINVALID, "an envelope needs the "
				  "payload and its signature");
	env.payload.data = (uint8_t *)payload;
	env.payload.len = payload_len;
	env.signature.data = (uint8_t *)sig;
	env.signature.len = sig_len;
	*out = lf_pb_pack(&env.base, len);
	return 0;
}

/* ---- waiting for the commit ---- */

const char *lf_lc_tx_code_name(int code)
{
	static const char *const names[] = {
		"VALID", "NIL_ENVELOPE", "BAD_PAYLOAD", "BAD_COMMON_HEADER",
		"BAD_CREATOR_SIGNATURE", "INVALID_ENDORSER_TRANSACTION",
		"INVALID_CONFIG_TRANSACTION", "UNSUPPORTED_TX_PAYLOAD",
		"BAD_PROPOSAL_TXID", "DUPLICATE_TXID",
		"ENDORSEMENT_POLICY_FAILURE", "MVCC_READ_CONFLICT",
		"PHANTOM_READ_CONFLICT", "UNKNOWN_TX_TYPE",
		"TARGET_CHAIN_NOT_FOUND", "MARSHAL_TX_ERROR", "NIL_TXACTION",
		"EXPIRED_CHAINCODE", "CHAINCODE_VERSION_CONFLICT",
		"BAD_HEADER_EXTENSION", "BAD_CHANNEL_HEADER",
		"BAD_RESPONSE_PAYLOAD", "BAD_RWSET", "ILLEGAL_WRITESET",
		"INVALID_WRITESET", "INVALID_CHAINCODEV4_OPERATION",
	};

	if (code >= 0 && (size_t)code < LF_ARRAY_LEN(names))
		return names[code];
	if (code == 254)
		return "NOT_VALIDATED";
	if (code == 255)
		return "INVALID_OTHER_REASON";
	return "UNKNOWN";
}

static int tx_code_to_lf(int code)
{
	if (code == LF_LC_TX_VALID)
		return 0;
	if (code == 11 || code == 12)
		return LF_ECONFLICT;
	if (code == 10)
		return LF_EAUTH;
	return LF_EINVALID;
}

/* qscc GetTransactionByID once: 0 with *code when the peer has the tx;
 * LF_ENOTFOUND while it has not */
static int tx_lookup(const struct lf_peer *p, const char *channel,
		     const char *tx_id, int *code, struct lf_err *err)
{
	struct lf_bytes a[3] = { { "GetTransactionByID", 18 },
				 { channel, strlen(channel) },
				 { tx_id, strlen(tx_id) } };
	struct lf_proposal_reply r;
	Lfpb__ProcessedTransaction *pt = NULL;
	int rc = lf_peer_invoke(p, channel, "qscc", a, 3, &r, NULL, err);

	/* Fabric 2.5: status 500 "Failed to get transaction with id X, error
	 * no such transaction ID [X] in index" */
	if (rc && r.message && strstr(r.message, "no such transaction")) {
		lf_err_clear(err);
		rc = lf_err_set(err, LF_ENOTFOUND, "tx %s is not committed yet",
				tx_id);
	}
	if (rc == 0 &&
	    !(pt = lc_unpack(&lfpb__processed_transaction__descriptor, &r,
			     "GetTransactionByID", err)))
		rc = LF_EINVALID;
	if (rc == 0)
		*code = pt->validationcode;
	if (pt)
		lfpb__processed_transaction__free_unpacked(pt, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

/* poll p until it has tx_id or the deadline (monotonic ms) passes */
static int tx_wait(const struct lf_peer *p, size_t i, const char *channel,
		   const char *tx_id, uint64_t deadline, int *code,
		   struct lf_err *err)
{
	unsigned int pause = 100;
	int rc;

	for (;;) {
		struct lf_err e = LF_ERR_INIT;

		rc = tx_lookup(p, channel, tx_id, code, &e);
		if (rc == 0 || rc == LF_EAUTH || rc == LF_EINVALID ||
		    lf_now_ms() + pause > deadline) {
			if (rc)
				lf_err_set(err, rc == LF_ENOTFOUND ? LF_ETIMEOUT
					   : rc, "peer %zu: waiting for tx %s: "
					   "%s", i + 1, tx_id, e.msg);
			lf_err_clear(&e);
			return rc == LF_ENOTFOUND ? LF_ETIMEOUT : rc;
		}
		lf_err_clear(&e);
		lf_sleep_ms(pause);
		if (pause < 1000)
			pause *= 2;
	}
}

int lf_lc_submit(lf_ab *ab, const char *channel, const uint8_t *env,
		 size_t env_len, const char *tx_id,
		 const struct lf_peer *peers, size_t npeers,
		 unsigned int wait_ms, int *code, struct lf_err *err)
{
	uint64_t deadline = lf_now_ms() + (wait_ms ? wait_ms
					   : LF_LC_COMMIT_WAIT_MS);
	int c = LF_LC_TX_VALID;
	int rc = lf_ab_broadcast(ab, env, env_len, err);

	for (size_t i = 0; rc == 0 && i < npeers; i++) {
		rc = tx_wait(&peers[i], i, channel, tx_id, deadline, &c, err);
		if (rc == 0 && c != LF_LC_TX_VALID)
			rc = lf_err_set(err, tx_code_to_lf(c), "tx %s is "
					"invalid: %s", tx_id,
					lf_lc_tx_code_name(c));
	}
	if (code)
		*code = c;
	return rc;
}

/* ---- the whole transaction with a local key ---- */

static int tx_run(const struct lf_peer *peers, size_t npeers, lf_ab *ab,
		  const char *channel, const struct lf_lc_proposal *prop,
		  const struct lf_identity *id, unsigned int wait_ms,
		  struct lf_err *err)
{
	struct lf_lc_endorsed e = { 0 };
	uint8_t *sig = NULL, *sp = NULL, *pl = NULL, *env = NULL;
	size_t sig_len = 0, sp_len = 0, pl_len = 0, env_len = 0;
	int rc = lf_blk_sign_pem(id->key_pem, id->key_len, prop->proposal_bytes,
				 prop->proposal_len, &sig, &sig_len, err);

	if (rc == 0)
		rc = lf_lc_signed_proposal(prop->proposal_bytes,
					   prop->proposal_len, sig, sig_len,
					   &sp, &sp_len, err);
	if (rc == 0)
		rc = lf_lc_endorse(peers, npeers, sp, sp_len, &e, err);
	if (rc == 0)
		rc = lf_lc_tx_payload(prop->proposal_bytes, prop->proposal_len,
				      &e, &pl, &pl_len, err);
	free(sig);
	sig = NULL;
	if (rc == 0)
		rc = lf_blk_sign_pem(id->key_pem, id->key_len, pl, pl_len, &sig,
				     &sig_len, err);
	if (rc == 0)
		rc = lf_lc_tx_envelope(pl, pl_len, sig, sig_len, &env, &env_len,
				       err);
	if (rc == 0)
		rc = lf_lc_submit(ab, channel, env, env_len, prop->tx_id, peers,
				  npeers, wait_ms, NULL, err);
	lf_lc_endorsed_clear(&e);
	free(sig);
	free(sp);
	free(pl);
	free(env);
	return rc;
}

static int id_check(const struct lf_identity *id, struct lf_err *err)
{
	if (!id || !id->mspid || !id->cert_pem || !id->key_pem)
		return lf_err_set(err, LF_EINVALID, "a signing identity with "
				  "its key is required");
	return 0;
}

int lf_lc_approve(const struct lf_peer *peers, size_t npeers, lf_ab *ab,
		  const char *channel, const struct lf_lc_def *d,
		  const struct lf_identity *id, unsigned int wait_ms,
		  struct lf_err *err)
{
	struct lf_lc_proposal prop;
	int rc = id_check(id, err);

	if (rc)
		return rc;
	rc = lf_lc_approve_proposal(&prop, channel, d, id->mspid, id->cert_pem,
				    id->cert_len, err);
	if (rc == 0)
		rc = tx_run(peers, npeers, ab, channel, &prop, id, wait_ms, err);
	lf_lc_proposal_clear(&prop);
	return rc;
}

int lf_lc_commit(const struct lf_peer *peers, size_t npeers, lf_ab *ab,
		 const char *channel, const struct lf_lc_def *d,
		 const struct lf_identity *id, unsigned int wait_ms,
		 struct lf_err *err)
{
	struct lf_lc_proposal prop;
	int rc = id_check(id, err);

	if (rc)
		return rc;
	rc = lf_lc_commit_proposal(&prop, channel, d, id->mspid, id->cert_pem,
				   id->cert_len, err);
	if (rc == 0)
		rc = tx_run(peers, npeers, ab, channel, &prop, id, wait_ms, err);
	lf_lc_proposal_clear(&prop);
	return rc;
}
