/*
 * The orderer's AtomicBroadcast client. See ab.h.
 *
 * Both methods are bidirectional streams; ledgerform sends one envelope,
 * half-closes and reads the answers: Broadcast answers each envelope with
 * a BroadcastResponse; Deliver sends the blocks asked for, then a status
 * (a bounded stop ends with SUCCESS), and the stream ends.
 */
#include "core/net/ab.h"
#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/util/util.h"
#include "lfpb/ab.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define AB_BROADCAST "/orderer.AtomicBroadcast/Broadcast"
#define AB_DELIVER "/orderer.AtomicBroadcast/Deliver"
#define AB_HDR_DELIVER_SEEK_INFO 5
/* common.BlockMetadataIndex */
#define AB_META_SIGNATURES 0
#define AB_META_LAST_CONFIG 1

struct lf_ab {
	lf_grpc_channel *ch;
	char *target;
	uint8_t tls_hash[32];
	int has_tls_hash;
	int last_status; /* common.Status of the last call's answer; -1 none */
};

/* ---- statuses ---------------------------------------------------------- */

const char *lf_ab_status_name(int status)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&lfpb__ab_status__descriptor,
						     status);

	/* "AB_STATUS_BAD_REQUEST" -> Fabric's "BAD_REQUEST" */
	return v ? v->name + strlen("AB_STATUS_") : "UNKNOWN";
}

int lf_ab_status_to_lf(int status)
{
	switch (status) {
	case LFPB__AB_STATUS__AB_STATUS_SUCCESS: return 0;
	case LFPB__AB_STATUS__AB_STATUS_SERVICE_UNAVAILABLE: return LF_ERETRY;
	case LFPB__AB_STATUS__AB_STATUS_FORBIDDEN: return LF_EAUTH;
	case LFPB__AB_STATUS__AB_STATUS_NOT_FOUND: return LF_ENOTFOUND;
	case LFPB__AB_STATUS__AB_STATUS_BAD_REQUEST:
	case LFPB__AB_STATUS__AB_STATUS_REQUEST_ENTITY_TOO_LARGE:
		return LF_EINVALID;
	default: return LF_ERROR;
	}
}

/* ---- client ------------------------------------------------------------ */

/* sha256 of the client certificate's DER (Fabric's tls_cert_hash) */
static int cert_hash(const char *pem, uint8_t out[32], struct lf_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int n = x ? i2d_X509(x, &der) : -1;

	if (n > 0)
		lf_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	if (n <= 0)
		return lf_err_set(err, LF_EINVALID, "orderer client: the TLS "
				  "client certificate is not PEM");
	return 0;
}

int lf_ab_new(lf_ab **out, const char *target, const struct lf_grpc_tls *tls,
	      struct lf_err *err)
{
	lf_ab *ab = lf_xcalloc(1, sizeof(*ab));
	int rc = 0;

	*out = NULL;
	if (tls && tls->cert_pem) {
		rc = cert_hash(tls->cert_pem, ab->tls_hash, err);
		ab->has_tls_hash = rc == 0;
	}
	if (rc == 0)
		rc = lf_grpc_channel_new(&ab->ch, target, tls, err);
	if (rc != 0) {
		lf_ab_free(ab);
		return rc;
	}
	ab->target = lf_xstrdup(target);
	ab->last_status = -1;
	*out = ab;
	return 0;
}

_Static_assert(LF_AB_SERVICE_UNAVAILABLE ==
	       LFPB__AB_STATUS__AB_STATUS_SERVICE_UNAVAILABLE,
	       "common.Status SERVICE_UNAVAILABLE");

int lf_ab_last_status(const lf_ab *ab)
{
	return ab ? ab->last_status : -1;
}

void lf_ab_free(lf_ab *ab)
{
	if (!ab)
		return;
	lf_grpc_channel_free(ab->ch);
	free(ab->target);
	free(ab);
}

