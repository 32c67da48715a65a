/*
 * The registry of resource types and the renderer expansion hooks.
 */
#include <string.h>

#include "core/fabric/block/block.h"
#include "core/fabric/cc/cc.h"
#include "core/fabric/crypto/crypto.h"
#include "core/net/join.h"
#include "plans/expand_hooks.h"
#include "plans/provider.h"

extern const struct lf_rtype lf_rtype_host;
extern const struct lf_rtype lf_rtype_node;

static const struct lf_rtype *const types[] = {
	&lf_rtype_host,
	&lf_rtype_node,
	&lf_rtype_crypto,
	&lf_rtype_channel,
	&lf_rtype_join,
	&lf_rtype_chaincode, &lf_rtype_cc_install, &lf_rtype_cc_approve, &lf_rtype_cc_commit,
};

const struct lf_rtype *lf_rtype_find(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i]->type, type) == 0)
			return types[i];
	return NULL;
}

bool lf_follows_but_admin(const struct lf_resource *r, const char *dep)
{
	size_t n = strlen(dep);

	(void)r;
	return !(strncmp(dep, "crypto.", 7) == 0 && n > 13 &&
		 strcmp(dep + n - 6, ".admin") == 0);
}

int lf_expand_hooks(const struct lf_spec *spec, struct lf_rset *rs,
		    struct lf_err *err)
{
	int rc = lf_crypto_expand(spec, rs, err);

	if (rc == 0)
		rc = lf_channel_expand(spec, rs, err);
	if (rc == 0)
		rc = lf_join_expand(spec, rs, err);
	if (rc == 0)
		rc = lf_cc_expand(spec, rs, err);
	return rc;
}
