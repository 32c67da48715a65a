/*
 * Signing config updates with an org admin's own MSP (keystore key never
 * leaves this process, never printed) and checking collected signatures
 * as the orderer does: ECDSA/SHA-256 over signature_header || config_update,
 * low-S, the signer's certificate issued by the MSP's CA and not expired,
 * roles from NodeOUs (or the MSP's admin certs), each identity counted
 * once; then the mod policies the update needs are evaluated. Also signs
 * whole Envelopes (what the orderer's Broadcast and Deliver take) with the
 * same identities.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/util/util.h"

void lf_signer_clear(struct lf_signer *s)
{
	if (!s)
		return;
	free(s->mspid);
	free(s->cert);
	free(s->subject);
	free(s->problem);
	memset(s, 0, sizeof(*s));
}

void lf_signers_free(struct lf_signer *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		lf_signer_clear(&v[i]);
	free(v);
}

static X509 *pem_cert(const void *data, size_t len)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return x;
}

/* the FabricMSPConfig of an org group (NULL when it has none) */
static Lfpb__FabricMSPConfig *group_msp(const Lfpb__ConfigGroup *g)
{
	const Lfpb__ConfigValue *v = lf_cg_value(g, "MSP");
	Lfpb__MSPConfig *mc = v ? lf_pb_unpack(&lfpb__mspconfig__descriptor,
		v->value.len, v->value.data, NULL) : NULL;
	Lfpb__FabricMSPConfig *fc = NULL;

	if (mc && mc->type == 0)
		fc = lf_pb_unpack(&lfpb__fabric_mspconfig__descriptor,
				  mc->config.len, mc->config.data, NULL);
	if (mc)
		lfpb__mspconfig__free_unpacked(mc, NULL);
	return fc;
}

/* the FabricMSPConfig of mspid among the org groups of cfg */
static Lfpb__FabricMSPConfig *find_msp(const Lfpb__ConfigGroup *cfg,
				       const char *mspid)
{
	static const char *const tops[] = { "Application", "Orderer",
					    "Consortiums" };

	for (size_t t = 0; t < LF_ARRAY_LEN(tops); t++) {
		const Lfpb__ConfigGroup *top = lf_cg_group(cfg, tops[t]);

		for (size_t i = 0; top && i < top->n_groups; i++) {
			Lfpb__FabricMSPConfig *fc = group_msp(top->groups[i]->value);

			if (fc && lf_streq(fc->name, mspid))
				return fc;
			if (fc)
				lfpb__fabric_mspconfig__free_unpacked(fc, NULL);
		}
	}
	return NULL;
}

/* chain to the MSP's roots (+ intermediates), validity period included */
static char *verify_chain(X509 *x, const Lfpb__FabricMSPConfig *fc)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	char *problem = NULL;
	int ok;

	for (size_t i = 0; i < fc->n_root_certs; i++) {
		X509 *r = pem_cert(fc->root_certs[i].data, fc->root_certs[i].len);

		if (r)
			X509_STORE_add_cert(st, r);
		X509_free(r);
	}
	for (size_t i = 0; i < fc->n_intermediate_certs; i++) {
		X509 *r = pem_cert(fc->intermediate_certs[i].data,
				   fc->intermediate_certs[i].len);

		if (r)
			sk_X509_push(chain, r);
	}
	X509_STORE_CTX_init(ctx, st, x, chain);
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		problem = lf_xasprintf("certificate not valid for MSP '%s': %s",
				       fc->name, X509_verify_cert_error_string(
					       X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_pop_free(chain, X509_free);
	return problem;
}

static bool has_ou(X509 *x, const char *ou)
{
	X509_NAME *nm = X509_get_subject_name(x);
	int i = -1;

	while (ou && (i = X509_NAME_get_index_by_NID(nm, NID_organizationalUnitName,
						     i)) >= 0) {
		ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));

		if ((size_t)ASN1_STRING_length(s) == strlen(ou) &&
		    memcmp(ASN1_STRING_get0_data(s), ou, strlen(ou)) == 0)
			return true;
	}
	return false;
}

