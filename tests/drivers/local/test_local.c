/*
 * The local driver through the real plugin loader: hosts as directories,
 * put (modes, atomic, traversal refused), exec (no shell by default,
 * output, exit codes, timeout), delete (only what it made).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/util/util.h"

struct fx {
	struct lf_registry *reg;
	const struct lf_driver *drv;
	struct lf_driver_conn *conn;
	char tmp[64];
	char *root;
};

static struct lf_driver_conn *open_conn(const struct lf_driver *drv,
					json_t *cfg, int *rc, struct lf_err *err)
{
	struct lf_kv *kv = lf_kv_wrap(cfg);
	struct lf_driver_conn *c = NULL;

	*rc = drv->open(&c, kv, NULL, 0, err);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	return c;
}

static int setup(void **state)
{
	struct fx *f = lf_xcalloc(1, sizeof(*f));
	struct lf_err err = LF_ERR_INIT;
	int rc;

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/lf-local-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	f->root = lf_xasprintf("%s/hosts/sub", f->tmp);
	assert_int_equal(lf_registry_new(&f->reg), 0);
	assert_int_equal(lf_registry_get(f->reg, "local", &f->drv, &err), 0);
	f->conn = open_conn(f->drv, json_pack("{s:s}", "root", f->root), &rc, &err);
	assert_int_equal(rc, 0);
	assert_non_null(f->conn);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->drv->close(f->conn);
	lf_rmtree(f->tmp, NULL);
	lf_registry_free(f->reg);
	free(f->root);
	free(f);
	return 0;
}

static struct lf_host_spec spec_of(const char *name)
{
	struct lf_host_spec s;

	memset(&s, 0, sizeof(s));
	s.address = "host.test.x";
	s.name = name;
	s.hostname = name;
	s.vcpus = 2;
	s.memory_mb = 4096;
	s.disk_gb = 20;
	s.image = "debian-12";
	return s;
}

/* create/read/update through the callbacks; returns the attrs object */
static json_t *call_host(struct fx *f, int op, const struct lf_host_spec *s,
			 int *rc, struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();

	if (op == 'c')
		*rc = f->drv->host_create(f->conn, s, b, 0, err);
	else if (op == 'r')
		*rc = f->drv->host_read(f->conn, s, b, 0, err);
	else
		*rc = f->drv->host_update(f->conn, s, b, 0, err);
	return lf_kv_builder_finish(b);
}

static void test_local_create_read_update(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("peer0-bank");
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/peer0-bank", f->root), *marker;
	struct stat st;
	json_t *a;
	int rc;

	a = call_host(f, 'c', &s, &rc, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(a, "id")), "peer0-bank");
	assert_string_equal(json_string_value(json_object_get(a, "path")), dir);
	assert_string_equal(json_string_value(json_object_get(a, "address")), "127.0.0.1");
	json_decref(a);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0755);
	marker = lf_xasprintf("%s/.ledgerform-host", dir);
	assert_true(lf_path_exists(marker));
	/* idempotent: created again, adopted */
	a = call_host(f, 'c', &s, &rc, &err);
	assert_int_equal(rc, 0);
	json_decref(a);
	s.vcpus = 8;
	s.disk_gb = 100;
	a = call_host(f, 'u', &s, &rc, &err);
	assert_int_equal(rc, 0);
	json_decref(a);
	a = call_host(f, 'r', &s, &rc, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(a, "vcpus")), "8");
	assert_string_equal(json_string_value(json_object_get(a, "disk_gb")), "100");
	assert_string_equal(json_string_value(json_object_get(a, "image")), "debian-12");
	json_decref(a);
	free(marker);
	free(dir);
}

static void assert_mode(const char *path, unsigned int mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if ((st.st_mode & 0777) != mode)
		print_message("%s: mode 0%o, expected 0%o\n", path,
			      (unsigned)(st.st_mode & 0777), mode);
	assert_int_equal(st.st_mode & 0777, mode);
}