/* ---- Broadcast --------------------------------------------------------- */

struct bcast {
	const char *target;
	int answers;
	int status;
};

static int on_bcast(const uint8_t *msg, size_t len, struct lf_err *err,
		    void *payload)
{
	struct bcast *b = payload;
	Lfpb__BroadcastResponse *r;
	int rc;

	r = lf_pb_unpack(&lfpb__broadcast_response__descriptor, len, msg, NULL);
	if (!r)
		return lf_err_set(err, LF_EINVALID, "orderer '%s': malformed "
				  "BroadcastResponse", b->target);
	b->answers++;
	b->status = r->status;
	rc = lf_ab_status_to_lf(r->status);
	if (rc != 0)
		lf_err_set(err, rc, "orderer '%s' refused the envelope: %s: %s",
			   b->target, lf_ab_status_name(r->status),
			   r->info && *r->info ? r->info : "(no info)");
	lfpb__broadcast_response__free_unpacked(r, NULL);
	return rc;
}

int lf_ab_broadcast(lf_ab *ab, const uint8_t *env, size_t len,
		    struct lf_err *err)
{
	struct lf_grpc_msg req = { env, len };
	uint64_t end = lf_now_ms() + LF_AB_LEADER_WAIT_MS;
	unsigned int pause = 100;
	int rc;

	for (;;) {
		struct bcast b = { ab->target, 0, LFPB__AB_STATUS__AB_STATUS_SUCCESS };

		ab->last_status = -1;
		rc = lf_grpc_stream(ab->ch, AB_BROADCAST, &req, 1, on_bcast, &b,
				    LF_AB_CALL_TIMEOUT_MS, NULL, err);
		if (b.answers > 0)
			ab->last_status = b.status;
		if (rc == 0 && b.answers != 1)
			rc = lf_err_set(err, LF_ERROR, "orderer '%s': %d answers to "
					"one Broadcast envelope", ab->target, b.answers);
		if (rc != LF_ERETRY || b.status != LFPB__AB_STATUS__AB_STATUS_SERVICE_UNAVAILABLE ||
		    lf_now_ms() >= end)
			return rc;
		lf_sleep_ms(pause);
		if (pause < 1000)
			pause *= 2;
	}
}

/* ---- Deliver ----------------------------------------------------------- */

int lf_ab_seek_info(uint64_t number, int wait, uint8_t **out, size_t *len)
{
	Lfpb__SeekInfo si = LFPB__SEEK_INFO__INIT;
	Lfpb__SeekPosition pos = LFPB__SEEK_POSITION__INIT;
	Lfpb__SeekNewest newest = LFPB__SEEK_NEWEST__INIT;
	Lfpb__SeekOldest oldest = LFPB__SEEK_OLDEST__INIT;
	Lfpb__SeekSpecified spec = LFPB__SEEK_SPECIFIED__INIT;

	if (number == LF_AB_NEWEST) {
		pos.type_case = LFPB__SEEK_POSITION__TYPE_NEWEST;
		pos.newest = &newest;
	} else if (number == LF_AB_OLDEST) {
		pos.type_case = LFPB__SEEK_POSITION__TYPE_OLDEST;
		pos.oldest = &oldest;
	} else {
		spec.number = number;
		pos.type_case = LFPB__SEEK_POSITION__TYPE_SPECIFIED;
		pos.specified = &spec;
	}
	si.start = &pos;
	si.stop = &pos;
	si.behavior = wait ? LFPB__SEEK_INFO__SEEK_BEHAVIOR__BLOCK_UNTIL_READY
			   : LFPB__SEEK_INFO__SEEK_BEHAVIOR__FAIL_IF_NOT_READY;
	si.error_response = LFPB__SEEK_INFO__SEEK_ERROR_RESPONSE__STRICT;
	si.content_type = LFPB__SEEK_INFO__SEEK_CONTENT_TYPE__BLOCK;
	*out = lf_pb_pack(&si.base, len);
	return 0;
}

