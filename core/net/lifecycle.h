/*
 * Fabric 2.x chaincode lifecycle over gRPC: calls to a peer's `_lifecycle`
 * system chaincode (core/net/peer.h) and the endorser transactions that
 * approve and commit a chaincode definition (endorsed by peers, signed by
 * the creator, broadcast to an orderer with core/net/ab.h, awaited until
 * the endorsing peers committed them).
 *
 * Who signs what (Fabric's default ACLs and policies):
 *   install / query installed   an admin of the peer's org
 *   approve                     an admin of ONE org; endorsed by a peer of
 *                               that org; its own transaction
 *   checkcommitreadiness,       any member of the channel
 *   query approved / committed
 *   commit                      any admin of the channel; endorsed by a peer
 *                               of each org the channel's
 *                               LifecycleEndorsement policy needs
 *
 * Offline signing (an org whose admin key is not here) splits an endorser
 * transaction into steps; each "sign" step is ECDSA/SHA-256, low-S, DER
 * over the given bytes (what lf_blk_sign_pem and `ledgerform sign` do):
 *   1. lf_lc_unsigned_proposal   proposal bytes for a creator certificate
 *   2. (sign proposal_bytes elsewhere)
 *   3. lf_lc_signed_proposal     attach the signature
 *   4. lf_lc_endorse             send it to the endorsing peers
 *   5. lf_lc_tx_payload          the transaction payload to sign
 *   6. (sign the payload elsewhere)
 *   7. lf_lc_tx_envelope         attach the signature: the Envelope
 *   8. lf_lc_submit              broadcast it and wait for the commit
 * lf_lc_approve / lf_lc_commit run all of it with a local key.
 *
 * Waiting for a commit: each endorsing peer is polled with qscc
 * GetTransactionByID until the tx is in its ledger (bounded by the
 * deadline); its validation code decides the result.
 */
#ifndef LF_NET_LIFECYCLE_H
#define LF_NET_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/net/ab.h"
#include "core/net/peer.h"
#include "ledgerform/error.h"

#define LF_LC_CC "_lifecycle"
/* a package ID is "label:hex-sha256"; labels are short */
#define LF_LC_PACKAGE_ID_MAX 320
/* default bound of the wait for a commit when the caller gives 0 (ms) */
#define LF_LC_COMMIT_WAIT_MS 60000u
/* Fabric's TxValidationCode VALID */
#define LF_LC_TX_VALID 0

/* ---- arguments ---- */

/* A chaincode definition as approved / committed. All borrowed. */
struct lf_lc_def {
	const char *name;
	const char *version;
	int64_t sequence;
	const char *endorsement_plugin;  /* NULL or "": "escc" */
	const char *validation_plugin;   /* NULL or "": "vscc" */
	/* ApplicationPolicy bytes (lf_lc_policy_signature /
	 * lf_lc_policy_ref); NULL: the channel's default (Fabric fills in
	 * /Channel/Application/Endorsement) */
	const uint8_t *validation_parameter;
	size_t validation_parameter_len;
	/* a serialized protos.CollectionConfigPackage; NULL: none */
	const uint8_t *collections;
	size_t collections_len;
	bool init_required;
	/* approve only: the installed package this org runs; NULL: none
	 * (an org that approves without running the chaincode) */
	const char *package_id;
};

/* ApplicationPolicy{signature_policy} from a Signature rule
 * ("OR('Org1MSP.peer','Org2MSP.peer')"), or
 * ApplicationPolicy{channel_config_policy_reference} ("/Channel/Application/
 * Endorsement"). *out malloc'd. LF_EINVALID for a bad rule. */
int lf_lc_policy_signature(const char *rule, uint8_t **out, size_t *len,
			   struct lf_err *err);
int lf_lc_policy_ref(const char *ref, uint8_t **out, size_t *len,
		     struct lf_err *err);

/* The argument message of ApproveChaincodeDefinitionForMyOrg,
 * CommitChaincodeDefinition and CheckCommitReadiness (the last two carry
 * no package). *out malloc'd. LF_EINVALID without name, version or a
 * sequence >= 1. */
