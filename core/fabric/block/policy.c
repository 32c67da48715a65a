/*
 * Fabric policies: encoding ImplicitMeta rules ("MAJORITY Admins") and the
 * signature policy language ("OR('Org1MSP.admin', AND(...), OutOf(2,...))",
 * as common/policydsl: principals numbered in order of appearance, no
 * de-duplication), describing them, and evaluating them against a set of
 * validated signers as Fabric's policy manager does.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/polrule.h"
#include "core/util/util.h"

static const char *const meta_rules[3] = { "ANY", "ALL", "MAJORITY" };
static const char *const role_names[5] = { "member", "admin", "client",
					   "peer", "orderer" };

/* "ANY Readers": one of the three words, spaces, a policy name, nothing
 * more; the problem goes to why and its byte offset to *at */
static int implicit_parse(const char *rule, int *r, char *sub, size_t subsz,
			  char *why, size_t whysz, size_t *at)
{
	const char *p = rule, *name;
	size_t n;

	*r = -1;
	for (int i = 0; i < 3; i++)
		if (lf_str_has_prefix(rule, meta_rules[i]) &&
		    rule[strlen(meta_rules[i])] == ' ')
			*r = i;
	*at = 0;
	if (*r < 0) {
		snprintf(why, whysz, "expected ANY, ALL or MAJORITY followed by "
			 "a policy name");
		return LF_EINVALID;
	}
	p += strlen(meta_rules[*r]);
	while (*p == ' ')
		p++;
	name = p;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	n = (size_t)(p - name);
	*at = (size_t)(p - rule);
	if (n == 0 || n >= subsz) {
		snprintf(why, whysz, "expected a policy name (letters, digits, "
			 "'_', at most %zu)", subsz - 1);
		return LF_EINVALID;
	}
	if (*p) {
		snprintf(why, whysz, "trailing text after the policy name");
		return LF_EINVALID;
	}
	memcpy(sub, name, n);
	sub[n] = '\0';
	return 0;
}

static int implicit_encode(const char *rule, ProtobufCBinaryData *out,
			   struct lf_err *err)
{
	Lfpb__ImplicitMetaPolicy im = LFPB__IMPLICIT_META_POLICY__INIT;
	char sub[128], why[160];
	size_t at;
	int r;

	if (implicit_parse(rule, &r, sub, sizeof(sub), why, sizeof(why), &at))
		return lf_err_set(err, LF_EINVALID, "invalid implicit meta "
				  "policy rule '%s': %s", rule, why);
	im.rule = r;
	im.sub_policy = sub;
	*out = lf_pb_bin(&im.base);
	return 0;
}

/* ---- signature policy parser ---- */
struct sp_parse {
	const char *s, *rule;
	Lfpb__MSPPrincipal **ids;
	size_t nids;
	unsigned depth;
	char why[160];      /* the first problem */
	size_t at;          /* its byte offset in rule */
};

static void *sp_fail(struct sp_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void *sp_fail(struct sp_parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->why[0]) {
		va_start(ap, fmt);
		vsnprintf(p->why, sizeof(p->why), fmt, ap);
		va_end(ap);
		p->at = (size_t)(p->s - p->rule);
	}
	return NULL;
}

static void skip_ws(struct sp_parse *p)
{
	while (isspace((unsigned char)*p->s))
		p->s++;
}

static Lfpb__SignaturePolicy *sp_new(void)
{
	Lfpb__SignaturePolicy *sp = lf_xmalloc(sizeof(*sp));

	lfpb__signature_policy__init(sp);
	return sp;
}

