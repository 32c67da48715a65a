/*
 * Internals shared by the chaincode actions (cc_apply.c, cc_offline.c).
 */
#ifndef LF_CC_INT_H
#define LF_CC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/net/lifecycle.h"
#include "plans/provider.h"

#define LF_CC_NOT_STARTED "the node is not started (FABRIC_BIN is not set)"

/* a peer reached over TLS (its org's TLS CA, its host name) */
struct ccpeer {
	const struct lf_resource *node;
	lf_grpc_channel *ch;
	struct lf_peer p;
	char endpoint[300];
};

/* a definition with its encoded endorsement policy */
struct ccdef {
	struct lf_lc_def d;
	uint8_t *policy;
	size_t policy_len;
	uint8_t *collections;
};

const char *lf_cc__attr(const json_t *o, const char *key);
/* "ADDR: WHAT: " before err's message; returns rc */
int lf_cc__wrap(struct lf_err *err, int rc, const char *addr, const char *what);
/* CRYPTO_DIR/KIND/DOMAIN of the node's org */
char *lf_cc__org_dir(const struct lf_apply_env *env, const char *kind,
		     const struct lf_resource *node);
int lf_cc__peer_open(const struct lf_apply_env *env,
		     const struct lf_resource *node,
		     const struct lf_identity *id, struct ccpeer *cp,
		     struct lf_err *err);
void lf_cc__peer_close(struct ccpeer *cp);
/* a one-round signed file's proposal ("sign" with its "signature"; path
 * names the file in errors) sent to the peer at ch; *reply holds the
 * peer's answer (the caller clears it). A refusal whose message holds
 * already_text (the peer has it already) is 0 with *already */
int lf_cc__send_signed(const json_t *file, const char *path, lf_grpc_channel *ch,
		       const char *already_text, struct lf_proposal_reply *reply,
		       bool *already, struct lf_err *err);
/* the admin of the node's org from the crypto tree; LF_EAUTH when it
 * cannot sign here */
int lf_cc__admin_load(const struct lf_apply_env *env,
		      const struct lf_resource *node, struct lf_identity *id,
		      struct lf_err *err);
/* a started peer of org; NULL when none */
const struct lf_resource *lf_cc__org_peer(const struct lf_apply_env *env,
					  const char *org);
int lf_cc__def_of(const struct lf_resource *r, bool with_package,
		  struct ccdef *cd, struct lf_err *err);
/* a client of a started consenter of the channel */
int lf_cc__orderer_open(const struct lf_apply_env *env, const char *channel,
			lf_ab **ab, struct lf_err *err);
/* the admin of the first org of the channel that signs here (admin:
 * local, key present) */
int lf_cc__local_admin(const struct lf_apply_env *env, const char *channel,
		       struct lf_identity *id, struct lf_err *err);

/* the package file chaincode.NAME recorded */
int lf_cc__read_package(const struct lf_apply_env *env, const char *name,
			char **data, size_t *len, struct lf_err *err);
/* the org admin's certificate (public) of the node's org, from the tree */
int lf_cc__admin_cert(const struct lf_apply_env *env,
		      const struct lf_resource *node, char **pem, size_t *len,
		      struct lf_err *err);

/* the install of an org whose admin signs offline (cc_install_offline.c) */
int lf_cc__install_offline(const struct lf_apply_env *env,
			   const struct lf_resource *r,
			   const struct lf_resource *node, json_t **outputs,
			   struct lf_err *err);

/* the approval of an org whose admin signs offline (cc_offline.c) */
int lf_cc__approve_offline(const struct lf_apply_env *env,
			   const struct lf_resource *r,
			   const struct lf_resource *node, json_t **outputs,
			   struct lf_err *err);

#endif
