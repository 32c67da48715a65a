/*
 * ABI checks of the plugin loader: each deliberately broken plugin is
 * refused with LF_EINVALID and a message naming the file and the reason;
 * the real drivers load; registry lookups say where they looked; the
 * listing reports refused files too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static char *fake_path(const char *name)
{
	return lf_xasprintf("%s/ledgerform_driver_%s.so", LF_ABI_PLUGIN_DIR, name);
}

/* Load a fake; assert refusal code and that msg has the file and reason. */
static void expect_refused(const char *name, int code, const char *reason)
{
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = (const struct lf_driver *)1;
	char *path = fake_path(name);
	int rc = lf_plugin_load_file(path, &d, &err);

	if (rc != code || !strstr(err.msg, path) || !strstr(err.msg, reason))
		print_message("load %s: rc %d msg: %s\n", name, rc, err.msg);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_null(d);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, reason));
	free(path);
}

static void test_abi_wrong_version(void **state)
{
	(void)state;
	expect_refused("badabi", LF_EINVALID, "ABI version 1, this ledgerform speaks 2");
}

static void test_abi_missing_entry(void **state)
{
	(void)state;
	expect_refused("noentry", LF_EINVALID,
		       "missing entry symbol 'lf_driver_entry' (not a ledgerform driver?)");
}

static void test_abi_missing_callback(void **state)
{
	(void)state;
	expect_refused("noread", LF_EINVALID, "mandatory callback 'host_read' is NULL");
}

static void test_abi_name_mismatch(void **state)
{
	(void)state;
	expect_refused("mismatch", LF_EINVALID,
		       "driver calls itself 'other' but the file name says 'mismatch'");
}

static void test_abi_entry_null(void **state)
{
	(void)state;
	expect_refused("nullentry", LF_EINVALID, "entry 'lf_driver_entry' returned NULL");
}

static void test_abi_small_struct(void **state)
{
	(void)state;
	expect_refused("small", LF_EINVALID, "table of 16 bytes is smaller than the ABI 2 table");
}

static void test_abi_roles(void **state)
{
	(void)state;
	expect_refused("norole", LF_EINVALID, "declares no role (provider or transport)");
	expect_refused("noexec", LF_EINVALID, "mandatory callback 'exec' is NULL");
	expect_refused("oddrole", LF_EINVALID, "unknown role bits 0x100");
	expect_refused("noimport", LF_EINVALID, "mandatory callback 'host_import' is NULL");
}

static void test_abi_invalid_name(void **state)
{
	(void)state;
	expect_refused("bad_Name", LF_EINVALID, "driver name 'bad_Name' is not [a-z0-9_]");
}