int lf_lc_approve_args(const struct lf_lc_def *d, uint8_t **out,
		       size_t *len, struct lf_err *err);
int lf_lc_commit_args(const struct lf_lc_def *d, uint8_t **out, size_t *len,
		      struct lf_err *err);

/* ---- install and queries (one peer, signed by p->id) ---- */

/* Install a chaincode package (the tar.gz bytes) as p->id (an admin of
 * the peer's org). The installed list is read first: a package whose
 * SHA-256 is already installed is not sent again (*already true). The
 * package ID goes to package_id (LF_LC_PACKAGE_ID_MAX bytes). */
int lf_lc_install(const struct lf_peer *p, const void *pkg, size_t len,
		  char *package_id, bool *already, struct lf_err *err);

struct lf_lc_installed {
	char *package_id;
	char *label;
};
/* QueryInstalledChaincodes: *out an array of *n (free with
 * lf_lc_installed_free). */
int lf_lc_query_installed(const struct lf_peer *p,
			  struct lf_lc_installed **out, size_t *n,
			  struct lf_err *err);
void lf_lc_installed_free(struct lf_lc_installed *v, size_t n);
/* QueryInstalledChaincode: LF_ENOTFOUND when the package is not there;
 * label (may be NULL, size label_n) gets its label. */
int lf_lc_query_installed_one(const struct lf_peer *p, const char *package_id,
			      char *label, size_t label_n, struct lf_err *err);

/* One org's approval as CheckCommitReadiness / QueryChaincodeDefinition
 * report it. */
struct lf_lc_approval {
	char *mspid;
	bool approved;
};
void lf_lc_approvals_free(struct lf_lc_approval *v, size_t n);

/* CheckCommitReadiness of d on channel: each org of the channel and
 * whether it approved exactly d (sorted by MSP id). */
int lf_lc_check_commit_readiness(const struct lf_peer *p, const char *channel,
				 const struct lf_lc_def *d,
				 struct lf_lc_approval **out, size_t *n,
				 struct lf_err *err);

/* A definition as the peer reports it; strings malloc'd (free with
 * lf_lc_info_clear). */
struct lf_lc_info {
	int64_t sequence;
	char *version;
	char *endorsement_plugin;
	char *validation_plugin;
	uint8_t *validation_parameter;
	size_t validation_parameter_len;
	bool init_required;
	char *package_id;                 /* approved only; NULL when none */
	struct lf_lc_approval *approvals; /* committed only */
	size_t n_approvals;
};
void lf_lc_info_clear(struct lf_lc_info *i);

/* QueryApprovedChaincodeDefinition of p->id's org (sequence 0: the latest
 * approved) and QueryChaincodeDefinition (the committed one).
 * LF_ENOTFOUND when there is none. */
int lf_lc_query_approved(const struct lf_peer *p, const char *channel,
			 const char *name, int64_t sequence,
			 struct lf_lc_info *out, struct lf_err *err);
int lf_lc_query_committed(const struct lf_peer *p, const char *channel,
			  const char *name, struct lf_lc_info *out,
			  struct lf_err *err);

/* ---- endorser transactions, step by step (offline signing) ---- */

/* Step 1: an unsigned proposal of `_lifecycle` fn(arg) on channel whose
 * creator is mspid + cert_pem (no key needed). */
struct lf_lc_proposal {
	uint8_t *proposal_bytes;  /* the bytes to sign */
	size_t proposal_len;
	uint8_t *unsigned_sp;     /* SignedProposal with an empty signature */
	size_t unsigned_sp_len;
	char tx_id[65];
};
int lf_lc_unsigned_proposal(struct lf_lc_proposal *out, const char *channel,
			    const char *fn, const uint8_t *arg, size_t arg_len,
			    const char *mspid, const char *cert_pem,
			    size_t cert_len, struct lf_err *err);
