/*
 * Benchmark helper for bench/etcd.sh (not a test): loads a state file
 * (from `bench_tool gen-state`), and for one backend (a copy of the file,
 * or etcd at ENDPOINT) times: the first full write, a whole read, and the
 * commit of a 10-resource batch on top (median of 20). For etcd it also
 * prints the largest value and the largest transaction body.
 *
 *   etcd_bench file STATE.json
 *   etcd_bench etcd STATE.json ENDPOINT PREFIX
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"
#include "state/state.h"

#define RUNS 20

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void value_sizes(json_t *res)
{
	size_t maxv = 0, total = 0;
	const char *k;
	json_t *v;

	json_object_foreach(res, k, v) {
		char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		size_t n = strlen(t) + strlen(k);

		total += n;
		maxv = n > maxv ? n : maxv;
		free(t);
	}
	printf("values: %zu resources, largest key+value %zu bytes, all %zu bytes "
	       "(etcd default request limit 1572864 bytes; commits are sliced at 1 MiB / 100 ops)\n",
	       json_object_size(res), maxv, total);
}

/* 10 changed records per commit, RUNS times; prints the median */
static int commit_batches(struct lf_state *st, json_t *res, struct lf_state_version *v)
{
	double t[RUNS];
	struct lf_err err = LF_ERR_INIT;
	const char *k;
	json_t *rec;
	int i = 0, n;

	for (int r = 0; r < RUNS; r++) {
		struct lf_state_batch b = LF_STATE_BATCH_INIT;
		double t0;

		n = 0;
		json_object_foreach(res, k, rec) {
			json_t *c = json_deep_copy(rec);

			json_object_set_new(c, "bench_run", json_integer(r));
			lf_state_batch_put(&b, k, c);
			json_decref(c);
			if (++n == 10)
				break;
		}
		t0 = lf_now_s();
		if (lf_state_commit(st, &b, v, &err) != 0) {
			fprintf(stderr, "commit: %s\n", err.msg);
			lf_state_batch_clear(&b);
			return 1;
		}
		t[i++] = lf_now_s() - t0;
		lf_state_batch_clear(&b);
	}
	qsort(t, RUNS, sizeof(double), cmp_d);
	printf("commit of a 10-resource batch: median %.2f ms, max %.2f ms\n",
	       t[RUNS / 2] * 1e3, t[RUNS - 1] * 1e3);
	return 0;
}

static int run(struct lf_state *st, json_t *res)
{
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version v = { "", 0 };
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	double t0;

	if (lf_state_lock(st, 10, "bench", &err) != 0) {
		fprintf(stderr, "lock: %s\n", err.msg);
		return 1;
	}
	b.all = res;
	t0 = lf_now_s();
	if (lf_state_commit(st, &b, &v, &err) != 0) {
		fprintf(stderr, "first write: %s\n", err.msg);
		return 1;
	}
	printf("first write of %zu resources: %.3f s\n", json_object_size(res), lf_now_s() - t0);
	t0 = lf_now_s();
	if (lf_state_read(st, &doc, &err) != 0) {
		fprintf(stderr, "read: %s\n", err.msg);
		return 1;
	}
	printf("read of the whole state: %.3f s\n", lf_now_s() - t0);
	lf_state_doc_clear(&doc);
	return commit_batches(st, res, &v);
}

int main(int argc, char **argv)
{
	struct lf_state *st = NULL;
	struct lf_err err = LF_ERR_INIT;
	json_t *doc, *res, *settings = NULL;
	char *copy = NULL;
	int rc;

	if (argc < 3 || (strcmp(argv[1], "etcd") == 0 && argc != 5)) {
		fprintf(stderr, "usage: etcd_bench file STATE | etcd STATE ENDPOINT PREFIX\n");
		return 2;
	}
	doc = json_load_file(argv[2], 0, NULL);
	res = json_object_get(doc, "resources");
	if (!res) {
		fprintf(stderr, "%s: not a state file\n", argv[2]);
		return 1;
	}
	if (strcmp(argv[1], "etcd") == 0) {
		value_sizes(res);
		settings = json_pack("{s:[s], s:s}", "endpoints", argv[3], "prefix", argv[4]);
		rc = lf_state_etcd_new(&st, settings, NULL, &err);
	} else {
		copy = lf_xasprintf("%s.bench-copy", argv[2]);
		remove(copy);
		rc = lf_state_file_new(&st, copy, &err);
	}
	if (rc == 0)
		rc = run(st, res);
	else
		fprintf(stderr, "%s\n", err.msg);
	lf_state_free(st);
	if (copy)
		remove(copy);
	free(copy);
	json_decref(settings);
	json_decref(doc);
	return rc ? 1 : 0;
}
