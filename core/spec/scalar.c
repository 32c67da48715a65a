/*
 * Scalars of a chain spec: integers, sizes with units, durations, names,
 * and the typed getters the section builders use. Every getter reports a
 * wrong value at the value's position, naming what was expected.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

/* ---- pure parsers ---- */

/* decimal digits only, no sign, no overflow */
bool lf_spec_parse_u64(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (v > (~0ULL - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* split "12GiB" into 12 and "GiB" (no space allowed, or one space) */
static bool split_unit(const char *s, unsigned long long *num, const char **unit)
{
	char digits[24];
	size_t i = 0;

	while (s[i] >= '0' && s[i] <= '9') {
		if (i + 1 >= sizeof(digits))
			return false;
		digits[i] = s[i];
		i++;
	}
	digits[i] = '\0';
	if (i == 0 || !lf_spec_parse_u64(digits, num))
		return false;
	*unit = s + i;
	if (**unit == ' ')
		(*unit)++;
	return true;
}

static bool mul_ok(unsigned long long a, unsigned long long b,
		   unsigned long long *out)
{
	if (b && a > ~0ULL / b)
		return false;
	*out = a * b;
	return true;
}

bool lf_spec_parse_mb(const char *s, bool plain_int, unsigned long long *out)
{
	static const struct { const char *u; unsigned long long mb; } units[] = {
		{ "MiB", 1 }, { "GiB", 1024 }, { "TiB", 1024ULL * 1024 },
		{ "M", 1 }, { "G", 1024 }, { "T", 1024ULL * 1024 },
	};
	unsigned long long n;
	const char *unit;

	if (!s || !split_unit(s, &n, &unit))
		return false;
	if (*unit == '\0') {
		if (!plain_int)
			return false;
		*out = n;
		return true;
	}
	for (size_t i = 0; i < LF_ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].u) == 0)
			return mul_ok(n, units[i].mb, out);
	return false;
}

bool lf_spec_parse_bytes(const char *s, unsigned long long *out)
{
	static const struct { const char *u; unsigned long long b; } units[] = {
		{ "B", 1 }, { "KB", 1024 }, { "MB", 1024 * 1024 },
		{ "GB", 1024ULL * 1024 * 1024 }, { "KiB", 1024 },
		{ "MiB", 1024 * 1024 }, { "GiB", 1024ULL * 1024 * 1024 },
	};
	unsigned long long n;
	const char *unit;

	if (!s || !split_unit(s, &n, &unit))
		return false;
	if (*unit == '\0') {
		*out = n;
		return true;
	}
	for (size_t i = 0; i < LF_ARRAY_LEN(units); i++)
		if (strcmp(unit, units[i].u) == 0)
			return mul_ok(n, units[i].b, out);
	return false;
}

/* "1h30m", "2s", "500ms": one or more NUMBER UNIT parts */
bool lf_spec_parse_duration(const char *s, unsigned long long *out)
{
	static const struct { const char *u; unsigned long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	unsigned long long total = 0;

	if (!s || !*s)
		return false;
	while (*s) {
		unsigned long long n, v;
		const char *unit;
		size_t i, ul = 0;

		if (!split_unit(s, &n, &unit) || unit != s + strspn(s, "0123456789"))
			return false;
		for (i = 0; i < LF_ARRAY_LEN(units); i++) {
			ul = strlen(units[i].u);
			if (strncmp(unit, units[i].u, ul) == 0 &&
			    (unit[ul] == '\0' || (unit[ul] >= '0' && unit[ul] <= '9')))
				break;
		}
		if (i == LF_ARRAY_LEN(units) || !mul_ok(n, units[i].ms, &v) ||
		    total > ~0ULL - v)
			return false;
		total += v;
		s = unit + ul;
	}
	*out = total;
	return true;
}

bool lf_spec_is_dns_name(const char *s)
{
	char label[64];
	size_t len;

	if (!s || !*s || strlen(s) > 253)
		return false;
	while (*s) {
		len = strcspn(s, ".");
		if (len == 0 || len >= sizeof(label))
			return false;
		memcpy(label, s, len);
		label[len] = '\0';
		if (!lf_is_dns_label(label))
			return false;
		s += len;
		if (*s == '.' && *++s == '\0')
			return false;
	}
	return true;
}

bool lf_spec_is_channel_name(const char *s)
{
	size_t n;

	if (!s || !(*s >= 'a' && *s <= 'z'))
		return false;
	n = strlen(s);
	if (n >= 250)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

bool lf_spec_is_ident(const char *s, size_t max)
{
	size_t n;

	if (!s || !*s)
		return false;
	n = strlen(s);
	return n <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool is_ipv4(const char *s)
{
	unsigned long long v;
	char part[4];
	int nparts = 0;

	while (nparts < 4) {
		size_t len = strspn(s, "0123456789");

		if (len == 0 || len > 3)
			return false;
		memcpy(part, s, len);
		part[len] = '\0';
		if (!lf_spec_parse_u64(part, &v) || v > 255)
			return false;
		s += len;
		nparts++;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			return false;
	}
	return nparts == 4 && *s == '\0';
}

bool lf_spec_is_address(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	n = strlen(s);
	if (strspn(s, "0123456789abcdefABCDEF:.") == n && strchr(s, ':'))
		return n <= 45;                          /* IPv6 literal */
	if (strspn(s, "0123456789.") == n)
		return is_ipv4(s);
	return lf_spec_is_dns_name(s);
}

/* ---- mapping access ---- */

const struct lf_ynode *lf_map_key(const struct lf_ynode *map, const char *key)
{
	if (!map || map->type != LF_Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->type == LF_Y_SCALAR &&
		    strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i];
	return NULL;
}

const struct lf_ynode *lf_map_get(const struct lf_ynode *map, const char *key)
{
	if (!map || map->type != LF_Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->kids[i]->type == LF_Y_SCALAR &&
		    strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i + 1];
	return NULL;
}

static const char *suggest(const char *key, const char *const *allowed)
{
	const char *best = NULL;
	size_t bd = 3;

	for (size_t i = 0; allowed[i]; i++) {
		size_t dd = lf_edit_distance(key, allowed[i], 2);

		if (dd < bd) {
			bd = dd;
			best = allowed[i];
		}
	}
	return best;
}

size_t lf_sc_check_keys(struct lf_sctx *c, const struct lf_ynode *map,
			const char *const *allowed, const char *what)
{
	char buf[LF_SHOW_MAX];
	size_t bad = 0;

	if (!map || map->type != LF_Y_MAP)
		return 0;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct lf_ynode *k = map->kids[i];
		const char *hint;
		size_t j;

		if (k->type != LF_Y_SCALAR)
			continue;
		for (j = 0; allowed[j] && strcmp(allowed[j], k->str) != 0; j++)
			;
		if (allowed[j])
			continue;
		bad++;
		hint = k->len <= 64 ? suggest(k->str, allowed) : NULL;
		if (hint)
			lf_sc_err(c, k, "unknown key '%s' in %s; did you mean "
				  "'%s'?", lf_sc_show(k->str, buf, sizeof(buf)),
				  what, hint);
		else
			lf_sc_err(c, k, "unknown key '%s' in %s",
				  lf_sc_show(k->str, buf, sizeof(buf)), what);
	}
	return bad;
}

bool lf_sc_want(struct lf_sctx *c, const struct lf_ynode *n, enum lf_ytype t,
		const char *what)
{
	static const char *const names[] = { "a string", "a sequence",
					     "a mapping" };

	if (n && n->type == t && !(t == LF_Y_SCALAR && lf_ynode_is_null(n)))
		return true;
	if (n && !n->reported)
		lf_sc_err(c, n, "%s: expected %s, got %s%s", what, names[t],
			  lf_ynode_is_null(n) ? "" : "a ", lf_ytype_name(n));
	return false;
}

/* ---- typed getters ---- */

int lf_sc_str(struct lf_sctx *c, const struct lf_ynode *map, const char *key,
	      const char *required_in, char **out)
{
	const struct lf_ynode *v = lf_map_get(map, key);

	if (!v) {
		if (required_in)
			lf_sc_err(c, map, "missing required key '%s' in %s",
				  key, required_in);
		return required_in ? -1 : 0;
	}
	if (!lf_sc_want(c, v, LF_Y_SCALAR, key))
		return -1;
	free(*out);
	*out = lf_xstrdup(v->str);
	return 0;
}

/* a scalar for a numeric getter: not null (and plain for integers);
 * anything else is reported */
static const struct lf_ynode *num_node(struct lf_sctx *c,
				       const struct lf_ynode *map,
				       const char *key, const char *expect,
				       bool need_plain)
{
	const struct lf_ynode *v = lf_map_get(map, key);
	char buf[LF_SHOW_MAX];

	if (!v || v->reported)
		return NULL;
	if (v->type != LF_Y_SCALAR || lf_ynode_is_null(v)) {
		lf_sc_err(c, v, "%s: expected %s, got %s%s", key, expect,
			  lf_ynode_is_null(v) ? "" : "a ", lf_ytype_name(v));
		return NULL;
	}
	if (need_plain && !v->plain) {
		lf_sc_err(c, v, "%s: expected %s, got the quoted string '%s'",
			  key, expect, lf_sc_show(v->str, buf, sizeof(buf)));
		return NULL;
	}
	return v;
}

int lf_sc_uint(struct lf_sctx *c, const struct lf_ynode *map, const char *key,
	       unsigned long long min, unsigned long long max,
	       unsigned long long *out)
{
	const struct lf_ynode *v = num_node(c, map, key, "an integer", true);
	unsigned long long n;
	char buf[LF_SHOW_MAX];

	if (!v)
		return lf_map_get(map, key) ? -1 : 0;
	if (!lf_spec_parse_u64(v->str, &n) || n < min || n > max) {
		lf_sc_err(c, v, "%s: expected an integer from %llu to %llu, "
			  "got '%s'", key, min, max,
			  lf_sc_show(v->str, buf, sizeof(buf)));
		return -1;
	}
	*out = n;
	return 0;
}

int lf_sc_mbytes(struct lf_sctx *c, const struct lf_ynode *map,
		 const char *key, unsigned long long *out_mb)
{
	const struct lf_ynode *v = num_node(c, map, key, "a size", false);
	unsigned long long n;
	char buf[LF_SHOW_MAX];

	if (!v)
		return lf_map_get(map, key) ? -1 : 0;
	if (!lf_spec_parse_mb(v->str, v->plain, &n) || n == 0 ||
	    n > 1024ULL * 1024 * 1024) {
		lf_sc_err(c, v, "%s: expected a size such as 4GiB, 512MiB or "
			  "a plain number of MB (at most 1024TiB), got '%s'",
			  key, lf_sc_show(v->str, buf, sizeof(buf)));
		return -1;
	}
	*out_mb = n;
	return 0;
}

int lf_sc_bytes(struct lf_sctx *c, const struct lf_ynode *map,
		const char *key, unsigned long long max,
		unsigned long long *out)
{
	const struct lf_ynode *v = num_node(c, map, key, "a byte size", false);
	unsigned long long n;
	char buf[LF_SHOW_MAX];

	if (!v)
		return lf_map_get(map, key) ? -1 : 0;
	if (!lf_spec_parse_bytes(v->str, &n) || n == 0 || n > max) {
		lf_sc_err(c, v, "%s: expected a byte size such as 99MB, 512KB "
			  "or a number of bytes (1 to %llu), got '%s'", key,
			  max, lf_sc_show(v->str, buf, sizeof(buf)));
		return -1;
	}
	*out = n;
	return 0;
}

int lf_sc_duration(struct lf_sctx *c, const struct lf_ynode *map,
		   const char *key, unsigned long long max_ms,
		   unsigned long long *out_ms)
{
	const struct lf_ynode *v = num_node(c, map, key, "a duration", false);
	unsigned long long n;
	char buf[LF_SHOW_MAX];

	if (!v)
		return lf_map_get(map, key) ? -1 : 0;
	if (!lf_spec_parse_duration(v->str, &n) || n == 0 || n > max_ms) {
		lf_sc_err(c, v, "%s: expected a duration such as 2s, 500ms or "
			  "1m (at most %llus), got '%s'", key, max_ms / 1000,
			  lf_sc_show(v->str, buf, sizeof(buf)));
		return -1;
	}
	*out_ms = n;
	return 0;
}

int lf_sc_strlist(struct lf_sctx *c, const struct lf_ynode *map,
		  const char *key, char ***out, size_t *n,
		  const struct lf_ynode **node)
{
	const struct lf_ynode *v = lf_map_get(map, key);
	char **list;
	size_t k = 0;
	int rc = 0;

	if (node)
		*node = v;
	if (!v)
		return 0;
	if (!lf_sc_want(c, v, LF_Y_SEQ, key))
		return -1;
	list = lf_xcalloc(v->n ? v->n : 1, sizeof(*list));
	for (size_t i = 0; i < v->n; i++) {
		if (!lf_sc_want(c, v->kids[i], LF_Y_SCALAR, key)) {
			rc = -1;
			continue;
		}
		list[k++] = lf_xstrdup(v->kids[i]->str);
	}
	*out = list;
	*n = k;
	return rc;
}
