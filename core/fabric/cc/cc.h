/*
 * The chaincode lifecycle as plan resources (core/fabric/cc/cc_rtype.c):
 *
 *   chaincode.NAME                the package (built or checked against
 *                                 its SHA-256; records the package ID)
 *   cc_install.NAME.ORG.PEER      installed on a peer of an org that runs
 *                                 it, after the peer joined the channels
 *   cc_approve.NAME.CHANNEL.ORG   the org's approval of the definition,
 *                                 after the org's installs
 *   cc_commit.NAME.CHANNEL        the committed definition, after every
 *                                 approval
 *
 * A version or sequence edit is an upgrade: a new package is installed,
 * each org approves again and the definition is committed at the new
 * sequence. Fabric has no undeploy: removing a committed chaincode from a
 * channel is refused at plan. Nodes not started (no FABRIC_BIN) are
 * recorded not done, with the reason, as joins are.
 */
#ifndef LF_CC_H
#define LF_CC_H

#include "ledgerform/error.h"
#include "plans/provider.h"
#include "plans/resource.h"

struct lf_spec;

/* the chaincode resources of every chaincode of the spec; run after the
 * join expansion (installs depend on joins). A ready package whose
 * SHA-256 differs from the spec's fails here, before anything runs. */
int lf_cc_expand(const struct lf_spec *spec, struct lf_rset *rs,
		 struct lf_err *err);

extern const struct lf_rtype lf_rtype_chaincode;
extern const struct lf_rtype lf_rtype_cc_install;
extern const struct lf_rtype lf_rtype_cc_approve;
extern const struct lf_rtype lf_rtype_cc_commit;

/* ---- the network actions (cc_apply.c) ---- */

/* outputs of an action that could not run on nodes not started */
json_t *lf_cc_not_done(const char *why);
int lf_cc_install(const struct lf_apply_env *env, const struct lf_resource *r,
		  json_t **outputs, struct lf_err *err);
int lf_cc_approve(const struct lf_apply_env *env, const struct lf_resource *r,
		  json_t **outputs, struct lf_err *err);
int lf_cc_commit(const struct lf_apply_env *env, const struct lf_resource *r,
		 json_t **outputs, struct lf_err *err);

#endif
