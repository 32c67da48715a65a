/*
 * Policy rules: the encoder's parser refuses what validate refuses (empty
 * gates, trailing or missing commas, trailing text, too deep nesting, an
 * OutOf threshold outside 1..rules, with no int32 wrap), and evaluation
 * never counts a threshold of 0 or less, nor a rule nested too deep, as
 * satisfied, wherever the policy came from.
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
#include "core/fabric/block/polrule.h"
#include "core/util/util.h"

static void refused(const char *rule, const char *why_part, size_t at)
{
	struct lf_err err = LF_ERR_INIT;
	ProtobufCBinaryData b = { 0, NULL };
	char why[160];
	size_t pos = 99;
	int t = 0;

	assert_int_equal(lf_policy_encode("Signature", rule, &t, &b, &err),
			 LF_EINVALID);
	assert_null(b.data);
	assert_int_equal(lf_policy_rule_check("Signature", rule, &pos, why,
					      sizeof(why)), LF_EINVALID);
	if (!strstr(why, why_part) || pos != at)
		fail_msg("'%s': got '%s' at %zu", rule, why, pos);
	assert_non_null(strstr(err.msg, why_part));
}

static char *nest(int depth)
{
	struct lf_buf b = LF_BUF_INIT;

	for (int i = 0; i < depth; i++)
		lf_buf_printf(&b, "OR(");
	lf_buf_printf(&b, "'A.member'");
	for (int i = 0; i < depth; i++)
		lf_buf_printf(&b, ")");
	return b.data;
}

static void test_rule_parser_refuses(void **state)
{
	char why[160], *r;
	size_t at;

	(void)state;
	refused("OutOf(1)", "expected ',' after OutOf's number", 7);
	refused("OR()", "OR() needs at least one rule", 3);
	refused("AND()", "AND() needs at least one rule", 4);
	refused("AND('X.peer',)", "trailing ','", 13);
	refused("OR('A.peer' 'B.peer')", "expected ',' or ')'", 12);
	refused("OR('A.peer') x", "trailing text", 13);
	refused("OR('A.peer'", "missing ')'", 11);
	refused("OutOf(2147483648, 'A.peer', 'B.peer')",
		"OutOf threshold 2147483648 must be from 1", 6);
	refused("OutOf(4294967297, 'A.peer')", "threshold 4294967297", 6);
	refused("OutOf(0, 'A.peer')", "threshold 0 must be from 1", 6);
	refused("OutOf(3, 'A.peer', 'B.peer')", "number of rules (2)", 6);
	refused("OutOf(-1, 'A.peer')", "needs a whole number", 6);
	refused("OR('A.boss')", "is not MSPID.member", 3);
	r = nest(LF_POLICY_MAX_DEPTH + 1);
	refused(r, "nested deeper than 32", 3 * LF_POLICY_MAX_DEPTH);
	free(r);
	r = nest(LF_POLICY_MAX_DEPTH);
	assert_int_equal(lf_policy_rule_check("Signature", r, &at, why,
					      sizeof(why)), 0);
	free(r);
	assert_int_equal(lf_policy_rule_check("Signature",
		"OutOf(2, 'A.peer', AND('B.admin', 'C.client'), 'D.member')",
		&at, why, sizeof(why)), 0);
	assert_int_equal(lf_policy_rule_check("ImplicitMeta", "ANY Readers x",
					      &at, why, sizeof(why)),
			 LF_EINVALID);
	assert_int_equal(at, 11);
	assert_int_equal(lf_policy_rule_check("ImplicitMeta",
					      "MAJORITY Admins", &at, why,
					      sizeof(why)), 0);
}

/* a group whose "Admins" is OutOf(n, 'A.member') as another tool could
 * have written it into a block */
