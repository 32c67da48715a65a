/*
 * Config updates: read/write sets for add-org, remove-org and anchor-peer
 * changes decoded by Fabric's npm bindings; signatures made with the org
 * admins' own keys, verified with the openssl CLI; a MAJORITY-of-3 policy
 * accepting two admin signatures and refusing one, a duplicate, a
 * non-admin, a tampered update and a signature over other bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/fabric/block/block.h"
#include "core/util/util.h"
#include "lfpb/common.pb-c.h"
#include "tests/unit/block/fixture.h"

struct ux {
	struct fx f;
	uint8_t *cur;      /* Config of the 3-org channel (from its genesis) */
	size_t curlen;
};

static char *write_tmp(struct fx *f, const char *name, const uint8_t *b,
		       size_t len)
{
	char *p = lf_xasprintf("%s/%s", f->dir, name);

	assert_int_equal(lf_write_file_atomic(p, b, len, 0644, NULL), 0);
	return p;
}

static char *admin_msp(struct fx *f, int org, const char *user)
{
	char rel[200];

	snprintf(rel, sizeof(rel), "users/%s@%s/msp", user, f->orgs[org].domain);
	return fx_org_file(f, org, rel);
}

static void sign_as(struct ux *u, uint8_t **env, size_t *len, int org,
		    const char *user)
{
	struct lf_err err = LF_ERR_INIT;
	char *msp = admin_msp(&u->f, org, user);
	uint8_t *out = NULL;
	size_t outlen = 0;

	if (lf_update_sign(*env, *len, msp, u->f.orgs[org].mspid, &out, &outlen,
			   &err) != 0)
		fail_msg("sign: %s", err.msg);
	free(*env);
	*env = out;
	*len = outlen;
	free(msp);
}

static void compute(struct ux *u, uint8_t **env, size_t *len)
{
	struct lf_err err = LF_ERR_INIT;
	char *summary = NULL;

	if (lf_update_compute(u->cur, u->curlen, &u->f.spec, "trade", u->f.crypto,
			      env, len, &summary, &err) != 0)
		fail_msg("compute: %s", err.msg);
	assert_non_null(summary);
	free(summary);
}

static void test_update_add_org(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	char *path, *needs = NULL, *desc = NULL, *p, *want;
	json_t *j, *rs, *ws;

	u->f.ch.norgs = 4;    /* + retail */
	compute(u, &env, &len);
	u->f.ch.norgs = 3;
	assert_int_equal(lf_update_needs(u->cur, u->curlen, env, len, &needs, &err), 0);
	assert_string_equal(needs, "MAJORITY Admins: 2 of 3 orgs (AirlineMSP, BankMSP, TelecomMSP)");
	assert_int_equal(lf_update_describe(env, len, &desc, &err), 0);
	assert_non_null(strstr(desc, "+ add Channel/Application/RetailMSP"));
	assert_int_equal(lf_block_inspect_json(env, len, &j, &err), 0);
	assert_string_equal(fx_str(j, "config_update/channel_id"), "trade");
	assert_string_equal(fx_str(j, "config_update/write_set/groups/Application/version"), "1");
	assert_string_equal(fx_str(j, "config_update/write_set/groups/Application/groups/"
				   "RetailMSP/values/MSP/value/config/name"), "RetailMSP");
	assert_int_equal(json_array_size(fx_get(j, "signatures")), 0);
	json_decref(j);
	path = write_tmp(&u->f, "add.update.pb", env, len);
	fx_free_on_skip(path);
	fx_free_on_skip(env);
	fx_free_on_skip(desc);
	fx_free_on_skip(needs);
	j = fx_decode_or_skip(path, "update");
	assert_string_equal(fx_str(j, "channel_id"), "trade");
	rs = fx_get(j, "read_set");
	ws = fx_get(j, "write_set");
	assert_true(json_is_true(fx_get(j, "canonical")));
	assert_int_equal(json_integer_value(fx_get(rs, "version")), 0);
	assert_int_equal(json_object_size(fx_get(rs, "groups")), 1);
	assert_int_equal(json_object_size(fx_get(ws, "groups")), 1);
	assert_int_equal(json_integer_value(fx_get(rs, "groups/Application/version")), 0);
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/version")), 1);
	assert_string_equal(fx_str(ws, "groups/Application/mod_policy"), "Admins");
	assert_int_equal(json_object_size(fx_get(ws, "groups/Application/groups")), 4);
	assert_int_equal(json_object_size(fx_get(rs, "groups/Application/groups")), 3);
	assert_int_equal(json_object_size(fx_get(ws, "groups/Application/groups/BankMSP/values")), 0);
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/groups/RetailMSP/version")), 0);
	assert_string_equal(fx_str(ws, "groups/Application/groups/RetailMSP/values/MSP/value/name"), "RetailMSP");
	p = fx_org_file(&u->f, 4, "msp/cacerts/ca.retail.example.com-cert.pem");
	want = fx_slurp(p);
	assert_string_equal(fx_str(ws, "groups/Application/groups/RetailMSP/values/MSP/value/root_certs/0"), want);
	assert_string_equal(fx_str(ws, "groups/Application/groups/RetailMSP/policies/Admins/policy/text"),
			    "OutOf(1, 'RetailMSP.admin')");
	assert_null(fx_get(ws, "groups/Orderer"));
	/* unchanged policies and values are read at their version in both sets */
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/policies/Admins/version")), 0);
	assert_true(json_is_null(fx_get(ws, "groups/Application/policies/Admins/policy")));
	json_decref(j);
	free(want);
	free(p);
	free(path);
	free(desc);
	free(needs);
	free(env);
}

