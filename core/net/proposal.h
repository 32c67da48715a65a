/*
 * Signed proposals for a Fabric peer's Endorser service, built as the peer
 * CLI builds them (`peer channel join`, `peer channel getinfo`), and the
 * decoding of the peer's ProposalResponse.
 *
 *   SignedProposal{proposal_bytes, signature = ECDSA/SHA-256 low-S over
 *                  proposal_bytes by the creator's key}
 *   Proposal{header = Header{channel_header, signature_header},
 *            payload = ChaincodeProposalPayload{input =
 *                      ChaincodeInvocationSpec{chaincode_spec{type,
 *                      chaincode_id{name}, input{args}}}}}
 *   ChannelHeader{type ENDORSER_TRANSACTION, channel_id, tx_id, timestamp,
 *                 extension = ChaincodeHeaderExtension{chaincode_id{name}}}
 *   SignatureHeader{creator = SerializedIdentity{mspid, cert PEM}, nonce}
 *   tx_id = hex(SHA-256(nonce || creator))
 *
 * The signing key is used in memory only: never written, logged or put in
 * an error message.
 */
#ifndef LF_NET_PROPOSAL_H
#define LF_NET_PROPOSAL_H

#include <stddef.h>
#include <stdint.h>
#include "ledgerform/error.h"

/* Fabric's HeaderType ENDORSER_TRANSACTION and ChaincodeSpec.Type GOLANG
 * (what the peer CLI sends for the system chaincodes) */
#define LF_PROPOSAL_ENDORSER_TRANSACTION 3
#define LF_PROPOSAL_CC_GOLANG 1
/* Response.status of a successful proposal (shim.OK) */
#define LF_PROPOSAL_STATUS_OK 200

/* A signing identity: its MSP id, certificate (PEM) and private key (PEM,
 * a secret). */
struct lf_identity {
	char *mspid;
	char *cert_pem;
	size_t cert_len;
	char *key_pem;
	size_t key_len;
};

/* Read the identity of a cryptogen-layout MSP dir (signcerts/, keystore/)
 * under mspid. LF_ENOTFOUND / LF_EINVALID when the dir lacks a matching
 * certificate and key. Clear with lf_identity_clear. */
int lf_identity_load(struct lf_identity *out, const char *mspdir,
		     const char *mspid, struct lf_err *err);
/* Free the fields (the key wiped first); NULL-safe. */
void lf_identity_clear(struct lf_identity *id);

/* One argument of a chaincode invocation (bytes, may hold NULs). */
struct lf_bytes {
	const void *data;
	size_t len;
};

/* A built, signed proposal. */
struct lf_proposal {
	uint8_t *signed_bytes;  /* SignedProposal message */
	size_t signed_len;
	char tx_id[65];         /* hex SHA-256(nonce || creator) */
};

/* Build and sign a proposal invoking chaincode `cc` (a system chaincode
 * such as "cscc", "qscc", "_lifecycle") with args on channel (NULL or "":
 * no channel, as for cscc JoinChain / GetChannels), created by id. Clear
 * with lf_proposal_clear. */
int lf_proposal_new(struct lf_proposal *out, const char *channel,
		    const char *cc, const struct lf_bytes *args, size_t nargs,
		    const struct lf_identity *id, struct lf_err *err);
void lf_proposal_clear(struct lf_proposal *p);

/* The unsigned Proposal bytes that lf_proposal_new signs, for a creator
 * given by MSP id and certificate only (offline signing: the key is
 * elsewhere); *out malloc'd, tx_id (65 bytes) its tx id. */
int lf_proposal_bytes(const char *channel, const char *cc,
		      const struct lf_bytes *args, size_t nargs,
		      const char *mspid, const char *cert_pem, size_t cert_len,
		      uint8_t **out, size_t *len, char tx_id[65],
		      struct lf_err *err);

/* What the peer answered. */
struct lf_proposal_reply {
	int status;             /* Response.status (200: OK) */
	char *message;          /* Response.message ("" when none) */
	uint8_t *payload;       /* Response.payload (NULL when empty) */
	size_t payload_len;
};

/* Decode a ProposalResponse. 0 when status is 200 (reply filled);
 * otherwise reply is filled too and the code is the status mapped:
 * 400..499 LF_EINVALID (403 and any "access denied" LF_EAUTH, 404
 * LF_ENOTFOUND), anything else LF_ERROR, with "peer: status N: MESSAGE" in
 * err. LF_EINVALID for bytes that are no ProposalResponse or lack a
 * response. Clear with lf_proposal_reply_clear (also after an error). */
int lf_proposal_reply_decode(const uint8_t *buf, size_t len,
			     struct lf_proposal_reply *out,
			     struct lf_err *err);
void lf_proposal_reply_clear(struct lf_proposal_reply *r);

#endif
