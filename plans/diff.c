/*
 * The planner: desired resources vs current resources -> actions.
 *
 * A resource whose attribute hash is unchanged is a no-op. Otherwise the
 * changed top-level attributes are listed and the resource type (for
 * hosts, the driver) says how each can change (lf_rtype.change_kind or
 * in_place): in place, in place with a restart, by a replace, or not at
 * all, which refuses the plan with the driver's reason. A resource that
 * refresh found drifted is updated back to its spec; one whose create did
 * not finish (partial) is created again with what the driver made. A resource that exists while its dependency is
 * replaced, or created anew (it was found gone, or forgotten with
 * `state rm`), is updated (or replaced, when its type cannot update) so
 * that it follows.
 * Attributes that take another resource's outputs (lf_rtype.resolve: a
 * node identity's TLS SANs from its host's machine address) are filled in
 * before a resource is diffed, in dependency order: from the recorded
 * outputs, or LF_KNOWN_AFTER_APPLY when this plan remakes that resource.
 * Resources only in the current state are deleted.
 */
#include "plans/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

const char *lf_action_name(enum lf_action_kind k)
{
	static const char *names[] = { "no-op", "create", "update", "replace",
				       "delete" };

	return k < LF_ACT_LAST ? names[k] : "?";
}

static struct lf_change *change_add(struct lf_action *a, const char *key,
				     json_t *o, json_t *n)
{
	struct lf_change *c;

	a->changes = lf_xrealloc(a->changes, (a->nchanges + 1) * sizeof(*c));
	c = &a->changes[a->nchanges++];
	memset(c, 0, sizeof(*c));
	c->key = lf_xstrdup(key);
	c->old_val = o ? json_incref(o) : NULL;
	c->new_val = n ? json_incref(n) : NULL;
	return c;
}

/* how the type can make key's change (the driver's word for hosts) */
static enum lf_change_kind change_kind(const struct lf_apply_env *env,
				       const struct lf_rtype *rt,
				       const struct lf_resource *cur,
				       const struct lf_resource *des,
				       const char *key, char **why)
{
	*why = NULL;
	if (!rt || !rt->update)
		return LF_CHANGE_REPLACE;
	if (rt->change_kind)
		return rt->change_kind(env, cur, des, key, why);
	return rt->in_place && rt->in_place(env, cur, key) ? LF_CHANGE_INPLACE
							  : LF_CHANGE_REPLACE;
}

static char *value_text(const json_t *v)
{
	return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : lf_xstrdup("(none)");
}

/* one changed key; a change the driver cannot make refuses the plan */
static bool diff_key(struct lf_plan *p, const struct lf_apply_env *env,
		     const struct lf_rtype *rt, const struct lf_resource *cur,
		     const struct lf_resource *des, struct lf_action *a,
		     const char *key, json_t *ov, json_t *nv)
{
	char *why = NULL;
	enum lf_change_kind k = change_kind(env, rt, cur, des, key, &why);
	struct lf_change *c = change_add(a, key, ov, nv);

	c->kind = k;
	c->why = why;
	c->forces_replace = k == LF_CHANGE_REPLACE;
	if (k == LF_CHANGE_REFUSED && !p->refusal) {
		char *o = value_text(ov), *n = value_text(nv);

		p->refusal = lf_xasprintf("%s: %s cannot change from %s to %s: %s", des->addr,
					  key, o, n, why ? why : "the driver refuses it");
		free(o);
		free(n);
	}
	return k == LF_CHANGE_REPLACE;
}

/* list changed keys; return true when some change forces a replace */
static bool diff_attrs(struct lf_plan *p, const struct lf_apply_env *env,
		       const struct lf_rtype *rt, const struct lf_resource *cur,
		       const struct lf_resource *des, struct lf_action *a)
{
	const char *key;
	json_t *nv, *ov;
	bool replace = false;

	json_object_foreach(des->attrs, key, nv) {
		ov = json_object_get(cur->attrs, key);
		if (ov && json_equal(ov, nv))
			continue;
		replace |= diff_key(p, env, rt, cur, des, a, key, ov, nv);
	}
	json_object_foreach(cur->attrs, key, ov) {
		if (json_object_get(des->attrs, key))
			continue;
		replace |= diff_key(p, env, rt, cur, des, a, key, ov, NULL);
	}
	return replace;
}