static void test_update_remove_org(void **state)
{
	struct ux *u = *state;
	uint8_t *env = NULL, *next = NULL;
	size_t len = 0, nlen = 0;
	struct lf_err err = LF_ERR_INIT;
	char *path;
	json_t *j, *ws;

	u->f.ch.norgs = 2;    /* airline, telecom; bank leaves */
	compute(u, &env, &len);
	u->f.ch.norgs = 3;
	path = write_tmp(&u->f, "remove.update.pb", env, len);
	fx_free_on_skip(path);
	fx_free_on_skip(env);
	j = fx_decode_or_skip(path, "update");
	ws = fx_get(j, "write_set");
	assert_true(json_is_true(fx_get(j, "canonical")));
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/version")), 1);
	assert_int_equal(json_object_size(fx_get(ws, "groups/Application/groups")), 2);
	assert_null(fx_get(ws, "groups/Application/groups/BankMSP"));
	assert_non_null(fx_get(ws, "groups/Application/groups/AirlineMSP"));
	assert_int_equal(json_object_size(fx_get(j, "read_set/groups/Application/groups")), 2);
	/* applying it gives the 2-org config at sequence 1 */
	assert_int_equal(lf_update_apply(u->cur, u->curlen, env, len, &next, &nlen, &err), 0);
	free(env);
	env = NULL;
	u->f.ch.norgs = 2;
	assert_int_equal(lf_update_compute(next, nlen, &u->f.spec, "trade", u->f.crypto,
					   &env, &len, NULL, &err), LF_ENOTFOUND);
	u->f.ch.norgs = 3;
	json_decref(j);
	free(next);
	free(path);
}

static void test_update_anchor_peer(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	char *path, *needs = NULL;
	json_t *j, *ws;

	u->f.nodes[3][0].port = 9051;   /* bank's anchor peer0 moves */
	compute(u, &env, &len);
	u->f.nodes[3][0].port = 7051;
	assert_int_equal(lf_update_needs(u->cur, u->curlen, env, len, &needs, &err), 0);
	assert_string_equal(needs, "OR('BankMSP.admin')");
	path = write_tmp(&u->f, "anchor.update.pb", env, len);
	fx_free_on_skip(path);
	fx_free_on_skip(env);
	fx_free_on_skip(needs);
	j = fx_decode_or_skip(path, "update");
	ws = fx_get(j, "write_set");
	assert_true(json_is_true(fx_get(j, "canonical")));
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/version")), 0);
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/groups/BankMSP/version")), 0);
	assert_int_equal(json_object_size(fx_get(ws, "groups/Application/groups")), 1);
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/groups/BankMSP/values/AnchorPeers/version")), 1);
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/groups/BankMSP/values/AnchorPeers/value/0/port")), 9051);
	assert_string_equal(fx_str(ws, "groups/Application/groups/BankMSP/values/AnchorPeers/value/0/host"),
			    "peer0.bank.example.com");
	assert_null(fx_get(ws, "groups/Application/groups/BankMSP/values/MSP"));
	json_decref(j);
	free(needs);
	free(path);
	free(env);
}

