/*
 * Remote commands of the ssh driver. SSH hands a command line to the
 * user's login shell, so argv is quoted word by word and run through
 *
 *   printf '%s\n' $$ >&2; cd ROOT && exec env -i PATH=... HOME="$HOME"
 *       LANG=C K=V... /bin/sh -c 'exec "$@"' ledgerform-exec ARGV...
 *
 * (with LF_EXEC_SHELL: /bin/sh -c SCRIPT ledgerform-exec ARGS...): no
 * word of argv is ever interpreted by a shell, and the command has exactly
 * envp plus PATH, HOME and LANG. The first line of stderr is the remote
 * shell's pid, which sshd made a session (and process group) leader: a
 * timeout or a cancel kills that group over a second channel, so the
 * remote command really ends. stdout and stderr keep their last out_max
 * bytes each. Every command has a channel of its own on the machine's
 * shared session; its loop waits in ssh_wait, without the session's lock,
 * so parallel commands run together.
 */
#include "ssh.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSH_OUT_DEFAULT (64 * 1024)

char *ssh_quote(const char *s)
{
	size_t n = 3, i, o = 0;
	char *q;

	for (i = 0; s[i]; i++)
		n += s[i] == '\'' ? 4 : 1;
	q = malloc(n);
	if (!q)
		return NULL;
	q[o++] = '\'';
	for (i = 0; s[i]; i++) {
		if (s[i] == '\'') {
			memcpy(q + o, "'\\''", 4);
			o += 4;
		} else {
			q[o++] = s[i];
		}
	}
	q[o++] = '\'';
	q[o] = '\0';
	return q;
}

/* a growing command line */
struct cmdline {
	char *s;
	size_t len, cap;
	int oom;
};

static void cl_add(struct cmdline *cl, const char *text)
{
	size_t n = strlen(text);
	char *p;

	if (cl->oom)
		return;
	if (cl->len + n + 2 > cl->cap) {
		cl->cap = (cl->len + n + 2) * 2;
		p = realloc(cl->s, cl->cap);
		if (!p) {
			cl->oom = 1;
			return;
		}
		cl->s = p;
	}
	memcpy(cl->s + cl->len, text, n);
	cl->len += n;
	cl->s[cl->len++] = ' ';
	cl->s[cl->len] = '\0';
}

static void cl_addq(struct cmdline *cl, const char *word)
{
	char *q = ssh_quote(word);

	if (!q)
		cl->oom = 1;
	else
		cl_add(cl, q);
	free(q);
}

static int env_ok(const char *kv)
{
	size_t i;

	for (i = 0; kv[i] && kv[i] != '='; i++)
		if (!(kv[i] == '_' || (kv[i] >= 'A' && kv[i] <= 'Z') || (kv[i] >= 'a' && kv[i] <= 'z') ||
		      (i > 0 && kv[i] >= '0' && kv[i] <= '9')))
			return 0;
	return i > 0 && kv[i] == '=';
}

static int build_command(const struct ssh_run *r, const char *rpath, char **out,
			 struct lf_err *err)
{
	struct cmdline cl = { 0 };
	char path[600];
	size_t i;

	cl_add(&cl, "printf '%s\\n' $$ >&2;");
	if (r->cwd) {
		cl_add(&cl, "cd");
		cl_addq(&cl, r->cwd);
		cl_add(&cl, "&&");
	}
	cl_add(&cl, "exec env -i");
	snprintf(path, sizeof(path), "PATH=%s", rpath ? rpath : SSH_DEFAULT_PATH);
	cl_addq(&cl, path);
	cl_add(&cl, "HOME=\"$HOME\" LANG=C");
	for (i = 0; r->envp && r->envp[i]; i++) {
		if (!env_ok(r->envp[i])) {
			free(cl.s);
			return ssh_host->err_set(err, LF_EINVALID,
						 "ssh: environment entry %zu is not KEY=VALUE", i);
		}
		cl_addq(&cl, r->envp[i]);
	}
	cl_add(&cl, "/bin/sh -c");
	cl_addq(&cl, r->shell ? r->argv[0] : "exec \"$@\"");
	cl_add(&cl, "ledgerform-exec");
	for (i = r->shell ? 1 : 0; r->argv[i]; i++)
		cl_addq(&cl, r->argv[i]);
	if (cl.oom) {
		free(cl.s);
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	}
	*out = cl.s;
	return 0;
}

/* ---- bounded output ----------------------------------------------------- */

struct tail {
	char *buf;
	size_t len, max;
};

static int tail_add(struct tail *t, const char *data, size_t n)
{
	char *p;

	if (t->len > 0 && t->len + n > 2 * t->max + 4096) {
		size_t keep = t->len > t->max ? t->max : t->len;

		memmove(t->buf, t->buf + t->len - keep, keep);
		t->len = keep;
	}
	p = realloc(t->buf, t->len + n + 1);
	if (!p)
		return -1;
	t->buf = p;
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	return 0;
}

