/*
 * Crash safety of the local driver's hosts, end to end: the real
 * `ledgerform` binary applies (and destroys) a 3 orgs x 3 peers network
 * (10 host directories) and is killed by SIGKILL at every named crash
 * point of host creation, file writes and host removal, at several passes
 * each (LEDGERFORM_CRASH_AT=NAME:N). Then a plain re-run must converge:
 * exit 0, a plan with no changes (or an empty state and an empty hosts
 * root after destroy), every host directory carrying its marker, and no
 * temporary or trash directory left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define HOSTS ".ledgerform/crash/hosts"
#define NHOSTS 10
#define KILLED 137 /* 128 + SIGKILL */

struct point {
	const char *name;
	int n[3]; /* passes at which to kill (each is reached in one run) */
};

/* every point in host creation passes once per host (10 per apply);
 * a put once per file (120 per apply) */
static const struct point apply_points[] = {
	{ "local.create.tmp_made", { 1, 4, 10 } },
	{ "local.create.marker_open", { 1, 5, 10 } },
	{ "local.create.marker_written", { 1, 6, 10 } },
	{ "local.create.marker_synced", { 2, 7, 10 } },
	{ "local.create.attrs_written", { 1, 3, 9 } },
	{ "local.create.tmp_synced", { 1, 5, 10 } },
	{ "local.create.renamed", { 1, 6, 10 } },
	{ "local.create.root_synced", { 2, 8, 10 } },
	{ "local.fs.put_written", { 1, 40, 110 } },
	{ "local.fs.put_renamed", { 3, 60, 115 } },
};

/* per host once, except rm_entry (each of the ~190 files and
 * directories below the hosts, markers aside) */
static const struct point destroy_points[] = {
	{ "local.delete.trash_made", { 1, 5, 10 } },
	{ "local.delete.renamed", { 1, 4, 10 } },
	{ "local.delete.root_synced", { 2, 7, 10 } },
	{ "local.fs.rm_entry", { 1, 70, 180 } },
	{ "local.fs.rm_before_marker", { 1, 6, 10 } },
	{ "local.fs.rm_after_marker", { 1, 3, 10 } },
	{ "local.delete.removed", { 2, 5, 10 } },
};

static void write_spec(struct clitest *t)
{
	ct_write(t, "spec.yaml",
		 "name: crash\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    orderers: {count: 1}\n"
		 "  - name: org1\n"
		 "    peers: {count: 3}\n"
		 "  - name: org2\n"
		 "    peers: {count: 3}\n"
		 "  - name: org3\n"
		 "    peers: {count: 3}\n"
		 "channels:\n"
		 "  - name: ch\n"
		 "    orgs: [org1, org2, org3]\n");
}

/* run ledgerform with LEDGERFORM_CRASH_AT=point:n; it must die there */
static void crash_run(struct clitest *t, const char *point, int n,
		      const char *cmd)
{
	char spec[128];
	int st;

	snprintf(spec, sizeof(spec), "%s:%d", point, n);
	setenv("LEDGERFORM_CRASH_AT", spec, 1);
	st = ct_run(t, "%s", cmd);
	unsetenv("LEDGERFORM_CRASH_AT");
	if (st != KILLED)
		print_message("%s at %s: exit %d, not killed\n%s", cmd, spec, st, t->err);
	assert_int_equal(st, KILLED);
}

/* host directories, and dot entries (temp/trash leftovers) in the root */
static void hosts_root(struct clitest *t, size_t *hosts, size_t *dots)
{
	char path[512];
	struct dirent *e;
	DIR *d;

	*hosts = 0;
	*dots = 0;
	snprintf(path, sizeof(path), "%s/%s", t->dir, HOSTS);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '.') {
			print_message("leftover: %s\n", e->d_name);
			(*dots)++;
		} else {
			(*hosts)++;
		}
	}
	closedir(d);
}

