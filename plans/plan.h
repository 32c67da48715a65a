/*
 * The planner and the executor.
 *
 *   desired (spec expanded) + current (state) --lf_plan_make--> actions
 *   actions --lf_plan_apply--> driver/renderer calls on a worker pool,
 *                              state committed after finished actions
 *
 * A plan is a list of actions, each on one address, plus the lineage and
 * serial of the state it was made from (a saved plan is refused once the
 * state has moved on).
 */
#ifndef LF_PLAN_H
#define LF_PLAN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include "ledgerform/error.h"
#include "plans/provider.h"
#include "plans/resource.h"

struct lf_spec;
struct lf_state;

/* what a refresh asks the drivers about */
enum lf_refresh_mode {
	LF_REFRESH_NONE = -1,    /* --refresh=false */
	LF_REFRESH_CHEAP = 0,    /* default: hosts whose driver reads cheaply
				    (local, ssh), and nodes on them */
	LF_REFRESH_ALL = 1       /* --refresh: every recorded resource */
};

enum lf_action_kind {
	LF_ACT_NOOP = 0,
	LF_ACT_CREATE,
	LF_ACT_UPDATE,
	LF_ACT_REPLACE,
	LF_ACT_DELETE,
	LF_ACT_LAST
};

struct lf_change {
	char *key;
	json_t *old_val;     /* NULL when absent */
	json_t *new_val;     /* NULL when absent */
	bool forces_replace;
	enum lf_change_kind kind; /* in place, with a restart, replace */
	char *why;           /* the driver's reason, or NULL */
};

struct lf_action {
	enum lf_action_kind kind;
	char *addr;
	char *type;
	struct lf_change *changes;
	size_t nchanges;
	char *reason;        /* e.g. "dependency host.bank.peer0 replaced" */
	char *note;          /* from the type's note callback */
	const json_t *attrs; /* borrowed: desired (or current, for deletes) */
	char attrs_sha256[65]; /* saved plans: the recorded attrs' hash */
};

struct lf_plan {
	struct lf_action *v;     /* every resource, NOOPs included */
	size_t n;
	size_t nadd, nchange, ndestroy;
	char lineage[37];
	unsigned long long serial;
	char spec_sha256[65];
	char *spec_file;
	bool destroy;            /* a destroy plan */
	char **targets;          /* --target addresses, NULL-terminated */
	char *refusal;           /* why the plan cannot be made (internal) */
	char actions_sha256[65]; /* saved plans: lf_plan_digest when saved */
	json_t *cost;            /* lf_cost_estimate (plans/cost.h) or NULL */
};

struct lf_plan_opts {
	bool destroy;                 /* plan to delete everything */
	const char *const *targets;   /* NULL or NULL-terminated addresses */
	/* addresses to replace although unchanged (NULL-terminated, or
	 * NULL): --replace ADDR, and the tainted records (`state taint`) */
	const char *const *replace;
	const char *const *tainted;
};

/* Compute the plan. env is needed for the types' in_place/note hooks.
 * desired's attributes that come from other resources (lf_rtype.resolve)
 * are filled in (from current's outputs, or LF_KNOWN_AFTER_APPLY). */
int lf_plan_make(struct lf_plan **out, const struct lf_apply_env *env,
		 struct lf_rset *desired, const struct lf_rset *current,
		 const struct lf_plan_opts *opts, struct lf_err *err);
void lf_plan_free(struct lf_plan *plan);
bool lf_plan_has_changes(const struct lf_plan *plan);

/* Terraform-like text (colour when color is true) */
void lf_plan_print(const struct lf_plan *plan, FILE *f, bool color);
/* The plan as JSON (also the saved plan file's body, format_version 1;
 * the loader reads only the addresses, actions and hashes, so the
 * display fields may grow). Each action has "after" (create, update,
 * replace: the desired attributes) or "before" (delete), and per changed
 * key a "diff" list of {path, before, after} leaves ("size.disk_gb",
 * "orgs[1]"). */
json_t *lf_plan_to_json(const struct lf_plan *plan);
/* saved plans */
int lf_plan_save(const struct lf_plan *plan, const char *path,
		 struct lf_err *err);
int lf_plan_load(struct lf_plan **out, const char *path, struct lf_err *err);

const char *lf_action_name(enum lf_action_kind k);

/* The canonical hash of what a plan does: its (address, action, sha256 of
 * the canonical attributes) list in address order, the destroy flag and
 * the targets. A saved plan is applied only when the fresh plan's digest
 * is the saved one. */
void lf_plan_digest(const struct lf_plan *plan, char out[65]);

/* ---- executor ---- */

enum lf_action_phase { LF_ACTION_START, LF_ACTION_DONE, LF_ACTION_FAILED };

