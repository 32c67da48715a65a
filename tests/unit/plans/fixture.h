/* A planner/executor fixture: a spec on the sim driver, its expansion, a
 * state file in a scratch directory, the driver registry and pool. */
#ifndef LF_PLANS_FIXTURE_H
#define LF_PLANS_FIXTURE_H

#include "core/plugin/plugin.h"
#include "core/spec/spec.h"
#include "plans/plan.h"
#include "state/state.h"

struct fx {
	char dir[128];
	struct lf_spec *spec;
	struct lf_rset *desired, *current;
	struct lf_registry *reg;
	struct lf_driver_pool *pool;
	struct lf_state *state;
	struct lf_state_doc doc;
	struct lf_apply_env env;
};

/* sim_config: the YAML flow-map body of the sim provider's config */
void fx_open(struct fx *f, const char *sim_config, int peers);
/* re-expand from another spec text, keeping the state and directory */
void fx_respec(struct fx *f, const char *sim_config, int peers, const char *image);
/* reload current from the state document */
void fx_reload_current(struct fx *f);
void fx_close(struct fx *f);
/* make a plan; caller frees */
struct lf_plan *fx_plan(struct fx *f, const struct lf_plan_opts *o);
const struct lf_action *fx_action(const struct lf_plan *p, const char *addr);
int fx_apply(struct fx *f, struct lf_plan *p, unsigned int par,
	     struct lf_apply_result *res, FILE *progress);

#endif