/* sha256 of the certificate's signed part (TBSCertificate): the same
 * signer whatever PEM text or CA signature encoding carries it (Fabric's
 * MSP re-encodes a CA signature with a high S as low-S: other bytes,
 * same identity) */
static void cert_fp(X509 *x, char fp[65])
{
	unsigned char *der = NULL;
	int n = i2d_re_X509_tbs(x, &der);

	lf_sha256_hex(der, n > 0 ? (size_t)n : 0, fp);
	OPENSSL_free(der);
}

static unsigned roles_of(X509 *x, const struct lf_signer *s,
			 const Lfpb__FabricMSPConfig *fc)
{
	const Lfpb__FabricNodeOUs *no = fc->fabric_node_ous;
	unsigned r = 1u << LF_ROLE_MEMBER;

	for (size_t i = 0; i < fc->n_admins; i++) {
		X509 *a = pem_cert(fc->admins[i].data, fc->admins[i].len);
		char fp[65];

		if (a) {
			cert_fp(a, fp);
			if (strcmp(fp, s->fp) == 0)
				r |= 1u << LF_ROLE_ADMIN;
		}
		X509_free(a);
	}
	if (!no || !no->enable)
		return r;
	if (no->admin_ou_identifier &&
	    has_ou(x, no->admin_ou_identifier->organizational_unit_identifier))
		r |= 1u << LF_ROLE_ADMIN;
	if (no->client_ou_identifier &&
	    has_ou(x, no->client_ou_identifier->organizational_unit_identifier))
		r |= 1u << LF_ROLE_CLIENT;
	if (no->peer_ou_identifier &&
	    has_ou(x, no->peer_ou_identifier->organizational_unit_identifier))
		r |= 1u << LF_ROLE_PEER;
	if (no->orderer_ou_identifier &&
	    has_ou(x, no->orderer_ou_identifier->organizational_unit_identifier))
		r |= 1u << LF_ROLE_ORDERER;
	return r;
}

/* low-S: s <= n/2 for the key's curve */
static bool is_low_s(EVP_PKEY *pk, const uint8_t *sig, size_t len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	char curve[64];
	EC_GROUP *grp = NULL;
	BIGNUM *half = BN_new();
	bool ok = false;

	if (es && EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
						 curve, sizeof(curve), NULL))
		grp = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
	if (grp && half && BN_rshift1(half, EC_GROUP_get0_order(grp)))
		ok = BN_cmp(ECDSA_SIG_get0_s(es), half) <= 0;
	BN_free(half);
	EC_GROUP_free(grp);
	ECDSA_SIG_free(es);
	return ok;
}

static int verify_sig(X509 *x, ProtobufCBinaryData hdr, ProtobufCBinaryData upd,
		      ProtobufCBinaryData sig)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = 0;

	if (pk && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerifyUpdate(md, hdr.data, hdr.len) == 1 &&
	    EVP_DigestVerifyUpdate(md, upd.data, upd.len) == 1)
		ok = EVP_DigestVerifyFinal(md, sig.data, sig.len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (ok && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
	    !is_low_s(pk, sig.data, sig.len))
		return 2;
	return ok ? 0 : 1;
}

static char *subject_line(X509 *x)
{
	char buf[256];

	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	return lf_xstrdup(buf);
}

/* one signature: identity, roles, validity; LF_EINVALID when the
 * signature does not verify (tampered update or other bytes signed) */
static int check_one(const Lfpb__ConfigGroup *cfg, const Lfpb__ConfigSignature *cs,
		     ProtobufCBinaryData upd, size_t idx, struct lf_signer *s,
		     struct lf_err *err)
{
	Lfpb__SignatureHeader *sh = lf_pb_unpack(&lfpb__signature_header__descriptor,
		cs->signature_header.len, cs->signature_header.data, NULL);
	Lfpb__SerializedIdentity *si = sh ?
		lf_pb_unpack(&lfpb__serialized_identity__descriptor,
			     sh->creator.len, sh->creator.data, NULL) : NULL;
	Lfpb__FabricMSPConfig *fc = NULL;
	X509 *x = NULL;
	int rc = 0, v;

