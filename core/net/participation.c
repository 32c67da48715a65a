/*
 * Orderer channel participation API client: one libcurl easy handle per
 * call, mutual TLS from PEM held in memory, JSON answers read with jansson.
 * See participation.h for the API's facts and this module's contract.
 */
#include "core/net/participation.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>

#include "core/util/util.h"

#define PART_BASE "/participation/v1/channels"
#define PART_BODY_MAX (8u * 1024u * 1024u) /* answers are small JSON */
#define PART_TIMEOUT_MS 30000u

/* ---- request plumbing ------------------------------------------------ */

/* One HTTP exchange: what was sent and what came back. */
struct part_req {
	const char *method;     /* GET, POST, DELETE */
	const char *path;       /* absolute path on the endpoint */
	const void *block;      /* POST: the config block */
	size_t block_len;
	long status;            /* HTTP status; 0: no answer */
	struct lf_buf body;     /* answer body, bounded */
};

static pthread_once_t part_curl_once = PTHREAD_ONCE_INIT;
static CURLcode part_curl_init_rc = CURLE_OK;

static void part_curl_init(void)
{
	part_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t part_write_cb(char *data, size_t size, size_t nmemb, void *payload)
{
	struct lf_buf *b = payload;
	size_t n = size * nmemb;

	if (lf_buf_append(b, data, n) != 0)
		return 0; /* over the bound: curl fails with CURLE_WRITE_ERROR */
	return n;
}

/* Channel ids as Fabric's configtx.ValidateChannelID accepts them; also
 * keeps the id safe to paste into a URL path. */
static int part_check_channel(const char *channel, struct lf_err *err)
{
	size_t n = channel ? strlen(channel) : 0;
	size_t i;

	if (n == 0 || n >= LF_PARTICIPATION_NAME_MAX)
		return lf_err_set(err, LF_EINVALID, "invalid channel name '%s'",
				  channel ? channel : "");
	if (channel[0] < 'a' || channel[0] > 'z')
		return lf_err_set(err, LF_EINVALID,
				  "invalid channel name '%s': must start with a lower-case letter",
				  channel);
	for (i = 0; i < n; i++) {
		char c = channel[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-')
			continue;
		return lf_err_set(err, LF_EINVALID,
				  "invalid channel name '%s': only [a-z0-9.-] allowed",
				  channel);
	}
	return 0;
}

/* TLS material: CA from memory only (no system store), client cert and
 * key from memory (NOCOPY: curl never holds a copy of the key). */
static int part_set_tls(CURL *h, const struct lf_participation_conn *conn,
			struct lf_err *err)
{
	struct curl_blob ca = { (void *)conn->ca_pem, strlen(conn->ca_pem),
				CURL_BLOB_NOCOPY };
	CURLcode rc = CURLE_OK;

	rc |= curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
	rc |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	rc |= curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	rc |= curl_easy_setopt(h, CURLOPT_SSLVERSION,
			       (long)CURL_SSLVERSION_TLSv1_2);
	if (conn->cert_pem && conn->key_pem) {
		struct curl_blob cert = { (void *)conn->cert_pem,
					  strlen(conn->cert_pem),
					  CURL_BLOB_NOCOPY };
		struct curl_blob key = { (void *)conn->key_pem,
					 conn->key_len ? conn->key_len
						       : strlen(conn->key_pem),
					 CURL_BLOB_NOCOPY };

		rc |= curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		rc |= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		rc |= curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
		rc |= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (rc != CURLE_OK)
		return lf_err_set(err, LF_EUNSUPPORTED,
				  "libcurl refuses in-memory TLS options (needs 7.77+ with OpenSSL)");
	return 0;
}

/* A transport failure (no HTTP answer) as an lf code and message. */
static int part_curl_error(const struct lf_participation_conn *conn,
			   const struct part_req *rq, CURLcode rc,
			   const char *detail, bool tls_done,
			   struct lf_err *err)
{
	const char *what = detail[0] ? detail : curl_easy_strerror(rc);
	bool alert = strstr(detail, "alert") != NULL;
	bool hangup = rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
		      rc == CURLE_SEND_ERROR;

	/* TLS 1.3: the server checks the client certificate after the client
	 * has finished its handshake; a refusal is an alert (Go servers) or
	 * a plain close before any answer (Node servers). */
	if (alert || (hangup && tls_done))
		return lf_err_set(err, LF_EAUTH,
				  "orderer admin %s: the server refused the TLS client certificate (%s): %s",
				  conn->endpoint,
				  conn->cert_pem ? "not issued by a CA it trusts?"
						 : "none was given",
				  what);

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return lf_err_set(err, LF_ERETRY, "orderer admin %s: %s %s: %s",
				  conn->endpoint, rq->method, rq->path, what);
	case CURLE_OPERATION_TIMEDOUT:
		return lf_err_set(err, LF_ETIMEOUT,
				  "orderer admin %s: %s %s: timed out: %s",
				  conn->endpoint, rq->method, rq->path, what);
	case CURLE_PEER_FAILED_VERIFICATION:
		return lf_err_set(err, LF_EAUTH,
				  "orderer admin %s: server certificate not trusted (not issued by the given TLS CA, or wrong host name): %s",
				  conn->endpoint, what);
	case CURLE_SSL_CERTPROBLEM:
		return lf_err_set(err, LF_EINVALID,
				  "orderer admin %s: client TLS certificate or key unusable: %s",
				  conn->endpoint, what);
	case CURLE_WRITE_ERROR:
		return lf_err_set(err, LF_ERROR,
				  "orderer admin %s: %s %s: answer larger than %u bytes",
				  conn->endpoint, rq->method, rq->path, PART_BODY_MAX);
	default:
		break;
	}
	if (hangup)
		return lf_err_set(err, LF_ERETRY, "orderer admin %s: %s %s: %s",
				  conn->endpoint, rq->method, rq->path, what);
	return lf_err_set(err, LF_ERROR, "orderer admin %s: %s %s: %s",
			  conn->endpoint, rq->method, rq->path, what);
}

/* The form Fabric reads: one file part named config-block.  A part
 * without a file name would land among Go's form values, not its files. */
static curl_mime *part_join_form(CURL *h, const struct part_req *rq)
{
	curl_mime *form = curl_mime_init(h);
	curl_mimepart *part = form ? curl_mime_addpart(form) : NULL;

	if (!part || curl_mime_name(part, "config-block") != CURLE_OK ||
	    curl_mime_filename(part, "config.block") != CURLE_OK ||
	    curl_mime_type(part, "application/octet-stream") != CURLE_OK ||
	    curl_mime_data(part, rq->block, rq->block_len) != CURLE_OK) {
		curl_mime_free(form);
		return NULL;
	}
	return form;
}

static int part_setup(CURL *h, const struct lf_participation_conn *conn,
		      struct part_req *rq, struct curl_slist *hdrs,
		      char *errbuf, struct lf_err *err)
{
	char *url = lf_xasprintf("https://%s%s", conn->endpoint, rq->path);
	long timeout = conn->timeout_ms ? (long)conn->timeout_ms
					: (long)PART_TIMEOUT_MS;
	CURLcode rc = CURLE_OK;
	int ret;

	rc |= curl_easy_setopt(h, CURLOPT_URL, url);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, part_write_cb);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &rq->body);
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		rc |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
	free(url);
	if (rc != CURLE_OK)
		return lf_err_set(err, LF_ERROR, "libcurl: cannot set request options");
	ret = part_set_tls(h, conn, err);
	return ret;
}

