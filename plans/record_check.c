/*
 * State records are input like the spec: a state file can be edited,
 * damaged or crafted. Before any record is planned or applied, the fields
 * that choose paths or plugins are checked with the spec's rules, and a
 * bad record refuses the whole state with a message naming it and the
 * field; nothing from the state reaches the filesystem unchecked.
 *   crypto: dir, org_dir relative, below the crypto dir (no '..', '.',
 *           empty part or leading '/')
 *   channel: channel passes the channel-id rule
 *   host: provider and driver are names, name a plain directory name
 * (Host outputs, such as an old provider_config, are never used.)
 */
#include "plans/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

#define PATH_MAX_LEN 1024

/* relative, each part a plain name: nothing above or outside its base */
static bool rel_below(const char *s)
{
	const char *p = s;

	if (!*s || *s == '/' || strlen(s) > PATH_MAX_LEN)
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
		if (*p == '\0' && p[-1] == '/')
			return false;
	}
	return true;
}

/* the spec's channel-id rule: a lower-case letter, then lower-case
 * letters, digits, '.' or '-', fewer than 250 */
static bool channel_id(const char *s)
{
	size_t n = strlen(s);

	return *s >= 'a' && *s <= 'z' && n < 250 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n;
}

/* provider, driver: identifiers; host name: a plain directory name */
static bool ident(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 63 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static bool plain_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 253 && s[0] != '.' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

struct rule {
	const char *type, *key;
	bool (*ok)(const char *);
	bool required;
	const char *want;
};

static const struct rule rules[] = {
	{ "crypto", "dir", rel_below, false,
	  "a relative path below the crypto directory (no '..', not absolute)" },
	{ "crypto", "org_dir", rel_below, false,
	  "a relative path below the crypto directory (no '..', not absolute)" },
	{ "channel", "channel", channel_id, true,
	  "a channel id (a lower-case letter, then letters, digits, '.' or '-')" },
	{ "host", "provider", ident, true, "a provider name" },
	{ "host", "driver", ident, true, "a driver name" },
	{ "host", "name", plain_name, true,
	  "a plain host name ([A-Za-z0-9._-], not starting with '.')" },
};

static int check_one(const struct lf_resource *r, struct lf_err *err)
{
	size_t i;

	for (i = 0; i < LF_ARRAY_LEN(rules); i++) {
		const json_t *v;
		const char *s;

		if (strcmp(r->type, rules[i].type) != 0)
			continue;
		v = json_object_get(r->attrs, rules[i].key);
		if (!v && !rules[i].required)
			continue;
		s = json_string_value(v);
		if (s && rules[i].ok(s))
			continue;
		return lf_err_set(err, LF_EINVALID,
				  "state record '%s': attrs.%s %s%.80s%s is not %s; the state was "
				  "edited or damaged: fix the record, or forget it with "
				  "`ledgerform state rm %s`", r->addr, rules[i].key,
				  s ? "'" : "", s ? s : (v ? "(not a string)" : "(missing)"),
				  s ? "'" : "", rules[i].want, r->addr);
	}
	return 0;
}

int lf_plan_check_records(const struct lf_rset *current, struct lf_err *err)
{
	size_t i;

	for (i = 0; current && i < current->n; i++)
		if (check_one(&current->v[i], err) != 0)
			return err->code;
	return 0;
}
