/*
 * The `sim` driver: a simulated cloud for tests and benchmarks.
 *
 * Every operation sleeps latency_ms (+ uniform 0..jitter_ms) without
 * holding any lock, waking within ~20 ms when the user cancels; then
 * injected failures are decided: fail_after (an outage after N successful
 * operations), fail_match (names that cannot be created or updated) and
 * random failures (fail_rate, per-op rates; transient_ratio of them are
 * LF_ERETRY). Randomness comes from a per-connection PRNG (seeded with
 * `seed` for repeatable runs). Hosts live in memory or in a JSON db file.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const struct lf_host_api *sim_host;

#define SIM_SLEEP_SLICE_MS 20

static const char *const sim_op_names[SIM_OP_LAST] = {
	"create", "read", "update", "delete", "put", "exec",
};

/* splitmix64: small, fast, good enough for fault injection */
uint64_t sim_rand(struct lf_driver_conn *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unit(uint64_t r)
{
	return (double)(r >> 11) * (1.0 / 9007199254740992.0);
}

/* sleep ms in slices, returning LF_ECANCELED as soon as the user stops */
static int sim_sleep(struct lf_call *call, long ms, struct lf_err *err)
{
	struct timespec ts;
	long slice;

	while (ms > 0) {
		if (sim_host->call_cancelled(call))
			break;
		slice = ms < SIM_SLEEP_SLICE_MS ? ms : SIM_SLEEP_SLICE_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = slice * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	if (sim_host->call_cancelled(call))
		return sim_host->err_set(err, LF_ECANCELED, "sim: cancelled");
	return 0;
}

static int injected(struct lf_driver_conn *c, enum sim_op op, const char *name,
		    uint64_t r1, uint64_t r2, struct lf_err *err)
{
	const char *what = sim_op_names[op];
	long ok;

	pthread_mutex_lock(&c->mu);
	ok = c->ops_ok;
	pthread_mutex_unlock(&c->mu);
	if (c->cfg.fail_after >= 0 && ok >= c->cfg.fail_after)
		return sim_host->err_set(err, LF_ERROR,
					 "sim: provider outage: %s of '%s' failed after %ld successful operations (fail_after)",
					 what, name, ok);
	if (c->cfg.fail_match && (op == SIM_OP_CREATE || op == SIM_OP_UPDATE) &&
	    strstr(name, c->cfg.fail_match))
		return sim_host->err_set(err, LF_ERROR,
					 "sim: injected permanent failure: %s of '%s' (fail_match '%s')",
					 what, name, c->cfg.fail_match);
	if (unit(r1) >= c->cfg.fail_rate[op])
		return 0;
	if (unit(r2) < c->cfg.transient_ratio)
		return sim_host->err_set(err, LF_ERETRY,
					 "sim: injected transient failure: %s of '%s'", what, name);
	return sim_host->err_set(err, LF_ERROR,
				 "sim: injected permanent failure: %s of '%s'", what, name);
}

int sim_op_begin(struct lf_driver_conn *c, struct lf_call *call, enum sim_op op,
		 const char *name, struct lf_err *err)
{
	uint64_t jit = 0, r1, r2;
	int rc;

	if (sim_host->call_cancelled(call))
		return sim_host->err_set(err, LF_ECANCELED, "sim: cancelled");
	pthread_mutex_lock(&c->mu);
	if (c->cfg.jitter_ms > 0)
		jit = sim_rand(c) % (uint64_t)(c->cfg.jitter_ms + 1);
	r1 = sim_rand(c);
	r2 = sim_rand(c);
	pthread_mutex_unlock(&c->mu);
	rc = sim_sleep(call, c->cfg.latency_ms + (long)jit, err); /* no lock held */
	if (rc != 0)
		return rc;
	return injected(c, op, name ? name : "", r1, r2, err);
}

void sim_op_done(struct lf_driver_conn *c)
{
	pthread_mutex_lock(&c->mu);
	c->ops_ok++;
	pthread_mutex_unlock(&c->mu);
}

/* ---- open/close -------------------------------------------------------- */

static uint64_t sim_seed_os(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
		s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return s;
}

static int sim_open(struct lf_driver_conn **out, const struct lf_kv *config,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct lf_driver_conn *c;
	int rc;

	(void)call;
	*out = NULL;
	if (flags != 0)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: unsupported flags (0x%x) in open", flags);
	c = calloc(1, sizeof(*c));
	if (!c)
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	rc = sim_config_parse(&c->cfg, config, err);
	if (rc == 0 && !c->cfg.db && !(c->mem = json_pack("{s:{},s:{}}", "hosts", "ids")))
		rc = sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	if (rc != 0) {
		sim_config_clear(&c->cfg);
		free(c);
		return rc;
	}
	c->rng = c->cfg.seeded ? c->cfg.seed : sim_seed_os();
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

static void sim_close(struct lf_driver_conn *c)
{
	if (!c)
		return;
	json_decref(c->mem);
	sim_config_clear(&c->cfg);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static const struct lf_driver sim_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "sim",
	.version = "0.2.0",
	.roles = LF_ROLE_PROVIDER | LF_ROLE_TRANSPORT,
	.caps = LF_CAP_CONN_SHARED | LF_CAP_IMPORT, /* a cloud: reads are API calls */
	.open = sim_open,
	.close = sim_close,
	.validate = sim_validate,
	.change_kind = sim_change_kind,
	.host_create = sim_host_create,
	.host_read = sim_host_read,
	.host_update = sim_host_update,
	.host_delete = sim_host_delete,
	.host_import = sim_host_import,
	.machine_prepare = sim_machine_prepare,
	.machine_release = sim_machine_release,
	.machine_read = sim_machine_read,
	.put = sim_put,
	.get = sim_get,
	.mkdir = sim_mkdir,
	.remove = sim_remove,
	.exec = sim_exec,
};

LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host);
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
{
	if (!host || host->abi_version != LF_DRIVER_ABI_VERSION)
		return NULL;
	sim_host = host;
	return &sim_driver;
}