/* Run one request; 0 when an HTTP answer came (any status). */
static int part_do(const struct lf_participation_conn *conn,
		   struct part_req *rq, struct lf_err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	curl_mime *form = NULL;
	CURL *h = NULL;
	CURLcode rc;
	int ret;

	if (!conn || !conn->endpoint || !conn->ca_pem)
		return lf_err_set(err, LF_EINVALID,
				  "orderer admin connection needs an endpoint and a TLS CA");
	if (!conn->cert_pem != !conn->key_pem)
		return lf_err_set(err, LF_EINVALID,
				  "orderer admin %s: a client certificate needs its key and a key its certificate",
				  conn->endpoint);
	pthread_once(&part_curl_once, part_curl_init);
	if (part_curl_init_rc != CURLE_OK)
		return lf_err_set(err, LF_ERROR, "libcurl: global init failed");
	rq->body.max = PART_BODY_MAX;
	h = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Accept: application/json");
	if (!h || !hdrs) {
		ret = lf_err_set(err, LF_ERROR, "libcurl: cannot create a handle");
		goto cleanup;
	}
	ret = part_setup(h, conn, rq, hdrs, errbuf, err);
	if (ret != 0)
		goto cleanup;
	if (rq->block) {
		form = part_join_form(h, rq);
		if (!form || curl_easy_setopt(h, CURLOPT_MIMEPOST, form) != CURLE_OK) {
			ret = lf_err_set(err, LF_ERROR, "libcurl: cannot build the join form");
			goto cleanup;
		}
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		curl_off_t tls_us = 0;

		curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &tls_us);
		ret = part_curl_error(conn, rq, rc, errbuf, tls_us > 0, err);
		goto cleanup;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rq->status);
	ret = 0;
