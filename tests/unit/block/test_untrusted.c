/*
 * Untrusted protobuf files: a config nested 10,000 groups deep, every
 * single-bit flip and every truncation of a real signed update and of a
 * recorded channel config, and a recorded config whose map entry lost its
 * value. Every entry point (describe, apply, check, needs, envelope,
 * inspect, compute, sign) must refuse them as malformed; none may crash
 * (run under ASan too).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/util/util.h"
#include "tests/unit/block/fixture.h"

struct ux {
	struct fx f;
	uint8_t *cur;      /* Config of the 3-org channel */
	size_t curlen;
	uint8_t *upd;      /* anchor peer update signed by one admin */
	size_t updlen;
};

static size_t varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, size_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Config{channel_group: ConfigGroup{groups {"g": ConfigGroup{groups ...}}}}
 * `depth` groups deep, written outside-in from precomputed sizes */
static uint8_t *deep_config(size_t depth, size_t *len)
{
	size_t *gsz = calloc(depth + 1, sizeof(size_t)), esz;
	uint8_t *buf, *p;

	assert_non_null(gsz);
	gsz[0] = 0;                               /* innermost: empty group */
	for (size_t k = 1; k <= depth; k++) {
		esz = 3 + 1 + varint_len(gsz[k - 1]) + gsz[k - 1];
		gsz[k] = 1 + varint_len(esz) + esz;
	}
	*len = 1 + varint_len(gsz[depth]) + gsz[depth];
	buf = malloc(*len);
	assert_non_null(buf);
	p = buf;
	*p++ = 0x12;                              /* Config.channel_group */
	p = put_varint(p, gsz[depth]);
	for (size_t k = depth; k >= 1; k--) {
		esz = 3 + 1 + varint_len(gsz[k - 1]) + gsz[k - 1];
		*p++ = 0x12;                      /* ConfigGroup.groups */
		p = put_varint(p, esz);
		*p++ = 0x0a;                      /* GroupsEntry.key "g" */
		*p++ = 1;
		*p++ = 'g';
		*p++ = 0x12;                      /* GroupsEntry.value */
		p = put_varint(p, gsz[k - 1]);
	}
	assert_int_equal((size_t)(p - buf), *len);
	free(gsz);
	return buf;
}

/* ConfigUpdateEnvelope whose read set and write set are `group` bytes */
static uint8_t *deep_update(const uint8_t *cfg, size_t cfglen, size_t *len)
{
	Lfpb__ConfigUpdateEnvelope e = LFPB__CONFIG_UPDATE_ENVELOPE__INIT;
	/* the Config's field 2 is the group: reuse it as fields 2 and 3 */
	size_t n = 2 * cfglen + 8;
	uint8_t *cu = malloc(n), *out;

	assert_non_null(cu);
	memcpy(cu, cfg, cfglen);                  /* read_set (field 2) */
	memcpy(cu + cfglen, cfg, cfglen);
	cu[cfglen] = 0x1a;                        /* write_set (field 3) */
	e.config_update.data = cu;
	e.config_update.len = 2 * cfglen;
	out = lf_pb_pack(&e.base, len);
	free(cu);
	return out;
}

