/*
 * The `channel` resource type: expansion into channel.NAME with its
 * dependencies, create (genesis block + recorded config, reused when
 * unchanged), and an add-org update that is refused until two of three
 * org admins signed, then writes the envelope to submit and records the
 * new config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/fabric/block/block.h"
#include "core/util/util.h"
#include "plans/resource.h"
#include "core/fabric/block/blk.h"
#include "tests/unit/block/fixture.h"

struct cx {
	struct fx f;
	char work[300], chans[320];
	struct lf_apply_env env;
};

static bool has_dep(const struct lf_resource *r, const char *d)
{
	for (size_t i = 0; i < r->ndeps; i++)
		if (strcmp(r->deps[i], d) == 0)
			return true;
	return false;
}

static struct lf_rset *expand(struct cx *c)
{
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_rset_new(&rs), 0);
	if (lf_channel_expand(&c->f.spec, rs, &err) != 0)
		fail_msg("expand: %s", err.msg);
	return rs;
}

static void test_channel_expand(void **state)
{
	struct cx *c = *state;
	struct lf_rset *rs = expand(c);
	struct lf_resource *r = lf_rset_get(rs, "channel.trade");

	assert_non_null(r);
	assert_int_equal(json_array_size(json_object_get(r->attrs, "orgs")), 3);
	assert_string_equal(fx_str(r->attrs, "orgs/0/mspid"), "AirlineMSP");
	assert_string_equal(fx_str(r->attrs, "orgs/0/anchor_peers/0"), "peer0.airline.example.com:7051");
	assert_int_equal(json_array_size(json_object_get(r->attrs, "consenters")), 3);
	assert_string_equal(fx_str(r->attrs, "consenters/2/host"), "orderer2.example.com");
	assert_int_equal(json_integer_value(fx_get(r->attrs, "batch/max_message_count")), 10);
	assert_string_equal(fx_str(r->attrs, "capabilities/application"), "V2_5");
	assert_true(has_dep(r, "crypto.airline.msp"));
	assert_true(has_dep(r, "crypto.bank.msp"));
	assert_true(has_dep(r, "crypto.orderer.msp"));
	assert_true(has_dep(r, "crypto.orderer.orderer1"));
	assert_false(has_dep(r, "crypto.retail.msp"));
	assert_true(lf_rtype_channel.in_place(&c->env, r, "orgs"));
	assert_true(lf_rtype_channel.in_place(&c->env, r, "batch"));
	assert_false(lf_rtype_channel.in_place(&c->env, r, "channel"));
	lf_rset_free(rs);
}

static void sign_file(struct cx *c, const char *path, int org)
{
	struct lf_err err = LF_ERR_INIT;
	char rel[200], *msp, *data = NULL;
	size_t len = 0, olen = 0, elen = 0, clen = 0;
	uint8_t *out = NULL, *env = NULL, *cfg = NULL;

	snprintf(rel, sizeof(rel), "users/Admin@%s/msp", c->f.orgs[org].domain);
	msp = fx_org_file(&c->f, org, rel);
	assert_int_equal(lf_read_file(path, &data, &len, &err), 0);
	assert_int_equal(lf_update_file_open((uint8_t *)data, len, &env, &elen, &cfg,
					     &clen, &err), 0);
	if (lf_update_sign(env, elen, msp, c->f.orgs[org].mspid, &out, &olen,
			   &err) != 0)
		fail_msg("sign: %s", err.msg);
	free(data);
	assert_int_equal(lf_update_file_wrap(out, olen, cfg, clen, (uint8_t **)&data,
					     &len, &err), 0);
	assert_int_equal(lf_write_file_atomic(path, data, len, 0644, &err), 0);
	free(out);
	free(env);
	free(cfg);
	free(data);
	free(msp);
}

/* update in place, expecting it to wait for signatures */
static void expect_pending(struct cx *c, struct lf_resource *r,
			   struct lf_resource *d, struct lf_err *err)
{
	json_t *out = NULL;

	lf_err_clear(err);
	assert_int_equal(lf_rtype_channel.update(&c->env, r, d, &out, err), LF_EPENDING);
	assert_string_equal(fx_str(out, "pending_update/file"), "channels/trade.update.pb");
	assert_non_null(strstr(fx_str(out, "pending_update/needs"), "config update needs"));
	assert_non_null(strstr(err->msg, "`ledgerform sign "));
	assert_non_null(strstr(err->msg, "`peer channel signconfigtx -f "));
	json_decref(out);
}