cleanup:
	curl_mime_free(form);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return ret;
}

/* The server's {"error": "..."} text, or the raw body's start. */
static void part_server_msg(const struct part_req *rq, char *out, size_t n)
{
	json_t *j = rq->body.len ? json_loadb(rq->body.data, rq->body.len, 0, NULL)
				 : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "error"))
			    : NULL;

	if (msg)
		snprintf(out, n, "%s", msg);
	else if (rq->body.len)
		snprintf(out, n, "%.120s", rq->body.data);
	else
		snprintf(out, n, "(no body)");
	json_decref(j);
}

/* The lf code for an HTTP status the caller did not expect. */
static int part_status_code(long status)
{
	switch (status) {
	case 503: case 502: case 504: case 429:
		return LF_ERETRY;
	case 401: case 403:
		return LF_EAUTH;
	case 404:
		return LF_ENOTFOUND;
	case 405: case 409:
		return LF_ECONFLICT;
	case 400:
		return LF_EINVALID;
	default:
		return LF_ERROR;
	}
}

/* An HTTP status outside the expected ones: code from the status class,
 * message with the status and the server's own words. */
static int part_http_error(const struct lf_participation_conn *conn,
			   const struct part_req *rq, int code,
			   struct lf_err *err)
{
	char msg[256];

	part_server_msg(rq, msg, sizeof(msg));
	if (code == 0)
		code = part_status_code(rq->status);
	return lf_err_set(err, code, "orderer admin %s: %s %s: HTTP %ld: %s",
			  conn->endpoint, rq->method, rq->path, rq->status, msg);
}


static void part_copy_str(char *dst, size_t n, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(dst, n, "%s", s ? s : "");
}

/* Parse a ChannelInfo answer into out. */
static int part_parse_info(const struct lf_participation_conn *conn,
			   const struct part_req *rq,
			   struct lf_participation_info *out,
			   struct lf_err *err)
{
	json_t *j = json_loadb(rq->body.data ? rq->body.data : "",
			       rq->body.len, 0, NULL);
	json_t *height = json_object_get(j, "height");
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j) ||
	    !json_is_string(json_object_get(j, "name"))) {
		ret = lf_err_set(err, LF_ERROR,
				 "orderer admin %s: %s %s: answer is not a channel info",
				 conn->endpoint, rq->method, rq->path);
		goto cleanup;
	}
	part_copy_str(out->name, sizeof(out->name), j, "name");
	part_copy_str(out->consensus_relation, sizeof(out->consensus_relation),
		      j, "consensusRelation");
	part_copy_str(out->status, sizeof(out->status), j, "status");
	if (json_is_integer(height) && json_integer_value(height) >= 0)
		out->height = (uint64_t)json_integer_value(height);
cleanup:
	json_decref(j);
	return ret;
}

/* ---- API ------------------------------------------------------------- */

int lf_participation_list(const struct lf_participation_conn *conn,
			  json_t **out, struct lf_err *err)
{
	struct part_req rq = { "GET", PART_BASE, NULL, 0, 0, LF_BUF_INIT };
	json_t *j = NULL, *chans, *arr = NULL;
	size_t i;
	int ret;

	*out = NULL;
	ret = part_do(conn, &rq, err);
	if (ret != 0)
		goto cleanup;
	if (rq.status != 200) {
		ret = part_http_error(conn, &rq, 0, err);
		goto cleanup;
	}
	j = json_loadb(rq.body.data ? rq.body.data : "", rq.body.len, 0, NULL);
	chans = json_object_get(j, "channels");
	if (!json_is_object(j) || !(json_is_array(chans) || json_is_null(chans))) {
		ret = lf_err_set(err, LF_ERROR,
				 "orderer admin %s: GET %s: answer is not a channel list",
				 conn->endpoint, PART_BASE);
		goto cleanup;
	}
	arr = json_array();
	for (i = 0; json_is_array(chans) && i < json_array_size(chans); i++)
		json_array_append(arr, json_array_get(chans, i));
	*out = arr;
cleanup:
	json_decref(j);
	lf_buf_free(&rq.body);
	return ret;
}