static Lfpb__SignaturePolicy *sp_principal(struct sp_parse *p)
{
	char q = *p->s, *text, *dot;
	const char *end = strchr(p->s + 1, q);
	Lfpb__MSPRole role = LFPB__MSPROLE__INIT;
	Lfpb__MSPPrincipal *pr;
	Lfpb__SignaturePolicy *sp;
	int r = -1;

	if (!end)
		return sp_fail(p, "unterminated principal");
	text = lf_xstrndup(p->s + 1, (size_t)(end - p->s - 1));
	dot = strrchr(text, '.');
	for (int i = 0; dot && i < 5; i++)
		if (strcmp(dot + 1, role_names[i]) == 0)
			r = i;
	if (!dot || dot == text || r < 0) {
		sp_fail(p, "principal '%.64s' is not "
			"MSPID.member|admin|client|peer|orderer", text);
		free(text);
		return NULL;
	}
	p->s = end + 1;
	*dot = '\0';
	role.msp_identifier = text;
	role.role = r;
	pr = lf_xmalloc(sizeof(*pr));
	lfpb__mspprincipal__init(pr);
	pr->principal_classification = 0;  /* ROLE */
	pr->principal = lf_pb_bin(&role.base);
	free(text);
	p->ids = lf_xrealloc(p->ids, (p->nids + 1) * sizeof(*p->ids));
	p->ids[p->nids] = pr;
	sp = sp_new();
	sp->type_case = LFPB__SIGNATURE_POLICY__TYPE_SIGNED_BY;
	sp->signed_by = (int32_t)p->nids++;
	return sp;
}

static Lfpb__SignaturePolicy *sp_expr(struct sp_parse *p);

/* gate name -> n (AND: -1 = all, OR: 1, OutOf: 0 = read first arg) */
static int gate_kind(const char *w, size_t n, int *kind)
{
	if (n == 3 && strncasecmp(w, "and", 3) == 0)
		*kind = -1;
	else if (n == 2 && strncasecmp(w, "or", 2) == 0)
		*kind = 1;
	else if (n == 5 && strncasecmp(w, "outof", 5) == 0)
		*kind = 0;
	else
		return -1;
	return 0;
}

/* OutOf's threshold: decimal digits, checked against the rule count
 * once the rules are read; more than 9 digits is out of range anyway
 * (never cast to int32 unchecked: that wrapped negative) */
static int sp_threshold(struct sp_parse *p, long long *n, int *ndig)
{
	const char *d = p->s;

	*n = 0;
	while (isdigit((unsigned char)*p->s)) {
		if (p->s - d < 10)
			*n = *n * 10 + (*p->s - '0');
		p->s++;
	}
	*ndig = (int)(p->s - d > 64 ? 64 : p->s - d);
	if (p->s == d) {
		sp_fail(p, "OutOf needs a whole number first");
		return -1;
	}
	skip_ws(p);
	if (*p->s != ',') {
		sp_fail(p, "expected ',' after OutOf's number");
		return -1;
	}
	p->s++;
	return 0;
}

/* the rules of a gate up to and including its ')': at least one, comma
 * separated, no trailing comma */
static int sp_rules(struct sp_parse *p, Lfpb__SignaturePolicy__NOutOf *no,
		    const char *gate)
{
	const char *problem = NULL;

	skip_ws(p);
	if (*p->s == ')') {
		sp_fail(p, "%s needs at least one rule", gate);
		return -1;
	}
	while (!problem) {
		Lfpb__SignaturePolicy *sub = sp_expr(p);

		if (!sub)
			return -1;
		no->rules = lf_xrealloc(no->rules, (no->n_rules + 1) *
					sizeof(*no->rules));
		no->rules[no->n_rules++] = sub;
		skip_ws(p);
		if (*p->s == ')') {
			p->s++;
			return 0;
		}
		if (*p->s != ',') {
			problem = *p->s ? "expected ',' or ')'" : "missing ')'";
			break;
		}
		p->s++;
		skip_ws(p);
		if (*p->s == ')')
			problem = "trailing ',' before ')'";
	}
	sp_fail(p, "%s", problem);
	return -1;
}

