/*
 * The host side of the driver ABI: the struct lf_host_api table handed to
 * drivers, read-only key/value views over JSON objects (lf_kv), builders
 * for returned attributes (lf_kv_builder), logging and cancellation.
 *
 * Values in a view are shown as strings: numbers and booleans are
 * formatted once and cached in the view (so the pointer handed out lives
 * as long as the view); objects and arrays are shown as compact JSON.
 * Cached strings are wiped when the view is freed (a view may wrap
 * credentials).
 */
#include "core/plugin/plugin.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin/call.h"
#include "core/util/ctx.h"
#include "core/util/util.h"

#define LF_HOST_PROGRESS_MS 500

/* one formatted value, kept until the view is freed */
struct lf_kv_str {
	struct lf_kv_str *next;
	char *key;
	char *val;
};

/* a nested view handed out by kv_get_kv, kept until the parent goes */
struct lf_kv_child {
	struct lf_kv_child *next;
	struct lf_kv *kv;
};

struct lf_kv {
	const json_t *obj;          /* borrowed */
	pthread_mutex_t mu;         /* guards strs and kids */
	struct lf_kv_str *strs;
	struct lf_kv_child *kids;
};

struct lf_kv_builder {
	json_t *obj;
};

/* ---- views ------------------------------------------------------------ */

struct lf_kv *lf_kv_wrap(const json_t *obj)
{
	struct lf_kv *kv = lf_xcalloc(1, sizeof(*kv));

	kv->obj = obj;
	pthread_mutex_init(&kv->mu, NULL);
	return kv;
}

void lf_kv_unwrap(struct lf_kv *kv)
{
	struct lf_kv_str *s, *next;
	struct lf_kv_child *c, *cnext;

	if (!kv)
		return;
	for (c = kv->kids; c; c = cnext) {
		cnext = c->next;
		lf_kv_unwrap(c->kv);
		free(c);
	}
	for (s = kv->strs; s; s = next) {
		next = s->next;
		lf_free_secret(s->val, strlen(s->val));
		free(s->key);
		free(s);
	}
	pthread_mutex_destroy(&kv->mu);
	free(kv);
}

/* Format a non-string scalar or container; NULL for null. Caller frees. */
static char *kv_format(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return lf_xasprintf("%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		return lf_xasprintf("%.17g", json_real_value(v));
	case JSON_TRUE:
		return lf_xstrdup("true");
	case JSON_FALSE:
		return lf_xstrdup("false");
	case JSON_OBJECT:
	case JSON_ARRAY:
		return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	default:
		return NULL;
	}
}

/* The cached string for key (formatting it on first use). */
static const char *kv_cached(struct lf_kv *kv, const char *key,
			     const json_t *v)
{
	struct lf_kv_str *s;
	const char *out = NULL;
	char *val;

	pthread_mutex_lock(&kv->mu);
	for (s = kv->strs; s; s = s->next) {
		if (strcmp(s->key, key) == 0) {
			out = s->val;
			goto cleanup;
		}
	}
	val = kv_format(v);
	if (!val)
		goto cleanup;
	s = lf_xcalloc(1, sizeof(*s));
	s->key = lf_xstrdup(key);
	s->val = val;
	s->next = kv->strs;
	kv->strs = s;
	out = val;
cleanup:
	pthread_mutex_unlock(&kv->mu);
	return out;
}

static const char *kv_value_str(const struct lf_kv *ckv, const char *key,
				const json_t *v)
{
	/* the cache is an implementation detail of a logically const view */
	struct lf_kv *kv = (struct lf_kv *)ckv;

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	return kv_cached(kv, key, v);
}

/* the member key of an object, or element "N" of an array */
static const json_t *kv_member(const struct lf_kv *kv, const char *key)
{
	char *end = NULL;
	unsigned long i;

	if (!kv || !kv->obj || !key)
		return NULL;
	if (json_is_object(kv->obj))
		return json_object_get(kv->obj, key);
	if (!json_is_array(kv->obj) || !isdigit((unsigned char)key[0]))
		return NULL;
	i = strtoul(key, &end, 10);
	if (*end != '\0')
		return NULL;
	return json_array_get(kv->obj, i);
}