int lf_ab_seek_envelope(const lf_ab *ab, const char *channel,
			const struct lf_ab_signer *s, uint64_t number,
			int wait, uint8_t **out, size_t *len,
			struct lf_err *err)
{
	struct lf_envelope_req r = { AB_HDR_DELIVER_SEEK_INFO, channel, NULL, 0,
				     s->mspdir, s->mspid,
				     ab && ab->has_tls_hash ? ab->tls_hash
							    : NULL };
	uint8_t *seek = NULL;
	size_t seek_len = 0;
	int rc;

	lf_ab_seek_info(number, wait, &seek, &seek_len);
	r.data = seek;
	r.len = seek_len;
	rc = lf_envelope_sign(&r, out, len, err);
	free(seek);
	return rc;
}

struct deliver {
	const char *target;
	const char *channel;
	uint8_t *block;
	size_t len;
	int status;     /* -1 until one arrives */
	char *info;
};

static int on_deliver(const uint8_t *msg, size_t len, struct lf_err *err,
		      void *payload)
{
	struct deliver *d = payload;
	Lfpb__DeliverResponse *r;
	int rc = 0;

	r = lf_pb_unpack(&lfpb__deliver_response__descriptor, len, msg, NULL);
	if (!r)
		return lf_err_set(err, LF_EINVALID, "orderer '%s': malformed "
				  "DeliverResponse", d->target);
	if (r->type_case == LFPB__DELIVER_RESPONSE__TYPE_BLOCK && !d->block) {
		d->block = lf_xmalloc(r->block.len ? r->block.len : 1);
		memcpy(d->block, r->block.data, r->block.len);
		d->len = r->block.len;
	} else if (r->type_case == LFPB__DELIVER_RESPONSE__TYPE_BLOCK) {
		rc = lf_err_set(err, LF_ERROR, "orderer '%s' sent more than "
				"the one block asked for", d->target);
	} else if (r->type_case == LFPB__DELIVER_RESPONSE__TYPE_STATUS) {
		d->status = r->status;
	}
	lfpb__deliver_response__free_unpacked(r, NULL);
	return rc;
}

/* the outcome of a finished one-block Deliver */
static int deliver_result(struct deliver *d, uint64_t number,
			  struct lf_err *err)
{
	char what[32];
	int rc;

	if (number == LF_AB_NEWEST)
		snprintf(what, sizeof(what), "newest");
	else if (number == LF_AB_OLDEST)
		snprintf(what, sizeof(what), "oldest");
	else
		snprintf(what, sizeof(what), "%llu",
			 (unsigned long long)number);
	if (d->status < 0)
		return lf_err_set(err, LF_ERROR, "orderer '%s': the Deliver "
				  "stream of channel '%s' ended without a "
				  "status", d->target, d->channel);
	rc = lf_ab_status_to_lf(d->status);
	if (rc != 0)
		return lf_err_set(err, rc, "orderer '%s': Deliver of block %s "
				  "of channel '%s': %s", d->target, what,
				  d->channel, lf_ab_status_name(d->status));
	if (!d->block)
		return lf_err_set(err, LF_ERROR, "orderer '%s': Deliver of "
				  "block %s of channel '%s' ended with no "
				  "block", d->target, what, d->channel);
	return 0;
}

int lf_ab_deliver_block(lf_ab *ab, const char *channel,
			const struct lf_ab_signer *s, uint64_t number,
			unsigned int wait_ms, uint8_t **out, size_t *len,
			struct lf_err *err)
{
	struct deliver d = { ab->target, channel, NULL, 0, -1, NULL };
	struct lf_grpc_msg req = { NULL, 0 };
	uint8_t *env = NULL;
	size_t env_len = 0;
	int rc;

