/*
 * core/net/proposal: signed proposals as a Fabric peer reads them, and the
 * decoding of proposal responses with the peer's status mapped to LF_E*.
 *
 * The signer is a P-256 key and certificate made by the openssl CLI in a
 * temp MSP dir. Proposals are checked twice: here with ledgerform's own
 * message declarations and OpenSSL (signature over proposal_bytes with the
 * creator's public key, low-S, tx id = hex sha256(nonce || creator)), and
 * with Fabric's own bindings (tests/node/check-proposal.js,
 * @hyperledger/fabric-protos), which also encodes responses for the
 * decoder. Without node or the npm packages, those cases skip and say why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/fabric/block/blk.h"
#include "core/net/proposal.h"
#include "core/util/util.h"
#include "lfpb/proposal.pb-c.h"

static struct {
	char dir[64];
	const char *why;     /* why the signer tests skip; NULL: they run */
	const char *no_node; /* why the Fabric-bindings cases skip */
	struct lf_identity id;
} F;

/* run a shell command (made by lf_xasprintf; freed here): its status */
static int run(char *cmd)
{
	int rc = system(cmd);

	free(cmd);
	return rc;
}

/* DIR/NAME/{signcerts/cert.pem, keystore/priv_sk}: a P-256 self-signed
 * certificate and its key */
static int make_msp(const char *name)
{
	return run(lf_xasprintf("cd '%s' && mkdir -p %s/signcerts %s/keystore && "
		  "openssl req -x509 -newkey ec -pkeyopt "
		  "ec_paramgen_curve:prime256v1 -nodes -days 2 "
		  "-keyout %s/keystore/priv_sk -out %s/signcerts/cert.pem "
		  "-subj /CN=Admin@org1.example.com >/dev/null 2>&1",
		  F.dir, name, name, name, name));
}

