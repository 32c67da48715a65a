/*
 * Legacy Kafka consensus: the orderer system channel genesis block (with
 * the consortium and KafkaBrokers) and the channel creation transaction,
 * decoded by Fabric's npm bindings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fabric/block/block.h"
#include "core/util/util.h"
#include "plans/resource.h"
#include "tests/unit/block/fixture.h"

struct kx {
	struct fx f;
	struct lf_kafka kafka;
	struct lf_node brokers[3];
	char names[3][32], hosts[3][64];
};

static json_t *render_decode(struct kx *k, bool sys, const char *kind)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *b = NULL;
	size_t len = 0;
	char *path = lf_xasprintf("%s/%s", k->f.dir, sys ? "sys.block" : "trade.tx");
	json_t *j;
	int rc = sys ? lf_block_system_genesis(&k->f.spec, "system-channel",
					       k->f.crypto, &b, &len, &err)
		     : lf_block_channel_tx(&k->f.spec, "trade", k->f.crypto, &b,
					   &len, &err);

	if (rc)
		fail_msg("render: %s", err.msg);
	assert_int_equal(lf_write_file_atomic(path, b, len, 0644, &err), 0);
	free(b);
	if (!fx_have_node()) {
		free(path);
		printf("skipped: npm bindings not installed\n");
		skip();
	}
	j = fx_node_decode(path, kind);
	assert_non_null(j);
	free(path);
	return j;
}

static void test_kafka_system_channel(void **state)
{
	struct kx *k = *state;
	json_t *j = render_decode(k, true, "block"), *root, *ord, *cons;
	char *p, *want;

	assert_string_equal(fx_str(j, "data_hash"), fx_str(j, "computed_data_hash"));
	assert_true(json_is_true(fx_get(j, "canonical")));
	assert_true(json_is_true(fx_get(j, "envelopes/0/canonical")));
	assert_string_equal(fx_str(j, "envelopes/0/channel_header/channel_id"), "system-channel");
	root = fx_get(j, "envelopes/0/config/channel_group");
	assert_string_equal(fx_str(root, "values/OrdererAddresses/value/0"), "orderer0.example.com:7050");
	assert_string_equal(fx_str(root, "values/OrdererAddresses/mod_policy"), "/Channel/Orderer/Admins");
	assert_null(fx_get(root, "groups/Application"));
	ord = fx_get(root, "groups/Orderer");
	assert_string_equal(fx_str(ord, "values/ConsensusType/value/type"), "kafka");
	assert_int_equal(json_array_size(fx_get(ord, "values/KafkaBrokers/value")), 3);
	assert_string_equal(fx_str(ord, "values/KafkaBrokers/value/1"), "kafka1.example.com:9092");
	cons = fx_get(root, "groups/Consortiums");
	assert_string_equal(fx_str(cons, "mod_policy"), "/Channel/Orderer/Admins");
	assert_string_equal(fx_str(cons, "policies/Admins/policy/text"), "OutOf(0, )");
	assert_string_equal(fx_str(cons, "groups/SampleConsortium/values/ChannelCreationPolicy/value/text"),
			    "ANY Admins");
	assert_int_equal(json_object_size(fx_get(cons, "groups/SampleConsortium/groups")), 3);
	p = fx_org_file(&k->f, 2, "msp/cacerts/ca.telecom.example.com-cert.pem");
	want = fx_slurp(p);
	assert_string_equal(fx_str(cons, "groups/SampleConsortium/groups/TelecomMSP/values/MSP/value/root_certs/0"),
			    want);
	assert_null(fx_get(cons, "groups/SampleConsortium/groups/TelecomMSP/values/AnchorPeers"));
	free(want);
	free(p);
	json_decref(j);
}

static void test_kafka_channel_creation_tx(void **state)
{
	struct kx *k = *state;
	json_t *j = render_decode(k, false, "envelope"), *cu, *ws;

	assert_int_equal(json_integer_value(fx_get(j, "channel_header/type")), 2);
	assert_string_equal(fx_str(j, "channel_header/channel_id"), "trade");
	assert_int_equal(json_integer_value(fx_get(j, "signature_len")), 0);
	assert_true(json_is_true(fx_get(j, "canonical")));
	assert_true(json_is_true(fx_get(j, "config_update_envelope/canonical")));
	cu = fx_get(j, "config_update_envelope");
	assert_string_equal(fx_str(cu, "channel_id"), "trade");
	assert_int_equal(json_array_size(fx_get(cu, "signatures")), 0);
	ws = fx_get(cu, "write_set");
	assert_string_equal(fx_str(ws, "values/Consortium/value"), "SampleConsortium");
	assert_int_equal(json_integer_value(fx_get(cu, "read_set/values/Consortium/version")), 0);
	assert_int_equal(json_integer_value(fx_get(ws, "groups/Application/version")), 1);
	assert_int_equal(json_object_size(fx_get(ws, "groups/Application/groups")), 3);
	assert_string_equal(fx_str(ws, "groups/Application/policies/Admins/policy/text"), "MAJORITY Admins");
	assert_string_equal(fx_str(ws, "groups/Application/values/Capabilities/value/0"), "V2_0");
	assert_int_equal(json_integer_value(fx_get(cu, "read_set/groups/Application/version")), 0);
	assert_null(fx_get(ws, "groups/Orderer"));
	json_decref(j);
}

static void test_kafka_refusals(void **state)
{
	struct kx *k = *state;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *b = NULL;
	size_t len = 0;

	assert_int_equal(lf_block_genesis(&k->f.spec, "trade", k->f.crypto, &b, &len, &err),
			 LF_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "channel creation transaction"));
	lf_err_clear(&err);
	k->f.spec.consensus = LF_CONSENSUS_ETCDRAFT;
	assert_int_equal(lf_block_channel_tx(&k->f.spec, "trade", k->f.crypto, &b, &len, &err),
			 LF_EINVALID);
	k->f.spec.consensus = LF_CONSENSUS_KAFKA;
	assert_null(b);
}

static void test_kafka_channel_resources(void **state)
{
	struct kx *k = *state;
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = NULL;
	struct lf_resource *sys, *app;
	struct lf_apply_env env;
	char *chans = lf_xasprintf("%s/channels", k->f.dir), *p;
	json_t *out = NULL;
	bool dep = false;

	memset(&env, 0, sizeof(env));
	env.spec = &k->f.spec;
	env.workdir = k->f.dir;
	env.crypto_dir = k->f.crypto;
	env.channels_dir = chans;
	assert_int_equal(lf_rset_new(&rs), 0);
	if (lf_channel_expand(&k->f.spec, rs, &err) != 0)
		fail_msg("expand: %s", err.msg);
	sys = lf_rset_get(rs, "channel.system-channel");
	app = lf_rset_get(rs, "channel.trade");
	assert_non_null(sys);
	assert_non_null(app);
	assert_string_equal(fx_str(sys->attrs, "kind"), "system");
	assert_string_equal(fx_str(app->attrs, "kind"), "application");
	assert_int_equal(json_array_size(json_object_get(sys->attrs, "orgs")), 3);
	for (size_t i = 0; i < app->ndeps; i++)
		dep |= strcmp(app->deps[i], "channel.system-channel") == 0;
	assert_true(dep);
	if (lf_rtype_channel.create(&env, sys, &out, &err) != 0)
		fail_msg("create system: %s", err.msg);
	assert_string_equal(fx_str(out, "block"), "channels/system-channel.block");
	json_decref(out);
	out = NULL;
	if (lf_rtype_channel.create(&env, app, &out, &err) != 0)
		fail_msg("create trade: %s", err.msg);
	assert_string_equal(fx_str(out, "channel_tx"), "channels/trade.tx");
	p = lf_xasprintf("%s/trade.tx", chans);
	assert_true(lf_path_exists(p));
	free(p);
	json_decref(out);
	out = NULL;
	assert_int_equal(lf_rtype_channel.update(&env, app, app, &out, &err), LF_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "Kafka"));
	lf_rset_free(rs);
	free(chans);
}

static int setup(void **state)
{
	struct kx *k = calloc(1, sizeof(*k));

	if (!k || fx_setup(&k->f, 2, 3, 3, LF_CONSENSUS_KAFKA, 2, 2) != 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		snprintf(k->names[i], sizeof(k->names[i]), "kafka%d", i);
		snprintf(k->hosts[i], sizeof(k->hosts[i]), "kafka%d.example.com", i);
		k->brokers[i].name = k->names[i];
		k->brokers[i].org = "kafka";
		k->brokers[i].kind = LF_NODE_KAFKA;
		k->brokers[i].hostname = k->hosts[i];
		k->brokers[i].port = 9092;
	}
	k->kafka.brokers = 3;
	k->kafka.nodes = k->brokers;
	k->kafka.nnodes = 3;
	k->f.spec.kafka = &k->kafka;
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct kx *k = *state;

	fx_teardown(&k->f);
	free(k);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kafka_system_channel),
		cmocka_unit_test(test_kafka_channel_creation_tx),
		cmocka_unit_test(test_kafka_refusals),
		cmocka_unit_test(test_kafka_channel_resources),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
