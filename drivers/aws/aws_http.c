/*
 * One EC2 Query API call over libcurl: the form body, the SigV4 headers,
 * TLS always verified (the system's CAs or ca_bundle), the XML response
 * parsed with libxml2, and the retry policy (throttling and 5xx with
 * exponential backoff and equal jitter, within retry_max attempts and the
 * call's deadline; Retry-After honoured).
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define AWS_BODY_MAX (32u << 20) /* a response larger than this is refused */
#define AWS_SLEEP_SLICE_MS 20

struct http_result {
	long status;
	struct aws_buf body;
	long retry_after_s;    /* -1: none */
	char curl_err[CURL_ERROR_SIZE];
};

void aws_resp_free(struct aws_resp *r)
{
	if (!r)
		return;
	xmlFreeDoc(r->doc);
	free(r);
}

int aws_sleep(struct lf_call *call, long ms, struct lf_err *err)
{
	struct timespec ts;
	long slice;

	while (ms > 0 && !aws_host->call_cancelled(call)) {
		slice = ms < AWS_SLEEP_SLICE_MS ? ms : AWS_SLEEP_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	if (aws_host->call_cancelled(call))
		return aws_host->err_set(err, LF_ECANCELED, "aws: cancelled");
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct aws_buf *b = ud;

	if (b->len + sz * n > AWS_BODY_MAX)
		return 0;
	aws_buf_add(b, p, sz * n);
	return b->oom ? 0 : sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct http_result *r = ud;
	size_t len = sz * n;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		r->retry_after_s = strtol(p + 12, NULL, 10);
	return len;
}

/* the signed headers of one request (x-amz-date now) into hdrs */
static int sign_headers(struct lf_driver_conn *c, const struct aws_creds *cr,
			const struct aws_buf *body, struct curl_slist **hdrs)
{
	char amz_date[20], payload[65];
	time_t now = time(NULL);
	struct tm tm;
	struct aws_pair h[4] = {
		{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
		{ "Host", c->host_header }, { "X-Amz-Date", amz_date },
		{ "X-Amz-Security-Token", cr->token },
	};
	struct aws_sig_in in = { "POST", "/", NULL, 0, h, cr->token[0] ? 4 : 3, payload,
				 cr->akid, cr->secret, c->region, "ec2", amz_date };
	struct aws_sig_out out;
	struct aws_buf line = { 0 };
	size_t i;

	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	aws_sha256_hex(body->data, body->len, payload);
	if (aws_sigv4_sign(&in, &out) != 0)
		return -1;
	for (i = 0; i < in.nheaders; i++) {
		line.len = 0;
		aws_buf_printf(&line, "%s: %s", h[i].name, h[i].value);
		*hdrs = curl_slist_append(*hdrs, line.data);
	}
	line.len = 0;
	aws_buf_printf(&line, "Authorization: %s", out.authorization.data);
	*hdrs = curl_slist_append(*hdrs, line.data);
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	aws_buf_free(&line);
	aws_sig_out_free(&out);
	return *hdrs ? 0 : -1;
}

/* ---- idle handles ---------------------------------------------------------- */

static CURL *pool_take(struct lf_driver_conn *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_mu);
	if (c->npool > 0)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->pool_mu);
	if (h)
		curl_easy_reset(h); /* options go; the connection stays */
	return h ? h : curl_easy_init();
}

