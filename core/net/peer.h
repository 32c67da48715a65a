/*
 * A Fabric peer's Endorser service over gRPC (core/net/grpc.h): signed
 * proposals to /protos.Endorser/ProcessProposal, as the peer CLI sends
 * them, with no shelling out.
 *
 *   lf_peer_invoke    any chaincode, any args: the generic core (reused by
 *                     the chaincode lifecycle)
 *   lf_peer_join      cscc JoinChain with a channel's config block,
 *                     idempotent (`peer channel join`)
 *   lf_peer_channels  cscc GetChannels (`peer channel list`)
 *   lf_peer_height    qscc GetChainInfo (`peer channel getinfo`)
 *
 * The signer is the org admin for JoinChain (the peer's local MSP Admins
 * policy); any member of the peer's org for the queries.
 */
#ifndef LF_NET_PEER_H
#define LF_NET_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/net/grpc.h"
#include "core/net/proposal.h"
#include "ledgerform/error.h"

#define LF_PEER_METHOD "/protos.Endorser/ProcessProposal"
/* per call when the caller gives no deadline */
#define LF_PEER_DEADLINE_DEFAULT_MS 30000

/* One peer and who speaks to it; all borrowed for the calls. */
struct lf_peer {
	lf_grpc_channel *ch;          /* to the peer's listen address */
	const struct lf_identity *id; /* signs the proposals */
	unsigned int deadline_ms;     /* per call; 0: the default */
};

/* Sign and send one proposal; on success (status 200) reply holds the
 * response (clear it with lf_proposal_reply_clear) and tx_id (may be NULL,
 * 65 bytes) the proposal's tx id. Errors: the gRPC call's (lf_grpc_unary),
 * or the peer's status mapped as lf_proposal_reply_decode does with the
 * peer's message. */
int lf_peer_invoke(const struct lf_peer *p, const char *channel,
		   const char *cc, const struct lf_bytes *args, size_t nargs,
		   struct lf_proposal_reply *reply, char *tx_id,
		   struct lf_err *err);

/* Join the peer to the channel of block (its genesis block or a config
 * block). 0 with *already false when joined now, 0 with *already true when
 * the peer was in the channel already (seen in GetChannels, or in the
 * peer's "already exists" refusal). LF_EINVALID for a block that names no
 * channel. */
int lf_peer_join(const struct lf_peer *p, const void *block, size_t len,
		 bool *already, struct lf_err *err);

/* The channels the peer has joined: *out a NULL-terminated array of
 * channel ids (free with lf_peer_channels_free), *n their count. */
int lf_peer_channels(const struct lf_peer *p, char ***out, size_t *n,
		     struct lf_err *err);
void lf_peer_channels_free(char **v);

/* A channel's ledger on the peer (qscc GetChainInfo). */
struct lf_peer_chain_info {
	uint64_t height;
	uint8_t current_hash[64];     /* hash of the last block */
	size_t current_hash_len;
};
/* LF_ENOTFOUND (the peer's message in err) when the peer has not joined
 * channel. */
int lf_peer_height(const struct lf_peer *p, const char *channel,
		   struct lf_peer_chain_info *out, struct lf_err *err);

/* The channel id of a block's first envelope (a config block's channel),
 * written into out (size n); LF_EINVALID when there is none. */
int lf_peer_block_channel(const void *block, size_t len, char *out, size_t n,
			  struct lf_err *err);

#endif
