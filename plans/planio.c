/*
 * Plan output: Terraform-like text, JSON, and saved plan files.
 */
#include "plans/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"
#include "plans/cost.h"

#define PLAN_FORMAT "ledgerform-plan"
#define PLAN_FORMAT_VERSION 1

static const char *sym(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "+";
	case LF_ACT_UPDATE: return "~";
	case LF_ACT_REPLACE: return "-/+";
	case LF_ACT_DELETE: return "-";
	default: return " ";
	}
}

static const char *colour(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "\033[32m";
	case LF_ACT_UPDATE: return "\033[33m";
	case LF_ACT_REPLACE: return "\033[35m";
	case LF_ACT_DELETE: return "\033[31m";
	default: return "";
	}
}

static const char *verb(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "create";
	case LF_ACT_UPDATE: return "update in place";
	case LF_ACT_REPLACE: return "replace";
	case LF_ACT_DELETE: return "destroy";
	default: return "no changes";
	}
}

static char *val_str(const json_t *v)
{
	char *s;

	if (!v)
		return lf_xstrdup("(none)");
	if (lf_streq(json_string_value(v), LF_KNOWN_AFTER_APPLY))
		return lf_xstrdup(LF_KNOWN_AFTER_APPLY);
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return s ? s : lf_xstrdup("?");
}

/* the attributes that identify a resource at a glance */
static const char *const GLANCE[] = { "driver", "provider", "size", "address",
				      "kind", "cn", NULL };

static void print_glance(const struct lf_action *a, FILE *f)
{
	size_t i;

	if (!a->attrs)
		return;
	for (i = 0; GLANCE[i]; i++) {
		const char *v = json_string_value(json_object_get(a->attrs, GLANCE[i]));

		if (v && *v)
			fprintf(f, "  %s", v);
	}
}

static bool array_has(const json_t *arr, const json_t *v)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
		if (json_equal(e, v))
			return true;
	return false;
}

/* an array attribute that changed: the elements that left and came */
static void print_array_change(const struct lf_change *c, FILE *f)
{
	size_t i, shown = 0;
	json_t *e;

	fprintf(f, "        %s:%s\n", c->key, c->forces_replace ? "   # forces replacement" : "");
	json_array_foreach(c->old_val, i, e) {
		if (!array_has(c->new_val, e)) {
			char *s = val_str(e);

			fprintf(f, "          - %s\n", s);
			free(s);
			shown++;
		}
	}
	json_array_foreach(c->new_val, i, e) {
		if (!array_has(c->old_val, e)) {
			char *s = val_str(e);

			fprintf(f, "          + %s\n", s);
			free(s);
			shown++;
		}
	}
	if (shown == 0)
		fprintf(f, "          (same elements, order or count changed)\n");
}

/* what a changed key's line ends with: how it is made, and why */
static void change_note(const struct lf_change *c, char *buf, size_t n)
{
	if (c->kind == LF_CHANGE_RESTART)
		snprintf(buf, n, "   # in place, restarts the machine%s%s", c->why ? ": " : "",
			 c->why ? c->why : "");
	else if (c->forces_replace)
		snprintf(buf, n, "   # forces replacement%s%s", c->why ? ": " : "",
			 c->why ? c->why : "");
	else
		buf[0] = '\0';
}

static bool restarts(const struct lf_action *a)
{
	for (size_t i = 0; i < a->nchanges; i++)
		if (a->changes[i].kind == LF_CHANGE_RESTART)
			return true;
	return false;
}

/* a created resource's attributes known only after apply */
static void print_unknown(const struct lf_action *a, FILE *f)
{
	const char *key;
	json_t *v;

	if (a->kind != LF_ACT_CREATE || !a->attrs)
		return;
	json_object_foreach((json_t *)a->attrs, key, v)
		if (lf_streq(json_string_value(v), LF_KNOWN_AFTER_APPLY))
			fprintf(f, "        %s: %s\n", key, LF_KNOWN_AFTER_APPLY);
}

