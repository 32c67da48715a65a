/*
 * The cost estimate (cost.h). Amounts are per month of 730 hours, rounded
 * to cents where they are shown or put in JSON; totals are summed before
 * rounding.
 */
#include "plans/cost.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/plan.h"

static double cents(double v)
{
	return round(v * 100.0) / 100.0;
}

/* {status: "priced", hourly, monthly} or {status: "no price"}; the
 * monthly amount in *monthly (0 when not priced) */
static json_t *price_of(const struct lf_spec *spec, const json_t *attrs, double *monthly,
			bool *priced)
{
	const struct lf_size *sz = lf_spec_size(spec, json_string_value(json_object_get(attrs, "size")));
	const json_t *p = NULL;

	*monthly = 0;
	if (sz && sz->price) {
		p = json_object_get(sz->price, json_string_value(json_object_get(attrs, "provider")));
		if (!p)
			p = json_object_get(sz->price, json_string_value(json_object_get(attrs, "driver")));
	}
	*priced = p != NULL;
	if (!p)
		return json_pack("{s:s}", "status", "no price");
	*monthly = json_real_value(p) * LF_COST_HOURS_PER_MONTH;
	return json_pack("{s:s, s:f, s:f}", "status", "priced", "hourly", json_real_value(p),
			 "monthly", cents(*monthly));
}

static bool spec_has_prices(const struct lf_spec *spec)
{
	for (size_t i = 0; spec && i < spec->nsizes; i++)
		if (spec->sizes[i].price)
			return true;
	return false;
}

/* add before/after to the provider's row of providers */
static void add_to_provider(json_t *providers, const char *name, double before, double after,
			    bool priced)
{
	json_t *row = json_object_get(providers, name);

	if (!row) {
		row = json_pack("{s:f, s:f, s:i, s:i}", "before", 0.0, "after", 0.0, "hosts", 0,
				"unpriced", 0);
		json_object_set_new(providers, name, row);
	}
	json_object_set_new(row, "hosts", json_integer(json_integer_value(json_object_get(row, "hosts")) + 1));
	if (!priced)
		json_object_set_new(row, "unpriced",
				    json_integer(json_integer_value(json_object_get(row, "unpriced")) + 1));
	json_object_set_new(row, "before", json_real(json_real_value(json_object_get(row, "before")) + before));
	json_object_set_new(row, "after", json_real(json_real_value(json_object_get(row, "after")) + after));
}

/* one host's entry; adds its priced amounts to *before, *after and its
 * provider's row, its address to no_price when a side has no price */
static json_t *host_entry(const struct lf_action *a, const struct lf_spec *spec,
			  const struct lf_rset *current, json_t *providers, json_t *no_price,
			  double tot[2])
{
	const struct lf_resource *r = current ? lf_rset_get(current, a->addr) : NULL;
	const json_t *attrs = a->kind == LF_ACT_DELETE ? (r ? r->attrs : a->attrs) : a->attrs;
	json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "address", a->addr,
			      "action", lf_action_name(a->kind),
			      "provider", json_string_value(json_object_get(attrs, "provider")) ?: "",
			      "size", json_string_value(json_object_get(attrs, "size")) ?: "");
	double m[2] = { 0, 0 };
	bool ok[2] = { true, true };

	json_object_set_new(e, "before", r ? price_of(spec, r->attrs, &m[0], &ok[0]) : json_null());
	json_object_set_new(e, "after", a->kind != LF_ACT_DELETE
			    ? price_of(spec, a->attrs, &m[1], &ok[1]) : json_null());
	if (!ok[0] || !ok[1])
		json_array_append_new(no_price, json_string(a->addr));
	else
		json_object_set_new(e, "change", json_real(cents(m[1] - m[0])));
	add_to_provider(providers, json_string_value(json_object_get(e, "provider")), m[0], m[1],
			ok[0] && ok[1]);
	tot[0] += m[0];
	tot[1] += m[1];
	return e;
}

/* the providers' rows as an array, amounts rounded, with their change */
static json_t *provider_rows(json_t *providers)
{
	json_t *out = json_array(), *row;
	const char *name;

	json_object_foreach(providers, name, row) {
		double b = json_real_value(json_object_get(row, "before"));
		double a = json_real_value(json_object_get(row, "after"));

		json_array_append_new(out, json_pack("{s:s, s:f, s:f, s:f, s:O, s:O}", "provider", name,
						     "monthly_before", cents(b), "monthly_after",
						     cents(a), "monthly_change", cents(cents(a) - cents(b)),
						     "hosts", json_object_get(row, "hosts"),
						     "hosts_no_price", json_object_get(row, "unpriced")));
	}
	return out;
}