/* the same for approve / commit of d */
int lf_lc_approve_proposal(struct lf_lc_proposal *out, const char *channel,
			   const struct lf_lc_def *d, const char *mspid,
			   const char *cert_pem, size_t cert_len,
			   struct lf_err *err);
int lf_lc_commit_proposal(struct lf_lc_proposal *out, const char *channel,
			  const struct lf_lc_def *d, const char *mspid,
			  const char *cert_pem, size_t cert_len,
			  struct lf_err *err);
void lf_lc_proposal_clear(struct lf_lc_proposal *p);

/* Step 3: SignedProposal{proposal_bytes, sig}; *out malloc'd. */
int lf_lc_signed_proposal(const uint8_t *proposal_bytes, size_t proposal_len,
			  const uint8_t *sig, size_t sig_len, uint8_t **out,
			  size_t *len, struct lf_err *err);

/* Step 4: the signed proposal sent to each peer (peers[i].id unused
 * here); each must answer 200, and all the same ProposalResponsePayload
 * (else LF_ECONFLICT naming the peer that differs). The responses
 * (serialized ProposalResponse messages) go to *out. */
struct lf_lc_endorsed {
	uint8_t **responses;
	size_t *lens;
	size_t n;
};
int lf_lc_endorse(const struct lf_peer *peers, size_t npeers,
		  const uint8_t *signed_proposal, size_t sp_len,
		  struct lf_lc_endorsed *out, struct lf_err *err);
void lf_lc_endorsed_clear(struct lf_lc_endorsed *e);

/* Step 5: Payload{header = the proposal's header, data = Transaction{one
 * action carrying the endorsements}}: the bytes to sign. LF_EINVALID for
 * a response that does not belong to the proposal. *out malloc'd. */
int lf_lc_tx_payload(const uint8_t *proposal_bytes, size_t proposal_len,
		     const struct lf_lc_endorsed *e, uint8_t **out,
		     size_t *len, struct lf_err *err);

/* Step 7: Envelope{payload, sig}; *out malloc'd. */
int lf_lc_tx_envelope(const uint8_t *payload, size_t payload_len,
		      const uint8_t *sig, size_t sig_len, uint8_t **out,
		      size_t *len, struct lf_err *err);

/* Step 8: broadcast env to the orderer, then wait (wait_ms; 0:
 * LF_LC_COMMIT_WAIT_MS) until tx_id is in the ledger of every peer in
 * peers (polled with qscc GetTransactionByID, signed by peers[i].id: any
 * channel member). A tx committed invalid: LF_ECONFLICT for
 * MVCC_READ_CONFLICT / PHANTOM_READ_CONFLICT, else LF_EAUTH for
 * ENDORSEMENT_POLICY_FAILURE, else LF_EINVALID, each with "tx TXID is
 * invalid: CODE_NAME" in err; *code (may be NULL) gets the code. */
int lf_lc_submit(lf_ab *ab, const char *channel, const uint8_t *env,
		 size_t env_len, const char *tx_id,
		 const struct lf_peer *peers, size_t npeers,
		 unsigned int wait_ms, int *code, struct lf_err *err);

/* Fabric's name of a TxValidationCode ("MVCC_READ_CONFLICT"). */
const char *lf_lc_tx_code_name(int code);

/* ---- the whole transaction with a local key ---- */

/* Approve d for id's org (id: an admin of the org, its key here): endorsed
 * by peers (that org's peers; usually one), submitted to ab, awaited. */
int lf_lc_approve(const struct lf_peer *peers, size_t npeers, lf_ab *ab,
		  const char *channel, const struct lf_lc_def *d,
		  const struct lf_identity *id, unsigned int wait_ms,
		  struct lf_err *err);
/* Commit d: endorsed by peers (one of each org the LifecycleEndorsement
 * policy needs), signed by id (a channel admin). */
int lf_lc_commit(const struct lf_peer *peers, size_t npeers, lf_ab *ab,
		 const char *channel, const struct lf_lc_def *d,
		 const struct lf_identity *id, unsigned int wait_ms,
		 struct lf_err *err);

#endif
