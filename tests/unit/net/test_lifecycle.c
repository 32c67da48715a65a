/*
 * core/net/lifecycle without a network: the approve / commit arguments,
 * the split offline-signing steps (unsigned proposal, signature attached,
 * transaction payload from endorsed responses, envelope), decoded by
 * Fabric's own protobuf bindings (tests/node/check-lifecycle.js) with the
 * signatures verified by node's crypto; refusals of bad input.
 * The Fabric-bindings cases skip without node and tests/node's modules;
 * the signing cases without the openssl CLI (it makes the test key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/fabric/block/blk.h"
#include "core/net/lifecycle.h"
#include "core/util/util.h"
#include "lfpb/proposal.pb-c.h"

static struct {
	char dir[64];
	const char *why;      /* why signing cases skip */
	const char *no_node;  /* why the Fabric-bindings cases skip */
	struct lf_identity id;
} F;

/* CollectionConfigPackage{config: [{static_collection_config: {name:
 * "col1"}}]}, encoded by hand (field 1 at each level) */
static const uint8_t COLLECTIONS[] = { 0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x04,
				       'c', 'o', 'l', '1' };

static int group_setup(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	char *p;
	size_t n;

	(void)state;
	snprintf(F.dir, sizeof(F.dir), "/tmp/lf-lc-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	p = lf_xasprintf("cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
			 "ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout "
			 "key.pem -out cert.pem -subj /CN=Admin@org2.example.com "
			 ">/dev/null 2>&1", F.dir);
	if (system(p) != 0)
		F.why = "the openssl CLI could not make a test key";
	free(p);
	if (!F.why) {
		F.id.mspid = lf_xstrdup("Org2MSP");
		p = lf_path_join(F.dir, "cert.pem");
		assert_int_equal(lf_read_file(p, &F.id.cert_pem, &F.id.cert_len, &err), 0);
		free(p);
		p = lf_path_join(F.dir, "key.pem");
		assert_int_equal(lf_read_file(p, &F.id.key_pem, &n, &err), 0);
		F.id.key_len = n;
		free(p);
	}
	if (system("node --version >/dev/null 2>&1") != 0)
		F.no_node = "node is not installed";
	else if (!lf_path_exists(LF_SOURCE_DIR "/tests/node/node_modules/"
				 "@hyperledger/fabric-protos/package.json"))
		F.no_node = "@hyperledger/fabric-protos is missing (run "
			    ".ci/bootstrap.sh --with-tests)";
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lf_identity_clear(&F.id);
	lf_rmtree(F.dir, NULL);
	return 0;
}

static void need(bool node)
{
	if (F.why || (node && F.no_node)) {
		printf("skipping: %s\n", F.why ? F.why : F.no_node);
		skip();
	}
}

/* write bytes to DIR/name, decode them with check-lifecycle.js MODE */
static json_t *fabric_decode(const char *mode, const char *name,
			     const uint8_t *data, size_t len)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_buf b = LF_BUF_INIT;
	char *path = lf_path_join(F.dir, name), chunk[4096], *cmd;
	json_t *v;
	FILE *f;
	size_t n;

	assert_int_equal(lf_write_file_atomic(path, data, len, 0600, &err), 0);
	cmd = lf_xasprintf("cd '%s/tests/node' && node check-lifecycle.js %s '%s'",
			   LF_SOURCE_DIR, mode, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lf_buf_append(&b, chunk, n);
	assert_int_equal(pclose(f), 0);
	lf_buf_append(&b, "", 1);
	v = json_loads(b.data, 0, NULL);
	assert_non_null(v);
	lf_buf_free(&b);
	free(cmd);
	free(path);
	return v;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	assert_non_null(s);
	return s;
}

/* the approval of a definition with every field set, signed in two
 * rounds: the unsigned proposal for a certificate, the signature made
 * apart, attached */