json_t *lf_cost_estimate(const struct lf_plan *plan, const struct lf_spec *spec,
			 const struct lf_rset *current)
{
	json_t *hosts, *providers, *no_price, *out;
	double tot[2] = { 0, 0 };

	if (!plan || !spec_has_prices(spec))
		return NULL;
	hosts = json_array();
	providers = json_object();
	no_price = json_array();
	for (size_t i = 0; i < plan->n; i++)
		if (strcmp(plan->v[i].type, "host") == 0 && plan->v[i].attrs)
			json_array_append_new(hosts, host_entry(&plan->v[i], spec, current,
								providers, no_price, tot));
	out = json_pack("{s:s, s:i, s:f, s:f, s:f, s:o, s:o, s:o}",
			"currency", spec->currency ? spec->currency : "USD",
			"hours_per_month", LF_COST_HOURS_PER_MONTH,
			"monthly_before", cents(tot[0]), "monthly_after", cents(tot[1]),
			"monthly_change", cents(cents(tot[1]) - cents(tot[0])),
			"resources", hosts, "providers", provider_rows(providers),
			"no_price", no_price);
	json_decref(providers);
	return out;
}

/* "30.37", "no price" or "-" (absent) for a side of a host */
static const char *side_text(const json_t *side, char *buf, size_t n)
{
	if (!side || json_is_null(side))
		return "-";
	if (!json_is_number(json_object_get(side, "monthly")))
		return "no price";
	snprintf(buf, n, "%.2f", json_number_value(json_object_get(side, "monthly")));
	return buf;
}

static void print_row(FILE *f, int w, const char *name, const char *b, const char *a,
		      const json_t *change)
{
	char c[32] = "-";

	if (json_is_number(change))
		snprintf(c, sizeof(c), "%+.2f", json_number_value(change));
	fprintf(f, "  %-*s %10s %10s %10s\n", w, name, b, a, c);
}

static void print_hosts(const json_t *cost, FILE *f, int w)
{
	const json_t *e;
	size_t i, same = 0;
	char b[32], a[32], *label;

	json_array_foreach(json_object_get(cost, "resources"), i, e) {
		if (lf_streq(json_string_value(json_object_get(e, "action")), "no-op")) {
			same++;
			continue;
		}
		label = lf_xasprintf("%s (%s, %s)", json_string_value(json_object_get(e, "address")),
				     json_string_value(json_object_get(e, "provider")),
				     json_string_value(json_object_get(e, "size")));
		print_row(f, w, label, side_text(json_object_get(e, "before"), b, sizeof(b)),
			  side_text(json_object_get(e, "after"), a, sizeof(a)),
			  json_object_get(e, "change"));
		free(label);
	}
	if (same)
		fprintf(f, "  (%zu unchanged host%s: in the totals below)\n", same, same == 1 ? "" : "s");
}

void lf_cost_print(const json_t *cost, FILE *f)
{
	const json_t *e, *np = json_object_get(cost, "no_price");
	char b[32], a[32];
	size_t i;
	int w = 44;

	if (!cost)
		return;
	fprintf(f, "\nMonthly cost estimate (%s, %d hours a month):\n\n",
		json_string_value(json_object_get(cost, "currency")), LF_COST_HOURS_PER_MONTH);
	fprintf(f, "  %-*s %10s %10s %10s\n", w, "", "before", "after", "change");
	print_hosts(cost, f, w);
	fprintf(f, "\n");
	json_array_foreach(json_object_get(cost, "providers"), i, e) {
		char *label = lf_xasprintf("provider %s",
					   json_string_value(json_object_get(e, "provider")));

		bool none = json_integer_value(json_object_get(e, "hosts")) ==
			    json_integer_value(json_object_get(e, "hosts_no_price"));

		snprintf(b, sizeof(b), "%.2f", json_number_value(json_object_get(e, "monthly_before")));
		snprintf(a, sizeof(a), "%.2f", json_number_value(json_object_get(e, "monthly_after")));
		print_row(f, w, label, none ? "no price" : b, none ? "no price" : a,
			  none ? NULL : json_object_get(e, "monthly_change"));
		free(label);
	}
	snprintf(b, sizeof(b), "%.2f", json_number_value(json_object_get(cost, "monthly_before")));
	snprintf(a, sizeof(a), "%.2f", json_number_value(json_object_get(cost, "monthly_after")));
	print_row(f, w, "total", b, a, json_object_get(cost, "monthly_change"));
	if (json_array_size(np) == 0)
		return;
	fprintf(f, "\n  %zu host%s with no price (not in the totals):", json_array_size(np),
		json_array_size(np) == 1 ? "" : "s");
	json_array_foreach(np, i, e)
		fprintf(f, "%s %s", i ? "," : "", json_string_value(e));
	fprintf(f, "\n");
}
