/*
 * Internals of core/fabric/block: config trees (protobuf-c ConfigGroup
 * messages built with malloc so protobuf_c_message_free_unpacked frees
 * them), MSP reading, policy encoding and evaluation, signing.
 * Not installed; only the block module's sources include it.
 */
#ifndef LF_BLK_H
#define LF_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "lfpb/common.pb-c.h"
#include "lfpb/msp.pb-c.h"
#include "lfpb/orderer.pb-c.h"
#include "lfpb/peer.pb-c.h"
#include "ledgerform/error.h"

struct lf_spec;
struct lf_channel;

/* Fabric's HeaderType and Policy type numbers */
enum { LF_HDR_CONFIG = 1, LF_HDR_CONFIG_UPDATE = 2 };
enum { LF_POL_SIGNATURE = 1, LF_POL_IMPLICIT_META = 3 };
enum { LF_META_ANY = 0, LF_META_ALL = 1, LF_META_MAJORITY = 2 };
enum { LF_ROLE_MEMBER = 0, LF_ROLE_ADMIN, LF_ROLE_CLIENT, LF_ROLE_PEER,
       LF_ROLE_ORDERER };

/* ---- packing (cfgtree.c) ---- */
/* pack any message into a new malloc'd buffer (len may be 0) */
uint8_t *lf_pb_pack(const ProtobufCMessage *m, size_t *len);
ProtobufCBinaryData lf_pb_bin(const ProtobufCMessage *m);

/* ---- untrusted bytes (pbsafe.c) ---- */
/* deepest message nesting accepted from a file: Fabric's configs nest
 * about 12 deep; a signature policy of LF_POLICY_MAX_DEPTH rules nests
 * twice that inside its Policy value, which is unpacked on its own */
#define LF_PB_MAX_DEPTH 100
/* walk the wire format iteratively: 0, or LF_EINVALID "malformed X:
 * nesting deeper than N" / "damaged wire format" */
int lf_pb_check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		      size_t len, unsigned max, struct lf_err *err);
/* the only way to unpack bytes from a file: depth check, unpack, then
 * refuse a tree with a map entry lacking key or value; NULL with err set
 * (err may be NULL); arguments in protobuf-c's order; free with the
 * type's free_unpacked */
void *lf_pb_unpack(const ProtobufCMessageDescriptor *d, size_t len,
		   const uint8_t *buf, struct lf_err *err);

/* ---- config trees (cfgtree.c) ---- */
Lfpb__ConfigGroup *lf_cg_new(const char *mod_policy);
void lf_cg_free(Lfpb__ConfigGroup *g);
Lfpb__ConfigGroup *lf_cg_dup(const Lfpb__ConfigGroup *g);
/* lookups: NULL when absent */
Lfpb__ConfigGroup *lf_cg_group(const Lfpb__ConfigGroup *g, const char *key);
Lfpb__ConfigValue *lf_cg_value(const Lfpb__ConfigGroup *g, const char *key);
Lfpb__ConfigPolicy *lf_cg_policy(const Lfpb__ConfigGroup *g,
				 const char *key);
/* add or replace; takes ownership of child / data */
void lf_cg_put_group(Lfpb__ConfigGroup *g, const char *key,
		     Lfpb__ConfigGroup *child);
void lf_cg_put_value(Lfpb__ConfigGroup *g, const char *key,
		     ProtobufCBinaryData data, const char *mod_policy);
void lf_cg_put_policy(Lfpb__ConfigGroup *g, const char *key, int type,
		      ProtobufCBinaryData data, const char *mod_policy);
/* remove group `key` if present */
void lf_cg_del_group(Lfpb__ConfigGroup *g, const char *key);
/* sort every map by key, recursively (deterministic encoding) */
void lf_cg_sort(Lfpb__ConfigGroup *g);
bool lf_cg_equal_policy(const Lfpb__ConfigPolicy *a,
			const Lfpb__ConfigPolicy *b);

/* ---- MSP material (msp.c) ---- */
/* MSPConfig value bytes of a cryptogen-layout msp dir */
int lf_msp_value(const char *mspdir, const char *mspid,
		 ProtobufCBinaryData *out, struct lf_err *err);
/* read a PEM file into a binary buffer (malloc'd) */
int lf_blk_read_bin(const char *path, ProtobufCBinaryData *out,
		    struct lf_err *err);

/* ---- policies (policy.c) ---- */
/* "ANY Readers" / "OR('A.member', ...)" -> Policy value bytes */
int lf_policy_encode(const char *type, const char *rule, int *ptype,
		     ProtobufCBinaryData *out, struct lf_err *err);
/* add a policy to g (mod_policy "Admins") from type + rule */
int lf_cg_add_policy(Lfpb__ConfigGroup *g, const char *name,
		     const char *type, const char *rule, struct lf_err *err);
/* human form of a policy: "MAJORITY Admins", "OR('A.admin')" */
char *lf_policy_describe(const Lfpb__Policy *p);

