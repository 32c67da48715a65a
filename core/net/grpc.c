/*
 * gRPC unary calls over HTTP/2 with libcurl. See grpc.h.
 *
 * The wire protocol (grpc/doc/PROTOCOL-HTTP2.md): a POST to /Service/Method
 * with content-type application/grpc and te: trailers, the request as one
 * length-prefixed message; the response is one length-prefixed message then
 * trailers carrying grpc-status and grpc-message, or, on an early failure,
 * headers alone carrying them ("trailers-only"). libcurl hands both headers
 * and trailers to the header callback, so one parser serves both.
 */
#include "core/net/grpc.h"
#include "core/util/util.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* idle easy handles a channel keeps (each holds its connections) */
#define GRPC_POOL_MAX 8
/* longest grpc-message kept, before decoding */
#define GRPC_MESSAGE_MAX 1024

struct lf_grpc_channel {
	char *target;       /* "host:port" as given (messages) */
	char *base_url;     /* "https://name:port" or "http://host:port" */
	struct curl_slist *connect_to; /* server name override -> target */
	bool tls;
	char *ca;           /* PEM copies handed to curl without copying */
	size_t ca_len;
	char *cert;
	size_t cert_len;
	char *key;          /* secret: wiped on free */
	size_t key_len;
	size_t max_msg;
	pthread_mutex_t mu; /* guards idle[] */
	CURL *idle[GRPC_POOL_MAX];
	size_t n_idle;
};

/* one call's response as it arrives */
struct grpc_call {
	struct lf_buf body;
	size_t max_msg;
	int status;             /* -1 until grpc-status is seen */
	char *message;          /* raw grpc-message */
	bool grpc_content_type; /* content-type application/grpc[+...] */
	struct lf_err werr;     /* why the write callback stopped */
	lf_grpc_msg_cb cb;      /* streams: each message as it arrives */
	void *payload;
	bool stopped;           /* cb ended the stream early (success) */
	bool cb_failed;         /* werr is cb's error, passed on as is */
	bool h2_reset;          /* libcurl saw the server reset the stream */
};

/* ---- status codes ------------------------------------------------------ */

static const char *const grpc_code_names[LF_GRPC_CODE_LAST] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
	"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *lf_grpc_code_name(int code)
{
	if (code < 0 || code >= LF_GRPC_CODE_LAST)
		return "UNKNOWN";
	return grpc_code_names[code];
}

int lf_grpc_code_to_lf(int code)
{
	switch (code) {
	case LF_GRPC_OK: return 0;
	case LF_GRPC_UNAVAILABLE: return LF_ERETRY;
	case LF_GRPC_DEADLINE_EXCEEDED: return LF_ETIMEOUT;
	case LF_GRPC_UNAUTHENTICATED: return LF_EAUTH;
	case LF_GRPC_PERMISSION_DENIED: return LF_EAUTH;
	default: return LF_ERROR;
	}
}

/* ---- framing ----------------------------------------------------------- */

static size_t max_or_default(size_t max)
{
	return max ? max : LF_GRPC_MAX_MESSAGE_DEFAULT;
}

int lf_grpc_frame(uint8_t **out, size_t *out_len, const void *msg,
		  size_t len, size_t max, struct lf_err *err)
{
	uint8_t *f;

	*out = NULL;
	*out_len = 0;
	max = max_or_default(max);
	if (len > max || len > UINT32_MAX)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: message of %zu bytes exceeds the "
				  "maximum of %zu", len, max);
	f = lf_xmalloc(LF_GRPC_FRAME_HEADER + len);
	f[0] = 0; /* not compressed */
	f[1] = (uint8_t)(len >> 24);
	f[2] = (uint8_t)(len >> 16);
	f[3] = (uint8_t)(len >> 8);
	f[4] = (uint8_t)len;
	if (len)
		memcpy(f + LF_GRPC_FRAME_HEADER, msg, len);
	*out = f;
	*out_len = LF_GRPC_FRAME_HEADER + len;
	return 0;
}

int lf_grpc_unframe(const void *buf, size_t len, size_t max,
		    const uint8_t **msg, size_t *msg_len, size_t *used,
		    struct lf_err *err)
{
	const uint8_t *b = buf;
	size_t n;

