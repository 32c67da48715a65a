/*
 * Genesis blocks rendered by core/fabric/block, decoded by Fabric's own
 * protobuf bindings (tests/node/decode.js) and by lf_block_inspect_json,
 * and compared field by field with what the spec asked for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "core/fabric/block/block.h"
#include "core/util/util.h"
#include "tests/unit/block/fixture.h"
#include "core/util/ctx.h"

/* the process's context, made again from the environment the test set */
static struct lf_ctx test_ctx;

static void ctx_reload(void)
{
	lf_ctx_clear(&test_ctx);
	assert_int_equal(lf_ctx_from_env(&test_ctx, NULL), 0);
	lf_ctx_install(&test_ctx);
}

static char *render(struct fx *f, const char *name)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk = NULL;
	size_t len = 0;
	char *path = lf_xasprintf("%s/%s", f->dir, name);
	int rc = lf_block_genesis(&f->spec, "trade", f->crypto, &blk, &len, &err);

	if (rc)
		fail_msg("lf_block_genesis: %s", err.msg);
	assert_int_equal(lf_write_file_atomic(path, blk, len, 0644, &err), 0);
	free(blk);
	return path;
}

static void assert_file_eq(const char *got, struct fx *f, int org,
			   const char *rel)
{
	char *p = fx_org_file(f, org, rel), *want = fx_slurp(p);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
	free(p);
}

static void check_org(json_t *app, struct fx *f, int i)
{
	char key[160], rel[512];
	const struct lf_org *o = &f->orgs[i];
	json_t *g;

	snprintf(key, sizeof(key), "groups/%s", o->mspid);
	g = fx_get(app, key);
	assert_non_null(g);
	assert_string_equal(fx_str(g, "values/MSP/value/name"), o->mspid);
	snprintf(rel, sizeof(rel), "msp/cacerts/ca.%s-cert.pem", o->domain);
	assert_file_eq(fx_str(g, "values/MSP/value/root_certs/0"), f, i, rel);
	assert_int_equal(json_array_size(fx_get(g, "values/MSP/value/root_certs")), 1);
	snprintf(rel, sizeof(rel), "msp/tlscacerts/tlsca.%s-cert.pem", o->domain);
	assert_file_eq(fx_str(g, "values/MSP/value/tls_root_certs/0"), f, i, rel);
	assert_true(json_is_true(fx_get(g, "values/MSP/value/node_ous/enable")));
	assert_string_equal(fx_str(g, "values/MSP/value/node_ous/admin/ou"), "admin");
	assert_string_equal(fx_str(g, "values/MSP/value/crypto_config/signature_hash_family"), "SHA2");
	assert_string_equal(fx_str(g, "values/AnchorPeers/value/0/host"), f->hosts[i][0]);
	assert_int_equal(json_integer_value(fx_get(g, "values/AnchorPeers/value/0/port")), 7051);
	snprintf(key, sizeof(key), "OutOf(1, '%s.admin')", o->mspid);
	assert_string_equal(fx_str(g, "policies/Admins/policy/text"), key);
	snprintf(key, sizeof(key), "OutOf(1, '%s.member')", o->mspid);
	assert_string_equal(fx_str(g, "policies/Endorsement/policy/text"), key);
	assert_string_equal(fx_str(g, "mod_policy"), "Admins");
}

static void check_raft(json_t *ord, struct fx *f)
{
	json_t *cons = fx_get(ord, "values/ConsensusType/value/metadata/consenters");
	char path[64], rel[512];

	assert_string_equal(fx_str(ord, "values/ConsensusType/value/type"), "etcdraft");
	assert_int_equal(json_integer_value(fx_get(ord, "values/ConsensusType/value/state")), 0);
	assert_int_equal(json_array_size(cons), 3);
	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "%d/host", k);
		assert_string_equal(fx_str(cons, path), f->hosts[0][k]);
		snprintf(path, sizeof(path), "%d/port", k);
		assert_int_equal(json_integer_value(fx_get(cons, path)), 7050 + k);
		snprintf(rel, sizeof(rel), "orderers/%s/tls/server.crt", f->hosts[0][k]);
		snprintf(path, sizeof(path), "%d/server_tls_cert", k);
		assert_file_eq(fx_str(cons, path), f, 0, rel);
		snprintf(path, sizeof(path), "%d/client_tls_cert", k);
		assert_file_eq(fx_str(cons, path), f, 0, rel);
	}
	assert_string_equal(fx_str(ord, "values/ConsensusType/value/metadata/options/tickInterval"), "500ms");
	assert_int_equal(json_integer_value(fx_get(ord, "values/ConsensusType/value/metadata/options/snapshotIntervalSize")), 16777216);
}

