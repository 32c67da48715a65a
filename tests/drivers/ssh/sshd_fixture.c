/*
 * The sshd the ssh driver's tests talk to (see sshd_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sshd_fixture.h"
#include "core/plugin/call.h"
#include "core/plugin/plugin.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#define SSHD_BIN "/usr/sbin/sshd"

const char *sshd_log_level = "ERROR";

int sshd_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == 0 ? 0 : -1;
}

char *sshd_path(const struct sshd *s, const char *name)
{
	size_t n = strlen(s->dir) + strlen(name) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s/%s", s->dir, name);
	return p;
}

static int port_free(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok, one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static int write_config(struct sshd *s)
{
	char *p = sshd_path(s, "sshd_config");
	FILE *f = fopen(p, "w");

	free(p);
	if (!f)
		return -1;
	fprintf(f, "Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_key\n"
		"AuthorizedKeysFile %s/authorized_keys\nUsePAM no\nStrictModes %s\n"
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
		"PermitRootLogin prohibit-password\nPidFile %s/sshd.pid\n"
		"Subsystem sftp internal-sftp\nMaxSessions 64\nMaxStartups 64\n"
		"LogLevel %s\nUseDNS no\n"
		/* bash reads ~/.bashrc for a command sshd starts only at
		 * SHLVL < 2; this machine's root .bashrc takes seconds (pyenv),
		 * which would be in every exec the tests time */
		"SetEnv SHLVL=2\n",
		/* the keys live in a directory of the user's home when sshd
		 * runs as lf-sshtest; under /tmp (world-writable) they could not
		 * pass StrictModes */
		s->port, s->dir, s->dir, s->drop ? "yes" : "no", s->dir, sshd_log_level);
	return fclose(f);
}

static int spawn(struct sshd *s)
{
	char *cfg = sshd_path(s, "sshd_config"), *log = sshd_path(s, "sshd.log");
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	s->pid = fork();
	if (s->pid == 0) {
		/* root: become the unprivileged user for good before sshd */
		if (s->drop && (setgroups(1, &s->gid) != 0 || setgid(s->gid) != 0 ||
				setuid(s->uid) != 0 || setuid(0) == 0))
			_exit(126);
		execl(SSHD_BIN, SSHD_BIN, "-D", "-f", cfg, "-E", log, (char *)NULL);
		_exit(127);
	}
	free(cfg);
	free(log);
	for (i = 0; i < 500 && !port_open(s->port); i++) /* at most 10 s */
		nanosleep(&ts, NULL);
	/* ours, not another server that took the port meanwhile */
	if (waitpid(s->pid, NULL, WNOHANG) != 0) {
		s->pid = 0;
		return -1;
	}
	return port_open(s->port) ? 0 : -1;
}

static int fingerprint(struct sshd *s)
{
	char cmd[256];
	FILE *p;
	int rc = -1;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -l -E sha256 -f %s/host_key.pub", s->dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%*d %95s", s->host_fp) == 1)
		rc = 0;
	if (p)
		pclose(p);
	return rc;
}

void sshd_give(const struct sshd *s, const char *path)
{
	if (s->drop)
		(void)sshd_sh("chown -R %u:%u '%s'", (unsigned)s->uid, (unsigned)s->gid, path);
}

int sshd_sudo_stand_in(const struct sshd *s)
{
	char *bin = sshd_path(s, "fakebin");
	int rc = sshd_sh("mkdir -p %s && printf '%%s\n' '#!/bin/sh' "
			 "'# recording stand-in for sudo (test only)' "
			 "'printf \"%%s\\n\" \"$*\" >> %s/sudo.calls' '[ \"$1\" = -n ] && shift' "
			 "'exec \"$@\"' > %s/sudo && chmod 0755 %s/sudo",
			 bin, s->dir, bin, bin);

	sshd_give(s, bin);
	free(bin);
	return rc;
}

/* who sshd runs as: root starts it as SSHD_TEST_USER, in whose home the
 * directory goes (template into tmpl); 0, else why */
static int pick_user(struct sshd *s, char *tmpl, size_t cap, char *why, size_t why_len)
{
	struct passwd *pw;
	struct stat st;

	if (geteuid() != 0) {
		pw = getpwuid(getuid());
		s->user = strdup(pw ? pw->pw_name : "nobody");
		s->uid = getuid();
		s->gid = getgid();
		snprintf(tmpl, cap, "/tmp/lf-sshd-XXXXXX");
		return 0;
	}
	pw = getpwnam(SSHD_TEST_USER);
	if (!pw || !pw->pw_dir || stat(pw->pw_dir, &st) != 0 || st.st_uid != pw->pw_uid ||
	    strlen(pw->pw_dir) > 150)
		return snprintf(why, why_len,
				"the tests run as root, so sshd runs as the unprivileged user " SSHD_TEST_USER
				", which is missing (or has no home of its own): run .ci/bootstrap.sh --with-tests "
				"(creates the unprivileged user " SSHD_TEST_USER ")"), -1;
	s->drop = true;
	s->user = strdup(pw->pw_name);
	s->uid = pw->pw_uid;
	s->gid = pw->pw_gid;
	snprintf(tmpl, cap, "%s/lf-sshd-XXXXXX", pw->pw_dir);
	return 0;
}