static void test_local_put_modes(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("orderer0");
	struct lf_err err = LF_ERR_INIT;
	char *p, *data = NULL;
	size_t len = 0;
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	assert_int_equal(f->drv->put(f->conn, &s, "etc/fabric/core.yaml", "a: 1\n", 5,
				     0644, 0, &err), 0);
	assert_int_equal(f->drv->put(f->conn, &s, "msp/keystore/key.pem", "SECRET", 6,
				     0600, 0, &err), 0);
	/* overwrite is atomic and takes the new mode */
	assert_int_equal(f->drv->put(f->conn, &s, "etc/fabric/core.yaml", "a: 2\n", 5,
				     0640, 0, &err), 0);
	p = lf_xasprintf("%s/orderer0/etc/fabric/core.yaml", f->root);
	assert_mode(p, 0640);
	assert_int_equal(lf_read_file(p, &data, &len, NULL), 0);
	assert_string_equal(data, "a: 2\n");
	free(data);
	free(p);
	p = lf_xasprintf("%s/orderer0/etc/fabric", f->root);
	assert_mode(p, 0755);
	free(p);
	p = lf_xasprintf("%s/orderer0/msp/keystore/key.pem", f->root);
	assert_mode(p, 0600);
	free(p);
	p = lf_xasprintf("%s/orderer0/msp/keystore", f->root);
	assert_mode(p, 0700);
	free(p);
	p = lf_xasprintf("%s/orderer0/msp", f->root);
	assert_mode(p, 0700);
	free(p);
	/* on a host that does not exist */
	s.name = "ghost";
	assert_int_equal(f->drv->put(f->conn, &s, "x", "1", 1, 0644, 0, &err),
			 LF_ENOTFOUND);
}

static void expect_put_refused(struct fx *f, const struct lf_host_spec *s,
			       const char *path, int code, const char *why)
{
	struct lf_err err = LF_ERR_INIT;
	int rc = f->drv->put(f->conn, s, path, "x", 1, 0644, 0, &err);

	if (rc != code || !strstr(err.msg, why))
		print_message("put '%s': rc %d: %s\n", path, rc, err.msg);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err.msg, why));
}

static void test_local_put_traversal_refused(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("peer1");
	struct lf_err err = LF_ERR_INIT;
	char *out = lf_xasprintf("%s/outside", f->tmp), *link, *p;
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	expect_put_refused(f, &s, "../escape", LF_EINVALID, "'..' component");
	expect_put_refused(f, &s, "a/../../escape", LF_EINVALID, "'..' component");
	expect_put_refused(f, &s, "a/..", LF_EINVALID, "'..' component");
	expect_put_refused(f, &s, "/etc/passwd", LF_EINVALID, "is absolute");
	expect_put_refused(f, &s, "", LF_EINVALID, "empty file path");
	expect_put_refused(f, &s, "dir/", LF_EINVALID, "names a directory");
	/* a symlinked directory inside the host is not followed */
	assert_int_equal(mkdir(out, 0755), 0);
	link = lf_xasprintf("%s/peer1/link", f->root);
	assert_int_equal(symlink(out, link), 0);
	expect_put_refused(f, &s, "link/x", LF_ERROR, "not a directory");
	p = lf_xasprintf("%s/x", out);
	assert_false(lf_path_exists(p));
	p[0] = '\0';
	free(p);
	p = lf_xasprintf("%s/escape", f->root);
	assert_false(lf_path_exists(p));
	free(p);
	/* unknown flags */
	assert_int_equal(f->drv->put(f->conn, &s, "ok", "1", 1, 0644, 0x100, &err),
			 LF_EINVALID);
	free(link);
	free(out);
}

static int run(struct fx *f, const struct lf_host_spec *s,
	       const char *const *argv, unsigned int flags,
	       struct lf_exec_result *res, struct lf_err *err)
{
	memset(res, 0, sizeof(*res));
	return f->drv->exec(f->conn, s, argv, res, lf_host_out_alloc, flags, err);
}

