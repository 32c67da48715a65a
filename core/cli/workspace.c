/*
 * The workspace a command works in: the spec, its work directory
 * (<spec dir>/.ledgerform/<name>: hosts of the local driver, crypto,
 * channel blocks), the state (locked for plan/apply/destroy), the driver
 * registry and the desired and current resource sets.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli/cli.h"
#include "core/plugin/plugin.h"
#include "core/util/ctx.h"
#include "core/util/util.h"

static char *default_state_path(const char *spec_file)
{
	const char *base = strrchr(spec_file, '/');
	char *dir = lf_path_dirname(spec_file), *stem, *dot, *name, *p;

	base = base ? base + 1 : spec_file;
	stem = lf_xstrdup(base);
	dot = strrchr(stem, '.');
	if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
		*dot = '\0';
	name = lf_xasprintf("%s.state.json", stem);
	p = lf_path_join(dir, name);
	free(dir);
	free(stem);
	free(name);
	return p;
}

static int load_spec(struct lf_ws *ws, const struct lf_cli_opts *o)
{
	struct lf_diags diags;
	int rc;

	if (!o->file) {
		lf_cli_error("no spec given: pass -f SPEC.yaml");
		return LF_EINVALID;
	}
	/* one bounded read: the hash is of the bytes parsed */
	memset(&diags, 0, sizeof(diags));
	rc = lf_spec_load_sha256(&ws->spec, o->file, ws->spec_sha256, &diags);
	lf_diags_print(&diags, stderr);
	if (rc != 0 && diags.nerrors == 0)
		lf_cli_error("cannot load spec '%s'", o->file);
	lf_diags_free(&diags);
	return rc;
}

static int open_state(struct lf_ws *ws, const struct lf_cli_opts *o,
		      struct lf_err *err)
{
	const char *backend = NULL;
	const json_t *settings = NULL;
	char *base, *dflt;
	int rc;

	if (o->state_path)
		return lf_state_file_new(&ws->state, o->state_path, err);
	if (!ws->spec)
		return lf_err_set(err, LF_EINVALID, "no state given: pass -f SPEC.yaml or --state FILE");
	backend = ws->spec->state.backend;
	settings = ws->spec->state.settings;
	base = lf_path_dirname(ws->spec->file);
	dflt = default_state_path(ws->spec->file);
	rc = lf_state_open(&ws->state, backend, settings, base, dflt, err);
	free(base);
	free(dflt);
	return rc;
}

static void set_paths(struct lf_ws *ws)
{
	char *dir = lf_path_dirname(ws->spec->file);
	char *rel = lf_xasprintf(".ledgerform/%s", ws->spec->name);

	ws->workdir = lf_path_join(dir, rel);
	ws->crypto_dir = lf_path_join(ws->workdir, "crypto");
	ws->channels_dir = lf_path_join(ws->workdir, "channels");
	free(dir);
	free(rel);
}

/* LEDGERFORM_TIMING=1: phase timings on stderr */
static void phase(const char *what, double *t)
{
	double now = lf_now_s();

	if (lf_ctx_current()->timing)
		fprintf(stderr, "timing: %-12s %.3fs\n", what, now - *t);
	*t = now;
}

struct reader {
	struct lf_ws *ws;
	struct lf_err err;
	int rc;
	bool drop_doc;
};

static void add_tainted(struct lf_ws *ws, size_t *n, size_t max, const char *addr)
{
	if (!ws->tainted)
		ws->tainted = lf_xcalloc(max + 1, sizeof(char *));
	ws->tainted[(*n)++] = lf_xstrdup(addr);
}

/* the records `state taint` marked, noted before the document is
 * dropped (the raw index flags them as it scans) */
static void note_tainted(struct lf_ws *ws)
{
	const struct lf_state_raw *raw = ws->doc.raw;
	const char *addr;
	json_t *rec;
	size_t i, n = 0, max = json_object_size(ws->doc.resources) + (raw ? raw->n : 0);

	json_object_foreach(ws->doc.resources, addr, rec)
		if (json_is_true(json_object_get(rec, "tainted")))
			add_tainted(ws, &n, max, addr);
	for (i = 0; raw && i < raw->n; i++)
		if (raw->v[i].tainted)
			add_tainted(ws, &n, max, lf_state_rec_addr(raw, &raw->v[i]));
}

/* read and index the state (runs beside the expansion) */
static void *read_state(void *arg)
{
	struct reader *r = arg;

	r->rc = r->drop_doc ? lf_state_read_raw(r->ws->state, &r->ws->doc, &r->err)
			    : lf_state_read(r->ws->state, &r->ws->doc, &r->err);
	if (r->rc == 0)
		note_tainted(r->ws);
	if (r->rc == 0 && r->ws->doc.raw)
		return NULL; /* indexed only: built against the desired set */
	if (r->rc == 0)
		r->rc = lf_rset_from_json(&r->ws->current, r->ws->doc.resources, &r->err);
	if (r->rc == 0 && r->drop_doc) {
		/* the index shares attrs/outputs; the records' envelopes are
		 * not needed when nothing will be written */
		json_decref(r->ws->doc.resources);
		r->ws->doc.resources = json_object();
	}
	return NULL;
}

