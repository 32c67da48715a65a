/*
 * Fabric channel genesis blocks and channel config updates.
 *
 * Renders what configtxgen renders (application channel genesis block for
 * channel participation: etcdraft or BFT; the legacy Kafka system channel
 * genesis block and channel creation transactions), decodes blocks into
 * the JSON shape of `configtxgen -inspectBlock`, and computes config
 * updates (read set / write set as `configtxlator compute_update`) that
 * org admins sign with their own keys (`ledgerform sign`).
 *
 * Encoding is protobuf-c over ledgerform's own .proto declarations with
 * Fabric's field numbers (core/fabric/block/proto). Output is deterministic
 * except the tx id, timestamp and nonce; set SOURCE_DATE_EPOCH to fix them.
 * MSP material is read from the cryptogen layout under crypto_dir.
 */
#ifndef LF_BLOCK_H
#define LF_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ledgerform/error.h"
#include "plans/provider.h"

struct lf_spec;
struct lf_rset;

/* Genesis block of application channel `channel` (etcdraft or BFT).
 * Kafka specs are refused here: use lf_block_system_genesis and
 * lf_block_channel_tx. *out is malloc'd. */
int lf_block_genesis(const struct lf_spec *spec, const char *channel,
		     const char *crypto_dir, uint8_t **out, size_t *len,
		     struct lf_err *err);
/* Kafka: orderer system channel genesis (consortium "SampleConsortium"
 * with every application org, KafkaBrokers from the spec's kafka nodes) */
int lf_block_system_genesis(const struct lf_spec *spec,
			    const char *system_channel, const char *crypto_dir,
			    uint8_t **out, size_t *len, struct lf_err *err);
/* Kafka: unsigned channel creation transaction (CONFIG_UPDATE envelope) */
int lf_block_channel_tx(const struct lf_spec *spec, const char *channel,
			const char *crypto_dir, uint8_t **out, size_t *len,
			struct lf_err *err);

/* Decode a block, an envelope or a config update envelope into JSON
 * shaped like configtxlator proto_decode (uint64 as strings, bytes
 * base64, nested config values and policies decoded). */
int lf_block_inspect_json(const uint8_t *buf, size_t len, json_t **out,
			  struct lf_err *err);

/* Config of a genesis block / config block: the Config message bytes */
int lf_block_config_bytes(const uint8_t *block, size_t len, uint8_t **out,
			  size_t *outlen, struct lf_err *err);

/* Config update from config `cur` (Config bytes) to the config the spec
 * asks for: a ConfigUpdateEnvelope with no signatures. *summary (may be
 * NULL) receives a human description ("add org RetailMSP; ..."). Returns
 * LF_ENOTFOUND when there is no difference. */
int lf_update_compute(const uint8_t *cur, size_t curlen,
		      const struct lf_spec *spec, const char *channel,
		      const char *crypto_dir, uint8_t **out, size_t *len,
		      char **summary, struct lf_err *err);
/* Same, between two Config messages (bytes) */
int lf_update_compute_configs(const uint8_t *cur, size_t curlen,
			      const uint8_t *next, size_t nextlen,
			      uint8_t **out, size_t *len, char **summary,
			      struct lf_err *err);
/* The desired Config bytes for a channel (sequence = 0) */
int lf_block_config_for(const struct lf_spec *spec, const char *channel,
			const char *crypto_dir, uint8_t **out, size_t *len,
			struct lf_err *err);

/* Human summary of a ConfigUpdateEnvelope's change (what `sign` shows) */
int lf_update_describe(const uint8_t *env, size_t len, char **out,
		       struct lf_err *err);

/* Sign a ConfigUpdateEnvelope with the admin MSP dir's keystore key:
 * returns the envelope with one more ConfigSignature (low-S ECDSA over
 * signature_header || config_update). The key never leaves this call. */
int lf_update_sign(const uint8_t *env, size_t len, const char *mspdir,
		   const char *mspid, uint8_t **out, size_t *outlen,
		   struct lf_err *err);

/* Evaluate the signatures of a ConfigUpdateEnvelope against the mod
 * policies its delta needs in config `cur` (Config bytes). 0 when
 * satisfied; LF_EAUTH with "needs ...; have ...; missing ..." in err
 * otherwise; LF_EINVALID for a malformed or tampered update. */
int lf_update_check(const uint8_t *cur, size_t curlen, const uint8_t *env,
		    size_t envlen, struct lf_err *err);
/* What the update's mod policies need, one line ("MAJORITY Admins: 2 of
 * 3 orgs (A, B, C)"); caller frees */
int lf_update_needs(const uint8_t *cur, size_t curlen, const uint8_t *env,
		    size_t envlen, char **out, struct lf_err *err);