static void test_lc_approve_proposal(void **state)
{
	struct lf_lc_def d = { .name = "basic", .version = "1.0", .sequence = 3,
			       .collections = COLLECTIONS,
			       .collections_len = sizeof(COLLECTIONS),
			       .init_required = true,
			       .package_id = "basic_1:00ff" };
	struct lf_lc_proposal p;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *sig = NULL, *sp = NULL;
	size_t sig_len = 0, sp_len = 0;
	json_t *v, *def, *pol;

	(void)state;
	need(true);
	assert_int_equal(lf_lc_policy_signature("OR('Org1MSP.peer','Org2MSP.member')",
		(uint8_t **)&d.validation_parameter, &d.validation_parameter_len,
		&err), 0);
	/* only the certificate: no key is needed for round one */
	assert_int_equal(lf_lc_approve_proposal(&p, "mychannel", &d, "Org2MSP",
			 F.id.cert_pem, F.id.cert_len, &err), 0);
	assert_int_equal(strlen(p.tx_id), 64);
	/* the signature-less SignedProposal decodes, with no signature */
	v = fabric_decode("proposal", "unsigned.pb", p.unsigned_sp, p.unsigned_sp_len);
	assert_true(json_is_null(json_object_get(v, "signature_ok")));
	json_decref(v);
	/* round two: signed elsewhere (here: with the key), attached */
	assert_int_equal(lf_blk_sign_pem(F.id.key_pem, F.id.key_len,
			 p.proposal_bytes, p.proposal_len, &sig, &sig_len, &err), 0);
	assert_int_equal(lf_lc_signed_proposal(p.proposal_bytes, p.proposal_len,
			 sig, sig_len, &sp, &sp_len, &err), 0);
	v = fabric_decode("proposal", "approve.pb", sp, sp_len);
	assert_true(json_is_true(json_object_get(v, "signature_ok")));
	assert_true(json_is_true(json_object_get(v, "tx_id_ok")));
	assert_string_equal(jstr(v, "tx_id"), p.tx_id);
	assert_int_equal(json_integer_value(json_object_get(v, "type")), 3);
	assert_string_equal(jstr(v, "channel_id"), "mychannel");
	assert_string_equal(jstr(v, "mspid"), "Org2MSP");
	assert_string_equal(jstr(v, "chaincode"), "_lifecycle");
	assert_string_equal(jstr(v, "cc"), "_lifecycle");
	assert_string_equal(jstr(v, "fn"), "ApproveChaincodeDefinitionForMyOrg");
	assert_int_equal(json_integer_value(json_object_get(v, "nargs")), 2);
	def = json_object_get(v, "def");
	assert_int_equal(json_integer_value(json_object_get(def, "sequence")), 3);
	assert_string_equal(jstr(def, "name"), "basic");
	assert_string_equal(jstr(def, "version"), "1.0");
	assert_string_equal(jstr(def, "endorsement_plugin"), "escc");
	assert_string_equal(jstr(def, "validation_plugin"), "vscc");
	assert_string_equal(jstr(def, "package_id"), "basic_1:00ff");
	assert_true(json_is_true(json_object_get(def, "init_required")));
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(def, "collections"), 0)), "col1");
	pol = json_object_get(def, "policy");
	/* MSPRole.Role: MEMBER 0, PEER 3 */
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(pol, "signature"), 0)), "Org1MSP.3");
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(pol, "signature"), 1)), "Org2MSP.0");
	assert_int_equal(json_integer_value(json_object_get(pol, "n")), 1);
	json_decref(v);
	free(sig);
	free(sp);
	free((void *)d.validation_parameter);
	lf_lc_proposal_clear(&p);
}

