/*
 * channels: member orgs, consenters (raft/BFT rules), batch settings and
 * policy overrides.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/polrule.h"
#include "core/spec/spec_int.h"
#include "core/util/util.h"

static const char *const channel_keys[] = {
	"name", "orgs", "consenters", "batch", "policies", NULL
};
static const char *const batch_keys[] = {
	"timeout", "max_message_count", "absolute_max_bytes",
	"preferred_max_bytes", NULL
};
static const char *const policy_keys[] = { "type", "rule", NULL };

#define LF_BATCH_MAX_BYTES (1024ULL * 1024 * 1024)

static void channel_orgs(struct lf_sctx *c, struct lf_channel *ch,
			 const struct lf_ynode *m)
{
	struct lf_sset seen = { NULL, 0, 0, false };
	const struct lf_ynode *list;
	char buf[LF_SHOW_MAX];

	if (!lf_map_get(m, "orgs")) {
		lf_sc_err(c, m, "channel '%s': missing 'orgs' (a channel needs "
			  "at least one member org with peers)", ch->name);
		return;
	}
	if (lf_sc_strlist(c, m, "orgs", &ch->orgs, &ch->norgs, &list) != 0)
		return;
	if (ch->norgs == 0)
		lf_sc_err(c, list, "channel '%s': expected at least one org",
			  ch->name);
	for (size_t i = 0; i < ch->norgs; i++) {
		const struct lf_ynode *at = list->kids[i], *first;
		const struct lf_org *o = lf_sset_get(&c->orgs, ch->orgs[i]);
		bool found;

		if (!o)
			lf_sc_err(c, at, "channel '%s': org '%s' is not "
				  "defined under orgs:", ch->name,
				  lf_sc_show(at->str, buf, sizeof(buf)));
		else if (o->npeers == 0 && !lf_sset_get(&c->broken, o->name))
			lf_sc_err(c, at, "channel '%s': org '%s' has no peers; "
				  "a member org needs peers", ch->name, o->name);
		first = lf_sset_put(&seen, ch->orgs[i], at, &found);
		if (found)
			lf_sc_err(c, at, "channel '%s': org '%s' is listed "
				  "twice (first at line %d)", ch->name,
				  lf_sc_show(at->str, buf, sizeof(buf)),
				  first->pos.line);
	}
	lf_sset_free(&seen);
}

static void index_orderers(struct lf_sctx *c)
{
	const struct lf_spec *s = c->spec;

	c->orderers.own_keys = true;
	for (size_t i = 0; i < s->norgs; i++)
		for (size_t j = 0; j < s->orgs[i].norderers; j++) {
			char *ref = lf_xasprintf("%s.%s", s->orgs[i].name,
						 s->orgs[i].nodes[j].name);

			lf_sset_put(&c->orderers, ref, &s->orgs[i].nodes[j],
				    NULL);
			free(ref);
		}
}

/* "org.node" names an orderer of the spec (or of an org with errors,
 * already reported) */
static bool is_orderer_ref(struct lf_sctx *c, const char *ref)
{
	const char *dot = strchr(ref, '.');
	char org[64];
	size_t len;

	if (!c->orderers.own_keys)
		index_orderers(c);
	if (lf_sset_get(&c->orderers, ref))
		return true;
	if (!dot || (len = (size_t)(dot - ref)) >= sizeof(org))
		return false;
	memcpy(org, ref, len);
	org[len] = '\0';
	return lf_sset_get(&c->broken, org) != NULL;
}

static bool any_orderer(const struct lf_spec *s)
{
	for (size_t i = 0; i < s->norgs; i++)
		if (s->orgs[i].norderers)
			return true;
	return false;
}

static void all_orderers(struct lf_spec *s, struct lf_channel *ch)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < s->norgs; i++)
		n += s->orgs[i].norderers;
	if (n == 0)
		return;
	ch->consenters = lf_xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < s->norgs; i++)
		for (size_t j = 0; j < s->orgs[i].norderers; j++)
			ch->consenters[k++] = lf_xasprintf("%s.%s",
				s->orgs[i].name, s->orgs[i].nodes[j].name);
	ch->nconsenters = k;
}