static Lfpb__ConfigGroup *group_with_threshold(int32_t n)
{
	Lfpb__SignaturePolicyEnvelope env = LFPB__SIGNATURE_POLICY_ENVELOPE__INIT;
	Lfpb__SignaturePolicy top = LFPB__SIGNATURE_POLICY__INIT;
	Lfpb__SignaturePolicy one = LFPB__SIGNATURE_POLICY__INIT;
	Lfpb__SignaturePolicy__NOutOf no = LFPB__SIGNATURE_POLICY__NOUT_OF__INIT;
	Lfpb__SignaturePolicy *rules[1] = { &one };
	Lfpb__MSPRole role = LFPB__MSPROLE__INIT;
	Lfpb__MSPPrincipal pr = LFPB__MSPPRINCIPAL__INIT;
	Lfpb__MSPPrincipal *ids[1] = { &pr };
	Lfpb__ConfigGroup *g = lf_cg_new("Admins");

	role.msp_identifier = "A";
	pr.principal = lf_pb_bin(&role.base);
	one.type_case = LFPB__SIGNATURE_POLICY__TYPE_SIGNED_BY;
	no.n = n;
	no.n_rules = 1;
	no.rules = rules;
	top.type_case = LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF;
	top.n_out_of = &no;
	env.rule = &top;
	env.n_identities = 1;
	env.identities = ids;
	lf_cg_put_policy(g, "Admins", LF_POL_SIGNATURE, lf_pb_bin(&env.base),
			 "Admins");
	free(pr.principal.data);
	return g;
}

static void test_eval_refuses_threshold_zero_or_less(void **state)
{
	const int32_t bad[] = { 0, -1, INT32_MIN };
	struct lf_err err = LF_ERR_INIT;
	struct lf_eval ev;

	(void)state;
	for (size_t i = 0; i < LF_ARRAY_LEN(bad); i++) {
		Lfpb__ConfigGroup *g = group_with_threshold(bad[i]);

		assert_int_equal(lf_policy_eval(g, "Admins", NULL, 0, &ev, &err), 0);
		assert_false(ev.ok);    /* no signature satisfies nothing */
		assert_non_null(ev.missing);
		lf_eval_clear(&ev);
		lf_cg_free(g);
	}
}

/* a policy value nested far deeper than any parser allows (from a block
 * made elsewhere): refused on unpack, never recursed into */
static void test_eval_deep_policy_value(void **state)
{
	Lfpb__ConfigGroup *g = lf_cg_new("Admins");
	struct lf_err err = LF_ERR_INIT;
	struct lf_eval ev;
	size_t depth = 20000, *sz = lf_xcalloc(depth + 1, sizeof(size_t));
	uint8_t *buf, *p;
	ProtobufCBinaryData v;
	char *d;

	(void)state;
	/* envelope.rule, n_out_of, rules, n_out_of, ...: all field 2; each
	 * level's length is the size of everything inside it */
	for (size_t k = 1; k <= depth; k++) {
		size_t n = sz[k - 1], vl = 1;

		while (n >= 0x80) {
			n >>= 7;
			vl++;
		}
		sz[k] = 1 + vl + sz[k - 1];
	}
	p = buf = lf_xmalloc(sz[depth]);
	for (size_t k = depth; k >= 1; k--) {
		size_t n = sz[k - 1];

		*p++ = 0x12;
		while (n >= 0x80) {
			*p++ = (uint8_t)(n | 0x80);
			n >>= 7;
		}
		*p++ = (uint8_t)n;
	}
	assert_int_equal((size_t)(p - buf), sz[depth]);
	free(sz);
	v.data = buf;
	v.len = (size_t)(p - buf);
	lf_cg_put_policy(g, "Admins", LF_POL_SIGNATURE, v, "Admins");
	d = lf_policy_describe(lf_cg_policy(g, "Admins")->policy);
	assert_string_equal(d, "policy type 1");
	free(d);
	assert_int_equal(lf_policy_eval(g, "Admins", NULL, 0, &ev, &err), 0);
	assert_false(ev.ok);
	lf_eval_clear(&ev);
	lf_cg_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_parser_refuses),
		cmocka_unit_test(test_eval_refuses_threshold_zero_or_less),
		cmocka_unit_test(test_eval_deep_policy_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
