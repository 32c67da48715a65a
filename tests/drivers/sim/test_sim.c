/*
 * The sim driver through the real plugin loader: latency that overlaps in
 * parallel, cancellation, seeded (repeatable) fault injection, transient
 * vs permanent codes, quota, outage, fail_match, in-place resize, disk
 * shrink refused, put/exec counters, persistence in a db file shared by
 * connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/util/util.h"

static struct lf_registry *reg;
static const struct lf_driver *sim;

static int group_setup(void **state)
{
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	if (lf_registry_new(&reg) != 0 || lf_registry_get(reg, "sim", &sim, &err) != 0) {
		print_message("cannot load sim: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lf_registry_free(reg);
	return 0;
}

/* open with a JSON config (stolen) */
static struct lf_driver_conn *sim_open(json_t *cfg, int *rc, struct lf_err *err)
{
	struct lf_kv *kv = lf_kv_wrap(cfg);
	struct lf_driver_conn *c = NULL;

	*rc = sim->open(&c, kv, NULL, 0, err);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	return c;
}

static struct lf_driver_conn *must_open(json_t *cfg)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;
	struct lf_driver_conn *c = sim_open(cfg, &rc, &err);

	if (rc != 0)
		print_message("open: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(c);
	return c;
}

static struct lf_host_spec spec_of(const char *name)
{
	struct lf_host_spec s;

	memset(&s, 0, sizeof(s));
	s.address = "host.test.x";
	s.name = name;
	s.hostname = name;
	s.vcpus = 2;
	s.memory_mb = 4096;
	s.disk_gb = 50;
	s.image = "debian-12";
	return s;
}

/* 'c' create, 'r' read, 'u' update, 'd' delete; attrs to *out if given */
static int op(struct lf_driver_conn *c, int which, const struct lf_host_spec *s,
	      json_t **out, struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	json_t *o;
	int rc;

	if (which == 'c')
		rc = sim->host_create(c, s, b, 0, err);
	else if (which == 'r')
		rc = sim->host_read(c, s, b, 0, err);
	else if (which == 'u')
		rc = sim->host_update(c, s, b, 0, err);
	else
		rc = sim->host_delete(c, s, 0, err);
	o = lf_kv_builder_finish(b);
	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

static const char *attr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "(none)";
}

/* ---- latency ----------------------------------------------------------
 * No clock is read: the sim is handed a host API whose cancelled() counts
 * the threads polling it from inside the latency sleep (the second poll of
 * a call is the sleep's first), so overlap and cancellation are seen as
 * behaviour. How fast a cancel wakes a sleeper is a number for bench/. */

static const struct lf_host_api *core_api;
static struct lf_host_api probe_api;
static atomic_int probe_sleepers;   /* calls seen inside the sleep */
static atomic_int probe_release_at; /* cancel all once this many sleep */
static _Thread_local int probe_polls;

static int probe_cancelled(void)
{
	if (++probe_polls == 2)
		atomic_fetch_add(&probe_sleepers, 1);
	if (atomic_load(&probe_release_at) > 0 &&
	    atomic_load(&probe_sleepers) >= atomic_load(&probe_release_at))
		return 1;
	return core_api->cancelled();
}

/* hand the loaded sim plugin our probe (or, with 0, the core's API back) */
static void probe_install(int on)
{
	const struct lf_driver *(*entry)(const struct lf_host_api *);
	Dl_info info;
	void *h;

	assert_true(dladdr((void *)sim->open, &info) != 0);
	h = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	*(void **)&entry = dlsym(h, "lf_driver_entry");
	assert_non_null(entry);
	core_api = lf_host_api();
	probe_api = *core_api;
	probe_api.cancelled = probe_cancelled;
	atomic_store(&probe_sleepers, 0);
	atomic_store(&probe_release_at, 0);
	assert_true(entry(on ? &probe_api : core_api) == sim);
	dlclose(h);
}

struct par {
	struct lf_driver_conn *c;
	char name[32];
	int rc;
};

static void *par_create(void *arg)
{
	struct par *p = arg;
	struct lf_host_spec s = spec_of(p->name);
	struct lf_err err = LF_ERR_INIT;

	probe_polls = 0;
	p->rc = op(p->c, 'c', &s, NULL, &err);
	return NULL;
}