static void test_deep_nesting_refused(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	size_t len = 0, elen = 0, olen = 0;
	uint8_t *deep = deep_config(10000, &len), *env, *out = NULL;
	json_t *j = NULL;
	char *s = NULL;

	assert_true(len > 100000);                /* the 106 KB reproducer */
	assert_int_equal(lf_block_inspect_json(deep, len, &j, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "nesting deeper than 100"));
	lf_err_clear(&err);
	assert_int_equal(lf_update_compute_configs(deep, len, u->cur, u->curlen,
						   &out, &olen, NULL, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	env = deep_update(deep, len, &elen);
	lf_err_clear(&err);
	assert_int_equal(lf_update_describe(env, elen, &s, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	lf_err_clear(&err);
	assert_int_equal(lf_update_apply(u->cur, u->curlen, env, elen, &out,
					 &olen, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	lf_err_clear(&err);
	assert_int_equal(lf_update_check(u->cur, u->curlen, env, elen, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, "nesting deeper than"));
	/* inspect shows the envelope; the too-deep update stays base64 */
	assert_int_equal(lf_block_inspect_json(env, elen, &j, &err), 0);
	assert_true(json_is_string(fx_get(j, "config_update")));
	json_decref(j);
	j = NULL;
	assert_null(out);
	assert_null(s);
	free(env);
	free(deep);
	/* a config as deep as the bound is still accepted */
	deep = deep_config(40, &len);
	lf_err_clear(&err);
	if (lf_block_inspect_json(deep, len, &j, &err) != 0)
		fail_msg("40 deep: %s", err.msg);
	json_decref(j);
	free(deep);
}

/* every entry point on one damaged file: refuse or succeed, never crash */
static int poke(struct ux *u, const uint8_t *b, size_t len, bool is_cfg)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *out = NULL;
	size_t olen = 0;
	char *s = NULL;
	json_t *j = NULL;
	int refused = 0;

	if (lf_block_inspect_json(b, len, &j, &err) == 0)
		json_decref(j);
	if (is_cfg) {
		refused = lf_update_apply(b, len, u->upd, u->updlen, &out, &olen,
					  &err) != 0;
		free(out);
		out = NULL;
		if (lf_update_compute_configs(u->cur, u->curlen, b, len, &out,
					      &olen, &s, &err) == 0)
			free(s);
		free(out);
		return refused;
	}
	refused = lf_update_describe(b, len, &s, &err) != 0;
	free(s);
	s = NULL;
	if (lf_update_apply(u->cur, u->curlen, b, len, &out, &olen, &err) == 0)
		free(out);
	(void)lf_update_check(u->cur, u->curlen, b, len, &err);
	if (lf_update_needs(u->cur, u->curlen, b, len, &s, &err) == 0)
		free(s);
	out = NULL;
	if (lf_update_envelope(b, len, NULL, &out, &olen, &err) == 0)
		free(out);
	(void)lf_blk_last_signature_vet(u->cur, u->curlen, b, len, &s);
	free(s);
	return refused;
}

/* every byte position (stride 1), or every stride-th one past the first
 * KB for the 26 KB config (a prime stride still lands in every field) */
static void flip_and_truncate(struct ux *u, const uint8_t *orig, size_t len,
			      bool is_cfg, size_t stride, size_t *refused)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	for (size_t i = 0; i < len; i += i < 1024 ? 1 : stride) {
		memcpy(b, orig, len);
		b[i] ^= (uint8_t)(1u << (i % 8));
		*refused += (size_t)poke(u, b, len, is_cfg);
	}
	for (size_t n = 0; n < len; n += n < 1024 ? 1 : stride) {
		uint8_t *t = malloc(n ? n : 1);

		assert_non_null(t);
		memcpy(t, orig, n);
		*refused += (size_t)poke(u, t, n, is_cfg);
		free(t);
	}
	free(b);
}

static void test_flipped_and_truncated_update(void **state)
{
	struct ux *u = *state;
	size_t refused = 0;

	assert_true(u->updlen > 500);
	printf("update %zu bytes\n", u->updlen);
	flip_and_truncate(u, u->upd, u->updlen, false, 1, &refused);
	/* damage inside bytes fields (certificate, signature) still parses:
	 * then check refuses the signature; the rest is refused on unpack */
	printf("refused %zu of %zu damaged updates\n", refused, 2 * u->updlen);
	assert_true(refused > u->updlen / 2);
	assert_int_equal(poke(u, u->upd, u->updlen, false), 0);
}

static void test_flipped_and_truncated_config(void **state)
{
	struct ux *u = *state;
	size_t refused = 0;

	printf("config %zu bytes\n", u->curlen);
	flip_and_truncate(u, u->cur, u->curlen, true, 7, &refused);
	printf("refused %zu damaged configs\n", refused);
	assert_true(refused > 1024);
}

/* a recorded config whose value map entry lost its value */
static uint8_t *lost_value(struct ux *u, size_t *len)
{
	Lfpb__Config *c = lfpb__config__unpack(NULL, u->curlen, u->cur);
	Lfpb__ConfigGroup *app;
	uint8_t *out;

	assert_non_null(c);
	app = lf_cg_group(c->channel_group, "Application");
	assert_non_null(app);
	assert_true(app->n_values > 0);
	lfpb__config_value__free_unpacked(app->values[0]->value, NULL);
	app->values[0]->value = NULL;
	out = lf_pb_pack(&c->base, len);
	lfpb__config__free_unpacked(c, NULL);
	return out;
}

static void test_config_map_entry_without_value(void **state)
{
	struct ux *u = *state;
	struct lf_err err = LF_ERR_INIT;
	size_t len = 0, olen = 0;
	uint8_t *bad = lost_value(u, &len), *out = NULL;
	json_t *j = NULL;
	char *s = NULL;

	assert_int_equal(lf_block_inspect_json(bad, len, &j, &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(lf_update_apply(bad, len, u->upd, u->updlen, &out, &olen,
					 &err), LF_EINVALID);
	if (!strstr(err.msg, "ValuesEntry"))
		fail_msg("%s", err.msg);
	assert_non_null(strstr(err.msg, "lacks its value"));
	lf_err_clear(&err);
	assert_int_equal(lf_update_compute(bad, len, &u->f.spec, "trade",
					   u->f.crypto, &out, &olen, &s, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, "malformed channel config"));
	assert_non_null(strstr(err.msg, "lacks its value"));
	assert_int_equal(lf_update_check(bad, len, u->upd, u->updlen, &err),
			 LF_EINVALID);
	assert_null(out);
	assert_null(s);
	free(bad);
}

static int setup(void **state)
{
	struct ux *u = calloc(1, sizeof(*u));
	uint8_t *blk = NULL, *env = NULL;
	size_t len = 0, elen = 0;
	char rel[200], *msp;

	if (!u || fx_setup(&u->f, 1, 3, 3, LF_CONSENSUS_ETCDRAFT, 2, 5) != 0)
		return -1;
	if (lf_block_genesis(&u->f.spec, "trade", u->f.crypto, &blk, &len, NULL) ||
	    lf_block_config_bytes(blk, len, &u->cur, &u->curlen, NULL))
		return -1;
	free(blk);
	u->f.nodes[3][0].port = 9051;   /* bank's anchor peer moves */
	if (lf_update_compute(u->cur, u->curlen, &u->f.spec, "trade",
			      u->f.crypto, &env, &elen, NULL, NULL))
		return -1;
	u->f.nodes[3][0].port = 7051;
	snprintf(rel, sizeof(rel), "users/Admin@%s/msp", u->f.orgs[3].domain);
	msp = fx_org_file(&u->f, 3, rel);
	if (lf_update_sign(env, elen, msp, u->f.orgs[3].mspid, &u->upd,
			   &u->updlen, NULL))
		return -1;
	free(msp);
	free(env);
	*state = u;
	return 0;
}

static int teardown(void **state)
{
	struct ux *u = *state;

	fx_teardown(&u->f);
	free(u->cur);
	free(u->upd);
	free(u);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_nesting_refused),
		cmocka_unit_test(test_config_map_entry_without_value),
		cmocka_unit_test(test_flipped_and_truncated_update),
		cmocka_unit_test(test_flipped_and_truncated_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
