/*
 * Fabric's chaincode lifecycle over gRPC (see lifecycle.h): `_lifecycle`
 * calls, and endorser transactions built, endorsed, signed, broadcast and
 * awaited step by step.
 */
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
	/* Fabric 2.5: status 500 "... could not load ... not found" */
	if (rc && r.message && strstr(r.message, "not found")) {
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

int lf_lc_install(const struct lf_peer *p, const void *pkg, size_t len,
		  char *package_id, bool *already, struct lf_err *err)
{
	Lfpb__InstallChaincodeArgs a = LFPB__INSTALL_CHAINCODE_ARGS__INIT;
	Lfpb__InstallChaincodeResult *res = NULL;
	struct lf_proposal_reply r = { 0 };
	char hex[65];
	int rc;

	package_id[0] = '\0';
	lf_sha256_hex(pkg, len, hex);
	rc = find_installed(p, hex, package_id, already, err);
	if (rc || *already)
		return rc;
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

/* ---- not yet: endorsement, transactions (next slice) ---- */
