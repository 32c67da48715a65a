/*
 * Host side of the driver ABI: kv views (values as strings), builders,
 * error records, cancellation, in-process registration and the
 * connection pool (open once per provider across threads, declined open,
 * remembered failures, transient failures retried, close at the end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/util/util.h"
#include "core/util/ctx.h"

/* the process's context, made again from the environment the test set */
static struct lf_ctx test_ctx;

static void ctx_reload(void)
{
	lf_ctx_clear(&test_ctx);
	assert_int_equal(lf_ctx_from_env(&test_ctx, NULL), 0);
	lf_ctx_install(&test_ctx);
}

/* ---- a fake in-process driver ------------------------------------------ */

static atomic_int fake_opens, fake_closes;
static int fake_open_rc;             /* what open returns */

struct lf_driver_conn {
	int id;
	char secret_seen[40];
};

static int fake_open(struct lf_driver_conn **out, const struct lf_kv *config,
		     struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	const struct lf_host_api *h = lf_host_api();
	struct lf_driver_conn *c;
	char tok[32];
	size_t tlen = 0;
	int have = h->call_secret(call, "secret", tok, sizeof(tok), &tlen) == 0;

	(void)flags;
	atomic_fetch_add(&fake_opens, 1);
	usleep(50 * 1000); /* slow open: concurrent callers must wait */
	if (fake_open_rc == LF_OPEN_DECLINED)
		return LF_OPEN_DECLINED;
	if (fake_open_rc != 0)
		return h->err_set(err, fake_open_rc, "fake: open failed (%s)",
				  h->kv_get_str(config, "zone"));
	c = calloc(1, sizeof(*c));
	c->id = (int)h->kv_get_int(config, "id", -1);
	if (have)
		snprintf(c->secret_seen, sizeof(c->secret_seen), "%s", tok);
	explicit_bzero(tok, sizeof(tok));
	*out = c;
	return 0;
}

static void fake_close(struct lf_driver_conn *c)
{
	atomic_fetch_add(&fake_closes, 1);
	free(c);
}

static int fake_host(struct lf_driver_conn *c, const struct lf_host_spec *s,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err)
{
	(void)c; (void)s; (void)call; (void)out; (void)flags; (void)err;
	return 0;
}

static int fake_delete(struct lf_driver_conn *c, const struct lf_host_spec *s,
		       struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	(void)c; (void)s; (void)call; (void)flags; (void)err;
	return 0;
}

static const struct lf_driver fake_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "fake",
	.version = "1",
	.roles = LF_ROLE_PROVIDER,
	.open = fake_open,
	.close = fake_close,
	.host_create = fake_host,
	.host_read = fake_host,
	.host_delete = fake_delete,
};

/* ---- kv views and builders --------------------------------------------- */

static int count_keys(const char *key, const char *val, void *payload)
{
	int *n = payload;

	(void)key;
	if (val)
		(*n)++;
	return 0;
}

static void test_plugin_kv_view(void **state)
{
	const struct lf_host_api *h = lf_host_api();
	json_t *o = json_pack("{s:s,s:i,s:b,s:f,s:n,s:s,s:[i,i]}", "s", "text",
			      "n", 42, "b", 1, "r", 1.5, "z", "ns", "17", "a", 1, 2);
	struct lf_kv *kv = lf_kv_wrap(o);
	const char *p1, *p2;
	int n = 0;

	(void)state;
	assert_int_equal(h->abi_version, LF_DRIVER_ABI_VERSION);
	assert_true(h->struct_size >= sizeof(struct lf_host_api));
	assert_string_equal(h->kv_get_str(kv, "s"), "text");
	p1 = h->kv_get_str(kv, "n");
	assert_string_equal(p1, "42");
	p2 = h->kv_get_str(kv, "n");
	assert_ptr_equal(p1, p2); /* cached, stable */
	assert_string_equal(h->kv_get_str(kv, "b"), "true");
	assert_string_equal(h->kv_get_str(kv, "r"), "1.5");
	assert_string_equal(h->kv_get_str(kv, "a"), "[1,2]");
	assert_null(h->kv_get_str(kv, "z"));
	assert_null(h->kv_get_str(kv, "missing"));
	assert_null(h->kv_get_str(NULL, "s"));
	assert_int_equal(h->kv_get_int(kv, "n", -1), 42);
	assert_int_equal(h->kv_get_int(kv, "ns", -1), 17);
	assert_int_equal(h->kv_get_int(kv, "b", -1), 1);
	assert_int_equal(h->kv_get_int(kv, "s", -1), -1);
	assert_int_equal(h->kv_get_int(kv, "missing", 7), 7);
	assert_int_equal(h->kv_each(kv, count_keys, &n), 0);
	assert_int_equal(n, 6); /* null has no value */
	lf_kv_unwrap(kv);
	json_decref(o);
	lf_kv_unwrap(NULL);
}

