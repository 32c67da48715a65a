/*
 * Client of an orderer's channel participation API (Fabric 2.3+, no system
 * channel): the admin endpoint's /participation/v1/channels, HTTPS with
 * mutual TLS, through libcurl.
 *
 * Facts of the API (Fabric 2.5 orderer/common/channelparticipation):
 *   GET    /participation/v1/channels       200 {"systemChannel":..,
 *                                               "channels":[{name,url}]|null}
 *   GET    /participation/v1/channels/NAME  200 ChannelInfo, 404 unknown
 *   POST   /participation/v1/channels       multipart/form-data, one file
 *          part "config-block" (the join block; the channel name comes
 *          from the block) -> 201 ChannelInfo; 405 "cannot join: channel
 *          already exists"; 409 pending removal; 400 bad block
 *   DELETE /participation/v1/channels/NAME  204; 404 unknown; 409 pending
 *   503 when the API is disabled.  Errors are {"error":"..."}.
 *   ChannelInfo: {"name","url","consensusRelation","status","height"}.
 *
 * Every call is idempotent towards the desired state: join of a channel
 * the orderer already serves is 0 (info->already set), remove of an absent
 * channel is 0.  Keys come from memory (CURLOPT_SSLKEY_BLOB) and are never
 * written, copied into curl or logged; the server is always verified
 * against conn->ca_pem only (not the system store), host name included.
 */
#ifndef LF_NET_PARTICIPATION_H
#define LF_NET_PARTICIPATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ledgerform/error.h"

/* How to reach one orderer's admin endpoint.  All strings are borrowed for
 * the duration of a call. */
struct lf_participation_conn {
	const char *endpoint;   /* "host:port" (IPv6: "[::1]:7053") */
	const char *ca_pem;     /* TLS CA(s) that issued the server cert */
	const char *cert_pem;   /* client TLS certificate (NULL: none) */
	const char *key_pem;    /* its private key, PEM (NULL: none) */
	size_t key_len;         /* 0: strlen(key_pem) */
	unsigned int timeout_ms; /* whole request; 0: 30 s */
};

#define LF_PARTICIPATION_NAME_MAX 250 /* Fabric channel ids: < 250 chars */

/* One channel as the orderer reports it. */
struct lf_participation_info {
	char name[LF_PARTICIPATION_NAME_MAX];
	char consensus_relation[32]; /* consenter, follower, config-tracker, other */
	char status[32];             /* active, onboarding, inactive, failed */
	uint64_t height;
	bool already;                /* join: the orderer was already in it */
};

/* The application channels the orderer serves: *out is a new JSON array of
 * {"name","url"} objects (empty when none; Fabric sends null), caller
 * json_decref()s it. */
int lf_participation_list(const struct lf_participation_conn *conn,
			  json_t **out, struct lf_err *err);

/* One channel: 0 and *out filled, LF_ENOTFOUND when the orderer does not
 * serve it. */
int lf_participation_get(const struct lf_participation_conn *conn,
			 const char *channel,
			 struct lf_participation_info *out,
			 struct lf_err *err);

/* Join channel with its config block (genesis or latest config block).
 * 0 with out->already false when joined now, 0 with out->already true when
 * the orderer is already in that channel; LF_ECONFLICT for any other
 * refusal of the kind "exists" (system channel, another channel in the
 * block than asked for); LF_ERETRY while the channel is being removed. */
int lf_participation_join(const struct lf_participation_conn *conn,
			  const char *channel, const void *block,
			  size_t block_len,
			  struct lf_participation_info *out,
			  struct lf_err *err);

/* Leave channel: 0 when removed or already absent. */
int lf_participation_remove(const struct lf_participation_conn *conn,
			    const char *channel, struct lf_err *err);

#endif
