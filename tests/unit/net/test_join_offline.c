/*
 * Offline peer joins without a network (core/net/join_offline.c): for a
 * peer of an `admin: offline` org, apply writes the org's join file
 * (waiting, LF_EPENDING, naming the `ledgerform sign` command) from the
 * admin's certificate alone (the crypto tree has no admin key); the file
 * holds public material only; `ledgerform sign` recognises it, says what
 * is signed, refuses another admin and signs with the right one (the
 * signature verified with OpenSSL); the proposal is cscc JoinChain with
 * the block as its argument, no channel, the admin as creator; a file
 * for another block (the spec changed) is replaced by a new round; the
 * file goes once every peer of the org is joined. The signed proposal
 * is also decoded by Fabric's own bindings (tests/node/check-proposal.js:
 * tx id, signature, low S, canonical bytes), which is left out without
 * node and tests/node's modules. Skips without the openssl CLI (it makes
 * the key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/cc/offline.h"
#include "core/net/join.h"
#include "core/net/lifecycle.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "lfpb/common.pb-c.h"
#include "lfpb/proposal.pb-c.h"

#define ORG2 "crypto/peerOrganizations/org2.example.com"
#define SIGNCERTS ORG2 "/users/Admin@org2.example.com/msp/signcerts"

/* %s: the test's directory (the admin's certificate, home/msp) */
static const char SPEC[] =
	"name: jo\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers:\n"
	"      hosts:\n"
	"        - {name: orderer0, address: 127.0.0.1}\n"
	"  - name: org2\n"
	"    admin: offline\n"
	"    admin_cert: %s/home/msp/signcerts/cert.pem\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1}\n"
	"        - {name: peer1, address: 127.0.0.1}\n"
	"channels:\n"
	"  - {name: ch, orgs: [org2]}\n";

static const char BLOCK[] = "the channel's genesis block";

static struct {
	char dir[64];
	const char *why;
	char *workdir, *crypto, *file;
	struct lf_spec *spec;
	struct lf_rset *rs;
	struct lf_apply_env env;
	const struct lf_resource *join0, *join1, *node0;
} F;

static char *at(const char *rel)
{
	return lf_path_join(F.dir, rel);
}