/* The two big jobs of a plan, parsing the state and expanding the spec,
 * are independent: run them on two threads. */
static int read_and_expand(struct lf_ws *ws, unsigned int flags, struct lf_err *err)
{
	struct reader r = { ws, LF_ERR_INIT, 0, (flags & LF_WS_READONLY) != 0 };
	pthread_t th;
	bool threaded;
	int rc = 0;

	threaded = (flags & LF_WS_EXPAND) && pthread_create(&th, NULL, read_state, &r) == 0;
	if (!threaded)
		read_state(&r);
	if (flags & LF_WS_EXPAND)
		rc = lf_expand(ws->spec, &ws->desired, err);
	if (threaded)
		pthread_join(th, NULL);
	if (r.rc == 0 && rc == 0 && ws->doc.raw) {
		r.rc = lf_plan_read_current(&ws->current, ws->doc.raw, ws->desired, &r.err);
		lf_state_raw_free(ws->doc.raw);
		ws->doc.raw = NULL;
	}
	if (r.rc != 0) {
		lf_err_clear(err);
		*err = r.err;
		return r.rc;
	}
	return rc;
}

int lf_ws_open(struct lf_ws *ws, const struct lf_cli_opts *o, unsigned int flags,
	       const char *who)
{
	double t = lf_now_s();
	struct lf_err err = LF_ERR_INIT;
	int rc;

	memset(ws, 0, sizeof(*ws));
	if ((flags & LF_WS_SPEC) || o->file) {
		rc = load_spec(ws, o);
		if (rc != 0)
			return rc;
		set_paths(ws);
		phase("spec", &t);
	}
	rc = open_state(ws, o, &err);
	if (rc == 0 && (flags & LF_WS_LOCK)) {
		rc = lf_state_lock(ws->state, o->lock_timeout, who, &err);
		ws->locked = rc == 0;
	}
	if (rc == 0 && (flags & LF_WS_EXPAND))
		lf_heap_prepare((size_t)1 << 30); /* 50,000 nodes: about 550 MB */
	if (rc == 0)
		rc = read_and_expand(ws, flags, &err);
	phase("read+expand", &t);
	if (rc == 0 && !ws->desired)
		rc = lf_rset_new(&ws->desired);
	if (rc == 0 && (flags & LF_WS_DRIVERS)) {
		rc = lf_registry_new(&ws->reg);
		if (rc == 0)
			rc = lf_driver_pool_new(&ws->pool, ws->reg);
	}
	if (rc != 0) {
		if (err.msg[0])
			lf_cli_error("%s", err.msg);
		return rc;
	}
	ws->env.spec = ws->spec;
	ws->env.workdir = ws->workdir;
	ws->env.crypto_dir = ws->crypto_dir;
	ws->env.channels_dir = ws->channels_dir;
	ws->env.drivers = ws->pool;
	ws->env.registry = ws->reg;
	ws->env.desired = ws->desired;
	ws->env.current = ws->current;
	ws->env.lineage = ws->doc.lineage;
	return 0;
}

/* The workspace is closed right before the process exits. Freeing a
 * 10,000-node plan's JSON takes longer than making the plan's diff, and
 * the kernel reclaims it at once, so release builds leave it; sanitizer
 * builds (and LEDGERFORM_FREE_ON_EXIT=1, for valgrind) free everything so
 * that any real leak still shows. */
static bool free_big_sets(void)
{
#ifdef LF_FREE_ON_EXIT
	return true;
#else
	return lf_ctx_current()->free_on_exit;
#endif
}

void lf_ws_close(struct lf_ws *ws)
{
	struct lf_err err = LF_ERR_INIT;
	double t = lf_now_s();

	lf_driver_pool_free(ws->pool);
	lf_registry_free(ws->reg);
	if (ws->state && ws->locked)
		lf_state_unlock(ws->state, &err);
	lf_state_free(ws->state);
	if (free_big_sets()) {
		lf_state_doc_clear(&ws->doc);
		lf_rset_free(ws->desired);
		lf_rset_free(ws->current);
		lf_spec_free(ws->spec);
	}
	free(ws->workdir);
	free(ws->crypto_dir);
	free(ws->channels_dir);
	for (size_t i = 0; ws->tainted && ws->tainted[i]; i++)
		free(ws->tainted[i]);
	free(ws->tainted);
	memset(ws, 0, sizeof(*ws));
	phase("teardown", &t);
}