static void test_update_batch_and_consenter(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	char *needs = NULL, *desc = NULL;
	char *refs[2] = { "orderer.orderer0", "orderer.orderer1" };

	/* the channel starts with 2 consenters, the spec adds orderer2 */
	u->f.ch.consenters = refs;
	u->f.ch.nconsenters = 2;
	{
		uint8_t *c2 = NULL;
		size_t l2 = 0;

		assert_int_equal(lf_block_config_for(&u->f.spec, "trade", u->f.crypto,
						     &c2, &l2, &err), 0);
		u->f.ch.consenters = NULL;
		u->f.ch.nconsenters = 0;
		u->f.ch.batch.max_message_count = 100;
		assert_int_equal(lf_update_compute(c2, l2, &u->f.spec, "trade",
						   u->f.crypto, &env, &len, &desc, &err), 0);
		u->f.ch.batch.max_message_count = 0;
		assert_int_equal(lf_update_needs(c2, l2, env, len, &needs, &err), 0);
		free(c2);
	}
	assert_string_equal(needs, "MAJORITY Admins: 1 of 1 orgs (OrdererMSP)");
	/* from one consenter to three: Fabric's etcdraft refuses that */
	{
		char *one[1] = { "orderer.orderer0" };
		uint8_t *c1 = NULL, *e2 = NULL;
		size_t l1 = 0, le2 = 0;

		u->f.ch.consenters = one;
		u->f.ch.nconsenters = 1;
		assert_int_equal(lf_block_config_for(&u->f.spec, "trade", u->f.crypto,
						     &c1, &l1, &err), 0);
		u->f.ch.consenters = NULL;
		u->f.ch.nconsenters = 0;
		assert_int_equal(lf_update_compute(c1, l1, &u->f.spec, "trade", u->f.crypto,
						   &e2, &le2, NULL, &err), LF_EINVALID);
		assert_non_null(strstr(err.msg, "adds 2 and removes 0"));
		lf_err_clear(&err);
		free(c1);
	}
	assert_non_null(strstr(desc, "ConsensusType"));
	assert_non_null(strstr(desc, "orderer2.example.com:7052"));
	assert_non_null(strstr(desc, "max_message_count 100"));
	free(needs);
	free(desc);
	free(env);
}

/* openssl dgst -verify over signature_header || config_update */
static void openssl_verify(struct ux *u, json_t *j, int idx, int org)
{
	char key[64], *hdr, *upd, *sig, *pub, *cert, rel[200];
	const char *h, *c, *s;

	snprintf(key, sizeof(key), "signatures/%d/signature_header_b64", idx);
	h = fx_str(j, key);
	c = fx_str(j, "config_update_b64");
	snprintf(key, sizeof(key), "signatures/%d/signature_b64", idx);
	s = fx_str(j, key);
	assert_non_null(h);
	assert_non_null(s);
	hdr = lf_xasprintf("%s/sig%d.data", u->f.dir, idx);
	upd = lf_xasprintf("%s/sig%d.der", u->f.dir, idx);
	sig = lf_xasprintf("%s/sig%d.b64", u->f.dir, idx);
	pub = lf_xasprintf("%s/sig%d.pub", u->f.dir, idx);
	snprintf(rel, sizeof(rel), "users/Admin@%s/msp/signcerts/Admin@%s-cert.pem",
		 u->f.orgs[org].domain, u->f.orgs[org].domain);
	cert = fx_org_file(&u->f, org, rel);
	assert_int_equal(fx_sh("printf '%%s' '%s' | openssl base64 -d -A > '%s' && "
			       "printf '%%s' '%s' | openssl base64 -d -A >> '%s'",
			       h, hdr, c, hdr), 0);
	assert_int_equal(fx_sh("printf '%%s' '%s' | openssl base64 -d -A > '%s'", s, upd), 0);
	assert_int_equal(fx_sh("openssl x509 -in '%s' -pubkey -noout > '%s'", cert, pub), 0);
	assert_int_equal(fx_sh("openssl dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null",
			       pub, upd, hdr), 0);
	/* and not over other bytes */
	assert_int_not_equal(fx_sh("printf x >> '%s' && openssl dgst -sha256 -verify '%s' "
				   "-signature '%s' '%s' >/dev/null 2>&1", hdr, pub, upd, hdr), 0);
	free(hdr);
	free(upd);
	free(sig);
	free(pub);
	free(cert);
}