int sshd_start(struct sshd *s, int base, char *why, size_t why_len)
{
	int port;

	memset(s, 0, sizeof(*s));
	if (access(SSHD_BIN, X_OK) != 0)
		return snprintf(why, why_len, "no %s (Debian openssh-server)", SSHD_BIN), -1;
	if (pick_user(s, s->dir, sizeof(s->dir), why, why_len) != 0)
		return -1;
	for (port = base; port < base + 50 && !port_free(port); port++)
		;
	if (port == base + 50)
		return snprintf(why, why_len, "no free port in %d-%d", base, base + 49), -1;
	s->port = port;
	if (!mkdtemp(s->dir) ||
	    sshd_sh("ssh-keygen -q -t ed25519 -N '' -f %s/host_key && "
		    "ssh-keygen -q -t ed25519 -N '' -f %s/user_key && "
		    "ssh-keygen -q -t ed25519 -N '' -f %s/other_key && "
		    "ssh-keygen -q -t ed25519 -N '' -f %s/other_host_key && "
		    "cp %s/user_key.pub %s/authorized_keys",
		    s->dir, s->dir, s->dir, s->dir, s->dir, s->dir) != 0 ||
	    fingerprint(s) != 0 || write_config(s) != 0)
		return snprintf(why, why_len, "cannot make sshd's keys and config"), -1;
	/* the directory and the host key (0600) are the login user's only */
	sshd_give(s, s->dir);
	if (spawn(s) != 0)
		return snprintf(why, why_len, "sshd did not start (see %s/sshd.log)", s->dir), -1;
	return 0;
}

int sshd_restart(struct sshd *s)
{
	return spawn(s);
}

void sshd_proc_each(void (*cb)(long pid, void *payload), void *payload)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			cb(atol(e->d_name), payload);
	if (d)
		closedir(d);
}

/* a process tree: every pid whose parent is in it joins it (stopped, so
 * it forks no more) */
struct tree {
	pid_t pid[256];
	int n, grew;
};

static void tree_add(long pid, void *payload)
{
	struct tree *t = payload;
	char path[64], buf[512], *p;
	FILE *f;
	long pp;
	int i;

	for (i = 0; i < t->n; i++)
		if (t->pid[i] == pid)
			return;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 2, "%*c %ld", &pp) != 1)
		return;
	for (i = 0; i < t->n && t->n < 256; i++)
		if (t->pid[i] == pp) {
			kill((pid_t)pid, SIGSTOP);
			t->pid[t->n++] = (pid_t)pid;
			t->grew = 1;
			return;
		}
}

struct proc_find {
	const char *word;
	bool found;
};

static void match_cmdline(long pid, void *payload)
{
	struct proc_find *pf = payload;
	char path[64], buf[512];
	size_t n, i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = pf->found ? NULL : fopen(path, "r");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	pf->found = strstr(buf, pf->word) != NULL;
}

bool sshd_proc_running(const char *word)
{
	struct proc_find pf = { word, false };

	sshd_proc_each(match_cmdline, &pf);
	return pf.found;
}

void sshd_kill(struct sshd *s)
{
	struct tree t = { { s->pid }, 1, 1 };
	int i;

	if (s->pid <= 0)
		return;
	/* the listener, its connections and their children (an sshd not run
	 * as root keeps a connection in a grandchild), stopped, then killed */
	kill(s->pid, SIGSTOP);
	while (t.grew) {
		t.grew = 0;
		sshd_proc_each(tree_add, &t);
	}
	for (i = t.n - 1; i >= 1; i--)
		kill(t.pid[i], SIGKILL);
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

void sshd_stop(struct sshd *s)
{
	sshd_kill(s);
	if (s->dir[0])
		sshd_sh("rm -rf %s", s->dir);
	free(s->user);
	s->user = NULL;
}

const struct lf_driver *sshd_ssh_driver(struct lf_registry **reg)
{
	const struct lf_driver *drv = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_registry_new(reg), 0);
	if (lf_registry_get(*reg, "ssh", &drv, &err) != 0)
		fail_msg("loading the ssh driver: %s", err.msg);
	return drv;
}

struct lf_driver_conn *sshd_driver_open(const struct lf_driver *drv, json_t *cfg, int *rc,
					struct lf_err *err)
{
	struct lf_kv *kv = lf_kv_wrap(cfg);
	struct lf_driver_conn *c = NULL;
	struct lf_call call;

	lf_call_init(&call, "ssh", "dc1", NULL);
	*rc = drv->open(&c, kv, &call, 0, err);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	return c;
}

int sshd_run_group(const struct CMUnitTest *tests, size_t n, int (*setup)(void **),
		   int (*teardown)(void **))
{
	signal(SIGPIPE, SIG_IGN);
	if (getenv("LF_TEST_FILTER"))
		cmocka_set_test_filter(getenv("LF_TEST_FILTER"));
	return _cmocka_run_group_tests("tests", tests, n, setup, teardown);
}