static void assert_applied(struct clitest *t, const char *after)
{
	static const char *const some[] = { "orderer0-ordering", "peer0-org1",
					    "peer2-org3" };
	size_t hosts, dots, i;
	char rel[256];

	if (ct_run(t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("re-apply after %s: exit %d\n%s", after, t->status, t->err);
	assert_int_equal(t->status, 0);
	assert_int_equal(ct_run(t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_non_null(strstr(t->out, "No changes."));
	hosts_root(t, &hosts, &dots);
	assert_int_equal(hosts, NHOSTS);
	assert_int_equal(dots, 0);
	for (i = 0; i < sizeof(some) / sizeof(some[0]); i++) {
		snprintf(rel, sizeof(rel), HOSTS "/%s/.ledgerform-host", some[i]);
		assert_true(ct_exists(t, rel));
	}
}

static size_t state_size(struct clitest *t)
{
	char *s = ct_read(t, "spec.state.json");
	json_t *doc = s ? json_loads(s, 0, NULL) : NULL;
	size_t n = json_object_size(json_object_get(doc, "resources"));

	free(s);
	json_decref(doc);
	return n;
}

static void assert_destroyed(struct clitest *t, const char *after)
{
	size_t hosts, dots;

	if (ct_run(t, "destroy -f spec.yaml --auto-approve") != 0)
		print_message("re-destroy after %s: exit %d\n%s", after, t->status, t->err);
	assert_int_equal(t->status, 0);
	assert_int_equal(state_size(t), 0);
	hosts_root(t, &hosts, &dots);
	assert_int_equal(hosts, 0);
	assert_int_equal(dots, 0);
}

/* back to nothing, without the driver (the next case starts fresh) */
static void reset(struct clitest *t)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/.ledgerform' '%s/spec.state.json'",
		 t->dir, t->dir);
	assert_int_equal(system(cmd), 0);
	assert_false(ct_exists(t, HOSTS));
}

static void test_e2e_local_apply_crashes_converge(void **state)
{
	struct clitest t;
	size_t i, k;
	char what[160];

	(void)state;
	ct_init(&t, "crash-apply");
	write_spec(&t);
	for (i = 0; i < sizeof(apply_points) / sizeof(apply_points[0]); i++) {
		for (k = 0; k < 3; k++) {
			const struct point *p = &apply_points[i];

			snprintf(what, sizeof(what), "%s:%d", p->name, p->n[k]);
			crash_run(&t, p->name, p->n[k], "apply -f spec.yaml --auto-approve");
			assert_applied(&t, what);
			reset(&t);
		}
	}
	ct_done(&t);
}

static void test_e2e_local_destroy_crashes_converge(void **state)
{
	struct clitest t;
	size_t i, k;
	char what[160];

	(void)state;
	ct_init(&t, "crash-destroy");
	write_spec(&t);
	for (i = 0; i < sizeof(destroy_points) / sizeof(destroy_points[0]); i++) {
		for (k = 0; k < 3; k++) {
			const struct point *p = &destroy_points[i];

			snprintf(what, sizeof(what), "%s:%d", p->name, p->n[k]);
			assert_applied(&t, "a clean start");
			crash_run(&t, p->name, p->n[k], "destroy -f spec.yaml --auto-approve");
			assert_destroyed(&t, what);
		}
	}
	ct_done(&t);
}

/* a destroy killed half way, then a plain apply (the operator changed
 * their mind): what the destroy half removed, crypto trees included, is
 * seen by the refresh as gone and made again; the apply converges */
static void test_e2e_local_destroy_crash_then_apply(void **state)
{
	static const struct point points[] = {
		{ "util.rmtree.unlink", { 3, 40, 120 } },
		{ "local.delete.renamed", { 2, 0, 0 } },
		{ "local.fs.rm_before_marker", { 3, 0, 0 } },
	};
	struct clitest t;
	size_t i, k;
	char what[160];

	(void)state;
	ct_init(&t, "crash-destroy-apply");
	write_spec(&t);
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		for (k = 0; k < 3 && points[i].n[k]; k++) {
			snprintf(what, sizeof(what), "destroy killed at %s:%d", points[i].name,
				 points[i].n[k]);
			assert_applied(&t, "a clean start");
			crash_run(&t, points[i].name, points[i].n[k],
				  "destroy -f spec.yaml --auto-approve");
			assert_applied(&t, what);
		}
	}
	assert_destroyed(&t, "the last case");
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_local_apply_crashes_converge),
		cmocka_unit_test(test_e2e_local_destroy_crashes_converge),
		cmocka_unit_test(test_e2e_local_destroy_crash_then_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
