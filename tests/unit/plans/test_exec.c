/*
 * The executor on the sim driver: dependency order, the parallelism limit
 * reached and respected, a failure that starts none of its dependents while
 * independent branches finish, transient errors retried, permanent ones
 * not, state committed as actions finish, reverse-order deletes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util/util.h"
#include "fixture.h"

/* pthread_create, counted, and refused after `threads_allowed` more
 * (negative: never) to see what the executor does when the system has no
 * threads to give */
static long threads_created;
static long threads_allowed = -1;

int pthread_create(pthread_t *th, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

	if (threads_allowed == 0)
		return EAGAIN;
	if (threads_allowed > 0)
		threads_allowed--;
	threads_created++;
	*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	return real(th, attr, fn, arg);
}

/* position of the progress line of addr in the log, or -1 (not inlined:
 * GCC 12 at -O3 takes the inlined pointer difference for a use of a
 * freed buffer, -Wdangling-pointer) */
static long __attribute__((noinline)) line_of(const char *log, const char *addr)
{
	char *needle = lf_xasprintf("%s: ", addr);
	const char *p = strstr(log, needle);

	free(needle);
	return p ? (long)(p - log) : -1;
}

static char *run(struct fx *f, unsigned int par, struct lf_apply_result *res, int *rc)
{
	struct lf_plan *p = fx_plan(f, NULL);
	char *log = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&log, &len);

	*rc = fx_apply(f, p, par, res, mem);
	fclose(mem);
	lf_plan_free(p);
	return log;
}

static void test_exec_order_and_parallelism(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	char *log;
	int rc, i;

	(void)state;
	fx_open(&f, "latency_ms: 30, seed: 3", 12);
	log = run(&f, 4, &res, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.failed + res.skipped + res.not_started, 0);
	/* every node after its host */
	for (i = 0; i < 12; i++) {
		char h[64], n[64];

		snprintf(h, sizeof(h), "host.bank.peer%d", i);
		snprintf(n, sizeof(n), "node.bank.peer%d", i);
		assert_true(line_of(log, h) >= 0);
		assert_true(line_of(log, h) < line_of(log, n));
	}
	/* the limit was reached, never passed */
	assert_int_equal(res.max_running, 4);
	/* state was committed as actions finished, not once at the end */
	assert_true(res.commits > 3);
	assert_non_null(json_object_get(f.doc.resources, "node.bank.peer11"));
	free(log);
	free(res.summary);
	fx_close(&f);

	fx_open(&f, "latency_ms: 5", 3);
	log = run(&f, 1, &res, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.max_running, 1);
	free(log);
	free(res.summary);
	fx_close(&f);
}

/* a provider's own limit (providers.X.parallelism) holds within a larger
 * --parallelism */
static void test_exec_provider_limit(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	char *log;
	int rc;

	(void)state;
	fx_open(&f, "limit2", 8); /* sim at 30 ms, provider parallelism 2 */
	log = run(&f, 8, &res, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.max_lane_running, 2);
	assert_non_null(json_object_get(f.doc.resources, "node.bank.peer7"));
	free(log);
	free(res.summary);
	fx_close(&f);
}

static void test_exec_failure_isolated(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	char *log;
	int rc;

	(void)state;
	fx_open(&f, "fail_match: peer1", 3);
	log = run(&f, 4, &res, &rc);
	assert_int_not_equal(rc, 0);
	assert_int_equal(res.failed, 1);
	/* node.bank.peer1, its join, and its identity, whose TLS SANs take
	 * the host's address */
	assert_int_equal(res.skipped, 3);
	assert_non_null(strstr(res.summary, "host.bank.peer1: create failed"));
	assert_non_null(strstr(res.summary, "crypto.bank.peer1: not started"));
	assert_non_null(strstr(res.summary, "node.bank.peer1: not started"));
	assert_non_null(strstr(res.summary, "join.trade.bank.peer1: not started"));
	assert_non_null(json_object_get(f.doc.resources, "node.bank.peer2"));
	assert_non_null(json_object_get(f.doc.resources, "node.bank.peer0"));
	assert_null(json_object_get(f.doc.resources, "host.bank.peer1"));
	assert_null(json_object_get(f.doc.resources, "node.bank.peer1"));
	free(log);
	free(res.summary);
	fx_close(&f);
}

static void test_exec_retries(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	char *log;
	int rc;

	(void)state;
	/* transient faults only: retried until they pass */
	fx_open(&f, "fail_rate_create: 0.3, transient_ratio: 1.0, seed: 9", 4);
	log = run(&f, 1, &res, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(res.failed, 0);
	assert_true(res.retries > 0); /* the seed injects some faults */
	free(log);
	free(res.summary);
	fx_close(&f);

	/* always transient: gives up after retry_max attempts, saying so */
	fx_open(&f, "fail_rate_create: 1.0, transient_ratio: 1.0", 1);
	log = run(&f, 2, &res, &rc);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(res.summary, "gave up after 5 attempts"));
	free(log);
	free(res.summary);
	fx_close(&f);

	/* permanent: not retried */
	fx_open(&f, "fail_rate_create: 1.0, transient_ratio: 0.0", 1);
	log = run(&f, 2, &res, &rc);
	assert_int_not_equal(rc, 0);
	assert_null(strstr(res.summary, "gave up after"));
	free(log);
	free(res.summary);
	fx_close(&f);
}