/* a ProposalResponse as a peer sends it: 200, the payload, an endorsement */
static uint8_t *fake_response(const char *payload, const char *endorser,
			      int status, size_t *len)
{
	Lfpb__ProposalResponse pr = LFPB__PROPOSAL_RESPONSE__INIT;
	Lfpb__Response r = LFPB__RESPONSE__INIT;
	Lfpb__Endorsement e = LFPB__ENDORSEMENT__INIT;

	r.status = status;
	r.message = "";
	pr.version = 1;
	pr.response = &r;
	pr.payload.data = (uint8_t *)payload;
	pr.payload.len = strlen(payload);
	if (endorser) {
		e.endorser.data = (uint8_t *)endorser;
		e.endorser.len = strlen(endorser);
		e.signature.data = (uint8_t *)"sig";
		e.signature.len = 3;
		pr.endorsement = &e;
	}
	return lf_pb_pack(&pr.base, len);
}

static void endorsed_add(struct lf_lc_endorsed *e, uint8_t *resp, size_t len)
{
	e->responses = lf_xrealloc(e->responses, (e->n + 1) * sizeof(*e->responses));
	e->lens = lf_xrealloc(e->lens, (e->n + 1) * sizeof(*e->lens));
	e->responses[e->n] = resp;
	e->lens[e->n++] = len;
}

/* a commit endorsed by two peers, assembled into a transaction whose
 * payload is signed apart: Fabric's bindings see one action, both
 * endorsements, the proposal's header, a valid signature */
static void test_lc_commit_envelope(void **state)
{
	struct lf_lc_def d = { .name = "basic", .version = "2", .sequence = 2 };
	struct lf_lc_proposal p;
	struct lf_lc_endorsed e = { 0 };
	struct lf_err err = LF_ERR_INIT;
	uint8_t *pl = NULL, *sig = NULL, *env = NULL, *r;
	size_t pl_len, sig_len, env_len, n;
	json_t *v, *def;

	(void)state;
	need(true);
	assert_int_equal(lf_lc_policy_ref("/Channel/Application/Endorsement",
		(uint8_t **)&d.validation_parameter, &d.validation_parameter_len,
		&err), 0);
	assert_int_equal(lf_lc_commit_proposal(&p, "mychannel", &d, "Org2MSP",
			 F.id.cert_pem, F.id.cert_len, &err), 0);
	r = fake_response("rwset", "peerA", 200, &n);
	endorsed_add(&e, r, n);
	r = fake_response("rwset", "peerB", 200, &n);
	endorsed_add(&e, r, n);
	assert_int_equal(lf_lc_tx_payload(p.proposal_bytes, p.proposal_len, &e,
					  &pl, &pl_len, &err), 0);
	assert_int_equal(lf_blk_sign_pem(F.id.key_pem, F.id.key_len, pl, pl_len,
					 &sig, &sig_len, &err), 0);
	assert_int_equal(lf_lc_tx_envelope(pl, pl_len, sig, sig_len, &env,
					   &env_len, &err), 0);
	v = fabric_decode("envelope", "commit.env", env, env_len);
	assert_true(json_is_true(json_object_get(v, "signature_ok")));
	assert_true(json_is_true(json_object_get(v, "tx_id_ok")));
	assert_string_equal(jstr(v, "tx_id"), p.tx_id);
	assert_true(json_is_true(json_object_get(v, "action_header_is_signature_header")));
	assert_int_equal(json_integer_value(json_object_get(v, "actions")), 1);
	assert_string_equal(jstr(v, "response_payload"), "rwset");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "endorsers"), 0)),
			    "peerA");
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "endorsers"), 1)),
			    "peerB");
	assert_string_equal(jstr(v, "fn"), "CommitChaincodeDefinition");
	assert_int_equal(json_integer_value(json_object_get(v, "transient")), 0);
	def = json_object_get(v, "def");
	assert_string_equal(jstr(def, "version"), "2");
	assert_string_equal(jstr(json_object_get(def, "policy"), "reference"),
			    "/Channel/Application/Endorsement");
	json_decref(v);
	free(pl);
	free(sig);
	free(env);
	lf_lc_endorsed_clear(&e);
	free((void *)d.validation_parameter);
	lf_lc_proposal_clear(&p);
}

