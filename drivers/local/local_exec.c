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

extern char **environ;

#define SHELL_ARGV_MAX 64
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

static int spawn_child(const char *dir, const char *const *argv,
		       unsigned int flags, int wfd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	const char *shv[SHELL_ARGV_MAX + 4];
	char *const *av = (char *const *)argv;
	size_t i;
	int rc;

	if (flags & LF_EXEC_SHELL) {
		shv[0] = "/bin/sh";
		shv[1] = "-c";
		shv[2] = argv[0];
		shv[3] = "ledgerform-exec"; /* $0; argv[1..] become $1.. */
		for (i = 1; argv[i] && i <= SHELL_ARGV_MAX; i++)
			shv[i + 3] = argv[i];
		shv[i + 3] = NULL;
		av = (char *const *)shv;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, wfd, 1);
	posix_spawn_file_actions_adddup2(&fa, wfd, 2);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	rc = posix_spawnp(pid, av[0], &fa, &at, av, environ);
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

static int run_failed(const char *cmd, int rc, int why, long timeout,
		      struct lf_err *err)
{
	if (why == LF_ETIMEOUT)
		return local_host->err_set(err, LF_ETIMEOUT,
					   "local: command '%s' killed after exec_timeout %ld s",
					   cmd, timeout);
	if (why == LF_ECANCELED)
		return local_host->err_set(err, LF_ECANCELED,
					   "local: command '%s' killed: cancelled", cmd);
	return local_host->err_set(err, LF_ERROR, "local: cannot run '%s': %s", cmd,
				   strerror(rc));
}

int local_run(const struct lf_driver_conn *c, const char *dir,
	      const char *const *argv, unsigned int flags,
	      struct lf_exec_result *res, void *(*out_alloc)(size_t),
	      struct lf_err *err)
{
	struct run_out o = { NULL, 0, 0 };
	int fds[2] = { -1, -1 }, rc, why = 0, status = 0;
	long long deadline = 0;
	pid_t pid = -1;

	o.buf = malloc(LOCAL_OUTPUT_MAX);
	if (!o.buf || pipe2(fds, O_CLOEXEC) != 0) {
		rc = local_host->err_set(err, LF_ERROR, "local: cannot set up exec: %s",
					 strerror(errno));
		goto cleanup;
	}
	rc = spawn_child(dir, argv, flags, fds[1], &pid);
	close(fds[1]);
	fds[1] = -1;
	if (rc == ENOENT || rc == EACCES || rc == ENOEXEC) {
		/* as a shell would: status 127/126 with the reason as output */
		o.len = (size_t)snprintf(o.buf, LOCAL_OUTPUT_MAX, "local: cannot run '%s': %s\n",
					 argv[0], strerror(rc));
		res->exit_status = rc == ENOENT ? 127 : 126;
		rc = result_fill(res, &o, out_alloc, err);
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
	return rc;
}