static void print_action(const struct lf_action *a, FILE *f, bool color)
{
	char note[LF_ERR_MSG_MAX + 64];
	size_t i;

	fprintf(f, "  %s%-3s %s%s", color ? colour(a->kind) : "", sym(a->kind),
		a->addr, color ? "\033[0m" : "");
	print_glance(a, f);
	fprintf(f, "  (%s%s)\n", verb(a->kind),
		a->kind == LF_ACT_UPDATE && restarts(a) ? ", with a restart" : "");
	print_unknown(a, f);
	for (i = 0; i < a->nchanges; i++) {
		const struct lf_change *c = &a->changes[i];
		char *o, *n;

		if (json_is_array(c->old_val) && json_is_array(c->new_val)) {
			print_array_change(c, f);
			continue;
		}
		o = val_str(c->old_val);
		n = val_str(c->new_val);
		change_note(c, note, sizeof(note));
		fprintf(f, "        %s: %s -> %s%s\n", c->key, o, n, note);
		free(o);
		free(n);
	}
	if (a->reason)
		fprintf(f, "        # %s\n", a->reason);
	if (a->note)
		fprintf(f, "        # %s\n", a->note);
}

void lf_plan_print(const struct lf_plan *p, FILE *f, bool color)
{
	size_t i;

	if (!lf_plan_has_changes(p)) {
		fprintf(f, "No changes. The infrastructure matches the spec.\n");
		return;
	}
	fprintf(f, "ledgerform will perform the following actions:\n\n");
	for (i = 0; i < p->n; i++)
		if (p->v[i].kind != LF_ACT_NOOP)
			print_action(&p->v[i], f, color);
	fprintf(f, "\nPlan: %zu to add, %zu to change, %zu to destroy.\n",
		p->nadd, p->nchange, p->ndestroy);
	lf_cost_print(p->cost, f);
}

/* sha256 of the action's canonical attributes (the recorded one for an
 * action loaded from a plan file) */
static void action_attrs_hash(const struct lf_action *a, char out[65])
{
	char *s;

	if (!a->attrs) {
		memcpy(out, a->attrs_sha256, 65);
		return;
	}
	s = json_dumps(a->attrs, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	lf_sha256_hex(s ? s : "", s ? strlen(s) : 0, out);
	free(s);
}

static int cmp_action_addr(const void *a, const void *b)
{
	const struct lf_action *const *x = a, *const *y = b;

	return strcmp((*x)->addr, (*y)->addr);
}

void lf_plan_digest(const struct lf_plan *p, char out[65])
{
	const struct lf_action **v = lf_xcalloc(p->n + 1, sizeof(*v));
	json_t *doc = json_array(), *acts = json_array(), *tg = json_array();
	size_t i, n = 0;
	char h[65], *s;

	for (i = 0; i < p->n; i++)
		if (p->v[i].kind != LF_ACT_NOOP)
			v[n++] = &p->v[i];
	qsort(v, n, sizeof(*v), cmp_action_addr);
	for (i = 0; i < n; i++) {
		action_attrs_hash(v[i], h);
		json_array_append_new(acts, json_pack("[sss]", v[i]->addr,
						      lf_action_name(v[i]->kind), h));
	}
	for (i = 0; p->targets && p->targets[i]; i++)
		json_array_append_new(tg, json_string(p->targets[i]));
	json_array_append_new(doc, json_boolean(p->destroy));
	json_array_append_new(doc, tg);
	json_array_append_new(doc, acts);
	s = json_dumps(doc, JSON_COMPACT);
	lf_sha256_hex(s, strlen(s), out);
	free(s);
	json_decref(doc);
	free(v);
}


static void diff_value(json_t *out, const char *path, const json_t *b, const json_t *a);

static void diff_object(json_t *out, const char *path, const json_t *b, const json_t *a)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)b, k, v) {
		char *sub = lf_xasprintf("%s.%s", path, k);

		diff_value(out, sub, v, json_object_get(a, k));
		free(sub);
	}
	json_object_foreach((json_t *)a, k, v) {
		char *sub;

		if (json_object_get(b, k))
			continue;
		sub = lf_xasprintf("%s.%s", path, k);
		diff_value(out, sub, NULL, v);
		free(sub);
	}
}

/* one {path, before, after} per leaf that differs (absent: null);
 * objects and arrays on both sides are followed key by key, index by
 * index, so a diff shows what changed, never two whole objects */