static void test_plugin_builder_err_cancel(void **state)
{
	const struct lf_host_api *h = lf_host_api();
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_err err = LF_ERR_INIT;
	json_t *o;

	(void)state;
	assert_int_equal(h->kv_set(b, "id", "sim-1"), 0);
	assert_int_equal(h->kv_set(b, "id", "sim-2"), 0);
	assert_int_equal(h->kv_set(b, "", "x"), LF_EINVALID);
	assert_int_equal(h->kv_set(b, "bad", "\xff\xfe"), LF_EINVALID);
	o = lf_kv_builder_finish(b);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "sim-2");
	assert_int_equal(json_object_size(o), 1);
	json_decref(o);
	assert_null(lf_kv_builder_finish(NULL));
	assert_int_equal(h->err_set(&err, LF_ERETRY, "busy '%s' %d", "x", 3), LF_ERETRY);
	assert_int_equal(err.code, LF_ERETRY);
	assert_string_equal(err.msg, "busy 'x' 3");
	/* propagate the message, never overwrite; the returned code lands */
	assert_int_equal(h->err_set(&err, LF_ERROR, "second"), LF_ERROR);
	assert_string_equal(err.msg, "busy 'x' 3");
	assert_int_equal(err.code, LF_ERROR);
	{
		struct lf_call call;
		atomic_int mine = 0;

		lf_call_init(&call, "sim", "p", "host.a.b");
		assert_int_equal(h->call_cancelled(&call), 0);
		lf_host_set_cancelled(1);
		assert_int_equal(h->call_cancelled(&call), 1);
		lf_host_set_cancelled(0);
		assert_int_equal(h->call_cancelled(&call), 0);
		call.cancel = &mine; /* this action only */
		atomic_store(&mine, 1);
		assert_int_equal(h->call_cancelled(&call), 1);
		assert_string_equal(h->call_resource(&call), "host.a.b");
	}
	/* a retry hint travels with a transient error only */
	lf_err_clear(&err);
	assert_int_equal(h->err_set_retry(&err, LF_ERETRY, 1500, "throttled"), LF_ERETRY);
	assert_int_equal(err.retry_after_ms, 1500);
	lf_err_clear(&err);
	h->err_set_retry(&err, LF_EAUTH, 1500, "denied");
	assert_int_equal(err.retry_after_ms, 0);
}

static void test_plugin_register_checks(void **state)
{
	struct lf_registry *reg = NULL;
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	struct lf_driver bad = fake_driver;

	(void)state;
	assert_int_equal(lf_registry_new(&reg), 0);
	assert_int_equal(lf_registry_register(reg, &fake_driver, &err), 0);
	assert_int_equal(lf_registry_register(reg, &fake_driver, &err), LF_EXISTS);
	assert_int_equal(lf_registry_get(reg, "fake", &d, &err), 0);
	assert_ptr_equal(d, &fake_driver);
	lf_err_clear(&err);
	bad.name = "bad2";
	bad.abi_version = 9;
	assert_int_equal(lf_registry_register(reg, &bad, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "ABI version 9, this ledgerform speaks 2"));
	lf_err_clear(&err);
	bad.abi_version = LF_DRIVER_ABI_VERSION;
	bad.host_delete = NULL;
	assert_int_equal(lf_registry_register(reg, &bad, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "'host_delete'"));
	lf_registry_free(reg);
}