/* Wrap a ConfigUpdateEnvelope into the Envelope (CONFIG_UPDATE) that
 * `peer channel update -f` submits */
int lf_update_envelope(const uint8_t *env, size_t len, const char *channel,
		       uint8_t **out, size_t *outlen, struct lf_err *err);
/* A signed Envelope (what the orderer's Broadcast and Deliver take):
 * Payload{Header{ChannelHeader{type, channel, timestamp, tx id,
 * tls_cert_hash}, SignatureHeader{creator, nonce}}, data} signed (low-S
 * ECDSA/SHA-256 over the payload) with the MSP dir's keystore key; the
 * creator is its signcert under mspid. The key never leaves the call. */
struct lf_envelope_req {
	int type;                     /* HeaderType: 2 CONFIG_UPDATE, 5
					 DELIVER_SEEK_INFO */
	const char *channel;
	const uint8_t *data;          /* the payload's data */
	size_t len;
	const char *mspdir;           /* signcerts/ + keystore/ */
	const char *mspid;
	const uint8_t *tls_cert_hash; /* 32 bytes: sha256 of the client TLS
					 certificate (DER), for an orderer
					 that binds to mutual TLS; or NULL */
};
int lf_envelope_sign(const struct lf_envelope_req *r, uint8_t **out,
		     size_t *outlen, struct lf_err *err);
/* The CONFIG_UPDATE Envelope to Broadcast from a ConfigUpdateEnvelope
 * carrying the collected admin signatures, signed by the submitter
 * (mspdir, mspid) as `peer channel update` does: the channel's Writers
 * policy must admit the submitter. */
int lf_update_envelope_signed(const uint8_t *env, size_t len,
			      const char *channel, const char *mspdir,
			      const char *mspid, uint8_t **out,
			      size_t *outlen, struct lf_err *err);
/* The update file (NAME.update.pb): a Fabric Envelope of type
 * CONFIG_UPDATE (unsigned, as `peer channel signconfigtx` reads and
 * rewrites it) whose data is the ConfigUpdateEnvelope `env`, carrying
 * the channel Config `cfg` it was computed from in its lf_config field
 * (NULL: none) so signers elsewhere can evaluate the policies. */
int lf_update_file_wrap(const uint8_t *env, size_t len, const uint8_t *cfg,
			size_t cfglen, uint8_t **out, size_t *outlen,
			struct lf_err *err);
/* The ConfigUpdateEnvelope of an update file (also a bare one), and the
 * Config it carries (*cfg NULL when none); callers free both */
int lf_update_file_open(const uint8_t *file, size_t len, uint8_t **env,
			size_t *envlen, uint8_t **cfg, size_t *cfglen,
			struct lf_err *err);
/* Config that results from applying a ConfigUpdateEnvelope to `cur`
 * (sequence + 1); the update must come from lf_update_compute on cur */
int lf_update_apply(const uint8_t *cur, size_t curlen, const uint8_t *env,
		    size_t envlen, uint8_t **out, size_t *outlen,
		    struct lf_err *err);

/* The `channel` resource type and the expansion of a spec's channels.
 * Resources: channel.NAME (attrs: channel, kind "application", consensus,
 * fabric_version, orgs [{name, mspid, anchor_peers}], consenters [{org,
 * mspid, node, host, port}], batch, policies, capabilities; deps
 * crypto.ORG.msp of members and consenter orgs, crypto.ORG.NODE of each
 * consenter); Kafka adds channel.system-channel (kind "system") which
 * every application channel depends on.
 * Files in env->channels_dir:
 *   NAME.block               genesis block (create; kept when unchanged)
 *   NAME.config.pb           the channel's current Config (as recorded)
 *   NAME.update.pb           pending ConfigUpdateEnvelope; admins add
 *                            signatures with `ledgerform sign`
 *   NAME.update.envelope.pb  CONFIG_UPDATE Envelope to submit (`peer
 *                            channel update -f`, which adds the
 *                            submitter's signature), once satisfied
 *   NAME.tx                  Kafka: channel creation transaction
 * Outputs: {block, block_sha256, config_sequence[, update_envelope]};
 * Kafka application channels: {channel_tx, tx_sha256}. */
extern const struct lf_rtype lf_rtype_channel;
int lf_channel_expand(const struct lf_spec *spec, struct lf_rset *rs,
		      struct lf_err *err);

/* CLI handlers; argv[0] is the subcommand; return the exit code */
int lf_cmd_render_block(int argc, char **argv);
int lf_cmd_inspect(int argc, char **argv);
int lf_cmd_sign(int argc, char **argv);

#endif
