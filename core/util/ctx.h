/*
 * The process's context: what used to be read from the environment deep in
 * the library, or kept in scattered globals, in one object the CLI makes.
 *
 * lf_ctx_from_env() is the one place that reads ledgerform's environment
 * variables (FABRIC_BIN, LEDGERFORM_LOG, LEDGERFORM_TIMING,
 * LEDGERFORM_FREE_ON_EXIT, LEDGERFORM_DRIVER_PATH, SOURCE_DATE_EPOCH); the
 * CLI installs the result with lf_ctx_install(). Library code takes what it
 * needs from lf_ctx_current(): the installed context, or defaults that read
 * nothing (tests and embedders get a library that does not depend on the
 * environment unless they install one).
 *
 * The stop level and the drivers' cancellation flag live here too. A
 * signal handler can only reach process state, so the installed context is
 * what SIGINT/SIGTERM update (lock-free atomics, async-signal-safe).
 * Credentials are not here: they are read from their {env}/{file}
 * reference at the moment a driver asks (so rotated ones are seen).
 */
#ifndef LF_CTX_H
#define LF_CTX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "ledgerform/error.h"

#define LF_NODE_HEALTH_WAIT_DEFAULT 120 /* seconds */

struct lf_ctx {
	char *fabric_bin;       /* Fabric binaries for nodes; NULL: not started */
	char *fabric_ca_bin;    /* fabric-ca-server's directory (FABRIC_CA_BIN);
				   NULL: CA server nodes are not started */
	unsigned int node_health_wait_s; /* a started node must be healthy
					    within (LEDGERFORM_NODE_HEALTH_WAIT) */
	char *driver_path;      /* extra plugin directories (colon-separated) */
	bool log_debug;         /* drivers' debug lines are shown */
	bool timing;            /* phases' times on stderr */
	bool free_on_exit;      /* free the big sets at exit (valgrind) */
	bool epoch_fixed;       /* block timestamps and nonces are fixed */
	int64_t epoch;          /* ... at this time (seconds) */
	atomic_int stop;        /* 0 run; 1 start nothing new; 2 also cancel
				   the drivers' waits (a second ^C) */
	atomic_int cancel;      /* drivers' waits are cancelled */
};

/* defaults: nothing from the environment */
void lf_ctx_defaults(struct lf_ctx *c);
/* from the environment; LF_EINVALID (with the variable named) when a value
 * is malformed: FABRIC_BIN with characters a shell would interpret,
 * SOURCE_DATE_EPOCH not a non-negative integer */
int lf_ctx_from_env(struct lf_ctx *c, struct lf_err *err);
void lf_ctx_clear(struct lf_ctx *c);
/* make c the process's context (it must outlive every use); NULL: defaults */
void lf_ctx_install(struct lf_ctx *c);
struct lf_ctx *lf_ctx_current(void);

#endif