static void consenter_list(struct lf_sctx *c, struct lf_channel *ch,
			   const struct lf_ynode *m)
{
	struct lf_sset seen = { NULL, 0, 0, false };
	const struct lf_ynode *list;
	char buf[LF_SHOW_MAX];

	if (lf_sc_strlist(c, m, "consenters", &ch->consenters,
			  &ch->nconsenters, &list) != 0)
		return;
	for (size_t i = 0; i < ch->nconsenters; i++) {
		const struct lf_ynode *at = list->kids[i];
		const struct lf_ynode *first;
		bool found;

		if (!is_orderer_ref(c, ch->consenters[i]))
			lf_sc_err(c, at, "channel '%s': consenter '%s' is not "
				  "an orderer of the spec (expected ORG.NODE, "
				  "such as ordering.orderer0)", ch->name,
				  lf_sc_show(at->str, buf, sizeof(buf)));
		first = lf_sset_put(&seen, ch->consenters[i], at, &found);
		if (found)
			lf_sc_err(c, at, "channel '%s': consenter '%s' is "
				  "listed twice (first at line %d)", ch->name,
				  lf_sc_show(at->str, buf, sizeof(buf)),
				  first->pos.line);
	}
	lf_sset_free(&seen);
}

static void channel_consenters(struct lf_sctx *c, struct lf_channel *ch,
			       const struct lf_ynode *m)
{
	const struct lf_ynode *key = lf_map_key(m, "consenters");
	const struct lf_ynode *at = key ? key : lf_map_get(m, "name");
	enum lf_consensus cs = c->spec->consensus;
	size_t n;

	if (cs == LF_CONSENSUS_KAFKA) {
		if (key)
			lf_sc_err(c, key, "channel '%s': consenters apply to "
				  "etcdraft and bft; with kafka every orderer "
				  "serves the channel", ch->name);
		else if (!any_orderer(c->spec) && !c->broken.n)
			lf_sc_err(c, at ? at : m, "channel '%s' has no orderer: "
				  "the spec defines none", ch->name);
		return;
	}
	if (key)
		consenter_list(c, ch, m);
	else
		all_orderers(c->spec, ch);
	n = ch->nconsenters;
	if (n == 0 && !key && c->broken.n)
		return;     /* an org with errors may have meant orderers */
	if (n == 0)
		lf_sc_err(c, at ? at : m, "channel '%s' has no consenter%s",
			  ch->name, key ? "" : ": the spec defines no orderer");
	else if (cs == LF_CONSENSUS_BFT && n < 4)
		lf_sc_err(c, at ? at : m, "channel '%s': bft needs at least 4 "
			  "consenters (3f+1 with f >= 1), got %zu", ch->name, n);
	else if (n % 2 == 0 && cs == LF_CONSENSUS_ETCDRAFT)
		lf_sc_warn(c, at ? at : m, "channel '%s': %zu consenters "
			   "tolerate no more failures than %zu (raft tolerates "
			   "(n-1)/2)", ch->name, n, n - 1);
}

static void channel_batch(struct lf_sctx *c, struct lf_channel *ch,
			  const struct lf_ynode *m)
{
	const struct lf_ynode *b = lf_map_get(m, "batch");
	struct lf_batch *bt = &ch->batch;
	unsigned long long v;

	bt->timeout_ms = 2000;
	bt->max_message_count = 10;
	bt->absolute_max_bytes = 103809024;
	bt->preferred_max_bytes = 524288;
	if (!b || !lf_sc_want(c, b, LF_Y_MAP, "batch"))
		return;
	lf_sc_check_keys(c, b, batch_keys, "batch");
	if (lf_sc_duration(c, b, "timeout", 3600000, &v) == 0 &&
	    lf_map_get(b, "timeout"))
		bt->timeout_ms = (unsigned)v;
	if (lf_sc_uint(c, b, "max_message_count", 1, 1000000, &v) == 0 &&
	    lf_map_get(b, "max_message_count"))
		bt->max_message_count = (unsigned)v;
	if (lf_sc_bytes(c, b, "absolute_max_bytes", LF_BATCH_MAX_BYTES,
			&v) == 0 && lf_map_get(b, "absolute_max_bytes"))
		bt->absolute_max_bytes = (unsigned)v;
	if (lf_sc_bytes(c, b, "preferred_max_bytes", LF_BATCH_MAX_BYTES,
			&v) == 0 && lf_map_get(b, "preferred_max_bytes"))
		bt->preferred_max_bytes = (unsigned)v;
	if (bt->preferred_max_bytes > bt->absolute_max_bytes)
		lf_sc_err(c, b, "batch: preferred_max_bytes (%u) is larger "
			  "than absolute_max_bytes (%u)",
			  bt->preferred_max_bytes, bt->absolute_max_bytes);
}

