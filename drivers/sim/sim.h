/*
 * The `sim` driver: a simulated cloud for tests and benchmarks. Internal
 * header shared by the driver's files only.
 */
#ifndef LF_DRIVER_SIM_H
#define LF_DRIVER_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "ledgerform/driver.h"

enum sim_op {
	SIM_OP_CREATE,
	SIM_OP_READ,
	SIM_OP_UPDATE,
	SIM_OP_DELETE,
	SIM_OP_PUT,
	SIM_OP_EXEC,
	SIM_OP_LAST
};

struct sim_config {
	long latency_ms;
	long jitter_ms;
	double fail_rate[SIM_OP_LAST];  /* per op (fail_rate as default) */
	double transient_ratio;         /* share of failures that are LF_ERETRY */
	long quota;                     /* max hosts, -1 none */
	long fail_after;                /* ops before the outage, -1 none */
	char *fail_match;               /* create/update fail for these names */
	char *db;                       /* JSON file, NULL = in memory */
	char *files_dir;                /* where put files land (a simulated
					   disk per host), NULL: counted only */
	long max_vcpus;                 /* live vCPU ceiling: past it a resize
					   needs a restart; 0 none */
	uint64_t seed;
	int seeded;
};

struct lf_driver_conn {
	struct sim_config cfg;
	pthread_mutex_t mu;    /* guards rng, ops_ok and mem */
	uint64_t rng;
	long ops_ok;           /* successful ops so far */
	json_t *mem;           /* the store when there is no db */
};

extern const struct lf_host_api *sim_host;

/* sim_config.c */
int sim_config_parse(struct sim_config *cfg, const struct lf_kv *kv,
		     struct lf_err *err);
void sim_config_clear(struct sim_config *cfg);
bool sim_config_key_known(const char *key);

/* sim_store.c: run fn over the store {"hosts":{key:record},"ids":{id:
 * key}} under the connection mutex (memory) or an exclusive flock (db);
 * when write is set and fn returns 0, the db is saved atomically. A
 * record's key is "<lineage>/<resource address>": two networks sharing a
 * db never see each other's hosts. */
typedef int (*sim_txn_fn)(json_t *store, void *arg, struct lf_err *err);
int sim_store_txn(struct lf_driver_conn *c, int write, sim_txn_fn fn,
		  void *arg, struct lf_err *err);

/* sim.c */
uint64_t sim_rand(struct lf_driver_conn *c);
/* latency, cancellation and injected failures around one operation */
int sim_op_begin(struct lf_driver_conn *c, struct lf_call *call, enum sim_op op,
		 const char *name, struct lf_err *err);
void sim_op_done(struct lf_driver_conn *c);

/* sim_hosts.c: the provider role */
int sim_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err);
int sim_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		  struct lf_call *call, struct lf_kv_builder *out,
		  unsigned int flags, struct lf_err *err);
int sim_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err);
int sim_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, unsigned int flags, struct lf_err *err);
int sim_host_import(struct lf_driver_conn *c, const char *id,
		    const struct lf_host_spec *spec, struct lf_call *call,
		    struct lf_kv_builder *out, unsigned int flags,
		    struct lf_err *err);
enum lf_change_kind sim_change_kind(const struct lf_kv *config, const char *key,
				    const char *old_val, const char *new_val,
				    char *why, size_t why_len);
int sim_validate(const struct lf_kv *config, const struct lf_kv *sizes,
		 struct lf_call *call, unsigned int flags, struct lf_err *err);

/* sim_machine.c: the transport role (a simulated machine) */
int sim_machine_prepare(struct lf_driver_conn *c, const struct lf_target *t,
			struct lf_call *call, struct lf_kv_builder *out,
			unsigned int flags, struct lf_err *err);
int sim_machine_release(struct lf_driver_conn *c, const struct lf_target *t,
			struct lf_call *call, unsigned int flags,
			struct lf_err *err);
int sim_machine_read(struct lf_driver_conn *c, const struct lf_target *t,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err);
int sim_put(struct lf_driver_conn *c, const struct lf_target *t,
	    const struct lf_file *files, size_t nfiles, struct lf_call *call,
	    unsigned int flags, struct lf_err *err);
int sim_get(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
	    size_t max, struct lf_blob *out, struct lf_call *call,
	    unsigned int flags, struct lf_err *err);
int sim_mkdir(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
	      unsigned int mode, struct lf_call *call, unsigned int flags,
	      struct lf_err *err);
int sim_remove(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
	       struct lf_call *call, unsigned int flags, struct lf_err *err);
int sim_exec(struct lf_driver_conn *c, const struct lf_target *t,
	     const struct lf_exec_spec *spec, struct lf_exec_result *res,
	     struct lf_call *call, unsigned int flags, struct lf_err *err);
/* the store key of a host: "<lineage>/<resource>" (caller frees) */
char *sim_key(const char *lineage, const char *resource);

#endif
