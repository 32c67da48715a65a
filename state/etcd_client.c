/*
 * etcd v3 JSON gateway client: see etcd_client.h.
 */
#include "state/etcd_client.h"

#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/util/util.h"

/* an answer larger than this is refused (a 10k-resource page is ~2 MiB) */
#define ETCD_MAX_BODY (256u << 20)
/* how long unavailable answers (no leader, no endpoint) are retried */
#define ETCD_RETRY_MS 15000

static char *path_from(const char *base_dir, const char *p)
{
	if (!p)
		return NULL;
	if (p[0] != '/' && base_dir && base_dir[0])
		return lf_path_join(base_dir, p);
	return lf_xstrdup(p);
}

/* {env: VAR} or {file: PATH} (a JSON file with "password") */
static int read_password(struct lf_etcd_client *c, const json_t *cred,
			 const char *base_dir, struct lf_err *err)
{
	const char *var = json_string_value(json_object_get(cred, "env"));
	const char *file = json_string_value(json_object_get(cred, "file"));
	json_t *doc;
	json_error_t jerr;
	char *full;

	if (var) {
		const char *v = getenv(var);

		if (!v || !v[0])
			return lf_err_set(err, LF_EAUTH,
					  "state backend 'etcd': the password variable '%s' is not set",
					  var);
		c->password = lf_xstrdup(v);
		return 0;
	}
	if (!file)
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'etcd': credentials must be {env: VAR} or {file: PATH}");
	full = path_from(base_dir, file);
	doc = json_load_file(full, 0, &jerr);
	if (json_is_string(json_object_get(doc, "password")))
		c->password = lf_xstrdup(json_string_value(json_object_get(doc, "password")));
	json_decref(doc);
	if (!c->password)
		lf_err_set(err, LF_EAUTH,
			   "state backend 'etcd': credentials file '%s' has no \"password\"", full);
	free(full);
	return c->password ? 0 : LF_EAUTH;
}

static int read_endpoints(struct lf_etcd_client *c, const json_t *eps,
			  struct lf_err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(eps) || json_array_size(eps) == 0)
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'etcd': 'endpoints' must list at least one URL");
	c->endpoints = lf_xcalloc(json_array_size(eps), sizeof(char *));
	json_array_foreach(eps, i, v) {
		const char *s = json_string_value(v);
		size_t n;

		if (!s || (!lf_str_has_prefix(s, "http://") && !lf_str_has_prefix(s, "https://")))
			return lf_err_set(err, LF_EINVALID,
					  "state backend 'etcd': endpoint %zu is not an http(s):// URL",
					  i + 1);
		n = strlen(s);
		while (n > 0 && s[n - 1] == '/')
			n--;
		c->endpoints[c->nendpoints++] = lf_xstrndup(s, n);
	}
	return 0;
}

int lf_etcd_client_init(struct lf_etcd_client *c, const json_t *settings,
			const char *base_dir, struct lf_err *err)
{
	const json_t *cred = json_object_get(settings, "credentials");
	const char *user = json_string_value(json_object_get(settings, "username"));
	int rc;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	rc = read_endpoints(c, json_object_get(settings, "endpoints"), err);
	if (rc != 0)
		return rc;
	c->ca_cert = path_from(base_dir, json_string_value(json_object_get(settings, "ca_cert")));
	c->cert = path_from(base_dir, json_string_value(json_object_get(settings, "cert")));
	c->key = path_from(base_dir, json_string_value(json_object_get(settings, "key")));
	if (cred && !user)
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'etcd': 'credentials' needs 'username'");
	c->user = lf_xstrdup(user);
	if (cred)
		return read_password(c, cred, base_dir, err);
	return 0;
}

void lf_etcd_client_free(struct lf_etcd_client *c)
{
	size_t i;

	for (i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->ca_cert);
	free(c->cert);
	free(c->key);
	free(c->user);
	if (c->password)
		lf_free_secret(c->password, strlen(c->password));
	if (c->token)
		lf_free_secret(c->token, strlen(c->token));
	pthread_mutex_destroy(&c->mu);
	memset(c, 0, sizeof(*c));
}