	if (!si || !(x = pem_cert(si->id_bytes.data, si->id_bytes.len))) {
		rc = lf_err_set(err, LF_EINVALID, "signature %zu: malformed "
				"signature header or creator certificate", idx + 1);
		goto cleanup;
	}
	s->mspid = lf_xstrdup(si->mspid);
	s->cert = lf_xmalloc(si->id_bytes.len);
	memcpy(s->cert, si->id_bytes.data, si->id_bytes.len);
	s->cert_len = si->id_bytes.len;
	s->subject = subject_line(x);
	cert_fp(x, s->fp);
	v = verify_sig(x, cs->signature_header, upd, cs->signature);
	if (v == 1) {
		rc = lf_err_set(err, LF_EINVALID, "signature %zu (%s, %s) does not "
				"verify over this config update: the update was "
				"changed after signing, or other bytes were signed",
				idx + 1, s->mspid, s->subject);
		goto cleanup;
	}
	if (v == 2)
		s->problem = lf_xstrdup("signature is not low-S");
	fc = find_msp(cfg, s->mspid);
	if (!s->problem && !fc)
		s->problem = lf_xasprintf("MSP '%s' is not in the channel", s->mspid);
	if (!s->problem)
		s->problem = verify_chain(x, fc);
	if (fc)
		s->roles = roles_of(x, s, fc);
cleanup:
	X509_free(x);
	if (fc)
		lfpb__fabric_mspconfig__free_unpacked(fc, NULL);
	if (si)
		lfpb__serialized_identity__free_unpacked(si, NULL);
	if (sh)
		lfpb__signature_header__free_unpacked(sh, NULL);
	return rc;
}

int lf_signers_check(const Lfpb__ConfigGroup *cfg,
		     const Lfpb__ConfigUpdateEnvelope *env,
		     struct lf_signer **out, size_t *n, struct lf_err *err)
{
	struct lf_signer *v = lf_xcalloc(env->n_signatures + 1, sizeof(*v));
	int rc = 0;

	for (size_t i = 0; i < env->n_signatures && rc == 0; i++) {
		rc = check_one(cfg, env->signatures[i], env->config_update, i,
			       &v[i], err);
		for (size_t k = 0; rc == 0 && k < i && !v[i].problem; k++)
			if (strcmp(v[k].fp, v[i].fp) == 0)
				v[i].problem = lf_xstrdup("duplicate signature "
							  "(counted once)");
	}
	if (rc) {
		lf_signers_free(v, env->n_signatures);
		return rc;
	}
	*out = v;
	*n = env->n_signatures;
	return 0;
}

/* ---- signing ---- */
/* the first file of mspdir/sub (sorted by name) */
static int first_file(const char *mspdir, const char *sub, char **data,
		      size_t *len, struct lf_err *err)
{
	char *dir = lf_path_join(mspdir, sub), *best = NULL, *p;
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc;

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (!best || strcmp(de->d_name, best) < 0) {
			free(best);
			best = lf_xstrdup(de->d_name);
		}
	}
	if (d)
		closedir(d);
	if (!best) {
		rc = lf_err_set(err, LF_ENOTFOUND, "MSP dir '%s': nothing in "
				"'%s/'", mspdir, sub);
		free(dir);
		return rc;
	}
	p = lf_path_join(dir, best);
	rc = lf_read_file(p, data, len, err);
	free(p);
	free(best);
	free(dir);
	return rc;
}

/* a PEM private key from memory (NULL when it is not one) */
static EVP_PKEY *pem_key(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
			   : NULL;

	BIO_free(bio);
	ERR_clear_error();
	return pk;
}

static EVP_PKEY *load_key(const char *mspdir, struct lf_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *pk = NULL;

	if (first_file(mspdir, "keystore", &pem, &len, err) != 0)
		return NULL;
	pk = pem_key(pem, len);
	lf_free_secret(pem, len);
	if (!pk)
		lf_err_set(err, LF_EINVALID, "MSP dir '%s': the keystore key is "
			   "not a PEM private key", mspdir);
	return pk;
}