/* ---- identities and signatures (sign.c) ---- */
struct lf_signer {
	char *mspid;
	uint8_t *cert;        /* PEM text (id_bytes) */
	size_t cert_len;
	unsigned roles;       /* bit (1 << LF_ROLE_*) */
	char fp[65];          /* sha256 of the certificate DER, dedup key */
	char *subject;        /* one-line subject */
	char *problem;        /* NULL when valid, else why not */
};
void lf_signer_clear(struct lf_signer *s);
/* validate the ConfigSignatures of an update against MSPs in cfg */
int lf_signers_check(const Lfpb__ConfigGroup *cfg,
		     const Lfpb__ConfigUpdateEnvelope *env,
		     struct lf_signer **out, size_t *n, struct lf_err *err);
void lf_signers_free(struct lf_signer *v, size_t n);

/* The signing identity of a cryptogen-layout MSP dir: the PEM of the first
 * file of signcerts/ and of keystore/ (*key: wipe with lf_free_secret),
 * checked to be a pair; all NULL on error. */
int lf_blk_msp_signer(const char *mspdir, char **cert, size_t *cert_len,
		      char **key, size_t *key_len, struct lf_err *err);
/* ECDSA/SHA-256 signature (low-S, DER; *sig malloc'd) of data with a PEM
 * private key, as Fabric signs; the key is parsed and dropped here. */
int lf_blk_sign_pem(const char *key_pem, size_t key_len, const void *data,
		    size_t len, uint8_t **sig, size_t *sig_len,
		    struct lf_err *err);

/* subject of mspdir's signing certificate and, when cfg (Config bytes) is
 * given, the MSP id whose CA issued it (left NULL when none) */
int lf_blk_signer_info(const char *mspdir, const uint8_t *cfg, size_t cfglen,
		       char **mspid, char **subject, struct lf_err *err);

/* does the last signature of a ConfigUpdateEnvelope count, judged
 * against Config cfg (NULL: only a repeated signer is found)? 0 with
 * *why "this signature counts as an admin of X"; 1 with *why saying why
 * not (a signer that signed already, not an admin, not valid for its
 * MSP); caller frees *why */
int lf_blk_last_signature_vet(const uint8_t *cfg, size_t cfglen,
			      const uint8_t *env, size_t envlen, char **why);

/* policy evaluation (policy.c): group is where `name` lives; result
 * summary in *why (caller frees): "MAJORITY Admins: 2 of 3 orgs ..." */
struct lf_eval {
	bool ok;
	char *need;      /* "MAJORITY Admins: 2 of 3 orgs (A, B, C)" */
	char *have;      /* "have 1 (A)" */
	char *missing;   /* "missing 1 of B, C" */
	char *brief;     /* "2 of 3 admin signatures (A, B, C)" */
};
void lf_eval_clear(struct lf_eval *e);
int lf_policy_eval(const Lfpb__ConfigGroup *group, const char *name,
		   const struct lf_signer *s, size_t n, struct lf_eval *out,
		   struct lf_err *err);

/* what the update's mod policies need, "; "-joined: long form
 * ("MAJORITY Admins: 2 of 3 orgs (A, B, C)") or brief ("2 of 3 admin
 * signatures (A, B, C)") */
int lf_update__needs(const uint8_t *cur, size_t curlen, const uint8_t *env,
		     size_t envlen, bool brief, char **out, struct lf_err *err);

/* ---- config updates (update.c) ---- */
/* the mod policies the delta of `upd` needs, as group + policy name
 * pairs resolved in `cur` */
struct lf_modpol {
	const Lfpb__ConfigGroup *group;  /* borrowed from cur */
	char *path;                      /* "/Channel/Application" */
	char *name;                      /* "Admins" */
};
int lf_update_modpols(const Lfpb__ConfigGroup *cur,
		      const Lfpb__ConfigUpdate *upd, struct lf_modpol **out,
		      size_t *n, struct lf_err *err);
void lf_modpols_free(struct lf_modpol *v, size_t n);
/* read set and write set from cur to next (configtxlator's algorithm);
 * false when nothing differs; *rs and *ws always set (caller frees) */
bool lf_update__sets(const Lfpb__ConfigGroup *cur,
		     const Lfpb__ConfigGroup *next, Lfpb__ConfigGroup **rs,
		     Lfpb__ConfigGroup **ws);
/* unpack a ConfigUpdateEnvelope and its ConfigUpdate (both freed by the
 * caller); NULL with err set when malformed */
Lfpb__ConfigUpdate *lf_update__unpack(const uint8_t *env, size_t len,
				      Lfpb__ConfigUpdateEnvelope **e,
				      struct lf_err *err);

/* ---- misc ---- */
/* Go time.Duration.String() of a millisecond count: "2s", "500ms" */
void lf_go_duration(unsigned int ms, char out[32]);
/* SOURCE_DATE_EPOCH if set and valid, else now; *fixed tells which */
int64_t lf_blk_epoch(bool *fixed);
/* 24-byte nonce: random, or derived from seed when SOURCE_DATE_EPOCH */
void lf_blk_nonce(const char *seed, uint8_t out[24]);

#endif
