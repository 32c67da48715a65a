/*
 * Running commands for the local driver: posix_spawn (safe in a threaded
 * process) with cwd = host directory, stdin from the caller's bytes (or
 * /dev/null), stdout and stderr into two pipes drained into the host's
 * bounded blobs, the child in its own process group so a timeout or a
 * cancel kills everything it started, and an environment of PATH, HOME,
 * LANG=C and the caller's envp only.
 */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_ARGV_MAX 4096   /* arguments of one exec */
#define CMD_LABEL_MAX 60       /* command text shown in an error */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* argv as spawned: through /bin/sh -c with LF_EXEC_SHELL (argv[1..]
 * become $1..); caller frees the array, not the strings */
static char **argv_build(const char *const *argv, unsigned int flags)
{
	size_t n = 0, i, off = (flags & LF_EXEC_SHELL) ? 3 : 0;
	const char **av;

	while (argv[n])
		n++;
	av = calloc(n + off + 2, sizeof(*av));
	if (!av)
		return NULL;
	if (off) {
		av[0] = "/bin/sh";
		av[1] = "-c";
		av[2] = argv[0];
		av[3] = "ledgerform-exec"; /* $0 */
		for (i = 1; i < n; i++)
			av[i + 3] = argv[i];
	} else {
		for (i = 0; i < n; i++)
			av[i] = argv[i];
	}
	return (char **)av;
}

/* The child's whole environment: PATH, HOME, LANG=C and the caller's
 * envp, nothing of the controller's (its credentials stay with it).
 * Each entry is one malloc'd string; NULL-terminated; env_free frees. */
static char **env_build(const char *const *envp)
{
	const char *path = getenv("PATH"), *home = getenv("HOME");
	size_t n = 0, extra = 0, i;
	char **env;

	while (envp && envp[extra])
		extra++;
	env = calloc(4 + extra, sizeof(*env));
	if (!env)
		return NULL;
	if (asprintf(&env[n], "PATH=%s", path && path[0] ? path : DEFAULT_PATH) >= 0)
		n++;
	if (home && asprintf(&env[n], "HOME=%s", home) >= 0)
		n++;
	env[n++] = strdup("LANG=C");
	for (i = 0; i < extra; i++)
		if (strchr(envp[i], '=') && envp[i][0] != '=')
			env[n++] = strdup(envp[i]);
	return env;
}

