/*
 * Prices for the cost estimate (docs/cost.md):
 *
 *   currency: EUR                    # optional, ISO 4217 code; default USD
 *   sizes:
 *     small: {..., price: {aws: 0.0416, onprem: 0}}
 *
 * A size's price maps a provider name (or a driver name, which prices
 * every provider of that driver) to what one host of that size costs per
 * hour. Read after the providers, so that a key naming neither is an
 * error at its position in the same run as the other errors.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

/* the drivers ledgerform ships: a price may name one before any provider
 * of it is written */
static const char *const shipped_drivers[] = { "local", "sim", "ssh", "libvirt",
					       "aws", NULL };

static bool price_key_known(const struct lf_spec *s, const char *key)
{
	if (lf_spec_provider(s, key))
		return true;
	for (size_t i = 0; shipped_drivers[i]; i++)
		if (strcmp(shipped_drivers[i], key) == 0)
			return true;
	for (size_t i = 0; i < s->nproviders; i++)
		if (lf_streq(s->providers[i].driver, key))
			return true;
	return false;
}

/* a plain decimal: digits with at most one '.', no sign, no exponent */
static bool parse_price(const char *s, double *out)
{
	size_t dots = 0, digits = 0;
	const char *p;

	for (p = s; *p; p++) {
		if (*p == '.')
			dots++;
		else if (isdigit((unsigned char)*p))
			digits++;
		else
			return false;
	}
	if (digits == 0 || dots > 1 || p - s > 32)
		return false;
	*out = strtod(s, NULL);
	return isfinite(*out) && *out < 1e9;
}

static void one_price(struct lf_sctx *c, struct lf_size *z,
		      const struct lf_ynode *k, const struct lf_ynode *v)
{
	char buf[LF_SHOW_MAX], buf2[LF_SHOW_MAX];
	double hourly;

	if (k->type != LF_Y_SCALAR || k->dup)
		return;
	if (!price_key_known(c->spec, k->str)) {
		lf_sc_err(c, k, "size '%s': price for '%s', which is neither a provider "
			  "of the spec nor a driver", z->name,
			  lf_sc_show(k->str, buf, sizeof(buf)));
		return;
	}
	if (v->type != LF_Y_SCALAR || !parse_price(v->str, &hourly)) {
		lf_sc_err(c, v, "size '%s': price for '%s': expected a price per hour "
			  "such as 0.0416 (a number, 0 or more), got '%s'", z->name,
			  lf_sc_show(k->str, buf, sizeof(buf)),
			  v->type == LF_Y_SCALAR ? lf_sc_show(v->str, buf2, sizeof(buf2))
						 : lf_ytype_name(v));
		return;
	}
	if (!z->price)
		z->price = json_object();
	json_object_set_new(z->price, k->str, json_real(hourly));
}

static void currency(struct lf_sctx *c, const struct lf_ynode *v)
{
	char buf[LF_SHOW_MAX];
	const char *s;

	c->spec->currency = lf_xstrdup("USD");
	if (!v)
		return;
	s = v->type == LF_Y_SCALAR ? v->str : "";
	if (strlen(s) != 3 || !isupper((unsigned char)s[0]) ||
	    !isupper((unsigned char)s[1]) || !isupper((unsigned char)s[2])) {
		lf_sc_err(c, v, "currency: expected a three-letter code such as USD or "
			  "EUR, got '%s'", lf_sc_show(s, buf, sizeof(buf)));
		return;
	}
	memcpy(c->spec->currency, s, 4);
}

void lf_spec__prices(struct lf_sctx *c, const struct lf_ynode *sizes,
		     const struct lf_ynode *cur)
{
	currency(c, cur);
	if (!sizes || sizes->type != LF_Y_MAP)
		return;
	for (size_t i = 0; i + 1 < sizes->n; i += 2) {
		const struct lf_ynode *k = sizes->kids[i], *v = sizes->kids[i + 1];
		const struct lf_ynode *p = v->type == LF_Y_MAP ? lf_map_get(v, "price") : NULL;
		struct lf_size *z = NULL;

		for (size_t j = 0; k->type == LF_Y_SCALAR && j < c->spec->nsizes; j++)
			if (strcmp(c->spec->sizes[j].name, k->str) == 0)
				z = &c->spec->sizes[j];
		if (!z || !p || k->dup || !lf_sc_want(c, p, LF_Y_MAP, "a size's price"))
			continue;
		for (size_t j = 0; j + 1 < p->n; j += 2)
			one_price(c, z, p->kids[j], p->kids[j + 1]);
	}
}
