/*
 * Tests of the chaincode plan resources: what the spec expands into and
 * the dependencies, and what plan says about changes against a state
 * where the lifecycle was carried out (upgrades, Fabric's sequence rule,
 * no undeploy, the commit's note); a ready package with another SHA-256
 * fails the expansion, naming both hashes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fabric/cc/cc.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/plan.h"

#define NET \
	"name: net\n" \
	"orgs:\n" \
	"  - {name: ord, orderers: {count: 1}}\n" \
	"  - {name: org1, peers: {count: 2}}\n" \
	"  - {name: org2, peers: {count: 1}}\n" \
	"channels:\n" \
	"  - {name: ch1, orgs: [org1, org2]}\n"

/* org2's admin signs offline: its request is made by the group setup
 * (the key stays in a temporary directory the teardown removes) */
#define NET_OFFLINE_FMT \
	"name: net\n" \
	"orgs:\n" \
	"  - {name: ord, orderers: {count: 1}}\n" \
	"  - {name: org1, peers: {count: 2}}\n" \
	"  - {name: org2, peers: {count: 2}, admin: offline, admin_csr: %s}\n" \
	"channels:\n" \
	"  - {name: ch1, orgs: [org1, org2]}\n"
static char tmp[] = "/tmp/lf-cc-plan-XXXXXX";
static char *NET_OFFLINE;

static int make_csr(void **state)
{
	char *cmd, *csr;
	int rc;

	(void)state;
	if (!mkdtemp(tmp))
		return -1;
	cmd = lf_xasprintf("cd %s && openssl ecparam -genkey -name prime256v1 -noout "
			   "-out key.pem && openssl req -new -key key.pem -subj "
			   "/CN=Admin@org2.example.com -out admin.csr", tmp);
	rc = system(cmd);
	free(cmd);
	csr = lf_xasprintf("%s/admin.csr", tmp);
	NET_OFFLINE = lf_xasprintf(NET_OFFLINE_FMT, csr);
	free(csr);
	return rc == 0 ? 0 : -1;
}

static int remove_csr(void **state)
{
	(void)state;
	free(NET_OFFLINE);
	return lf_rmtree(tmp, NULL) == 0 ? 0 : -1;
}

static const char *net = NET;   /* the network spec_of uses */

static struct lf_spec *spec_of(const char *ccs)
{
	char *text = lf_xasprintf("%s%s", net, ccs);
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;

	if (lf_spec_load_buffer(&s, "/tmp/cc-plan.yaml", text, strlen(text), &d))
		lf_diags_print(&d, stdout);
	assert_non_null(s);
	lf_diags_free(&d);
	free(text);
	return s;
}

static struct lf_rset *expand(const struct lf_spec *s)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = NULL;

	if (lf_expand(s, &rs, &err) != 0)
		print_message("%s\n", err.msg);
	assert_non_null(rs);
	return rs;
}

static bool has_dep(const struct lf_rset *rs, const char *addr, const char *dep)
{
	const struct lf_resource *r = lf_rset_get(rs, addr);

	assert_non_null(r);
	for (size_t i = 0; i < r->ndeps; i++)
		if (strcmp(r->deps[i], dep) == 0)
			return true;
	return false;
}

#define BASIC(v, seq) \
	"chaincodes:\n" \
	"  - {name: basic, version: \"" v "\", sequence: " #seq ", type: ccaas, " \
	"channels: [ch1], address: \"127.0.0.1:30300\"}\n"

static void test_cc_expand_deps(void **state)
{
	struct lf_spec *s = spec_of(BASIC("1", 1));
	struct lf_rset *rs = expand(s);
	const struct lf_resource *r;

	(void)state;
	r = lf_rset_get(rs, "chaincode.basic");
	assert_non_null(r);
	assert_non_null(strstr(json_string_value(json_object_get(r->attrs,
		"package_id")), "basic_1:"));
	assert_true(has_dep(rs, "cc_install.basic.org1.peer0", "chaincode.basic"));
	assert_true(has_dep(rs, "cc_install.basic.org1.peer1", "join.ch1.org1.peer1"));
	assert_true(has_dep(rs, "cc_install.basic.org2.peer0", "crypto.org2.admin"));
	assert_true(has_dep(rs, "cc_approve.basic.ch1.org1", "cc_install.basic.org1.peer0"));
	assert_true(has_dep(rs, "cc_approve.basic.ch1.org1", "cc_install.basic.org1.peer1"));
	assert_false(has_dep(rs, "cc_approve.basic.ch1.org1", "cc_install.basic.org2.peer0"));
	assert_true(has_dep(rs, "cc_commit.basic.ch1", "cc_approve.basic.ch1.org1"));
	assert_true(has_dep(rs, "cc_commit.basic.ch1", "cc_approve.basic.ch1.org2"));
	assert_null(lf_rset_get(rs, "cc_install.basic.ord.orderer0"));
	lf_rset_free(rs);
	lf_spec_free(s);
	/* orgs: restricts */
	s = spec_of("chaincodes:\n  - {name: basic, version: \"1\", sequence: 1, "
		    "type: ccaas, channels: [ch1], orgs: [org2], address: \"h:1\"}\n");
	rs = expand(s);
	assert_null(lf_rset_get(rs, "cc_install.basic.org1.peer0"));
	assert_null(lf_rset_get(rs, "cc_approve.basic.ch1.org1"));
	assert_non_null(lf_rset_get(rs, "cc_approve.basic.ch1.org2"));
	assert_false(has_dep(rs, "cc_commit.basic.ch1", "cc_approve.basic.ch1.org1"));
	lf_rset_free(rs);
	lf_spec_free(s);
}