	*out = NULL;
	*len = 0;
	rc = lf_ab_seek_envelope(ab, channel, s, number, wait_ms > 0, &env,
				 &env_len, err);
	req.data = env;
	req.len = env_len;
	ab->last_status = -1;
	if (rc == 0)
		rc = lf_grpc_stream(ab->ch, AB_DELIVER, &req, 1, on_deliver,
				    &d, wait_ms ? wait_ms
						: LF_AB_CALL_TIMEOUT_MS,
				    NULL, err);
	ab->last_status = d.status;
	if (rc == 0)
		rc = deliver_result(&d, number, err);
	if (rc == 0) {
		*out = d.block;
		*len = d.len;
		d.block = NULL;
	}
	free(d.block);
	free(env);
	return rc;
}

/* one block and its facts; *blk NULL and bi cleared on failure */
static int deliver_info(lf_ab *ab, const char *channel,
			const struct lf_ab_signer *s, uint64_t number,
			unsigned int wait_ms, uint8_t **blk, size_t *len,
			struct lf_ab_block_info *bi, struct lf_err *err)
{
	int rc = lf_ab_deliver_block(ab, channel, s, number, wait_ms, blk,
				     len, err);

	memset(bi, 0, sizeof(*bi));
	if (rc == 0)
		rc = lf_ab_block_info(*blk, *len, bi, err);
	if (rc != 0) {
		free(*blk);
		*blk = NULL;
	}
	return rc;
}

int lf_ab_height(lf_ab *ab, const char *channel,
		 const struct lf_ab_signer *s, uint64_t *out,
		 struct lf_err *err)
{
	struct lf_ab_block_info bi;
	uint8_t *blk = NULL;
	size_t len = 0;
	int rc;

	*out = 0;
	rc = deliver_info(ab, channel, s, LF_AB_NEWEST, 0, &blk, &len, &bi,
			  err);
	if (rc == 0)
		*out = bi.number + 1;
	lf_ab_block_info_clear(&bi);
	free(blk);
	return rc;
}

/* ---- blocks ------------------------------------------------------------ */

void lf_ab_block_info_clear(struct lf_ab_block_info *bi)
{
	free(bi->update_sig);
	memset(bi, 0, sizeof(*bi));
}

/* last config index: OrdererBlockMetadata in SIGNATURES (Fabric 2.x), else
 * the LAST_CONFIG entry */
static uint64_t last_config(const Lfpb__Block *b)
{
	const Lfpb__BlockMetadata *bm = b->metadata;
	Lfpb__Metadata *m = NULL;
	Lfpb__OrdererBlockMetadata *om = NULL;
	Lfpb__LastConfig *lc = NULL;
	uint64_t idx = 0;

	if (bm && bm->n_metadata > AB_META_SIGNATURES)
		m = lf_pb_unpack(&lfpb__metadata__descriptor,
				 bm->metadata[AB_META_SIGNATURES].len,
				 bm->metadata[AB_META_SIGNATURES].data, NULL);
	if (m && m->value.len)
		om = lf_pb_unpack(&lfpb__orderer_block_metadata__descriptor,
				  m->value.len, m->value.data, NULL);
	if (om && om->last_config) {
		idx = om->last_config->index;
	} else if (bm && bm->n_metadata > AB_META_LAST_CONFIG) {
		if (m)
			lfpb__metadata__free_unpacked(m, NULL);
		m = lf_pb_unpack(&lfpb__metadata__descriptor,
				 bm->metadata[AB_META_LAST_CONFIG].len,
				 bm->metadata[AB_META_LAST_CONFIG].data, NULL);
		if (m)
			lc = lf_pb_unpack(&lfpb__last_config__descriptor,
					  m->value.len, m->value.data, NULL);
		idx = lc ? lc->index : 0;
	}
	if (lc)
		lfpb__last_config__free_unpacked(lc, NULL);
	if (om)
		lfpb__orderer_block_metadata__free_unpacked(om, NULL);
	if (m)
		lfpb__metadata__free_unpacked(m, NULL);
	return idx;
}