static void test_channel_create_and_add_org(void **state)
{
	struct cx *c = *state;
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = expand(c), *rs2;
	struct lf_resource *r = lf_rset_get(rs, "channel.trade"), *d;
	json_t *out = NULL, *out2 = NULL, *j;
	char *blk = lf_xasprintf("%s/trade.block", c->chans), *data = NULL;
	char *upd = lf_xasprintf("%s/trade.update.pb", c->chans), hex[65], *note;
	char *envp = lf_xasprintf("%s/trade.update.envelope.pb", c->chans);
	size_t len = 0;

	if (lf_rtype_channel.create(&c->env, r, &out, &err) != 0)
		fail_msg("create: %s", err.msg);
	assert_string_equal(fx_str(out, "block"), "channels/trade.block");
	assert_int_equal(lf_read_file(blk, &data, &len, &err), 0);
	lf_sha256_hex(data, len, hex);
	assert_string_equal(fx_str(out, "block_sha256"), hex);
	assert_int_equal(json_integer_value(json_object_get(out, "config_sequence")), 0);
	free(data);
	/* creating again keeps the block orderers may have joined with */
	assert_int_equal(lf_rtype_channel.create(&c->env, r, &out2, &err), 0);
	assert_string_equal(fx_str(out2, "block_sha256"), hex);
	json_decref(out2);
	out2 = NULL;
	r->outputs = out;

	c->f.ch.norgs = 4;
	rs2 = expand(c);
	d = lf_rset_get(rs2, "channel.trade");
	note = lf_rtype_channel.note(&c->env, r, d);
	assert_non_null(note);
	assert_string_equal(note, "add org retail: needs 2 of 3 admin signatures "
			    "(AirlineMSP, BankMSP, TelecomMSP)");
	free(note);
	/* plan before the new org's crypto exists: estimated from the
	 * recorded config */
	{
		char *dom = c->f.orgs[4].domain;

		c->f.orgs[4].domain = "nocrypto.example.com";
		note = lf_rtype_channel.note(&c->env, r, d);
		c->f.orgs[4].domain = dom;
		assert_non_null(note);
		assert_string_equal(note, "add org retail: needs 2 of 3 admin signatures "
				    "(AirlineMSP, BankMSP, TelecomMSP)");
		free(note);
	}
	expect_pending(c, r, d, &err);
	assert_non_null(strstr(err.msg, "channel 'trade': config update needs MAJORITY Admins: 2 of 3 orgs"));
	assert_non_null(strstr(err.msg, "have 0"));
	assert_true(lf_path_exists(upd));
	assert_false(lf_path_exists(envp));
	/* the spec changes again before anyone signed: the unsigned pending
	 * update is replaced */
	c->f.ch.batch.max_message_count = 100;
	expect_pending(c, r, d, &err);
	assert_non_null(strstr(err.msg, "MAJORITY Admins: 1 of 1 orgs (OrdererMSP)"));
	/* ... once signed, it is never overwritten by another change */
	sign_file(c, upd, 1);
	c->f.ch.batch.max_message_count = 0;
	assert_int_equal(lf_read_file(upd, &data, &len, &err), 0);
	lf_err_clear(&err);
	assert_int_equal(lf_rtype_channel.update(&c->env, r, d, &out2, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, upd));
	assert_non_null(strstr(err.msg, "holds 1 signature for an earlier change that was not "
			       "submitted"));
	assert_null(out2);
	{
		char *now = NULL;
		size_t nlen = 0;

		assert_int_equal(lf_read_file(upd, &now, &nlen, &err), 0);
		assert_int_equal(nlen, len);
		assert_memory_equal(now, data, len);
		free(now);
	}
	free(data);
	data = NULL;
	/* the operator discards it: the new change is written */
	assert_int_equal(unlink(upd), 0);
	expect_pending(c, r, d, &err);
	assert_non_null(strstr(err.msg, "have 0"));
	sign_file(c, upd, 1);
	/* recomputing keeps the collected signatures (same update bytes) */
	expect_pending(c, r, d, &err);
	assert_non_null(strstr(err.msg, "have 1 (AirlineMSP)"));
	assert_non_null(strstr(err.msg, "missing 1 of BankMSP, TelecomMSP"));
	lf_err_clear(&err);
	if (fx_have_node()) {   /* the pending file is a Fabric CONFIG_UPDATE envelope */
		j = fx_node_decode(upd, "envelope");
		assert_non_null(j);
		assert_int_equal(json_integer_value(fx_get(j, "channel_header/type")), 2);
		assert_string_equal(fx_str(j, "channel_header/channel_id"), "trade");
		assert_int_equal(json_array_size(fx_get(j, "config_update_envelope/signatures")), 1);
		json_decref(j);
	}
	sign_file(c, upd, 3);
	if (lf_rtype_channel.update(&c->env, r, d, &out2, &err) != 0)
		fail_msg("update: %s", err.msg);
	assert_int_equal(json_integer_value(json_object_get(out2, "config_sequence")), 1);
	assert_string_equal(fx_str(out2, "update_envelope"), "channels/trade.update.envelope.pb");
	assert_true(lf_path_exists(envp));
	assert_false(lf_path_exists(upd));
	if (fx_have_node()) {
		j = fx_node_decode(envp, "envelope");
		assert_non_null(j);
		assert_int_equal(json_integer_value(fx_get(j, "channel_header/type")), 2);
		assert_true(json_is_true(fx_get(j, "canonical")));
		assert_string_equal(fx_str(j, "channel_header/channel_id"), "trade");
		assert_int_equal(json_array_size(fx_get(j, "config_update_envelope/signatures")), 2);
		assert_non_null(fx_get(j, "config_update_envelope/write_set/groups/Application/groups/RetailMSP"));
		json_decref(j);
	} else {
		printf("skipped: npm bindings not installed (envelope decode)\n");
	}
	json_decref(out2);
	out2 = NULL;
	/* the recorded config is now the desired one: nothing left to do */
	assert_int_equal(lf_rtype_channel.update(&c->env, r, d, &out2, &err), 0);
	assert_false(lf_path_exists(upd));
	json_decref(out2);
	c->f.ch.norgs = 3;
	assert_int_equal(lf_rtype_channel.delete(&c->env, r, &err), 0);
	assert_false(lf_path_exists(blk));
	lf_rset_free(rs2);
	lf_rset_free(rs);
	free(blk);
	free(upd);
	free(envp);
}