	*msg = NULL;
	*msg_len = 0;
	*used = 0;
	max = max_or_default(max);
	if (len < LF_GRPC_FRAME_HEADER)
		return 0;
	if (b[0] == 1)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: compressed message, but no "
				  "compression was negotiated");
	if (b[0] != 0)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: bad message flag 0x%02x", b[0]);
	n = ((size_t)b[1] << 24) | ((size_t)b[2] << 16) |
	    ((size_t)b[3] << 8) | (size_t)b[4];
	if (n > max)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: message of %zu bytes exceeds the "
				  "maximum of %zu", n, max);
	if (len - LF_GRPC_FRAME_HEADER < n)
		return 0;
	*msg = b + LF_GRPC_FRAME_HEADER;
	*msg_len = n;
	*used = LF_GRPC_FRAME_HEADER + n;
	return 0;
}

int lf_grpc_unframe_one(const void *buf, size_t len, size_t max,
			const uint8_t **msg, size_t *msg_len,
			struct lf_err *err)
{
	size_t used;
	int rc;

	rc = lf_grpc_unframe(buf, len, max, msg, msg_len, &used, err);
	if (rc != 0)
		return rc;
	if (used == 0)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: truncated message (%zu bytes)", len);
	if (used != len)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: %zu unexpected bytes after the "
				  "response message", len - used);
	return 0;
}

/* ---- channel ----------------------------------------------------------- */

static pthread_once_t grpc_curl_once = PTHREAD_ONCE_INIT;
static CURLcode grpc_curl_init_rc = CURLE_FAILED_INIT;

static void grpc_curl_init(void)
{
	grpc_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int curl_check(struct lf_err *err)
{
	const curl_version_info_data *v;

	pthread_once(&grpc_curl_once, grpc_curl_init);
	if (grpc_curl_init_rc != CURLE_OK)
		return lf_err_set(err, LF_ERROR, "grpc: libcurl init: %s",
				  curl_easy_strerror(grpc_curl_init_rc));
	v = curl_version_info(CURLVERSION_NOW);
	if (!(v->features & CURL_VERSION_HTTP2))
		return lf_err_set(err, LF_EUNSUPPORTED,
				  "grpc: libcurl %s is built without HTTP/2",
				  v->version);
	return 0;
}

/* Split "host:port" / "[v6]:port": *host (allocated, brackets kept) and
 * the port text (borrowed). */
static int target_split(const char *target, char **host, const char **port,
			struct lf_err *err)
{
	const char *colon = strrchr(target, ':');
	const char *p;
	char *end = NULL;
	unsigned long n;

	*host = NULL;
	if (!colon || colon == target || colon[1] == '\0')
		return lf_err_set(err, LF_EINVALID,
				  "grpc: target '%s' is not host:port", target);
	for (p = target; p < colon; p++) {
		if (!isalnum((unsigned char)*p) && !strchr(".-_:[]", *p))
			return lf_err_set(err, LF_EINVALID,
					  "grpc: bad host in target '%s'",
					  target);
	}
	if (target[0] == '[' ? colon[-1] != ']' : memchr(target, ':',
					(size_t)(colon - target)) != NULL)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: bad host in target '%s' (IPv6 "
				  "addresses go in brackets)", target);
	n = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end != '\0' || n == 0 ||
	    n > 65535)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: bad port in target '%s'", target);
	*host = lf_xstrndup(target, (size_t)(colon - target));
	*port = colon + 1;
	return 0;
}

static bool name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr(".-_", *s))
			return false;
	}
	return true;
}

static char *pem_dup(const char *pem, size_t *len)
{
	*len = pem ? strlen(pem) : 0;
	return pem ? lf_xstrndup(pem, *len) : NULL;
}

static int channel_tls(lf_grpc_channel *ch, const char *host,
		       const char *port, const struct lf_grpc_tls *tls,
		       struct lf_err *err)
{
	const char *name = tls->server_name;
	char *map;

