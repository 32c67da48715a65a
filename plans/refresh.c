/*
 * Refresh: ask the drivers whether what the state records still exists,
 * before planning. Resources found gone are dropped from the current set
 * (and from the state document, written by the next apply), so the plan
 * creates them again and what depends on them follows. Reads run on a
 * pool of at most min(parallelism, readable resources) threads, started
 * once; errors other than "not found" stop the refresh.
 */
#include "plans/plan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

struct refresher {
	const struct lf_apply_env *env;
	enum lf_refresh_mode mode;
	const struct lf_rset *current;
	size_t next;
	unsigned char *gone;
	char **why_gone;           /* the read's reason, when gone */
	json_t **live;             /* what each read reported */
	struct lf_err err;
	int rc;
	pthread_mutex_t mu;
};

/* will the refresh read res? (the mode's filter, one place) */
static const struct lf_rtype *reader(const struct lf_apply_env *env,
				     enum lf_refresh_mode mode,
				     const struct lf_resource *res)
{
	const struct lf_rtype *rt = lf_rtype_find(res->type);

	if (!rt || !rt->read)
		return NULL;
	if (mode == LF_REFRESH_CHEAP && !(rt->read_cheap && rt->read_cheap(env, res)))
		return NULL;
	return rt;
}

/* why a read found res gone, without the address the plan line already
 * names; NULL when the read said nothing */
static char *gone_reason(const char *addr, const char *msg)
{
	size_t la = strlen(addr);

	if (!msg || !msg[0])
		return NULL;
	if (strncmp(msg, addr, la) == 0 && strncmp(msg + la, ": ", 2) == 0)
		msg += la + 2;
	return lf_xstrdup(msg);
}

static void *refresh_worker(void *arg)
{
	struct refresher *r = arg;

	for (;;) {
		const struct lf_resource *res;
		const struct lf_rtype *rt;
		struct lf_err err = LF_ERR_INIT;
		size_t i;
		int rc;

		pthread_mutex_lock(&r->mu);
		i = r->rc == 0 ? r->next++ : r->current->n;
		pthread_mutex_unlock(&r->mu);
		if (i >= r->current->n)
			return NULL;
		res = &r->current->v[i];
		rt = reader(r->env, r->mode, res);
		if (!rt)
			continue;
		rc = rt->read(r->env, res, &r->live[i], &err);
		if (rc == LF_ENOTFOUND) {
			r->gone[i] = 1;
			r->why_gone[i] = gone_reason(res->addr, err.msg);
		} else if (rc != 0) {
			pthread_mutex_lock(&r->mu);
			if (r->rc == 0) {
				r->rc = rc;
				lf_err_set(&r->err, rc, "refresh of %s: %s", res->addr, err.msg);
			}
			pthread_mutex_unlock(&r->mu);
		}
	}
}

/* a machine address (LF_ADDRESS_OUTPUTS) the driver reports other than
 * the recorded output: the live one goes into the outputs (copied), for
 * what takes it (a node's TLS SANs), and is drift, so the host's update
 * records it */
static void live_addresses(struct lf_resource *k, const json_t *live, struct lf_buf *why)
{
	static const char *const keys[] = LF_ADDRESS_OUTPUTS;
	json_t *outputs = NULL;

	for (size_t i = 0; i < LF_ARRAY_LEN(keys); i++) {
		const json_t *lv = json_object_get(live, keys[i]);
		const json_t *ov = json_object_get(k->outputs, keys[i]);

		if (!json_string_length(lv) || !json_is_string(ov) || json_equal(ov, lv))
			continue;
		if (!outputs)
			outputs = json_copy(k->outputs);
		json_object_set(outputs, keys[i], (json_t *)lv);
		lf_buf_printf(why, "%s%s is %s live, %s recorded", why->len ? "; " : "", keys[i],
			      json_string_value(lv), json_string_value(ov));
	}
	if (outputs) {
		json_decref(k->outputs);
		k->outputs = outputs;
	}
}

/* the record as it lives: attributes the driver reports differently take
 * the live value (copied: the state document shares the record's), and
 * the differences are noted as drift for the plan, as is a non-empty live
 * "drift" text (what the driver found wrong that no attribute shows) */