static void test_genesis_etcdraft_decoded_by_fabric(void **state)
{
	struct fx *f = *state;
	char *path = render(f, "trade.block");
	json_t *j, *env, *root, *app, *ord;

	fx_free_on_skip(path);
	j = fx_decode_or_skip(path, "block");

	assert_string_equal(fx_str(j, "kind"), "block");
	/* Fabric's bindings re-encode every level to the very same bytes */
	assert_true(json_is_true(fx_get(j, "canonical")));
	assert_true(json_is_true(fx_get(j, "envelopes/0/canonical")));
	assert_int_equal(json_integer_value(fx_get(j, "number")), 0);
	assert_string_equal(fx_str(j, "data_hash"), fx_str(j, "computed_data_hash"));
	assert_string_equal(fx_str(j, "previous_hash"), "");
	assert_int_equal(json_array_size(fx_get(j, "metadata")), 5);
	assert_string_equal(fx_str(j, "metadata/0"), "CgIKAA==");
	for (int i = 1; i < 5; i++)
		assert_string_equal(json_string_value(json_array_get(fx_get(j, "metadata"), (size_t)i)), "");
	env = fx_get(j, "envelopes/0");
	assert_int_equal(json_array_size(fx_get(j, "envelopes")), 1);
	assert_string_equal(fx_str(env, "channel_header/channel_id"), "trade");
	assert_int_equal(json_integer_value(fx_get(env, "channel_header/type")), 1);
	assert_int_equal(json_integer_value(fx_get(env, "channel_header/version")), 1);
	assert_int_equal(strlen(fx_str(env, "channel_header/tx_id")), 64);
	assert_int_equal(json_integer_value(fx_get(env, "signature_header/nonce_len")), 24);
	assert_int_equal(json_integer_value(fx_get(env, "config/sequence")), 0);
	root = fx_get(env, "config/channel_group");
	assert_string_equal(fx_str(root, "mod_policy"), "Admins");
	assert_string_equal(fx_str(root, "values/HashingAlgorithm/value"), "SHA256");
	assert_int_equal(json_integer_value(fx_get(root, "values/BlockDataHashingStructure/value")), 4294967295LL);
	assert_string_equal(fx_str(root, "values/Capabilities/value/0"), "V2_0");
	assert_string_equal(fx_str(root, "policies/Admins/policy/text"), "MAJORITY Admins");
	assert_string_equal(fx_str(root, "policies/Readers/policy/text"), "ANY Readers");
	assert_string_equal(fx_str(root, "policies/Writers/policy/text"), "ANY Writers");
	app = fx_get(root, "groups/Application");
	assert_int_equal(json_object_size(fx_get(app, "groups")), 3);
	for (int i = 1; i <= 3; i++)
		check_org(app, f, i);
	assert_null(fx_get(app, "groups/RetailMSP"));
	assert_string_equal(fx_str(app, "values/Capabilities/value/0"), "V2_5");
	assert_string_equal(fx_str(app, "policies/LifecycleEndorsement/policy/text"), "MAJORITY Endorsement");
	assert_string_equal(fx_str(app, "policies/Endorsement/policy/text"), "MAJORITY Endorsement");
	assert_string_equal(fx_str(app, "policies/Admins/policy/text"), "MAJORITY Admins");
	assert_int_equal(json_object_size(fx_get(app, "values/ACLs/value")), 19);
	assert_string_equal(json_string_value(json_object_get(fx_get(app, "values/ACLs/value"), "peer/Propose")), "/Channel/Application/Writers");
	ord = fx_get(root, "groups/Orderer");
	check_raft(ord, f);
	assert_string_equal(fx_str(ord, "policies/BlockValidation/policy/text"), "ANY Writers");
	assert_string_equal(fx_str(ord, "values/BatchTimeout/value"), "2s");
	assert_int_equal(json_integer_value(fx_get(ord, "values/BatchSize/value/maxMessageCount")), 10);
	assert_int_equal(json_integer_value(fx_get(ord, "values/BatchSize/value/absoluteMaxBytes")), 103809024);
	assert_int_equal(json_integer_value(fx_get(ord, "values/BatchSize/value/preferredMaxBytes")), 524288);
	assert_string_equal(fx_str(ord, "values/Capabilities/value/0"), "V2_0");
	assert_string_equal(fx_str(ord, "groups/OrdererMSP/values/Endpoints/value/0"), "orderer0.example.com:7050");
	assert_string_equal(fx_str(ord, "groups/OrdererMSP/values/MSP/value/name"), "OrdererMSP");
	assert_file_eq(fx_str(ord, "groups/OrdererMSP/values/MSP/value/root_certs/0"), f, 0,
		       "msp/cacerts/ca.example.com-cert.pem");
	json_decref(j);
	free(path);
}