/* DER ECDSA signature with s replaced by n - s when s > n/2 */
static void to_low_s(EVP_PKEY *pk, uint8_t **sig, size_t *len)
{
	const unsigned char *p = *sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	char curve[64];
	EC_GROUP *grp = NULL;
	BIGNUM *half = BN_new(), *ns = NULL;
	unsigned char *der = NULL;
	int n;

	if (es && EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
						 curve, sizeof(curve), NULL))
		grp = EC_GROUP_new_by_curve_name(OBJ_sn2nid(curve));
	if (grp && half && BN_rshift1(half, EC_GROUP_get0_order(grp)) &&
	    BN_cmp(ECDSA_SIG_get0_s(es), half) > 0) {
		ns = BN_new();
		BN_sub(ns, EC_GROUP_get0_order(grp), ECDSA_SIG_get0_s(es));
		ECDSA_SIG_set0(es, BN_dup(ECDSA_SIG_get0_r(es)), ns);
		n = i2d_ECDSA_SIG(es, &der);
		if (n > 0) {
			free(*sig);
			*sig = lf_xmalloc((size_t)n);
			memcpy(*sig, der, (size_t)n);
			*len = (size_t)n;
		}
		OPENSSL_free(der);
	}
	BN_free(half);
	EC_GROUP_free(grp);
	ECDSA_SIG_free(es);
}

static int sign_bytes(EVP_PKEY *pk, ProtobufCBinaryData a, ProtobufCBinaryData b,
		      ProtobufCBinaryData *out, struct lf_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t len = 0;
	uint8_t *sig = NULL;
	int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
		 EVP_DigestSignUpdate(md, a.data, a.len) == 1 &&
		 EVP_DigestSignUpdate(md, b.data, b.len) == 1 &&
		 EVP_DigestSignFinal(md, NULL, &len) == 1;

	if (ok) {
		sig = lf_xmalloc(len);
		ok = EVP_DigestSignFinal(md, sig, &len) == 1;
	}
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok) {
		free(sig);
		return lf_err_set(err, LF_ERROR, "signing failed");
	}
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC)
		to_low_s(pk, &sig, &len);
	out->data = sig;
	out->len = len;
	return 0;
}

/* mspdir's signing certificate (PEM, *cert) and its keystore key */
static int identity_load(const char *mspdir, char **cert, size_t *clen,
			 EVP_PKEY **pk, struct lf_err *err)
{
	X509 *x = NULL;
	int rc = first_file(mspdir, "signcerts", cert, clen, err);

	*pk = NULL;
	if (rc == 0 && !(x = pem_cert(*cert, *clen)))
		rc = lf_err_set(err, LF_EINVALID, "MSP dir '%s': signcerts/ holds "
				"no PEM certificate", mspdir);
	if (rc == 0 && !(*pk = load_key(mspdir, err)))
		rc = LF_EINVALID;
	if (rc == 0 && X509_check_private_key(x, *pk) != 1)
		rc = lf_err_set(err, LF_EINVALID, "MSP dir '%s': the keystore key "
				"does not belong to the signing certificate", mspdir);
	ERR_clear_error();
	X509_free(x);
	if (rc != 0) {
		EVP_PKEY_free(*pk);
		*pk = NULL;
		free(*cert);
		*cert = NULL;
	}
	return rc;
}

/* SignatureHeader{creator: SerializedIdentity{mspid, cert}, nonce} */
static ProtobufCBinaryData sig_header(const char *mspid, char *cert,
				      size_t clen, const uint8_t nonce[24])
{
	Lfpb__SerializedIdentity si = LFPB__SERIALIZED_IDENTITY__INIT;
	Lfpb__SignatureHeader sh = LFPB__SIGNATURE_HEADER__INIT;
	ProtobufCBinaryData out;

	si.mspid = (char *)mspid;
	si.id_bytes.data = (uint8_t *)cert;
	si.id_bytes.len = clen;
	sh.creator = lf_pb_bin(&si.base);
	sh.nonce.data = (uint8_t *)nonce;
	sh.nonce.len = 24;
	out = lf_pb_bin(&sh.base);
	free(sh.creator.data);
	return out;
}

