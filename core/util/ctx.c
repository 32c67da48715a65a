/* The process's context (see ctx.h). */
#include "core/util/ctx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

static struct lf_ctx lf_ctx_builtin;     /* defaults, zero-initialised */
static struct lf_ctx *_Atomic lf_ctx_installed;

void lf_ctx_defaults(struct lf_ctx *c)
{
	memset(c, 0, sizeof(*c));
	atomic_init(&c->stop, 0);
	atomic_init(&c->cancel, 0);
	c->node_health_wait_s = LF_NODE_HEALTH_WAIT_DEFAULT;
}

/* a path safe to hand to a shell snippet unquoted */
static bool plain_path(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-+", *p)))
			return false;
	return true;
}

int lf_ctx_from_env(struct lf_ctx *c, struct lf_err *err)
{
	const char *bin = getenv("FABRIC_BIN");
	const char *dp = getenv("LEDGERFORM_DRIVER_PATH");
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	const char *log = getenv("LEDGERFORM_LOG");
	const char *hw = getenv("LEDGERFORM_NODE_HEALTH_WAIT");

	lf_ctx_defaults(c);
	if (bin && *bin) {
		if (!plain_path(bin))
			return lf_err_set(err, LF_EINVALID,
					  "FABRIC_BIN '%s' has characters other than letters, digits and /._-+",
					  bin);
		c->fabric_bin = lf_xstrdup(bin);
	}
	if (getenv("FABRIC_CA_BIN") && *getenv("FABRIC_CA_BIN")) {
		if (!plain_path(getenv("FABRIC_CA_BIN")))
			return lf_err_set(err, LF_EINVALID,
					  "FABRIC_CA_BIN '%s' has characters other than letters, digits and /._-+",
					  getenv("FABRIC_CA_BIN"));
		c->fabric_ca_bin = lf_xstrdup(getenv("FABRIC_CA_BIN"));
	}
	if (dp)
		c->driver_path = lf_xstrdup(dp);
	c->log_debug = lf_streq(log, "debug");
	c->timing = getenv("LEDGERFORM_TIMING") != NULL;
	c->free_on_exit = getenv("LEDGERFORM_FREE_ON_EXIT") != NULL;
	if (hw && *hw) {
		char *end = NULL;
		unsigned long v = strtoul(hw, &end, 10);

		if (*end || v == 0 || v > 3600 || hw[0] == '-')
			return lf_err_set(err, LF_EINVALID,
					  "LEDGERFORM_NODE_HEALTH_WAIT '%s' is not a number of seconds (1-3600)", hw);
		c->node_health_wait_s = (unsigned int)v;
	}
	if (sde && *sde) {
		char *end = NULL;
		long long v;

		errno = 0;
		v = strtoll(sde, &end, 10);
		if (errno || *end || v < 0)
			return lf_err_set(err, LF_EINVALID,
					  "SOURCE_DATE_EPOCH '%s' is not a number of seconds", sde);
		c->epoch_fixed = true;
		c->epoch = v;
	}
	return 0;
}

void lf_ctx_clear(struct lf_ctx *c)
{
	if (!c)
		return;
	if (atomic_load(&lf_ctx_installed) == c)
		atomic_store(&lf_ctx_installed, NULL);
	free(c->fabric_bin);
	free(c->fabric_ca_bin);
	free(c->driver_path);
	c->fabric_bin = NULL;
	c->fabric_ca_bin = NULL;
	c->driver_path = NULL;
}

void lf_ctx_install(struct lf_ctx *c)
{
	atomic_store(&lf_ctx_installed, c);
}

struct lf_ctx *lf_ctx_current(void)
{
	struct lf_ctx *c = atomic_load(&lf_ctx_installed);

	return c ? c : &lf_ctx_builtin;
}
