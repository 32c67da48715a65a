/*
 * A real OpenSSH server for the ssh driver's tests: started on 127.0.0.1
 * on a free port of 22200-22299 from a temporary directory holding its own
 * sshd_config, an ed25519 host key and a user key (in its
 * AuthorizedKeysFile), stopped by its PID.
 */
#ifndef LF_TEST_SSHD_FIXTURE_H
#define LF_TEST_SSHD_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "ledgerform/driver.h"

struct lf_registry;
struct CMUnitTest;

struct sshd {
	char dir[64];          /* the temporary directory */
	int port;
	pid_t pid;
	char host_fp[96];      /* the host key's SHA256:... (ssh-keygen -l) */
	char *user;            /* who logs in (this process's user) */
};

/* sshd's LogLevel for servers started next ("ERROR" unless set) */
extern const char *sshd_log_level;
/* 0 started on the first free port of [base, base+50) (each test
 * executable its own half of 22200-22299); otherwise why not in why (the
 * test skips; see SSHD_SKIP) */
int sshd_start(struct sshd *s, int base, char *why, size_t why_len);
/* start again on the same port, keys and config (after sshd_kill) */
int sshd_restart(struct sshd *s);
/* kill the listener and every connection it serves (by PID) */
void sshd_kill(struct sshd *s);
/* stop and remove the directory */
void sshd_stop(struct sshd *s);
/* "DIR/NAME" (malloc'd) */
char *sshd_path(const struct sshd *s, const char *name);
/* call cb with each process id */
void sshd_proc_each(void (*cb)(long pid, void *payload), void *payload);
/* is a process running with word in its command line? */
bool sshd_proc_running(const char *word);
/* in a test: skip when the server could not be started (why says why) */
#define SSHD_SKIP(why) \
	do { if ((why)[0]) { print_message("skipped: %s\n", (why)); skip(); } } while (0)
/* the ssh driver through the real plugin loader (fails the test when it
 * cannot be loaded); *reg is freed with lf_registry_free */
const struct lf_driver *sshd_ssh_driver(struct lf_registry **reg);
/* drv->open with cfg (consumed) as the provider dc1's config */
struct lf_driver_conn *sshd_driver_open(const struct lf_driver *drv, json_t *cfg, int *rc,
					struct lf_err *err);
/* cmocka's group run with SIGPIPE ignored and LF_TEST_FILTER honoured */
int sshd_run_group(const struct CMUnitTest *tests, size_t n, int (*setup)(void **),
		   int (*teardown)(void **));
/* run a shell command line, 0 when it exits 0 */
int sshd_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
