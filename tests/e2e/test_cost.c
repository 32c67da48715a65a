/*
 * The cost estimate: sizes' prices per provider give `plan` a monthly cost
 * (730 hours) before and after, per host and per provider, in text and in
 * `plan --json`'s "cost"; a host without a price is "no price", not 0;
 * bad prices and currencies are errors at their positions.
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

#include "clitest.h"

static const char SPEC[] =
	"name: cost\n"
	"currency: EUR\n"
	"sizes:\n"
	"  small: {vcpus: 2, memory: 4GiB, disk: 20GiB, price: {local: 0.0416, lab: 0.1}}\n"
	"  big: {vcpus: 8, memory: 16GiB, disk: 20GiB, price: {local: 0.25}}\n"
	"providers:\n"
	"  lab: {driver: sim}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 1, size: big}\n"
	"  - name: org1\n"
	"    peers: {count: 2}\n"
	"  - name: org2\n"
	"    peers: {count: 1, provider: lab, size: medium}\n"
	"channels:\n"
	"  - name: c\n"
	"    orgs: [org1, org2]\n";

/* s with the first from replaced by to (not inlined: GCC 12 at -O3
 * warns of a dangling pointer that is not, -Wdangling-pointer) */
static char *__attribute__((noinline)) replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	if (!at || asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)) < 0)
		abort();
	return out;
}

static json_t *plan_cost(struct clitest *t)
{
	json_t *doc, *cost;

	assert_int_equal(ct_run(t, "plan -f spec.yaml --json"), 0);
	doc = json_loads(t->out, 0, NULL);
	assert_non_null(doc);
	cost = json_incref(json_object_get(doc, "cost"));
	json_decref(doc);
	return cost;
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

static const json_t *entry(const json_t *arr, const char *key, const char *val)
{
	const json_t *e;
	size_t i;

	json_array_foreach(arr, i, e)
		if (strcmp(json_string_value(json_object_get(e, key)), val) == 0)
			return e;
	fail_msg("no entry %s=%s", key, val);
	return NULL;
}

static void assert_money(double got, double want)
{
	if (got < want - 0.0001 || got > want + 0.0001)
		fail_msg("%.4f != %.4f", got, want);
}

static void test_cost_create(void **state)
{
	struct clitest t;
	json_t *c;
	const json_t *e;

	(void)state;
	ct_init(&t, "cost-create");
	ct_write(&t, "spec.yaml", SPEC);
	c = plan_cost(&t);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "currency")), "EUR");
	assert_int_equal(json_integer_value(json_object_get(c, "hours_per_month")), 730);
	/* 0.25 * 730 + 2 * 0.0416 * 730 = 182.50 + 60.736 */
	assert_money(num(c, "monthly_before"), 0);
	assert_money(num(c, "monthly_after"), 243.24);
	assert_money(num(c, "monthly_change"), 243.24);
	e = entry(json_object_get(c, "resources"), "address", "host.org1.peer0");
	assert_true(json_is_null(json_object_get(e, "before")));
	assert_money(num(json_object_get(e, "after"), "hourly"), 0.0416);
	assert_money(num(json_object_get(e, "after"), "monthly"), 30.37);
	/* medium has no price: listed, not counted as zero */
	e = entry(json_object_get(c, "resources"), "address", "host.org2.peer0");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "after"), "status")),
			    "no price");
	assert_null(json_object_get(e, "change"));
	assert_int_equal(json_array_size(json_object_get(c, "no_price")), 1);
	e = entry(json_object_get(c, "providers"), "provider", "lab");
	assert_int_equal(json_integer_value(json_object_get(e, "hosts_no_price")), 1);
	e = entry(json_object_get(c, "providers"), "provider", "local");
	assert_money(num(e, "monthly_after"), 243.24);
	json_decref(c);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "Monthly cost estimate (EUR, 730 hours a month)"));
	assert_non_null(strstr(t.out, "host.ordering.orderer0 (local, big)"));
	assert_non_null(strstr(t.out, "182.50    +182.50"));
	assert_non_null(strstr(t.out, "no price          -"));
	assert_non_null(strstr(t.out, "1 host with no price (not in the totals): host.org2.peer0"));
	assert_non_null(strstr(t.out, "0.00     243.24    +243.24"));
	ct_done(&t);
}

static void test_cost_change(void **state)
{
	struct clitest t;
	char *spec1, *spec2;
	json_t *c;
	const json_t *e;

	(void)state;
	ct_init(&t, "cost-change");
	ct_write(&t, "spec.yaml", SPEC);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	/* the orderer shrinks to small, org1 gets a third peer */
	spec1 = replace(SPEC, "size: big}", "size: small}");
	spec2 = replace(spec1, "count: 2}", "count: 3}");
	ct_write(&t, "spec.yaml", spec2);
	free(spec1);
	free(spec2);
	c = plan_cost(&t);
	assert_non_null(c);
	/* before 243.24; after 4 * 0.0416 * 730 = 121.472 */
	assert_money(num(c, "monthly_before"), 243.24);
	assert_money(num(c, "monthly_after"), 121.47);
	assert_money(num(c, "monthly_change"), -121.77);
	e = entry(json_object_get(c, "resources"), "address", "host.ordering.orderer0");
	assert_money(num(json_object_get(e, "before"), "monthly"), 182.50);
	assert_money(num(json_object_get(e, "after"), "monthly"), 30.37);
	assert_money(num(e, "change"), -152.13);
	e = entry(json_object_get(c, "resources"), "address", "host.org1.peer2");
	assert_string_equal(json_string_value(json_object_get(e, "action")), "create");
	json_decref(c);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "(3 unchanged hosts: in the totals below)"));
	assert_non_null(strstr(t.out, "243.24     121.47    -121.77"));
	ct_done(&t);
}

static void test_cost_none_and_errors(void **state)
{
	struct clitest t;
	json_t *c;

	(void)state;
	ct_init(&t, "cost-errors");
	/* no prices anywhere: no estimate */
	ct_write(&t, "spec.yaml", "name: n\norgs:\n  - name: o\n    peers: {count: 1}\n");
	c = plan_cost(&t);
	assert_null(c);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_null(strstr(t.out, "Monthly cost"));
	ct_write(&t, "bad.yaml",
		 "name: n\n"
		 "currency: euro\n"
		 "sizes:\n"
		 "  small: {price: {nowhere: 1, local: -1}}\n"
		 "  medium: {price: {aws: abc}}\n"
		 "  large: {price: [1]}\n"
		 "orgs:\n"
		 "  - name: o\n"
		 "    peers: {count: 1}\n");
	assert_int_equal(ct_run(&t, "validate bad.yaml"), 1);
	assert_non_null(strstr(t.err, "bad.yaml:2:11: error: currency: expected a three-letter code"));
	assert_non_null(strstr(t.err, "bad.yaml:4:19: error: size 'small': price for 'nowhere', "
			       "which is neither a provider of the spec nor a driver"));
	assert_non_null(strstr(t.err, "bad.yaml:4:38: error: size 'small': price for 'local': "
			       "expected a price per hour"));
	assert_non_null(strstr(t.err, "bad.yaml:5:25: error: size 'medium': price for 'aws'"));
	assert_non_null(strstr(t.err, "bad.yaml:6:18: error: a size's price: expected a mapping"));
	assert_non_null(strstr(t.err, "5 errors"));
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cost_create),
		cmocka_unit_test(test_cost_change),
		cmocka_unit_test(test_cost_none_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
