/*
 * Building and signing Endorser proposals, decoding proposal responses
 * (see proposal.h for the message shapes).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fabric/block/blk.h"
#include "core/net/proposal.h"
#include "core/util/util.h"
#include "lfpb/proposal.pb-c.h"

#define NONCE_LEN 24

int lf_identity_load(struct lf_identity *out, const char *mspdir,
		     const char *mspid, struct lf_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = lf_blk_msp_signer(mspdir, &out->cert_pem, &out->cert_len,
			       &out->key_pem, &out->key_len, err);
	if (rc == 0)
		out->mspid = lf_xstrdup(mspid);
	return rc;
}

void lf_identity_clear(struct lf_identity *id)
{
	if (!id)
		return;
	free(id->mspid);
	free(id->cert_pem);
	if (id->key_pem)
		lf_free_secret(id->key_pem, id->key_len);
	memset(id, 0, sizeof(*id));
}

void lf_proposal_clear(struct lf_proposal *p)
{
	if (!p)
		return;
	free(p->signed_bytes);
	memset(p, 0, sizeof(*p));
}

/* Header bytes: channel header (with the chaincode extension) and
 * signature header; tx_id set from nonce and creator */
static ProtobufCBinaryData header_bytes(const char *channel, const char *cc,
					const char *mspid, const char *cert,
					size_t cert_len, char tx_id[65])
{
	Lfpb__SerializedIdentity si = LFPB__SERIALIZED_IDENTITY__INIT;
	Lfpb__SignatureHeader sh = LFPB__SIGNATURE_HEADER__INIT;
	Lfpb__ChannelHeader ch = LFPB__CHANNEL_HEADER__INIT;
	Lfpb__Timestamp ts = LFPB__TIMESTAMP__INIT;
	Lfpb__ChaincodeID cid = LFPB__CHAINCODE_ID__INIT;
	Lfpb__ChaincodeHeaderExtension ext = LFPB__CHAINCODE_HEADER_EXTENSION__INIT;
	Lfpb__Header h = LFPB__HEADER__INIT;
	uint8_t nonce[NONCE_LEN];
	struct lf_buf hashed = LF_BUF_INIT;
	struct timespec now;
	ProtobufCBinaryData out;

	lf_random(nonce, sizeof(nonce));
	si.mspid = (char *)mspid;
	si.id_bytes.data = (uint8_t *)cert;
	si.id_bytes.len = cert_len;
	sh.creator = lf_pb_bin(&si.base);
	sh.nonce.data = nonce;
	sh.nonce.len = sizeof(nonce);
	lf_buf_append(&hashed, nonce, sizeof(nonce));
	lf_buf_append(&hashed, sh.creator.data, sh.creator.len);
	lf_sha256_hex(hashed.data, hashed.len, tx_id);
	lf_buf_free(&hashed);

	clock_gettime(CLOCK_REALTIME, &now);
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	cid.name = (char *)cc;
	ext.chaincode_id = &cid;
	ch.type = LF_PROPOSAL_ENDORSER_TRANSACTION;
	ch.timestamp = &ts;
	ch.channel_id = (char *)(channel ? channel : "");
	ch.tx_id = tx_id;
	ch.extension = lf_pb_bin(&ext.base);
	h.channel_header = lf_pb_bin(&ch.base);
	h.signature_header = lf_pb_bin(&sh.base);
	out = lf_pb_bin(&h.base);
	free(ch.extension.data);
	free(h.channel_header.data);
	free(h.signature_header.data);
	free(sh.creator.data);
	return out;
}

/* ChaincodeProposalPayload{input = ChaincodeInvocationSpec{...}} bytes */
static ProtobufCBinaryData payload_bytes(const char *cc,
					 const struct lf_bytes *args,
					 size_t nargs)
{
	Lfpb__ChaincodeID cid = LFPB__CHAINCODE_ID__INIT;
	Lfpb__ChaincodeInput in = LFPB__CHAINCODE_INPUT__INIT;
	Lfpb__ChaincodeSpec spec = LFPB__CHAINCODE_SPEC__INIT;
	Lfpb__ChaincodeInvocationSpec cis = LFPB__CHAINCODE_INVOCATION_SPEC__INIT;
	Lfpb__ChaincodeProposalPayload pp = LFPB__CHAINCODE_PROPOSAL_PAYLOAD__INIT;
	ProtobufCBinaryData *v = lf_xcalloc(nargs + 1, sizeof(*v));
	ProtobufCBinaryData out;

	for (size_t i = 0; i < nargs; i++) {
		v[i].data = (uint8_t *)args[i].data;
		v[i].len = args[i].len;
	}
	in.args = v;
	in.n_args = nargs;
	cid.name = (char *)cc;
	spec.type = LF_PROPOSAL_CC_GOLANG;
	spec.chaincode_id = &cid;
	spec.input = &in;
	cis.chaincode_spec = &spec;
	pp.input = lf_pb_bin(&cis.base);
	out = lf_pb_bin(&pp.base);
	free(pp.input.data);
	free(v);
	return out;
}