static void test_local_exec(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("ca0");
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	const char *echo_home[] = { "echo", "$HOME", NULL };
	const char *sh_home[] = { "echo $HOME", NULL };
	const char *code3[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
	const char *pwd[] = { "pwd", NULL };
	const char *missing[] = { "ledgerform-no-such-command", NULL };
	const char *args[] = { "echo \"$1-$2\"", "a b", "c", NULL };
	char *want, *dir = lf_xasprintf("%s/ca0", f->root);
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	assert_int_equal(run(f, &s, echo_home, 0, &r, &err), 0);
	assert_int_equal(r.exit_status, 0);
	assert_string_equal(r.output, "$HOME\n");
	assert_int_equal(r.output_len, 6);
	free(r.output);
	assert_int_equal(run(f, &s, sh_home, LF_EXEC_SHELL, &r, &err), 0);
	want = lf_xasprintf("%s\n", getenv("HOME") ? getenv("HOME") : "");
	assert_string_equal(r.output, want);
	free(want);
	free(r.output);
	assert_int_equal(run(f, &s, args, LF_EXEC_SHELL, &r, &err), 0);
	assert_string_equal(r.output, "a b-c\n");
	free(r.output);
	assert_int_equal(run(f, &s, code3, 0, &r, &err), 0);
	assert_int_equal(r.exit_status, 3);
	assert_non_null(strstr(r.output, "out\n"));
	assert_non_null(strstr(r.output, "err\n"));
	free(r.output);
	assert_int_equal(run(f, &s, killed, 0, &r, &err), 0);
	assert_int_equal(r.exit_status, 128 + 9);
	free(r.output);
	assert_int_equal(run(f, &s, pwd, 0, &r, &err), 0);
	want = lf_xasprintf("%s\n", dir);
	assert_string_equal(r.output, want);
	free(want);
	free(r.output);
	assert_int_equal(run(f, &s, missing, 0, &r, &err), 0);
	assert_int_equal(r.exit_status, 127);
	assert_non_null(strstr(r.output, "ledgerform-no-such-command"));
	free(r.output);
	assert_int_equal(run(f, &s, pwd, 0x2, &r, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "unsupported flags (0x2)"));
	free(dir);
}

static void test_local_exec_bounded_output(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("big");
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	const char *big[] = { "head", "-c", "3000000", "/dev/zero", NULL };
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	assert_int_equal(run(f, &s, big, 0, &r, &err), 0);
	assert_int_equal(r.exit_status, 0);
	assert_true(r.output_len > 1048576 && r.output_len < 1048576 + 100);
	assert_non_null(strstr(r.output + 1048576, "truncated at 1048576 bytes"));
	free(r.output);
}

static void test_local_exec_timeout(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("slow");
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	struct lf_exec_result r;
	const char *sleeper[] = { "sleep", "600", NULL };
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	c = open_conn(f->drv, json_pack("{s:s,s:i}", "root", f->root, "exec_timeout", 1),
		      &rc, &err);
	assert_int_equal(rc, 0);
	memset(&r, 0, sizeof(r));
	/* killed (not left to run its 600 s): LF_ETIMEOUT, no output */
	rc = f->drv->exec(c, &s, sleeper, &r, lf_host_out_alloc, 0, &err);
	assert_int_equal(rc, LF_ETIMEOUT);
	assert_non_null(strstr(err.msg, "exec_timeout 1 s"));
	assert_null(r.output);
	f->drv->close(c);
	lf_err_clear(&err);
	c = open_conn(f->drv, json_pack("{s:s,s:s}", "root", f->root, "exec_timeout", "soon"),
		      &rc, &err);
	assert_int_equal(rc, LF_EINVALID);
	assert_null(c);
	assert_non_null(strstr(err.msg, "exec_timeout 'soon'"));
	lf_err_clear(&err);
	c = open_conn(f->drv, json_object(), &rc, &err);
	assert_int_equal(rc, LF_EINVALID);
	assert_non_null(strstr(err.msg, "'root' is required"));
}

struct bg_exec {
	struct fx *f;
	const struct lf_host_spec *s;
	int rc;
	struct lf_err err;
};

static void *bg_sleep(void *arg)
{
	struct bg_exec *b = arg;
	const char *sleeper[] = { "sh", "-c", "echo x >started; sleep 600; echo never", NULL };
	struct lf_exec_result r;

	memset(&r, 0, sizeof(r));
	b->rc = b->f->drv->exec(b->f->conn, b->s, sleeper, &r, lf_host_out_alloc, 0,
				&b->err);
	free(r.output);
	return NULL;
}

static void test_local_exec_cancel(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("cancel");
	struct bg_exec b = { f, &s, -99, LF_ERR_INIT };
	struct lf_err err = LF_ERR_INIT;
	char *started = lf_xasprintf("%s/cancel/started", f->root);
	pthread_t t;
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	assert_int_equal(pthread_create(&t, NULL, bg_sleep, &b), 0);
	/* wait for a condition (the command runs), not for a time */
	while (!lf_path_exists(started))
		lf_sleep_ms(10);
	lf_host_set_cancelled(1);
	pthread_join(t, NULL);
	lf_host_set_cancelled(0);
	/* the running command was killed (not refused before it started) */
	assert_int_equal(b.rc, LF_ECANCELED);
	assert_non_null(strstr(b.err.msg, "killed: cancelled"));
	free(started);
}

/* more arguments than any fixed array: all reach the command (shell and
 * not); above the driver's bound a clear refusal, never an overflow */
static void test_local_exec_many_args(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("args");
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	const char **argv = lf_xcalloc(4100, sizeof(*argv));
	size_t i;
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	argv[0] = "echo \"$#\" \"${200}\"";
	for (i = 1; i <= 200; i++)
		argv[i] = i == 200 ? "last" : "a";
	assert_int_equal(run(f, &s, argv, LF_EXEC_SHELL, &r, &err), 0);
	assert_string_equal(r.output, "200 last\n");
	free(r.output);
	argv[0] = "echo";
	assert_int_equal(run(f, &s, argv, 0, &r, &err), 0);
	assert_int_equal(r.output_len, 199 * 2 + 4 + 1);
	free(r.output);
	for (i = 1; i < 4099; i++)
		argv[i] = "a";
	assert_int_equal(run(f, &s, argv, LF_EXEC_SHELL, &r, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "more than 4096 arguments"));
	assert_null(r.output);
	free(argv);
}

/* the child sees PATH, HOME, LANG=C and nothing else of ours */
static void test_local_exec_clean_env(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("env");
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	const char *env_plain[] = { "env", NULL };
	const char *env_sh[] = { "env", NULL };
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	setenv("LF_TEST_CLOUD_SECRET", "tok-5ec7e7", 1);
	assert_int_equal(run(f, &s, env_plain, 0, &r, &err), 0);
	assert_null(strstr(r.output, "tok-5ec7e7"));
	assert_null(strstr(r.output, "LF_TEST_CLOUD_SECRET"));
	assert_non_null(strstr(r.output, "PATH="));
	assert_non_null(strstr(r.output, "LANG=C\n"));
	free(r.output);
	assert_int_equal(run(f, &s, env_sh, LF_EXEC_SHELL, &r, &err), 0);
	assert_null(strstr(r.output, "tok-5ec7e7"));
	assert_non_null(strstr(r.output, "PATH="));
	free(r.output);
	unsetenv("LF_TEST_CLOUD_SECRET");
}

/* a long command (a script may carry values) is cut in messages */
static void test_local_exec_bounded_messages(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("msg");
	struct lf_err err = LF_ERR_INIT;
	struct lf_exec_result r;
	char name[301];
	const char *argv[] = { name, NULL };
	size_t i;
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	for (i = 0; i < 29; i++)
		memcpy(name + i * 10, "lf-none-x/", 10);
	memcpy(name + 290, "TAILSECRET", 11);
	assert_int_equal(run(f, &s, argv, 0, &r, &err), 0);
	assert_int_equal(r.exit_status, 127);
	assert_null(strstr(r.output, "TAILSECRET"));
	assert_non_null(strstr(r.output, "...[300 bytes]"));
	assert_true(r.output_len < 200);
	free(r.output);
}

/* leftovers of a crashed create (.NAME.tmp-XXXXXX) or delete
 * (.NAME.trash-XXXXXX) that are empty or carry the marker are removed by
 * the next create/delete of NAME; anything else is left alone */
static void put_leftover(struct fx *f, const char *name, int marked,
			 const char *extra)
{
	char *dir = lf_xasprintf("%s/%s", f->root, name), *p;

	assert_int_equal(mkdir(dir, 0700), 0);
	if (marked) {
		p = lf_xasprintf("%s/.ledgerform-host", dir);
		assert_int_equal(lf_write_file_atomic(p, "", 0, 0644, NULL), 0);
		free(p);
	}
	if (extra) {
		p = lf_xasprintf("%s/%s", dir, extra);
		assert_int_equal(lf_write_file_atomic(p, "k", 1, 0600, NULL), 0);
		free(p);
	}
	free(dir);
}

static bool in_root(struct fx *f, const char *name)
{
	char *p = lf_xasprintf("%s/%s", f->root, name);
	bool there = lf_path_exists(p);

	free(p);
	return there;
}

static void test_local_leftovers(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("p0");
	struct lf_err err = LF_ERR_INIT;
	int rc;

	put_leftover(f, ".p0.tmp-a1B2c3", 1, "host.json");
	put_leftover(f, ".p0.tmp-Zz9Zz9", 0, NULL);
	put_leftover(f, ".p0.trash-q1q1q1", 1, "key.pem");
	put_leftover(f, ".p0.tmp-f0f0f0", 0, "notours.txt");
	put_leftover(f, ".p0.x.tmp-a1B2c3", 1, NULL); /* host "p0.x"'s */
	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	assert_true(in_root(f, "p0/.ledgerform-host"));
	assert_true(in_root(f, "p0/host.json"));
	assert_false(in_root(f, ".p0.tmp-a1B2c3"));
	assert_false(in_root(f, ".p0.tmp-Zz9Zz9"));
	assert_false(in_root(f, ".p0.trash-q1q1q1"));
	assert_true(in_root(f, ".p0.tmp-f0f0f0/notours.txt"));
	assert_true(in_root(f, ".p0.x.tmp-a1B2c3"));
	/* delete: the host goes, then a crashed delete's trash on a re-run */
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), 0);
	assert_false(in_root(f, "p0"));
	put_leftover(f, ".p0.trash-r2r2r2", 1, "a");
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), 0);
	assert_false(in_root(f, ".p0.trash-r2r2r2"));
	assert_true(in_root(f, ".p0.tmp-f0f0f0/notours.txt"));
	/* an unmarked directory at the host's own name is still refused */
	put_leftover(f, "p0", 0, "keep");
	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	assert_true(in_root(f, "p0/keep"));
}