static void test_exec_delete_reverse_order(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	struct lf_plan_opts od = { true, NULL };
	struct lf_plan *p;
	char *log = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	(void)state;
	fx_open(&f, "latency_ms: 10", 3);
	free(run(&f, 8, &res, &rc));
	free(res.summary);
	assert_int_equal(rc, 0);
	p = fx_plan(&f, &od);
	mem = open_memstream(&log, &len);
	rc = fx_apply(&f, p, 8, &res, mem);
	fclose(mem);
	if (rc != 0)
		fprintf(stderr, "destroy failed:\n%s", res.summary ? res.summary : "");
	assert_int_equal(rc, 0);
	/* both lines present (a missing one is -1 and would pass "<") */
	assert_true(line_of(log, "node.bank.peer2") >= 0);
	assert_true(line_of(log, "node.ordering.orderer0") >= 0);
	assert_true(line_of(log, "node.bank.peer2") < line_of(log, "host.bank.peer2"));
	assert_true(line_of(log, "node.ordering.orderer0") < line_of(log, "host.ordering.orderer0"));
	assert_int_equal(json_object_size(f.doc.resources), 0);
	free(log);
	free(res.summary);
	lf_plan_free(p);
	fx_close(&f);
}

/* no worker thread can start: apply says so at once, does nothing */
static void test_exec_no_threads(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	struct lf_plan *p;
	int rc;

	(void)state;
	fx_open(&f, "latency_ms: 1", 2);
	p = fx_plan(&f, NULL);
	threads_allowed = 0;
	rc = fx_apply(&f, p, 4, &res, NULL);
	threads_allowed = -1;
	assert_int_not_equal(rc, 0);
	assert_int_equal(res.done, 0);
	assert_int_equal(res.commits, 0);
	assert_int_equal(json_object_size(f.doc.resources), 0);
	free(res.summary);
	lf_plan_free(p);
	fx_close(&f);
}

/* fewer threads than asked: the ones started do all the work */
static void test_exec_fewer_threads(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	int rc;

	(void)state;
	fx_open(&f, "latency_ms: 1", 3);
	threads_allowed = 1;
	free(run(&f, 8, &res, &rc));
	threads_allowed = -1;
	assert_int_equal(rc, 0);
	assert_int_equal(res.failed + res.skipped + res.not_started, 0);
	assert_int_equal(res.max_running, 1);
	free(res.summary);
	fx_close(&f);
}

/* refresh starts at most one thread per readable (host) resource, once,
 * however large the parallelism */
static void test_refresh_threads(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	struct lf_err err = LF_ERR_INIT;
	size_t nres;
	int rc;

	(void)state;
	fx_open(&f, "latency_ms: 1", 3);
	free(run(&f, 4, &res, &rc));
	free(res.summary);
	assert_int_equal(rc, 0);
	nres = f.current->n;
	threads_created = 0;
	rc = lf_refresh(&f.env, &f.current, f.doc.resources, LF_REFRESH_ALL, 1000, NULL, &err);
	f.env.current = f.current;
	assert_int_equal(rc, 0);
	assert_int_equal(f.current->n, nres);
	/* at most one thread per readable resource (hosts, nodes, crypto),
	 * not one per --parallelism slot */
	assert_true(threads_created >= 1);
	assert_true((size_t)threads_created <= nres);
	assert_true(nres < 1000);
	/* and none at all: an error, not a hang */
	threads_allowed = 0;
	rc = lf_refresh(&f.env, &f.current, f.doc.resources, LF_REFRESH_ALL, 4, NULL, &err);
	threads_allowed = -1;
	f.env.current = f.current;
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err.msg, "thread"));
	fx_close(&f);
}

/* a state backend whose writes fail after `left` good ones */
struct flaky_state {
	struct lf_state base;
	struct lf_state *real;
	int left;
};

static int flaky_commit(struct lf_state *st, const struct lf_state_batch *batch,
			struct lf_state_version *ver, struct lf_err *err)
{
	struct flaky_state *fs = (struct flaky_state *)st;

	if (fs->left-- <= 0)
		return lf_err_set(err, LF_ERROR, "disk full (test)");
	return lf_state_commit(fs->real, batch, ver, err);
}

static const struct lf_state_ops flaky_ops = { .name = "flaky", .commit = flaky_commit };

