/*
 * Every ```yaml block of README.md and every docs/ page is a spec that validates,
 * unless its first line says "# not a full spec" (a fragment showing one
 * section). A failing block is named by file and line.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>

#include "core/spec/spec.h"
#include "core/util/util.h"

#define MARKER "# not a full spec"

struct tally {
	size_t checked, fragments, failed;
};

/* validate one block (text of len bytes) that starts at file:line */
static void check_block(const char *file, int line, const char *text, size_t len,
			struct tally *t)
{
	struct lf_diags d;
	struct lf_spec *spec = NULL;
	char *name;

	if (strncmp(text, MARKER, strlen(MARKER)) == 0) {
		t->fragments++;
		return;
	}
	memset(&d, 0, sizeof(d));
	name = lf_xasprintf("%s (```yaml block at line %d)", file, line);
	t->checked++;
	if (lf_spec_load_buffer(&spec, name, text, len, &d) != 0) {
		t->failed++;
		lf_diags_print(&d, stderr);
	}
	lf_spec_free(spec);
	lf_diags_free(&d);
	free(name);
}

static void check_file(const char *path, const char *shown, struct tally *t)
{
	struct lf_err err = LF_ERR_INIT;
	char *buf, *p, *start = NULL;
	size_t len;
	int line = 0, at = 0;

	assert_int_equal(lf_read_file(path, &buf, &len, &err), 0);
	for (p = buf; p && *p; ) {
		char *nl = strchr(p, '\n');

		line++;
		if (!start && strncmp(p, "```yaml", 7) == 0 && (p[7] == '\n' || p[7] == '\0')) {
			start = nl ? nl + 1 : NULL;
			at = line;
		} else if (start && strncmp(p, "```", 3) == 0) {
			check_block(shown, at, start, (size_t)(p - start), t);
			start = NULL;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (start)
		fail_msg("%s: ```yaml block at line %d is never closed", shown, at);
	free(buf);
}

static void test_docs_yaml_blocks(void **state)
{
	struct tally t = { 0, 0, 0 };
	DIR *d = opendir(LF_SOURCE_DIR "/docs");
	struct dirent *e;

	(void)state;
	assert_non_null(d);
	check_file(LF_SOURCE_DIR "/README.md", "README.md", &t);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char *path, *shown;

		if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0)
			continue;
		path = lf_xasprintf("%s/docs/%s", LF_SOURCE_DIR, e->d_name);
		shown = lf_xasprintf("docs/%s", e->d_name);
		check_file(path, shown, &t);
		free(path);
		free(shown);
	}
	closedir(d);
	fprintf(stderr, "%zu spec blocks validated, %zu fragments skipped\n", t.checked,
		t.fragments);
	assert_true(t.checked >= 2); /* docs/spec.md's complete example, docs/cost.md */
	assert_int_equal(t.failed, 0);
}

/* validate reports reference errors (unknown size, provider, org) in the
 * same run as structural ones (unknown keys, bad values) */
static void test_errors_in_one_run(void **state)
{
	static const char text[] =
		"name: n\n"
		"bogus: 1\n"
		"fabric: {version: \"9.9\"}\n"
		"orgs:\n"
		"  - name: o\n"
		"    peers: {count: 1, size: huge, provider: nowhere}\n"
		"  - name: p\n"
		"    peerz: 1\n"
		"channels:\n"
		"  - name: c\n"
		"    orgs: [o, zz]\n";
	static const char *const want[] = {
		"unknown key 'bogus'", "fabric.version", "size 'huge' is not defined",
		"provider 'nowhere' is not defined", "unknown key 'peerz'",
		"org 'zz' is not defined",
	};
	struct lf_diags d;
	struct lf_spec *spec = NULL;

	(void)state;
	memset(&d, 0, sizeof(d));
	assert_int_not_equal(lf_spec_load_buffer(&spec, "r.yaml", text, strlen(text), &d), 0);
	assert_int_equal(d.nerrors, LF_ARRAY_LEN(want));
	for (size_t i = 0; i < LF_ARRAY_LEN(want); i++) {
		bool found = false;

		for (size_t k = 0; k < d.n; k++)
			found = found || strstr(d.v[k].msg, want[i]) != NULL;
		if (!found)
			fail_msg("no error '%s'", want[i]);
	}
	lf_diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docs_yaml_blocks),
		cmocka_unit_test(test_errors_in_one_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