static void test_local_delete(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("gone");
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/gone", f->root);
	int rc;

	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, 0);
	assert_int_equal(f->drv->put(f->conn, &s, "a/b/c.txt", "x", 1, 0600, 0, &err), 0);
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), 0);
	assert_false(lf_path_exists(dir));
	json_decref(call_host(f, 'r', &s, &rc, &err));
	assert_int_equal(rc, LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not found"));
	lf_err_clear(&err);
	/* deleting what is gone is success */
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), 0);
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0x4, &err), LF_EINVALID);
	free(dir);
}

static void test_local_refuses_unmarked(void **state)
{
	struct fx *f = *state;
	struct lf_host_spec s = spec_of("foreign");
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/foreign", f->root);
	char *file = lf_xasprintf("%s/keep.txt", dir);
	char *other = lf_xasprintf("%s/other", f->tmp);
	char *link = lf_xasprintf("%s/evil", f->root);
	int rc;

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(lf_write_file_atomic(file, "mine", 4, 0644, NULL), 0);
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "not made by ledgerform"));
	assert_true(lf_path_exists(file));
	lf_err_clear(&err);
	json_decref(call_host(f, 'c', &s, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	assert_true(lf_path_exists(file));
	/* a symlink to a marked directory elsewhere is not followed */
	lf_err_clear(&err);
	assert_int_equal(mkdir(other, 0755), 0);
	free(file);
	file = lf_xasprintf("%s/.ledgerform-host", other);
	assert_int_equal(lf_write_file_atomic(file, "x", 1, 0644, NULL), 0);
	assert_int_equal(symlink(other, link), 0);
	s.name = "evil";
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), LF_ECONFLICT);
	assert_true(lf_path_exists(file));
	lf_err_clear(&err);
	s.name = "../escape";
	assert_int_equal(f->drv->host_delete(f->conn, &s, 0, &err), LF_EINVALID);
	free(link);
	free(other);
	free(file);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_create_read_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_put_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_put_traversal_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_bounded_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_many_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_clean_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_bounded_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_refuses_unmarked, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