static void test_genesis_batch_and_policy_overrides(void **state)
{
	struct fx *f = *state;
	struct lf_policy pol[2] = {
		{ "Application/Endorsement", "Signature",
		  "AND('AirlineMSP.peer', OR('BankMSP.peer', 'TelecomMSP.peer'))", { 0, 0 } },
		{ "Channel/Application/bank/Readers", "Signature",
		  "OutOf(1, 'BankMSP.client', 'BankMSP.admin')", { 0, 0 } },
	};
	char *path;
	json_t *j, *root;

	f->ch.policies = pol;
	f->ch.npolicies = 2;
	f->ch.batch.timeout_ms = 1500;
	f->ch.batch.max_message_count = 500;
	path = render(f, "override.block");
	/* put the fixture back before anything can skip(): pol is on this
	 * stack frame, and skip() leaves the function by longjmp */
	f->ch.policies = NULL;
	f->ch.npolicies = 0;
	memset(&f->ch.batch, 0, sizeof(f->ch.batch));
	fx_free_on_skip(path);
	j = fx_decode_or_skip(path, "block");
	root = fx_get(j, "envelopes/0/config/channel_group");
	assert_string_equal(fx_str(root, "groups/Application/policies/Endorsement/policy/text"),
			    "OutOf(2, 'AirlineMSP.peer', OutOf(1, 'BankMSP.peer', 'TelecomMSP.peer'))");
	assert_string_equal(fx_str(root, "groups/Application/groups/BankMSP/policies/Readers/policy/text"),
			    "OutOf(1, 'BankMSP.client', 'BankMSP.admin')");
	assert_string_equal(fx_str(root, "groups/Orderer/values/BatchTimeout/value"), "1.5s");
	assert_int_equal(json_integer_value(fx_get(root, "groups/Orderer/values/BatchSize/value/maxMessageCount")), 500);
	json_decref(j);
	free(path);
}

static void test_genesis_reproducible_with_source_date_epoch(void **state)
{
	struct fx *f = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;

	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	ctx_reload();
	assert_int_equal(lf_block_genesis(&f->spec, "trade", f->crypto, &a, &la, &err), 0);
	assert_int_equal(lf_block_genesis(&f->spec, "trade", f->crypto, &b, &lb, &err), 0);
	unsetenv("SOURCE_DATE_EPOCH");
	ctx_reload();
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(b);
	b = NULL;
	assert_int_equal(lf_block_genesis(&f->spec, "trade", f->crypto, &b, &lb, &err), 0);
	assert_true(la != lb || memcmp(a, b, la) != 0);   /* random nonce */
	free(a);
	free(b);
}

