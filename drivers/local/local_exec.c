/*
 * Running commands for the local driver: posix_spawn (safe in a threaded
 * process) with cwd = host directory, stdin from /dev/null, stdout and
 * stderr into one pipe, the child in its own process group so a timeout
 * or a cancel kills everything it started. Output is bounded.
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
#define TRUNC_NOTE "\n[ledgerform: output truncated at 1048576 bytes]\n"

struct run_out {
	char *buf;            /* LOCAL_OUTPUT_MAX + note */
	size_t len;
	int truncated;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read once and keep what fits; returns read()'s result */
static ssize_t out_read(int fd, struct run_out *o)
{
	char tmp[65536];
	ssize_t r = read(fd, tmp, sizeof(tmp));
	size_t room, take;

	if (r <= 0)
		return r;
	room = LOCAL_OUTPUT_MAX - o->len;
	take = (size_t)r < room ? (size_t)r : room;
	memcpy(o->buf + o->len, tmp, take);
	o->len += take;
	if (take < (size_t)r)
		o->truncated = 1;
	return r;
}

/* 1 when the pipe is done (EOF or a hard error) */
static int out_step(int fd, struct run_out *o)
{
	ssize_t r = out_read(fd, o);

	if (r > 0)
		return 0;
	return !(r < 0 && (errno == EINTR || errno == EAGAIN));
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

/* The child's whole environment: PATH, HOME, LANG=C and nothing of the
 * controller's (its credentials stay with it). What a node needs beyond
 * that comes from its own env file (run.sh sources fabric/node.env).
 * Each entry is one malloc'd string; NULL-terminated; env_free frees. */
static char **env_build(void)
{
	const char *path = getenv("PATH"), *home = getenv("HOME");
	char **env = calloc(4, sizeof(*env));
	size_t n = 0;

	if (!env)
		return NULL;
	if (asprintf(&env[n], "PATH=%s", path && path[0] ? path : DEFAULT_PATH) >= 0)
		n++;
	if (home && asprintf(&env[n], "HOME=%s", home) >= 0)
		n++;
	env[n] = strdup("LANG=C");
	return env;
}

static void env_free(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

static int spawn_child(const char *dir, char *const *av, char *const *env,
		       int wfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wfd, 1);
	posix_spawn_file_actions_adddup2(&fa, wfd, 2);
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

/* Collect output until the child exits (and the pipe is drained), the
 * deadline passes or the user cancels. Returns 0 or LF_ETIMEOUT /
 * LF_ECANCELED (child killed and reaped). */
static int wait_child(pid_t pid, int rfd, long long deadline,
		      struct run_out *o, int *status)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };
	int eof = 0, exited = 0, st = 0, why = 0;

	while (!(eof && exited)) {
		if (!eof && poll(&pfd, 1, 50) > 0)
			eof = out_step(rfd, o);
		else if (eof)
			poll(NULL, 0, 1); /* pipe closed: the child is exiting */
		if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
			exited = 1;
			/* a background grandchild may keep the pipe open:
			 * take what is there now and stop */
			fcntl(rfd, F_SETFL, O_NONBLOCK);
			while (!eof && out_read(rfd, o) > 0)
				;
			eof = 1;
		}
		if (exited)
			break;
		if (local_host->cancelled())
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

/* Hand the output to the host's allocator (with the truncation note). */
static int result_fill(struct lf_exec_result *res, const struct run_out *o,
		       void *(*out_alloc)(size_t), struct lf_err *err)
{
	size_t note = o->truncated ? strlen(TRUNC_NOTE) : 0;
	char *p = out_alloc(o->len + note + 1);

	if (!p)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	memcpy(p, o->buf, o->len);
	memcpy(p + o->len, TRUNC_NOTE, note);
	p[o->len + note] = '\0';
	res->output = p;
	res->output_len = o->len + note;
	return 0;
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
					   "local: command '%s' killed after exec_timeout %ld s",
					   label, timeout);
	if (why == LF_ECANCELED)
		return local_host->err_set(err, LF_ECANCELED,
					   "local: command '%s' killed: cancelled", label);
	return local_host->err_set(err, LF_ERROR, "local: cannot run '%s': %s", label,
				   strerror(rc));
}

/* argv and environment of the child; LF_EINVALID above LOCAL_ARGV_MAX */
static int spawn_prepare(const char *const *argv, unsigned int flags,
			 char ***av, char ***env, struct lf_err *err)
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
	*env = env_build();
	if (!*av || !*env)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	return 0;
}

/* as a shell would: status 127/126 with the reason as output */
static int not_runnable(const char *cmd, int rc, struct run_out *o,
			struct lf_exec_result *res, void *(*out_alloc)(size_t),
			struct lf_err *err)
{
	char label[CMD_LABEL_MAX + 32];

	cmd_label(cmd, label, sizeof(label));
	o->len = (size_t)snprintf(o->buf, LOCAL_OUTPUT_MAX, "local: cannot run '%s': %s\n",
				  label, strerror(rc));
	res->exit_status = rc == ENOENT ? 127 : 126;
	return result_fill(res, o, out_alloc, err);
}

int local_run(const struct lf_driver_conn *c, const char *dir,
	      const char *const *argv, unsigned int flags,
	      struct lf_exec_result *res, void *(*out_alloc)(size_t),
	      struct lf_err *err)
{
	struct run_out o = { NULL, 0, 0 };
	int fds[2] = { -1, -1 }, rc, why = 0, status = 0;
	char **av = NULL, **env = NULL;
	long long deadline = 0;
	pid_t pid = -1;

	rc = spawn_prepare(argv, flags, &av, &env, err);
	if (rc != 0)
		goto cleanup;
	o.buf = malloc(LOCAL_OUTPUT_MAX);
	if (!o.buf || pipe2(fds, O_CLOEXEC) != 0) {
		rc = local_host->err_set(err, LF_ERROR, "local: cannot set up exec: %s",
					 strerror(errno));
		goto cleanup;
	}
	rc = spawn_child(dir, av, env, fds[1], &pid);
	close(fds[1]);
	fds[1] = -1;
	if (rc == ENOENT || rc == EACCES || rc == ENOEXEC) {
		rc = not_runnable(argv[0], rc, &o, res, out_alloc, err);
		goto cleanup;
	}
	if (rc != 0) {
		rc = run_failed(argv[0], rc, 0, 0, err);
		goto cleanup;
	}
	if (c->exec_timeout > 0)
		deadline = mono_ms() + (long long)c->exec_timeout * 1000;
	why = wait_child(pid, fds[0], deadline, &o, &status);
	if (why) {
		rc = run_failed(argv[0], 0, why, c->exec_timeout, err);
		goto cleanup;
	}
	res->exit_status = status;
	rc = result_fill(res, &o, out_alloc, err);
cleanup:
	if (fds[0] >= 0)
		close(fds[0]);
	free(o.buf);
	free(av);
	env_free(env);
	return rc;
}