static void test_update_signatures_and_policy(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	char *path;
	json_t *j;

	u->f.ch.norgs = 4;
	compute(u, &env, &len);
	u->f.ch.norgs = 3;
	assert_int_equal(lf_update_check(u->cur, u->curlen, env, len, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "have 0"));
	lf_err_clear(&err);
	sign_as(u, &env, &len, 1, "Admin");                  /* Airline */
	assert_int_equal(lf_update_check(u->cur, u->curlen, env, len, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "channel 'trade': config update needs MAJORITY Admins: 2 of 3 orgs (AirlineMSP, BankMSP, TelecomMSP); have 1 (AirlineMSP); missing 1 of BankMSP, TelecomMSP"));
	lf_err_clear(&err);
	sign_as(u, &env, &len, 1, "Admin");                  /* Airline again */
	assert_int_equal(lf_update_check(u->cur, u->curlen, env, len, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "have 1 (AirlineMSP)"));
	assert_non_null(strstr(err.msg, "duplicate"));
	lf_err_clear(&err);
	sign_as(u, &env, &len, 3, "User1");                  /* Bank client */
	assert_int_equal(lf_update_check(u->cur, u->curlen, env, len, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "User1@bank.example.com"));
	assert_non_null(strstr(err.msg, "not an admin"));
	lf_err_clear(&err);
	sign_as(u, &env, &len, 2, "Admin");                  /* Telecom */
	if (lf_update_check(u->cur, u->curlen, env, len, &err) != 0)
		fail_msg("2 of 3 admins refused: %s", err.msg);
	path = write_tmp(&u->f, "signed.update.pb", env, len);
	fx_free_on_skip(path);
	fx_free_on_skip(env);
	j = fx_decode_or_skip(path, "update");
	assert_int_equal(json_array_size(fx_get(j, "signatures")), 4);
	assert_string_equal(fx_str(j, "signatures/0/signature_header/creator/mspid"), "AirlineMSP");
	assert_int_equal(json_integer_value(fx_get(j, "signatures/0/signature_header/nonce_len")), 24);
	openssl_verify(u, j, 0, 1);
	openssl_verify(u, j, 3, 2);
	json_decref(j);
	free(path);
	free(env);
}

static void test_update_tampered_and_foreign_signature(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL, *other = NULL, *out;
	size_t len = 0, olen = 0, outlen;
	Lfpb__ConfigUpdateEnvelope *a, *b;
	Lfpb__ConfigSignature *saved;
	uint8_t *pos;

	u->f.ch.norgs = 4;
	compute(u, &env, &len);
	u->f.ch.norgs = 2;
	compute(u, &other, &olen);
	u->f.ch.norgs = 3;
	sign_as(u, &env, &len, 1, "Admin");
	sign_as(u, &env, &len, 2, "Admin");
	sign_as(u, &other, &olen, 3, "Admin");
	/* tampered: one base64 character of a certificate in the update */
	out = lf_xmalloc(len);
	memcpy(out, env, len);
	pos = memmem(out, len, "-----BEGIN CERTIFICATE-----\n", 28);
	assert_non_null(pos);
	pos[60] = pos[60] == 'A' ? 'B' : 'A';
	assert_int_equal(lf_update_check(u->cur, u->curlen, out, len, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "does not verify"));
	lf_err_clear(&err);
	free(out);
	/* Bank's signature over another update grafted onto this one */
	a = lfpb__config_update_envelope__unpack(NULL, len, env);
	b = lfpb__config_update_envelope__unpack(NULL, olen, other);
	assert_non_null(a);
	assert_non_null(b);
	saved = a->signatures[1];
	a->signatures[1] = b->signatures[0];
	out = lf_xmalloc(lfpb__config_update_envelope__get_packed_size(a));
	outlen = lfpb__config_update_envelope__pack(a, out);
	a->signatures[1] = saved;
	assert_int_equal(lf_update_check(u->cur, u->curlen, out, outlen, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "signature 2 (BankMSP"));
	lf_err_clear(&err);
	/* garbage */
	assert_int_equal(lf_update_check(u->cur, u->curlen, (const uint8_t *)"\x0a\xff", 2, &err),
			 LF_EINVALID);
	lfpb__config_update_envelope__free_unpacked(a, NULL);
	lfpb__config_update_envelope__free_unpacked(b, NULL);
	free(out);
	free(other);
	free(env);
}

