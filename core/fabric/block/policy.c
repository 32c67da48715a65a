/*
 * Fabric policies: encoding ImplicitMeta rules ("MAJORITY Admins") and the
 * signature policy language ("OR('Org1MSP.admin', AND(...), OutOf(2,...))",
 * as common/policydsl: principals numbered in order of appearance, no
 * de-duplication), describing them, and evaluating them against a set of
 * validated signers as Fabric's policy manager does.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/util/util.h"

static const char *const meta_rules[3] = { "ANY", "ALL", "MAJORITY" };
static const char *const role_names[5] = { "member", "admin", "client",
					   "peer", "orderer" };

static int implicit_encode(const char *rule, ProtobufCBinaryData *out,
			   struct lf_err *err)
{
	Lfpb__ImplicitMetaPolicy im = LFPB__IMPLICIT_META_POLICY__INIT;
	char word[16], sub[128];
	int r = -1;

	if (sscanf(rule, "%15s %127s", word, sub) != 2)
		return lf_err_set(err, LF_EINVALID,
				  "invalid implicit meta policy rule '%s'", rule);
	for (int i = 0; i < 3; i++)
		if (strcmp(word, meta_rules[i]) == 0)
			r = i;
	if (r < 0)
		return lf_err_set(err, LF_EINVALID,
				  "invalid implicit meta policy rule '%s': "
				  "expected ANY, ALL or MAJORITY", rule);
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
	struct lf_err *err;
};

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
	char q = *p->s++, *text, *dot;
	const char *end = strchr(p->s, q);
	Lfpb__MSPRole role = LFPB__MSPROLE__INIT;
	Lfpb__MSPPrincipal *pr;
	Lfpb__SignaturePolicy *sp;
	int r = -1;

	if (!end) {
		lf_err_set(p->err, LF_EINVALID, "policy '%s': unterminated "
			   "principal", p->rule);
		return NULL;
	}
	text = lf_xstrndup(p->s, (size_t)(end - p->s));
	p->s = end + 1;
	dot = strrchr(text, '.');
	for (int i = 0; dot && i < 5; i++)
		if (strcmp(dot + 1, role_names[i]) == 0)
			r = i;
	if (!dot || dot == text || r < 0) {
		lf_err_set(p->err, LF_EINVALID, "policy '%s': principal '%s' "
			   "is not MSPID.member|admin|client|peer|orderer",
			   p->rule, text);
		free(text);
		return NULL;
	}
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

static int sp_args(struct sp_parse *p, Lfpb__SignaturePolicy__NOutOf *no,
		   int kind)
{
	char *end;

	if (kind == 0) {
		skip_ws(p);
		no->n = (int32_t)strtol(p->s, &end, 10);
		if (end == p->s)
			return lf_err_set(p->err, LF_EINVALID, "policy '%s': "
					  "OutOf needs a number", p->rule);
		p->s = end;
		skip_ws(p);
		if (*p->s++ != ',')
			return lf_err_set(p->err, LF_EINVALID, "policy '%s': "
					  "expected ','", p->rule);
	}
	for (;;) {
		Lfpb__SignaturePolicy *sub = sp_expr(p);

		if (!sub)
			return LF_EINVALID;
		no->rules = lf_xrealloc(no->rules, (no->n_rules + 1) *
					sizeof(*no->rules));
		no->rules[no->n_rules++] = sub;
		skip_ws(p);
		if (*p->s == ')') {
			p->s++;
			return 0;
		}
		if (*p->s++ != ',')
			return lf_err_set(p->err, LF_EINVALID, "policy '%s': "
					  "expected ',' or ')'", p->rule);
	}
}

static Lfpb__SignaturePolicy *sp_expr(struct sp_parse *p)
{
	const char *w;
	Lfpb__SignaturePolicy *sp;
	Lfpb__SignaturePolicy__NOutOf *no;
	int kind;

	skip_ws(p);
	if (*p->s == '\'' || *p->s == '"')
		return sp_principal(p);
	w = p->s;
	while (isalpha((unsigned char)*p->s))
		p->s++;
	if (gate_kind(w, (size_t)(p->s - w), &kind) != 0) {
		lf_err_set(p->err, LF_EINVALID, "policy '%s': unrecognized "
			   "token at '%s'", p->rule, w);
		return NULL;
	}
	skip_ws(p);
	if (*p->s++ != '(') {
		lf_err_set(p->err, LF_EINVALID, "policy '%s': expected '('",
			   p->rule);
		return NULL;
	}
	sp = sp_new();
	no = lf_xmalloc(sizeof(*no));
	lfpb__signature_policy__nout_of__init(no);
	sp->type_case = LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF;
	sp->n_out_of = no;
	if (sp_args(p, no, kind) != 0) {
		protobuf_c_message_free_unpacked(&sp->base, NULL);
		return NULL;
	}
	if (kind == -1)
		no->n = (int32_t)no->n_rules;
	else if (kind == 1)
		no->n = 1;
	return sp;
}

static int signature_encode(const char *rule, ProtobufCBinaryData *out,
			    struct lf_err *err)
{
	struct sp_parse p = { rule, rule, NULL, 0, err };
	Lfpb__SignaturePolicyEnvelope env = LFPB__SIGNATURE_POLICY_ENVELOPE__INIT;
	int rc = 0;

	env.rule = sp_expr(&p);
	if (!env.rule) {
		rc = LF_EINVALID;
		goto cleanup;
	}
	skip_ws(&p);
	if (*p.s) {
		rc = lf_err_set(err, LF_EINVALID, "policy '%s': trailing text "
				"'%s'", rule, p.s);
		goto cleanup;
	}
	env.version = 0;
	env.identities = p.ids;
	env.n_identities = p.nids;
	*out = lf_pb_bin(&env.base);
cleanup:
	if (env.rule)
		protobuf_c_message_free_unpacked(&env.rule->base, NULL);
	for (size_t i = 0; i < p.nids; i++)
		protobuf_c_message_free_unpacked(&p.ids[i]->base, NULL);
	free(p.ids);
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