/* n parallel creates, each with a latency far beyond the test: they are
 * released (cancelled) only once all n sleep at the same time */
static void run_parallel(struct lf_driver_conn *c, int n, const char *prefix)
{
	struct par *ps = lf_xcalloc((size_t)n, sizeof(*ps));
	pthread_t *t = lf_xcalloc((size_t)n, sizeof(*t));
	int i;

	atomic_store(&probe_sleepers, 0);
	atomic_store(&probe_release_at, n);
	for (i = 0; i < n; i++) {
		ps[i].c = c;
		snprintf(ps[i].name, sizeof(ps[i].name), "%s%d", prefix, i);
		assert_int_equal(pthread_create(&t[i], NULL, par_create, &ps[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&probe_sleepers), n);
	for (i = 0; i < n; i++)
		assert_int_equal(ps[i].rc, LF_ECANCELED);
	atomic_store(&probe_release_at, 0);
	free(ps);
	free(t);
}

static void test_sim_latency_overlaps(void **state)
{
	struct lf_driver_conn *c;
	struct lf_host_spec s = spec_of("p0");
	struct lf_err err = LF_ERR_INIT;
	json_t *o;

	(void)state;
	probe_install(1);
	/* 20 (then 50) calls sleep at once: no lock is held while sleeping */
	c = must_open(json_pack("{s:i}", "latency_ms", 600000));
	run_parallel(c, 20, "p");
	sim->close(c);
	c = must_open(json_pack("{s:i,s:i}", "latency_ms", 600000, "jitter_ms", 0));
	run_parallel(c, 50, "q");
	sim->close(c);
	probe_install(0);
	/* a call that sleeps its latency completes */
	c = must_open(json_pack("{s:i}", "latency_ms", 20));
	assert_int_equal(op(c, 'c', &s, NULL, &err), 0);
	assert_int_equal(op(c, 'r', &s, &o, &err), 0);
	assert_string_equal(attr(o, "state"), "running");
	assert_int_equal(strlen(attr(o, "id")), 12);
	assert_true(lf_str_has_prefix(attr(o, "id"), "sim-"));
	json_decref(o);
	sim->close(c);
}

struct canc {
	struct lf_driver_conn *c;
	int rc;
	struct lf_err err;
};

static void *canc_create(void *arg)
{
	struct canc *k = arg;
	struct lf_host_spec s = spec_of("slow");

	probe_polls = 0;
	k->rc = op(k->c, 'c', &s, NULL, &k->err);
	return NULL;
}

/* a cancel wakes a call sleeping a latency far beyond the test */
static void test_sim_cancel_wakes(void **state)
{
	struct canc k = { NULL, -99, LF_ERR_INIT };
	struct lf_host_spec s = spec_of("slow");
	struct lf_err err = LF_ERR_INIT;
	pthread_t t;

	(void)state;
	probe_install(1);
	k.c = must_open(json_pack("{s:i}", "latency_ms", 600000));
	assert_int_equal(pthread_create(&t, NULL, canc_create, &k), 0);
	while (atomic_load(&probe_sleepers) < 1) /* a condition, not a time */
		lf_sleep_ms(5);
	lf_host_set_cancelled(1);
	pthread_join(t, NULL);
	lf_host_set_cancelled(0);
	probe_install(0);
	assert_int_equal(k.rc, LF_ECANCELED);
	assert_int_equal(k.err.code, LF_ECANCELED);
	/* nothing was created */
	sim->close(k.c);
	k.c = must_open(json_object());
	assert_int_equal(op(k.c, 'r', &s, NULL, &err), LF_ENOTFOUND);
	sim->close(k.c);
}

/* ---- injected failures -------------------------------------------------- */

static void codes_of(json_t *cfg, int *codes, int n)
{
	struct lf_driver_conn *c = must_open(cfg);
	struct lf_err err;
	char name[32];
	struct lf_host_spec s;
	int i;

	for (i = 0; i < n; i++) {
		lf_err_clear(&err);
		snprintf(name, sizeof(name), "h%d", i);
		s = spec_of(name);
		codes[i] = op(c, 'c', &s, NULL, &err);
		assert_int_equal(codes[i], err.code);
	}
	sim->close(c);
}

static void test_sim_seeded_repeatable(void **state)
{
	int a[64], b[64], d[64], i, ok = 0, tr = 0, perm = 0;

	(void)state;
	codes_of(json_pack("{s:i,s:f,s:f}", "seed", 42, "fail_rate", 0.5,
			   "transient_ratio", 0.5), a, 64);
	codes_of(json_pack("{s:s,s:s,s:s}", "seed", "42", "fail_rate", "0.5",
			   "transient_ratio", "0.5"), b, 64);
	codes_of(json_pack("{s:i,s:f,s:f}", "seed", 43, "fail_rate", 0.5,
			   "transient_ratio", 0.5), d, 64);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, d, sizeof(a));
	for (i = 0; i < 64; i++) {
		ok += a[i] == 0;
		tr += a[i] == LF_ERETRY;
		perm += a[i] == LF_ERROR;
	}
	print_message("seed 42: %d ok, %d transient, %d permanent\n", ok, tr, perm);
	assert_int_equal(ok + tr + perm, 64);
	assert_true(ok > 10 && tr > 5 && perm > 5);
}

static void test_sim_transient_vs_permanent(void **state)
{
	struct lf_host_spec s = spec_of("x");
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;

	(void)state;
	c = must_open(json_pack("{s:f,s:f}", "fail_rate", 1.0, "transient_ratio", 1.0));
	assert_int_equal(op(c, 'c', &s, NULL, &err), LF_ERETRY);
	assert_non_null(strstr(err.msg, "transient"));
	sim->close(c);
	lf_err_clear(&err);
	c = must_open(json_pack("{s:f,s:f}", "fail_rate", 1.0, "transient_ratio", 0.0));
	assert_int_equal(op(c, 'c', &s, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, "permanent"));
	sim->close(c);
	/* per-op rate: only reads fail */
	lf_err_clear(&err);
	c = must_open(json_pack("{s:f}", "fail_rate_read", 1.0));
	assert_int_equal(op(c, 'c', &s, NULL, &err), 0);
	assert_int_equal(op(c, 'r', &s, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, "read of 'x'"));
	lf_err_clear(&err);
	assert_int_equal(op(c, 'u', &s, NULL, &err), 0);
	assert_int_equal(op(c, 'd', &s, NULL, &err), 0);
	sim->close(c);
}

static void test_sim_outage_and_match(void **state)
{
	struct lf_host_spec s = spec_of("a");
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	int i;

	(void)state;
	c = must_open(json_pack("{s:i}", "fail_after", 3));
	for (i = 0; i < 3; i++)
		assert_int_equal(op(c, i ? 'r' : 'c', &s, NULL, &err), 0);
	for (i = 0; i < 3; i++) {
		lf_err_clear(&err);
		assert_int_equal(op(c, 'r', &s, NULL, &err), LF_ERROR);
		assert_non_null(strstr(err.msg, "provider outage"));
	}
	sim->close(c);
	lf_err_clear(&err);
	c = must_open(json_pack("{s:s}", "fail_match", "bad"));
	s.name = "peer0-bad";
	assert_int_equal(op(c, 'c', &s, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, "fail_match 'bad'"));
	lf_err_clear(&err);
	s.name = "peer0-good";
	assert_int_equal(op(c, 'c', &s, NULL, &err), 0);
	sim->close(c);
}

static void test_sim_quota(void **state)
{
	struct lf_driver_conn *c = must_open(json_pack("{s:i}", "quota", 2));
	struct lf_host_spec a = spec_of("a"), b = spec_of("b"), d = spec_of("d");
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	assert_int_equal(op(c, 'c', &a, NULL, &err), 0);
	assert_int_equal(op(c, 'c', &b, NULL, &err), 0);
	assert_int_equal(op(c, 'c', &d, NULL, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "quota exceeded: 2 hosts"));
	lf_err_clear(&err);
	assert_int_equal(op(c, 'c', &a, NULL, &err), 0); /* adopt, not a new host */
	assert_int_equal(op(c, 'd', &a, NULL, &err), 0);
	assert_int_equal(op(c, 'c', &d, NULL, &err), 0);
	sim->close(c);
}

static void test_sim_resize_in_place(void **state)
{
	struct lf_driver_conn *c = must_open(json_object());
	struct lf_host_spec s = spec_of("r");
	struct lf_err err = LF_ERR_INIT;
	json_t *o1, *o2;

	(void)state;
	assert_false(sim->caps & LF_CAP_IMAGE_INPLACE);
	assert_true(sim->caps & LF_CAP_RESIZE_INPLACE);
	assert_int_equal(op(c, 'c', &s, &o1, &err), 0);
	s.vcpus = 8;
	s.memory_mb = 16384;
	s.disk_gb = 100;
	assert_int_equal(op(c, 'u', &s, &o2, &err), 0);
	assert_string_equal(attr(o2, "id"), attr(o1, "id"));
	assert_string_equal(attr(o2, "vcpus"), "8");
	assert_string_equal(attr(o2, "memory_mb"), "16384");
	assert_string_equal(attr(o2, "disk_gb"), "100");
	json_decref(o2);
	assert_int_equal(op(c, 'r', &s, &o2, &err), 0);
	assert_string_equal(attr(o2, "vcpus"), "8");
	json_decref(o2);
	s.disk_gb = 20;
	assert_int_equal(op(c, 'u', &s, NULL, &err), LF_EINVALID);
	assert_string_equal(err.msg, "disk cannot shrink: 100 -> 20 GB");
	lf_err_clear(&err);
	s.disk_gb = 100;
	s.image = "ubuntu-24.04";
	assert_int_equal(op(c, 'u', &s, NULL, &err), LF_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "image change needs a replace"));
	lf_err_clear(&err);
	s.name = "nope";
	assert_int_equal(op(c, 'u', &s, NULL, &err), LF_ENOTFOUND);
	assert_int_equal(sim->host_create(c, &s, NULL, 0x10, &err), LF_EINVALID);
	json_decref(o1);
	sim->close(c);
}

