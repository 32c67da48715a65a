/*
 * lf-bench-block: times lf_block_genesis for one org count (run one
 * process per count so the peak RSS is that count's). Spec built in
 * memory: org "orderer" (example.com, 3 etcdraft consenters) + N peer orgs
 * orgI (orgI.example.com, OrgIMSP, anchor peer0); MSP material read from
 * CRYPTO_DIR in cryptogen layout (bench/block.sh prepares it).
 *   lf-bench-block CRYPTO_DIR NORGS [REPS] [OUT_BLOCK] [--render-only]
 * Prints: orgs=N consenters=3 reps=R min_ms=.. median_ms=.. bytes=..
 *         maxrss_kb=.. update_ms=.. (add one org to an N-org channel)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/fabric/block/block.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

struct bench {
	struct lf_spec spec;
	struct lf_org *orgs;
	struct lf_node *nodes;
	char **chorgs, **anchors;
	struct lf_channel ch;
};

static void org_init(struct lf_org *o, struct lf_node *n, char *name,
		     char *mspid, char *domain)
{
	o->name = name;
	o->mspid = mspid;
	o->domain = domain;
	o->nodes = n;
}

static void node_init(struct lf_node *n, const char *name, const char *org,
		      const char *domain, enum lf_node_kind kind, unsigned port)
{
	n->name = lf_xstrdup(name);
	n->org = (char *)org;
	n->kind = kind;
	n->hostname = lf_xasprintf("%s.%s", name, domain);
	n->port = port;
}

static void bench_build(struct bench *b, int norgs)
{
	b->orgs = lf_xcalloc((size_t)norgs + 2, sizeof(*b->orgs));
	b->nodes = lf_xcalloc((size_t)norgs + 4, sizeof(*b->nodes));
	b->chorgs = lf_xcalloc((size_t)norgs + 1, sizeof(char *));
	b->anchors = lf_xcalloc((size_t)norgs + 1, sizeof(char *));
	org_init(&b->orgs[0], &b->nodes[0], "orderer", "OrdererMSP", "example.com");
	for (int k = 0; k < 3; k++) {
		char nm[16];

		snprintf(nm, sizeof(nm), "orderer%d", k);
		node_init(&b->nodes[k], nm, "orderer", "example.com",
			  LF_NODE_ORDERER, 7050 + (unsigned)k);
	}
	b->orgs[0].nnodes = b->orgs[0].norderers = 3;
	for (int i = 1; i <= norgs + 1; i++) {
		struct lf_org *o = &b->orgs[i];
		struct lf_node *n = &b->nodes[2 + i];

		org_init(o, n, lf_xasprintf("org%d", i), lf_xasprintf("Org%dMSP", i),
			 lf_xasprintf("org%d.example.com", i));
		node_init(n, "peer0", o->name, o->domain, LF_NODE_PEER, 7051);
		o->nnodes = o->npeers = 1;
		b->anchors[i - 1] = "peer0";
		o->anchor_peers = &b->anchors[i - 1];
		o->nanchor_peers = 1;
		b->chorgs[i - 1] = o->name;
	}
	b->ch.name = "bench";
	b->ch.orgs = b->chorgs;
	b->ch.norgs = (size_t)norgs;
	b->spec.name = "bench";
	b->spec.fabric_version = "2.5";
	b->spec.fabric_major = 2;
	b->spec.fabric_minor = 5;
	b->spec.consensus = LF_CONSENSUS_ETCDRAFT;
	b->spec.orgs = b->orgs;
	b->spec.norgs = (size_t)norgs + 2;
	b->spec.channels = &b->ch;
	b->spec.nchannels = 1;
}

static void bench_free(struct bench *b, int norgs)
{
	for (int i = 0; i < norgs + 4; i++) {
		free(b->nodes[i].name);
		free(b->nodes[i].hostname);
	}
	for (int i = 1; i <= norgs + 1; i++) {
		free(b->orgs[i].name);
		free(b->orgs[i].mspid);
		free(b->orgs[i].domain);
	}
	free(b->orgs);
	free(b->nodes);
	free(b->chorgs);
	free(b->anchors);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double time_update(struct bench *b, const char *crypto)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *cfg = NULL, *upd = NULL;
	size_t clen = 0, ulen = 0;
	double t0;

	if (lf_block_config_for(&b->spec, "bench", crypto, &cfg, &clen, &err) != 0)
		return -1;
	b->ch.norgs++;
	t0 = lf_now_s();
	if (lf_update_compute(cfg, clen, &b->spec, "bench", crypto, &upd, &ulen,
			      NULL, &err) != 0)
		t0 = -1e9;
	b->ch.norgs--;
	free(cfg);
	free(upd);
	return (lf_now_s() - t0) * 1000.0;
}

int main(int argc, char **argv)
{
	struct lf_err err = LF_ERR_INIT;
	struct bench b;
	int norgs, reps;
	double *ms;
	uint8_t *blk = NULL;
	size_t len = 0;
	struct rusage ru;

	if (argc < 3) {
		fprintf(stderr, "usage: lf-bench-block CRYPTO_DIR NORGS [REPS] "
			"[OUT_BLOCK]\n");
		return 2;
	}
	norgs = (int)strtol(argv[2], NULL, 10);
	reps = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 5;
	if (norgs < 1 || reps < 1)
		return 2;
	memset(&b, 0, sizeof(b));
	bench_build(&b, norgs);
	ms = lf_xcalloc((size_t)reps, sizeof(double));
	for (int r = 0; r < reps; r++) {
		double t0 = lf_now_s();

		free(blk);
		blk = NULL;
		if (lf_block_genesis(&b.spec, "bench", argv[1], &blk, &len, &err) != 0) {
			fprintf(stderr, "lf-bench-block: %s\n", err.msg);
			return 1;
		}
		ms[r] = (lf_now_s() - t0) * 1000.0;
	}
	getrusage(RUSAGE_SELF, &ru);
	qsort(ms, (size_t)reps, sizeof(double), cmp_d);
	if (argc > 4 && lf_write_file_atomic(argv[4], blk, len, 0644, &err) != 0)
		fprintf(stderr, "lf-bench-block: %s\n", err.msg);
	if (argc > 5 && strcmp(argv[5], "--render-only") == 0)
		printf("orgs=%d bytes=%zu\n", norgs, len);
	else
		printf("orgs=%d consenters=3 reps=%d min_ms=%.2f median_ms=%.2f "
		       "bytes=%zu maxrss_kb=%ld update_ms=%.2f\n", norgs, reps, ms[0],
		       ms[reps / 2], len, ru.ru_maxrss, time_update(&b, argv[1]));
	free(blk);
	free(ms);
	bench_free(&b, norgs);
	return 0;
}