static int sp_args(struct sp_parse *p, Lfpb__SignaturePolicy__NOutOf *no,
		   int kind, const char *gate)
{
	const char *t;
	long long n = 0;
	int ndig = 0;

	skip_ws(p);
	t = p->s;
	if (kind == 0 && sp_threshold(p, &n, &ndig) != 0)
		return -1;
	if (sp_rules(p, no, gate) != 0)
		return -1;
	if (kind == 0 && (n < 1 || (unsigned long long)n > no->n_rules)) {
		p->s = t;
		sp_fail(p, "OutOf threshold %.*s must be from 1 to the number "
			"of rules (%zu)", ndig, t, no->n_rules);
		return -1;
	}
	no->n = kind == -1 ? (int32_t)no->n_rules
	      : kind == 1 ? 1 : (int32_t)n;
	return 0;
}

static Lfpb__SignaturePolicy *sp_expr(struct sp_parse *p)
{
	const char *w;
	Lfpb__SignaturePolicy *sp;
	Lfpb__SignaturePolicy__NOutOf *no;
	int kind, rc;
	char gate[8];

	skip_ws(p);
	if (*p->s == '\'' || *p->s == '"')
		return sp_principal(p);
	w = p->s;
	while (isalpha((unsigned char)*p->s))
		p->s++;
	if (gate_kind(w, (size_t)(p->s - w), &kind) != 0) {
		p->s = w;
		return sp_fail(p, *w ? "expected a principal 'MSPID.role', "
			       "OR(, AND( or OutOf(" : "missing a rule");
	}
	snprintf(gate, sizeof(gate), "%.*s()", (int)(p->s - w), w);
	skip_ws(p);
	if (*p->s != '(')
		return sp_fail(p, "expected '('");
	if (++p->depth > LF_POLICY_MAX_DEPTH) {
		p->s = w;
		return sp_fail(p, "rules nested deeper than %d",
			       LF_POLICY_MAX_DEPTH);
	}
	p->s++;
	sp = sp_new();
	no = lf_xmalloc(sizeof(*no));
	lfpb__signature_policy__nout_of__init(no);
	sp->type_case = LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF;
	sp->n_out_of = no;
	rc = sp_args(p, no, kind, gate);
	p->depth--;
	if (rc != 0) {
		protobuf_c_message_free_unpacked(&sp->base, NULL);
		return NULL;
	}
	return sp;
}

/* parse rule into *env (rule and identities owned by env) */
static int sp_parse_rule(const char *rule, Lfpb__SignaturePolicyEnvelope *env,
			 struct sp_parse *p)
{
	memset(p, 0, sizeof(*p));
	p->s = p->rule = rule;
	env->rule = sp_expr(p);
	if (env->rule) {
		skip_ws(p);
		if (*p->s)
			sp_fail(p, "trailing text after the rule");
	}
	env->identities = p->ids;
	env->n_identities = p->nids;
	return p->why[0] ? LF_EINVALID : 0;
}

static void sp_env_clear(Lfpb__SignaturePolicyEnvelope *env)
{
	if (env->rule)
		protobuf_c_message_free_unpacked(&env->rule->base, NULL);
	for (size_t i = 0; i < env->n_identities; i++)
		protobuf_c_message_free_unpacked(&env->identities[i]->base, NULL);
	free(env->identities);
}

static int signature_encode(const char *rule, ProtobufCBinaryData *out,
			    struct lf_err *err)
{
	struct sp_parse p;
	Lfpb__SignaturePolicyEnvelope env = LFPB__SIGNATURE_POLICY_ENVELOPE__INIT;
	int rc = sp_parse_rule(rule, &env, &p);

	if (rc == 0)
		*out = lf_pb_bin(&env.base);
	else
		lf_err_set(err, LF_EINVALID, "policy '%s': %s (at character "
			   "%zu)", rule, p.why, p.at + 1);
	sp_env_clear(&env);
	return rc;
}