static void diff_value(json_t *out, const char *path, const json_t *b, const json_t *a)
{
	size_t i, n;

	if (b && a && json_equal(b, a))
		return;
	if (json_is_object(b) && json_is_object(a)) {
		diff_object(out, path, b, a);
		return;
	}
	if (json_is_array(b) && json_is_array(a)) {
		n = json_array_size(b) > json_array_size(a) ? json_array_size(b)
							      : json_array_size(a);
		for (i = 0; i < n; i++) {
			char *sub = lf_xasprintf("%s[%zu]", path, i);

			diff_value(out, sub, json_array_get(b, i), json_array_get(a, i));
			free(sub);
		}
		return;
	}
	json_array_append_new(out, json_pack("{s:s, s:O, s:O}", "path", path, "before",
					     b ? b : json_null(), "after", a ? a : json_null()));
}

/* Terraform's before/after: a create's attributes after, a delete's
 * before (none for a plan loaded from a file, which records hashes) */
static void action_values(json_t *o, const struct lf_action *a)
{
	if (!a->attrs)
		return;
	json_object_set(o, a->kind == LF_ACT_DELETE ? "before" : "after", (json_t *)a->attrs);
}

static json_t *action_json(const struct lf_action *a)
{
	json_t *o = json_object(), *ch = json_array();
	char h[65];
	size_t i;

	action_attrs_hash(a, h);
	json_object_set_new(o, "attrs_sha256", json_string(h));
	json_object_set_new(o, "address", json_string(a->addr));
	json_object_set_new(o, "type", json_string(a->type));
	json_object_set_new(o, "action", json_string(lf_action_name(a->kind)));
	action_values(o, a);
	for (i = 0; i < a->nchanges; i++) {
		const struct lf_change *c = &a->changes[i];
		json_t *cj = json_object(), *d = json_array();

		json_object_set_new(cj, "key", json_string(c->key));
		diff_value(d, c->key, c->old_val, c->new_val);
		json_object_set_new(cj, "diff", d);
		json_object_set_new(cj, "forces_replacement",
				    json_boolean(c->forces_replace));
		json_object_set_new(cj, "how", json_string(c->kind == LF_CHANGE_RESTART ? "restart"
							   : c->forces_replace ? "replace" : "in_place"));
		if (c->why)
			json_object_set_new(cj, "why", json_string(c->why));
		json_array_append_new(ch, cj);
	}
	json_object_set_new(o, "changes", ch);
	if (a->reason)
		json_object_set_new(o, "reason", json_string(a->reason));
	if (a->note)
		json_object_set_new(o, "note", json_string(a->note));
	return o;
}

json_t *lf_plan_to_json(const struct lf_plan *p)
{
	json_t *o = json_object(), *acts = json_array(), *sum = json_object();
	char h[65];
	size_t i;

	json_object_set_new(o, "format", json_string(PLAN_FORMAT));
	json_object_set_new(o, "format_version", json_integer(PLAN_FORMAT_VERSION));
	json_object_set_new(o, "lineage", json_string(p->lineage));
	json_object_set_new(o, "serial", json_integer((json_int_t)p->serial));
	json_object_set_new(o, "spec_file", json_string(p->spec_file ? p->spec_file : ""));
	json_object_set_new(o, "spec_sha256", json_string(p->spec_sha256));
	json_object_set_new(o, "destroy", json_boolean(p->destroy));
	if (p->targets) {
		json_t *t = json_array();

		for (i = 0; p->targets[i]; i++)
			json_array_append_new(t, json_string(p->targets[i]));
		json_object_set_new(o, "targets", t);
	}
	for (i = 0; i < p->n; i++)
		if (p->v[i].kind != LF_ACT_NOOP)
			json_array_append_new(acts, action_json(&p->v[i]));
	json_object_set_new(sum, "add", json_integer((json_int_t)p->nadd));
	json_object_set_new(sum, "change", json_integer((json_int_t)p->nchange));
	json_object_set_new(sum, "destroy", json_integer((json_int_t)p->ndestroy));
	json_object_set_new(o, "actions", acts);
	json_object_set_new(o, "summary", sum);
	lf_plan_digest(p, h);
	json_object_set_new(o, "actions_sha256", json_string(h));
	if (p->cost)
		json_object_set(o, "cost", p->cost);
	return o;
}

int lf_plan_save(const struct lf_plan *p, const char *path, struct lf_err *err)
{
	json_t *o = lf_plan_to_json(p);
	char *s = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rc;

	json_decref(o);
	rc = lf_write_file_atomic(path, s, strlen(s), 0600, err);
	free(s);
	return rc;
}

