/*
 * The cost estimate of a plan: what the hosts cost a month (730 hours)
 * before and after it, from the sizes' prices per provider (docs/cost.md).
 */
#ifndef LF_COST_H
#define LF_COST_H

#include <stdio.h>
#include <jansson.h>

struct lf_plan;
struct lf_spec;
struct lf_rset;

#define LF_COST_HOURS_PER_MONTH 730

/*
 * The cost object of plan (hosts before: current's records; after: the
 * plan's attributes, none for a delete), priced with spec's sizes; NULL
 * when no size of spec has a price. Every host is listed; a host whose
 * size has no price for its provider (or that has no size: an explicit
 * machine) is "no price" and left out of the totals, never counted as 0.
 */
json_t *lf_cost_estimate(const struct lf_plan *plan, const struct lf_spec *spec,
			 const struct lf_rset *current);
/* the estimate as text (the hosts that change, then per provider and the
 * total); nothing for NULL */
void lf_cost_print(const json_t *cost, FILE *f);

#endif