int lf_policy_rule_check(const char *type, const char *rule, size_t *at,
			 char *why, size_t whysz)
{
	Lfpb__SignaturePolicyEnvelope env = LFPB__SIGNATURE_POLICY_ENVELOPE__INIT;
	struct sp_parse p;
	char sub[128];
	int r, rc;

	*at = 0;
	if (lf_streq(type, "ImplicitMeta"))
		return implicit_parse(rule, &r, sub, sizeof(sub), why, whysz, at);
	if (!lf_streq(type, "Signature")) {
		snprintf(why, whysz, "unknown policy type (ImplicitMeta or "
			 "Signature)");
		return LF_EINVALID;
	}
	rc = sp_parse_rule(rule, &env, &p);
	if (rc) {
		snprintf(why, whysz, "%s", p.why);
		*at = p.at;
	}
	sp_env_clear(&env);
	return rc;
}

int lf_policy_encode(const char *type, const char *rule, int *ptype,
		     ProtobufCBinaryData *out, struct lf_err *err)
{
	if (lf_streq(type, "ImplicitMeta")) {
		*ptype = LF_POL_IMPLICIT_META;
		return implicit_encode(rule, out, err);
	}
	if (lf_streq(type, "Signature")) {
		*ptype = LF_POL_SIGNATURE;
		return signature_encode(rule, out, err);
	}
	return lf_err_set(err, LF_EINVALID, "unknown policy type '%s' "
			  "(ImplicitMeta or Signature)", type ? type : "");
}

int lf_cg_add_policy(Lfpb__ConfigGroup *g, const char *name,
		     const char *type, const char *rule, struct lf_err *err)
{
	ProtobufCBinaryData b;
	int pt, rc = lf_policy_encode(type, rule, &pt, &b, err);

	if (rc == 0)
		lf_cg_put_policy(g, name, pt, b, "Admins");
	return rc;
}

/* ---- describing ---- */
static void sp_describe(const Lfpb__SignaturePolicy *sp,
			const Lfpb__SignaturePolicyEnvelope *env,
			struct lf_buf *b)
{
	const Lfpb__SignaturePolicy__NOutOf *no = sp->n_out_of;

	if (sp->type_case == LFPB__SIGNATURE_POLICY__TYPE_SIGNED_BY) {
		Lfpb__MSPRole *r = NULL;
		int i = sp->signed_by;

		if (i >= 0 && (size_t)i < env->n_identities &&
		    env->identities[i]->principal_classification == 0)
			r = lf_pb_unpack(&lfpb__msprole__descriptor,
				env->identities[i]->principal.len,
				env->identities[i]->principal.data, NULL);
		if (r && r->role >= 0 && r->role < 5)
			lf_buf_printf(b, "'%s.%s'", r->msp_identifier,
				      role_names[r->role]);
		else
			lf_buf_printf(b, "identity#%d", i);
		if (r)
			lfpb__msprole__free_unpacked(r, NULL);
		return;
	}
	if (sp->type_case != LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF)
		return;
	if (no->n == 1 && no->n_rules > 1)
		lf_buf_printf(b, "OR(");
	else if ((size_t)no->n == no->n_rules && no->n_rules > 1)
		lf_buf_printf(b, "AND(");
	else if (no->n == 1)
		lf_buf_printf(b, "OR(");
	else
		lf_buf_printf(b, "OutOf(%d, ", no->n);
	for (size_t i = 0; i < no->n_rules; i++) {
		if (i)
			lf_buf_printf(b, ", ");
		sp_describe(no->rules[i], env, b);
	}
	lf_buf_printf(b, ")");
}