static const char *host_kv_get_str(const struct lf_kv *kv, const char *key)
{
	return kv_value_str(kv, key, kv_member(kv, key));
}

static const struct lf_kv *host_kv_get_kv(const struct lf_kv *ckv, const char *key)
{
	struct lf_kv *kv = (struct lf_kv *)ckv; /* children cached in a const view */
	const json_t *v = kv_member(ckv, key);
	struct lf_kv_child *c;
	struct lf_kv *out = NULL;

	if (!json_is_object(v) && !json_is_array(v))
		return NULL;
	pthread_mutex_lock(&kv->mu);
	for (c = kv->kids; c; c = c->next)
		if (c->kv->obj == v) {
			out = c->kv;
			goto cleanup;
		}
	c = lf_xcalloc(1, sizeof(*c));
	c->kv = lf_kv_wrap(v);
	c->next = kv->kids;
	kv->kids = c;
	out = c->kv;
cleanup:
	pthread_mutex_unlock(&kv->mu);
	return out;
}

static long long host_kv_get_int(const struct lf_kv *kv, const char *key,
				 long long dflt)
{
	const json_t *v;
	const char *s;
	char *end = NULL;
	long long n;

	v = kv_member(kv, key);
	if (!v)
		return dflt;
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_true(v))
		return 1;
	if (json_is_false(v))
		return 0;
	if (!json_is_string(v))
		return dflt;
	s = json_string_value(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return dflt;
	return n;
}

