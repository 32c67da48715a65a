/*
 * gRPC unary and streaming calls over HTTP/2, on libcurl (nghttp2) easy
 * handles.
 *
 * Just what ledgerform needs to talk to Fabric peers and orderers (a signed
 * proposal to the peer's Endorser service, as `peer channel join` does):
 * unary calls, streams whose requests are known up front (the orderer's
 * Broadcast and Deliver), the 5-byte length-prefixed message framing, TLS
 * always verified against the caller's CA (mutual TLS when a client certificate is
 * given), deadlines, and grpc-status / grpc-message mapped to LF_E* codes.
 * Messages are opaque bytes: callers pack and unpack them with protobuf-c.
 * No compression is ever negotiated, so a compressed frame is refused.
 *
 * A channel may be used from several threads at once: each call borrows an
 * easy handle from the channel's mutex-guarded pool (an idle handle keeps its
 * connection, so sequential calls reuse it).
 */
#ifndef LF_NET_GRPC_H
#define LF_NET_GRPC_H

#include <stddef.h>
#include <stdint.h>
#include "ledgerform/error.h"

/* Fabric's default maximum send/receive message size (100 MiB). */
#define LF_GRPC_MAX_MESSAGE_DEFAULT ((size_t)100 * 1024 * 1024)
/* the length-prefix: 1 byte compressed flag + 4 bytes big-endian length */
#define LF_GRPC_FRAME_HEADER 5

/* gRPC status codes (grpc/doc/statuscodes.md) */
enum lf_grpc_code {
	LF_GRPC_OK = 0,
	LF_GRPC_CANCELLED = 1,
	LF_GRPC_UNKNOWN = 2,
	LF_GRPC_INVALID_ARGUMENT = 3,
	LF_GRPC_DEADLINE_EXCEEDED = 4,
	LF_GRPC_NOT_FOUND = 5,
	LF_GRPC_ALREADY_EXISTS = 6,
	LF_GRPC_PERMISSION_DENIED = 7,
	LF_GRPC_RESOURCE_EXHAUSTED = 8,
	LF_GRPC_FAILED_PRECONDITION = 9,
	LF_GRPC_ABORTED = 10,
	LF_GRPC_OUT_OF_RANGE = 11,
	LF_GRPC_UNIMPLEMENTED = 12,
	LF_GRPC_INTERNAL = 13,
	LF_GRPC_UNAVAILABLE = 14,
	LF_GRPC_DATA_LOSS = 15,
	LF_GRPC_UNAUTHENTICATED = 16,
	LF_GRPC_CODE_LAST
};

/* "PERMISSION_DENIED", ...; "UNKNOWN" for codes out of range */
const char *lf_grpc_code_name(int code);
/* The ledgerform code for a gRPC status: 0 for OK; UNAVAILABLE ->
 * LF_ERETRY; DEADLINE_EXCEEDED -> LF_ETIMEOUT; UNAUTHENTICATED and
 * PERMISSION_DENIED -> LF_EAUTH; anything else LF_ERROR. */
int lf_grpc_code_to_lf(int code);

/* ---- framing ---------------------------------------------------------- */

/* Frame msg[0..len) into a new buffer (*out, caller frees) of
 * LF_GRPC_FRAME_HEADER + len bytes: flag 0, big-endian length, the bytes.
 * LF_EINVALID when len exceeds max (0: LF_GRPC_MAX_MESSAGE_DEFAULT). */
int lf_grpc_frame(uint8_t **out, size_t *out_len, const void *msg,
		  size_t len, size_t max, struct lf_err *err);

/* Read one frame from the start of buf[0..len) (bytes as received so far).
 * A whole frame: 0, *msg points into buf at its message (borrowed),
 * *msg_len its length, *used = LF_GRPC_FRAME_HEADER + *msg_len.
 * Not all there yet: 0 and *used = 0 (feed more bytes and call again).
 * LF_EINVALID, as soon as the header is in, for a compressed flag (we never
 * negotiate compression), an unknown flag, or a length above max
 * (0: LF_GRPC_MAX_MESSAGE_DEFAULT). */
int lf_grpc_unframe(const void *buf, size_t len, size_t max,
		    const uint8_t **msg, size_t *msg_len, size_t *used,
		    struct lf_err *err);