static void env_free(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* fds: [0] the child's stdin (read end or -1 for /dev/null), [1] stdout
 * write end, [2] stderr write end */
static int spawn_child(const char *dir, char *const *av, char *const *env,
		       const int fds[3], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (fds[0] >= 0)
		posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[2], 2);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(pid, av[0], &fa, &at, av, env);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

static int exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

#define LOCAL_OUT_DEFAULT (64u * 1024u)

/* the last cap bytes of a stream */
struct tail {
	char *buf;
	size_t len, cap;
};

static void tail_add(struct tail *t, const char *data, size_t n)
{
	if (n >= t->cap) {
		memcpy(t->buf, data + (n - t->cap), t->cap);
		t->len = t->cap;
		return;
	}
	if (t->len + n > t->cap) {
		size_t drop = t->len + n - t->cap;

		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
}

/* the running child's pipes: stdin to feed, stdout and stderr to drain */
struct pipes {
	int in, out, err;             /* our ends; -1 when closed */
	const char *feed;             /* stdin bytes left */
	size_t feed_len;
	struct tail tout, terr;       /* what is kept of stdout, stderr */
};

static void pipe_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* read what is there from *fd into t; closes at EOF; 1 when it read */
static int drain(int *fd, struct tail *t)
{
	char tmp[65536];
	ssize_t r;

	if (*fd < 0)
		return 0;
	r = read(*fd, tmp, sizeof(tmp));
	if (r > 0) {
		tail_add(t, tmp, (size_t)r);
		return 1;
	}
	if (r == 0 || (errno != EINTR && errno != EAGAIN))
		pipe_close(fd);
	return 0;
}

static void feed(struct pipes *p)
{
	ssize_t w = write(p->in, p->feed, p->feed_len);

	if (w > 0) {
		p->feed += w;
		p->feed_len -= (size_t)w;
	}
	if (p->feed_len == 0 || (w < 0 && errno != EINTR && errno != EAGAIN))
		pipe_close(&p->in);
}

static void pump(struct pipes *p, int ms)
{
	struct pollfd pf[3];
	nfds_t n = 0;

	if (p->out >= 0)
		pf[n++] = (struct pollfd){ .fd = p->out, .events = POLLIN };
	if (p->err >= 0)
		pf[n++] = (struct pollfd){ .fd = p->err, .events = POLLIN };
	if (p->in >= 0)
		pf[n++] = (struct pollfd){ .fd = p->in, .events = POLLOUT };
	if (n == 0) { /* the child closed its pipes but runs on */
		poll(NULL, 0, ms);
		return;
	}
	if (poll(pf, n, ms) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++) {
		if (!pf[i].revents)
			continue;
		if (pf[i].fd == p->out)
			drain(&p->out, &p->tout);
		else if (pf[i].fd == p->err)
			drain(&p->err, &p->terr);
		else
			feed(p);
	}
}

/* Collect output until the child exits (and the pipes are drained), the
 * deadline passes or the call is cancelled. Returns 0 or LF_ETIMEOUT /
 * LF_ECANCELED (child's group killed and reaped). */
static int wait_child(pid_t pid, struct pipes *p, long long deadline,
		      struct lf_call *call, int *status)
{
	int st = 0, why = 0;

	for (;;) {
		pump(p, 50);
		if (waitpid(pid, &st, WNOHANG) == pid) {
			/* a background grandchild may keep a pipe open: take
			 * what is there now and stop */
			pipe_close(&p->in);
			if (p->out >= 0)
				fcntl(p->out, F_SETFL, O_NONBLOCK);
			if (p->err >= 0)
				fcntl(p->err, F_SETFL, O_NONBLOCK);
			while (drain(&p->out, &p->tout) | drain(&p->err, &p->terr))
				;
			break;
		}
		if (local_host->call_cancelled(call))
			why = LF_ECANCELED;
		else if (deadline && mono_ms() >= deadline)
			why = LF_ETIMEOUT;
		if (why) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
	}
	*status = exit_code(st);
	return why;
}

/* the command as shown in an error: at most CMD_LABEL_MAX bytes of
 * argv[0] (a shell script may be long and carry values), marked when cut */
static void cmd_label(const char *cmd, char *buf, size_t size)
{
	size_t n = strlen(cmd);

	if (n <= CMD_LABEL_MAX)
		snprintf(buf, size, "%s", cmd);
	else
		snprintf(buf, size, "%.*s...[%zu bytes]", CMD_LABEL_MAX, cmd, n);
}

static int run_failed(const char *cmd, int rc, int why, long timeout,
		      struct lf_err *err)
{
	char label[CMD_LABEL_MAX + 32];

	cmd_label(cmd, label, sizeof(label));
	if (why == LF_ETIMEOUT)
		return local_host->err_set(err, LF_ETIMEOUT,
					   "local: command '%s' killed after its timeout of %ld ms",
					   label, timeout);
	if (why == LF_ECANCELED)
		return local_host->err_set(err, LF_ECANCELED,
					   "local: command '%s' killed: cancelled", label);
	return local_host->err_set(err, LF_ERROR, "local: cannot run '%s': %s", label,
				   strerror(rc));
}

/* argv and environment of the child; LF_EINVALID above LOCAL_ARGV_MAX */
static int spawn_prepare(const char *const *argv, const char *const *envp,
			 unsigned int flags, char ***av, char ***env,
			 struct lf_err *err)
{
	size_t n = 0;

	*av = NULL;
	*env = NULL;
	while (argv[n] && n <= LOCAL_ARGV_MAX)
		n++;
	if (n > LOCAL_ARGV_MAX)
		return local_host->err_set(err, LF_EINVALID,
					   "local: exec with more than %d arguments refused",
					   LOCAL_ARGV_MAX);
	*av = argv_build(argv, flags);
	*env = env_build(envp);
	if (!*av || !*env)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	return 0;
}

/* as a shell would: status 127/126 with the reason on stderr */
static int not_runnable(const char *cmd, int rc, struct lf_exec_result *res)
{
	char label[CMD_LABEL_MAX + 32], line[CMD_LABEL_MAX + 160];
	int n;

	cmd_label(cmd, label, sizeof(label));
	n = snprintf(line, sizeof(line), "local: cannot run '%s': %s\n", label, strerror(rc));
	local_host->blob_append(res->err, line, n > 0 ? (size_t)n : 0);
	res->exit_status = rc == ENOENT ? 127 : 126;
	return 0;
}

static void fds_close(int *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pipe_close(&v[i]);
}

int local_run(const struct lf_driver_conn *c, const char *dir,
	      const struct lf_exec_spec *spec, unsigned int flags,
	      struct lf_call *call, struct lf_exec_result *res,
	      struct lf_err *err)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	size_t keep = spec->out_max ? spec->out_max : LOCAL_OUT_DEFAULT;
	struct pipes p = { -1, -1, -1, NULL, 0, { NULL, 0, keep }, { NULL, 0, keep } };
	char **av = NULL, **env = NULL;
	long long deadline = 0, timeout = 0;
	int rc, why, status = 0, child[3];
	pid_t pid = -1;

	p.tout.buf = malloc(keep);
	p.terr.buf = malloc(keep);
	if (!p.tout.buf || !p.terr.buf) {
		free(p.tout.buf);
		free(p.terr.buf);
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	}
	rc = spawn_prepare(spec->argv, spec->envp, flags, &av, &env, err);
	if (rc == 0 && (pipe2(pout, O_CLOEXEC) != 0 || pipe2(perr, O_CLOEXEC) != 0 ||
			(spec->stdin_data && pipe2(pin, O_CLOEXEC) != 0)))
		rc = local_host->err_set(err, LF_ERROR, "local: cannot set up exec: %s",
					 strerror(errno));
	if (rc != 0)
		goto cleanup;
	child[0] = pin[0];
	child[1] = pout[1];
	child[2] = perr[1];
	rc = spawn_child(dir, av, env, child, &pid);
	pipe_close(&pin[0]);
	pipe_close(&pout[1]);
	pipe_close(&perr[1]);
	if (rc == ENOENT || rc == EACCES || rc == ENOEXEC) {
		rc = not_runnable(spec->argv[0], rc, res);
		goto cleanup;
	}
	if (rc != 0) {
		rc = run_failed(spec->argv[0], rc, 0, 0, err);
		goto cleanup;
	}
	p.in = pin[1];
	p.out = pout[0];
	p.err = perr[0];
	pin[1] = pout[0] = perr[0] = -1;
	p.feed = spec->stdin_data;
	p.feed_len = spec->stdin_len;
	if (p.in >= 0)
		fcntl(p.in, F_SETFL, O_NONBLOCK);
	timeout = spec->timeout_ms ? (long long)spec->timeout_ms : (long long)c->exec_timeout * 1000;
	if (timeout > 0)
		deadline = mono_ms() + timeout;
	why = wait_child(pid, &p, deadline, call, &status);
	if (why) {
		rc = run_failed(spec->argv[0], 0, why, (long)timeout, err);
		goto cleanup;
	}
	res->exit_status = status;
	local_host->blob_append(res->out, p.tout.buf, p.tout.len);
	local_host->blob_append(res->err, p.terr.buf, p.terr.len);
cleanup:
	free(p.tout.buf);
	free(p.terr.buf);
	fds_close(pin, 2);
	fds_close(pout, 2);
	fds_close(perr, 2);
	pipe_close(&p.in);
	pipe_close(&p.out);
	pipe_close(&p.err);
	free(av);
	env_free(env);
	return rc;
}