static void tail_flush(struct tail *t, struct lf_blob *blob)
{
	size_t n = t->len;
	size_t off = n > t->max ? n - t->max : 0;

	if (blob && n > off)
		ssh_host->blob_append(blob, t->buf + off, n - off);
	free(t->buf);
	t->buf = NULL;
}

/* ---- the channel loop --------------------------------------------------- */

struct xstate {
	LIBSSH2_CHANNEL *ch;
	struct tail out, err;
	const char *in;
	size_t in_left;
	int eof_sent;
	long long pid;
};

/* the first line of stderr is the remote shell's pid: take it out */
static void take_pid(struct xstate *x)
{
	char *nl;
	size_t n;

	if (x->pid != 0 || x->err.len == 0)
		return;
	nl = memchr(x->err.buf, '\n', x->err.len);
	if (!nl)
		return;
	x->pid = strtoll(x->err.buf, NULL, 10);
	n = (size_t)(nl - x->err.buf) + 1;
	memmove(x->err.buf, nl + 1, x->err.len - n);
	x->err.len -= n;
	if (x->pid == 0)
		x->pid = -1;
}

/* read what is there; 1: the channel is at EOF, 0: more later, <0 error */
static int pump(struct xstate *x)
{
	char buf[32768];
	ssize_t n;
	int more = 1;

	while (more) {
		more = 0;
		if (x->in_left > 0) {
			n = libssh2_channel_write(x->ch, x->in, x->in_left);
			if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
				return (int)n;
			if (n > 0) {
				x->in += n;
				x->in_left -= (size_t)n;
			}
		}
		if (x->in_left == 0 && !x->eof_sent &&
		    libssh2_channel_send_eof(x->ch) != LIBSSH2_ERROR_EAGAIN)
			x->eof_sent = 1;
		n = libssh2_channel_read(x->ch, buf, sizeof(buf));
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			return (int)n;
		if (n > 0 && tail_add(&x->out, buf, (size_t)n) == 0)
			more = 1;
		n = libssh2_channel_read_stderr(x->ch, buf, sizeof(buf));
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
			return (int)n;
		if (n > 0 && tail_add(&x->err, buf, (size_t)n) == 0)
			more = 1;
		take_pid(x);
	}
	return libssh2_channel_eof(x->ch) ? 1 : 0;
}

/* end the remote command's process group over a second channel (mu held) */
static void kill_remote(struct ssh_machine *m, long long pid)
{
	char cmd[160];
	LIBSSH2_CHANNEL *ch;
	char buf[256];
	ssize_t n;
	int e;

	if (pid <= 1)
		return; /* never showed its pid: closing the channel is all */
	snprintf(cmd, sizeof(cmd), "kill -s KILL -- -%lld 2>/dev/null; kill -s KILL %lld 2>/dev/null; true",
		 pid, pid);
	if (ssh_chan_take(m, 1) != 0)
		return;
	ch = ssh_channel_open(m);
	if (ch) {
		SSH_INT(m, e, libssh2_channel_exec(ch, cmd));
		do
			SSH_INT(m, n, libssh2_channel_read(ch, buf, sizeof(buf)));
		while (e == 0 && n > 0);
		if (!m->dead)
			SSH_INT(m, e, libssh2_channel_free(ch));
	}
	ssh_chan_give(m);
}

static const struct { const char *name; int num; } signames[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "ABRT", SIGABRT }, { "FPE", SIGFPE }, { "KILL", SIGKILL }, { "SEGV", SIGSEGV },
	{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 },
};

static int exit_status_of(LIBSSH2_CHANNEL *ch)
{
	char *sig = NULL;
	size_t i, siglen = 0;

	libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL);
	if (sig) {
		int num = SIGKILL;

		for (i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
			if (strcmp(sig, signames[i].name) == 0)
				num = signames[i].num;
		free(sig);
		return 128 + num;
	}
	return libssh2_channel_get_exit_status(ch) & 0xff;
}

/* the earliest of the call's timeout, the config's and the call's deadline */
static uint64_t run_deadline(struct lf_driver_conn *c, const struct ssh_run *r,
			     struct lf_call *call)
{
	uint64_t now = ssh_host->now_ms(), d = ssh_host->call_deadline(call), t = 0;

	if (r->timeout_ms)
		t = now + r->timeout_ms;
	else if (c->cfg.exec_timeout > 0)
		t = now + (uint64_t)c->cfg.exec_timeout * 1000;
	if (d && (!t || d < t))
		t = d;
	return t;
}

/* the command's pid shows up after the user's shell has read its rc files
 * (which can take seconds): a command timed out before that is given this
 * long to show its pid, so it is killed rather than left to start */
#define SSH_PID_GRACE_MS 30000

/* the deadline or a cancel came: end the remote command; 1 when done, 0
 * while still waiting for its pid */
static int run_stop(struct ssh_machine *m, struct xstate *x, uint64_t since)
{
	if (x->pid == 0 && ssh_host->now_ms() < since + SSH_PID_GRACE_MS)
		return 0;
	kill_remote(m, x->pid);
	return 1;
}