static int setup(void **state)
{
	struct lf_diags d = { 0 };
	char *cmd, *spec;

	(void)state;
	snprintf(F.dir, sizeof(F.dir), "/tmp/lf-joinoff-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	/* the admin's machine (home/msp) and the tree's certificate only;
	 * another admin (other/msp) */
	cmd = lf_xasprintf(
		"cd '%s' && for m in home other; do mkdir -p $m/msp/signcerts $m/msp/keystore && "
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-days 2 -keyout $m/msp/keystore/priv_sk -out $m/msp/signcerts/cert.pem "
		"-subj /CN=Admin@org2.example.com >/dev/null 2>&1 || exit 1; done && "
		"mkdir -p '" SIGNCERTS "' && cp home/msp/signcerts/cert.pem "
		"'" SIGNCERTS "/Admin@org2.example.com-cert.pem'", F.dir);
	if (system(cmd) != 0)
		F.why = "the openssl CLI could not make a test key";
	free(cmd);
	spec = lf_xasprintf(SPEC, F.dir);
	if (lf_spec_load_buffer(&F.spec, "jo.yaml", spec, strlen(spec), &d) != 0) {
		lf_diags_print(&d, stdout);
		fail_msg("spec does not load");
	}
	free(spec);
	lf_diags_free(&d);
	F.workdir = at("work");
	F.crypto = at("crypto");
	F.file = at("work/joins/join.ch.org2.json");
	assert_int_equal(lf_rset_new(&F.rs), 0);
	lf_rset_add(F.rs, "node.org2.peer0", json_pack(
		"{s:s, s:s, s:s, s:s}", "org", "org2", "domain", "org2.example.com",
		"mspid", "Org2MSP", "hostname", "peer0.org2.example.com"));
	lf_rset_add(F.rs, "join.ch.org2.peer0", json_pack(
		"{s:s, s:s, s:s, s:s}", "channel", "ch", "kind", "peer", "node",
		"node.org2.peer0", "org", "org2"));
	lf_rset_add(F.rs, "join.ch.org2.peer1", json_pack(
		"{s:s, s:s, s:s, s:s}", "channel", "ch", "kind", "peer", "node",
		"node.org2.peer1", "org", "org2"));
	F.node0 = lf_rset_get(F.rs, "node.org2.peer0");
	F.join0 = lf_rset_get(F.rs, "join.ch.org2.peer0");
	F.join1 = lf_rset_get(F.rs, "join.ch.org2.peer1");
	F.env.spec = F.spec;
	F.env.workdir = F.workdir;
	F.env.crypto_dir = F.crypto;
	F.env.desired = F.rs;
	return 0;
}

static int teardown(void **state)
{
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	lf_rset_free(F.rs);
	lf_spec_free(F.spec);
	free(F.workdir);
	free(F.crypto);
	free(F.file);
	lf_rmtree(F.dir, &err);
	return 0;
}

static json_t *load_file(void)
{
	json_t *j = json_load_file(F.file, 0, NULL);

	assert_non_null(j);
	return j;
}

static const char *js(const json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

/* the join as apply runs it before the file is signed: no peer is asked */
static void waits(const void *block, size_t len)
{
	struct lf_err err = LF_ERR_INIT;
	bool already = true;

	assert_int_equal(lf_join_offline(&F.env, F.join0, F.node0, NULL, block, len,
					 &already, &err), LF_EPENDING);
	assert_non_null(strstr(err.msg, "waiting for signatures: Org2MSP's admin signs "
			       "offline, the join of org 'org2''s peers to channel 'ch'"));
	assert_non_null(strstr(err.msg, "run `ledgerform sign "));
	assert_non_null(strstr(err.msg, F.file));
}

/* the proposal: cscc JoinChain(block), no channel, the admin as creator */
static void check_proposal(const json_t *j, const char *cert)
{
	unsigned char *b = NULL;
	size_t n = 0;
	Lfpb__Proposal *p;
	Lfpb__Header *h;
	Lfpb__ChannelHeader *ch;
	Lfpb__SignatureHeader *sh;
	Lfpb__SerializedIdentity *id;
	Lfpb__ChaincodeProposalPayload *pl;
	Lfpb__ChaincodeInvocationSpec *cis;

	assert_int_equal(lf_cc_unb64(js(j, "sign"), &b, &n), 0);
	p = lf_pb_unpack(&lfpb__proposal__descriptor, n, b, NULL);
	assert_non_null(p);
	h = lf_pb_unpack(&lfpb__header__descriptor, p->header.len, p->header.data, NULL);
	assert_non_null(h);
	ch = lf_pb_unpack(&lfpb__channel_header__descriptor, h->channel_header.len,
			  h->channel_header.data, NULL);
	sh = lf_pb_unpack(&lfpb__signature_header__descriptor, h->signature_header.len,
			  h->signature_header.data, NULL);
	assert_non_null(ch);
	assert_non_null(sh);
	assert_string_equal(ch->channel_id, "");
	assert_string_equal(ch->tx_id, js(j, "tx_id"));
	id = lf_pb_unpack(&lfpb__serialized_identity__descriptor, sh->creator.len,
			  sh->creator.data, NULL);
	assert_non_null(id);
	assert_string_equal(id->mspid, "Org2MSP");
	assert_int_equal(id->id_bytes.len, strlen(cert));
	assert_memory_equal(id->id_bytes.data, cert, strlen(cert));
	pl = lf_pb_unpack(&lfpb__chaincode_proposal_payload__descriptor, p->payload.len,
			  p->payload.data, NULL);
	assert_non_null(pl);
	cis = lf_pb_unpack(&lfpb__chaincode_invocation_spec__descriptor, pl->input.len,
			   pl->input.data, NULL);
	assert_non_null(cis);
	assert_string_equal(cis->chaincode_spec->chaincode_id->name, "cscc");
	assert_int_equal(cis->chaincode_spec->input->n_args, 2);
	assert_memory_equal(cis->chaincode_spec->input->args[0].data, "JoinChain", 9);
	assert_int_equal(cis->chaincode_spec->input->args[1].len, sizeof(BLOCK));
	assert_memory_equal(cis->chaincode_spec->input->args[1].data, BLOCK, sizeof(BLOCK));
	lfpb__chaincode_invocation_spec__free_unpacked(cis, NULL);
	lfpb__chaincode_proposal_payload__free_unpacked(pl, NULL);
	lfpb__serialized_identity__free_unpacked(id, NULL);
	lfpb__signature_header__free_unpacked(sh, NULL);
	lfpb__channel_header__free_unpacked(ch, NULL);
	lfpb__header__free_unpacked(h, NULL);
	lfpb__proposal__free_unpacked(p, NULL);
	free(b);
}

static bool verify(const char *cert_pem, const json_t *j)
{
	unsigned char *data = NULL, *sig = NULL;
	size_t len = 0, slen = 0;
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	bool ok = lf_cc_unb64(js(j, "sign"), &data, &len) == 0 &&
		  lf_cc_unb64(js(j, "signature"), &sig, &slen) == 0 && k &&
		  EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k) == 1 &&
		  EVP_DigestVerify(m, sig, slen, data, len) == 1;

	EVP_MD_CTX_free(m);
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(b);
	free(sig);
	free(data);
	return ok;
}

/* the SignedProposal apply sends, from the signed file, decoded by
 * Fabric's bindings */
static void fabric_decodes(const json_t *j, const char *cert)
{
	unsigned char *prop = NULL, *sig = NULL;
	uint8_t *sp = NULL;
	size_t plen = 0, slen = 0, splen = 0, n = 0;
	struct lf_err err = LF_ERR_INIT;
	char *pb = at("signed.pb"), *cmd, *out = NULL;
	json_t *v, *a;
	FILE *f;

	if (system("node --version >/dev/null 2>&1") != 0 ||
	    !lf_path_exists(LF_SOURCE_DIR "/tests/node/node_modules/@hyperledger/"
			    "fabric-protos/package.json")) {
		print_message("node or tests/node's modules are missing: the proposal "
			      "is not decoded by Fabric's bindings\n");
		free(pb);
		return;
	}
	assert_int_equal(lf_cc_unb64(js(j, "sign"), &prop, &plen), 0);
	assert_int_equal(lf_cc_unb64(js(j, "signature"), &sig, &slen), 0);
	assert_int_equal(lf_lc_signed_proposal(prop, plen, sig, slen, &sp, &splen, &err), 0);
	assert_int_equal(lf_write_file_atomic(pb, sp, splen, 0644, &err), 0);
	cmd = lf_xasprintf("cd '%s/tests/node' && node check-proposal.js proposal '%s'",
			   LF_SOURCE_DIR, pb);
	f = popen(cmd, "r");
	assert_non_null(f);
	out = lf_xcalloc(1, 1 << 20);
	n = fread(out, 1, (1 << 20) - 1, f);
	assert_int_equal(pclose(f), 0);
	assert_true(n > 0);
	v = json_loads(out, 0, NULL);
	assert_non_null(v);
	a = json_array_get(v, 0);
	assert_string_equal(json_string_value(json_object_get(a, "channel_id")), "");
	assert_string_equal(json_string_value(json_object_get(a, "tx_id")), js(j, "tx_id"));
	assert_true(json_is_true(json_object_get(a, "tx_id_ok")));
	assert_true(json_is_true(json_object_get(a, "sig_ok")));
	assert_true(json_is_true(json_object_get(a, "low_s")));
	assert_true(json_is_true(json_object_get(a, "canonical")));
	assert_string_equal(json_string_value(json_object_get(a, "mspid")), "Org2MSP");
	assert_string_equal(json_string_value(json_object_get(a, "cert")), cert);
	assert_string_equal(json_string_value(json_object_get(a, "cc_name")), "cscc");
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(a, "args"), 0)), "Sm9pbkNoYWlu");   /* JoinChain */
	json_decref(v);
	free(out);
	free(cmd);
	free(pb);
	free(sp);
	free(sig);
	free(prop);
}

