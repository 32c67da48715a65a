/*
 * Driver connection pool: one connection per provider name, opened on
 * first use, shared by the executor's worker threads, closed at the end.
 *
 * The first caller for a provider marks the slot OPENING and opens it
 * without holding the pool lock (opening may take seconds against a
 * cloud); concurrent callers for the same provider wait on a condition
 * variable, callers for other providers proceed.
 */
#include "core/plugin/plugin.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

enum lf_pool_state {
	LF_POOL_OPENING,
	LF_POOL_OPEN,
	LF_POOL_FAILED,
	LF_POOL_STATE_LAST
};

struct lf_pool_slot {
	char *provider;
	char *driver;
	enum lf_pool_state state;
	const struct lf_driver *drv;
	struct lf_driver_conn *conn;
	json_t *credentials;        /* the spec's reference, never a value */
	struct lf_err err;          /* why it failed (state FAILED) */
};

struct lf_driver_pool {
	struct lf_registry *reg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lf_pool_slot **v;
	size_t n, cap;
};

int lf_driver_pool_new(struct lf_driver_pool **out, struct lf_registry *reg)
{
	struct lf_driver_pool *p = lf_xcalloc(1, sizeof(*p));

	p->reg = reg;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	*out = p;
	return 0;
}

void lf_driver_pool_free(struct lf_driver_pool *pool)
{
	size_t i;
	struct lf_pool_slot *s;

	if (!pool)
		return;
	for (i = 0; i < pool->n; i++) {
		s = pool->v[i];
		if (s->state == LF_POOL_OPEN && s->conn)
			s->drv->close(s->conn);
		free(s->provider);
		free(s->driver);
		json_decref(s->credentials);
		free(s);
	}
	free(pool->v);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool);
}

/* caller holds pool->mu */
static struct lf_pool_slot *slot_find(struct lf_driver_pool *pool,
				      const char *provider)
{
	size_t i;

	for (i = 0; i < pool->n; i++)
		if (strcmp(pool->v[i]->provider, provider) == 0)
			return pool->v[i];
	return NULL;
}

/* caller holds pool->mu */
static struct lf_pool_slot *slot_add(struct lf_driver_pool *pool,
				     const char *provider, const char *driver)
{
	struct lf_pool_slot *s = lf_xcalloc(1, sizeof(*s));

	s->provider = lf_xstrdup(provider);
	s->driver = lf_xstrdup(driver);
	s->state = LF_POOL_OPENING;
	if (pool->n == pool->cap) {
		pool->cap = pool->cap ? pool->cap * 2 : 8;
		pool->v = lf_xrealloc(pool->v, pool->cap * sizeof(*pool->v));
	}
	pool->v[pool->n++] = s;
	return s;
}

/* Open the connection for slot s; runs without the pool lock. */
static int slot_open(struct lf_driver_pool *pool, struct lf_pool_slot *s,
		     const json_t *config, struct lf_err *err)
{
	json_t *empty = NULL;
	struct lf_kv *cfg = NULL;
	struct lf_call call;
	int rc;

	rc = lf_registry_get(pool->reg, s->driver, &s->drv, err);
	if (rc != 0)
		return rc;
	if (!config)
		config = empty = json_object();
	cfg = lf_kv_wrap(config);
	lf_call_init(&call, s->driver, s->provider, NULL);
	call.credentials = s->credentials;
	rc = s->drv->open(&s->conn, cfg, &call, 0, err);
	if (rc == LF_OPEN_DECLINED) {
		s->conn = NULL;
		lf_err_clear(err);
		rc = lf_err_set(err, LF_EINVALID,
				"driver '%s' declined provider '%s' config",
				s->driver, s->provider);
	} else if (rc != 0) {
		s->conn = NULL;
		lf_err_set(err, rc, "driver '%s' failed to open provider '%s'",
			   s->driver, s->provider);
	}
	lf_kv_unwrap(cfg);
	json_decref(empty);
	return rc;
}

/* caller holds pool->mu; waits while another thread opens s */
static int slot_wait(struct lf_driver_pool *pool, struct lf_pool_slot *s,
		     const char *driver, struct lf_err *err)
{
	while (s->state == LF_POOL_OPENING)
		pthread_cond_wait(&pool->cv, &pool->mu);
	if (strcmp(s->driver, driver) != 0)
		return lf_err_set(err, LF_ECONFLICT,
				  "provider '%s' uses driver '%s', not '%s'",
				  s->provider, s->driver, driver);
	if (s->state == LF_POOL_FAILED)
		return lf_err_set(err, s->err.code, "%s", s->err.msg);
	return 0;
}

int lf_driver_pool_get(struct lf_driver_pool *pool, const char *provider_name,
		       const char *driver_name, const json_t *config,
		       const json_t *credentials, const struct lf_driver **drv,
		       struct lf_driver_conn **conn, struct lf_err *err)
{
	struct lf_pool_slot *s;
	struct lf_err oerr = LF_ERR_INIT;
	int rc;

	*drv = NULL;
	*conn = NULL;
	if (!pool || !provider_name || !driver_name)
		return lf_err_set(err, LF_EINVALID, "driver pool: missing provider or driver name");
	pthread_mutex_lock(&pool->mu);
	s = slot_find(pool, provider_name);
	if (!s) {
		s = slot_add(pool, provider_name, driver_name);
		s->credentials = credentials ? json_deep_copy(credentials) : NULL;
	} else if (s->state == LF_POOL_FAILED && s->err.code == LF_ERETRY &&
		   strcmp(s->driver, driver_name) == 0) {
		s->state = LF_POOL_OPENING; /* transient failure: try again */
	} else {
		rc = slot_wait(pool, s, driver_name, err);
		goto cleanup;
	}
	pthread_mutex_unlock(&pool->mu);
	rc = slot_open(pool, s, config, &oerr);
	pthread_mutex_lock(&pool->mu);
	s->state = rc == 0 ? LF_POOL_OPEN : LF_POOL_FAILED;
	oerr.code = rc; /* the return code is authoritative */
	s->err = oerr;
	pthread_cond_broadcast(&pool->cv);
	if (rc != 0)
		lf_err_set(err, rc, "%s", oerr.msg);
cleanup:
	if (rc == 0) {
		*drv = s->drv;
		*conn = s->conn;
	}
	pthread_mutex_unlock(&pool->mu);
	return rc;
}

void lf_driver_pool_call(struct lf_driver_pool *pool, const char *provider_name,
			 const char *resource, struct lf_call *out)
{
	struct lf_pool_slot *s;

	pthread_mutex_lock(&pool->mu);
	s = slot_find(pool, provider_name);
	lf_call_init(out, s ? s->driver : NULL, provider_name, resource);
	/* slots live until the pool is freed; the reference is never changed */
	out->credentials = s ? s->credentials : NULL;
	pthread_mutex_unlock(&pool->mu);
}