static void test_sim_put_exec_counts(void **state)
{
	struct lf_driver_conn *c = must_open(json_object());
	struct lf_host_spec s = spec_of("n");
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	const char *argv[] = { "peer", "node", "start", NULL };
	json_t *o;

	(void)state;
	assert_int_equal(op(c, 'c', &s, NULL, &err), 0);
	assert_int_equal(sim->put(c, &s, "etc/core.yaml", "x", 1, 0644, 0, &err), 0);
	assert_int_equal(sim->put(c, &s, "msp/key.pem", "k", 1, 0600, 0, &err), 0);
	assert_int_equal(sim->put(c, &s, "../x", "k", 1, 0600, 0, &err), LF_EINVALID);
	lf_err_clear(&err);
	memset(&r, 0, sizeof(r));
	assert_int_equal(sim->exec(c, &s, argv, &r, lf_host_out_alloc, 0, &err), 0);
	assert_int_equal(r.exit_status, 0);
	assert_string_equal(r.output, "peer node start\n");
	assert_int_equal(r.output_len, 16);
	free(r.output);
	assert_int_equal(op(c, 'r', &s, &o, &err), 0);
	assert_string_equal(attr(o, "put_count"), "2");
	assert_string_equal(attr(o, "exec_count"), "1");
	json_decref(o);
	s.name = "ghost";
	assert_int_equal(sim->put(c, &s, "a", "k", 1, 0600, 0, &err), LF_ENOTFOUND);
	sim->close(c);
}

