/*
 * Resource types: how the executor creates, updates and deletes a resource
 * of one type. The planner and executor are generic; each type plugs in a
 * const struct lf_rtype:
 *   host    -> driver plugin (host_create/read/update/delete)
 *   node    -> driver plugin (put + exec) on the node's host
 *   crypto  -> core/fabric/crypto (local files, never a driver)
 *   channel -> core/fabric/block (genesis blocks, config updates)
 * Callbacks run on executor worker threads, several at once: they must be
 * thread-safe and must not touch the state (the executor records results).
 */
#ifndef LF_PROVIDER_H
#define LF_PROVIDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <jansson.h>
#include "ledgerform/driver.h"
#include "ledgerform/error.h"
#include "plans/resource.h"

struct lf_spec;
struct lf_registry;
struct lf_driver_pool;

/* What every type callback gets: read-only for the run's duration. */
struct lf_apply_env {
	const struct lf_spec *spec;       /* desired spec (NULL on destroy) */
	const char *workdir;              /* <spec dir>/.ledgerform/<name> */
	const char *crypto_dir;           /* <workdir>/crypto (0700) */
	const char *channels_dir;         /* <workdir>/channels */
	struct lf_driver_pool *drivers;   /* opened driver connections */
	struct lf_registry *registry;     /* driver plugins (capabilities) */
	const struct lf_rset *desired;    /* whole desired set (lookups); the
					     executor sets a resource's outputs
					     when its action finishes, before
					     its dependents start */
	const struct lf_rset *current;    /* whole current set (lookups) */
	const char *lineage;              /* the state's lineage (made before
					     the first action of a new state) */
	const atomic_int *cancel;         /* set when actions must stop (a
					     second ^C, a lost lock) */
	/* driver progress lines (the status line); NULL: dropped */
	void (*progress)(void *payload, const char *resource, const char *line);
	void *progress_payload;
};

/* a live key (read) whose string value is drift the plan shows as is */
#define LF_DRIFT_NOTE "drift_note"

/* the value of an attribute that comes from a resource this plan creates
 * or replaces: its outputs are known only after apply (plan output shows
 * it bare) */
#define LF_KNOWN_AFTER_APPLY "(known after apply)"

/* a host's outputs that are machine addresses (a provider's report): the
 * TLS SANs of the nodes on it, drift at refresh */
#define LF_ADDRESS_OUTPUTS { "machine_address", "public_address", "private_address" }

struct lf_rtype {
	const char *type;
	/* create: desired has attrs; set *outputs (object, owned by caller).
	 * On failure *outputs may hold what was made so far (an instance id
	 * whose wait timed out): the executor records it as a partial
	 * resource, planned for creation again with those outputs. */
	int (*create)(const struct lf_apply_env *env,
		      const struct lf_resource *desired, json_t **outputs,
		      struct lf_err *err);
	/* update in place: prior has attrs+outputs from state; NULL = the
	 * type cannot update in place and every change is a replace */
	int (*update)(const struct lf_apply_env *env,
		      const struct lf_resource *prior,
		      const struct lf_resource *desired, json_t **outputs,
		      struct lf_err *err);
	/* delete: prior from state; deleting what is gone is success */
	int (*delete)(const struct lf_apply_env *env,
		      const struct lf_resource *prior, struct lf_err *err);
	/* may attribute `key` change from prior to desired in place?
	 * NULL: no attribute can (unless change_kind says). */
	bool (*in_place)(const struct lf_apply_env *env,
			 const struct lf_resource *prior, const char *key);
	/* optional, preferred over in_place: how key's change from prior to
	 * desired (NULL: key removed) can be made, with the driver's reason
	 * in *why (caller frees; may stay NULL) */
	enum lf_change_kind (*change_kind)(const struct lf_apply_env *env,
					   const struct lf_resource *prior,
					   const struct lf_resource *desired,
					   const char *key, char **why);
	/* optional one-line note shown in the plan for a change (e.g. "needs
	 * 2 of 3 admin signatures: A, B, C"); caller frees; NULL for none */
	char *(*note)(const struct lf_apply_env *env,
		      const struct lf_resource *prior,
		      const struct lf_resource *desired);
	/* optional: a change that must not be planned at all (a replace
	 * would destroy something live); returns why (caller frees) or NULL.
	 * Checked for every change; prior is NULL for a create. */
	char *(*refuse)(const struct lf_apply_env *env,
			const struct lf_resource *prior,
			const struct lf_resource *desired);
	/* optional: a delete (or the delete half of a replace: then desired
	 * is not NULL) that cannot be done, e.g. the provider that made the
	 * resource is no longer in the spec; returns why (caller frees) or
	 * NULL. Checked for every delete and replace. */
	char *(*refuse_delete)(const struct lf_apply_env *env,
			       const struct lf_resource *prior,
			       const struct lf_resource *desired);
	/* optional: the provider whose limit (spec providers.X.parallelism)
	 * an action on this resource counts against; NULL for none */
	const char *(*lane)(const struct lf_apply_env *env,
			    const struct lf_resource *r);
	/* optional: the live resource (refresh). 0 and *live (may be NULL)
	 * holding the live values of attributes it can see (vcpus,
	 * memory_mb, ...; "running": false for a node that is down;
	 * LF_DRIFT_NOTE: a sentence on a difference no attribute holds);
	 * LF_ENOTFOUND gone (err saying why); else an error */
	int (*read)(const struct lf_apply_env *env,
		    const struct lf_resource *prior, json_t **live,
		    struct lf_err *err);
	/* optional: adopt an existing object `id` as the desired resource
	 * (`ledgerform import`); *outputs as for create */
	int (*import)(const struct lf_apply_env *env,
		      const struct lf_resource *desired, const char *id,
		      json_t **outputs, struct lf_err *err);
	/* optional: is read cheap for r (no remote API call worth
	 * counting)? plan refreshes those by default */
	bool (*read_cheap)(const struct lf_apply_env *env,
			   const struct lf_resource *r);
	/* optional: must r follow (be updated, or replaced) when its
	 * dependency dep is (re)created? NULL: it follows every dependency.
	 * A dependency that only orders r after dep (the org admin who
	 * signs once: what was signed stays done when the admin's identity
	 * is issued anew) answers false */
	bool (*follows)(const struct lf_resource *r, const char *dep);
	/* optional: attributes that take another resource's outputs or hash
	 * (a node identity's TLS SANs: its host's machine address; a node's
	 * "crypto": its identity's hash). Returns r's attrs with them filled
	 * in, as a new object (r->attrs may be shared), when they differ
	 * from r->attrs, else NULL. fresh: at plan, the addresses whose
	 * outputs this plan remakes (created, replaced, restarted): values
	 * from them are LF_KNOWN_AFTER_APPLY; NULL at apply, where
	 * env->desired carries this apply's outputs (else env->current). The
	 * plan's state read calls it with the recorded outputs
	 * (lf_plan_read_current), the planner in dependency order before it
	 * diffs r, the executor before r's action runs (plans/resolve.c). */
	json_t *(*resolve)(const struct lf_apply_env *env, const struct lf_resource *r,
			   const json_t *fresh);
};

/* a follows callback: every dependency but an org admin's identity
 * (crypto.ORG.admin) */
bool lf_follows_but_admin(const struct lf_resource *r, const char *dep);

/* the registered types; NULL when unknown */
const struct lf_rtype *lf_rtype_find(const char *type);

#endif