char *lf_policy_describe(const Lfpb__Policy *p)
{
	struct lf_buf b = LF_BUF_INIT;

	if (p && p->type == LF_POL_IMPLICIT_META) {
		Lfpb__ImplicitMetaPolicy *im = lf_pb_unpack(
			&lfpb__implicit_meta_policy__descriptor, p->value.len,
			p->value.data, NULL);

		if (im && im->rule >= 0 && im->rule < 3)
			lf_buf_printf(&b, "%s %s", meta_rules[im->rule],
				      im->sub_policy);
		if (im)
			lfpb__implicit_meta_policy__free_unpacked(im, NULL);
	} else if (p && p->type == LF_POL_SIGNATURE) {
		Lfpb__SignaturePolicyEnvelope *e =
			lf_pb_unpack(&lfpb__signature_policy_envelope__descriptor,
				p->value.len, p->value.data, NULL);

		if (e && e->rule)
			sp_describe(e->rule, e, &b);
		if (e)
			lfpb__signature_policy_envelope__free_unpacked(e, NULL);
	}
	if (b.len == 0)
		lf_buf_printf(&b, "policy type %d", p ? p->type : 0);
	return b.data;
}

/* ---- evaluation ---- */
void lf_eval_clear(struct lf_eval *e)
{
	if (!e)
		return;
	free(e->need);
	free(e->have);
	free(e->missing);
	free(e->brief);
	memset(e, 0, sizeof(*e));
}

static bool principal_ok(const Lfpb__MSPPrincipal *pr,
			 const struct lf_signer *s)
{
	Lfpb__MSPRole *r;
	bool ok = false;

	if (s->problem || pr->principal_classification != 0)
		return false;
	r = lf_pb_unpack(&lfpb__msprole__descriptor, pr->principal.len,
			 pr->principal.data, NULL);
	if (r && r->role >= 0 && r->role < 5 &&
	    lf_streq(r->msp_identifier, s->mspid))
		ok = r->role == LF_ROLE_MEMBER || (s->roles & (1u << r->role));
	if (r)
		lfpb__msprole__free_unpacked(r, NULL);
	return ok;
}

/* Fabric's compiled signature policy: each identity used once */
static bool sp_eval(const Lfpb__SignaturePolicy *sp,
		    const Lfpb__SignaturePolicyEnvelope *env,
		    const struct lf_signer *s, size_t n, bool *used)
{
	if (sp->type_case == LFPB__SIGNATURE_POLICY__TYPE_SIGNED_BY) {
		int i = sp->signed_by;

		if (i < 0 || (size_t)i >= env->n_identities)
			return false;
		for (size_t k = 0; k < n; k++) {
			if (!used[k] && principal_ok(env->identities[i], &s[k])) {
				used[k] = true;
				return true;
			}
		}
		return false;
	}
	if (sp->type_case != LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF)
		return false;
	/* a threshold of 0 or less (from a block made elsewhere) would be
	 * met by no signature at all: never satisfied */
	if (sp->n_out_of->n <= 0)
		return false;
	{
		int got = 0;
		bool *tmp = lf_xcalloc(n ? n : 1, sizeof(bool));

		for (size_t r = 0; r < sp->n_out_of->n_rules; r++) {
			memcpy(tmp, used, n * sizeof(bool));
			if (sp_eval(sp->n_out_of->rules[r], env, s, n, tmp)) {
				memcpy(used, tmp, n * sizeof(bool));
				got++;
			}
		}
		free(tmp);
		return got >= sp->n_out_of->n;
	}
}

static int sig_eval(const Lfpb__Policy *p, const struct lf_signer *s,
		    size_t n, struct lf_eval *out)
{
	Lfpb__SignaturePolicyEnvelope *e = lf_pb_unpack(
		&lfpb__signature_policy_envelope__descriptor, p->value.len,
		p->value.data, NULL);
	bool *used = lf_xcalloc(n ? n : 1, sizeof(bool));
	char *d = lf_policy_describe(p);
	struct lf_buf have = LF_BUF_INIT;

	out->ok = e && e->rule && sp_eval(e->rule, e, s, n, used);
	out->need = lf_xasprintf("%s", d);
	for (size_t i = 0; i < n; i++)
		if (used[i])
			lf_buf_printf(&have, "%s%s", have.len ? ", " : "",
				      s[i].mspid);
	out->have = lf_xasprintf("have %s", have.len ? have.data : "none");
	out->missing = out->ok ? NULL : lf_xasprintf("missing %s", d);
	out->brief = lf_xasprintf("signatures for %s", d);
	lf_buf_free(&have);
	free(d);
	free(used);
	if (e)
		lfpb__signature_policy_envelope__free_unpacked(e, NULL);
	return 0;
}

