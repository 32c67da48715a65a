/*
 * State records are checked before they are used: crypto dirs relative
 * and below the crypto dir, channel names channel ids, host provider,
 * driver and name plain names. A bad record refuses the plan (and refresh
 * and apply) with a message naming the record and the field. A host whose
 * provider left the spec cannot be deleted, and the plan says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util/util.h"
#include "fixture.h"

static void apply_all(struct fx *f)
{
	struct lf_plan *p = fx_plan(f, NULL);
	struct lf_apply_result res;

	assert_int_equal(fx_apply(f, p, 10, &res, NULL), 0);
	free(res.summary);
	lf_plan_free(p);
}

/* set attrs.KEY of the recorded ADDR (a new record object: records are
 * shared with the index and replaced, never changed in place) */
static void craft(struct fx *f, const char *addr, const char *key, json_t *val)
{
	json_t *rec = json_deep_copy(json_object_get(f->doc.resources, addr));

	assert_non_null(rec);
	json_object_set_new(json_object_get(rec, "attrs"), key, val);
	json_object_del(rec, "hash"); /* recomputed from the attrs */
	json_object_set_new(f->doc.resources, addr, rec);
	fx_reload_current(f);
}

/* the plan, refresh and apply all refuse; the message names addr and key */
static void expect_refused(struct fx *f, const char *addr, const char *key)
{
	struct lf_plan *p = NULL;
	struct lf_plan good = { 0 };
	struct lf_apply_result res;
	struct lf_apply_opts ao = LF_APPLY_OPTS_INIT;
	struct lf_err err = LF_ERR_INIT;
	char *field = lf_xasprintf("attrs.%s", key);

	assert_int_equal(lf_plan_make(&p, &f->env, f->desired, f->current, NULL, &err),
			 LF_EINVALID);
	assert_null(p);
	assert_non_null(strstr(err.msg, addr));
	assert_non_null(strstr(err.msg, field));
	lf_err_clear(&err);
	assert_int_equal(lf_refresh(&f->env, &f->current, f->doc.resources, LF_REFRESH_ALL, 4, NULL, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, addr));
	lf_err_clear(&err);
	assert_int_equal(lf_plan_apply(&good, &f->env, f->desired, f->state, &f->doc, &ao,
				       &res, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, field));
	free(field);
}

static void test_records_crypto_dirs(void **state)
{
	static const char *const bad[] = { "/etc", "../../x", "a/../../x", "..", ".",
		"a//b", "a/", "" };
	struct fx f;
	size_t i;

	(void)state;
	fx_open(&f, "latency_ms: 0", 1);
	apply_all(&f);
	for (i = 0; i < LF_ARRAY_LEN(bad); i++) {
		craft(&f, "crypto.bank.peer0", "dir", json_string(bad[i]));
		expect_refused(&f, "crypto.bank.peer0", "dir");
		craft(&f, "crypto.bank.peer0", "dir",
		      json_string("peerOrganizations/bank.example.com/peers/x"));
		craft(&f, "crypto.bank.msp", "org_dir", json_string(bad[i]));
		expect_refused(&f, "crypto.bank.msp", "org_dir");
		craft(&f, "crypto.bank.msp", "org_dir", json_string("peerOrganizations/b"));
	}
	craft(&f, "crypto.bank.msp", "org_dir", json_integer(3));
	expect_refused(&f, "crypto.bank.msp", "org_dir");
	fx_close(&f);
}

static void test_records_channel_and_host(void **state)
{
	struct fx f;
	struct lf_plan *p = NULL;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	fx_open(&f, "latency_ms: 0", 1);
	apply_all(&f);
	craft(&f, "channel.trade", "channel", json_string("../x"));
	expect_refused(&f, "channel.trade", "channel");
	craft(&f, "channel.trade", "channel", json_string("Trade"));
	expect_refused(&f, "channel.trade", "channel");
	craft(&f, "channel.trade", "channel", json_string("trade"));
	craft(&f, "host.bank.peer0", "name", json_string("../../x"));
	expect_refused(&f, "host.bank.peer0", "name");
	craft(&f, "host.bank.peer0", "name", json_string("peer0-bank"));
	craft(&f, "host.bank.peer0", "driver", json_string("../evil"));
	expect_refused(&f, "host.bank.peer0", "driver");
	craft(&f, "host.bank.peer0", "driver", json_string("sim"));
	json_object_del(json_object_get(json_object_get(f.doc.resources, "host.bank.peer0"),
					"attrs"), "provider");
	fx_reload_current(&f);
	expect_refused(&f, "host.bank.peer0", "provider");
	craft(&f, "host.bank.peer0", "provider", json_string("cloud"));
	/* repaired: plans again */
	assert_int_equal(lf_plan_make(&p, &f.env, f.desired, f.current, NULL, &err), 0);
	lf_plan_free(p);
	fx_close(&f);
}

/* a host made by a provider the spec no longer has: refused, saying how to
 * go on; the host outputs hold only what the driver returned */
static void test_records_provider_gone(void **state)
{
	struct fx f;
	struct lf_plan *p = NULL;
	struct lf_plan_opts od = { true, NULL };
	struct lf_err err = LF_ERR_INIT;
	const json_t *out;

	(void)state;
	fx_open(&f, "latency_ms: 0, zone: s3cret", 1);
	apply_all(&f);
	out = json_object_get(json_object_get(f.doc.resources, "host.bank.peer0"), "outputs");
	assert_non_null(out);
	assert_null(json_object_get(out, "provider_config"));
	{
		char *dump = json_dumps(f.doc.resources, 0);

		assert_null(strstr(dump, "s3cret"));
		free(dump);
	}
	craft(&f, "host.bank.peer0", "provider", json_string("gone"));
	assert_int_equal(lf_plan_make(&p, &f.env, f.desired, f.current, &od, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, "provider 'gone' is not in the spec; "
			       "put it back to destroy host.bank.peer0"));
	lf_err_clear(&err);
	/* not a destroy: the host moves to provider cloud, a replace whose
	 * delete half needs provider gone */
	assert_int_equal(lf_plan_make(&p, &f.env, f.desired, f.current, NULL, &err),
			 LF_EINVALID);
	assert_non_null(strstr(err.msg, "provider 'gone' is not in the spec"));
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_crypto_dirs),
		cmocka_unit_test(test_records_channel_and_host),
		cmocka_unit_test(test_records_provider_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