static int signature_for(const Lfpb__ConfigUpdateEnvelope *e, const char *mspdir,
			 const char *mspid, Lfpb__ConfigSignature *cs,
			 struct lf_err *err)
{
	char *cert = NULL;
	size_t clen = 0;
	uint8_t nonce[24];
	EVP_PKEY *pk = NULL;
	int rc = identity_load(mspdir, &cert, &clen, &pk, err);

	if (rc == 0 && lf_random(nonce, sizeof(nonce)) != 0)
		rc = lf_err_set(err, LF_ERROR, "no random bytes for the nonce");
	if (rc)
		goto cleanup;
	cs->signature_header = sig_header(mspid, cert, clen, nonce);
	rc = sign_bytes(pk, cs->signature_header, e->config_update,
			&cs->signature, err);
cleanup:
	EVP_PKEY_free(pk);
	free(cert);
	return rc;
}

/* ChannelHeader{type, timestamp now, channel, tx id, tls_cert_hash};
 * the tx id is Fabric's: hex sha256(nonce || creator) */
static ProtobufCBinaryData chan_header(const struct lf_envelope_req *r,
				       ProtobufCBinaryData sh)
{
	Lfpb__ChannelHeader ch = LFPB__CHANNEL_HEADER__INIT;
	Lfpb__Timestamp ts = LFPB__TIMESTAMP__INIT;
	Lfpb__SignatureHeader *h;
	struct lf_buf b = LF_BUF_INIT;
	uint8_t d[32];
	char txid[65];
	ProtobufCBinaryData out;
	bool fixed;
	int i;

	h = lf_pb_unpack(&lfpb__signature_header__descriptor, sh.len, sh.data,
			 NULL);
	lf_buf_append(&b, h->nonce.data, h->nonce.len);
	lf_buf_append(&b, h->creator.data, h->creator.len);
	lf_sha256(b.data, b.len, d);
	for (i = 0; i < 32; i++)
		snprintf(txid + 2 * i, 3, "%02x", d[i]);
	ts.seconds = lf_blk_epoch(&fixed);
	ch.type = r->type;
	ch.timestamp = &ts;
	ch.channel_id = (char *)r->channel;
	ch.tx_id = txid;
	ch.tls_cert_hash.data = (uint8_t *)r->tls_cert_hash;
	ch.tls_cert_hash.len = r->tls_cert_hash ? 32 : 0;
	out = lf_pb_bin(&ch.base);
	lfpb__signature_header__free_unpacked(h, NULL);
	lf_buf_free(&b);
	return out;
}

int lf_envelope_sign(const struct lf_envelope_req *r, uint8_t **out,
		     size_t *outlen, struct lf_err *err)
{
	Lfpb__Header hdr = LFPB__HEADER__INIT;
	Lfpb__Payload pl = LFPB__PAYLOAD__INIT;
	Lfpb__Envelope env = LFPB__ENVELOPE__INIT;
	ProtobufCBinaryData none = { 0, NULL };
	char *cert = NULL;
	size_t clen = 0;
	uint8_t nonce[24];
	EVP_PKEY *pk = NULL;
	int rc = identity_load(r->mspdir, &cert, &clen, &pk, err);

	*out = NULL;
	*outlen = 0;
	if (rc == 0 && lf_random(nonce, sizeof(nonce)) != 0)
		rc = lf_err_set(err, LF_ERROR, "no random bytes for the nonce");
	if (rc)
		goto cleanup;
	hdr.signature_header = sig_header(r->mspid, cert, clen, nonce);
	hdr.channel_header = chan_header(r, hdr.signature_header);
	pl.header = &hdr;
	pl.data.data = (uint8_t *)r->data;
	pl.data.len = r->len;
	env.payload = lf_pb_bin(&pl.base);
	rc = sign_bytes(pk, env.payload, none, &env.signature, err);
	if (rc == 0)
		*out = lf_pb_pack(&env.base, outlen);
	free(env.payload.data);
	free(env.signature.data);
	free(hdr.channel_header.data);
	free(hdr.signature_header.data);
cleanup:
	EVP_PKEY_free(pk);
	free(cert);
	return rc;
}

