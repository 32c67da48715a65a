/* Helpers for end-to-end tests: run the real `ledgerform` binary in a
 * scratch directory and look at its exit status, output and files. */
#ifndef LF_CLITEST_H
#define LF_CLITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

struct clitest {
	char dir[256];      /* scratch directory (cwd of every command) */
	char *out, *err;    /* stdout / stderr of the last command */
	int status;         /* exit status of the last command */
};

/* the scratch dir; the first call also takes FABRIC_BIN out of the
 * environment commands inherit (see ct_fabric_bin) */
void ct_init(struct clitest *t, const char *name);
/* FABRIC_BIN as the test process got it (real Fabric binaries), or NULL:
 * a test that runs real nodes sets it for its commands itself */
const char *ct_fabric_bin(void);
void ct_done(struct clitest *t);
/* run `ledgerform ARGS` (ARGS is shell words) in t->dir; returns status */
int ct_run(struct clitest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* start `ledgerform ARGS` in the background; returns its pid */
pid_t ct_spawn(struct clitest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* wait for a spawned command; returns its exit status (128+sig if killed) */
int ct_wait(pid_t pid);
void ct_write(struct clitest *t, const char *rel, const char *text);
char *ct_read(struct clitest *t, const char *rel);   /* NULL if absent */
bool ct_exists(struct clitest *t, const char *rel);
unsigned int ct_mode(struct clitest *t, const char *rel);
/* count entries of a directory (0 when missing) */
size_t ct_count(struct clitest *t, const char *rel);
/* wait until file REL exists and contains needle (or timeout) */
bool ct_wait_for(struct clitest *t, const char *rel, const char *needle, int ms);
/* is process pid there (a zombie or a dead one counts as gone)? */
bool ct_pid_alive(long pid);
/* the pid a started node recorded under HOSTS_REL/HOST/fabric/node.pid
 * (HOSTS_REL: ".ledgerform/NAME/hosts"); 0 when none */
long ct_node_pid(struct clitest *t, const char *hosts_rel, const char *host);
/* run a shell command (ARGS: shell text) in t->dir, its stdout and
 * stderr into t->dir/sh.out; returns system()'s status */
int ct_sh(struct clitest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* an offline org admin's own machine, HOME under t->dir: an EC P-256
 * key HOME/admin.key and a certificate request HOME/admin.csr for
 * CN=Admin@DOMAIN (the spec's admin_csr; the key never enters the crypto
 * tree); returns ct_sh's status */
int ct_offline_admin_key(struct clitest *t, const char *home, const char *domain);
/* SIGKILL the started nodes of HOSTS still alive (a teardown) */
void ct_kill_nodes(struct clitest *t, const char *hosts_rel, const char *const *hosts,
		   size_t n);
/* `destroy -f spec.yaml --auto-approve`; returns its exit status, and in
 * *alive how many of the nodes of HOSTS that had a pid before still run */
int ct_destroy_nodes(struct clitest *t, const char *hosts_rel, const char *const *hosts,
		     size_t n, size_t *alive);

/* a teardown: `destroy -f spec.yaml --auto-approve` in t->dir (with
 * FABRIC_BIN set when the test got it, so started nodes stop), then
 * ct_done */
void ct_destroy_left(struct clitest *t);
/* the state document REL (e.g. "net.state.json"), parsed; NULL when absent
 * or not JSON */
json_t *ct_state_doc(struct clitest *t, const char *rel);
/* spec.yaml of the small "demo" network the CLI tests share: an ordering
 * org with one orderer and org bank with PEERS peers; HEAD goes after the
 * fabric line (sizes:, state:, ...), TAIL at the end (channels:, ...) */
void ct_write_demo(struct clitest *t, const char *head, unsigned int peers,
		   const char *tail);
/* resources.ADDR.outputs.KEY of a state document, as a string (or NULL) */
const char *ct_output_of(json_t *doc, const char *addr, const char *key);
/* the outputs of ADDR through `state show ADDR -f spec.yaml` (the caller
 * decrefs); NULL when the command fails */
json_t *ct_outputs(struct clitest *t, const char *addr);
/* the action of ADDR in a `plan --json` document (borrowed); NULL when
 * there is none */
json_t *ct_plan_action(json_t *plan, const char *addr);

#endif