/* ---- target closure ---- */

static void closure_visit(const struct lf_rset *rs, const char *addr,
			  json_t *seen)
{
	const struct lf_resource *r;
	size_t i;

	if (json_object_get(seen, addr))
		return;
	json_object_set_new(seen, addr, json_true());
	r = lf_rset_get(rs, addr);
	if (!r)
		return;
	for (i = 0; i < r->ndeps; i++)
		closure_visit(rs, r->deps[i], seen);
}

/* the targets plus every recorded resource that depends on one of them,
 * transitively: a targeted delete takes what stands on it along (not what
 * only takes its outputs, LF_OUTPUTS_FROM: a node's identity stays when
 * its host goes) */
static json_t *dependents_closure(const struct lf_rset *current,
				  const char *const *targets)
{
	json_t *set = json_object();
	bool grew = true;
	size_t i, k;

	for (i = 0; targets[i]; i++)
		json_object_set_new(set, targets[i], json_true());
	while (grew) {
		grew = false;
		for (i = 0; i < current->n; i++) {
			const struct lf_resource *r = &current->v[i];
			/* a dependency r takes outputs from only does not own r */
			const char *from = json_string_value(json_object_get(r->attrs,
									     LF_OUTPUTS_FROM));

			if (json_object_get(set, r->addr))
				continue;
			for (k = 0; k < r->ndeps; k++) {
				if (json_object_get(set, r->deps[k]) && !lf_streq(from, r->deps[k])) {
					json_object_set_new(set, r->addr, json_true());
					grew = true;
					break;
				}
			}
		}
	}
	return set;
}

static json_t *target_closure(const struct lf_rset *desired,
			      const char *const *targets)
{
	json_t *seen = json_object();
	size_t i;

	for (i = 0; targets[i]; i++)
		closure_visit(desired, targets[i], seen);
	return seen;
}

/* ---- ordering: depth-first topological order of the desired set ---- */

static void topo_visit(const struct lf_rset *rs, size_t i, unsigned char *mark,
		       size_t *order, size_t *n)
{
	const struct lf_resource *r = &rs->v[i];
	size_t k;

	if (mark[i])
		return;
	mark[i] = 1;
	for (k = 0; k < r->ndeps; k++) {
		const struct lf_resource *d = lf_rset_get(rs, r->deps[k]);

		if (d)
			topo_visit(rs, (size_t)(d - rs->v), mark, order, n);
	}
	order[(*n)++] = i;
}

static void action_init(struct lf_action *a, enum lf_action_kind k,
			const struct lf_resource *r)
{
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->addr = lf_xstrdup(r->addr);
	a->type = lf_xstrdup(r->type);
	a->attrs = r->attrs;
}

static bool in_list(const char *const *v, const char *addr)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], addr) == 0)
			return true;
	return false;
}

/* --replace ADDR or a tainted record: replaced although unchanged */
static void forced_replace(struct lf_action *a, const struct lf_plan_opts *opts)
{
	const char *why = in_list(opts ? opts->tainted : NULL, a->addr)
		? "tainted (ledgerform state taint), so it must be replaced"
		: in_list(opts ? opts->replace : NULL, a->addr)
		? "replacement requested with --replace" : NULL;

	if (!why)
		return;
	a->kind = LF_ACT_REPLACE;
	free(a->reason);
	a->reason = lf_xstrdup(why);
}

/* does the action remake its resource's outputs (a machine created,
 * replaced or restarted may come back at another address)? */