static void test_inspect_json_shape(void **state)
{
	struct fx *f = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk = NULL;
	size_t len = 0;
	json_t *j = NULL, *cfg;

	assert_int_equal(lf_block_genesis(&f->spec, "trade", f->crypto, &blk, &len, &err), 0);
	assert_int_equal(lf_block_inspect_json(blk, len, &j, &err), 0);
	assert_string_equal(fx_str(j, "header/number"), "0");
	assert_true(json_is_null(fx_get(j, "header/previous_hash")));
	assert_string_equal(fx_str(j, "metadata/metadata/0"), "CgIKAA==");
	assert_string_equal(fx_str(j, "data/data/0/payload/header/channel_header/channel_id"), "trade");
	assert_int_equal(json_integer_value(fx_get(j, "data/data/0/payload/header/channel_header/type")), 1);
	assert_true(json_is_null(fx_get(j, "data/data/0/signature")));
	cfg = fx_get(j, "data/data/0/payload/data/config");
	assert_string_equal(fx_str(cfg, "sequence"), "0");
	assert_string_equal(fx_str(cfg, "channel_group/groups/Orderer/values/ConsensusType/value/type"), "etcdraft");
	assert_string_equal(fx_str(cfg, "channel_group/groups/Orderer/values/ConsensusType/value/state"), "STATE_NORMAL");
	assert_string_equal(fx_str(cfg, "channel_group/groups/Application/groups/BankMSP/values/MSP/value/config/name"), "BankMSP");
	assert_string_equal(fx_str(cfg, "channel_group/policies/Admins/policy/value/rule"), "MAJORITY");
	assert_string_equal(fx_str(cfg, "channel_group/groups/Application/groups/BankMSP/policies/Admins/policy/value/identities/0/principal/role"), "ADMIN");
	assert_string_equal(fx_str(cfg, "channel_group/groups/Application/groups/BankMSP/policies/Admins/policy/value/identities/0/principal_classification"), "ROLE");
	assert_true(json_is_object(fx_get(cfg, "channel_group/values/Capabilities/value/capabilities/V2_0")));
	assert_string_equal(fx_str(cfg, "channel_group/groups/Orderer/values/BatchTimeout/value/timeout"), "2s");
	assert_string_equal(fx_str(cfg, "channel_group/version"), "0");
	json_decref(j);
	assert_int_not_equal(lf_block_inspect_json((const uint8_t *)"garbage!", 8, &j, &err), 0);
	free(blk);
}

static void test_genesis_errors(void **state)
{
	struct fx *f = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk = NULL;
	size_t len = 0;
	char *bad = lf_xasprintf("%s/nowhere", f->dir);

	assert_int_equal(lf_block_genesis(&f->spec, "nosuch", f->crypto, &blk, &len, &err), LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "nosuch"));
	lf_err_clear(&err);
	assert_int_equal(lf_block_genesis(&f->spec, "trade", bad, &blk, &len, &err), LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "nowhere"));
	lf_err_clear(&err);
	f->spec.consensus = LF_CONSENSUS_BFT;
	assert_int_equal(lf_block_genesis(&f->spec, "trade", f->crypto, &blk, &len, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "BFT"));
	f->spec.consensus = LF_CONSENSUS_ETCDRAFT;
	assert_null(blk);
	free(bad);
}