int lf_update_sign(const uint8_t *env, size_t len, const char *mspdir,
		   const char *mspid, uint8_t **out, size_t *outlen,
		   struct lf_err *err)
{
	Lfpb__ConfigUpdateEnvelope *e = NULL;
	Lfpb__ConfigUpdate *u = lf_update__unpack(env, len, &e, err);
	Lfpb__ConfigSignature *cs;
	int rc;

	if (!u)
		return LF_EINVALID;
	lfpb__config_update__free_unpacked(u, NULL);
	cs = lf_xmalloc(sizeof(*cs));
	lfpb__config_signature__init(cs);
	rc = signature_for(e, mspdir, mspid, cs, err);
	if (rc == 0) {
		e->signatures = lf_xrealloc(e->signatures, (e->n_signatures + 1) *
					    sizeof(*e->signatures));
		e->signatures[e->n_signatures++] = cs;
		*out = lf_pb_pack(&e->base, outlen);
	} else {
		protobuf_c_message_free_unpacked(&cs->base, NULL);
	}
	lfpb__config_update_envelope__free_unpacked(e, NULL);
	return rc;
}

/* ---- checking collected signatures against the mod policies ---- */
struct upd_ctx {
	Lfpb__Config *cfg;
	Lfpb__ConfigUpdateEnvelope *e;
	Lfpb__ConfigUpdate *u;
	struct lf_modpol *mp;
	size_t nmp;
};

static void upd_free(struct upd_ctx *c)
{
	lf_modpols_free(c->mp, c->nmp);
	if (c->u)
		lfpb__config_update__free_unpacked(c->u, NULL);
	if (c->e)
		lfpb__config_update_envelope__free_unpacked(c->e, NULL);
	if (c->cfg)
		lfpb__config__free_unpacked(c->cfg, NULL);
}

static int upd_open(struct upd_ctx *c, const uint8_t *cur, size_t curlen,
		    const uint8_t *env, size_t envlen, struct lf_err *err)
{
	struct lf_err why = LF_ERR_INIT;

	memset(c, 0, sizeof(*c));
	c->cfg = lf_pb_unpack(&lfpb__config__descriptor, curlen, cur, &why);
	if (c->cfg && !c->cfg->channel_group)
		lf_err_set(&why, LF_EINVALID, "no channel group");
	if (!c->cfg || !c->cfg->channel_group)
		return lf_err_set(err, LF_EINVALID, "malformed channel config: "
				  "%s", why.msg);
	c->u = lf_update__unpack(env, envlen, &c->e, err);
	if (!c->u)
		return LF_EINVALID;
	return lf_update_modpols(c->cfg->channel_group, c->u, &c->mp, &c->nmp,
				 err);
}

static void not_counted(struct lf_buf *b, const struct lf_signer *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *why = s[i].problem;

		if (!why && !(s[i].roles & (1u << LF_ROLE_ADMIN)))
			why = "not an admin";
		if (why)
			lf_buf_printf(b, "; not counted: %s (%s): %s", s[i].subject,
				      s[i].mspid, why);
	}
}

int lf_update_check(const uint8_t *cur, size_t curlen, const uint8_t *env,
		    size_t envlen, struct lf_err *err)
{
	struct upd_ctx c;
	struct lf_signer *s = NULL;
	size_t n = 0;
	struct lf_buf msg = LF_BUF_INIT;
	int rc = upd_open(&c, cur, curlen, env, envlen, err);

	if (rc == 0)
		rc = lf_signers_check(c.cfg->channel_group, c.e, &s, &n, err);
	for (size_t i = 0; rc == 0 && i < c.nmp; i++) {
		struct lf_eval ev;

		rc = lf_policy_eval(c.mp[i].group, c.mp[i].name, s, n, &ev, err);
		if (rc == 0 && !ev.ok && c.nmp > 1)
			lf_buf_printf(&msg, "%s%s/%s %s; %s; %s", msg.len ? " and " : "",
				      c.mp[i].path, c.mp[i].name, ev.need, ev.have,
				      ev.missing);
		else if (rc == 0 && !ev.ok)
			lf_buf_printf(&msg, "%s; %s; %s", ev.need, ev.have,
				      ev.missing);
		lf_eval_clear(&ev);
	}
	if (rc == 0 && msg.len) {
		not_counted(&msg, s, n);
		rc = lf_err_set(err, LF_EAUTH, "channel '%s': config update needs "
				"%s", c.u->channel_id, msg.data);
	}
	lf_buf_free(&msg);
	lf_signers_free(s, n);
	upd_free(&c);
	return rc;
}