static bool remakes_outputs(const struct lf_action *a)
{
	if (a->kind == LF_ACT_CREATE || a->kind == LF_ACT_REPLACE)
		return true;
	for (size_t i = 0; a->kind == LF_ACT_UPDATE && i < a->nchanges; i++)
		if (a->changes[i].kind == LF_CHANGE_RESTART)
			return true;
	return false;
}

static void plan_desired(struct lf_plan *p, const struct lf_apply_env *env,
			 struct lf_rset *desired,
			 const struct lf_rset *current, json_t *scope,
			 const struct lf_plan_opts *opts)
{
	unsigned char *mark = lf_xcalloc(desired->n, 1);
	size_t *order = lf_xcalloc(desired->n, sizeof(*order));
	json_t *replaced = json_object(), *fresh = json_object();
	size_t n = 0, i, k;

	for (i = 0; i < desired->n; i++)
		topo_visit(desired, i, mark, order, &n);
	for (i = 0; i < n; i++) {
		struct lf_resource *des = &desired->v[order[i]];
		const struct lf_resource *cur = lf_rset_get(current, des->addr);
		const struct lf_rtype *rt = lf_rtype_find(des->type);
		struct lf_action *a = &p->v[p->n];

		if (scope && !json_object_get(scope, des->addr))
			continue;
		p->n++;
		lf_plan_resolve(env, des, fresh, NULL);
		if (!cur || cur->partial) {
			action_init(a, LF_ACT_CREATE, des);
			if (cur)
				a->reason = lf_xstrdup("its creation did not finish; resumed with what the driver made");
			json_object_set_new(replaced, des->addr, json_true());
			json_object_set_new(fresh, des->addr, json_true());
			if (rt && rt->refuse && !p->refusal)
				p->refusal = rt->refuse(env, NULL, des);
			if (rt && rt->note)
				a->note = rt->note(env, NULL, des);
			continue;
		}
		action_init(a, LF_ACT_NOOP, des);
		if (strcmp(cur->hash, des->hash) != 0 &&
		    !json_equal(cur->attrs, des->attrs))
			a->kind = diff_attrs(p, env, rt, cur, des, a) ?
				  LF_ACT_REPLACE : LF_ACT_UPDATE;
		if (cur->drift) {
			if (a->kind == LF_ACT_NOOP)
				a->kind = rt && rt->update ? LF_ACT_UPDATE : LF_ACT_REPLACE;
			a->reason = lf_xasprintf("drift: %s", cur->drift);
		}
		for (k = 0; !a->reason && k < des->ndeps; k++) {
			if (!json_object_get(replaced, des->deps[k]) ||
			    (rt && rt->follows && !rt->follows(des, des->deps[k])))
				continue;
			if (a->kind == LF_ACT_NOOP)
				a->kind = rt && rt->update ? LF_ACT_UPDATE : LF_ACT_REPLACE;
			a->reason = lf_xasprintf("dependency %s is (re)created",
						 des->deps[k]);
		}
		forced_replace(a, opts);
		if (a->kind == LF_ACT_REPLACE)
			json_object_set_new(replaced, des->addr, json_true());
		if (remakes_outputs(a))
			json_object_set_new(fresh, des->addr, json_true());
		if (a->kind != LF_ACT_NOOP && rt && rt->refuse && !p->refusal)
			p->refusal = rt->refuse(env, cur, des);
		if (a->kind == LF_ACT_REPLACE && rt && rt->refuse_delete && !p->refusal)
			p->refusal = rt->refuse_delete(env, cur, des);
		if (a->kind != LF_ACT_NOOP && rt && rt->note)
			a->note = rt->note(env, cur, des);
	}
	json_decref(replaced);
	json_decref(fresh);
	free(mark);
	free(order);
}