static void pool_give(struct lf_driver_conn *c, CURL *h)
{
	pthread_mutex_lock(&c->pool_mu);
	if (c->npool < AWS_POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (h)
		curl_easy_cleanup(h);
}

void aws_pool_free(struct lf_driver_conn *c)
{
	while (c->npool > 0)
		curl_easy_cleanup(c->pool[--c->npool]);
}

/* one HTTP exchange; 0 when a response came (any status) */
static int http_post(struct lf_driver_conn *c, struct lf_call *call, const struct aws_creds *cr,
		     const struct aws_buf *body, struct http_result *res, struct lf_err *err)
{
	struct curl_slist *hdrs = NULL;
	CURL *h = pool_take(c);
	uint64_t dl = aws_host->call_deadline(call), now = aws_host->now_ms();
	long tmo = c->http_timeout_ms;
	CURLcode cc = CURLE_FAILED_INIT;

	res->retry_after_s = -1;
	if (dl && dl > now && (long)(dl - now) < tmo)
		tmo = (long)(dl - now);
	if (h && sign_headers(c, cr, body, &hdrs) == 0) {
		curl_easy_setopt(h, CURLOPT_URL, c->endpoint);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body->len);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (c->ca_bundle)
			curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, tmo > 0 ? tmo : 1L);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &res->body);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, res);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, res->curl_err);
		cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
	}
	if (h)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (h && cc == CURLE_OK)
		pool_give(c, h);
	else if (h)
		curl_easy_cleanup(h); /* a failed connection is not kept */
	if (cc == CURLE_OK)
		return 0;
	if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
	    cc == CURLE_SSL_CERTPROBLEM)
		return aws_host->err_set(err, LF_EAUTH, "aws: TLS verification of '%s' failed: %s",
					 c->endpoint, res->curl_err[0] ? res->curl_err : curl_easy_strerror(cc));
	return aws_host->err_set(err, LF_ERETRY, "aws: %s: %s", c->endpoint,
				 res->curl_err[0] ? res->curl_err : curl_easy_strerror(cc));
}

/* ---- responses ------------------------------------------------------------- */

static xmlNodePtr find_el(xmlNodePtr n, const char *name)
{
	xmlNodePtr hit;

	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, (const xmlChar *)name) == 0)
			return n;
		hit = find_el(n->children, name);
		if (hit)
			return hit;
	}
	return NULL;
}

char *aws_resp_text(struct aws_resp *r, const char *name)
{
	xmlNodePtr n = r && r->doc ? find_el(xmlDocGetRootElement(r->doc), name) : NULL;
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	char *s = t ? strdup((const char *)t) : NULL;

	xmlFree(t);
	return s;
}

static int parse_xml(const struct aws_buf *body, struct aws_resp **out)
{
	struct aws_resp *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -1;
	if (body->data)
		r->doc = xmlReadMemory(body->data, (int)body->len, "ec2.xml", NULL,
				       XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
				       XML_PARSE_NOWARNING);
	if (!r->doc) {
		free(r);
		return -1;
	}
	*out = r;
	return 0;
}

enum err_class { ERR_RETRY, ERR_AUTH, ERR_EXPIRED, ERR_NOTFOUND, ERR_OTHER };

static enum err_class classify(long status, const char *code)
{
	static const char *const auth[] = { "AuthFailure", "UnauthorizedOperation",
					    "InvalidClientTokenId", "SignatureDoesNotMatch",
					    "IncompleteSignature", "OptInRequired", NULL };
	size_t i, n = code ? strlen(code) : 0;

	if (code && (strcmp(code, "RequestLimitExceeded") == 0 || strcmp(code, "Throttling") == 0 ||
		     strcmp(code, "Unavailable") == 0 || strcmp(code, "InternalError") == 0 ||
		     strcmp(code, "ServiceUnavailable") == 0))
		return ERR_RETRY;
	if (code && (strcmp(code, "RequestExpired") == 0 || strcmp(code, "ExpiredToken") == 0))
		return ERR_EXPIRED;
	for (i = 0; code && auth[i]; i++)
		if (strcmp(code, auth[i]) == 0)
			return ERR_AUTH;
	if (n > 8 && strcmp(code + n - 8, "NotFound") == 0)
		return ERR_NOTFOUND;
	if (status == 500 || status == 502 || status == 503 || status == 504)
		return ERR_RETRY;
	return ERR_OTHER;
}

/* a non-200 response as an error: the API's code and message */
static int api_error(const char *action, struct http_result *res, enum err_class *cls,
		     struct lf_err *err)
{
	static const int codes[] = { LF_ERETRY, LF_EAUTH, LF_EAUTH, LF_ENOTFOUND, LF_ERROR };
	struct aws_resp *r = NULL;
	char *code = NULL, *msg = NULL;
	unsigned int ra = res->retry_after_s >= 0 ? (unsigned int)res->retry_after_s * 1000u : 0;
	int rc;

	if (parse_xml(&res->body, &r) == 0) {
		code = aws_resp_text(r, "Code");
		msg = aws_resp_text(r, "Message");
	}
	*cls = classify(res->status, code);
	rc = aws_host->err_set_retry(err, codes[*cls], *cls == ERR_RETRY ? ra : 0,
				     "aws: %s: %s (HTTP %ld): %s", action, code ? code : "error",
				     res->status, msg ? msg : "no message");
	free(code);
	free(msg);
	aws_resp_free(r);
	return rc;
}