/* Run two log lines with fd 2 sent to a file; return what was written. */
static char *capture_logs(void)
{
	const struct lf_host_api *h = lf_host_api();
	char path[] = "/tmp/lf-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text = NULL;
	size_t len;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	struct lf_call sim, none;

	lf_call_init(&sim, "sim", "p", NULL);
	lf_call_init(&none, NULL, NULL, NULL);
	h->call_log(&sim, 0, "debug line %d", 1);
	h->call_log(&sim, 2, "warn line %s", "two");
	h->call_log(&none, 3, "error line");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(lf_read_file(path, &text, &len, NULL), 0);
	unlink(path);
	return text;
}

static void test_plugin_log_levels(void **state)
{
	char *text;

	(void)state;
	unsetenv("LEDGERFORM_LOG");
	ctx_reload();
	text = capture_logs();
	assert_null(strstr(text, "debug line"));
	assert_non_null(strstr(text, "ledgerform: driver 'sim': warning: warn line two\n"));
	assert_non_null(strstr(text, "driver '?': error: error line\n"));
	free(text);
	setenv("LEDGERFORM_LOG", "debug", 1);
	ctx_reload();
	text = capture_logs();
	assert_non_null(strstr(text, "ledgerform: driver 'sim': debug: debug line 1\n"));
	free(text);
	unsetenv("LEDGERFORM_LOG");
	ctx_reload();
}

/* ---- pool ------------------------------------------------------------ */

struct pool_call {
	struct lf_driver_pool *pool;
	const char *provider;
	json_t *cfg, *creds;
	struct lf_driver_conn *conn;
	int rc;
};

static void *pool_thread(void *arg)
{
	struct pool_call *c = arg;
	const struct lf_driver *d = NULL;
	struct lf_err err = LF_ERR_INIT;

	c->rc = lf_driver_pool_get(c->pool, c->provider, "fake", c->cfg, c->creds,
				   &d, &c->conn, &err);
	return NULL;
}

static void pool_setup(struct lf_registry **reg, struct lf_driver_pool **pool)
{
	assert_int_equal(lf_registry_new(reg), 0);
	assert_int_equal(lf_registry_register(*reg, &fake_driver, NULL), 0);
	assert_int_equal(lf_driver_pool_new(pool, *reg), 0);
	atomic_store(&fake_opens, 0);
	atomic_store(&fake_closes, 0);
	fake_open_rc = 0;
}

static void test_plugin_pool_open_once(void **state)
{
	struct lf_registry *reg;
	struct lf_driver_pool *pool;
	struct pool_call calls[16];
	pthread_t t[16];
	json_t *cfg = json_pack("{s:i}", "id", 7);
	json_t *creds = json_pack("{s:s}", "env", "LF_TEST_PLUGIN_TOKEN");

	setenv("LF_TEST_PLUGIN_TOKEN", "hunter2", 1);
	int i;

	(void)state;
	pool_setup(&reg, &pool);
	for (i = 0; i < 16; i++) {
		calls[i] = (struct pool_call){ pool, i % 2 ? "aws_eu" : "aws_us", cfg,
					       creds, NULL, -99 };
		assert_int_equal(pthread_create(&t[i], NULL, pool_thread, &calls[i]), 0);
	}
	for (i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&fake_opens), 2);
	for (i = 0; i < 16; i++) {
		assert_int_equal(calls[i].rc, 0);
		assert_non_null(calls[i].conn);
		assert_ptr_equal(calls[i].conn, calls[i % 2].conn);
		assert_int_equal(calls[i].conn->id, 7);
	}
	assert_ptr_not_equal(calls[0].conn, calls[1].conn);
	assert_string_equal(calls[0].conn->secret_seen, "hunter2");
	lf_driver_pool_free(pool);
	assert_int_equal(atomic_load(&fake_closes), 2);
	lf_registry_free(reg);
	json_decref(cfg);
	json_decref(creds);
	lf_driver_pool_free(NULL);
}