/* ---- policies ---- */

static bool is_policy_name(const char *s, size_t len)
{
	if (len == 0 || len > 64 || !((*s >= 'A' && *s <= 'Z') ||
				      (*s >= 'a' && *s <= 'z')))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_", s[i]))
			return false;
	return true;
}

/* Channel policy paths: [Channel/]NAME, [Channel/]Application/NAME,
 * [Channel/]Orderer/NAME, [Channel/]Application/ORG/NAME (ORG: an org
 * name or mspid of the spec) */
static const char *policy_path_problem(struct lf_sctx *c, const char *p)
{
	const char *seg[4];
	size_t len[4], n = 0;

	if (lf_str_has_prefix(p, "Channel/"))
		p += 8;
	while (n < 4) {
		size_t l = strcspn(p, "/");

		seg[n] = p;
		len[n++] = l;
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	if (n == 4 || p[strcspn(p, "/")] == '/')
		return "too many levels";
	if (!is_policy_name(seg[n - 1], len[n - 1]))
		return "the policy name must be letters, digits or '_'";
	if (n == 1)
		return NULL;
	if (!((len[0] == 11 && strncmp(seg[0], "Application", 11) == 0) ||
	      (len[0] == 7 && strncmp(seg[0], "Orderer", 7) == 0)))
		return "the group must be Application or Orderer";
	if (n == 3) {
		char org[129];
		bool ok = false;

		if (len[1] >= sizeof(org))
			return "unknown org";
		memcpy(org, seg[1], len[1]);
		org[len[1]] = '\0';
		ok = lf_sset_get(&c->orgs, org) != NULL;
		for (size_t i = 0; !ok && i < c->spec->norgs; i++)
			ok = strcmp(c->spec->orgs[i].mspid, org) == 0;
		if (!ok)
			return "the org is neither an org name nor an mspid of "
			       "the spec";
	}
	return NULL;
}

static bool mspid_known(const struct lf_spec *s, const char *id, size_t len)
{
	for (size_t i = 0; i < s->norgs; i++)
		if (strlen(s->orgs[i].mspid) == len &&
		    strncmp(s->orgs[i].mspid, id, len) == 0)
			return true;
	return false;
}

/* write the problem to why; returns false for "not ok" */
static bool why_set(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool why_set(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return false;
}

/* principals of a signature rule (already parsed by the encoder's
 * parser) must name an mspid of the spec; the problem is written to why */
bool lf_spec__signature_ok(const struct lf_spec *s, const char *r, char *why,
			   size_t size)
{
	for (const char *p = r; *p; p++) {
		const char *end, *dot;
		int plen;

		if (*p != '\'' && *p != '"')
			continue;
		if (!(end = strchr(p + 1, *p)))
			break;
		plen = (int)(end - p - 1 > 64 ? 64 : end - p - 1);
		for (dot = end - 1; dot > p && *dot != '.'; dot--)
			;
		if (dot > p + 1 && !mspid_known(s, p + 1, (size_t)(dot - p - 1)))
			return why_set(why, size, "principal '%.*s' names an "
					"mspid that no org has", plen,
					p + 1);
		p = end;
	}
	return true;
}

/* a rule problem at byte `at` of the rule: the column there when the
 * rule is written on one line (quoted: one more for the quote) */
static struct lf_pos rule_pos(const struct lf_ynode *n, size_t at)
{
	struct lf_pos pos = n->pos;

	if (!strchr(n->str, '\n') && at < (size_t)(INT_MAX - pos.col - 1))
		pos.col += (int)at + (n->plain ? 0 : 1);
	return pos;
}

static void one_policy(struct lf_sctx *c, struct lf_channel *ch,
		       const struct lf_ynode *k, const struct lf_ynode *v)
{
	struct lf_policy *p = &ch->policies[ch->npolicies];
	char buf[LF_SHOW_MAX], sig[160];
	const struct lf_ynode *rule;
	const char *why;
	size_t at = 0;
	int bad = 0;

	if ((why = policy_path_problem(c, k->str)) != NULL)
		lf_sc_err(c, k, "policy path '%s': %s (expected e.g. "
			  "Application/Endorsement or Channel/Admins)",
			  lf_sc_show(k->str, buf, sizeof(buf)), why);
	if (!lf_sc_want(c, v, LF_Y_MAP, "policy"))
		return;
	lf_sc_check_keys(c, v, policy_keys, "a policy");
	memset(p, 0, sizeof(*p));
	bad |= lf_sc_str(c, v, "type", "a policy", &p->type);
	bad |= lf_sc_str(c, v, "rule", "a policy", &p->rule);
	p->path = lf_xstrdup(k->str);
	p->pos = k->pos;
	ch->npolicies++;
	if (bad)
		return;
	if (strcmp(p->type, "ImplicitMeta") != 0 &&
	    strcmp(p->type, "Signature") != 0) {
		lf_sc_err(c, lf_map_get(v, "type"), "policy type: expected "
			  "ImplicitMeta or Signature, got '%s'",
			  lf_sc_show(p->type, buf, sizeof(buf)));
		return;
	}
	rule = lf_map_get(v, "rule");
	if (lf_policy_rule_check(p->type, p->rule, &at, sig, sizeof(sig)) != 0)
		lf_sc_err_pos(c, rule_pos(rule, at), "policy rule '%s': %s",
			      lf_sc_show(p->rule, buf, sizeof(buf)), sig);
	else if (strcmp(p->type, "Signature") == 0 &&
		 !lf_spec__signature_ok(c->spec, p->rule, sig, sizeof(sig)))
		lf_sc_err(c, rule, "policy rule '%s': %s",
			  lf_sc_show(p->rule, buf, sizeof(buf)), sig);
}

static void channel_policies(struct lf_sctx *c, struct lf_channel *ch,
			     const struct lf_ynode *m)
{
	const struct lf_ynode *n = lf_map_get(m, "policies");

	if (!n || !lf_sc_want(c, n, LF_Y_MAP, "policies"))
		return;
	ch->policies = lf_xcalloc(n->n / 2 + 1, sizeof(*ch->policies));
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct lf_ynode *k = n->kids[i];

		if (k->type != LF_Y_SCALAR || k->dup)
			continue;
		one_policy(c, ch, k, n->kids[i + 1]);
	}
}

/* ---- channels ---- */

static bool channel_name(struct lf_sctx *c, struct lf_channel *ch,
			 const struct lf_ynode *m, struct lf_sset *names)
{
	const struct lf_ynode *v = lf_map_get(m, "name"), *first;
	char buf[LF_SHOW_MAX];
	bool found;

	if (lf_sc_str(c, m, "name", "a channel", &ch->name) != 0)
		return false;
	if (!lf_spec_is_channel_name(ch->name)) {
		lf_sc_err(c, v, "channel name '%s' is not a valid channel id: "
			  "expected a lower-case letter, then letters, digits, "
			  "'.' or '-' (fewer than 250)",
			  lf_sc_show(ch->name, buf, sizeof(buf)));
		return false;
	}
	first = lf_sset_put(names, ch->name, v, &found);
	if (found)
		lf_sc_err(c, v, "duplicate channel name '%s' (first defined at "
			  "line %d)", ch->name, first->pos.line);
	return true;
}

void lf_spec__channels(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct lf_sset names = { NULL, 0, 0, false };
	struct lf_spec *s = c->spec;

	if (!n || !lf_sc_want(c, n, LF_Y_SEQ, "channels"))
		return;
	s->channels = lf_xcalloc(n->n ? n->n : 1, sizeof(*s->channels));
	for (size_t i = 0; i < n->n; i++) {
		const struct lf_ynode *m = n->kids[i];
		struct lf_channel *ch = &s->channels[s->nchannels];

		if (!lf_sc_want(c, m, LF_Y_MAP, "channels entry"))
			continue;
		lf_sc_check_keys(c, m, channel_keys, "a channel");
		if (!channel_name(c, ch, m, &names)) {
			lf_channel_clear(ch);
			continue;
		}
		ch->pos = m->pos;
		channel_orgs(c, ch, m);
		channel_consenters(c, ch, m);
		channel_batch(c, ch, m);
		channel_policies(c, ch, m);
		s->nchannels++;
	}
	lf_sset_free(&names);
}
