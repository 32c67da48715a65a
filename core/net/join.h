/*
 * Channel membership of running nodes: the `join` resource type
 * (core/net/join_rtype.c) and its expansion from the channel resources.
 */
#ifndef LF_NET_JOIN_H
#define LF_NET_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/net/grpc.h"
#include "ledgerform/error.h"
#include "plans/provider.h"
#include "plans/resource.h"

struct lf_spec;

/* join.CHANNEL.ORG.NODE for every consenter of every application channel
 * already in rs (run after the channel expansion) */
int lf_join_expand(const struct lf_spec *spec, struct lf_rset *rs,
		   struct lf_err *err);

extern const struct lf_rtype lf_rtype_join;

/* The ledger height of a join's channel on its node, asked as its org's
 * admin (peers: qscc GetChainInfo, a peer of an `admin: offline` org as
 * the peer itself; orderers: the participation API) */
int lf_join_height(const struct lf_apply_env *env, const struct lf_resource *join,
		   uint64_t *height, struct lf_err *err);

/* ---- offline joins (join_offline.c) ---- */

/* WORKDIR/joins/join.CHANNEL.ORG.json: the org's signed-join file */
char *lf_join_offline_file(const struct lf_apply_env *env, const char *channel,
			   const char *org);
/* The join r of a peer (node) of an `admin: offline` org over ch (TLS to
 * the peer, no client certificate), with the channel's block: writes the
 * org's file and returns LF_EPENDING when it is not signed yet (or was
 * made for another admin certificate or block); sends the signed proposal
 * otherwise (0, *already when the peer had the ledger). */
int lf_join_offline(const struct lf_apply_env *env, const struct lf_resource *r,
		    const struct lf_resource *node, lf_grpc_channel *ch,
		    const void *block, size_t block_len, bool *already,
		    struct lf_err *err);
/* r is joined: remove the org's file once no peer of the org in the spec
 * lacks the channel */
void lf_join_offline_done(const struct lf_apply_env *env, const struct lf_resource *r);

/* ---- what the network clients share ---- */

/* a resource of this apply (with the outputs its action gave), else the
 * recorded one; NULL when neither has addr */
const struct lf_resource *lf_net_lookup(const struct lf_apply_env *env, const char *addr);
/* "host:port" of a node: its host's machine address (what the provider
 * reported, else the spec's) and its attribute port_key ("port",
 * "admin_port") */
int lf_net_node_endpoint(const struct lf_apply_env *env, const struct lf_resource *node,
			 const char *port_key, char *out, size_t n, struct lf_err *err);
/* was the node's process started (FABRIC_BIN set when it was made)? */
bool lf_net_node_started(const struct lf_resource *node);

/* Submit a config update whose signatures meet the channel's policies
 * (sig_env: the ConfigUpdateEnvelope) to a running consenter of the
 * channel resource chan, as the consenter org's admin, and wait for the
 * config block of sequence expected_seq (*block, caller frees). No
 * consenter started: 0 with *submitted false and nothing sent. A config
 * already at expected_seq (an apply cut off after its submission): 0 with
 * that config block. A refused update: the orderer's reason; nothing is
 * changed. */
int lf_net_submit_update(const struct lf_apply_env *env, const struct lf_resource *chan,
			 const uint8_t *sig_env, size_t len, uint64_t expected_seq,
			 uint8_t **block, size_t *blen, bool *submitted,
			 struct lf_err *err);

#endif