/* `ledgerform sign FILE --msp MSP` as the command runs it; *said: what it
 * printed */
static int sign(const char *msp_rel, char **said, struct lf_err *err)
{
	char *data = NULL, *msp = at(msp_rel), *out = at("sign.out");
	size_t len = 0, n = 0;
	int saved, fd, rc;

	assert_int_equal(lf_read_file(F.file, &data, &len, err), 0);
	assert_true(lf_cc_sign_handles(data, len));
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	rc = lf_cc_sign_file(F.file, msp, data, len, err);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(lf_read_file(out, said, &n, err), 0);
	free(out);
	free(msp);
	free(data);
	return rc;
}

static void test_join_offline_file(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	char *cert = NULL, *text = NULL, *said = NULL, *p;
	size_t n;
	struct stat st;
	json_t *j;

	(void)state;
	if (F.why) {
		print_message("%s: skipping\n", F.why);
		skip();
	}
	p = at(SIGNCERTS "/Admin@org2.example.com-cert.pem");
	assert_int_equal(lf_read_file(p, &cert, &n, &err), 0);
	free(p);

	/* round 1: the file, for the certificate; public material only */
	waits(BLOCK, sizeof(BLOCK));
	assert_int_equal(stat(F.file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(lf_read_file(F.file, &text, &n, &err), 0);
	assert_null(strstr(text, "PRIVATE KEY"));
	free(text);
	j = load_file();
	assert_string_equal(js(j, "ledgerform"), LF_JOIN_SIGN_KIND);
	assert_string_equal(js(j, "step"), "join");
	assert_int_equal(json_integer_value(json_object_get(j, "rounds")), 1);
	assert_string_equal(js(j, "org"), "org2");
	assert_string_equal(js(j, "channel"), "ch");
	assert_string_equal(js(j, "creator"), cert);
	assert_int_equal(json_array_size(json_object_get(j, "peers")), 2);
	assert_null(json_object_get(j, "signature"));
	check_proposal(j, cert);
	json_decref(j);

	/* another admin: refused, the file as it was */
	text = NULL;
	assert_int_equal(lf_read_file(F.file, &text, &n, &err), 0);
	assert_int_equal(sign("other/msp", &said, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "is not the admin the file was made for"));
	free(said);
	p = NULL;
	assert_int_equal(lf_read_file(F.file, &p, &n, &err), 0);
	assert_string_equal(p, text);
	free(p);
	free(text);

	/* the admin: says what is signed; the signature verifies */
	assert_int_equal(sign("home/msp", &said, &err), 0);
	assert_non_null(strstr(said, "You are signing the join of peer peer0.org2.example.com, "
			       "peer1.org2.example.com (org org2, Org2MSP) to channel ch (one "
			       "round, the same signed proposal for each peer of the org)"));
	assert_null(strstr(said, "round 2"));
	free(said);
	j = load_file();
	assert_true(verify(cert, j));
	fabric_decodes(j, cert);
	json_decref(j);

	/* another block (the channel made again): a new round, unsigned */
	waits("another block", 13);
	j = load_file();
	assert_null(json_object_get(j, "signature"));
	json_decref(j);
	free(cert);
}

/* the file goes with the org's last unjoined peer, not before */
static void test_join_offline_done(void **state)
{
	struct lf_resource *j1 = (struct lf_resource *)F.join1;

	(void)state;
	if (F.why)
		skip();
	waits(BLOCK, sizeof(BLOCK));
	lf_join_offline_done(&F.env, F.join0);
	assert_true(lf_path_exists(F.file));     /* peer1 is not joined */
	j1->outputs = json_pack("{s:b}", "joined", 1);
	lf_join_offline_done(&F.env, F.join0);
	assert_false(lf_path_exists(F.file));
	json_decref(j1->outputs);
	j1->outputs = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_offline_file),
		cmocka_unit_test(test_join_offline_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