int lf_update_needs(const uint8_t *cur, size_t curlen, const uint8_t *env,
		    size_t envlen, char **out, struct lf_err *err)
{
	return lf_update__needs(cur, curlen, env, envlen, false, out, err);
}

int lf_update__needs(const uint8_t *cur, size_t curlen, const uint8_t *env,
		     size_t envlen, bool brief, char **out, struct lf_err *err)
{
	struct upd_ctx c;
	struct lf_buf b = LF_BUF_INIT;
	int rc = upd_open(&c, cur, curlen, env, envlen, err);

	for (size_t i = 0; rc == 0 && i < c.nmp; i++) {
		struct lf_eval ev;

		rc = lf_policy_eval(c.mp[i].group, c.mp[i].name, NULL, 0, &ev, err);
		if (rc == 0)
			lf_buf_printf(&b, "%s%s", b.len ? "; " : "",
				      brief ? ev.brief : ev.need);
		lf_eval_clear(&ev);
	}
	upd_free(&c);
	if (rc) {
		lf_buf_free(&b);
		return rc;
	}
	*out = b.data ? b.data : lf_xstrdup("");
	return 0;
}

/* who signs with mspdir: subject line, and the MSP id found by chaining
 * the signing certificate to an MSP of config cfg (NULL: not looked up) */
int lf_blk_signer_info(const char *mspdir, const uint8_t *cfg, size_t cfglen,
		       char **mspid, char **subject, struct lf_err *err)
{
	static const char *const tops[] = { "Application", "Orderer" };
	char *cert = NULL;
	size_t clen = 0;
	X509 *x = NULL;
	Lfpb__Config *c = NULL;
	int rc = first_file(mspdir, "signcerts", &cert, &clen, err);

	if (rc == 0 && !(x = pem_cert(cert, clen)))
		rc = lf_err_set(err, LF_EINVALID, "MSP dir '%s': signcerts/ holds "
				"no PEM certificate", mspdir);
	if (rc == 0)
		*subject = subject_line(x);
	if (rc == 0 && cfg)
		c = lf_pb_unpack(&lfpb__config__descriptor, cfglen, cfg, NULL);
	for (size_t t = 0; c && c->channel_group && t < 2 && !*mspid; t++) {
		const Lfpb__ConfigGroup *top = lf_cg_group(c->channel_group, tops[t]);

		for (size_t i = 0; top && i < top->n_groups && !*mspid; i++) {
			Lfpb__FabricMSPConfig *fc = group_msp(top->groups[i]->value);
			char *problem = fc ? verify_chain(x, fc) : lf_xstrdup("none");

			if (!problem)
				*mspid = lf_xstrdup(fc->name);
			free(problem);
			if (fc)
				lfpb__fabric_mspconfig__free_unpacked(fc, NULL);
		}
	}
	if (c)
		lfpb__config__free_unpacked(c, NULL);
	X509_free(x);
	free(cert);
	return rc;
}

/* without the channel config: is the last signature's creator one of
 * the earlier ones (same certificate) */
static char *dup_without_config(const Lfpb__ConfigUpdateEnvelope *e)
{
	const Lfpb__ConfigSignature *l = e->signatures[e->n_signatures - 1];
	char *why = NULL;

	for (size_t i = 0; i + 1 < e->n_signatures && !why; i++) {
		struct lf_signer a, b;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if (check_one(NULL, e->signatures[i], e->config_update, i, &a,
			      NULL) == 0 &&
		    check_one(NULL, l, e->config_update, i, &b, NULL) == 0 &&
		    strcmp(a.fp, b.fp) == 0)
			why = lf_xasprintf("%s has signed this update already "
					   "(signature %zu)", b.subject, i + 1);
		lf_signer_clear(&a);
		lf_signer_clear(&b);
	}
	return why ? why : lf_xstrdup("(no channel config at hand: whether "
				      "this signature counts is not checked)");
}