static void test_plugin_pool_errors(void **state)
{
	struct lf_registry *reg;
	struct lf_driver_pool *pool;
	const struct lf_driver *d;
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	json_t *cfg = json_pack("{s:s}", "zone", "z1");

	(void)state;
	pool_setup(&reg, &pool);
	fake_open_rc = LF_OPEN_DECLINED;
	assert_int_equal(lf_driver_pool_get(pool, "p1", "fake", cfg, NULL, &d, &c, &err),
			 LF_EINVALID);
	assert_string_equal(err.msg, "driver 'fake' declined provider 'p1' config");
	/* a permanent failure is remembered: no second open */
	lf_err_clear(&err);
	fake_open_rc = LF_EAUTH;
	assert_int_equal(lf_driver_pool_get(pool, "p2", "fake", cfg, NULL, &d, &c, &err),
			 LF_EAUTH);
	assert_string_equal(err.msg, "fake: open failed (z1)");
	lf_err_clear(&err);
	fake_open_rc = 0;
	assert_int_equal(lf_driver_pool_get(pool, "p2", "fake", cfg, NULL, &d, &c, &err),
			 LF_EAUTH);
	assert_int_equal(atomic_load(&fake_opens), 2);
	/* a transient failure is retried on the next call */
	lf_err_clear(&err);
	fake_open_rc = LF_ERETRY;
	assert_int_equal(lf_driver_pool_get(pool, "p3", "fake", cfg, NULL, &d, &c, &err),
			 LF_ERETRY);
	lf_err_clear(&err);
	fake_open_rc = 0;
	assert_int_equal(lf_driver_pool_get(pool, "p3", "fake", cfg, NULL, &d, &c, &err), 0);
	assert_non_null(c);
	assert_ptr_equal(d, &fake_driver);
	/* one provider, one driver */
	assert_int_equal(lf_driver_pool_get(pool, "p3", "local", cfg, NULL, &d, &c, &err),
			 LF_ECONFLICT);
	lf_err_clear(&err);
	assert_int_equal(lf_driver_pool_get(pool, "p4", "nosuch", cfg, NULL, &d, &c, &err),
			 LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no driver 'nosuch' in "));
	lf_driver_pool_free(pool);
	assert_int_equal(atomic_load(&fake_closes), 1);
	lf_registry_free(reg);
	json_decref(cfg);
}

static void test_plugin_pool_local(void **state)
{
	struct lf_registry *reg;
	struct lf_driver_pool *pool;
	const struct lf_driver *d = NULL;
	struct lf_driver_conn *c = NULL;
	struct lf_err err = LF_ERR_INIT;
	char dir[] = "/tmp/lf-pool-XXXXXX";
	json_t *cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cfg = json_pack("{s:s}", "root", dir);
	assert_int_equal(lf_registry_new(&reg), 0);
	assert_int_equal(lf_driver_pool_new(&pool, reg), 0);
	assert_int_equal(lf_driver_pool_get(pool, "default", "local", cfg, NULL, &d, &c, &err), 0);
	assert_non_null(d);
	assert_string_equal(d->name, "local");
	assert_non_null(c);
	lf_driver_pool_free(pool);
	lf_registry_free(reg);
	json_decref(cfg);
	lf_rmtree(dir, NULL);
}

static bool path_has(char **v, const char *dir)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], dir) == 0)
			return true;
	return false;
}

static void path_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* An installed binary never searches the build tree; a relative entry of
 * LEDGERFORM_DRIVER_PATH refuses the whole path. */