static void plan_deletes(struct lf_plan *p, const struct lf_apply_env *env,
			 const struct lf_rset *desired, const struct lf_rset *current,
			 json_t *targets)
{
	size_t i;

	for (i = 0; i < current->n; i++) {
		const struct lf_resource *cur = &current->v[i];
		const struct lf_rtype *rt;

		if (desired && lf_rset_get(desired, cur->addr))
			continue;
		if (targets && !json_object_get(targets, cur->addr))
			continue;
		action_init(&p->v[p->n++], LF_ACT_DELETE, cur);
		rt = lf_rtype_find(cur->type);
		if (rt && rt->refuse_delete && !p->refusal)
			p->refusal = rt->refuse_delete(env, cur, NULL);
	}
}

static void plan_count(struct lf_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		switch (p->v[i].kind) {
		case LF_ACT_CREATE: p->nadd++; break;
		case LF_ACT_UPDATE: p->nchange++; break;
		case LF_ACT_REPLACE: p->nadd++; p->ndestroy++; break;
		case LF_ACT_DELETE: p->ndestroy++; break;
		default: break;
		}
	}
}

int lf_plan_make(struct lf_plan **out, const struct lf_apply_env *env,
		 struct lf_rset *desired, const struct lf_rset *current,
		 const struct lf_plan_opts *opts, struct lf_err *err)
{
	struct lf_plan *p;
	json_t *scope = NULL, *tset = NULL;
	size_t i;

	*out = NULL;
	if (lf_plan_check_records(current, err) != 0)
		return err->code;
	p = lf_xcalloc(1, sizeof(*p));
	p->v = lf_xcalloc(desired->n + current->n + 1, sizeof(*p->v));
	p->destroy = opts && opts->destroy;
	for (i = 0; opts && opts->replace && opts->replace[i]; i++)
		if (!lf_rset_get(current, opts->replace[i]) ||
		    !lf_rset_get(desired, opts->replace[i])) {
			lf_plan_free(p);
			return lf_err_set(err, LF_EINVALID, "--replace '%s': no such resource "
					  "in both the spec and the state (only an existing "
					  "resource of the spec can be replaced)", opts->replace[i]);
		}
	if (opts && opts->targets && opts->targets[0]) {
		for (i = 0; opts->targets[i]; i++) {
			if (!lf_rset_get(desired, opts->targets[i]) &&
			    !lf_rset_get(current, opts->targets[i])) {
				lf_plan_free(p);
				return lf_err_set(err, LF_EINVALID,
						  "--target '%s': no such resource in the spec or the state",
						  opts->targets[i]);
			}
		}
		scope = target_closure(desired, opts->targets);
		tset = dependents_closure(current, opts->targets);
		p->targets = lf_xcalloc(i + 1, sizeof(char *));
		for (i = 0; opts->targets[i]; i++)
			p->targets[i] = lf_xstrdup(opts->targets[i]);
	}
	if (p->destroy) {
		plan_deletes(p, env, NULL, current, tset);
	} else {
		plan_desired(p, env, desired, current, scope, opts);
		plan_deletes(p, env, desired, current, tset);
	}
	plan_count(p);
	json_decref(scope);
	json_decref(tset);
	if (p->refusal) {
		int rc = lf_err_set(err, LF_EINVALID, "%s", p->refusal);

		lf_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

bool lf_plan_has_changes(const struct lf_plan *p)
{
	return p->nadd + p->nchange + p->ndestroy > 0;
}

void lf_plan_free(struct lf_plan *p)
{
	size_t i, k;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		struct lf_action *a = &p->v[i];

		for (k = 0; k < a->nchanges; k++) {
			free(a->changes[k].key);
			free(a->changes[k].why);
			json_decref(a->changes[k].old_val);
			json_decref(a->changes[k].new_val);
		}
		free(a->changes);
		free(a->addr);
		free(a->type);
		free(a->reason);
		free(a->note);
	}
	if (p->targets)
		for (i = 0; p->targets[i]; i++)
			free(p->targets[i]);
	free(p->targets);
	free(p->spec_file);
	free(p->refusal);
	json_decref(p->cost);
	free(p->v);
	free(p);
}