/* responses that cannot make a transaction are refused, saying why */
static void test_lc_tx_refused(void **state)
{
	struct lf_lc_def d = { .name = "basic", .version = "2", .sequence = 2 };
	struct lf_lc_proposal p;
	struct lf_lc_endorsed e = { 0 }, none = { 0 };
	struct lf_err err = LF_ERR_INIT;
	uint8_t *pl = NULL, *r;
	size_t pl_len = 0, n;

	(void)state;
	need(false);
	assert_int_equal(lf_lc_commit_proposal(&p, "mychannel", &d, "Org2MSP",
			 F.id.cert_pem, F.id.cert_len, &err), 0);
	assert_int_equal(lf_lc_tx_payload(p.proposal_bytes, p.proposal_len, &none,
					  &pl, &pl_len, &err), LF_EINVALID);
	lf_err_clear(&err);
	r = fake_response("rwset", "peerA", 200, &n);
	endorsed_add(&e, r, n);
	r = fake_response("other", "peerB", 200, &n);
	endorsed_add(&e, r, n);
	assert_int_equal(lf_lc_tx_payload(p.proposal_bytes, p.proposal_len, &e,
					  &pl, &pl_len, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "differs"));
	assert_null(pl);
	lf_err_clear(&err);
	lf_lc_endorsed_clear(&e);
	r = fake_response("rwset", NULL, 200, &n);
	endorsed_add(&e, r, n);
	assert_int_equal(lf_lc_tx_payload(p.proposal_bytes, p.proposal_len, &e,
					  &pl, &pl_len, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "no endorsement"));
	lf_err_clear(&err);
	lf_lc_endorsed_clear(&e);
	r = fake_response("rwset", "peerA", 500, &n);
	endorsed_add(&e, r, n);
	assert_int_equal(lf_lc_tx_payload(p.proposal_bytes, p.proposal_len, &e,
					  &pl, &pl_len, &err), LF_ERROR);
	lf_err_clear(&err);
	lf_lc_endorsed_clear(&e);
	assert_int_equal(lf_lc_tx_envelope(NULL, 0, NULL, 0, &pl, &pl_len, &err),
			 LF_EINVALID);
	lf_lc_proposal_clear(&p);
}

static void test_lc_args_refused(void **state)
{
	struct lf_lc_def d = { .name = "basic", .version = "1", .sequence = 0 };
	struct lf_lc_proposal p;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(lf_lc_approve_args(&d, &out, &len, &err), LF_EINVALID);
	assert_null(out);
	lf_err_clear(&err);
	d.sequence = 1;
	d.version = NULL;
	assert_int_equal(lf_lc_commit_args(&d, &out, &len, &err), LF_EINVALID);
	lf_err_clear(&err);
	d.version = "1";
	assert_int_equal(lf_lc_approve_proposal(&p, "", &d, "Org1MSP", "cert", 4,
						&err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "needs a channel"));
	lf_err_clear(&err);
	assert_int_equal(lf_lc_approve_proposal(&p, "ch", &d, "Org1MSP", NULL, 0,
						&err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(lf_lc_policy_ref("Endorsement", &out, &len, &err),
			 LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(lf_lc_policy_signature("OR('Org1MSP.peer'", &out, &len,
						&err), LF_EINVALID);
	assert_null(out);
	lf_err_clear(&err);
	assert_string_equal(lf_lc_tx_code_name(10), "ENDORSEMENT_POLICY_FAILURE");
	assert_string_equal(lf_lc_tx_code_name(11), "MVCC_READ_CONFLICT");
	assert_string_equal(lf_lc_tx_code_name(255), "INVALID_OTHER_REASON");
	assert_string_equal(lf_lc_tx_code_name(77), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lc_approve_proposal),
		cmocka_unit_test(test_lc_commit_envelope),
		cmocka_unit_test(test_lc_tx_refused),
		cmocka_unit_test(test_lc_args_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
