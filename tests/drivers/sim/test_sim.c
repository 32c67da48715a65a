/*
 * The sim driver (ABI 2) through the real plugin loader: operations that
 * sleep concurrently (each cancellable on its own), cancellation, seeded
 * (repeatable) fault injection, transient vs permanent codes, quota,
 * outage, fail_match, in-place resize and change_kind (disk shrink
 * refused, vCPUs past max_vcpus need a restart), host_import, validate
 * diagnostics, the transport role (put/get with files_dir, exec echoing
 * argv, counters, machine facts), and a db file shared by connections
 * and by networks (records keyed by lineage and resource address).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/util/util.h"

#define LIN_A "a1a1a1a1-0000-4000-8000-00000000000a"
#define LIN_B "b2b2b2b2-0000-4000-8000-00000000000b"
#define LIN_C "c3c3c3c3-0000-4000-8000-00000000000c"

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

static void call_of(struct lf_call *call, const char *resource)
{
	lf_call_init(call, "sim", "sim", resource);
}

/* open with a JSON config (stolen) */
static struct lf_driver_conn *sim_open(json_t *cfg, int *rc, struct lf_err *err)
{
	struct lf_kv *kv = lf_kv_wrap(cfg);
	struct lf_driver_conn *c = NULL;
	struct lf_call call;

	call_of(&call, NULL);
	*rc = sim->open(&c, kv, &call, 0, err);
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

/* a host spec; never copied by value (spec.resource points into res) */
struct host {
	struct lf_host_spec s;
	char res[128];
};

static void host_init(struct host *h, const char *name, const char *lineage)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->res, sizeof(h->res), "host.test.%s", name);
	h->s.resource = h->res;
	h->s.lineage = lineage;
	h->s.name = name;
	h->s.hostname = name;
	h->s.vcpus = 2;
	h->s.memory_mb = 4096;
	h->s.disk_gb = 50;
	h->s.image = "debian-12";
}

static void host_rename(struct host *h, const char *name)
{
	snprintf(h->res, sizeof(h->res), "host.test.%s", name);
	h->s.name = name;
	h->s.hostname = name;
}

static struct lf_target target_of(const struct host *h)
{
	struct lf_target t;

	memset(&t, 0, sizeof(t));
	t.resource = h->s.resource;
	t.lineage = h->s.lineage;
	t.name = h->s.name;
	return t;
}

/* 'c' create, 'r' read, 'u' update, 'd' delete, with call (NULL: a fresh
 * one) and flags; outputs to *out if given */
static int op_full(struct lf_driver_conn *c, int which, const struct host *h,
		   struct lf_call *callp, unsigned int flags, json_t **out,
		   struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_call own;
	struct lf_call *call = callp;
	json_t *o;
	int rc;

	if (!call) {
		call_of(&own, h->s.resource);
		call = &own;
	}
	if (which == 'c')
		rc = sim->host_create(c, &h->s, call, b, flags, err);
	else if (which == 'r')
		rc = sim->host_read(c, &h->s, call, b, flags, err);
	else if (which == 'u')
		rc = sim->host_update(c, &h->s, call, b, flags, err);
	else
		rc = sim->host_delete(c, &h->s, call, flags, err);
	o = lf_kv_builder_finish(b);
	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

static int op(struct lf_driver_conn *c, int which, const struct host *h,
	      json_t **out, struct lf_err *err)
{
	return op_full(c, which, h, NULL, 0, out, err);
}

static const char *attr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "(none)";
}

static long long num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return (long long)json_integer_value(v);
}

/* the id of h as read now (caller frees) */
static char *read_id(struct lf_driver_conn *c, const struct host *h)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *o;
	char *id;

	assert_int_equal(op(c, 'r', h, &o, &err), 0);
	id = lf_xstrdup(attr(o, "id"));
	json_decref(o);
	return id;
}

static int put_files(struct lf_driver_conn *c, const struct host *h,
		     const struct lf_file *files, size_t n, struct lf_err *err)
{
	struct lf_target t = target_of(h);
	struct lf_call call;

	call_of(&call, h->s.resource);
	return sim->put(c, &t, files, n, &call, 0, err);
}

static int put1(struct lf_driver_conn *c, const struct host *h, const char *path,
		const char *data, unsigned int mode, struct lf_err *err)
{
	struct lf_file one = { path, data, strlen(data), mode, NULL };

	return put_files(c, h, &one, 1, err);
}

static const char *txt(const struct lf_blob *b)
{
	return b->data ? b->data : "";
}

static json_t *load_db(const char *db)
{
	json_t *file = json_load_file(db, 0, NULL);

	assert_non_null(file);
	return file;
}

/* ---- concurrency --------------------------------------------------------- */

struct par {
	struct lf_driver_conn *c;
	char name[32];
	const char *lineage;
	int rc;
	char id[32];
};

static void *par_create(void *arg)
{
	struct par *p = arg;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	json_t *o = NULL;

	host_init(&h, p->name, p->lineage);
	p->rc = op(p->c, 'c', &h, &o, &err);
	snprintf(p->id, sizeof(p->id), "%s", attr(o, "id"));
	json_decref(o);
	return NULL;
}

