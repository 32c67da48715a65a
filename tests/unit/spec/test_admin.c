/*
 * orgs[].admin, admin_csr and admin_cert: the model of good specs and the
 * position and text of each error in bad ones (the files' contents are
 * checked at plan: tests/unit/crypto/test_admin_offline.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/spec/spec.h"
#include "core/util/util.h"
#include "ledgerform/error.h"

/* org2 starts at line 5; its admin keys follow at line 6 */
#define HEAD \
	"name: net\n" \
	"orgs:\n" \
	"  - name: ord\n" \
	"    orderers: {count: 1}\n" \
	"  - name: org2\n"
#define TAIL "    peers: {count: 1}\n"

static int load(const char *text, struct lf_spec **s, struct lf_diags *d)
{
	memset(d, 0, sizeof(*d));
	*s = NULL;
	return lf_spec_load_buffer(s, "/specs/net.yaml", text, strlen(text), d);
}

static void expect_diag(int rc, struct lf_diags *d, int line, int col,
			const char *sub)
{
	bool found = false;

	assert_int_equal(rc, LF_EINVALID);
	for (size_t i = 0; i < d->n; i++)
		found |= d->v[i].severity == 1 && d->v[i].pos.line == line &&
			 d->v[i].pos.col == col && strstr(d->v[i].msg, sub) != NULL;
	if (!found)
		lf_diags_print(d, stdout);
	assert_true(found);
	lf_diags_free(d);
}

static void expect_err(const char *text, int line, int col, const char *sub)
{
	struct lf_spec *s;
	struct lf_diags d;

	expect_diag(load(text, &s, &d), &d, line, col, sub);
	assert_null(s);
}

static void test_admin_model(void **state)
{
	struct lf_spec *s;
	struct lf_diags d;
	const struct lf_org *o;

	(void)state;
	assert_int_equal(load(HEAD "    admin: offline\n    admin_csr: keys/org2.csr\n"
			      TAIL, &s, &d), 0);
	o = lf_spec_org(s, "org2");
	assert_true(o->admin_offline);
	assert_string_equal(o->admin_csr, "keys/org2.csr");
	assert_null(o->admin_cert);
	assert_int_equal(o->admin_file_pos.line, 7);
	assert_int_equal(o->admin_file_pos.col, 5);
	assert_false(lf_spec_org(s, "ord")->admin_offline);
	assert_null(lf_spec_org(s, "ord")->admin_csr);
	lf_spec_free(s);
	lf_diags_free(&d);
	assert_int_equal(load(HEAD "    admin: offline\n    admin_cert: /a/admin.pem\n"
			      TAIL, &s, &d), 0);
	o = lf_spec_org(s, "org2");
	assert_string_equal(o->admin_cert, "/a/admin.pem");
	assert_null(o->admin_csr);
	lf_spec_free(s);
	lf_diags_free(&d);
}

static void test_admin_errors(void **state)
{
	(void)state;
	expect_err(HEAD "    admin: remote\n" TAIL, 6, 12,
		   "org 'org2': admin: expected local or offline, got 'remote'");
	expect_err(HEAD "    admin: offline\n" TAIL, 6, 12,
		   "org 'org2': admin: offline needs admin_csr");
	expect_err(HEAD "    admin_csr: a.csr\n" TAIL, 6, 5,
		   "org 'org2': admin_csr is only for an org with 'admin: offline'");
	expect_err(HEAD "    admin: local\n    admin_cert: a.pem\n" TAIL, 7, 5,
		   "org 'org2': admin_cert is only for an org with 'admin: offline'");
	expect_err(HEAD "    admin: offline\n    admin_csr: a.csr\n"
		   "    admin_cert: a.pem\n" TAIL, 8, 5,
		   "give either admin_csr or admin_cert, not both");
	expect_err(HEAD "    admin: offline\n    admin_csr: \"\"\n" TAIL, 7, 16,
		   "admin_csr: expected a file path, got an empty string");
	expect_err(HEAD "    admin: offline\n    admin_csr: [a]\n" TAIL, 7, 16,
		   "admin_csr");
	/* an orderer org's admin joins its orderers (osnadmin, its TLS key) */
	expect_err("name: net\norgs:\n  - name: ord\n    admin: offline\n"
		   "    admin_csr: a.csr\n    orderers: {count: 1}\n", 4, 12,
		   "org 'ord': admin: offline is not supported for an org with "
		   "orderers");
}

/* lf_spec_load (a file): the request must be readable, relative to the
 * spec's directory */
static void test_admin_file_checked(void **state)
{
	char dir[] = "/tmp/lf-spec-admin-XXXXXX", *spec, *csr, *sub;
	struct lf_spec *s = NULL;
	struct lf_diags d;
	struct lf_err e = LF_ERR_INIT;
	static const char text[] = HEAD "    admin: offline\n"
		"    admin_csr: org2/admin.csr\n" TAIL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	spec = lf_path_join(dir, "net.yaml");
	csr = lf_xasprintf("%s/org2/admin.csr", dir);
	assert_int_equal(lf_write_file_atomic(spec, text, strlen(text), 0644, &e), 0);
	memset(&d, 0, sizeof(d));
	expect_diag(lf_spec_load(&s, spec, &d), &d, 7, 16,
		    "admin_csr: cannot read");
	sub = lf_path_dirname(csr);
	assert_int_equal(lf_mkdirs(sub, 0755, &e), 0);
	free(sub);
	assert_int_equal(lf_write_file_atomic(csr, "x", 1, 0644, &e), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(lf_spec_load(&s, spec, &d), 0);
	assert_string_equal(lf_spec_org(s, "org2")->admin_csr, "org2/admin.csr");
	lf_spec_free(s);
	lf_diags_free(&d);
	lf_rmtree(dir, NULL);
	free(spec);
	free(csr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_model),
		cmocka_unit_test(test_admin_errors),
		cmocka_unit_test(test_admin_file_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
