/*
 * destroy and the org CAs: deleting crypto.ORG.ca deletes the org's CA
 * private key, which nothing can bring back (certificates it issued can
 * then never be renewed by it, and a new CA means a new MSP for every
 * channel). destroy says so before it asks, naming the orgs, and
 * --keep-crypto leaves every crypto.* resource out of the destroy: the
 * crypto tree stays on disk and the state keeps its records, so the next
 * apply of the spec finds them unchanged and reuses the same CAs and
 * identities (nothing to import). docs/state.md, "destroy and crypto".
 */
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/util/util.h"

/* the orgs whose generated CA key the plan deletes, "a, b"; NULL: none */
static char *ca_orgs(const struct lf_plan *p, size_t *n)
{
	struct lf_buf b = LF_BUF_INIT;

	*n = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct lf_action *a = &p->v[i];

		if (a->kind != LF_ACT_DELETE || strcmp(a->type, "crypto") != 0 ||
		    !lf_streq(json_string_value(json_object_get(a->attrs, "kind")), "ca") ||
		    json_object_get(a->attrs, "ca_import"))
			continue;
		lf_buf_printf(&b, "%s%s", (*n)++ ? ", " : "",
			      json_string_value(json_object_get(a->attrs, "org")));
	}
	if (!b.data)
		return NULL;
	lf_buf_append(&b, "", 1);
	return b.data;
}

/* the crypto deletes become no-ops; returns how many */
static size_t keep_crypto(struct lf_plan *p)
{
	size_t kept = 0;

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].kind == LF_ACT_DELETE && strcmp(p->v[i].type, "crypto") == 0) {
			p->v[i].kind = LF_ACT_NOOP;
			p->ndestroy--;
			kept++;
		}
	return kept;
}

static const char *crypto_dir(const struct lf_ws *ws)
{
	return ws->crypto_dir ? ws->crypto_dir : "the crypto directory";
}

void lf_cli_keep_crypto(struct lf_plan *p, const struct lf_ws *ws)
{
	size_t kept = keep_crypto(p);

	if (kept)
		fprintf(stderr, "--keep-crypto: the crypto tree stays at %s and the state keeps "
			"its %zu crypto record%s; the next apply of the spec reuses these CAs "
			"and identities.\n", crypto_dir(ws), kept, kept == 1 ? "" : "s");
}

void lf_cli_warn_ca_keys(const struct lf_plan *p, const struct lf_ws *ws)
{
	const char *dir = crypto_dir(ws);
	size_t n;
	char *orgs;

	fflush(stdout);
	orgs = ca_orgs(p, &n);
	if (!orgs)
		return;
	fprintf(stderr, "\nWarning: destroy deletes the CA private key%s of org%s %s (under %s).\n"
		"They cannot be recovered: certificates they issued can never be renewed by them, "
		"and new CAs make new MSPs. To keep them, run destroy with --keep-crypto.\n",
		n == 1 ? "" : "s", n == 1 ? "" : "s", orgs, dir);
	free(orgs);
}