/* n parallel creates on c, every one must succeed */
static void run_parallel(struct lf_driver_conn *c, int n, const char *prefix)
{
	struct par *ps = lf_xcalloc((size_t)n, sizeof(*ps));
	pthread_t *t = lf_xcalloc((size_t)n, sizeof(*t));
	int i, j;

	for (i = 0; i < n; i++) {
		ps[i].c = c;
		ps[i].lineage = LIN_A;
		snprintf(ps[i].name, sizeof(ps[i].name), "%s%d", prefix, i);
		assert_int_equal(pthread_create(&t[i], NULL, par_create, &ps[i]), 0);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < n; i++) {
		assert_int_equal(ps[i].rc, 0);
		assert_true(lf_str_has_prefix(ps[i].id, "sim-"));
		for (j = 0; j < i; j++)
			assert_string_not_equal(ps[i].id, ps[j].id);
	}
	free(ps);
	free(t);
}

static void test_sim_parallel_creates(void **state)
{
	struct lf_driver_conn *c = must_open(json_pack("{s:i}", "latency_ms", 50));
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	json_t *o;

	(void)state;
	run_parallel(c, 20, "p");
	host_init(&h, "p0", LIN_A);
	assert_int_equal(op(c, 'r', &h, &o, &err), 0);
	assert_string_equal(attr(o, "power"), "running");
	assert_int_equal(strlen(attr(o, "id")), 12);
	assert_true(lf_str_has_prefix(attr(o, "id"), "sim-"));
	assert_true(lf_str_has_prefix(attr(o, "machine_address"), "10."));
	assert_null(json_object_get(o, "address"));
	assert_int_equal(num(o, "vcpus"), 2);
	assert_int_equal(num(o, "memory_mb"), 4096);
	assert_int_equal(num(o, "disk_gb"), 50);
	json_decref(o);
	host_rename(&h, "p19");
	assert_int_equal(op(c, 'r', &h, NULL, &err), 0);
	sim->close(c);
}

/* Operations sleep without holding a lock: N creates are all in flight at
 * once, each cancellable through its own call. Cancelled one by one in
 * reverse order, each returns alone while the others are still sleeping,
 * so the maximum number of concurrent operations observed is N (a driver
 * that slept under a lock would leave the later ones stuck behind the
 * first). */
#define NCONC 12

struct conc {
	struct lf_driver_conn *c;
	char name[32];
	atomic_int cancel;
	atomic_int *entered;
	atomic_int done;
	int rc;
};

static void *conc_create(void *arg)
{
	struct conc *k = arg;
	struct host h;
	struct lf_call call;
	struct lf_err err = LF_ERR_INIT;

	host_init(&h, k->name, LIN_A);
	call_of(&call, h.s.resource);
	call.cancel = &k->cancel;
	atomic_fetch_add(k->entered, 1);
	k->rc = op_full(k->c, 'c', &h, &call, 0, NULL, &err);
	atomic_store(&k->done, 1);
	return NULL;
}