static char *vet_last(const struct lf_signer *s, size_t n, bool *bad)
{
	const struct lf_signer *l = &s[n - 1];

	*bad = true;
	for (size_t i = 0; i + 1 < n; i++)
		if (strcmp(s[i].fp, l->fp) == 0)
			return lf_xasprintf("%s (%s) has signed this update already "
					    "(signature %zu)", l->subject, l->mspid,
					    i + 1);
	if (l->problem)
		return lf_xasprintf("this signature would not count: %s",
				    l->problem);
	if (!(l->roles & (1u << LF_ROLE_ADMIN)))
		return lf_xasprintf("%s is not an admin of %s: its signature "
				    "would not count for the Admins policies",
				    l->subject, l->mspid);
	*bad = false;
	return lf_xasprintf("this signature counts as an admin of %s", l->mspid);
}

int lf_blk_last_signature_vet(const uint8_t *cfg, size_t cfglen,
			      const uint8_t *env, size_t envlen, char **why)
{
	Lfpb__Config *c = cfg ? lf_pb_unpack(&lfpb__config__descriptor, cfglen,
					     cfg, NULL) : NULL;
	Lfpb__ConfigUpdateEnvelope *e = lf_pb_unpack(
		&lfpb__config_update_envelope__descriptor, envlen, env, NULL);
	struct lf_signer *s = NULL;
	size_t n = 0;
	bool bad = false;

	*why = NULL;
	if (e && e->n_signatures && c && c->channel_group &&
	    lf_signers_check(c->channel_group, e, &s, &n, NULL) == 0)
		*why = vet_last(s, n, &bad);
	else if (e && e->n_signatures && !c) {
		*why = dup_without_config(e);
		bad = strstr(*why, "already") != NULL;
	}
	if (!*why) {
		*why = lf_xstrdup("the signatures do not decode");
		bad = true;
	}
	lf_signers_free(s, n);
	if (e)
		lfpb__config_update_envelope__free_unpacked(e, NULL);
	if (c)
		lfpb__config__free_unpacked(c, NULL);
	return bad ? 1 : 0;
}

/* ---- signing for other modules (proposals to peers) ---- */
int lf_blk_msp_signer(const char *mspdir, char **cert, size_t *cert_len,
		      char **key, size_t *key_len, struct lf_err *err)
{
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int rc = first_file(mspdir, "signcerts", cert, cert_len, err);

	if (rc == 0)
		rc = first_file(mspdir, "keystore", key, key_len, err);
	if (rc == 0 && !(x = pem_cert(*cert, *cert_len)))
		rc = lf_err_set(err, LF_EINVALID, "MSP dir '%s': signcerts/ holds "
				"no PEM certificate", mspdir);
	if (rc == 0 && !(pk = pem_key(*key, *key_len)))
		rc = lf_err_set(err, LF_EINVALID, "MSP dir '%s': the keystore key is "
				"not a PEM private key", mspdir);
	if (rc == 0 && X509_check_private_key(x, pk) != 1)
		rc = lf_err_set(err, LF_EINVALID, "MSP dir '%s': the keystore key "
				"does not belong to the signing certificate", mspdir);
	ERR_clear_error();
	EVP_PKEY_free(pk);
	X509_free(x);
	if (rc) {
		free(*cert);
		if (*key)
			lf_free_secret(*key, *key_len);
		*cert = *key = NULL;
		*cert_len = *key_len = 0;
	}
	return rc;
}

int lf_blk_sign_pem(const char *key_pem, size_t key_len, const void *data,
		    size_t len, uint8_t **sig, size_t *sig_len,
		    struct lf_err *err)
{
	EVP_PKEY *pk = pem_key(key_pem, key_len);
	ProtobufCBinaryData a = { len, (uint8_t *)data }, b = { 0, NULL };
	ProtobufCBinaryData out = { 0, NULL };
	int rc;

	if (!pk)
		return lf_err_set(err, LF_EINVALID, "the signing key is not a PEM "
				  "private key");
	rc = sign_bytes(pk, a, b, &out, err);
	EVP_PKEY_free(pk);
	*sig = out.data;
	*sig_len = out.len;
	return rc;
}