/* a CONFIG envelope's sequence and update signature into bi */
static void config_facts(const ProtobufCBinaryData *data,
			 struct lf_ab_block_info *bi)
{
	Lfpb__Envelope *e = lf_pb_unpack(&lfpb__envelope__descriptor,
					 data->len, data->data, NULL);
	Lfpb__Payload *p = NULL;
	Lfpb__ChannelHeader *ch = NULL;
	Lfpb__ConfigEnvelope *ce = NULL;

	if (e)
		p = lf_pb_unpack(&lfpb__payload__descriptor, e->payload.len,
				 e->payload.data, NULL);
	if (p && p->header)
		ch = lf_pb_unpack(&lfpb__channel_header__descriptor,
				  p->header->channel_header.len,
				  p->header->channel_header.data, NULL);
	if (ch && ch->type == LF_HDR_CONFIG)
		ce = lf_pb_unpack(&lfpb__config_envelope__descriptor,
				  p->data.len, p->data.data, NULL);
	if (ce && ce->config) {
		bi->is_config = 1;
		bi->sequence = ce->config->sequence;
	}
	if (ce && ce->last_update && ce->last_update->signature.len) {
		bi->update_sig_len = ce->last_update->signature.len;
		bi->update_sig = lf_xmalloc(bi->update_sig_len);
		memcpy(bi->update_sig, ce->last_update->signature.data,
		       bi->update_sig_len);
	}
	if (ce)
		lfpb__config_envelope__free_unpacked(ce, NULL);
	if (ch)
		lfpb__channel_header__free_unpacked(ch, NULL);
	if (p)
		lfpb__payload__free_unpacked(p, NULL);
	if (e)
		lfpb__envelope__free_unpacked(e, NULL);
}

int lf_ab_block_info(const uint8_t *blk, size_t len,
		     struct lf_ab_block_info *out, struct lf_err *err)
{
	Lfpb__Block *b = lf_pb_unpack(&lfpb__block__descriptor, len, blk, NULL);

	memset(out, 0, sizeof(*out));
	if (!b || !b->header)
		return lf_err_set(err, LF_EINVALID, "not a block (%zu bytes)",
				  len);
	out->number = b->header->number;
	out->last_config = last_config(b);
	if (b->data && b->data->n_data == 1)
		config_facts(&b->data->data[0], out);
	lfpb__block__free_unpacked(b, NULL);
	return 0;
}

int lf_ab_config_block(lf_ab *ab, const char *channel,
		       const struct lf_ab_signer *s, uint8_t **out,
		       size_t *len, uint64_t *sequence, struct lf_err *err)
{
	struct lf_ab_block_info bi = { 0 };
	uint8_t *blk = NULL;
	size_t blen = 0;
	int rc;

	*out = NULL;
	*len = 0;
	rc = deliver_info(ab, channel, s, LF_AB_NEWEST, 0, &blk, &blen, &bi,
			  err);
	if (rc == 0 && !bi.is_config) {
		uint64_t last = bi.last_config;

		free(blk);
		lf_ab_block_info_clear(&bi);
		rc = deliver_info(ab, channel, s, last, 0, &blk, &blen, &bi,
				  err);
	}
	if (rc == 0 && !bi.is_config)
		rc = lf_err_set(err, LF_EINVALID, "orderer '%s': block %llu of "
				"channel '%s' is not a config block", ab->target,
				(unsigned long long)bi.number, channel);
	if (rc == 0) {
		*out = blk;
		*len = blen;
		*sequence = bi.sequence;
		blk = NULL;
	}
	lf_ab_block_info_clear(&bi);
	free(blk);
	return rc;
}

/* ---- config updates ---------------------------------------------------- */