/* ---- the call, with retries ---------------------------------------------- */

static int form_body(const char *action, const struct aws_pair *params, size_t n,
		     struct aws_buf *body)
{
	struct aws_pair *all = calloc(n + 2, sizeof(*all));
	int rc;

	if (!all)
		return -1;
	all[0].name = "Action";
	all[0].value = action;
	all[1].name = "Version";
	all[1].value = "2016-11-15";
	if (n)
		memcpy(all + 2, params, n * sizeof(*all));
	rc = aws_query_string(body, all, n + 2);
	free(all);
	return rc;
}

/* equal jitter: half the ceiling fixed, half random; at least Retry-After */
static long backoff_ms(struct lf_driver_conn *c, int attempt, const struct lf_err *err)
{
	long ceil = c->retry_base_ms << (attempt < 10 ? attempt : 10);
	unsigned int r = 0;

	if (ceil > 20000)
		ceil = 20000;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned int)time(NULL);
	ceil = ceil / 2 + (long)(r % (unsigned int)(ceil / 2 + 1));
	if ((long)err->retry_after_ms > ceil)
		ceil = (long)err->retry_after_ms;
	return ceil;
}

/* is there time for a wait of ms before the call's deadline? */
static int fits(struct lf_call *call, long ms)
{
	uint64_t dl = aws_host->call_deadline(call);

	return !dl || aws_host->now_ms() + (uint64_t)ms + 1000 < dl;
}

static int attempt_once(struct lf_driver_conn *c, struct lf_call *call, const char *action,
			const struct aws_buf *body, struct aws_resp **out,
			enum err_class *cls, struct lf_err *err)
{
	struct http_result res;
	struct aws_creds cr;
	int rc;

	memset(&res, 0, sizeof(res));
	*cls = ERR_RETRY;
	rc = aws_creds_get(call, &cr, err);
	if (rc != 0) {
		*cls = ERR_AUTH;
		return rc;
	}
	rc = http_post(c, call, &cr, body, &res, err);
	aws_creds_wipe(&cr);
	if (rc == 0 && res.status == 200 && parse_xml(&res.body, out) != 0)
		rc = aws_host->err_set(err, LF_ERETRY, "aws: %s: the response is not XML", action);
	else if (rc == 0 && res.status != 200)
		rc = api_error(action, &res, cls, err);
	else if (rc == LF_EAUTH)
		*cls = ERR_AUTH;
	aws_buf_free(&res.body);
	return rc;
}

int aws_request(struct lf_driver_conn *c, struct lf_call *call, const char *action,
		const struct aws_pair *params, size_t nparams, struct aws_resp **out,
		struct lf_err *err)
{
	struct aws_buf body = { 0 };
	enum err_class cls = ERR_RETRY;
	int attempt, rc = LF_ERROR, expired = 0;
	long wait;

	*out = NULL;
	if (form_body(action, params, nparams, &body) != 0) {
		aws_buf_free(&body);
		return aws_host->err_set(err, LF_ERROR, "aws: out of memory");
	}
	for (attempt = 0; attempt < c->retry_max; attempt++) {
		if (aws_host->call_cancelled(call)) {
			rc = aws_host->err_set(err, LF_ECANCELED, "aws: cancelled");
			break;
		}
		aws_err_clear(err); /* a retried failure leaves no message */
		rc = attempt_once(c, call, action, &body, out, &cls, err);
		if (rc == 0 || (cls != ERR_RETRY && cls != ERR_EXPIRED))
			break;
		if (cls == ERR_EXPIRED && expired++)  /* re-read once, then report */
			break;
		wait = cls == ERR_EXPIRED ? 0 : backoff_ms(c, attempt, err);
		if (attempt + 1 >= c->retry_max || !fits(call, wait))
			break;
		aws_host->call_log(call, 0, "aws: %s: %s; retry %d in %ld ms", action, err->msg,
				   attempt + 1, wait);
		if (aws_sleep(call, wait, err) != 0) {
			rc = LF_ECANCELED;
			break;
		}
	}
	if (rc == LF_EAUTH && cls == ERR_EXPIRED) {
		char msg[LF_ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		aws_err_clear(err);
		aws_host->err_set(err, LF_EAUTH, "%s (the session credentials were re-read once)", msg);
	}
	aws_buf_free(&body);
	return rc;
}