	if (!tls->ca_pem || !*tls->ca_pem)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: TLS to '%s' without a CA", ch->target);
	if (!tls->cert_pem != !tls->key_pem)
		return lf_err_set(err, LF_EINVALID,
				  "grpc: client certificate and key go "
				  "together (target '%s')", ch->target);
	if (name && !name_ok(name))
		return lf_err_set(err, LF_EINVALID,
				  "grpc: bad server name '%s'", name);
	ch->tls = true;
	ch->ca = pem_dup(tls->ca_pem, &ch->ca_len);
	ch->cert = pem_dup(tls->cert_pem, &ch->cert_len);
	ch->key = pem_dup(tls->key_pem, &ch->key_len);
	if (!name || !*name) {
		ch->base_url = lf_xasprintf("https://%s:%s", host, port);
		return 0;
	}
	/* verify and address the server by name, connect to the target */
	ch->base_url = lf_xasprintf("https://%s:%s", name, port);
	map = lf_xasprintf("%s:%s:%s:%s", name, port, host, port);
	ch->connect_to = curl_slist_append(NULL, map);
	free(map);
	if (!ch->connect_to)
		return lf_err_set(err, LF_ERROR, "grpc: out of memory");
	return 0;
}

int lf_grpc_channel_new(lf_grpc_channel **out, const char *target,
			const struct lf_grpc_tls *tls, struct lf_err *err)
{
	lf_grpc_channel *ch = NULL;
	char *host = NULL;
	const char *port = NULL;
	int rc;

	*out = NULL;
	rc = curl_check(err);
	if (rc == 0)
		rc = target_split(target ? target : "", &host, &port, err);
	if (rc != 0)
		goto cleanup;
	ch = lf_xcalloc(1, sizeof(*ch));
	ch->target = lf_xstrdup(target);
	ch->max_msg = LF_GRPC_MAX_MESSAGE_DEFAULT;
	pthread_mutex_init(&ch->mu, NULL);
	if (tls)
		rc = channel_tls(ch, host, port, tls, err);
	else
		ch->base_url = lf_xasprintf("http://%s:%s", host, port);
	if (rc != 0)
		goto cleanup;
	*out = ch;
	ch = NULL;
cleanup:
	lf_grpc_channel_free(ch);
	free(host);
	return rc;
}

void lf_grpc_channel_free(lf_grpc_channel *ch)
{
	size_t i;

	if (!ch)
		return;
	for (i = 0; i < ch->n_idle; i++)
		curl_easy_cleanup(ch->idle[i]);
	pthread_mutex_destroy(&ch->mu);
	curl_slist_free_all(ch->connect_to);
	free(ch->target);
	free(ch->base_url);
	free(ch->ca);
	free(ch->cert);
	lf_free_secret(ch->key, ch->key_len);
	free(ch);
}

void lf_grpc_channel_set_max_message(lf_grpc_channel *ch, size_t max)
{
	ch->max_msg = max_or_default(max);
}

static CURL *pool_take(lf_grpc_channel *ch)
{
	CURL *h = NULL;

	pthread_mutex_lock(&ch->mu);
	if (ch->n_idle > 0)
		h = ch->idle[--ch->n_idle];
	pthread_mutex_unlock(&ch->mu);
	return h ? h : curl_easy_init();
}

/* Give a handle back, its options cleared (the pointers into the finished
 * call's stack go), its connections kept; or close it when the pool is
 * full or the call failed in transport. */
static void pool_put(lf_grpc_channel *ch, CURL *h, bool keep)
{
	curl_easy_reset(h);
	if (keep) {
		pthread_mutex_lock(&ch->mu);
		if (ch->n_idle < GRPC_POOL_MAX) {
			ch->idle[ch->n_idle++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&ch->mu);
	}
	if (h)
		curl_easy_cleanup(h);
}

/* ---- one call ---------------------------------------------------------- */

/* Streams: hand each whole message in the buffer to the callback, then
 * drop it. false when the callback stops or fails the call. */
static bool body_dispatch(struct grpc_call *c)
{
	const uint8_t *msg;
	size_t msg_len, used, off = 0;
	int rc = 0;

	for (;;) {
		if (lf_grpc_unframe(c->body.data + off, c->body.len - off,
				    c->max_msg, &msg, &msg_len, &used,
				    &c->werr) != 0)
			return false;
		if (used == 0)
			break;
		off += used;
		rc = c->cb(msg, msg_len, &c->werr, c->payload);
		if (rc != 0)
			break;
	}
	memmove(c->body.data, c->body.data + off, c->body.len - off);
	c->body.len -= off;
	if (rc == LF_GRPC_STOP)
		c->stopped = true;
	else if (rc != 0)
		c->cb_failed = true;
	if (rc != 0 && c->werr.code == 0)
		lf_err_set(&c->werr, rc < 0 ? rc : LF_ERROR, "grpc: the "
			   "stream's consumer stopped it");
	return rc == 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *payload)
{
	struct grpc_call *c = payload;
	size_t n = size * nmemb, msg_len, used;
	const uint8_t *msg;

	if (lf_buf_append(&c->body, data, n) != 0) {
		lf_err_set(&c->werr, LF_EINVALID,
			   "grpc: response exceeds the maximum message size "
			   "of %zu bytes", c->max_msg);
		return 0;
	}
	if (c->cb)
		return body_dispatch(c) ? n : 0;
	/* refuse a bad header (compressed, oversized) as soon as it is in */
	if (lf_grpc_unframe(c->body.data, c->body.len, c->max_msg, &msg,
			    &msg_len, &used, &c->werr) != 0)
		return 0;
	return n;
}

static bool header_is(const char *line, size_t len, const char *name,
		      const char **value, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return false;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && strchr(" \t\r\n", line[len - 1]))
		len--;
	*value = line;
	*vlen = len;
	return true;
}