/* the state after an apply that carried everything out (done: done) */
static struct lf_rset *carried_out(const struct lf_rset *des, bool done)
{
	struct lf_rset *cur = NULL;

	assert_int_equal(lf_rset_new(&cur), 0);
	for (size_t i = 0; i < des->n; i++) {
		const struct lf_resource *d = &des->v[i];
		struct lf_resource *c = lf_rset_add(cur, d->addr,
						    json_deep_copy(d->attrs));

		for (size_t k = 0; k < d->ndeps; k++)
			lf_resource_add_dep(c, d->deps[k]);
		c->outputs = json_pack("{s:b}", "done", done);
	}
	return cur;
}

/* plan spec text against a state made from spec `from`; the refusal
 * (NULL: none) and, through *p, the plan */
static char *plan(const char *from, bool done, const char *to,
		  struct lf_plan **p)
{
	struct lf_spec *s0 = spec_of(from), *s1 = spec_of(to);
	struct lf_rset *d0 = expand(s0), *d1 = expand(s1);
	struct lf_rset *cur = carried_out(d0, done);
	struct lf_apply_env env;
	struct lf_err err = LF_ERR_INIT;
	char *why = NULL;
	int rc;

	memset(&env, 0, sizeof(env));
	env.spec = s1;
	env.desired = d1;
	env.current = cur;
	rc = lf_plan_make(p, &env, d1, cur, NULL, &err);
	if (rc != 0)
		why = lf_xstrdup(err.msg);
	lf_rset_free(d0);
	lf_rset_free(d1);
	lf_rset_free(cur);
	lf_spec_free(s0);
	lf_spec_free(s1);
	return why;
}

static const struct lf_action *action(const struct lf_plan *p, const char *addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].addr, addr) == 0)
			return &p->v[i];
	fail_msg("no action for %s", addr);
	return NULL;
}

static void test_cc_plan_upgrade(void **state)
{
	struct lf_plan *p = NULL;
	char *why = plan(BASIC("1", 1), true, BASIC("2", 2), &p);

	(void)state;
	assert_null(why);
	assert_int_equal(action(p, "chaincode.basic")->kind, LF_ACT_UPDATE);
	assert_int_equal(action(p, "cc_install.basic.org1.peer0")->kind, LF_ACT_REPLACE);
	assert_int_equal(action(p, "cc_approve.basic.ch1.org2")->kind, LF_ACT_UPDATE);
	assert_int_equal(action(p, "cc_commit.basic.ch1")->kind, LF_ACT_UPDATE);
	assert_string_equal(action(p, "cc_commit.basic.ch1")->note,
			    "commits sequence 2 once approved by: org1, org2");
	lf_plan_free(p);
	/* the same spec: nothing to do */
	why = plan(BASIC("1", 1), true, BASIC("1", 1), &p);
	assert_null(why);
	assert_false(lf_plan_has_changes(p));
	lf_plan_free(p);
}

/* a first deployment: the commit names every org that must approve,
 * and those whose admin signs offline; their approvals and installs say
 * they go through files */
