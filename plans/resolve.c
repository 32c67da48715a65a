/*
 * Attributes that take other resources' outputs (lf_rtype.resolve: a node
 * identity's TLS SANs from its host's machine address, a node's "crypto"
 * from its identity's hash): filled in when the state is read (so that
 * matching records share the desired attributes, as others do), at plan
 * (LF_KNOWN_AFTER_APPLY where the plan remakes the source) and within the
 * apply, before the resource's action runs.
 */
#include "plans/plan.h"

#include <string.h>

#include "core/util/util.h"

bool lf_plan_resolve(const struct lf_apply_env *env, struct lf_resource *r,
		     const json_t *fresh, json_t **held)
{
	const struct lf_rtype *rt = lf_rtype_find(r->type);
	json_t *a = rt && rt->resolve ? rt->resolve(env, r, fresh) : NULL;

	if (!a)
		return false;
	if (held)
		*held = r->attrs;
	else
		json_decref(r->attrs);
	/* within an apply, a job on another resource may be reading r's
	 * attrs (a host's node_ports looks at every node): it sees the old
	 * object (held alive until the apply ends) or the whole new one */
	__atomic_store_n(&r->attrs, a, __ATOMIC_RELEASE);
	lf_resource_rehash(r);
	return true;
}

/* does des take attributes from outputs, itself (LF_OUTPUTS_FROM) or
 * through a dependency that does (a node through its identity)? */
static bool takes_outputs(void *arg, const struct lf_resource *des)
{
	const struct lf_rset *desired = arg;
	const struct lf_rtype *rt = lf_rtype_find(des->type);

	if (!rt || !rt->resolve)
		return false;
	if (json_object_get(des->attrs, LF_OUTPUTS_FROM))
		return true;
	for (size_t i = 0; i < des->ndeps; i++) {
		const struct lf_resource *d = lf_rset_get(desired, des->deps[i]);

		if (d && json_object_get(d->attrs, LF_OUTPUTS_FROM))
			return true;
	}
	return false;
}

/* between the rounds: the desired resources that take outputs, in the
 * set's order (identities before their nodes), from the records so far */
static void resolve_from(void *arg, const struct lf_rset *first)
{
	struct lf_rset *desired = arg;
	struct lf_apply_env env;

	memset(&env, 0, sizeof(env));
	env.desired = desired;
	env.current = first;
	for (size_t i = 0; i < desired->n; i++)
		if (takes_outputs(desired, &desired->v[i]))
			lf_plan_resolve(&env, &desired->v[i], NULL, NULL);
}

int lf_plan_read_current(struct lf_rset **out, const struct lf_state_raw *raw,
			 struct lf_rset *desired, struct lf_err *err)
{
	if (!desired)
		return lf_rset_from_raw(out, raw, NULL, err);
	return lf_rset_from_raw2(out, raw, desired, takes_outputs, resolve_from, desired, err);
}