static int host_kv_each(const struct lf_kv *kv,
			int (*cb)(const char *key, const char *val, void *payload),
			void *payload)
{
	const char *key;
	json_t *v;
	size_t i;
	char idx[24];
	int rc;

	if (!kv || !kv->obj || !cb)
		return 0;
	if (json_is_array(kv->obj)) {
		json_array_foreach((json_t *)kv->obj, i, v) {
			snprintf(idx, sizeof(idx), "%zu", i);
			rc = cb(idx, kv_value_str(kv, idx, v), payload);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	if (!json_is_object(kv->obj))
		return 0;
	json_object_foreach((json_t *)kv->obj, key, v) {
		rc = cb(key, kv_value_str(kv, key, v), payload);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- builders --------------------------------------------------------- */

struct lf_kv_builder *lf_kv_builder_new(void)
{
	struct lf_kv_builder *b = lf_xcalloc(1, sizeof(*b));

	b->obj = json_object();
	if (!b->obj) {
		fprintf(stderr, "ledgerform: out of memory\n");
		abort();
	}
	return b;
}

json_t *lf_kv_builder_finish(struct lf_kv_builder *b)
{
	json_t *obj;

	if (!b)
		return NULL;
	obj = b->obj;
	free(b);
	return obj;
}

static int host_kv_set(struct lf_kv_builder *b, const char *key,
		       const char *val)
{
	json_t *v;

	if (!b || !key || key[0] == '\0')
		return LF_EINVALID;
	v = val ? json_string(val) : json_null();
	if (!v)
		return LF_EINVALID; /* not UTF-8 */
	if (json_object_set_new(b->obj, key, v) != 0)
		return LF_ERROR;
	return 0;
}

static int host_kv_set_int(struct lf_kv_builder *b, const char *key, long long val)
{
	if (!b || !key || key[0] == '\0')
		return LF_EINVALID;
	return json_object_set_new(b->obj, key, json_integer(val)) == 0 ? 0 : LF_ERROR;
}

static int host_blob_append(struct lf_blob *blob, const void *data, size_t len)
{
	return lf_blob_add(blob, data, len);
}

/* ---- errors ------------------------------------------------------------- */

static int err_vfill(struct lf_err *err, int code, unsigned int retry_after_ms,
		     const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->retry_after_ms = code == LF_ERETRY ? retry_after_ms : 0;
	if (err->code != 0 && err->msg[0] != '\0') {
		err->code = code; /* the returned code always lands in err */
		return code;      /* propagate the message, never overwrite */
	}
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return code;
}

static int host_err_set(struct lf_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vfill(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

static int host_err_set_retry(struct lf_err *err, int code,
			      unsigned int retry_after_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vfill(err, code, retry_after_ms, fmt, ap);
	va_end(ap);
	return code;
}

/* ---- the call context ----------------------------------------------------- */

static const char *log_level_name(int level)
{
	static const char *const names[] = { "debug", "info", "warning", "error" };

	if (level < 0)
		level = 0;
	if (level > 3)
		level = 3;
	return names[level];
}

static const char *host_call_resource(const struct lf_call *call)
{
	return call && call->resource ? call->resource : "";
}

static uint64_t host_call_deadline(const struct lf_call *call)
{
	return call ? call->deadline_ms : 0;
}

static int host_call_cancelled(const struct lf_call *call)
{
	if (atomic_load(&lf_ctx_current()->cancel))
		return 1;
	if (call && call->cancel && atomic_load(call->cancel))
		return 1;
	return call && call->deadline_ms && lf_now_ms() >= call->deadline_ms;
}

static void host_call_progress(struct lf_call *call, const char *fmt, ...)
{
	char line[256];
	uint64_t now = lf_now_ms();
	va_list ap;

	if (!call || !call->progress)
		return;
	if (call->progress_last_ms && now - call->progress_last_ms < LF_HOST_PROGRESS_MS)
		return;
	call->progress_last_ms = now;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	call->progress(call->progress_payload, call->resource, line);
}

static void host_call_log(struct lf_call *call, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level < 2 && !lf_ctx_current()->log_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one write per line, so parallel drivers do not interleave */
	fprintf(stderr, "ledgerform: driver '%s'%s%s: %s: %s\n",
		call && call->driver ? call->driver : "?",
		call && call->resource && call->resource[0] ? ": " : "",
		call && call->resource ? call->resource : "", log_level_name(level), msg);
}

static void host_call_diag(struct lf_call *call, const char *keypath,
			   const char *fmt, ...)
{
	char msg[LF_ERR_MSG_MAX];
	json_t *d;
	va_list ap;

	if (!call)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!call->diags)
		call->diags = json_array();
	d = json_object();
	json_object_set_new(d, "path", json_string(keypath ? keypath : ""));
	json_object_set_new(d, "message", json_string(msg));
	json_array_append_new(call->diags, d);
}

static int host_call_secret(struct lf_call *call, const char *key, char *buf,
			    size_t cap, size_t *len)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;

	rc = lf_creds_get(call ? call->credentials : NULL, key, buf, cap, len, &err);
	if (rc != 0 && rc != LF_ENOTFOUND && err.msg[0])
		fprintf(stderr, "ledgerform: provider '%s': %s\n",
			call && call->provider ? call->provider : "?", err.msg);
	return rc;
}

void lf_host_set_cancelled(int v)
{
	atomic_store(&lf_ctx_current()->cancel, v ? 1 : 0);
}

static const struct lf_host_api lf_host_api_v2 = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_host_api),
	.kv_get_str = host_kv_get_str,
	.kv_get_int = host_kv_get_int,
	.kv_get_kv = host_kv_get_kv,
	.kv_each = host_kv_each,
	.kv_set = host_kv_set,
	.kv_set_int = host_kv_set_int,
	.blob_append = host_blob_append,
	.err_set = host_err_set,
	.err_set_retry = host_err_set_retry,
	.call_resource = host_call_resource,
	.call_deadline = host_call_deadline,
	.call_cancelled = host_call_cancelled,
	.call_progress = host_call_progress,
	.call_log = host_call_log,
	.call_diag = host_call_diag,
	.call_secret = host_call_secret,
	.now_ms = lf_now_ms,
};

const struct lf_host_api *lf_host_api(void)
{
	return &lf_host_api_v2;
}