static void on_grpc_status(struct grpc_call *c, const char *v, size_t n)
{
	int code = 0;
	size_t i;

	if (n == 0 || n > 3) {
		c->status = LF_GRPC_UNKNOWN;
		return;
	}
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i])) {
			c->status = LF_GRPC_UNKNOWN;
			return;
		}
		code = code * 10 + (v[i] - '0');
	}
	c->status = code;
}

/* headers and trailers alike */
static size_t on_header(char *line, size_t size, size_t nitems, void *payload)
{
	struct grpc_call *c = payload;
	size_t n = size * nitems, vlen;
	const char *v;

	if (header_is(line, n, "grpc-status", &v, &vlen)) {
		on_grpc_status(c, v, vlen);
	} else if (header_is(line, n, "grpc-message", &v, &vlen)) {
		free(c->message);
		c->message = lf_xstrndup(v, vlen < GRPC_MESSAGE_MAX ?
					 vlen : GRPC_MESSAGE_MAX);
	} else if (header_is(line, n, "content-type", &v, &vlen)) {
		c->grpc_content_type =
			vlen >= 16 && strncasecmp(v, "application/grpc", 16) == 0 &&
			(vlen == 16 || v[16] == '+' || v[16] == ';');
	}
	return n;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decode a grpc-message into out (one line: control characters
 * become spaces; a malformed escape is kept as is). */
static void message_decode(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	int hi, lo;
	unsigned char ch;

	for (; in && *in && o + 1 < cap; in++) {
		ch = (unsigned char)*in;
		if (ch == '%' && (hi = hexval(in[1])) >= 0 &&
		    (lo = hexval(in[2])) >= 0) {
			ch = (unsigned char)(hi * 16 + lo);
			in += 2;
		}
		out[o++] = (char)(ch < 0x20 || ch == 0x7f ? ' ' : ch);
	}
	out[o] = '\0';
}

/* grpc's mapping of HTTP statuses for responses without grpc-status */
static int http_to_grpc(long http)
{
	switch (http) {
	case 400: return LF_GRPC_INTERNAL;
	case 401: return LF_GRPC_UNAUTHENTICATED;
	case 403: return LF_GRPC_PERMISSION_DENIED;
	case 404: return LF_GRPC_UNIMPLEMENTED;
	case 429: case 502: case 503: case 504: return LF_GRPC_UNAVAILABLE;
	default: return LF_GRPC_UNKNOWN;
	}
}

/* A TLS alert from the server about our certificate (TLS 1.3 reports a
 * refused client certificate only on the first read, so curl sees a
 * receive error, not a handshake error). */
static bool tls_alert_cert(const char *errbuf)
{
	return strstr(errbuf, "alert") &&
	       (strstr(errbuf, "certificate") || strstr(errbuf, "unknown ca"));
}

static int curl_to_lf(CURLcode rc, const char *errbuf)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return LF_ETIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
		return LF_EAUTH;
	case CURLE_SSL_CONNECT_ERROR:
		/* the peer went away mid-handshake: transient; anything
		 * else (an alert, no TLS there): refused */
		return strstr(errbuf, "SSL_ERROR_SYSCALL") ||
		       strstr(errbuf, "unexpected eof") ? LF_ERETRY : LF_EAUTH;
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_URL_MALFORMAT:
		return LF_EINVALID;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_PARTIAL_FILE:
		return tls_alert_cert(errbuf) ? LF_EAUTH : LF_ERETRY;
	default:
		return LF_ERROR;
	}
}