static void apply_live(struct lf_resource *k, const json_t *live)
{
	struct lf_buf why = LF_BUF_INIT;
	const char *key;
	json_t *lv, *attrs = NULL;

	if (strcmp(k->type, "host") == 0)
		live_addresses(k, live, &why);

	json_object_foreach((json_t *)live, key, lv) {
		const json_t *ov = json_object_get(k->attrs, key);
		char *o, *n;

		if (strcmp(key, LF_DRIFT_NOTE) == 0 && json_is_string(lv)) {
			lf_buf_printf(&why, "%s%s", why.len ? "; " : "", json_string_value(lv));
			continue;
		}
		if (strcmp(key, "running") == 0 && json_is_false(lv)) {
			lf_buf_printf(&why, "%sthe node's process is not running", why.len ? "; " : "");
			continue;
		}
		/* drift no attribute shows (e.g. a provider's firewall rules) */
		if (strcmp(key, "drift") == 0 && json_string_length(lv) > 0) {
			lf_buf_printf(&why, "%s%s", why.len ? "; " : "", json_string_value(lv));
			continue;
		}
		if (!ov || json_equal(ov, lv))
			continue;
		if (!attrs)
			attrs = json_deep_copy(k->attrs);
		json_object_set(attrs, key, lv);
		o = json_dumps(ov, JSON_ENCODE_ANY | JSON_COMPACT);
		n = json_dumps(lv, JSON_ENCODE_ANY | JSON_COMPACT);
		lf_buf_printf(&why, "%s%s is %s live, %s recorded", why.len ? "; " : "", key, n, o);
		free(o);
		free(n);
	}
	if (attrs) {
		json_decref(k->attrs);
		k->attrs = attrs;
		lf_resource_rehash(k);
	}
	if (why.len)
		k->drift = lf_xstrndup(why.data, why.len);
	lf_buf_free(&why);
}

/* how many threads the refresh needs: one per resource that can be
 * read, at most max */
static unsigned int readable(const struct lf_apply_env *env, enum lf_refresh_mode mode,
			     const struct lf_rset *rs, unsigned int max)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < rs->n && n < max; i++)
		n += reader(env, mode, &rs->v[i]) != NULL;
	return n;
}

static void refresher_free(struct refresher *r)
{
	size_t i;

	for (i = 0; i < r->current->n; i++) {
		json_decref(r->live[i]);
		free(r->why_gone[i]);
	}
	free(r->live);
	free(r->why_gone);
	free(r->gone);
}

int lf_refresh(const struct lf_apply_env *env, struct lf_rset **current,
	       json_t *doc_resources, enum lf_refresh_mode mode,
	       unsigned int parallelism, FILE *report, struct lf_err *err)
{
	struct refresher r;
	struct lf_rset *kept;
	pthread_t *th;
	unsigned int n, t;
	size_t i;

	if (lf_plan_check_records(*current, err) != 0)
		return err->code;
	n = readable(env, mode, *current, parallelism ? parallelism : 1);
	memset(&r, 0, sizeof(r));
	r.env = env;
	r.mode = mode;
	r.current = *current;
	r.gone = lf_xcalloc((*current)->n + 1, 1);
	r.why_gone = lf_xcalloc((*current)->n + 1, sizeof(*r.why_gone));
	r.live = lf_xcalloc((*current)->n + 1, sizeof(*r.live));
	pthread_mutex_init(&r.mu, NULL);
	th = lf_xcalloc(n + 1, sizeof(*th));
	t = lf_plan__start_threads(th, n, refresh_worker, &r);
	if (n > 0 && t == 0) {
		r.rc = LF_ERROR;
		lf_err_set(&r.err, LF_ERROR, "refresh: cannot start any thread");
	}
	while (t > 0)
		pthread_join(th[--t], NULL);
	free(th);
	pthread_mutex_destroy(&r.mu);
	if (r.rc != 0) {
		refresher_free(&r);
		*err = r.err;
		return r.rc;
	}
	lf_rset_new(&kept);
	for (i = 0; i < (*current)->n; i++) {
		const struct lf_resource *res = &(*current)->v[i];
		struct lf_resource *k;
		size_t d;

		if (r.gone[i]) {
			if (report)
				fprintf(report, "%s: gone from its provider%s%s; it will be created again\n",
					res->addr, r.why_gone[i] ? ": " : "",
					r.why_gone[i] ? r.why_gone[i] : "");
			json_object_del(doc_resources, res->addr);
			continue;
		}
		k = lf_rset_add_hashed(kept, res->addr, json_incref(res->attrs), res->hash);
		k->outputs = res->outputs ? json_incref(res->outputs) : NULL;
		k->partial = res->partial;
		for (d = 0; d < res->ndeps; d++)
			lf_resource_add_dep(k, res->deps[d]);
		if (r.live[i])
			apply_live(k, r.live[i]);
		if (k->drift && report)
			fprintf(report, "%s: drift: %s\n", k->addr, k->drift);
	}
	refresher_free(&r);
	lf_rset_free(*current);
	*current = kept;
	return 0;
}