static void test_plugin_search_path(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	struct lf_registry *reg;
	char **v = NULL, *exe;
	const char *saved = getenv("LEDGERFORM_DRIVER_PATH");
	char *keep = saved ? lf_xstrdup(saved) : NULL;

	(void)state;
	assert_int_equal(lf_plugin_path_build("/opt/a::/opt/b", "/usr/local/bin/ledgerform",
					      &v, &err), 0);
	assert_string_equal(v[0], "/opt/a");
	assert_string_equal(v[1], "/opt/b");
	assert_false(path_has(v, LF_DRIVER_BUILD_DIR));
	assert_true(path_has(v, LF_DRIVER_INSTALL_DIR));
	path_free(v);
	assert_int_equal(lf_plugin_path_build(NULL, NULL, &v, &err), 0);
	assert_false(path_has(v, LF_DRIVER_BUILD_DIR));
	path_free(v);
	exe = realpath("/proc/self/exe", NULL); /* this test runs from the build tree */
	assert_int_equal(lf_plugin_path_build(NULL, exe, &v, &err), 0);
	assert_true(path_has(v, LF_DRIVER_BUILD_DIR));
	path_free(v);
	free(exe);
	assert_int_equal(lf_plugin_path_build("/opt/a:drivers", NULL, &v, &err), LF_EINVALID);
	assert_null(v);
	assert_non_null(strstr(err.msg, "'drivers' is relative"));
	/* through the registry: the build tree's drivers dir, relatively */
	lf_err_clear(&err);
	setenv("LEDGERFORM_DRIVER_PATH", "drivers", 1);
	ctx_reload();
	assert_int_equal(chdir(LF_BINARY_DIR), 0);
	assert_int_equal(lf_registry_new(&reg), 0);
	assert_int_equal(lf_registry_get(reg, "local", &d, &err), LF_EINVALID);
	assert_null(d);
	assert_non_null(strstr(err.msg, "LEDGERFORM_DRIVER_PATH entry 'drivers' is relative"));
	lf_registry_free(reg);
	if (keep)
		setenv("LEDGERFORM_DRIVER_PATH", keep, 1);
	else
		unsetenv("LEDGERFORM_DRIVER_PATH");
	ctx_reload();
	free(keep);
}

/* A plugin file others may write, or one in a directory others may write
 * (not sticky), is refused before it is opened. */
static void test_plugin_writable_refused(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	char dir[] = "/tmp/lf-perm-XXXXXX";
	char *src = lf_path_join(LF_DRIVER_BUILD_DIR, "ledgerform_driver_local.so");
	char *dst, *data = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	dst = lf_path_join(dir, "ledgerform_driver_local.so");
	assert_int_equal(lf_read_file(src, &data, &len, NULL), 0);
	assert_int_equal(lf_write_file_atomic(dst, data, len, 0646, NULL), 0);
	assert_int_equal(lf_plugin_load_file(dst, &d, &err), LF_EINVALID);
	assert_null(d);
	assert_non_null(strstr(err.msg, "writable by others (mode 646)"));
	lf_err_clear(&err);
	assert_int_equal(chmod(dst, 0644), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(lf_plugin_load_file(dst, &d, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "its directory"));
	lf_err_clear(&err);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(lf_plugin_load_file(dst, &d, &err), 0);
	assert_non_null(d);
	free(data);
	free(dst);
	free(src);
	lf_rmtree(dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plugin_kv_view),
		cmocka_unit_test(test_plugin_builder_err_cancel),
		cmocka_unit_test(test_plugin_register_checks),
		cmocka_unit_test(test_plugin_log_levels),
		cmocka_unit_test(test_plugin_pool_open_once),
		cmocka_unit_test(test_plugin_pool_errors),
		cmocka_unit_test(test_plugin_pool_local),
		cmocka_unit_test(test_plugin_search_path),
		cmocka_unit_test(test_plugin_writable_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