static void test_cc_plan_first_notes(void **state)
{
	struct lf_plan *p = NULL;
	char *why = plan("", true, BASIC("1", 1), &p);

	(void)state;
	assert_null(why);
	assert_int_equal(action(p, "cc_commit.basic.ch1")->kind, LF_ACT_CREATE);
	assert_string_equal(action(p, "cc_commit.basic.ch1")->note,
			    "commits sequence 1 once approved by: org1, org2");
	assert_null(action(p, "cc_approve.basic.ch1.org2")->note);
	lf_plan_free(p);
	net = NET_OFFLINE;
	why = plan("", true, BASIC("1", 1), &p);
	net = NET;
	assert_null(why);
	assert_string_equal(action(p, "cc_commit.basic.ch1")->note,
			    "commits sequence 1 once approved by: org1, org2; "
			    "offline (apply stops and waits for their `ledgerform "
			    "sign` files): org2");
	assert_string_equal(action(p, "cc_approve.basic.ch1.org2")->note,
			    "Org2MSP's admin signs offline: apply writes the "
			    "approval for `ledgerform sign` (two rounds)");
	assert_non_null(strstr(action(p, "cc_install.basic.org2.peer0")->note,
			       "writes the install proposal"));
	assert_null(action(p, "cc_install.basic.org1.peer0")->note);
	lf_plan_free(p);
}

/* an offline org's installs share one signed file: one after the other */
static void test_cc_expand_offline_installs(void **state)
{
	struct lf_spec *s;
	struct lf_rset *rs;

	(void)state;
	net = NET_OFFLINE;
	s = spec_of(BASIC("1", 1));
	net = NET;
	rs = expand(s);
	assert_true(has_dep(rs, "cc_install.basic.org2.peer1", "cc_install.basic.org2.peer0"));
	assert_false(has_dep(rs, "cc_install.basic.org2.peer0", "cc_install.basic.org2.peer1"));
	assert_false(has_dep(rs, "cc_install.basic.org1.peer1", "cc_install.basic.org1.peer0"));
	assert_true(has_dep(rs, "cc_approve.basic.ch1.org2", "cc_install.basic.org2.peer1"));
	lf_rset_free(rs);
	lf_spec_free(s);
}

static void expect_refusal(const char *from, bool done, const char *to,
			   const char *sub)
{
	struct lf_plan *p = NULL;
	char *why = plan(from, done, to, &p);

	if (!sub) {
		assert_null(why);
		lf_plan_free(p);
		return;
	}
	assert_non_null(why);
	if (!strstr(why, sub))
		fail_msg("'%s' does not say '%s'", why, sub);
	free(why);
}

static void test_cc_plan_refusals(void **state)
{
	(void)state;
	expect_refusal(BASIC("1", 2), true, BASIC("1", 1),
		       "sequence 1 is lower than the 2 already on channel 'ch1'");
	expect_refusal(BASIC("1", 1), true, BASIC("2", 1),
		       "the definition changes but sequence stays 1: an upgrade "
		       "needs sequence: 2");
	expect_refusal(BASIC("1", 1), true, BASIC("2", 3),
		       "sequence goes from 1 to 3: Fabric takes 2 next");
	expect_refusal(BASIC("1", 1), true, "",
		       "Fabric has no undeploy");
	/* an org dropped from orgs: keeps its approval: refused too */
	expect_refusal(BASIC("1", 1), true, "chaincodes:\n  - {name: basic, "
		       "version: \"1\", sequence: 1, type: ccaas, channels: [ch1], "
		       "orgs: [org2], address: \"127.0.0.1:30300\"}\n",
		       "cc_approve.basic.ch1.org1: chaincode 'basic' is approved "
		       "on channel 'ch1'");
	/* nothing really done (nodes not started): nothing to refuse */
	expect_refusal(BASIC("1", 1), false, "", NULL);
	expect_refusal(BASIC("1", 2), false, BASIC("1", 1), NULL);
	/* the same definition at the next sequence is allowed */
	expect_refusal(BASIC("1", 1), true, BASIC("1", 2), NULL);
}

static void test_cc_expand_bad_hash(void **state)
{
	struct lf_spec *s = spec_of("chaincodes:\n  - {name: r, version: \"1\", "
		"sequence: 1, type: ccaas, channels: [ch1], package: {file: "
		"/dev/null, sha256: 0000000000000000000000000000000000000000000000"
		"000000000000000000}}\n");
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = NULL;

	(void)state;
	assert_int_equal(lf_expand(s, &rs, &err), LF_EINVALID);
	assert_null(rs);
	assert_non_null(strstr(err.msg, "has SHA-256 e3b0c44298fc1c149afbf4c8996fb"
			       "92427ae41e4649b934ca495991b7852b855 but the spec "
			       "expects 0000"));
	lf_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_expand_deps),
		cmocka_unit_test(test_cc_plan_upgrade),
		cmocka_unit_test(test_cc_plan_first_notes),
		cmocka_unit_test(test_cc_expand_offline_installs),
		cmocka_unit_test(test_cc_plan_refusals),
		cmocka_unit_test(test_cc_expand_bad_hash),
	};

	return cmocka_run_group_tests(tests, make_csr, remove_csr);
}
