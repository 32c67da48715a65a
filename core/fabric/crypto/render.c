/*
 * lf_crypto_render: the whole crypto tree of a spec, in parallel.
 *
 * Phase 1 (one job per org): load or create the CA and TLS CA, make the
 * org's folders and its verifying MSP. Phase 2 (one job per identity):
 * lfc_ident_ensure. Workers take the next job from an atomic counter; the
 * CAs are read-only while phase 2 runs. Then identities of the spec's orgs
 * that the spec no longer names are removed, and one syncfs() makes it all
 * durable.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/spec/spec.h"
#include "core/util/util.h"

struct render {
	const char *root;
	struct lfc_layout *l;
	struct lfc_ca **ca, **tlsca;   /* per org */
	struct lfc_worker *w;          /* per thread */
	unsigned int nthreads;
	int phase;
	atomic_size_t next;
	atomic_int failed;
	pthread_mutex_t mu;
	struct lf_err err;             /* first error */
};

struct thread_arg {
	struct render *r;
	unsigned int idx;
};

static int org_job(struct render *r, size_t i, struct lfc_worker *w,
		   struct lf_err *err)
{
	const struct lfc_org *o = &r->l->orgs[i];
	int rc;

	rc = lfc_ca_ensure(&r->ca[i], r->root, o, false, true, w, err);
	if (rc == 0)
		rc = lfc_ca_ensure(&r->tlsca[i], r->root, o, true, true, w, err);
	if (rc == 0)
		rc = lfc_msp_ensure(r->root, o, r->ca[i], r->tlsca[i], w, err);
	if (rc == 0)
		w->st.identities += 2;
	return rc;
}

static int ident_job(struct render *r, size_t i, struct lfc_worker *w,
		     struct lf_err *err)
{
	const struct lfc_ident *id = &r->l->ids[i];

	return lfc_ident_ensure(r->root, &r->l->orgs[id->org], id, r->ca[id->org],
				r->tlsca[id->org], w, NULL, err);
}

static void *worker_main(void *p)
{
	struct thread_arg *a = p;
	struct render *r = a->r;
	struct lfc_worker *w = &r->w[a->idx];
	size_t n = r->phase == 1 ? r->l->norgs : r->l->nids, i;
	struct lf_err err = LF_ERR_INIT;

	while (!atomic_load(&r->failed)) {
		i = atomic_fetch_add(&r->next, 1);
		if (i >= n)
			break;
		if ((r->phase == 1 ? org_job(r, i, w, &err) : ident_job(r, i, w, &err)) == 0)
			continue;
		pthread_mutex_lock(&r->mu);
		if (!atomic_load(&r->failed)) {
			r->err = err;
			atomic_store(&r->failed, 1);
		}
		pthread_mutex_unlock(&r->mu);
		break;
	}
	return NULL;
}