/* The whole body of a unary response: exactly one frame. LF_EINVALID when
 * it is truncated (also an empty body), malformed (as lf_grpc_unframe) or
 * followed by more bytes. *msg borrows from buf. */
int lf_grpc_unframe_one(const void *buf, size_t len, size_t max,
			const uint8_t **msg, size_t *msg_len,
			struct lf_err *err);

/* ---- client ----------------------------------------------------------- */

/* TLS material, all PEM text in memory (NUL-terminated). The key is handed
 * to libcurl from memory: never written to disk nor logged; the channel
 * keeps a copy that it wipes when freed. */
struct lf_grpc_tls {
	const char *ca_pem;      /* required: the only trust anchors (the
				    system store is never consulted) */
	const char *cert_pem;    /* optional: client certificate (chain) */
	const char *key_pem;     /* with cert_pem: its private key */
	const char *server_name; /* optional: the name to verify the server
				    certificate against and send as SNI and
				    :authority (grpc's ssl_target_name_override);
				    default: the target's host */
};

typedef struct lf_grpc_channel lf_grpc_channel;

/* A channel to target "host:port" ("[v6addr]:port" for IPv6). With tls,
 * HTTP/2 over TLS (1.2 or later, ALPN h2), always verified; with tls NULL,
 * plaintext HTTP/2 with prior knowledge (h2c: tests, local sockets).
 * LF_EINVALID for a bad target or TLS material, LF_EUNSUPPORTED when
 * libcurl lacks HTTP/2. */
int lf_grpc_channel_new(lf_grpc_channel **out, const char *target,
			const struct lf_grpc_tls *tls, struct lf_err *err);
void lf_grpc_channel_free(lf_grpc_channel *ch);
/* Maximum message size, each way (0: LF_GRPC_MAX_MESSAGE_DEFAULT). Set it
 * before the channel is shared between threads. */
void lf_grpc_channel_set_max_message(lf_grpc_channel *ch, size_t max);

/* One unary call of method ("/package.Service/Method") with the serialized
 * request req[0..req_len). On success (grpc-status 0): 0, *resp (caller
 * frees; non-NULL even when empty) and *resp_len hold the response message.
 * deadline_ms > 0 bounds the whole call (sent as grpc-timeout too); 0: no
 * deadline. *status (may be NULL) gets the grpc-status, or -1 when none
 * arrived (transport failure). Errors: the status mapped by
 * lf_grpc_code_to_lf with the server's grpc-message (percent-decoded) in
 * err; transport failures LF_ERETRY (connect, reset), LF_ETIMEOUT (the
 * deadline), LF_EAUTH (a TLS handshake refused by either side), LF_EINVALID
 * (a malformed or oversized response), LF_ERROR otherwise. Thread-safe. */
int lf_grpc_unary(lf_grpc_channel *ch, const char *method, const void *req,
		  size_t req_len, uint8_t **resp, size_t *resp_len,
		  unsigned int deadline_ms, int *status, struct lf_err *err);

/* ---- server streaming ------------------------------------------------- */

/* One request message of a streaming call. */
struct lf_grpc_msg {
	const void *data;
	size_t len;
};

/* Called with each response message of a stream as it arrives; msg is
 * borrowed for the call only. Return 0 to go on, LF_GRPC_STOP to end the
 * call early with success (the stream is cancelled: what the caller came
 * for is in), or a negative LF_E* code with err set to fail the call with
 * that error as is. */
typedef int (*lf_grpc_msg_cb)(const uint8_t *msg, size_t len,
			      struct lf_err *err, void *payload);
#define LF_GRPC_STOP 1

/* A call that sends the n request messages reqs[0..n) (n may be 0), then
 * half-closes, and hands each response message to cb until the server ends
 * the stream (with grpc-status) or cb stops it. Serves server-streaming and
 * bidirectional methods whose requests are all known up front (Fabric's
 * AtomicBroadcast Broadcast and Deliver). Deadline, *status and errors as
 * lf_grpc_unary; messages already handed to cb stay handed when the stream
 * then fails (a reset mid-stream: LF_ERETRY; a stream that ends inside a
 * message: LF_EINVALID). Thread-safe. */
int lf_grpc_stream(lf_grpc_channel *ch, const char *method,
		   const struct lf_grpc_msg *reqs, size_t n, lf_grpc_msg_cb cb,
		   void *payload, unsigned int deadline_ms, int *status,
		   struct lf_err *err);

#endif