/* ---- base64 ---- */

json_t *lf_etcd_b64(const void *data, size_t n)
{
	char *out = lf_xmalloc(4 * ((n + 2) / 3) + 1);
	json_t *s;

	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	s = json_string(out);
	free(out);
	return s;
}

json_t *lf_etcd_b64_str(const char *s)
{
	return lf_etcd_b64(s, strlen(s));
}

char *lf_etcd_unb64(const char *s, size_t *n)
{
	size_t len = s ? strlen(s) : 0, pad = 0;
	unsigned char *out;
	int got;

	if (len % 4 != 0)
		return NULL;
	out = lf_xmalloc(len / 4 * 3 + 1);
	got = len ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)len) : 0;
	if (got < 0) {
		free(out);
		return NULL;
	}
	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	*n = (size_t)got - pad;
	out[*n] = '\0';
	return (char *)out;
}

/* ---- one HTTP exchange ---- */

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	return lf_buf_append(ud, p, sz * nm) == 0 ? sz * nm : 0;
}

struct reply {
	CURLcode cc;
	long status;
	struct lf_buf body;
};

static void post_once(struct lf_etcd_client *c, const char *url, const char *req,
		      const char *token, struct reply *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	char *auth = token ? lf_xasprintf("Authorization: %s", token) : NULL;

	if (auth)
		hdr = curl_slist_append(hdr, auth);
	r->body.max = ETCD_MAX_BODY;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	if (c->ca_cert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_cert);
	if (c->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	r->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (auth)
		lf_free_secret(auth, strlen(auth));
}

/* a transport failure worth trying the next endpoint for */
static int is_conn_error(CURLcode cc)
{
	return cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
	       cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR ||
	       cc == CURLE_SEND_ERROR || cc == CURLE_COULDNT_RESOLVE_HOST;
}

/* post to the current endpoint, then the next ones on connection errors */
static int post_failover(struct lf_etcd_client *c, const char *path, const char *req,
			 struct reply *r, struct lf_err *err)
{
	size_t i, start, at = 0;
	char *url, *token;

	pthread_mutex_lock(&c->mu);
	start = c->current;
	token = lf_xstrdup(c->token);
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < c->nendpoints; i++) {
		at = (start + i) % c->nendpoints;
		url = lf_xasprintf("%s%s", c->endpoints[at], path);
		lf_buf_free(&r->body);
		post_once(c, url, req, token, r);
		free(url);
		if (!is_conn_error(r->cc))
			break;
	}
	if (token)
		lf_free_secret(token, strlen(token));
	/* refused or silent everywhere: worth waiting for; a connection cut
	 * on every endpoint (a TLS refusal) is not */
	if (i == c->nendpoints)
		return lf_err_set(err, r->cc == CURLE_COULDNT_CONNECT ||
				  r->cc == CURLE_OPERATION_TIMEDOUT ? LF_ERETRY : LF_ERROR,
				  "etcd: no endpoint answered (last: %s: %s)",
				  c->endpoints[(start + c->nendpoints - 1) % c->nendpoints],
				  curl_easy_strerror(r->cc));
	pthread_mutex_lock(&c->mu);
	c->current = at;
	pthread_mutex_unlock(&c->mu);
	if (r->cc != CURLE_OK)
		return lf_err_set(err, LF_ERROR, "etcd %s: %s", c->endpoints[at],
				  curl_easy_strerror(r->cc));
	return 0;
}

