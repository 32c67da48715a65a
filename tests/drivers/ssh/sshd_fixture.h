/*
 * A real OpenSSH server for the ssh driver's tests: started on 127.0.0.1
 * on a free port of 22200-22299 from a temporary directory holding its own
 * sshd_config, an ed25519 host key and a user key (in its
 * AuthorizedKeysFile), stopped by its PID. It never runs as root: run by
 * root, the tests start it as the unprivileged user lf-sshtest (made by
 * .ci/bootstrap.sh --with-tests), its directory in that user's home and
 * owned by it, StrictModes on; otherwise as the current user. An sshd not
 * run as root logs in only the user it runs as: s->user.
 */
#ifndef LF_TEST_SSHD_FIXTURE_H
#define LF_TEST_SSHD_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>
#include "ledgerform/driver.h"

struct lf_registry;
struct CMUnitTest;

#define SSHD_TEST_USER "lf-sshtest"

struct sshd {
	char dir[200];         /* the temporary directory */
	int port;
	pid_t pid;
	char host_fp[96];      /* the host key's SHA256:... (ssh-keygen -l) */
	char *user;            /* who logs in: the user sshd runs as */
	uid_t uid;             /* ... its ids (this process's when not root) */
	gid_t gid;
	bool drop;             /* started as root: sshd runs as SSHD_TEST_USER */
};

/* sshd's LogLevel for servers started next ("ERROR" unless set) */
extern const char *sshd_log_level;
/* 0 started on the first free port of [base, base+50) (each test
 * executable its own half of 22200-22299); otherwise why not in why (the
 * test skips; see SSHD_SKIP) */
int sshd_start(struct sshd *s, int base, char *why, size_t why_len);
/* make path (made by this process in s->dir) the login user's */
void sshd_give(const struct sshd *s, const char *path);
/* a stand-in for sudo in DIR/fakebin (first on the remote PATH of the
 * tests that stand in for systemctl): the login user is not root, so the
 * driver runs systemctl with `sudo -n`; it appends its argv to
 * DIR/sudo.calls and runs the command as the login user. fakebin is then
 * the login user's. 0 when written */
int sshd_sudo_stand_in(const struct sshd *s);
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