static struct curl_slist *call_headers(unsigned int deadline_ms)
{
	static const char *const fixed[] = {
		"content-type: application/grpc", "te: trailers",
		"Expect:", "Accept:",
	};
	struct curl_slist *l = NULL, *n;
	char timeout[40];
	size_t i;

	for (i = 0; i < LF_ARRAY_LEN(fixed); i++) {
		n = curl_slist_append(l, fixed[i]);
		if (!n)
			goto fail;
		l = n;
	}
	if (deadline_ms == 0)
		return l;
	/* at most 8 digits: milliseconds, else seconds */
	if (deadline_ms <= 99999999u)
		snprintf(timeout, sizeof(timeout), "grpc-timeout: %um",
			 deadline_ms);
	else
		snprintf(timeout, sizeof(timeout), "grpc-timeout: %uS",
			 deadline_ms / 1000u);
	n = curl_slist_append(l, timeout);
	if (n)
		return n;
fail:
	curl_slist_free_all(l);
	return NULL;
}

static void tls_blob(CURL *h, CURLoption opt, char *data, size_t len)
{
	struct curl_blob b = { data, len, CURL_BLOB_NOCOPY };

	curl_easy_setopt(h, opt, &b); /* curl keeps the struct's fields */
}

static CURLcode setup_tls(CURL *h, const lf_grpc_channel *ch)
{
	CURLcode rc = CURLE_OK;

	/* the given CA only: no system bundle or directory */
	curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	tls_blob(h, CURLOPT_CAINFO_BLOB, ch->ca, ch->ca_len);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (ch->cert) {
		tls_blob(h, CURLOPT_SSLCERT_BLOB, ch->cert, ch->cert_len);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		tls_blob(h, CURLOPT_SSLKEY_BLOB, ch->key, ch->key_len);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (ch->connect_to)
		rc = curl_easy_setopt(h, CURLOPT_CONNECT_TO, ch->connect_to);
	return rc;
}

struct call_req {
	const char *url;
	const uint8_t *frame;
	size_t frame_len;
	struct curl_slist *headers;
	unsigned int deadline_ms;
	char *errbuf;
};

static CURLcode call_setup(CURL *h, const lf_grpc_channel *ch,
			   const struct call_req *r, struct grpc_call *c)
{
	CURLcode rc;

	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, ch->tls ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, ch->tls ?
			 (long)CURL_HTTP_VERSION_2TLS :
			 (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	/* libcurl 7.88 (Debian 12) fails every call on a reused HTTP/2
	 * prior-knowledge connection ("Error in the HTTP2 framing layer",
	 * nothing sent): a plaintext channel opens a connection per call.
	 * Only tests speak plaintext; TLS connections are reused. */
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, ch->tls ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ledgerform/" LF_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)r->frame);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)r->frame_len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	if (r->deadline_ms)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)r->deadline_ms);
	rc = curl_easy_setopt(h, CURLOPT_URL, r->url);
	if (rc == CURLE_OK && ch->tls)
		rc = setup_tls(h, ch);
	return rc;
}

/* After a completed exchange: the gRPC outcome. */
static int call_result(CURL *h, const lf_grpc_channel *ch, const char *method,
		       struct grpc_call *c, struct lf_err *err)
{
	long http = 0, version = 0;
	char msg[GRPC_MESSAGE_MAX];

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
	curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
	if (version != CURL_HTTP_VERSION_2_0)
		return lf_err_set(err, LF_ERROR, "grpc %s at '%s': the server "
				  "does not speak HTTP/2", method, ch->target);
	if (http != 200) {
		c->status = http_to_grpc(http);
		return lf_err_set(err, lf_grpc_code_to_lf(c->status),
				  "grpc %s at '%s': HTTP status %ld (%s)",
				  method, ch->target, http,
				  lf_grpc_code_name(c->status));
	}
	if (c->status < 0)
		return lf_err_set(err, LF_ERROR, "grpc %s at '%s': response "
				  "without grpc-status", method, ch->target);
	if (c->status != LF_GRPC_OK) {
		message_decode(c->message, msg, sizeof(msg));
		return lf_err_set(err, lf_grpc_code_to_lf(c->status),
				  "grpc %s at '%s': %s: %s", method, ch->target,
				  lf_grpc_code_name(c->status),
				  msg[0] ? msg : "(no message)");
	}
	if (!c->grpc_content_type)
		return lf_err_set(err, LF_ERROR, "grpc %s at '%s': response is "
				  "not application/grpc", method, ch->target);
	return 0;
}

static int call_perform(lf_grpc_channel *ch, const char *method,
			const struct call_req *r, struct grpc_call *c,
			struct lf_err *err)
{
	CURL *h = pool_take(ch);
	CURLcode rc;
	int ret;

	if (!h)
		return lf_err_set(err, LF_ERROR, "grpc: curl_easy_init failed");
	rc = call_setup(h, ch, r, c);
	if (rc != CURLE_OK) {
		ret = lf_err_set(err, LF_ERROR, "grpc %s at '%s': %s", method,
				 ch->target, curl_easy_strerror(rc));
		pool_put(ch, h, false);
		return ret;
	}
	rc = curl_easy_perform(h);
	c->h2_reset = rc == CURLE_HTTP2_STREAM;
	if (rc != CURLE_OK && c->status >= 0 && c->werr.code == 0) {
		/* grpc-status is the server's last word: a server may answer
		 * before it reads the whole request (trailers-only, e.g.
		 * UNIMPLEMENTED) and then reset the stream, which curl
		 * reports as a stream error after the answer is in */
		ret = call_result(h, ch, method, c, err);
	} else if (rc == CURLE_WRITE_ERROR && c->stopped) {
		ret = 0;
	} else if (rc == CURLE_WRITE_ERROR && c->cb_failed) {
		ret = lf_err_set(err, c->werr.code, "%s", c->werr.msg);
	} else if (rc == CURLE_WRITE_ERROR && c->werr.code != 0) {
		ret = lf_err_set(err, c->werr.code, "%s (grpc %s at '%s')",
				 c->werr.msg, method, ch->target);
	} else if (rc != CURLE_OK) {
		ret = lf_err_set(err, curl_to_lf(rc, r->errbuf),
				 "grpc %s at '%s': %s", method, ch->target,
				 r->errbuf[0] ? r->errbuf :
				 curl_easy_strerror(rc));
	} else {
		ret = call_result(h, ch, method, c, err);
	}
	pool_put(ch, h, rc == CURLE_OK);
	return ret;
}

static bool method_ok(const char *m)
{
	if (!m || m[0] != '/' || !strchr(m + 1, '/'))
		return false;
	for (m++; *m; m++) {
		if (!isalnum((unsigned char)*m) && !strchr("._-/", *m))
			return false;
	}
	return true;
}

static int method_check(const char *method, struct lf_err *err)
{
	if (method_ok(method))
		return 0;
	return lf_err_set(err, LF_EINVALID, "grpc: bad method '%.*s' "
			  "(want /package.Service/Method)",
			  (int)strcspn(method ? method : "", "\r\n"),
			  method ? method : "");
}

/* Run one call whose request body is body[0..len) (framed messages);
 * the response goes into c. */
static int call_run(lf_grpc_channel *ch, const char *method,
		    const uint8_t *body, size_t len, struct grpc_call *c,
		    unsigned int deadline_ms, struct lf_err *err)
{
	struct call_req r = { NULL, body ? body : (const uint8_t *)"", len,
			      NULL, deadline_ms, NULL };
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc;

	r.errbuf = errbuf;
	r.headers = call_headers(deadline_ms);
	r.url = lf_xasprintf("%s%s", ch->base_url, method);
	c->max_msg = ch->max_msg;
	c->body.max = LF_GRPC_FRAME_HEADER + ch->max_msg;
	if (c->cb) /* a partial message plus one write's worth */
		c->body.max += CURL_MAX_WRITE_SIZE;
	if (!r.headers)
		rc = lf_err_set(err, LF_ERROR, "grpc: out of memory");
	else
		rc = call_perform(ch, method, &r, c, err);
	free((char *)r.url);
	curl_slist_free_all(r.headers);
	return rc;
}

int lf_grpc_unary(lf_grpc_channel *ch, const char *method, const void *req,
		  size_t req_len, uint8_t **resp, size_t *resp_len,
		  unsigned int deadline_ms, int *status, struct lf_err *err)
{
	struct grpc_call c = { LF_BUF_INIT, 0, -1, NULL, false, LF_ERR_INIT,
			       NULL, NULL, false, false };
	uint8_t *frame = NULL;
	const uint8_t *msg;
	size_t msg_len, frame_len = 0;
	int rc;

	*resp = NULL;
	*resp_len = 0;
	if (status)
		*status = -1;
	rc = method_check(method, err);
	if (rc == 0)
		rc = lf_grpc_frame(&frame, &frame_len, req, req_len,
				   ch->max_msg, err);
	if (rc != 0)
		return rc;
	rc = call_run(ch, method, frame, frame_len, &c, deadline_ms, err);
	if (status)
		*status = c.status;
	if (rc == 0)
		rc = lf_grpc_unframe_one(c.body.data, c.body.len, c.max_msg,
					 &msg, &msg_len, err);
	if (rc == 0) {
		*resp = lf_xmalloc(msg_len ? msg_len : 1);
		memcpy(*resp, msg, msg_len);
		*resp_len = msg_len;
	}
	free(frame);
	free(c.message);
	lf_buf_free(&c.body);
	return rc;
}

/* the request messages, framed one after the other */
static int frames_join(const lf_grpc_channel *ch,
		       const struct lf_grpc_msg *reqs, size_t n,
		       struct lf_buf *out, struct lf_err *err)
{
	uint8_t *f = NULL;
	size_t i, flen;
	int rc;

	for (i = 0; i < n; i++) {
		rc = lf_grpc_frame(&f, &flen, reqs[i].data, reqs[i].len,
				   ch->max_msg, err);
		if (rc != 0)
			return rc;
		rc = lf_buf_append(out, f, flen);
		free(f);
		if (rc != 0)
			return lf_err_set(err, LF_ERROR, "grpc: out of memory");
	}
	return 0;
}

int lf_grpc_stream(lf_grpc_channel *ch, const char *method,
		   const struct lf_grpc_msg *reqs, size_t n, lf_grpc_msg_cb cb,
		   void *payload, unsigned int deadline_ms, int *status,
		   struct lf_err *err)
{
	struct grpc_call c = { LF_BUF_INIT, 0, -1, NULL, false, LF_ERR_INIT,
			       cb, payload, false, false };
	struct lf_buf body = LF_BUF_INIT;
	int rc;

	if (status)
		*status = -1;
	rc = method_check(method, err);
	if (rc == 0)
		rc = frames_join(ch, reqs, n, &body, err);
	if (rc == 0)
		rc = call_run(ch, method, (const uint8_t *)body.data,
			      body.len, &c, deadline_ms, err);
	if (status)
		*status = c.status;
	/* a stream that ends without grpc-status was cut (a server
	 * restarting, a proxy), so a retry may succeed. libcurl reports
	 * the server's RST_STREAM either as a clean end or as an HTTP/2
	 * stream error, depending on when the reset arrives (with the error,
	 * the response's headers and data may never reach the callbacks):
	 * one message for both, with libcurl's words kept when it had any */
	if (c.status < 0 && !c.stopped &&
	    ((rc == LF_ERROR && c.grpc_content_type) ||
	     (rc == LF_ERETRY && c.h2_reset))) {
		char why[LF_ERR_MSG_MAX];
		const char *w = rc == LF_ERETRY ? strstr(err->msg, "': ") :
			NULL;

		/* libcurl's own words, after "grpc METHOD at 'TARGET': " */
		snprintf(why, sizeof(why), "%s", w ? w + 3 : "");
		lf_err_clear(err);
		rc = lf_err_set(err, LF_ERETRY, "grpc %s at '%s': the stream "
				"ended without a status (reset%s%s)", method,
				ch->target, why[0] ? ": " : "", why);
	}
	if (rc == 0 && !c.stopped && c.body.len > 0)
		rc = lf_err_set(err, LF_EINVALID, "grpc %s at '%s': the "
				"stream ended inside a message (%zu bytes)",
				method, ch->target, c.body.len);
	lf_buf_free(&body);
	free(c.message);
	lf_buf_free(&c.body);
	return rc;
}