int lf_proposal_bytes(const char *channel, const char *cc,
		      const struct lf_bytes *args, size_t nargs,
		      const char *mspid, const char *cert_pem, size_t cert_len,
		      uint8_t **out, size_t *len, char tx_id[65],
		      struct lf_err *err)
{
	Lfpb__Proposal prop = LFPB__PROPOSAL__INIT;

	*out = NULL;
	*len = 0;
	if (!cc || !*cc || !mspid || !*mspid || !cert_pem || !cert_len)
		return lf_err_set(err, LF_EINVALID, "proposal: a chaincode name "
				  "and a creator (MSP id, certificate) are "
				  "required");
	prop.header = header_bytes(channel, cc, mspid, cert_pem, cert_len,
				   tx_id);
	prop.payload = payload_bytes(cc, args, nargs);
	*out = lf_pb_pack(&prop.base, len);
	free(prop.header.data);
	free(prop.payload.data);
	return 0;
}

int lf_proposal_new(struct lf_proposal *out, const char *channel,
		    const char *cc, const struct lf_bytes *args, size_t nargs,
		    const struct lf_identity *id, struct lf_err *err)
{
	Lfpb__SignedProposal sp = LFPB__SIGNED_PROPOSAL__INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id || !id->key_pem)
		return lf_err_set(err, LF_EINVALID, "proposal: a chaincode name "
				  "and a signing identity are required");
	rc = lf_proposal_bytes(channel, cc, args, nargs, id->mspid,
			       id->cert_pem, id->cert_len,
			       &sp.proposal_bytes.data, &sp.proposal_bytes.len,
			       out->tx_id, err);
	if (rc == 0)
		rc = lf_blk_sign_pem(id->key_pem, id->key_len,
				     sp.proposal_bytes.data,
				     sp.proposal_bytes.len, &sp.signature.data,
				     &sp.signature.len, err);
	if (rc == 0)
		out->signed_bytes = lf_pb_pack(&sp.base, &out->signed_len);
	free(sp.signature.data);
	free(sp.proposal_bytes.data);
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

void lf_proposal_reply_clear(struct lf_proposal_reply *r)
{
	if (!r)
		return;
	free(r->message);
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

/* the ledgerform code for a Response.status other than 200 */
static int status_code(int status, const char *msg)
{
	if (status == 403 || strstr(msg, "access denied"))
		return LF_EAUTH;
	if (status == 404)
		return LF_ENOTFOUND;
	if (status >= 400 && status < 500)
		return LF_EINVALID;
	return LF_ERROR;
}

int lf_proposal_reply_decode(const uint8_t *buf, size_t len,
			     struct lf_proposal_reply *out,
			     struct lf_err *err)
{
	Lfpb__ProposalResponse *pr;
	const Lfpb__Response *r;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pr = lf_pb_unpack(&lfpb__proposal_response__descriptor, len, buf, NULL);
	if (!pr || !pr->response) {
		if (pr)
			lfpb__proposal_response__free_unpacked(pr, NULL);
		return lf_err_set(err, LF_EINVALID, "peer: the answer is not a "
				  "proposal response");
	}
	r = pr->response;
	out->status = r->status;
	out->message = lf_xstrdup(r->message ? r->message : "");
	if (r->payload.len) {
		out->payload = lf_xmalloc(r->payload.len);
		memcpy(out->payload, r->payload.data, r->payload.len);
		out->payload_len = r->payload.len;
	}
	if (r->status != LF_PROPOSAL_STATUS_OK)
		rc = lf_err_set(err, status_code(r->status, out->message),
				"peer: status %d: %s", r->status,
				*out->message ? out->message : "(no message)");
	lfpb__proposal_response__free_unpacked(pr, NULL);
	return rc;
}
