/*
 * The orderer's AtomicBroadcast service (Fabric orderer/ab.proto) over
 * core/net/grpc: Broadcast an envelope (a config update), Deliver blocks.
 *
 * Deliver requests are Envelopes of type DELIVER_SEEK_INFO signed by an
 * identity the channel's Readers policy admits (an MSP dir: signcerts/ and
 * keystore/, read by core/fabric/block's signing code; the key never
 * leaves the call). Delivered blocks are handed back byte for byte as the
 * orderer sent them. When a client TLS certificate is given, envelopes
 * carry its hash, so an orderer that binds requests to mutual TLS accepts
 * them.
 */
#ifndef LF_NET_AB_H
#define LF_NET_AB_H

#include <stddef.h>
#include <stdint.h>
#include "core/net/grpc.h"
#include "ledgerform/error.h"

/* block positions besides a number */
#define LF_AB_NEWEST UINT64_MAX
#define LF_AB_OLDEST (UINT64_MAX - 1)

/* bound of a call that does not wait for a future block (ms) */
#define LF_AB_CALL_TIMEOUT_MS 30000u
/* how long Broadcast keeps offering an envelope to an orderer that answers
 * SERVICE_UNAVAILABLE (a raft channel still electing its leader) */
#define LF_AB_LEADER_WAIT_MS 60000u

typedef struct lf_ab lf_ab;

/* The identity that signs Deliver requests (and submits updates). */
struct lf_ab_signer {
	const char *mspdir;
	const char *mspid;
};

/* A client of the orderer at target ("host:port", its listen address);
 * tls as lf_grpc_channel_new (NULL: plaintext). */
int lf_ab_new(lf_ab **out, const char *target, const struct lf_grpc_tls *tls,
	      struct lf_err *err);
void lf_ab_free(lf_ab *ab);

/* Fabric's name of a common.Status ("BAD_REQUEST"); "UNKNOWN" otherwise */
const char *lf_ab_status_name(int status);
/* the ledgerform code for a common.Status: 0 SUCCESS; SERVICE_UNAVAILABLE
 * LF_ERETRY; FORBIDDEN LF_EAUTH; NOT_FOUND LF_ENOTFOUND; BAD_REQUEST and
 * REQUEST_ENTITY_TOO_LARGE LF_EINVALID; others LF_ERROR */
int lf_ab_status_to_lf(int status);

/* The common.Status the orderer answered the last Broadcast or Deliver
 * call of ab with (SUCCESS, SERVICE_UNAVAILABLE, ...), -1 when that call
 * got no status (not reached, cut off, or none yet): the way to tell
 * "reached but cannot take it yet" from "not reached" without reading an
 * error's text. */
int lf_ab_last_status(const lf_ab *ab);
/* common.Status SERVICE_UNAVAILABLE (Fabric's common.proto) */
#define LF_AB_SERVICE_UNAVAILABLE 503

/* Broadcast one envelope: 0 when the orderer answers SUCCESS, else its
 * status mapped by lf_ab_status_to_lf with "orderer 'T' refused the
 * envelope: STATUS: info" in err. SERVICE_UNAVAILABLE (the orderer took
 * nothing: no leader yet) is offered again, polled, for up to
 * LF_AB_LEADER_WAIT_MS before it is returned as LF_ERETRY. */
int lf_ab_broadcast(lf_ab *ab, const uint8_t *env, size_t len,
		    struct lf_err *err);

/* The SeekInfo of a one-block Deliver (start = stop = number, or newest /
 * oldest), BLOCK_UNTIL_READY when wait, else FAIL_IF_NOT_READY; and the
 * signed DELIVER_SEEK_INFO Envelope carrying it (ab gives the TLS binding;
 * NULL: none). */
int lf_ab_seek_info(uint64_t number, int wait, uint8_t **out, size_t *len);
int lf_ab_seek_envelope(const lf_ab *ab, const char *channel,
			const struct lf_ab_signer *s, uint64_t number,
			int wait, uint8_t **out, size_t *len,
			struct lf_err *err);

/* One block of channel: number, LF_AB_NEWEST or LF_AB_OLDEST. wait_ms 0:
 * a block not there yet is LF_ENOTFOUND; > 0: wait up to wait_ms for the
 * next block (number = height; LF_ETIMEOUT past that); Fabric's ledger
 * answers NOT_FOUND for a number past the height even then. An unknown
 * channel: LF_ENOTFOUND; a signer the Readers policy refuses: LF_EAUTH.
 * *out (caller frees) holds the block as the orderer sent it. */
int lf_ab_deliver_block(lf_ab *ab, const char *channel,
			const struct lf_ab_signer *s, uint64_t number,
			unsigned int wait_ms, uint8_t **out, size_t *len,
			struct lf_err *err);
/* The channel's height (newest block number + 1) */
int lf_ab_height(lf_ab *ab, const char *channel,
		 const struct lf_ab_signer *s, uint64_t *out,
		 struct lf_err *err);

/* Facts of a block: its number, the last config index from its metadata,
 * and for a config block (one CONFIG envelope) its config sequence and the
 * signature of the update that made it (borrowed into blk; len 0 for a
 * genesis block). */
struct lf_ab_block_info {
	uint64_t number;
	uint64_t last_config;
	int is_config;
	uint64_t sequence;
	uint8_t *update_sig;  /* malloc'd; free with lf_ab_block_info_clear */
	size_t update_sig_len;
};
int lf_ab_block_info(const uint8_t *blk, size_t len,
		     struct lf_ab_block_info *out, struct lf_err *err);
void lf_ab_block_info_clear(struct lf_ab_block_info *bi);

/* The channel's latest config block (the newest block's last config
 * index, then that block) and its config sequence. */
int lf_ab_config_block(lf_ab *ab, const char *channel,
		       const struct lf_ab_signer *s, uint8_t **out,
		       size_t *len, uint64_t *sequence, struct lf_err *err);

/* Submit a signed CONFIG_UPDATE Envelope (lf_update_envelope_signed) and
 * wait, up to deadline_ms, until the config block with sequence
 * expected_seq that this envelope made is delivered; *out (caller frees)
 * holds it. A refused update: the orderer's status and reason, nothing
 * changed; another update took that sequence: LF_ECONFLICT; the current
 * sequence is not expected_seq - 1: LF_ECONFLICT before anything is sent. */
int lf_ab_submit_config_update(lf_ab *ab, const char *channel,
			       const struct lf_ab_signer *s,
			       const uint8_t *env, size_t len,
			       uint64_t expected_seq, unsigned int deadline_ms,
			       uint8_t **out, size_t *outlen,
			       struct lf_err *err);

#endif
