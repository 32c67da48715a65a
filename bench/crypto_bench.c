/*
 * lf-bench-crypto [--rtype] OUTDIR [ORGS PEERS USERS ORDERERS THREADS]
 * Renders ORGS orgs x PEERS peers x USERS users plus one orderer org with
 * ORDERERS orderers (default 20 50 2 3, all cores) into OUTDIR, which must
 * not exist, and prints identities/s, wall time and where the time went.
 * Counting follows cryptogen: signing identities include the CAs.
 * --rtype: the executor's path instead: lf_crypto_expand, then the
 * resource type's create callback per resource on THREADS threads (CAs
 * first, then org MSPs and leaves), each call syncing as in an apply.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/crypto/crypto.h"
#include "core/util/util.h"
#include "plans/resource.h"
#include "fixture.h"

static unsigned int arg(int argc, char **argv, int i, unsigned int def)
{
	char *end = NULL;
	unsigned long v;

	if (argc <= i)
		return def;
	v = strtoul(argv[i], &end, 10);
	if (!end || *end) {
		fprintf(stderr, "lf-bench-crypto: bad number '%s'\n", argv[i]);
		exit(2);
	}
	return (unsigned int)v;
}

struct rt_run {
	struct lf_apply_env env;
	struct lf_rset *rs;
	atomic_size_t next;
	atomic_int failed;
	int phase;                 /* 0: CAs, 1: the rest */
};

static bool is_ca(const struct lf_resource *r)
{
	const char *k = json_string_value(json_object_get(r->attrs, "kind"));

	return lf_streq(k, "ca") || lf_streq(k, "tlsca");
}

static void *rt_worker(void *p)
{
	struct rt_run *r = p;
	size_t i;

	while ((i = atomic_fetch_add(&r->next, 1)) < r->rs->n) {
		struct lf_resource *res = &r->rs->v[i];
		struct lf_err err = LF_ERR_INIT;
		json_t *o = NULL;

		if (is_ca(res) != (r->phase == 0))
			continue;
		if (lf_rtype_crypto.create(&r->env, res, &o, &err) != 0) {
			fprintf(stderr, "lf-bench-crypto: %s: %s\n", res->addr, err.msg);
			atomic_store(&r->failed, 1);
		}
		json_decref(o);
	}
	return NULL;
}

static int rtype_bench(struct lf_spec *spec, const char *out, unsigned int threads)
{
	struct rt_run r;
	struct lf_err err = LF_ERR_INIT;
	pthread_t t[64];
	unsigned int i, n = threads ? threads : 2;
	double t0 = lf_now_s();

	memset(&r, 0, sizeof(r));
	r.env.crypto_dir = out;
	lf_rset_new(&r.rs);
	if (lf_crypto_expand(spec, r.rs, &err) != 0) {
		fprintf(stderr, "lf-bench-crypto: %s\n", err.msg);
		return 1;
	}
	if (n > 64)
		n = 64;
	for (r.phase = 0; r.phase < 2; r.phase++) {
		atomic_store(&r.next, 0);
		for (i = 0; i < n; i++)
			pthread_create(&t[i], NULL, rt_worker, &r);
		for (i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	printf("resources       %zu (executor path: one create call each, %u threads)\n",
	       r.rs->n, n);
	printf("wall            %.3f s\n", lf_now_s() - t0);
	printf("resources/s     %.0f\n", (double)r.rs->n / (lf_now_s() - t0));
	lf_rset_free(r.rs);
	return atomic_load(&r.failed) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct lf_crypto_stats st;
	struct lf_err err = LF_ERR_INIT;
	struct lf_spec *spec;
	double busy, ec;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: lf-bench-crypto OUTDIR [ORGS PEERS USERS ORDERERS THREADS]\n");
		return 2;
	}
	if (strcmp(argv[1], "--rtype") == 0) {
		int rc;

		if (argc < 3)
			return 2;
		spec = fx_spec_grid(arg(argc, argv, 3, 20), arg(argc, argv, 4, 50),
				    arg(argc, argv, 5, 2), arg(argc, argv, 6, 3));
		rc = rtype_bench(spec, argv[2], arg(argc, argv, 7, 0));
		fx_spec_free(spec);
		return rc;
	}
	spec = fx_spec_grid(arg(argc, argv, 2, 20), arg(argc, argv, 3, 50),
			    arg(argc, argv, 4, 2), arg(argc, argv, 5, 3));
	if (lf_crypto_render_stats(spec, argv[1], arg(argc, argv, 6, 0), &st, &err) != 0) {
		fprintf(stderr, "lf-bench-crypto: %s\n", err.msg);
		fx_spec_free(spec);
		return 1;
	}
	ec = st.t_keygen + st.t_sign;
	busy = ec + st.t_build + st.t_encode + st.t_io;
	printf("identities      %lu (signing identities incl. CAs; each leaf has a TLS pair)\n",
	       st.identities);
	printf("keys generated  %lu\ncerts issued    %lu\nfiles written   %lu\n",
	       st.keys_generated, st.certs_issued, st.files_written);
	printf("threads         %u\n", st.threads);
	printf("wall            %.3f s (of which final syncfs %.3f s)\n", st.wall, st.t_sync);
	printf("identities/s    %.0f\n", st.wall > 0 ? (double)st.identities / st.wall : 0.0);
	printf("thread time     %.3f s: EC keygen %.3f s, ECDSA sign %.3f s, cert DER %.3f s, "
	       "PEM/PKCS#8 %.3f s, file writes %.3f s\n", busy, st.t_keygen, st.t_sign,
	       st.t_build, st.t_encode, st.t_io);
	if (busy > 0)
		printf("share           EC ops %.0f%%, cert assembly+encoding %.0f%%, file writes %.0f%%\n",
		       100.0 * ec / busy, 100.0 * (st.t_build + st.t_encode) / busy,
		       100.0 * st.t_io / busy);
	fx_spec_free(spec);
	return 0;
}