static void test_abi_not_elf(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	char dir[] = "/tmp/lf-abi-XXXXXX";
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = lf_xasprintf("%s/ledgerform_driver_junk.so", dir);
	assert_int_equal(lf_write_file_atomic(path, "not an ELF\n", 11, 0644, NULL), 0);
	assert_int_equal(lf_plugin_load_file(path, &d, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "cannot load"));
	unlink(path);
	rmdir(dir);
	free(path);
	lf_err_clear(&err);
	assert_int_equal(lf_plugin_load_file("/nonexistent/ledgerform_driver_x.so", &d, &err),
			 LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/ledgerform_driver_x.so"));
}

static void test_abi_good_fake_loads(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	char *path = fake_path("goodfake");

	(void)state;
	assert_int_equal(lf_plugin_load_file(path, &d, &err), 0);
	assert_non_null(d);
	assert_string_equal(d->name, "goodfake");
	free(path);
}

static void expect_real(const char *name, uint32_t roles, uint32_t caps)
{
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	char *path = lf_xasprintf("%s/ledgerform_driver_%s.so", LF_DRIVER_DIR, name);

	assert_int_equal(lf_plugin_load_file(path, &d, &err), 0);
	assert_non_null(d);
	assert_string_equal(d->name, name);
	assert_int_equal(d->abi_version, LF_DRIVER_ABI_VERSION);
	assert_true(d->struct_size >= sizeof(struct lf_driver));
	assert_int_equal(d->roles, roles);
	assert_int_equal(d->caps, caps);
	assert_non_null(d->validate);
	assert_non_null(d->change_kind);
	assert_non_null(d->host_update);
	assert_non_null(d->machine_prepare);
	assert_non_null(d->put);
	assert_non_null(d->exec);
	free(path);
}

static void test_abi_real_drivers_load(void **state)
{
	(void)state;
	expect_real("local", LF_ROLE_PROVIDER | LF_ROLE_TRANSPORT,
		    LF_CAP_READ_CHEAP | LF_CAP_CONN_SHARED);
	expect_real("sim", LF_ROLE_PROVIDER | LF_ROLE_TRANSPORT,
		    LF_CAP_CONN_SHARED | LF_CAP_IMPORT);
}

static void test_abi_registry_missing_says_where(void **state)
{
	struct lf_registry *reg = NULL;
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;

	(void)state;
	assert_int_equal(setenv("LEDGERFORM_DRIVER_PATH", "/nowhere/a:" LF_DRIVER_DIR, 1), 0);
	ctx_reload();
	assert_int_equal(lf_registry_new(&reg), 0);
	assert_int_equal(lf_registry_get(reg, "nosuch", &d, &err), LF_ENOTFOUND);
	assert_null(d);
	assert_non_null(strstr(err.msg, "no driver 'nosuch' in /nowhere/a:" LF_DRIVER_DIR));
	assert_non_null(strstr(err.msg, LF_DRIVER_INSTALL_DIR));
	lf_err_clear(&err);
	assert_int_equal(lf_registry_get(reg, "../etc", &d, &err), LF_EINVALID);
	lf_registry_free(reg);
}

static void *get_local(void *arg)
{
	struct lf_registry *reg = arg;
	const struct lf_driver *d = NULL;

	if (lf_registry_get(reg, "local", &d, NULL) != 0)
		return NULL;
	return (void *)d;
}

static void test_abi_registry_caches_threads(void **state)
{
	struct lf_registry *reg = NULL;
	pthread_t t[8];
	void *r[8];
	int i;

	(void)state;
	assert_int_equal(setenv("LEDGERFORM_DRIVER_PATH", LF_DRIVER_DIR, 1), 0);
	ctx_reload();
	assert_int_equal(lf_registry_new(&reg), 0);
	assert_string_equal(lf_registry_path(reg)[0], LF_DRIVER_DIR);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, get_local, reg), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_join(t[i], &r[i]), 0);
	for (i = 0; i < 8; i++) {
		assert_non_null(r[i]);
		assert_ptr_equal(r[i], r[0]);
	}
	lf_registry_free(reg);
}

static const struct lf_plugin_info *info_find(const struct lf_plugin_info *v,
					      size_t n, const char *file)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(v[i].path, file))
			return &v[i];
	return NULL;
}

static void test_abi_registry_list_reports_all(void **state)
{
	struct lf_registry *reg = NULL;
	struct lf_plugin_info *v = NULL;
	const struct lf_plugin_info *i;
	struct lf_err err = LF_ERR_INIT;
	const struct lf_driver *d = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(setenv("LEDGERFORM_DRIVER_PATH",
				LF_ABI_PLUGIN_DIR ":" LF_DRIVER_DIR, 1), 0);
	ctx_reload();
	assert_int_equal(lf_registry_new(&reg), 0);
	assert_int_equal(lf_registry_list(reg, &v, &n), 0);
	assert_true(n >= 10);
	i = info_find(v, n, "/ledgerform_driver_badabi.so");
	assert_non_null(i);
	assert_false(i->ok);
	assert_int_equal(i->abi_version, 1);
	assert_string_equal(i->name, "badabi");
	assert_non_null(strstr(i->error, "ABI version 1"));
	i = info_find(v, n, "/ledgerform_driver_local.so");
	assert_non_null(i);
	assert_true(i->ok);
	assert_null(i->error);
	assert_string_equal(i->name, "local");
	assert_string_equal(i->version, "0.2.0");
	assert_int_equal(i->abi_version, LF_DRIVER_ABI_VERSION);
	lf_plugin_info_free_all(v, n);
	/* a refused plugin found first in the path is an error, not skipped */
	assert_int_equal(lf_registry_get(reg, "noread", &d, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, LF_ABI_PLUGIN_DIR "/ledgerform_driver_noread.so"));
	lf_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi_wrong_version),
		cmocka_unit_test(test_abi_missing_entry),
		cmocka_unit_test(test_abi_missing_callback),
		cmocka_unit_test(test_abi_name_mismatch),
		cmocka_unit_test(test_abi_entry_null),
		cmocka_unit_test(test_abi_small_struct),
		cmocka_unit_test(test_abi_invalid_name),
		cmocka_unit_test(test_abi_not_elf),
		cmocka_unit_test(test_abi_good_fake_loads),
		cmocka_unit_test(test_abi_roles),
		cmocka_unit_test(test_abi_real_drivers_load),
		cmocka_unit_test(test_abi_registry_missing_says_where),
		cmocka_unit_test(test_abi_registry_caches_threads),
		cmocka_unit_test(test_abi_registry_list_reports_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
