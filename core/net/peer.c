/*
 * Calls to a Fabric peer's Endorser service: the generic proposal round
 * trip and the configuration / query system chaincode calls apply needs.
 */
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/net/peer.h"
#include "core/util/util.h"
#include "lfpb/proposal.pb-c.h"

int lf_peer_invoke(const struct lf_peer *p, const char *channel,
		   const char *cc, const struct lf_bytes *args, size_t nargs,
		   struct lf_proposal_reply *reply, char *tx_id,
		   struct lf_err *err)
{
	struct lf_proposal prop = { 0 };
	uint8_t *resp = NULL;
	size_t resp_len = 0;
	unsigned int deadline = p->deadline_ms ? p->deadline_ms
					       : LF_PEER_DEADLINE_DEFAULT_MS;
	int rc;

	memset(reply, 0, sizeof(*reply));
	rc = lf_proposal_new(&prop, channel, cc, args, nargs, p->id, err);
	if (rc == 0)
		rc = lf_grpc_unary(p->ch, LF_PEER_METHOD, prop.signed_bytes,
				   prop.signed_len, &resp, &resp_len, deadline,
				   NULL, err);
	if (rc == 0)
		rc = lf_proposal_reply_decode(resp, resp_len, reply, err);
	if (tx_id)
		memcpy(tx_id, prop.tx_id, sizeof(prop.tx_id));
	free(resp);
	lf_proposal_clear(&prop);
	return rc;
}

/* one call with string arguments (at most 4) and an optional bytes one */
static int call_str(const struct lf_peer *p, const char *cc,
		    const char *const *sargs, size_t ns,
		    const struct lf_bytes *extra,
		    struct lf_proposal_reply *reply, struct lf_err *err)
{
	struct lf_bytes a[5];
	size_t n = 0;

	for (size_t i = 0; i < ns && n < 4; i++) {
		a[n].data = sargs[i];
		a[n++].len = strlen(sargs[i]);
	}
	if (extra)
		a[n++] = *extra;
	return lf_peer_invoke(p, "", cc, a, n, reply, NULL, err);
}

int lf_peer_block_channel(const void *block, size_t len, char *out, size_t n,
			  struct lf_err *err)
{
	Lfpb__Block *b = lf_pb_unpack(&lfpb__block__descriptor, len, block, NULL);
	Lfpb__Envelope *e = NULL;
	Lfpb__Payload *pl = NULL;
	Lfpb__ChannelHeader *ch = NULL;
	int rc = 0;

	if (b && b->data && b->data->n_data)
		e = lf_pb_unpack(&lfpb__envelope__descriptor, b->data->data[0].len,
				 b->data->data[0].data, NULL);
	if (e)
		pl = lf_pb_unpack(&lfpb__payload__descriptor, e->payload.len,
				  e->payload.data, NULL);
	if (pl && pl->header)
		ch = lf_pb_unpack(&lfpb__channel_header__descriptor,
				  pl->header->channel_header.len,
				  pl->header->channel_header.data, NULL);
	if (!ch || !ch->channel_id || !*ch->channel_id ||
	    strlen(ch->channel_id) >= n)
		rc = lf_err_set(err, LF_EINVALID, "the block names no channel "
				"(not a config block)");
	else
		memcpy(out, ch->channel_id, strlen(ch->channel_id) + 1);
	if (ch)
		lfpb__channel_header__free_unpacked(ch, NULL);
	if (pl)
		lfpb__payload__free_unpacked(pl, NULL);
	if (e)
		lfpb__envelope__free_unpacked(e, NULL);
	if (b)
		lfpb__block__free_unpacked(b, NULL);
	return rc;
}

void lf_peer_channels_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int lf_peer_channels(const struct lf_peer *p, char ***out, size_t *n,
		     struct lf_err *err)
{
	static const char *const args[] = { "GetChannels" };
	struct lf_proposal_reply r;
	Lfpb__ChannelQueryResponse *q = NULL;
	int rc = call_str(p, "cscc", args, 1, NULL, &r, err);

	*out = NULL;
	*n = 0;
	if (rc == 0 && r.payload_len &&
	    !(q = lf_pb_unpack(&lfpb__channel_query_response__descriptor,
			       r.payload_len, r.payload, NULL)))
		rc = lf_err_set(err, LF_EINVALID, "peer: GetChannels answered "
				"something else than a channel list");
	if (rc == 0) {
		size_t k = q ? q->n_channels : 0;

		*out = lf_xcalloc(k + 1, sizeof(**out));
		for (size_t i = 0; i < k; i++)
			(*out)[i] = lf_xstrdup(q->channels[i]->channel_id ?
					       q->channels[i]->channel_id : "");
		*n = k;
	}
	if (q)
		lfpb__channel_query_response__free_unpacked(q, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}

/* is channel among the peer's channels? */
static int has_channel(const struct lf_peer *p, const char *channel,
		       bool *yes, struct lf_err *err)
{
	char **v = NULL;
	size_t n = 0;
	int rc = lf_peer_channels(p, &v, &n, err);

	*yes = false;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (strcmp(v[i], channel) == 0)
			*yes = true;
	lf_peer_channels_free(v);
	return rc;
}

int lf_peer_join(const struct lf_peer *p, const void *block, size_t len,
		 bool *already, struct lf_err *err)
{
	static const char *const args[] = { "JoinChain" };
	struct lf_bytes blk = { block, len };
	struct lf_proposal_reply r = { 0 };
	char channel[256];
	int rc = lf_peer_block_channel(block, len, channel, sizeof(channel), err);

	*already = false;
	if (rc == 0)
		rc = has_channel(p, channel, already, err);
	if (rc || *already)
		return rc;
	rc = call_str(p, "cscc", args, 1, &blk, &r, err);
	/* joined meanwhile (another apply): Fabric says the ledger exists */
	if (rc && r.message && strstr(r.message, "already exists")) {
		lf_err_clear(err);
		*already = true;
		rc = 0;
	}
	lf_proposal_reply_clear(&r);
	return rc;
}

int lf_peer_height(const struct lf_peer *p, const char *channel,
		   struct lf_peer_chain_info *out, struct lf_err *err)
{
	const char *args[] = { "GetChainInfo", channel };
	struct lf_proposal_reply r;
	Lfpb__BlockchainInfo *bi = NULL;
	int rc = call_str(p, "qscc", args, 2, NULL, &r, err);

	memset(out, 0, sizeof(*out));
	/* Fabric 2.5 qscc: "Invalid chain ID, NAME" for a channel the peer
	 * has not joined */
	if (rc == LF_ERROR && r.message && strstr(r.message, "Invalid chain ID"))
		rc = lf_err_set(err, LF_ENOTFOUND, "peer has not joined '%s'",
				channel);
	if (rc == 0 &&
	    !(bi = lf_pb_unpack(&lfpb__blockchain_info__descriptor,
				r.payload_len, r.payload, NULL)))
		rc = lf_err_set(err, LF_EINVALID, "peer: GetChainInfo answered "
				"something else than chain info");
	if (rc == 0) {
		out->height = bi->height;
		out->current_hash_len = bi->currentblockhash.len <
			sizeof(out->current_hash) ? bi->currentblockhash.len
						  : sizeof(out->current_hash);
		if (out->current_hash_len)
			memcpy(out->current_hash, bi->currentblockhash.data,
			       out->current_hash_len);
	}
	if (bi)
		lfpb__blockchain_info__free_unpacked(bi, NULL);
	lf_proposal_reply_clear(&r);
	return rc;
}