static enum lf_action_kind kind_from(const char *s)
{
	int k;

	for (k = 0; k < LF_ACT_LAST; k++)
		if (lf_streq(s, lf_action_name((enum lf_action_kind)k)))
			return (enum lf_action_kind)k;
	return LF_ACT_LAST;
}

static int load_actions(struct lf_plan *p, json_t *acts, const char *path,
			struct lf_err *err)
{
	size_t i;
	json_t *a;

	p->v = lf_xcalloc(json_array_size(acts) + 1, sizeof(*p->v));
	json_array_foreach(acts, i, a) {
		struct lf_action *x = &p->v[p->n];
		const char *addr = json_string_value(json_object_get(a, "address"));
		const char *ah = json_string_value(json_object_get(a, "attrs_sha256"));
		enum lf_action_kind k =
			kind_from(json_string_value(json_object_get(a, "action")));

		if (!addr || !ah || strlen(ah) != 64 || k == LF_ACT_LAST || k == LF_ACT_NOOP)
			return lf_err_set(err, LF_EINVALID,
					  "plan file '%s': action %zu is malformed", path, i);
		memset(x, 0, sizeof(*x));
		memcpy(x->attrs_sha256, ah, 65);
		x->kind = k;
		x->addr = lf_xstrdup(addr);
		x->type = lf_addr_type(addr);
		p->n++;
	}
	return 0;
}

/* the recorded digest must be the digest of the recorded actions: an
 * edited action list, destroy flag or target list is refused */
static int check_digest(struct lf_plan *p, const char *recorded, const char *path,
			struct lf_err *err)
{
	lf_plan_digest(p, p->actions_sha256);
	if (!recorded || strcmp(recorded, p->actions_sha256) != 0)
		return lf_err_set(err, LF_EINVALID,
				  "plan file '%s' was edited after it was saved (its actions, "
				  "destroy flag or targets do not match its digest); run plan again",
				  path);
	return 0;
}

int lf_plan_load(struct lf_plan **out, const char *path, struct lf_err *err)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je), *t;
	struct lf_plan *p = NULL;
	const char *lin, *sha, *fmt;
	size_t i;
	int rc = LF_EINVALID;

	*out = NULL;
	if (!o)
		return lf_err_set(err, LF_EINVALID, "plan file '%s': %s (line %d, column %d)",
				  path, je.text, je.line, je.column);
	fmt = json_string_value(json_object_get(o, "format"));
	lin = json_string_value(json_object_get(o, "lineage"));
	sha = json_string_value(json_object_get(o, "spec_sha256"));
	if (!lf_streq(fmt, PLAN_FORMAT) || !lin || !sha ||
	    json_integer_value(json_object_get(o, "format_version")) != PLAN_FORMAT_VERSION ||
	    !json_is_array(json_object_get(o, "actions"))) {
		lf_err_set(err, LF_EINVALID, "'%s' is not a ledgerform plan file (or of another version)", path);
		goto cleanup;
	}
	p = lf_xcalloc(1, sizeof(*p));
	snprintf(p->lineage, sizeof(p->lineage), "%s", lin);
	snprintf(p->spec_sha256, sizeof(p->spec_sha256), "%s", sha);
	p->serial = (unsigned long long)json_integer_value(json_object_get(o, "serial"));
	p->spec_file = lf_xstrdup(json_string_value(json_object_get(o, "spec_file")));
	p->destroy = json_is_true(json_object_get(o, "destroy"));
	t = json_object_get(o, "targets");
	if (json_is_array(t)) {
		p->targets = lf_xcalloc(json_array_size(t) + 1, sizeof(char *));
		for (i = 0; i < json_array_size(t); i++) {
			if (!json_is_string(json_array_get(t, i))) {
				lf_err_set(err, LF_EINVALID, "plan file '%s': target %zu is not a string",
					   path, i);
				goto cleanup;
			}
			p->targets[i] = lf_xstrdup(json_string_value(json_array_get(t, i)));
		}
	}
	if (load_actions(p, json_object_get(o, "actions"), path, err) != 0)
		goto cleanup;
	if (check_digest(p, json_string_value(json_object_get(o, "actions_sha256")),
			 path, err) != 0)
		goto cleanup;
	rc = 0;
	*out = p;
	p = NULL;
cleanup:
	lf_plan_free(p);
	json_decref(o);
	return rc;
}