static int group_setup(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	char *msp;

	(void)state;
	snprintf(F.dir, sizeof(F.dir), "/tmp/lf-peer-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	if (system("openssl version >/dev/null 2>&1") != 0)
		F.why = "the openssl CLI is missing";
	else if (make_msp("msp") || make_msp("other"))
		F.why = "openssl could not make the test identities";
	if (!F.why) {
		msp = lf_path_join(F.dir, "msp");
		if (lf_identity_load(&F.id, msp, "Org1MSP", &err) != 0)
			F.why = "the test identity does not load";
		free(msp);
	}
	if (system("node --version >/dev/null 2>&1") != 0)
		F.no_node = "node is not installed";
	else if (!lf_path_exists(LF_SOURCE_DIR "/tests/node/node_modules/"
				 "@hyperledger/fabric-protos/package.json"))
		F.no_node = "@hyperledger/fabric-protos is missing (run "
			    ".ci/bootstrap.sh --with-tests)";
	if (F.why)
		printf("[  SKIPPED ] signer tests: %s\n", F.why);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lf_identity_clear(&F.id);
	lf_rmtree(F.dir, NULL);
	return 0;
}

static void need_signer(void)
{
	if (F.why) {
		printf("skipping: %s\n", F.why);
		skip();
	}
}

static void need_node(void)
{
	need_signer();
	if (F.no_node) {
		printf("skipping: %s\n", F.no_node);
		skip();
	}
}

/* ---- identities ---------------------------------------------------------- */

static void test_peer_identity_load(void **state)
{
	struct lf_identity id = { 0 };
	struct lf_err err = LF_ERR_INIT;
	char *msp;

	(void)state;
	need_signer();
	assert_string_equal(F.id.mspid, "Org1MSP");
	assert_non_null(strstr(F.id.cert_pem, "BEGIN CERTIFICATE"));
	assert_int_equal(F.id.cert_len, strlen(F.id.cert_pem));
	assert_non_null(F.id.key_pem);

	/* a keystore key of another identity is refused, nothing returned */
	msp = lf_path_join(F.dir, "mixed");
	assert_int_equal(run(lf_xasprintf("cd '%s' && mkdir -p mixed/signcerts "
		"mixed/keystore && cp msp/signcerts/cert.pem mixed/signcerts/ && "
		"cp other/keystore/priv_sk mixed/keystore/", F.dir)), 0);
	assert_int_equal(lf_identity_load(&id, msp, "Org1MSP", &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "does not belong"));
	assert_null(id.key_pem);
	assert_null(id.cert_pem);
	free(msp);

	/* the error text never carries key material */
	assert_null(strstr(err.msg, "PRIVATE KEY"));

	lf_err_clear(&err);
	msp = lf_path_join(F.dir, "absent");
	assert_int_equal(lf_identity_load(&id, msp, "Org1MSP", &err), LF_ENOTFOUND);
	free(msp);
	lf_identity_clear(&id);
	lf_identity_clear(NULL);
}

/* ---- proposals, checked with ledgerform's declarations and OpenSSL ------- */

static EVP_PKEY *cert_pubkey(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	EVP_PKEY *pk = x ? X509_get_pubkey(x) : NULL;

	X509_free(x);
	BIO_free(bio);
	return pk;
}

static int verifies(EVP_PKEY *pk, ProtobufCBinaryData msg,
		    ProtobufCBinaryData sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
		 EVP_DigestVerify(md, sig.data, sig.len, msg.data, msg.len) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

static int low_s(ProtobufCBinaryData sig)
{
	const unsigned char *p = sig.data;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig.len);
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *half = BN_dup(EC_GROUP_get0_order(g));
	int ok;

	BN_rshift1(half, half);
	ok = es && BN_cmp(ECDSA_SIG_get0_s(es), half) <= 0;
	BN_free(half);
	EC_GROUP_free(g);
	ECDSA_SIG_free(es);
	return ok;
}

/* decode one proposal and check header, tx id, payload and signature */
static void check_one(const struct lf_proposal *p, EVP_PKEY *pk,
		      const char *channel)
{
	Lfpb__SignedProposal *sp = lfpb__signed_proposal__unpack(
		NULL, p->signed_len, p->signed_bytes);
	Lfpb__Proposal *pr;
	Lfpb__Header *h;
	Lfpb__ChannelHeader *ch;
	Lfpb__SignatureHeader *sh;
	struct lf_buf b = LF_BUF_INIT;
	char tx[65];

	assert_non_null(sp);
	assert_true(verifies(pk, sp->proposal_bytes, sp->signature));
	assert_true(low_s(sp->signature));
	pr = lfpb__proposal__unpack(NULL, sp->proposal_bytes.len,
				    sp->proposal_bytes.data);
	assert_non_null(pr);
	h = lfpb__header__unpack(NULL, pr->header.len, pr->header.data);
	assert_non_null(h);
	ch = lfpb__channel_header__unpack(NULL, h->channel_header.len,
					  h->channel_header.data);
	sh = lfpb__signature_header__unpack(NULL, h->signature_header.len,
					    h->signature_header.data);
	assert_non_null(ch);
	assert_non_null(sh);
	assert_int_equal(ch->type, LF_PROPOSAL_ENDORSER_TRANSACTION);
	assert_string_equal(ch->channel_id, channel);
	assert_int_equal(sh->nonce.len, 24);
	assert_int_equal(lf_buf_append(&b, sh->nonce.data, sh->nonce.len), 0);
	assert_int_equal(lf_buf_append(&b, sh->creator.data, sh->creator.len), 0);
	lf_sha256_hex(b.data, b.len, tx);
	assert_string_equal(ch->tx_id, tx);
	assert_string_equal(p->tx_id, tx);
	lf_buf_free(&b);
	lfpb__signature_header__free_unpacked(sh, NULL);
	lfpb__channel_header__free_unpacked(ch, NULL);
	lfpb__header__free_unpacked(h, NULL);
	lfpb__proposal__free_unpacked(pr, NULL);
	lfpb__signed_proposal__free_unpacked(sp, NULL);
}

static void test_peer_proposal_signed(void **state)
{
	const struct lf_bytes args[] = { { "GetChainInfo", 12 }, { "ch1", 3 } };
	struct lf_err err = LF_ERR_INIT;
	EVP_PKEY *pk;
	char first[65] = "";

	(void)state;
	need_signer();
	pk = cert_pubkey(F.id.cert_pem);
	assert_non_null(pk);
	/* 64 signatures: about half need s replaced by n - s, so the low-S
	 * rewrite is exercised and checked (the chance it is not: 2^-64) */
	for (int i = 0; i < 64; i++) {
		struct lf_proposal p;

		assert_int_equal(lf_proposal_new(&p, "ch1", "qscc", args, 2,
						 &F.id, &err), 0);
		check_one(&p, pk, "ch1");
		/* a fresh nonce each time, so a fresh tx id */
		assert_string_not_equal(p.tx_id, first);
		if (i == 0)
			memcpy(first, p.tx_id, sizeof(first));
		lf_proposal_clear(&p);
	}
	EVP_PKEY_free(pk);
}

static void test_peer_proposal_refused(void **state)
{
	struct lf_identity none = { 0 };
	struct lf_identity bad = { 0 };
	struct lf_proposal p;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	need_signer();
	assert_int_equal(lf_proposal_new(&p, "", "cscc", NULL, 0, &none, &err),
			 LF_EINVALID);
	assert_null(p.signed_bytes);
	lf_err_clear(&err);
	assert_int_equal(lf_proposal_new(&p, "", "", NULL, 0, &F.id, &err),
			 LF_EINVALID);
	lf_err_clear(&err);
	/* a key that is no key: refused, and the text is not echoed */
	bad = F.id;
	/* the PEM marker split: the tree holds nothing that looks like a key */
	bad.key_pem = "-----BEGIN " "PRIVATE KEY-----\nnot-a-key\n";
	bad.key_len = strlen(bad.key_pem);
	assert_int_equal(lf_proposal_new(&p, "", "cscc", NULL, 0, &bad, &err),
			 LF_EINVALID);
	assert_null(strstr(err.msg, "not-a-key"));
	assert_null(p.signed_bytes);
}

/* ---- proposals, checked with Fabric's own bindings ----------------------- */

static char *run_out(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	struct lf_buf b = LF_BUF_INIT;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(lf_buf_append(&b, chunk, n), 0);
	assert_int_equal(pclose(f), 0);
	assert_int_equal(lf_buf_append(&b, "", 1), 0);
	return b.data;
}

static void write_proposal(const char *name, const char *channel,
			   const char *cc, const struct lf_bytes *args,
			   size_t n, char tx[65])
{
	struct lf_proposal p;
	struct lf_err err = LF_ERR_INIT;
	char *path = lf_path_join(F.dir, name);

	assert_int_equal(lf_proposal_new(&p, channel, cc, args, n, &F.id, &err), 0);
	assert_int_equal(lf_write_file_atomic(path, p.signed_bytes, p.signed_len,
					      0600, &err), 0);
	memcpy(tx, p.tx_id, 65);
	lf_proposal_clear(&p);
	free(path);
}

static void test_peer_proposal_fabric_decodes(void **state)
{
	/* a JoinChain-like call: a binary argument with NUL bytes */
	static const uint8_t blob[] = { 0x0a, 0x00, 0xff, 0x00, 0x12 };
	const struct lf_bytes join[] = { { "JoinChain", 9 }, { blob, sizeof(blob) } };
	const struct lf_bytes info[] = { { "GetChainInfo", 12 }, { "mychannel", 9 } };
	char tx1[65], tx2[65], *out, *cmd;
	json_t *v, *a, *b;

	(void)state;
	need_node();
	write_proposal("join.pb", "", "cscc", join, 2, tx1);
	write_proposal("info.pb", "mychannel", "qscc", info, 2, tx2);
	cmd = lf_xasprintf("cd '%s/tests/node' && node check-proposal.js proposal "
			   "'%s/join.pb' '%s/info.pb'", LF_SOURCE_DIR, F.dir, F.dir);
	out = run_out(cmd);
	v = json_loads(out, 0, NULL);
	assert_non_null(v);
	a = json_array_get(v, 0);
	b = json_array_get(v, 1);
	assert_int_equal(json_integer_value(json_object_get(a, "type")), 3);
	assert_string_equal(json_string_value(json_object_get(a, "channel_id")), "");
	assert_string_equal(json_string_value(json_object_get(a, "tx_id")), tx1);
	assert_true(json_is_true(json_object_get(a, "tx_id_ok")));
	assert_true(json_is_true(json_object_get(a, "sig_ok")));
	assert_true(json_is_true(json_object_get(a, "low_s")));
	assert_true(json_is_true(json_object_get(a, "canonical")));
	assert_true(json_integer_value(json_object_get(a, "timestamp")) > 1600000000);
	assert_string_equal(json_string_value(json_object_get(a, "mspid")), "Org1MSP");
	assert_string_equal(json_string_value(json_object_get(a, "cert")), F.id.cert_pem);
	assert_int_equal(json_integer_value(json_object_get(a, "nonce_len")), 24);
	assert_string_equal(json_string_value(json_object_get(a, "ext_chaincode")), "cscc");
	assert_string_equal(json_string_value(json_object_get(a, "cc_name")), "cscc");
	assert_int_equal(json_integer_value(json_object_get(a, "cc_type")), 1);
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(a, "args"), 0)), "Sm9pbkNoYWlu");   /* JoinChain */
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(a, "args"), 1)), "CgD/ABI=");       /* blob */
	assert_string_equal(json_string_value(json_object_get(b, "channel_id")),
			    "mychannel");
	assert_string_equal(json_string_value(json_object_get(b, "tx_id")), tx2);
	assert_true(json_is_true(json_object_get(b, "tx_id_ok")));
	assert_true(json_is_true(json_object_get(b, "sig_ok")));
	assert_string_equal(json_string_value(json_object_get(b, "ext_chaincode")), "qscc");
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(b, "args"), 1)), "bXljaGFubmVs");   /* mychannel */
	json_decref(v);
	free(out);
	free(cmd);
}