struct lf_apply_opts {
	unsigned int parallelism;     /* default 10 */
	unsigned int retry_max;       /* attempts for LF_ERETRY, default 5 */
	unsigned int retry_base_ms;   /* first backoff, default 200 */
	unsigned int retry_cap_ms;    /* backoff ceiling, default 10000 */
	FILE *progress;               /* where progress lines go (NULL: none) */
	bool tty;                     /* progress with a running counter */
	/* called (on the scheduler thread) after state is committed; tests */
	void (*on_commit)(void *payload, unsigned long long serial);
	void *payload;
	/* called when an action starts (on its worker thread, no lock held)
	 * and when it is done or failed (on the scheduler thread): the CLI's
	 * machine-readable events; NULL: none */
	void (*on_action)(void *payload, const struct lf_action *a,
			  enum lf_action_phase phase, double secs, const char *error);
};

#define LF_APPLY_OPTS_INIT { 10, 5, 200, 10000, NULL, false, NULL, NULL, NULL }

struct lf_apply_result {
	size_t done, failed, skipped, not_started;
	size_t waiting;        /* updates waiting for signatures (LF_EPENDING) */
	size_t max_running;   /* most actions seen running at once */
	size_t max_lane_running; /* most at once on one limited provider */
	size_t commits;       /* state writes made */
	bool commit_failed;   /* a state write failed: apply stopped there */
	size_t unrecorded;    /* finished actions the state does not record */
	size_t retries;       /* extra attempts after transient errors */
	bool interrupted;
	char *summary;        /* multi-line summary of failures; caller frees */
};

/*
 * Run the plan's actions. `state` must be locked by the caller; `doc` is
 * the state document read under that lock: its resources are updated as
 * actions finish and written after each batch of completions.
 */
struct lf_state_doc;
int lf_plan_apply(const struct lf_plan *plan, const struct lf_apply_env *env,
		  struct lf_rset *desired, struct lf_state *state,
		  struct lf_state_doc *doc, const struct lf_apply_opts *opts,
		  struct lf_apply_result *res, struct lf_err *err);

/* Signal handling for apply: first SIGINT/SIGTERM stops starting new
 * actions, second cancels running driver waits. */
void lf_exec_install_signals(void);
void lf_exec_request_stop(int level);
int lf_exec_stop_level(void);

/* Start up to n threads running fn(arg) into th; returns how many were
 * started (fewer when the system refuses more; the started ones share the
 * work, and 0 means none can run). For the executor and refresh. */
unsigned int lf_plan__start_threads(pthread_t *th, unsigned int n,
				    void *(*fn)(void *), void *arg);

/* Check the recorded resources before any is used: the fields that choose
 * paths (crypto dirs, channel names) or plugins (host provider, driver,
 * name) must pass the spec's rules. LF_EINVALID names the record and
 * field. lf_plan_make, lf_plan_apply and lf_refresh call it. */
int lf_plan_check_records(const struct lf_rset *current, struct lf_err *err);

/* ---- attributes from outputs (plans/resolve.c) ---- */

/* Fill in r's attributes that take other resources' outputs (its type's
 * resolve; fresh as there): true when r's attrs were replaced (and r
 * rehashed); the old attrs go to *held, or are released when held is
 * NULL. */
bool lf_plan_resolve(const struct lf_apply_env *env, struct lf_resource *r,
		     const json_t *fresh, json_t **held);
/* The current set from raw records (lf_rset_from_raw), the records of
 * resources that take outputs read after the others, once desired's
 * attributes were filled in from those (so that matching records share
 * them). */
struct lf_state_raw;
int lf_plan_read_current(struct lf_rset **out, const struct lf_state_raw *raw,
			 struct lf_rset *desired, struct lf_err *err);

/* ---- refresh ---- */

/* Ask recorded resources' types (all, or those whose drivers read
 * cheaply) how they live: drop the gone ones from *current and
 * doc_resources, take live values of drifted attributes into *current
 * (noting the drift for the plan), reporting each. */
int lf_refresh(const struct lf_apply_env *env, struct lf_rset **current,
	       json_t *doc_resources, enum lf_refresh_mode mode,
	       unsigned int parallelism, FILE *report, struct lf_err *err);

/* ---- providers ---- */

struct lf_diags;
/* Check every provider of the spec against its driver plugin (it loads,
 * its roles fit, its credentials reference resolves, its validate
 * callback accepts the config and sizes); problems go to out with spec
 * positions. Unresolved credentials are a warning unless applying (a plan
 * can be made where the secrets are not). LF_EINVALID on errors. */
int lf_providers_check(const struct lf_spec *spec, struct lf_registry *reg,
		       bool applying, struct lf_diags *out);

/* ---- expansion ---- */

/* Expand the spec into desired resources: hosts, nodes, crypto, channels. */
int lf_expand(const struct lf_spec *spec, struct lf_rset **out,
	      struct lf_err *err);

#endif
