/* Expansion by the Fabric renderers (crypto, channels), kept apart so that
 * plans/expand.c stays about hosts and nodes. */
#ifndef LF_EXPAND_HOOKS_H
#define LF_EXPAND_HOOKS_H

#include "ledgerform/error.h"
#include "plans/resource.h"

struct lf_spec;

int lf_expand_hooks(const struct lf_spec *spec, struct lf_rset *rs,
		    struct lf_err *err);

#endif