/* loop until EOF, the deadline or a cancel */
static int run_loop(struct lf_driver_conn *c, struct ssh_machine *m, struct xstate *x,
		    const struct ssh_run *r, struct lf_call *call, struct lf_err *err)
{
	uint64_t deadline = run_deadline(c, r, call), stop_at = 0;
	int rc, why = 0;

	while ((rc = pump(x)) == 0) {
		if (!why && deadline && ssh_host->now_ms() >= deadline)
			why = LF_ETIMEOUT;
		else if (!why && ssh_host->call_cancelled(call))
			why = LF_ECANCELED;
		if (why && !stop_at)
			stop_at = ssh_host->now_ms();
		if (why && run_stop(m, x, stop_at))
			break;
		if (ssh_wait(m, 100) != 0) {
			rc = LIBSSH2_ERROR_SOCKET_DISCONNECT;
			break;
		}
	}
	if (rc < 0)
		return ssh_fail(m, rc, "reading a command's output", err);
	if (why == LF_ETIMEOUT)
		return ssh_host->err_set(err, LF_ETIMEOUT,
					 "ssh: command on %s timed out; its process group was killed",
					 m->address);
	if (why)
		return ssh_host->err_set(err, LF_ECANCELED, "ssh: command on %s cancelled", m->address);
	return 0;
}

/* open, run and close one command on a channel of its own; x keeps the
 * output (caller frees) */
static int run_core(struct lf_driver_conn *c, struct ssh_machine *m, const struct ssh_run *r,
		    struct xstate *x, int *status, struct lf_call *call, struct lf_err *err)
{
	char *cmd = NULL;
	int rc, e = 0, slot = 0;

	memset(x, 0, sizeof(*x));
	x->out.max = x->err.max = r->out_max ? r->out_max : SSH_OUT_DEFAULT;
	x->in = r->stdin_data;
	x->in_left = r->stdin_data ? r->stdin_len : 0;
	rc = build_command(r, c->cfg.path, &cmd, err);
	if (rc != 0)
		return rc;
	ssh_lock(m);
	slot = ssh_chan_take(m, 0) == 0;
	if (!slot)
		rc = ssh_fail(m, LIBSSH2_ERROR_SOCKET_DISCONNECT, "cannot open a channel", err);
	if (rc == 0 && !(x->ch = ssh_channel_open(m)))
		rc = ssh_fail(m, libssh2_session_last_errno(m->s), "cannot open a channel", err);
	if (rc == 0) {
		SSH_INT(m, e, libssh2_channel_exec(x->ch, cmd));
		if (e != 0)
			rc = ssh_fail(m, e, "cannot start a command", err);
	}
	if (rc == 0)
		rc = run_loop(c, m, x, r, call, err);
	if (rc == 0) {
		SSH_INT(m, e, libssh2_channel_close(x->ch));
		if (e == 0)
			SSH_INT(m, e, libssh2_channel_wait_closed(x->ch));
		if (e != 0)
			rc = ssh_fail(m, e, "closing a channel", err);
		else
			*status = exit_status_of(x->ch);
	}
	if (x->ch && !m->dead) /* a dead session's channels go with it */
		SSH_INT(m, e, libssh2_channel_free(x->ch));
	if (slot)
		ssh_chan_give(m);
	ssh_unlock(m);
	free(cmd);
	return rc;
}

int ssh_run(struct lf_driver_conn *c, struct ssh_machine *m, const struct ssh_run *r,
	    struct lf_exec_result *res, struct lf_call *call, struct lf_err *err)
{
	struct xstate x;
	int status = -1;
	int rc = run_core(c, m, r, &x, &status, call, err);

	if (rc == 0)
		res->exit_status = status;
	tail_flush(&x.out, rc == 0 ? res->out : NULL);
	tail_flush(&x.err, rc == 0 ? res->err : NULL);
	return rc;
}

/* the kept bytes as a string (caller frees) */
static char *tail_take(struct tail *t)
{
	size_t n = t->len;
	size_t off = n > t->max ? n - t->max : 0;
	char *s = malloc(n - off + 1);

	if (s) {
		if (n > off)
			memcpy(s, t->buf + off, n - off);
		s[n - off] = '\0';
	}
	free(t->buf);
	t->buf = NULL;
	return s;
}

int ssh_run_text(struct lf_driver_conn *c, struct ssh_machine *m, const struct ssh_run *r,
		 int *status, char **out, char **errout, struct lf_call *call,
		 struct lf_err *err)
{
	struct xstate x;
	int rc = run_core(c, m, r, &x, status, call, err);

	*out = tail_take(&x.out);
	if (errout)
		*errout = tail_take(&x.err);
	free(x.err.buf);
	if (rc == 0 && (!*out || (errout && !*errout)))
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	return rc;
}

int ssh_script(struct lf_driver_conn *c, struct ssh_machine *m, const char *script,
	       int *status, char **out, char **errout, struct lf_call *call,
	       struct lf_err *err)
{
	const char *argv[] = { script, NULL };
	struct ssh_run r = { argv, NULL, NULL, 0, 0, SSH_OUT_DEFAULT, 1, NULL };

	return ssh_run_text(c, m, &r, status, out, errout, call, err);
}