/* ---- db ------------------------------------------------------------- */

static void *par_create_db(void *arg)
{
	return par_create(arg);
}

static void test_sim_db_persistence(void **state)
{
	char dir[] = "/tmp/lf-sim-XXXXXX";
	char *db;
	struct lf_driver_conn *a, *b;
	struct lf_host_spec s = spec_of("persist");
	struct lf_err err = LF_ERR_INIT;
	struct par ps[20];
	pthread_t t[20];
	json_t *o1, *o2, *file;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	a = must_open(json_pack("{s:s}", "db", db));
	b = must_open(json_pack("{s:s}", "db", db));
	assert_int_equal(op(a, 'c', &s, &o1, &err), 0);
	assert_int_equal(op(b, 'r', &s, &o2, &err), 0);
	assert_string_equal(attr(o1, "id"), attr(o2, "id"));
	json_decref(o1);
	json_decref(o2);
	/* parallel writers on two connections: flock keeps every host */
	for (i = 0; i < 20; i++) {
		ps[i].c = i % 2 ? a : b;
		snprintf(ps[i].name, sizeof(ps[i].name), "w%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, par_create_db, &ps[i]), 0);
	}
	for (i = 0; i < 20; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(ps[i].rc, 0);
	}
	file = json_load_file(db, 0, NULL);
	assert_non_null(file);
	assert_int_equal(json_object_size(json_object_get(file, "hosts")), 21);
	json_decref(file);
	assert_int_equal(op(b, 'd', &s, NULL, &err), 0);
	assert_int_equal(op(a, 'r', &s, NULL, &err), LF_ENOTFOUND);
	sim->close(a);
	sim->close(b);
	/* a new connection (another process would do the same) still sees them */
	a = must_open(json_pack("{s:s}", "db", db));
	s.name = "w7";
	assert_int_equal(op(a, 'r', &s, NULL, &err), 0);
	sim->close(a);
	lf_rmtree(dir, NULL);
	free(db);
}

static void test_sim_db_without_index(void **state)
{
	char dir[] = "/tmp/lf-simdb-XXXXXX";
	const char *text;
	char *db;
	struct lf_driver_conn *c;
	struct lf_host_spec s = spec_of("old");
	struct lf_err err = LF_ERR_INIT;
	json_t *o, *file;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	/* a file written without the id index (or by hand) */
	text = "{\"version\":1,\"hosts\":{\"old\":{\"id\":\"sim-0000beef\",\"vcpus\":1,"
	       "\"memory_mb\":512,\"disk_gb\":5,\"image\":\"debian-12\",\"state\":\"running\"}}}";
	assert_int_equal(lf_write_file_atomic(db, text, strlen(text), 0644, NULL), 0);
	c = must_open(json_pack("{s:s,s:i}", "db", db, "seed", 5));
	assert_int_equal(op(c, 'r', &s, &o, &err), 0);
	assert_string_equal(attr(o, "id"), "sim-0000beef");
	assert_string_equal(attr(o, "memory_mb"), "512");
	json_decref(o);
	s.name = "new";
	assert_int_equal(op(c, 'c', &s, &o, &err), 0);
	assert_string_not_equal(attr(o, "id"), "sim-0000beef");
	json_decref(o);
	file = json_load_file(db, 0, NULL);
	assert_int_equal(json_object_size(json_object_get(file, "ids")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(file, "ids"),
							      "sim-0000beef")), "old");
	json_decref(file);
	sim->close(c);
	/* a broken db is an error naming the file, not an empty cloud */
	assert_int_equal(lf_write_file_atomic(db, "{oops", 5, 0644, NULL), 0);
	c = must_open(json_pack("{s:s}", "db", db));
	assert_int_equal(op(c, 'r', &s, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, db));
	assert_non_null(strstr(err.msg, "not valid JSON"));
	sim->close(c);
	lf_rmtree(dir, NULL);
	free(db);
}