static void test_genesis_bft(void **state)
{
	struct fx *f = *state;
	char *path, rel[512], p[64];
	json_t *j, *ord, *m;

	f->spec.consensus = LF_CONSENSUS_BFT;
	f->spec.fabric_major = 3;
	f->spec.fabric_minor = 0;
	path = render(f, "bft.block");
	f->spec.consensus = LF_CONSENSUS_ETCDRAFT;
	f->spec.fabric_major = 2;
	f->spec.fabric_minor = 5;
	fx_free_on_skip(path);
	j = fx_decode_or_skip(path, "block");
	ord = fx_get(j, "envelopes/0/config/channel_group/groups/Orderer");
	assert_true(json_is_true(fx_get(j, "envelopes/0/canonical")));
	assert_string_equal(fx_str(j, "envelopes/0/config/channel_group/values/Capabilities/value/0"), "V3_0");
	assert_string_equal(fx_str(ord, "values/ConsensusType/value/type"), "BFT");
	assert_string_equal(fx_str(ord, "values/ConsensusType/value/metadata/requestBatchMaxInterval"), "50ms");
	assert_int_equal(json_integer_value(fx_get(ord, "values/ConsensusType/value/metadata/requestBatchMaxCount")), 100);
	m = fx_get(ord, "values/Orderers/value");
	assert_int_equal(json_array_size(m), 3);
	for (int k = 0; k < 3; k++) {
		snprintf(p, sizeof(p), "%d/id", k);
		assert_int_equal(json_integer_value(fx_get(m, p)), k + 1);
		snprintf(p, sizeof(p), "%d/msp_id", k);
		assert_string_equal(fx_str(m, p), "OrdererMSP");
		snprintf(p, sizeof(p), "%d/identity", k);
		snprintf(rel, sizeof(rel), "orderers/%s/msp/signcerts/%s-cert.pem",
			 f->hosts[0][k], f->hosts[0][k]);
		assert_file_eq(fx_str(m, p), f, 0, rel);
		snprintf(p, sizeof(p), "%d/server_tls_cert", k);
		snprintf(rel, sizeof(rel), "orderers/%s/tls/server.crt", f->hosts[0][k]);
		assert_file_eq(fx_str(m, p), f, 0, rel);
	}
	/* n=3: f=0, quorum ceil((3+0+1)/2) = 2 of the consenter identities */
	assert_int_equal(json_integer_value(fx_get(ord, "policies/BlockValidation/policy/type")), 1);
	assert_string_equal(fx_str(ord, "policies/BlockValidation/policy/identities/2/classification"), "IDENTITY");
	assert_non_null(strstr(fx_str(ord, "policies/BlockValidation/policy/text"), "OutOf(2, #0, #1, #2)"));
	json_decref(j);
	free(path);
}

struct job {
	const struct lf_spec *spec;
	const char *crypto, *channel;
	uint8_t *cfg;
	size_t len;
	int rc;
};

static void *render_job(void *arg)
{
	struct job *j = arg;

	for (int i = 0; i < 5 && j->rc == 0; i++) {
		free(j->cfg);
		j->cfg = NULL;
		j->rc = lf_block_config_for(j->spec, j->channel, j->crypto, &j->cfg,
					    &j->len, NULL);
	}
	return NULL;
}

/* channel callbacks run on worker threads at once: same bytes as alone */
static void test_genesis_concurrent_channels(void **state)
{
	struct fx *f = *state;
	struct lf_channel chans[4];
	static const char *const names[4] = { "c0", "c1", "c2", "c3" };
	struct lf_spec spec = f->spec;
	struct job jobs[4];
	pthread_t th[4];
	uint8_t *want = NULL;
	size_t wlen = 0;

	for (int i = 0; i < 4; i++) {
		chans[i] = f->ch;
		chans[i].name = (char *)names[i];
		chans[i].norgs = (size_t)(1 + i % 4);
	}
	spec.channels = chans;
	spec.nchannels = 4;
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){ &spec, f->crypto, names[i], NULL, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, render_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(jobs[i].rc, 0);
		assert_int_equal(lf_block_config_for(&spec, names[i], f->crypto, &want,
						     &wlen, NULL), 0);
		assert_int_equal(wlen, jobs[i].len);
		assert_memory_equal(want, jobs[i].cfg, wlen);
		free(want);
		free(jobs[i].cfg);
	}
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || fx_setup(f, 3, 4, 3, LF_CONSENSUS_ETCDRAFT, 2, 5) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx_teardown(*state);
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_genesis_etcdraft_decoded_by_fabric),
		cmocka_unit_test(test_genesis_batch_and_policy_overrides),
		cmocka_unit_test(test_genesis_reproducible_with_source_date_epoch),
		cmocka_unit_test(test_inspect_json_shape),
		cmocka_unit_test(test_genesis_errors),
		cmocka_unit_test(test_genesis_bft),
		cmocka_unit_test(test_genesis_concurrent_channels),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