/* ---- responses ----------------------------------------------------------- */

/* a ProposalResponse encoded by Fabric's bindings */
static uint8_t *fabric_response(int status, const char *msg, const char *hex,
				size_t *len)
{
	char *path = lf_path_join(F.dir, "resp.pb"), *data = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(run(lf_xasprintf("cd '%s/tests/node' && node "
		"check-proposal.js response '%s' %d '%s' %s", LF_SOURCE_DIR, path,
		status, msg, hex ? hex : "")), 0);
	assert_int_equal(lf_read_file(path, &data, len, &err), 0);
	free(path);
	return (uint8_t *)data;
}

static void test_peer_reply_fabric_encoded(void **state)
{
	struct lf_proposal_reply r;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *buf;
	size_t len;

	(void)state;
	need_node();
	buf = fabric_response(200, "", "08071220abcd", &len);
	assert_int_equal(lf_proposal_reply_decode(buf, len, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.message, "");
	assert_int_equal(r.payload_len, 6);
	assert_memory_equal(r.payload, "\x08\x07\x12\x20\xab\xcd", 6);
	lf_proposal_reply_clear(&r);
	free(buf);

	buf = fabric_response(500, "cannot create ledger from genesis block: "
			      "ledger [mychannel] already exists with state "
			      "[ACTIVE]", NULL, &len);
	assert_int_equal(lf_proposal_reply_decode(buf, len, &r, &err), LF_ERROR);
	assert_int_equal(r.status, 500);
	assert_null(r.payload);
	assert_string_equal(err.msg, "peer: status 500: cannot create ledger from "
			    "genesis block: ledger [mychannel] already exists "
			    "with state [ACTIVE]");
	lf_proposal_reply_clear(&r);
	free(buf);
}

/* a ProposalResponse encoded with ledgerform's declarations */
static uint8_t *own_response(int status, const char *msg, size_t *len)
{
	Lfpb__Response r = LFPB__RESPONSE__INIT;
	Lfpb__ProposalResponse pr = LFPB__PROPOSAL_RESPONSE__INIT;

	r.status = status;
	r.message = (char *)msg;
	pr.version = 1;
	pr.response = &r;
	return lf_pb_pack(&pr.base, len);
}

static void test_peer_reply_status_mapping(void **state)
{
	static const struct {
		int status;
		const char *msg;
		int code;
	} cases[] = {
		{ 500, "failed to join", LF_ERROR },
		{ 500, "access denied for [JoinChain][mychannel]: [Failed "
		       "verifying that proposal's creator satisfies local MSP "
		       "principal]", LF_EAUTH },
		{ 403, "forbidden", LF_EAUTH },
		{ 404, "no such chaincode", LF_ENOTFOUND },
		{ 400, "bad args", LF_EINVALID },
		{ 0, "", LF_ERROR },
	};
	struct lf_proposal_reply r;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	for (size_t i = 0; i < LF_ARRAY_LEN(cases); i++) {
		size_t len = 0;
		uint8_t *buf = own_response(cases[i].status, cases[i].msg, &len);
		char want[LF_ERR_MSG_MAX];

		lf_err_clear(&err);
		assert_int_equal(lf_proposal_reply_decode(buf, len, &r, &err),
				 cases[i].code);
		assert_int_equal(err.code, cases[i].code);
		snprintf(want, sizeof(want), "peer: status %d: %s", cases[i].status,
			 *cases[i].msg ? cases[i].msg : "(no message)");
		assert_string_equal(err.msg, want);
		assert_int_equal(r.status, cases[i].status);
		lf_proposal_reply_clear(&r);
		free(buf);
	}
}

static void test_peer_reply_malformed(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x0f, 0x01 };
	Lfpb__ProposalResponse pr = LFPB__PROPOSAL_RESPONSE__INIT;
	struct lf_proposal_reply r;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *buf;
	size_t len = 0;

	(void)state;
	assert_int_equal(lf_proposal_reply_decode(junk, sizeof(junk), &r, &err),
			 LF_EINVALID);
	assert_null(r.message);
	lf_err_clear(&err);
	/* no response in it: not taken for a success */
	pr.version = 1;
	buf = lf_pb_pack(&pr.base, &len);
	assert_int_equal(lf_proposal_reply_decode(buf, len, &r, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "not a proposal response"));
	free(buf);
	lf_err_clear(&err);
	assert_int_equal(lf_proposal_reply_decode(NULL, 0, &r, &err), LF_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_identity_load),
		cmocka_unit_test(test_peer_proposal_signed),
		cmocka_unit_test(test_peer_proposal_refused),
		cmocka_unit_test(test_peer_proposal_fabric_decodes),
		cmocka_unit_test(test_peer_reply_fabric_encoded),
		cmocka_unit_test(test_peer_reply_status_mapping),
		cmocka_unit_test(test_peer_reply_malformed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