struct submit {
	lf_ab *ab;
	const char *channel;
	const struct lf_ab_signer *s;
	ProtobufCBinaryData sig;  /* the submitted envelope's signature */
	uint64_t expected;
};

/* block bi made by our update: 1; not a config block: 0; a config block
 * of another update at or past the sequence: LF_ECONFLICT */
static int submit_match(const struct submit *u,
			const struct lf_ab_block_info *bi, struct lf_err *err)
{
	if (!bi->is_config || bi->sequence < u->expected)
		return 0;
	if (bi->sequence == u->expected && bi->update_sig_len == u->sig.len &&
	    memcmp(bi->update_sig, u->sig.data, u->sig.len) == 0)
		return 1;
	return lf_err_set(err, LF_ECONFLICT, "channel '%s': block %llu holds "
			  "config sequence %llu from another update",
			  u->channel, (unsigned long long)bi->number,
			  (unsigned long long)bi->sequence);
}

/* deliver blocks from `from` until ours arrives or the deadline passes */
static int submit_wait(const struct submit *u, uint64_t from, uint64_t end,
		       uint8_t **out, size_t *outlen, struct lf_err *err)
{
	struct lf_ab_block_info bi = { 0 };
	uint8_t *blk = NULL;
	size_t len = 0;
	uint64_t n, now;
	int rc = 0;

	for (n = from; rc == 0; n++) {
		now = lf_now_ms();
		if (now >= end)
			return lf_err_set(err, LF_ETIMEOUT, "channel '%s': the "
					  "config block with sequence %llu was "
					  "not delivered in time", u->channel,
					  (unsigned long long)u->expected);
		rc = deliver_info(u->ab, u->channel, u->s, n,
				  (unsigned int)(end - now), &blk, &len, &bi,
				  err);
		if (rc == 0)
			rc = submit_match(u, &bi, err);
		lf_ab_block_info_clear(&bi);
		if (rc == 1) {
			*out = blk;
			*outlen = len;
			return 0;
		}
		free(blk);
		blk = NULL;
	}
	return rc;
}

/* the current config sequence must be expected - 1 */
static int submit_check_seq(const struct submit *u, struct lf_err *err)
{
	uint8_t *blk = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	int rc;

	rc = lf_ab_config_block(u->ab, u->channel, u->s, &blk, &len, &seq,
				err);
	free(blk);
	if (rc == 0 && seq + 1 != u->expected)
		rc = lf_err_set(err, LF_ECONFLICT, "channel '%s' is at config "
				"sequence %llu; the update expects to make "
				"%llu", u->channel, (unsigned long long)seq,
				(unsigned long long)u->expected);
	return rc;
}

int lf_ab_submit_config_update(lf_ab *ab, const char *channel,
			       const struct lf_ab_signer *s,
			       const uint8_t *env, size_t len,
			       uint64_t expected_seq, unsigned int deadline_ms,
			       uint8_t **out, size_t *outlen,
			       struct lf_err *err)
{
	struct submit u = { ab, channel, s, { 0, NULL }, expected_seq };
	uint64_t end = lf_now_ms() + deadline_ms, height = 0;
	Lfpb__Envelope *e;
	int rc = 0;

	*out = NULL;
	*outlen = 0;
	e = lf_pb_unpack(&lfpb__envelope__descriptor, len, env, NULL);
	if (!e || e->signature.len == 0)
		rc = lf_err_set(err, LF_EINVALID, "channel '%s': the config "
				"update is not a signed Envelope", channel);
	else
		u.sig = e->signature;
	if (rc == 0)
		rc = submit_check_seq(&u, err);
	if (rc == 0)
		rc = lf_ab_height(ab, channel, s, &height, err);
	if (rc == 0)
		rc = lf_ab_broadcast(ab, env, len, err);
	if (rc == 0)
		rc = submit_wait(&u, height, end, out, outlen, err);
	if (e)
		lfpb__envelope__free_unpacked(e, NULL);
	return rc;
}
