/*
 * State backend dispatch: pick a backend by name and check its settings.
 * The backends themselves live in file.c (and, later, etcd.c).
 */
#include "state/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

/* the file backend knows one setting: "path"; anything else is a typo */
static int file_settings_path(const json_t *settings, const char **out,
			      struct lf_err *err)
{
	const char *k;
	json_t *v;

	*out = NULL;
	if (!settings)
		return 0;
	if (!json_is_object(settings))
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'file': settings must be a mapping");
	json_object_foreach((json_t *)settings, k, v) {
		if (strcmp(k, "path") != 0)
			return lf_err_set(err, LF_EINVALID,
					  "state backend 'file' has no setting '%s' (known: path)", k);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return lf_err_set(err, LF_EINVALID,
					  "state backend 'file': setting 'path' must be a non-empty string");
		*out = json_string_value(v);
	}
	return 0;
}

static int open_file_backend(struct lf_state **out, const json_t *settings,
			     const char *base_dir, const char *default_path,
			     struct lf_err *err)
{
	const char *path = NULL;
	char *full = NULL;
	int rc;

	rc = file_settings_path(settings, &path, err);
	if (rc != 0)
		return rc;
	if (path && base_dir && base_dir[0] && path[0] != '/')
		full = lf_path_join(base_dir, path);
	else if (path)
		full = lf_xstrdup(path);
	else if (default_path && default_path[0])
		full = lf_xstrdup(default_path);
	if (!full)
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'file': no path given and no default");
	rc = lf_state_file_new(out, full, err);
	free(full);
	return rc;
}

int lf_state_open(struct lf_state **out, const char *backend,
		  const json_t *settings, const char *base_dir,
		  const char *default_path, struct lf_err *err)
{
	*out = NULL;
	if (!backend || strcmp(backend, "file") == 0)
		return open_file_backend(out, settings, base_dir, default_path, err);
	if (strcmp(backend, "etcd") == 0)
		return lf_state_etcd_new(out, settings, base_dir, err);
	return lf_err_set(err, LF_EINVALID,
			  "unknown state backend '%s'; expected 'file' or 'etcd'", backend);
}

const char *lf_state_describe(struct lf_state *st)
{
	return st->ops->describe(st);
}

/* ---- batches ---- */

static struct lf_state_change *batch_add(struct lf_state_batch *b,
					 enum lf_state_change_kind kind,
					 const char *addr)
{
	struct lf_state_change *c;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->v = lf_xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	c = &b->v[b->n++];
	c->kind = kind;
	c->addr = lf_xstrdup(addr);
	c->record = NULL;
	return c;
}

void lf_state_batch_put(struct lf_state_batch *b, const char *addr, json_t *record)
{
	batch_add(b, LF_STATE_PUT, addr)->record = json_incref(record);
}

void lf_state_batch_delete(struct lf_state_batch *b, const char *addr)
{
	batch_add(b, LF_STATE_DELETE, addr);
}

void lf_state_batch_clear(struct lf_state_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->v[i].addr);
		json_decref(b->v[i].record);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* ---- v2 calls ---- */

int lf_state_commit(struct lf_state *st, const struct lf_state_batch *batch,
		    struct lf_state_version *ver, struct lf_err *err)
{
	return st->ops->commit(st, batch, ver, err);
}

int lf_state_lock_as(struct lf_state *st, const struct lf_state_holder *holder,
		     double lease_ttl_s, double wait_s, struct lf_err *err)
{
	if (isnan(lease_ttl_s) || lease_ttl_s < 0)
		return lf_err_set(err, LF_EINVALID, "lock lease for state '%s' must be >= 0",
				  lf_state_describe(st));
	if (lease_ttl_s == 0)
		lease_ttl_s = LF_STATE_LEASE_TTL_DEFAULT;
	return st->ops->lock(st, holder, lease_ttl_s, wait_s, err);
}

int lf_state_lock_lost(struct lf_state *st, struct lf_err *err)
{
	/* a backend that cannot lose its lock (no lease) never reports it */
	return st->ops->lock_lost ? st->ops->lock_lost(st, err) : 0;
}

int lf_state_holder(struct lf_state *st, struct lf_state_holder *out,
		    struct lf_err *err)
{
	if (!st->ops->holder)
		return lf_err_set(err, LF_EUNSUPPORTED,
				  "state backend '%s' cannot tell who holds its lock",
				  st->ops->name);
	return st->ops->holder(st, out, err);
}

int lf_state_check_writable(struct lf_state *st, struct lf_err *err)
{
	if (!st->ops->check_writable)
		return 0;
	return st->ops->check_writable(st, err);
}

void lf_state_free(struct lf_state *st)
{
	if (st && st->ops && st->ops->free)
		st->ops->free(st);
}

void lf_state_doc_clear(struct lf_state_doc *doc)
{
	if (!doc)
		return;
	json_decref(doc->resources);
	lf_state_raw_free(doc->raw);
	memset(doc, 0, sizeof(*doc));
}

/* ---- v1 calls ---- */

int lf_state_lock(struct lf_state *st, double timeout_s, const char *who,
		  struct lf_err *err)
{
	struct lf_state_holder h;

	lf_state_holder_self(&h, who);
	return lf_state_lock_as(st, &h, 0, timeout_s, err);
}

int lf_state_unlock(struct lf_state *st, struct lf_err *err)
{
	return st->ops->unlock(st, err);
}

int lf_state_read(struct lf_state *st, struct lf_state_doc *out,
		  struct lf_err *err)
{
	return st->ops->read_all(st, out, err);
}

int lf_state_write(struct lf_state *st, struct lf_state_doc *doc,
		   struct lf_err *err)
{
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version v;
	int rc;

	b.all = doc->resources;
	memcpy(v.lineage, doc->lineage, sizeof(v.lineage));
	v.lineage[sizeof(v.lineage) - 1] = '\0';
	v.serial = doc->serial;
	rc = lf_state_commit(st, &b, &v, err);
	if (rc == 0) {
		memcpy(doc->lineage, v.lineage, sizeof(doc->lineage));
		doc->serial = v.serial;
	}
	return rc;
}