/* apply the fixture's plan through a state backend wrapped by ops (left:
 * good commits for flaky_commit); the stop level is reset around it, as a
 * failed commit or a lost lock raise it */
static int apply_wrapped(struct fx *f, const struct lf_state_ops *ops, int left,
			 unsigned int parallelism, size_t *nadd,
			 struct lf_apply_result *res, struct lf_err *err)
{
	struct lf_apply_opts ao = LF_APPLY_OPTS_INIT;
	struct flaky_state fs;
	struct lf_plan *p = fx_plan(f, NULL);
	int rc;

	fs.base.ops = ops;
	fs.real = f->state;
	fs.left = left;
	if (nadd)
		*nadd = p->nadd;
	ao.parallelism = parallelism;
	lf_exec_request_stop(0);
	rc = lf_plan_apply(p, &f->env, f->desired, &fs.base, &f->doc, &ao, res, err);
	lf_exec_request_stop(0);
	lf_plan_free(p);
	return rc;
}

/* a backend that counts what each commit's batch carries */
static size_t batch_puts, batch_deletes, batch_commits;

static int counting_commit(struct lf_state *st, const struct lf_state_batch *batch,
			   struct lf_state_version *ver, struct lf_err *err)
{
	struct flaky_state *fs = (struct flaky_state *)st;

	for (size_t i = 0; i < batch->n; i++) {
		if (batch->v[i].kind == LF_STATE_PUT)
			batch_puts++;
		else
			batch_deletes++;
	}
	batch_commits++;
	return lf_state_commit(fs->real, batch, ver, err);
}

static const struct lf_state_ops counting_ops = { .name = "counting",
						  .commit = counting_commit };

/* each commit carries the per-resource changes of the actions it records:
 * every created resource is put once, every deleted one deleted once */
static void test_exec_commits_batches(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	struct lf_err err = LF_ERR_INIT;
	size_t n;

	(void)state;
	fx_open(&f, "latency_ms: 1", 3);
	batch_puts = batch_deletes = batch_commits = 0;
	assert_int_equal(apply_wrapped(&f, &counting_ops, 0, 4, &n, &res, &err), 0);
	assert_int_equal(batch_puts, n);
	assert_int_equal(batch_deletes, 0);
	assert_int_equal(batch_commits, res.commits);
	free(res.summary);
	fx_close(&f);
}

/* a backend whose lock is lost at once */
static int lost_lock_lost(struct lf_state *st, struct lf_err *err)
{
	(void)st;
	lf_err_set(err, LF_ECONFLICT, "the state lock was lost (test)");
	return 1;
}

static const struct lf_state_ops lost_ops = { .name = "lost", .commit = flaky_commit,
					      .lock_lost = lost_lock_lost };

/* a lost lock stops the apply like a first ^C: nothing more starts, the
 * error says why */
static void test_exec_lock_lost(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	fx_open(&f, "latency_ms: 1", 4);
	assert_int_equal(apply_wrapped(&f, &lost_ops, 1000, 1, NULL, &res, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "the state lock was lost (test)"));
	assert_true(res.not_started > 0);
	free(res.summary);
	fx_close(&f);
}

/* a failed state write: apply stops, and its summary names the finished
 * actions the state does not record instead of claiming they are */
static void test_exec_commit_fails(void **state)
{
	struct fx f;
	struct lf_apply_result res;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	(void)state;
	fx_open(&f, "latency_ms: 1", 2);
	rc = apply_wrapped(&f, &flaky_ops, 1, 1, NULL, &res, &err);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err.msg, "disk full"));
	assert_true(res.commit_failed);
	assert_int_equal(res.commits, 1);
	assert_true(res.done >= 2);
	/* how many finished before the first commit depends on scheduling;
	 * what the summary calls unrecorded is exactly what the state lacks */
	assert_true(res.unrecorded >= 1);
	assert_true(res.unrecorded < res.done);
	{
		struct lf_state_doc disk;

		memset(&disk, 0, sizeof(disk));
		assert_int_equal(lf_state_read(f.state, &disk, &err), 0);
		assert_int_equal(json_object_size(disk.resources), res.done - res.unrecorded);
		lf_state_doc_clear(&disk);
	}
	assert_non_null(res.summary);
	assert_non_null(strstr(res.summary, "NOT recorded"));
	free(res.summary);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_order_and_parallelism),
		cmocka_unit_test(test_exec_provider_limit),
		cmocka_unit_test(test_exec_failure_isolated),
		cmocka_unit_test(test_exec_retries),
		cmocka_unit_test(test_exec_delete_reverse_order),
		cmocka_unit_test(test_exec_no_threads),
		cmocka_unit_test(test_exec_fewer_threads),
		cmocka_unit_test(test_refresh_threads),
		cmocka_unit_test(test_exec_commit_fails),
		cmocka_unit_test(test_exec_lock_lost),
		cmocka_unit_test(test_exec_commits_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