static X509 *load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;

	if (fp)
		fclose(fp);
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k = fp ? PEM_read_PrivateKey(fp, NULL, NULL, NULL) : NULL;

	if (fp)
		fclose(fp);
	return k;
}

/* users/Old@DOMAIN/msp: an admin (OU=admin) of the org's CA whose
 * certificate expired a year ago */
static char *make_expired_admin(struct fx *f, int org)
{
	const char *dom = f->orgs[org].domain;
	char rel[256], *dir, *p, *cap, *kp;
	X509 *ca, *x = X509_new();
	EVP_PKEY *cak, *k = EVP_EC_gen("P-256");
	X509_NAME *n = X509_get_subject_name(x);
	FILE *fp;

	snprintf(rel, sizeof(rel), "ca/ca.%s-cert.pem", dom);
	cap = fx_org_file(f, org, rel);
	kp = fx_org_file(f, org, "ca/priv_sk");
	ca = load_cert(cap);
	cak = load_key(kp);
	assert_non_null(ca);
	assert_non_null(cak);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), -2L * 365 * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), -365L * 86400);
	X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_ASC, (const unsigned char *)"admin", -1, -1, 0);
	snprintf(rel, sizeof(rel), "Old@%s", dom);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)rel, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_pubkey(x, k);
	assert_true(X509_sign(x, cak, EVP_sha256()) > 0);
	snprintf(rel, sizeof(rel), "users/Old@%s/msp", dom);
	dir = fx_org_file(f, org, rel);
	assert_int_equal(fx_sh("mkdir -p '%s/signcerts' '%s/keystore'", dir, dir), 0);
	p = lf_xasprintf("%s/signcerts/Old@%s-cert.pem", dir, dom);
	fp = fopen(p, "w");
	PEM_write_X509(fp, x);
	fclose(fp);
	free(p);
	p = lf_xasprintf("%s/keystore/priv_sk", dir);
	fp = fopen(p, "w");
	PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	free(p);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	free(cap);
	free(kp);
	return dir;
}

static void test_update_expired_admin_not_counted(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	char *dir = make_expired_admin(&u->f, 1);

	free(dir);
	u->f.ch.norgs = 4;
	compute(u, &env, &len);
	u->f.ch.norgs = 3;
	sign_as(u, &env, &len, 1, "Old");     /* Airline admin, expired */
	sign_as(u, &env, &len, 2, "Admin");   /* Telecom */
	assert_int_equal(lf_update_check(u->cur, u->curlen, env, len, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "have 1 (TelecomMSP)"));
	assert_non_null(strstr(err.msg, "Old@airline.example.com"));
	assert_non_null(strstr(err.msg, "expired"));
	free(env);
}

static void test_update_stale_read_set(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL, *next = NULL, *env2 = NULL;
	size_t len = 0, nlen = 0, len2 = 0;

	u->f.ch.norgs = 2;
	compute(u, &env, &len);
	assert_int_equal(lf_update_apply(u->cur, u->curlen, env, len, &next, &nlen, &err), 0);
	u->f.ch.norgs = 4;
	compute(u, &env2, &len2);        /* computed against the old config */
	u->f.ch.norgs = 3;
	assert_int_equal(lf_update_check(next, nlen, env2, len2, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "recompute"));
	free(next);
	free(env);
	free(env2);
}

static int setup(void **state)
{
	struct ux *u = calloc(1, sizeof(*u));
	uint8_t *blk = NULL;
	size_t len = 0;

	if (!u || fx_setup(&u->f, 3, 4, 3, LF_CONSENSUS_ETCDRAFT, 2, 5) != 0)
		return -1;
	if (lf_block_genesis(&u->f.spec, "trade", u->f.crypto, &blk, &len, NULL) != 0 ||
	    lf_block_config_bytes(blk, len, &u->cur, &u->curlen, NULL) != 0)
		return -1;
	free(blk);
	*state = u;
	return 0;
}

static int teardown(void **state)
{
	struct ux *u = *state;

	fx_teardown(&u->f);
	free(u->cur);
	free(u);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_add_org),
		cmocka_unit_test(test_update_remove_org),
		cmocka_unit_test(test_update_anchor_peer),
		cmocka_unit_test(test_update_batch_and_consenter),
		cmocka_unit_test(test_update_signatures_and_policy),
		cmocka_unit_test(test_update_tampered_and_foreign_signature),
		cmocka_unit_test(test_update_stale_read_set),
		cmocka_unit_test(test_update_expired_admin_not_counted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