static int run_phase(struct render *r, int phase)
{
	pthread_t *tid = lf_xcalloc(r->nthreads, sizeof(*tid));
	struct thread_arg *args = lf_xcalloc(r->nthreads, sizeof(*args));
	unsigned int i, started = 0;

	r->phase = phase;
	atomic_store(&r->next, 0);
	for (i = 0; i < r->nthreads; i++) {
		args[i].r = r;
		args[i].idx = i;
		if (i > 0 && pthread_create(&tid[i], NULL, worker_main, &args[i]) != 0)
			break;
		started = i + 1;
	}
	worker_main(&args[0]); /* the calling thread is worker 0 */
	for (i = 1; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	free(args);
	return atomic_load(&r->failed) ? r->err.code ? r->err.code : LF_ERROR : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* remove entries of dir that are not in names (sorted), and stale temps */
static int prune_dir(const char *dir, char **names, size_t n,
		     struct lf_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *p;
	int rc = 0;

	if (!d)
		return 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		const char *nm = e->d_name;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (nm[0] != '.' && bsearch(&nm, names, n, sizeof(char *), cmp_str))
			continue;
		if (nm[0] == '.' && !strstr(nm, ".tmp-"))
			continue;
		p = lf_path_join(dir, nm);
		rc = lf_rmtree(p, err);
		free(p);
	}
	closedir(d);
	return rc;
}

static int prune_org(struct render *r, size_t org, struct lf_err *err)
{
	static const char *const subs[] = { "peers", "orderers", "users" };
	const struct lfc_layout *l = r->l;
	char **names = lf_xcalloc(l->nids + 1, sizeof(char *)), *p;
	size_t i, n = 0, k;
	int rc = 0;

	for (i = 0; i < l->nids; i++)
		if (l->ids[i].org == org)
			names[n++] = strrchr(l->ids[i].dir, '/') + 1;
	qsort(names, n, sizeof(char *), cmp_str);
	for (k = 0; rc == 0 && k < LF_ARRAY_LEN(subs); k++) {
		p = lf_xasprintf("%s/%s/%s", r->root, l->orgs[org].dir, subs[k]);
		rc = prune_dir(p, names, n, err);
		free(p);
	}
	free(names);
	return rc;
}

static unsigned int pick_threads(unsigned int threads, size_t jobs)
{
	long n = threads ? (long)threads : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if ((size_t)n > jobs && jobs > 0)
		n = (long)jobs;
	return (unsigned int)n;
}

static void sum_stats(struct render *r, struct lf_crypto_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < r->nthreads; i++) {
		const struct lf_crypto_stats *s = &r->w[i].st;

		st->identities += s->identities;
		st->certs_issued += s->certs_issued;
		st->keys_generated += s->keys_generated;
		st->files_written += s->files_written;
		st->leaves_kept += s->leaves_kept;
		st->t_keygen += s->t_keygen;
		st->t_sign += s->t_sign;
		st->t_build += s->t_build;
		st->t_encode += s->t_encode;
		st->t_io += s->t_io;
	}
	st->threads = r->nthreads;
}

static int render_run(struct render *r, struct lf_err *err)
{
	size_t i;
	int rc = lf_mkdirs(r->root, 0700, err);

	for (i = 0; rc == 0 && i < r->nthreads; i++)
		rc = lfc_worker_init(&r->w[i], err);
	if (rc == 0)
		rc = run_phase(r, 1);
	if (rc == 0)
		rc = run_phase(r, 2);
	if (rc != 0 && r->err.code)
		lf_err_set(err, r->err.code, "%s", r->err.msg);
	for (i = 0; rc == 0 && i < r->l->norgs; i++)
		rc = prune_org(r, i, err);
	return rc;
}

int lf_crypto_render_stats(const struct lf_spec *spec, const char *outdir,
			   unsigned int threads, struct lf_crypto_stats *stats,
			   struct lf_err *err)
{
	struct render r;
	struct lf_crypto_stats st;
	double t0 = lf_now_s(), t1;
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.root = outdir;
	rc = lfc_layout_from_spec(&r.l, spec, err); /* validates imports first */
	if (rc != 0)
		return rc;
	pthread_mutex_init(&r.mu, NULL);
	r.nthreads = pick_threads(threads, r.l->nids);
	r.w = lf_xcalloc(r.nthreads, sizeof(*r.w));
	r.ca = lf_xcalloc(r.l->norgs + 1, sizeof(*r.ca));
	r.tlsca = lf_xcalloc(r.l->norgs + 1, sizeof(*r.tlsca));
	rc = render_run(&r, err);
	t1 = lf_now_s();
	if (rc == 0)
		rc = lfc_sync(outdir, err);
	sum_stats(&r, &st);
	st.t_sync = lf_now_s() - t1;
	st.wall = lf_now_s() - t0;
	if (stats)
		*stats = st;
	for (i = 0; i < r.l->norgs; i++) {
		lfc_ca_free(r.ca[i]);
		lfc_ca_free(r.tlsca[i]);
	}
	for (i = 0; i < r.nthreads; i++)
		lfc_worker_fini(&r.w[i]);
	free(r.ca);
	free(r.tlsca);
	free(r.w);
	lfc_layout_free(r.l);
	pthread_mutex_destroy(&r.mu);
	return rc;
}

int lf_crypto_render(const struct lf_spec *spec, const char *outdir,
		     unsigned int threads, struct lf_err *err)
{
	return lf_crypto_render_stats(spec, outdir, threads, NULL, err);
}