static void test_sim_concurrent_ops(void **state)
{
	char dir[] = "/tmp/lf-simconc-XXXXXX";
	char *db;
	struct conc *ks = lf_xcalloc(NCONC, sizeof(*ks));
	pthread_t t[NCONC];
	atomic_int entered = 0;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c, *fast;
	struct host h;
	json_t *file;
	int i, j, still, max_inflight = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	fast = must_open(json_pack("{s:s}", "db", db));
	host_init(&h, "first", LIN_A);
	assert_int_equal(op(fast, 'c', &h, NULL, &err), 0);
	c = must_open(json_pack("{s:s,s:i}", "db", db, "latency_ms", 600000));
	for (i = 0; i < NCONC; i++) {
		ks[i].c = c;
		ks[i].entered = &entered;
		snprintf(ks[i].name, sizeof(ks[i].name), "cc%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, conc_create, &ks[i]), 0);
	}
	while (atomic_load(&entered) < NCONC)
		lf_sleep_ms(5);
	/* meanwhile the db is not locked by the sleepers */
	host_rename(&h, "second");
	assert_int_equal(op(fast, 'c', &h, NULL, &err), 0);
	for (i = NCONC - 1; i >= 0; i--) {
		still = 0;
		for (j = 0; j <= i; j++)
			still += !atomic_load(&ks[j].done);
		if (still > max_inflight)
			max_inflight = still;
		/* none returned before its own cancel */
		assert_int_equal(still, i + 1);
		atomic_store(&ks[i].cancel, 1);
		pthread_join(t[i], NULL);
		assert_int_equal(ks[i].rc, LF_ECANCELED);
	}
	print_message("max concurrent sim operations observed: %d\n", max_inflight);
	assert_int_equal(max_inflight, NCONC);
	/* a cancelled create made nothing */
	file = load_db(db);
	assert_int_equal(json_object_size(json_object_get(file, "hosts")), 2);
	json_decref(file);
	sim->close(c);
	sim->close(fast);
	lf_rmtree(dir, NULL);
	free(db);
	free(ks);
}

struct canc {
	struct lf_driver_conn *c;
	atomic_int entered;
	int rc;
	struct lf_err err;
};

static void *canc_create(void *arg)
{
	struct canc *k = arg;
	struct host h;

	host_init(&h, "slow", LIN_A);
	atomic_store(&k->entered, 1);
	k->rc = op(k->c, 'c', &h, NULL, &k->err);
	return NULL;
}

/* the process-wide cancel (second ^C) wakes a sleeping call; nothing is
 * created */
static void test_sim_cancel_wakes(void **state)
{
	char dir[] = "/tmp/lf-simcancel-XXXXXX";
	char *db;
	struct canc k = { NULL, 0, -99, LF_ERR_INIT };
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *fast;
	pthread_t t;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	host_init(&h, "slow", LIN_A);
	k.c = must_open(json_pack("{s:s,s:i}", "db", db, "latency_ms", 600000));
	assert_int_equal(pthread_create(&t, NULL, canc_create, &k), 0);
	while (!atomic_load(&k.entered))
		lf_sleep_ms(5);
	lf_host_set_cancelled(1);
	pthread_join(t, NULL);
	lf_host_set_cancelled(0);
	assert_int_equal(k.rc, LF_ECANCELED);
	assert_int_equal(k.err.code, LF_ECANCELED);
	sim->close(k.c);
	/* the same cloud without latency: the host is not there */
	fast = must_open(json_pack("{s:s}", "db", db));
	assert_int_equal(op(fast, 'r', &h, NULL, &err), LF_ENOTFOUND);
	sim->close(fast);
	lf_rmtree(dir, NULL);
	free(db);
}

/* ---- injected failures -------------------------------------------------- */

static void codes_of(json_t *cfg, int *codes, int n)
{
	struct lf_driver_conn *c = must_open(cfg);
	struct lf_err err;
	char name[32];
	struct host h;
	int i;

	for (i = 0; i < n; i++) {
		lf_err_clear(&err);
		snprintf(name, sizeof(name), "h%d", i);
		host_init(&h, name, LIN_A);
		codes[i] = op(c, 'c', &h, NULL, &err);
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
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;

	(void)state;
	host_init(&h, "x", LIN_A);
	c = must_open(json_pack("{s:f,s:f}", "fail_rate", 1.0, "transient_ratio", 1.0));
	assert_int_equal(op(c, 'c', &h, NULL, &err), LF_ERETRY);
	assert_non_null(strstr(err.msg, "transient"));
	sim->close(c);
	lf_err_clear(&err);
	c = must_open(json_pack("{s:f,s:f}", "fail_rate", 1.0, "transient_ratio", 0.0));
	assert_int_equal(op(c, 'c', &h, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, "permanent"));
	sim->close(c);
	/* per-op rate: only reads fail */
	lf_err_clear(&err);
	c = must_open(json_pack("{s:f}", "fail_rate_read", 1.0));
	assert_int_equal(op(c, 'c', &h, NULL, &err), 0);
	assert_int_equal(op(c, 'r', &h, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, "read of 'x'"));
	lf_err_clear(&err);
	assert_int_equal(op(c, 'u', &h, NULL, &err), 0);
	assert_int_equal(op(c, 'd', &h, NULL, &err), 0);
	sim->close(c);
}

static void test_sim_outage_and_match(void **state)
{
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	int i;

	(void)state;
	host_init(&h, "a", LIN_A);
	c = must_open(json_pack("{s:i}", "fail_after", 3));
	for (i = 0; i < 3; i++)
		assert_int_equal(op(c, i ? 'r' : 'c', &h, NULL, &err), 0);
	for (i = 0; i < 3; i++) {
		lf_err_clear(&err);
		assert_int_equal(op(c, 'r', &h, NULL, &err), LF_ERROR);
		assert_non_null(strstr(err.msg, "provider outage"));
	}
	sim->close(c);
	lf_err_clear(&err);
	c = must_open(json_pack("{s:s}", "fail_match", "bad"));
	host_rename(&h, "peer0-bad");
	assert_int_equal(op(c, 'c', &h, NULL, &err), LF_ERROR);
	assert_non_null(strstr(err.msg, "fail_match 'bad'"));
	lf_err_clear(&err);
	host_rename(&h, "peer0-good");
	assert_int_equal(op(c, 'c', &h, NULL, &err), 0);
	sim->close(c);
}

static void test_sim_quota(void **state)
{
	struct lf_driver_conn *c = must_open(json_pack("{s:i}", "quota", 2));
	struct host a, b, d;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	host_init(&a, "a", LIN_A);
	host_init(&b, "b", LIN_A);
	host_init(&d, "d", LIN_A);
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

/* ---- changes ------------------------------------------------------------ */

static void test_sim_resize_in_place(void **state)
{
	struct lf_driver_conn *c = must_open(json_object());
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	json_t *o1, *o2;

	(void)state;
	host_init(&h, "r", LIN_A);
	assert_int_equal(op(c, 'c', &h, &o1, &err), 0);
	h.s.vcpus = 8;
	h.s.memory_mb = 16384;
	h.s.disk_gb = 100;
	assert_int_equal(op(c, 'u', &h, &o2, &err), 0);
	assert_string_equal(attr(o2, "id"), attr(o1, "id"));
	assert_int_equal(num(o2, "vcpus"), 8);
	assert_int_equal(num(o2, "memory_mb"), 16384);
	assert_int_equal(num(o2, "disk_gb"), 100);
	json_decref(o2);
	assert_int_equal(op(c, 'r', &h, &o2, &err), 0);
	assert_int_equal(num(o2, "vcpus"), 8);
	json_decref(o2);
	h.s.disk_gb = 20;
	assert_int_equal(op(c, 'u', &h, NULL, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "disk cannot shrink: 100 -> 20 GB"));
	lf_err_clear(&err);
	h.s.disk_gb = 100;
	h.s.image = "ubuntu-24.04";
	assert_int_equal(op(c, 'u', &h, NULL, &err), LF_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "image change needs a replace"));
	lf_err_clear(&err);
	host_rename(&h, "nope");
	assert_int_equal(op(c, 'u', &h, NULL, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	assert_int_equal(op_full(c, 'c', &h, NULL, 0x10, NULL, &err), LF_EINVALID);
	json_decref(o1);
	sim->close(c);
}

static enum lf_change_kind kind(const json_t *cfg, const char *key, const char *o,
				const char *n, char *why, size_t len)
{
	struct lf_kv *kv = lf_kv_wrap(cfg);
	enum lf_change_kind k;

	why[0] = '\0';
	k = sim->change_kind(kv, key, o, n, why, len);
	lf_kv_unwrap(kv);
	return k;
}

static void test_sim_change_kind(void **state)
{
	json_t *cfg = json_pack("{s:i}", "max_vcpus", 4);
	char why[256];

	(void)state;
	assert_non_null(sim->change_kind);
	/* a disk shrink is refused at plan, with the reason */
	assert_int_equal(kind(cfg, "disk_gb", "50", "20", why, sizeof(why)), LF_CHANGE_REFUSED);
	assert_non_null(strstr(why, "shrink"));
	assert_int_equal(kind(cfg, "disk_gb", "50", "100", why, sizeof(why)), LF_CHANGE_INPLACE);
	/* vCPUs: in place up to max_vcpus, past it with a restart */
	assert_int_equal(kind(cfg, "vcpus", "2", "4", why, sizeof(why)), LF_CHANGE_INPLACE);
	assert_int_equal(kind(cfg, "vcpus", "2", "8", why, sizeof(why)), LF_CHANGE_RESTART);
	assert_true(why[0] != '\0');
	assert_int_equal(kind(cfg, "memory_mb", "4096", "8192", why, sizeof(why)),
			 LF_CHANGE_INPLACE);
	assert_int_equal(kind(cfg, "image", "debian-12", "ubuntu-24.04", why, sizeof(why)),
			 LF_CHANGE_REPLACE);
	json_decref(cfg);
	/* without max_vcpus any count is in place */
	cfg = json_object();
	assert_int_equal(kind(cfg, "vcpus", "2", "64", why, sizeof(why)), LF_CHANGE_INPLACE);
	json_decref(cfg);
}

/* host_update with vCPUs past max_vcpus: refused without
 * LF_UPDATE_RESTART (the plan did not allow a restart), done with it */
static void test_sim_update_restart(void **state)
{
	struct lf_driver_conn *c = must_open(json_pack("{s:i}", "max_vcpus", 4));
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	json_t *o;

	(void)state;
	host_init(&h, "rs", LIN_A);
	assert_int_equal(op(c, 'c', &h, NULL, &err), 0);
	h.s.vcpus = 4;
	assert_int_equal(op(c, 'u', &h, NULL, &err), 0); /* at the max: in place */
	h.s.vcpus = 8;
	assert_int_not_equal(op(c, 'u', &h, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "max_vcpus"));
	lf_err_clear(&err);
	assert_int_equal(op(c, 'r', &h, &o, &err), 0);
	assert_int_equal(num(o, "vcpus"), 4); /* unchanged */
	json_decref(o);
	assert_int_equal(op_full(c, 'u', &h, NULL, LF_UPDATE_RESTART, &o, &err), 0);
	assert_int_equal(num(o, "vcpus"), 8);
	json_decref(o);
	assert_int_equal(op(c, 'r', &h, &o, &err), 0);
	assert_int_equal(num(o, "vcpus"), 8);
	json_decref(o);
	sim->close(c);
}

/* ---- import --------------------------------------------------------------- */

static int import(struct lf_driver_conn *c, const char *id, const struct host *h,
		  json_t **out, struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_call call;
	json_t *o;
	int rc;

	call_of(&call, h->s.resource);
	rc = sim->host_import(c, id, &h->s, &call, b, 0, err);
	o = lf_kv_builder_finish(b);
	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

static void test_sim_import(void **state)
{
	char dir[] = "/tmp/lf-simimp-XXXXXX";
	char *db;
	const char *text;
	struct lf_driver_conn *c;
	struct host orphan, adopted, other, mine;
	struct lf_err err = LF_ERR_INIT;
	json_t *o, *file, *rec;
	char *id_b;

	(void)state;
	assert_true(sim->caps & LF_CAP_IMPORT);
	assert_non_null(sim->host_import);
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	/* a machine made outside ledgerform (no lineage) */
	text = "{\"version\":1,\"hosts\":{\"/manual\":{\"id\":\"sim-0000cafe\",\"name\":\"manual\","
	       "\"lineage\":\"\",\"resource\":\"manual\",\"machine_address\":\"10.0.0.9\","
	       "\"vcpus\":4,\"memory_mb\":8192,\"disk_gb\":80,\"image\":\"debian-12\","
	       "\"power\":\"running\",\"put_count\":0,\"exec_count\":0}}}";
	assert_int_equal(lf_write_file_atomic(db, text, strlen(text), 0644, NULL), 0);
	c = must_open(json_pack("{s:s}", "db", db));

	/* adopted by id under a lineage and a resource address */
	host_init(&adopted, "peer0-bank", LIN_A);
	assert_int_equal(import(c, "sim-0000cafe", &adopted, &o, &err), 0);
	assert_string_equal(attr(o, "id"), "sim-0000cafe");
	assert_string_equal(attr(o, "machine_address"), "10.0.0.9");
	assert_int_equal(num(o, "vcpus"), 4);
	json_decref(o);
	/* now read under its new lineage and address, gone from the old key */
	assert_int_equal(op(c, 'r', &adopted, &o, &err), 0);
	assert_string_equal(attr(o, "id"), "sim-0000cafe");
	json_decref(o);
	file = load_db(db);
	rec = json_object_get(json_object_get(file, "hosts"), LIN_A "/host.test.peer0-bank");
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "lineage")), LIN_A);
	assert_string_equal(json_string_value(json_object_get(rec, "resource")),
			    "host.test.peer0-bank");
	assert_null(json_object_get(json_object_get(file, "hosts"), "/manual"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(file, "ids"),
							      "sim-0000cafe")),
			    LIN_A "/host.test.peer0-bank");
	json_decref(file);

	/* another network cannot take it */
	host_init(&other, "peer0-bank", LIN_B);
	assert_int_equal(import(c, "sim-0000cafe", &other, NULL, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "another network"));
	lf_err_clear(&err);
	assert_int_equal(op(c, 'r', &other, NULL, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	assert_int_equal(op(c, 'r', &adopted, NULL, &err), 0);
	/* a host made by another network cannot be imported either */
	assert_int_equal(op(c, 'c', &other, &o, &err), 0);
	id_b = lf_xstrdup(attr(o, "id"));
	json_decref(o);
	host_init(&mine, "peer1-bank", LIN_C);
	assert_int_equal(import(c, id_b, &mine, NULL, &err), LF_ECONFLICT);
	lf_err_clear(&err);
	assert_int_equal(op(c, 'r', &other, &o, &err), 0);
	assert_string_equal(attr(o, "id"), id_b);
	json_decref(o);
	/* no such machine */
	assert_int_equal(import(c, "sim-ffffffff", &mine, NULL, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	host_init(&orphan, "x", LIN_A);
	assert_int_equal(import(c, "", &orphan, NULL, &err), LF_EINVALID);
	free(id_b);
	sim->close(c);
	lf_rmtree(dir, NULL);
	free(db);
}

/* ---- validate -------------------------------------------------------------- */

static bool has_diag(const json_t *diags, const char *path)
{
	const json_t *d;
	size_t i;

	json_array_foreach(diags, i, d)
		if (lf_streq(json_string_value(json_object_get(d, "path")), path))
			return true;
	return false;
}

static int validate(json_t *cfg, json_t *sizes, json_t **diags, struct lf_err *err)
{
	struct lf_kv *ck = lf_kv_wrap(cfg), *sk = sizes ? lf_kv_wrap(sizes) : NULL;
	struct lf_call call;
	int rc;

	call_of(&call, NULL);
	rc = sim->validate(ck, sk, &call, 0, err);
	*diags = call.diags ? call.diags : json_array();
	lf_kv_unwrap(sk);
	lf_kv_unwrap(ck);
	json_decref(cfg);
	json_decref(sizes);
	return rc;
}

static void test_sim_validate(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *diags;

	(void)state;
	/* good config and sizes: nothing to say */
	assert_int_equal(validate(json_pack("{s:i,s:i}", "latency_ms", 10, "max_vcpus", 8),
				  json_pack("{s:{s:i,s:s}}", "big", "vcpus", 2, "zone", "a"),
				  &diags, &err), 0);
	assert_int_equal(json_array_size(diags), 0);
	json_decref(diags);
	/* an unknown config key and an unknown per-driver size field */
	assert_int_equal(validate(json_pack("{s:i,s:i}", "latency_ms", 10, "latencyms", 5),
				  json_pack("{s:{s:i,s:s,s:i}}", "big", "vcpus", 2, "zone", "a",
					    "bogus", 1),
				  &diags, &err), LF_EINVALID);
	assert_true(has_diag(diags, "config.latencyms"));
	assert_true(has_diag(diags, "sizes.big.bogus"));
	assert_false(has_diag(diags, "sizes.big.zone"));
	assert_false(has_diag(diags, "sizes.big.vcpus"));
	assert_false(has_diag(diags, "config.latency_ms"));
	assert_int_equal(json_array_size(diags), 2);
	json_decref(diags);
	lf_err_clear(&err);
	/* a zone that is not a string */
	assert_int_equal(validate(json_object(),
				  json_pack("{s:{s:{s:i}}}", "small", "zone", "x", 1),
				  &diags, &err), LF_EINVALID);
	assert_true(has_diag(diags, "sizes.small.zone"));
	json_decref(diags);
	lf_err_clear(&err);
	/* a bad value is reported too */
	assert_int_equal(validate(json_pack("{s:s}", "fail_rate", "2"), NULL, &diags, &err),
			 LF_EINVALID);
	assert_true(json_array_size(diags) >= 1);
	json_decref(diags);
}

/* ---- transport ------------------------------------------------------------ */

static void test_sim_put_exec_counts(void **state)
{
	struct lf_driver_conn *c = must_open(json_object());
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	struct lf_blob out, errb;
	struct lf_target t;
	struct lf_call call;
	const char *argv[] = { "peer", "node", "start", NULL };
	struct lf_exec_spec es = { argv, NULL, NULL, 0, 0, 0 };
	const struct lf_file two[] = {
		{ "etc/core.yaml", "x", 1, 0644, NULL },
		{ "msp/key.pem", "k", 1, 0600, NULL },
	};
	json_t *o;

	(void)state;
	host_init(&h, "n", LIN_A);
	assert_int_equal(op(c, 'c', &h, NULL, &err), 0);
	assert_int_equal(put_files(c, &h, two, 2, &err), 0);
	assert_int_equal(put1(c, &h, "../x", "k", 0600, &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(put1(c, &h, "/etc/x", "k", 0600, &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(put1(c, &h, "suid", "k", 04755, &err), LF_EINVALID);
	lf_err_clear(&err);
	/* exec echoes argv to stdout */
	t = target_of(&h);
	call_of(&call, h.s.resource);
	lf_blob_init(&out, 0);
	lf_blob_init(&errb, 0);
	r.exit_status = -1;
	r.out = &out;
	r.err = &errb;
	assert_int_equal(sim->exec(c, &t, &es, &r, &call, 0, &err), 0);
	assert_int_equal(r.exit_status, 0);
	assert_string_equal(txt(&out), "peer node start\n");
	assert_int_equal(out.len, 16);
	assert_int_equal(errb.len, 0);
	lf_blob_free(&out);
	lf_blob_free(&errb);
	/* refused ones were not counted */
	assert_int_equal(op(c, 'r', &h, &o, &err), 0);
	assert_int_equal(num(o, "put_count"), 2);
	assert_int_equal(num(o, "exec_count"), 1);
	json_decref(o);
	host_rename(&h, "ghost");
	assert_int_equal(put1(c, &h, "a", "k", 0600, &err), LF_ENOTFOUND);
	sim->close(c);
}

static void assert_mode(const char *path, unsigned int mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if ((st.st_mode & 0777) != mode)
		print_message("%s: mode 0%o, expected 0%o\n", path,
			      (unsigned)(st.st_mode & 0777), mode);
	assert_int_equal(st.st_mode & 0777, mode);
}

static int get(struct lf_driver_conn *c, const struct host *h, const char *path,
	       size_t max, struct lf_blob *out, struct lf_err *err)
{
	struct lf_target t = target_of(h);
	struct lf_call call;

	call_of(&call, h->s.resource);
	lf_blob_init(out, 0);
	return sim->get(c, &t, path, max, out, &call, 0, err);
}

/* with files_dir, a machine has a disk: put writes there with modes, get
 * reads back, mkdir/remove act on it, release removes it */
static void test_sim_files_dir(void **state)
{
	char dir[] = "/tmp/lf-simfiles-XXXXXX";
	struct lf_driver_conn *c;
	struct host h, other;
	struct lf_err err = LF_ERR_INIT;
	struct lf_blob b;
	struct lf_target t;
	struct lf_call call;
	mode_t old = umask(022);
	const struct lf_file files[] = {
		{ "etc/core.yaml", "peer:\n  id: p0\n", 15, 0644, NULL },
		{ "msp/keystore/key.pem", "KEY", 3, 0600, NULL },
		{ "logs/node.log", "one\ntwo\nthree\n", 14, 0640, NULL },
	};
	char *disk, *p;

	(void)state;
	assert_non_null(mkdtemp(dir));
	c = must_open(json_pack("{s:s}", "files_dir", dir));
	host_init(&h, "p0", LIN_A);
	assert_int_equal(op(c, 'c', &h, NULL, &err), 0);
	assert_int_equal(put_files(c, &h, files, 3, &err), 0);
	disk = lf_xasprintf("%s/p0-a1a1a1a1", dir);
	p = lf_xasprintf("%s/etc/core.yaml", disk);
	assert_mode(p, 0644);
	free(p);
	p = lf_xasprintf("%s/msp/keystore/key.pem", disk);
	assert_mode(p, 0600);
	free(p);
	p = lf_xasprintf("%s/msp/keystore", disk);
	assert_mode(p, 0700);
	free(p);
	p = lf_xasprintf("%s/logs/node.log", disk);
	assert_mode(p, 0640);
	free(p);
	/* read back */
	assert_int_equal(get(c, &h, "etc/core.yaml", 0, &b, &err), 0);
	assert_string_equal(txt(&b), "peer:\n  id: p0\n");
	lf_blob_free(&b);
	assert_int_equal(get(c, &h, "msp/keystore/key.pem", 0, &b, &err), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "KEY", 3);
	lf_blob_free(&b);
	/* the tail with max */
	assert_int_equal(get(c, &h, "logs/node.log", 6, &b, &err), 0);
	assert_string_equal(txt(&b), "three\n");
	lf_blob_free(&b);
	/* absent and escaping paths */
	assert_int_equal(get(c, &h, "etc/none", 0, &b, &err), LF_ENOTFOUND);
	lf_blob_free(&b);
	lf_err_clear(&err);
	assert_int_equal(get(c, &h, "../p0-a1a1a1a1/etc/core.yaml", 0, &b, &err), LF_EINVALID);
	assert_int_equal(b.len, 0);
	lf_blob_free(&b);
	lf_err_clear(&err);
	/* overwrite */
	assert_int_equal(put1(c, &h, "etc/core.yaml", "v2", 0600, &err), 0);
	assert_int_equal(get(c, &h, "etc/core.yaml", 0, &b, &err), 0);
	assert_string_equal(txt(&b), "v2");
	lf_blob_free(&b);
	/* another network's machine of the same name has its own disk */
	host_init(&other, "p0", LIN_B);
	assert_int_equal(op(c, 'c', &other, NULL, &err), 0);
	assert_int_equal(get(c, &other, "etc/core.yaml", 0, &b, &err), LF_ENOTFOUND);
	lf_blob_free(&b);
	lf_err_clear(&err);
	/* mkdir and remove */
	t = target_of(&h);
	call_of(&call, h.s.resource);
	assert_int_equal(sim->mkdir(c, &t, "data/ledger", 0755, &call, 0, &err), 0);
	p = lf_xasprintf("%s/data/ledger", disk);
	assert_true(lf_path_exists(p));
	free(p);
	assert_int_equal(sim->remove(c, &t, "logs", &call, 0, &err), 0);
	assert_int_equal(get(c, &h, "logs/node.log", 0, &b, &err), LF_ENOTFOUND);
	lf_blob_free(&b);
	lf_err_clear(&err);
	assert_int_equal(sim->remove(c, &t, "logs", &call, 0, &err), 0); /* missing: fine */
	assert_int_equal(sim->remove(c, &t, "../x", &call, 0, &err), LF_EINVALID);
	lf_err_clear(&err);
	/* release: the disk goes */
	assert_int_equal(sim->machine_release(c, &t, &call, 0, &err), 0);
	assert_false(lf_path_exists(disk));
	assert_int_equal(get(c, &h, "etc/core.yaml", 0, &b, &err), LF_ENOTFOUND);
	lf_blob_free(&b);
	sim->close(c);
	umask(old);
	lf_rmtree(dir, NULL);
	free(disk);
}

static void test_sim_machine_prepare_facts(void **state)
{
	struct lf_driver_conn *c = must_open(json_object());
	struct host h, none;
	struct lf_err err = LF_ERR_INIT;
	struct lf_kv_builder *b;
	struct lf_target t;
	struct lf_call call;
	json_t *o;

	(void)state;
	host_init(&h, "m0", LIN_A);
	h.s.vcpus = 6;
	h.s.memory_mb = 12288;
	assert_int_equal(op(c, 'c', &h, NULL, &err), 0);
	t = target_of(&h);
	call_of(&call, h.s.resource);
	b = lf_kv_builder_new();
	assert_int_equal(sim->machine_prepare(c, &t, &call, b, 0, &err), 0);
	o = lf_kv_builder_finish(b);
	assert_string_equal(attr(o, "os"), "sim");
	assert_int_equal(num(o, "cpus"), 6);
	assert_int_equal(num(o, "memory_mb"), 12288);
	assert_string_equal(attr(o, "systemd"), "false");
	json_decref(o);
	b = lf_kv_builder_new();
	assert_int_equal(sim->machine_read(c, &t, &call, b, 0, &err), 0);
	o = lf_kv_builder_finish(b);
	assert_int_equal(num(o, "cpus"), 6);
	json_decref(o);
	/* a machine the provider never made */
	host_init(&none, "m9", LIN_A);
	t = target_of(&none);
	assert_int_equal(sim->machine_prepare(c, &t, &call, NULL, 0, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	/* the same name in another network is another machine */
	host_init(&none, "m0", LIN_B);
	t = target_of(&none);
	assert_int_equal(sim->machine_read(c, &t, &call, NULL, 0, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	t = target_of(&h);
	assert_int_equal(sim->machine_prepare(c, &t, &call, NULL, 0x4, &err), LF_EINVALID);
	sim->close(c);
}

/* ---- db ------------------------------------------------------------- */

static void test_sim_db_persistence(void **state)
{
	char dir[] = "/tmp/lf-sim-XXXXXX";
	char *db, *id1, *id2;
	struct lf_driver_conn *a, *b;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct par ps[20];
	pthread_t t[20];
	json_t *file;
	int i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	a = must_open(json_pack("{s:s}", "db", db));
	b = must_open(json_pack("{s:s}", "db", db));
	host_init(&h, "persist", LIN_A);
	assert_int_equal(op(a, 'c', &h, NULL, &err), 0);
	id1 = read_id(a, &h);
	id2 = read_id(b, &h);
	assert_string_equal(id1, id2);
	free(id1);
	free(id2);
	/* parallel writers on two connections: flock keeps every host */
	memset(ps, 0, sizeof(ps));
	for (i = 0; i < 20; i++) {
		ps[i].c = i % 2 ? a : b;
		ps[i].lineage = LIN_A;
		snprintf(ps[i].name, sizeof(ps[i].name), "w%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, par_create, &ps[i]), 0);
	}
	for (i = 0; i < 20; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(ps[i].rc, 0);
	}
	file = load_db(db);
	assert_int_equal(json_object_size(json_object_get(file, "hosts")), 21);
	assert_non_null(json_object_get(json_object_get(file, "hosts"),
					LIN_A "/host.test.w7"));
	json_decref(file);
	assert_int_equal(op(b, 'd', &h, NULL, &err), 0);
	assert_int_equal(op(a, 'r', &h, NULL, &err), LF_ENOTFOUND);
	sim->close(a);
	sim->close(b);
	/* a new connection (another process would do the same) still sees them */
	a = must_open(json_pack("{s:s}", "db", db));
	host_rename(&h, "w7");
	assert_int_equal(op(a, 'r', &h, NULL, &err), 0);
	sim->close(a);
	lf_rmtree(dir, NULL);
	free(db);
}

/* two networks on one db file, same host names: two records, never mixed */
static void test_sim_db_two_lineages(void **state)
{
	char dir[] = "/tmp/lf-simlin-XXXXXX";
	char *db, *id_a, *id_b, *x;
	struct lf_driver_conn *ca, *cb;
	struct host a, b;
	struct lf_err err = LF_ERR_INIT;
	json_t *file, *hosts;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	ca = must_open(json_pack("{s:s}", "db", db));
	cb = must_open(json_pack("{s:s}", "db", db));
	host_init(&a, "peer0-bank", LIN_A);
	host_init(&b, "peer0-bank", LIN_B);
	assert_int_equal(op(ca, 'c', &a, NULL, &err), 0);
	/* B does not see A's host ... */
	assert_int_equal(op(cb, 'r', &b, NULL, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	/* ... and its create makes a new one rather than adopting A's */
	assert_int_equal(op(cb, 'c', &b, NULL, &err), 0);
	id_a = read_id(ca, &a);
	id_b = read_id(cb, &b);
	assert_string_not_equal(id_a, id_b);
	/* whichever connection asks */
	x = read_id(cb, &a);
	assert_string_equal(x, id_a);
	free(x);
	file = load_db(db);
	hosts = json_object_get(file, "hosts");
	assert_int_equal(json_object_size(hosts), 2);
	assert_non_null(json_object_get(hosts, LIN_A "/host.test.peer0-bank"));
	assert_non_null(json_object_get(hosts, LIN_B "/host.test.peer0-bank"));
	json_decref(file);
	/* an update by B changes only B's */
	b.s.vcpus = 8;
	assert_int_equal(op(cb, 'u', &b, NULL, &err), 0);
	{
		json_t *o;

		assert_int_equal(op(ca, 'r', &a, &o, &err), 0);
		assert_int_equal(num(o, "vcpus"), 2);
		json_decref(o);
	}
	/* deleting B's leaves A's */
	assert_int_equal(op(cb, 'd', &b, NULL, &err), 0);
	assert_int_equal(op(cb, 'r', &b, NULL, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	x = read_id(ca, &a);
	assert_string_equal(x, id_a);
	free(x);
	file = load_db(db);
	assert_int_equal(json_object_size(json_object_get(file, "hosts")), 1);
	assert_non_null(json_object_get(json_object_get(file, "ids"), id_a));
	assert_null(json_object_get(json_object_get(file, "ids"), id_b));
	json_decref(file);
	free(id_a);
	free(id_b);
	sim->close(ca);
	sim->close(cb);
	lf_rmtree(dir, NULL);
	free(db);
}

static void test_sim_db_without_index(void **state)
{
	char dir[] = "/tmp/lf-simdb-XXXXXX";
	const char *text;
	char *db;
	struct lf_driver_conn *c;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	json_t *o, *file;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = lf_xasprintf("%s/sim.json", dir);
	/* a file written without the id index (or by hand) */
	text = "{\"version\":1,\"hosts\":{\"" LIN_A "/host.test.old\":{\"id\":\"sim-0000beef\","
	       "\"name\":\"old\",\"lineage\":\"" LIN_A "\",\"resource\":\"host.test.old\","
	       "\"vcpus\":1,\"memory_mb\":512,\"disk_gb\":5,\"image\":\"debian-12\","
	       "\"power\":\"running\"}}}";
	assert_int_equal(lf_write_file_atomic(db, text, strlen(text), 0644, NULL), 0);
	c = must_open(json_pack("{s:s,s:i}", "db", db, "seed", 5));
	host_init(&h, "old", LIN_A);
	assert_int_equal(op(c, 'r', &h, &o, &err), 0);
	assert_string_equal(attr(o, "id"), "sim-0000beef");
	assert_int_equal(num(o, "memory_mb"), 512);
	json_decref(o);
	host_rename(&h, "new");
	assert_int_equal(op(c, 'c', &h, &o, &err), 0);
	assert_string_not_equal(attr(o, "id"), "sim-0000beef");
	json_decref(o);
	file = load_db(db);
	assert_int_equal(json_object_size(json_object_get(file, "ids")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(file, "ids"),
							      "sim-0000beef")),
			    LIN_A "/host.test.old");
	json_decref(file);
	sim->close(c);
	/* a broken db is an error naming the file, not an empty cloud */
	assert_int_equal(lf_write_file_atomic(db, "{oops", 5, 0644, NULL), 0);
	c = must_open(json_pack("{s:s}", "db", db));
	assert_int_equal(op(c, 'r', &h, NULL, &err), LF_ERROR);
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
	lf_err_clear(&err);
	assert_null(sim_open(json_pack("{s:s}", "files_dir", "relative/dir"), &rc, &err));
	assert_int_equal(rc, LF_EINVALID);
	assert_non_null(strstr(err.msg, "files_dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_parallel_creates),
		cmocka_unit_test(test_sim_concurrent_ops),
		cmocka_unit_test(test_sim_cancel_wakes),
		cmocka_unit_test(test_sim_seeded_repeatable),
		cmocka_unit_test(test_sim_transient_vs_permanent),
		cmocka_unit_test(test_sim_outage_and_match),
		cmocka_unit_test(test_sim_quota),
		cmocka_unit_test(test_sim_resize_in_place),
		cmocka_unit_test(test_sim_change_kind),
		cmocka_unit_test(test_sim_update_restart),
		cmocka_unit_test(test_sim_import),
		cmocka_unit_test(test_sim_validate),
		cmocka_unit_test(test_sim_put_exec_counts),
		cmocka_unit_test(test_sim_files_dir),
		cmocka_unit_test(test_sim_machine_prepare_facts),
		cmocka_unit_test(test_sim_db_persistence),
		cmocka_unit_test(test_sim_db_two_lineages),
		cmocka_unit_test(test_sim_db_without_index),
		cmocka_unit_test(test_sim_config_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