/* parse the body; an etcd error becomes err (auth errors: LF_EAUTH) */
static int parse_reply(struct lf_etcd_client *c, const char *path, struct reply *r,
		       json_t **out, struct lf_err *err)
{
	json_error_t jerr;
	json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len,
			       JSON_DISABLE_EOF_CHECK, &jerr);
	const char *msg = json_string_value(json_object_get(j, "error"));
	json_int_t code = json_integer_value(json_object_get(j, "code"));

	if (!msg)
		msg = json_string_value(json_object_get(j, "message"));
	if (r->status == 200 && j && !msg) {
		*out = j;
		return 0;
	}
	lf_err_set(err, (code == 16 || r->status == 401) ? LF_EAUTH : LF_ERROR,
		   "etcd %s%s: %s (HTTP %ld)", c->endpoints[c->current], path,
		   msg ? msg : "unreadable answer", r->status);
	json_decref(j);
	return err->code;
}

static int authenticate(struct lf_etcd_client *c, struct lf_err *err)
{
	json_t *req = json_pack("{s:s, s:s}", "name", c->user, "password", c->password);
	char *txt = json_dumps(req, JSON_COMPACT);
	struct reply r = { 0, 0, LF_BUF_INIT };
	json_t *ans = NULL;
	int rc;

	rc = post_failover(c, "/v3/auth/authenticate", txt, &r, err);
	if (rc == 0)
		rc = parse_reply(c, "/v3/auth/authenticate", &r, &ans, err);
	if (rc == 0 && !json_is_string(json_object_get(ans, "token")))
		rc = lf_err_set(err, LF_EAUTH, "etcd refused user '%s'", c->user);
	if (rc == 0) {
		pthread_mutex_lock(&c->mu);
		if (c->token)
			lf_free_secret(c->token, strlen(c->token));
		c->token = lf_xstrdup(json_string_value(json_object_get(ans, "token")));
		pthread_mutex_unlock(&c->mu);
	} else if (err->code != LF_ERETRY) {
		lf_err_clear(err);
		rc = lf_err_set(err, LF_EAUTH, "etcd: authentication of user '%s' failed",
				c->user);
	}
	lf_free_secret(txt, strlen(txt));
	json_decref(req);
	json_decref(ans);
	lf_buf_free(&r.body);
	return rc;
}

static int need_token(struct lf_etcd_client *c)
{
	int need;

	pthread_mutex_lock(&c->mu);
	need = c->user && !c->token;
	pthread_mutex_unlock(&c->mu);
	return need;
}

/* one call, with a new token when etcd says the old one expired */
static int call_authed(struct lf_etcd_client *c, const char *path, const char *txt,
		       json_t **out, struct lf_err *err)
{
	struct reply r = { 0, 0, LF_BUF_INIT };
	int rc = 0, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		lf_err_clear(err);
		if (need_token(c))
			rc = authenticate(c, err);
		if (rc == 0)
			rc = post_failover(c, path, txt, &r, err);
		if (rc == 0)
			rc = parse_reply(c, path, &r, out, err);
		if (rc == LF_ERROR && r.status == 503)
			rc = LF_ERETRY; /* leader changed, no leader: try again */
		if (rc != LF_EAUTH || !c->user || attempt == 1)
			break;
		pthread_mutex_lock(&c->mu);
		free(c->token);
		c->token = NULL;
		pthread_mutex_unlock(&c->mu);
		rc = 0;
	}
	lf_buf_free(&r.body);
	return rc;
}

/* move on to the next endpoint after an unavailable answer */
static void next_endpoint(struct lf_etcd_client *c)
{
	pthread_mutex_lock(&c->mu);
	c->current = (c->current + 1) % c->nendpoints;
	pthread_mutex_unlock(&c->mu);
}

int lf_etcd_call(struct lf_etcd_client *c, const char *path, json_t *req,
		 json_t **out, struct lf_err *err)
{
	char *txt = json_dumps(req, JSON_COMPACT);
	uint64_t deadline = lf_now_ms() + ETCD_RETRY_MS;
	unsigned int delay = 100;
	int rc;

	*out = NULL;
	for (;;) {
		rc = call_authed(c, path, txt, out, err);
		if (rc != LF_ERETRY || lf_now_ms() + delay > deadline)
			break;
		next_endpoint(c);
		lf_sleep_ms(delay);
		delay = delay < 1000 ? delay * 2 : delay;
	}
	free(txt);
	return rc;
}