int lf_participation_get(const struct lf_participation_conn *conn,
			 const char *channel,
			 struct lf_participation_info *out,
			 struct lf_err *err)
{
	struct part_req rq = { "GET", NULL, NULL, 0, 0, LF_BUF_INIT };
	char *path = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = part_check_channel(channel, err);
	if (ret != 0)
		return ret;
	path = lf_xasprintf(PART_BASE "/%s", channel);
	rq.path = path;
	ret = part_do(conn, &rq, err);
	if (ret == 0 && rq.status == 200)
		ret = part_parse_info(conn, &rq, out, err);
	else if (ret == 0)
		ret = part_http_error(conn, &rq, 0, err);
	lf_buf_free(&rq.body);
	free(path);
	return ret;
}

/* After a 405 to a join: the orderer already serves that very channel
 * (the idempotent case) or refuses for another reason (a conflict). */
static int part_join_exists(const struct lf_participation_conn *conn,
			    const struct part_req *rq, const char *channel,
			    struct lf_participation_info *out,
			    struct lf_err *err)
{
	struct lf_err gerr = LF_ERR_INIT;
	int ret = lf_participation_get(conn, channel, out, &gerr);

	if (ret == 0) {
		out->already = true;
		return 0;
	}
	if (ret != LF_ENOTFOUND) {
		lf_err_set(err, ret, "%s", gerr.msg);
		return ret;
	}
	/* 405 but the channel asked for is not there: the block names
	 * another channel the orderer has, or a system channel exists */
	return part_http_error(conn, rq, LF_ECONFLICT, err);
}

int lf_participation_join(const struct lf_participation_conn *conn,
			  const char *channel, const void *block,
			  size_t block_len,
			  struct lf_participation_info *out,
			  struct lf_err *err)
{
	struct part_req rq = { "POST", PART_BASE, block, block_len, 0,
			       LF_BUF_INIT };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = part_check_channel(channel, err);
	if (ret != 0)
		return ret;
	if (!block || block_len == 0)
		return lf_err_set(err, LF_EINVALID,
				  "join of channel '%s': empty config block", channel);
	ret = part_do(conn, &rq, err);
	if (ret != 0)
		goto cleanup;
	if (rq.status == 201) {
		ret = part_parse_info(conn, &rq, out, err);
		if (ret == 0 && strcmp(out->name, channel) != 0)
			ret = lf_err_set(err, LF_ECONFLICT,
					 "orderer admin %s: join of channel '%s' joined '%s' (the block is another channel's)",
					 conn->endpoint, channel, out->name);
	} else if (rq.status == 405) {
		ret = part_join_exists(conn, &rq, channel, out, err);
	} else if (rq.status == 409) {
		/* pending removal: the join can succeed once it is gone */
		ret = part_http_error(conn, &rq, LF_ERETRY, err);
	} else {
		ret = part_http_error(conn, &rq, 0, err);
	}
cleanup:
	lf_buf_free(&rq.body);
	return ret;
}

int lf_participation_remove(const struct lf_participation_conn *conn,
			    const char *channel, struct lf_err *err)
{
	struct part_req rq = { "DELETE", NULL, NULL, 0, 0, LF_BUF_INIT };
	char *path = NULL;
	int ret;

	ret = part_check_channel(channel, err);
	if (ret != 0)
		return ret;
	path = lf_xasprintf(PART_BASE "/%s", channel);
	rq.path = path;
	ret = part_do(conn, &rq, err);
	if (ret == 0 && rq.status != 204 && rq.status != 200 &&
	    rq.status != 404) {
		/* 409: removal under way, ask again */
		ret = part_http_error(conn, &rq,
				      rq.status == 409 ? LF_ERETRY : 0, err);
	}
	lf_buf_free(&rq.body);
	free(path);
	return ret;
}