static void test_sim_config_errors(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;

	(void)state;
	assert_null(sim_open(json_pack("{s:s}", "fail_rate", "2"), &rc, &err));
	assert_int_equal(rc, LF_EINVALID);
	assert_non_null(strstr(err.msg, "fail_rate '2' is not a number in 0..1"));
	lf_err_clear(&err);
	assert_null(sim_open(json_pack("{s:i}", "latency_ms", -5), &rc, &err));
	assert_int_equal(rc, LF_EINVALID);
	assert_non_null(strstr(err.msg, "latency_ms '-5'"));
	lf_err_clear(&err);
	assert_null(sim_open(json_pack("{s:s}", "seed", "abc"), &rc, &err));
	assert_int_equal(rc, LF_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_latency_overlaps),
		cmocka_unit_test(test_sim_cancel_wakes),
		cmocka_unit_test(test_sim_seeded_repeatable),
		cmocka_unit_test(test_sim_transient_vs_permanent),
		cmocka_unit_test(test_sim_outage_and_match),
		cmocka_unit_test(test_sim_quota),
		cmocka_unit_test(test_sim_resize_in_place),
		cmocka_unit_test(test_sim_put_exec_counts),
		cmocka_unit_test(test_sim_db_persistence),
		cmocka_unit_test(test_sim_db_without_index),
		cmocka_unit_test(test_sim_config_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