/* a recorded config whose map entry lost its value: plan refuses the
 * change as damaged, apply refuses it; nothing dereferences the hole */
static void test_channel_damaged_recorded_config(void **state)
{
	struct cx *c = *state;
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = expand(c), *rs2;
	struct lf_resource *r = lf_rset_get(rs, "channel.trade"), *d;
	char *cfgp = lf_xasprintf("%s/trade.config.pb", c->chans), *data = NULL;
	char *why, *note;
	size_t len = 0, blen = 0;
	json_t *out = NULL, *out2 = NULL;
	Lfpb__Config *cfg;
	uint8_t *bad;

	if (lf_rtype_channel.create(&c->env, r, &out, &err) != 0)
		fail_msg("create: %s", err.msg);
	r->outputs = out;
	assert_int_equal(lf_read_file(cfgp, &data, &len, &err), 0);
	cfg = lfpb__config__unpack(NULL, len, (uint8_t *)data);
	assert_non_null(cfg);
	lfpb__config_value__free_unpacked(cfg->channel_group->values[0]->value,
					  NULL);
	cfg->channel_group->values[0]->value = NULL;
	bad = lf_pb_pack(&cfg->base, &blen);
	lfpb__config__free_unpacked(cfg, NULL);
	assert_int_equal(lf_write_file_atomic(cfgp, bad, blen, 0644, &err), 0);

	c->f.ch.norgs = 4;
	rs2 = expand(c);
	c->f.ch.norgs = 3;
	d = lf_rset_get(rs2, "channel.trade");
	why = lf_rtype_channel.refuse(&c->env, r, d);
	assert_non_null(why);
	assert_non_null(strstr(why, "channel.trade: recorded channel config"));
	assert_non_null(strstr(why, "is damaged"));
	assert_non_null(strstr(why, "lacks its value"));
	note = lf_rtype_channel.note(&c->env, r, d);
	assert_non_null(note);          /* says what changes, needs unknown */
	assert_null(strstr(note, "needs"));
	assert_int_equal(lf_rtype_channel.update(&c->env, r, d, &out2, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, "is damaged"));
	assert_null(out2);
	/* the damaged file is left as it was for the operator */
	free(data);
	assert_int_equal(lf_read_file(cfgp, &data, &len, &err), 0);
	assert_int_equal(len, blen);
	assert_memory_equal(data, bad, blen);
	free(why);
	free(note);
	free(bad);
	free(data);
	free(cfgp);
	lf_rset_free(rs2);
	lf_rset_free(rs);
}

static int setup(void **state)
{
	struct cx *c = calloc(1, sizeof(*c));

	if (!c || fx_setup(&c->f, 3, 4, 3, LF_CONSENSUS_ETCDRAFT, 2, 5) != 0)
		return -1;
	snprintf(c->work, sizeof(c->work), "%s", c->f.dir);
	snprintf(c->chans, sizeof(c->chans), "%s/channels", c->f.dir);
	c->env.spec = &c->f.spec;
	c->env.workdir = c->work;
	c->env.crypto_dir = c->f.crypto;
	c->env.channels_dir = c->chans;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct cx *c = *state;

	fx_teardown(&c->f);
	free(c);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channel_expand),
		cmocka_unit_test(test_channel_create_and_add_org),
		cmocka_unit_test(test_channel_damaged_recorded_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