static int meta_eval(const Lfpb__ConfigGroup *g, const Lfpb__Policy *p,
		     const struct lf_signer *s, size_t n, struct lf_eval *out,
		     struct lf_err *err)
{
	Lfpb__ImplicitMetaPolicy *im = lf_pb_unpack(
			&lfpb__implicit_meta_policy__descriptor, p->value.len,
			p->value.data, NULL);
	struct lf_buf all = LF_BUF_INIT, have = LF_BUF_INIT, miss = LF_BUF_INIT;
	size_t got = 0, need = 0;
	int rc = 0;

	if (!im || im->rule < 0 || im->rule > 2) {
		rc = lf_err_set(err, LF_EINVALID, "malformed implicit meta policy");
		goto cleanup;
	}
	for (size_t i = 0; i < g->n_groups && rc == 0; i++) {
		struct lf_eval sub = { 0 };
		const char *k = g->groups[i]->key;

		rc = lf_policy_eval(g->groups[i]->value, im->sub_policy, s, n,
				    &sub, err);
		lf_buf_printf(&all, "%s%s", all.len ? ", " : "", k);
		if (sub.ok)
			got++;
		lf_buf_printf(sub.ok ? &have : &miss, "%s%s",
			      (sub.ok ? have.len : miss.len) ? ", " : "", k);
		lf_eval_clear(&sub);
	}
	need = im->rule == LF_META_ANY ? (g->n_groups ? 1 : 0)
	     : im->rule == LF_META_ALL ? g->n_groups : g->n_groups / 2 + 1;
	out->ok = got >= need;
	out->need = lf_xasprintf("%s %s: %zu of %zu orgs (%s)",
				 meta_rules[im->rule], im->sub_policy, need,
				 g->n_groups, all.len ? all.data : "");
	out->have = lf_xasprintf("have %zu%s%s%s", got, got ? " (" : "",
				 got ? have.data : "", got ? ")" : "");
	if (!out->ok)
		out->missing = lf_xasprintf("missing %zu of %s", need - got,
					    miss.len ? miss.data : "");
	if (strcmp(im->sub_policy, "Admins") == 0)
		out->brief = lf_xasprintf("%zu of %zu admin signature%s (%s)",
					  need, g->n_groups, g->n_groups == 1 ? ""
					  : "s", all.len ? all.data : "");
	else
		out->brief = lf_xasprintf("%s", out->need);
cleanup:
	lf_buf_free(&all);
	lf_buf_free(&have);
	lf_buf_free(&miss);
	if (im)
		lfpb__implicit_meta_policy__free_unpacked(im, NULL);
	return rc;
}

int lf_policy_eval(const Lfpb__ConfigGroup *group, const char *name,
		   const struct lf_signer *s, size_t n, struct lf_eval *out,
		   struct lf_err *err)
{
	const Lfpb__ConfigPolicy *cp = lf_cg_policy(group, name);

	memset(out, 0, sizeof(*out));
	if (!cp || !cp->policy)
		return lf_err_set(err, LF_ENOTFOUND, "policy '%s' not found",
				  name);
	if (cp->policy->type == LF_POL_IMPLICIT_META)
		return meta_eval(group, cp->policy, s, n, out, err);
	if (cp->policy->type == LF_POL_SIGNATURE)
		return sig_eval(cp->policy, s, n, out);
	return lf_err_set(err, LF_EUNSUPPORTED, "policy '%s': type %d not "
			  "supported", name, cp->policy->type);
}
