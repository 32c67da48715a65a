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

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

/* one formatted value, kept until the view is freed */
struct lf_kv_str {
	struct lf_kv_str *next;
	char *key;
	char *val;
};

struct lf_kv {
	const json_t *obj;          /* borrowed */
	pthread_mutex_t mu;         /* guards strs */
	struct lf_kv_str *strs;
};

struct lf_kv_builder {
	json_t *obj;
};

static atomic_int lf_cancelled_flag;

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

	if (!kv)
		return;
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

static const char *host_kv_get_str(const struct lf_kv *kv, const char *key)
{
	if (!kv || !kv->obj || !key || !json_is_object(kv->obj))
		return NULL;
	return kv_value_str(kv, key, json_object_get(kv->obj, key));
}

static long long host_kv_get_int(const struct lf_kv *kv, const char *key,
				 long long dflt)
{
	const json_t *v;
	const char *s;
	char *end = NULL;
	long long n;

	if (!kv || !kv->obj || !key || !json_is_object(kv->obj))
		return dflt;
	v = json_object_get(kv->obj, key);
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
	int rc;

	if (!kv || !kv->obj || !cb || !json_is_object(kv->obj))
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

/* ---- errors, logs, cancellation ---------------------------------------- */

static int host_err_set(struct lf_err *err, int code, const char *fmt, ...)
	LF_PRINTF(3, 4);
static int host_err_set(struct lf_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	if (err->code != 0 && err->msg[0] != '\0') {
		err->code = code; /* the returned code always lands in err */
		return code;      /* propagate the message, never overwrite */
	}
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static const char *log_level_name(int level)
{
	static const char *const names[] = { "debug", "info", "warning", "error" };

	if (level < 0)
		level = 0;
	if (level > 3)
		level = 3;
	return names[level];
}

static void host_log(int level, const char *driver, const char *fmt, ...)
	LF_PRINTF(3, 4);
static void host_log(int level, const char *driver, const char *fmt, ...)
{
	const char *env = getenv("LEDGERFORM_LOG");
	char msg[1024];
	va_list ap;

	if (level < 2 && !lf_streq(env, "debug"))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* one write per line, so parallel drivers do not interleave */
	fprintf(stderr, "ledgerform: driver '%s': %s: %s\n",
		driver ? driver : "?", log_level_name(level), msg);
}

static int host_cancelled(void)
{
	return atomic_load(&lf_cancelled_flag);
}

void lf_host_set_cancelled(int v)
{
	atomic_store(&lf_cancelled_flag, v ? 1 : 0);
}

void *lf_host_out_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

static const struct lf_host_api lf_host_api_v1 = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_host_api),
	.kv_get_str = host_kv_get_str,
	.kv_get_int = host_kv_get_int,
	.kv_each = host_kv_each,
	.kv_set = host_kv_set,
	.err_set = host_err_set,
	.log = host_log,
	.cancelled = host_cancelled,
};

const struct lf_host_api *lf_host_api(void)
{
	return &lf_host_api_v1;
}
