/*
 * Internal: pieces of the channel config that genesis.c builds and that
 * kafka.c and update.c reuse.
 */
#ifndef LF_BLK_GENESIS_H
#define LF_BLK_GENESIS_H

#include "core/fabric/block/blk.h"

struct lf_spec;
struct lf_channel;
struct lf_org;
struct lf_node;

struct lf_gen_cons {
	const struct lf_org *org;
	const struct lf_node *node;
};

/* org by name or MSP id */
const struct lf_org *lf_gen_org(const struct lf_spec *spec, const char *name);
const struct lf_channel *lf_gen_channel(const struct lf_spec *spec,
					const char *name);
char *lf_gen_org_dir(const struct lf_org *org, const char *crypto_dir);
char *lf_gen_node_host(const struct lf_org *org, const struct lf_node *n);
int lf_gen_consenters(const struct lf_spec *spec, const struct lf_channel *ch,
		      struct lf_gen_cons **out, size_t *n, struct lf_err *err);
void lf_gen_capabilities(const struct lf_spec *spec, const char **channel,
			 const char **orderer, const char **application);
void lf_gen_bft_policy(Lfpb__ConfigGroup *g, const Lfpb__Orderers *ord);
/* pieces: org Readers/Writers/Admins(/Endorsement) signature policies,
 * the org's MSP value, Readers/Writers/Admins implicit meta policies
 * (+ Endorsement, LifecycleEndorsement for app, BlockValidation for
 * orderer), HashingAlgorithm + BlockDataHashingStructure (+ Capabilities
 * when cap), a Capabilities value */
int lf_gen_org_policies(Lfpb__ConfigGroup *g, const char *mspid, bool endorse,
			struct lf_err *err);
int lf_gen_org_msp(Lfpb__ConfigGroup *g, const struct lf_org *org,
		   const char *crypto_dir, struct lf_err *err);
int lf_gen_std_policies(Lfpb__ConfigGroup *g, bool app, bool orderer,
			struct lf_err *err);
void lf_gen_simple_values(Lfpb__ConfigGroup *g, const char *cap);
void lf_gen_capability(Lfpb__ConfigGroup *g, const char *name);
int lf_gen_application(const struct lf_spec *spec, const struct lf_channel *ch,
		       const char *crypto_dir, Lfpb__ConfigGroup **out,
		       struct lf_err *err);
int lf_gen_orderer(const struct lf_spec *spec, const struct lf_channel *ch,
		   const char *crypto_dir, Lfpb__ConfigGroup **out,
		   struct lf_err *err);
int lf_gen_overrides(Lfpb__ConfigGroup *root, const struct lf_spec *spec,
		     const struct lf_channel *ch, struct lf_err *err);
/* the whole channel group of an application channel, sorted */
int lf_gen_channel_group(const struct lf_spec *spec, const char *channel,
			 const char *crypto_dir, Lfpb__ConfigGroup **out,
			 struct lf_err *err);
/* Envelope{Payload{Header{ChannelHeader, SignatureHeader{nonce}}, data}} */
int lf_gen_envelope(int type, int version, const char *channel,
		    ProtobufCBinaryData data, ProtobufCBinaryData *out);
/* block 0 holding the CONFIG envelope of root */
int lf_gen_block0(const char *channel, Lfpb__ConfigGroup *root,
		  uint8_t **out, size_t *len);

#endif
