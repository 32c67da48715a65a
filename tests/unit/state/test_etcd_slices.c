/*
 * A commit written in slices whose writer dies between two slices, against
 * a real etcd (Debian etcd-server) on 127.0.0.1 ports 33000-33001: the
 * keys the dead writer left are never read as state (readers read at the
 * header's revision), and the next writer's commit puts back what the
 * committed state holds (orphan puts removed or restored, orphan deletes
 * put back), so nothing of the unfinished commit ever becomes state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util/util.h"
#include "etcd_fixture.h"
#include "state/state.h"

#define PREFIX "/slices/"

static struct etcd_fx fx; /* one member: 33000/33001 */

static int group_setup(void **state)
{
	(void)state;
	return etcd_fx_start_one(&fx, "sl1", 33000, 33001);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_fx_stop(&fx);
	return 0;
}

static struct lf_state *open_st(const char *settings_txt)
{
	json_t *s = settings_txt ? json_loads(settings_txt, 0, NULL) : etcd_settings(&fx, PREFIX);
	struct lf_state *st = NULL;
	struct lf_err err = LF_ERR_INIT;

	json_object_set_new(s, "lease_ttl", json_integer(2));
	if (lf_state_etcd_new(&st, s, NULL, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	json_decref(s);
	return st;
}

static json_t *record(const char *tag, int i)
{
	return json_pack("{s:s, s:{s:s, s:i}}", "type", "peer", "attrs", "tag", tag, "n", i);
}

static void put_rec(struct lf_state_batch *b, const char *addr, const char *tag, int i)
{
	json_t *r = record(tag, i);

	lf_state_batch_put(b, addr, r);
	json_decref(r);
}

static void commit_ok(struct lf_state *st, struct lf_state_batch *b, struct lf_state_version *v)
{
	struct lf_err err = LF_ERR_INIT;

	if (lf_state_commit(st, b, v, &err) != 0)
		fail_msg("commit: %s", err.msg);
}

/* the child: under the lock, one batch of 400 changes on the state as
 * stored (250 new, 100 changed, 50 deleted): four slices; killed after
 * the first by LEDGERFORM_CRASH_AT */
static int child_commit(const char *settings_txt)
{
	struct lf_state *st = open_st(settings_txt);
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_doc doc;
	struct lf_state_version v;
	struct lf_err err = LF_ERR_INIT;
	char addr[32];
	int i, rc = lf_state_lock(st, 0, "apply", &err);

	if (rc == 0)
		rc = lf_state_read(st, &doc, &err);
	if (rc != 0)
		return 1;
	snprintf(v.lineage, sizeof(v.lineage), "%s", doc.lineage);
	v.serial = doc.serial;
	for (i = 0; i < 400; i++) {
		snprintf(addr, sizeof(addr), i < 250 ? "new.%d" : "old.%d", i < 250 ? i : i - 250);
		if (i < 350)
			put_rec(&b, addr, "dead", i);
		else
			lf_state_batch_delete(&b, addr);
	}
	rc = lf_state_commit(st, &b, &v, &err);
	printf("commit rc=%d %s\n", rc, err.msg);
	return 2; /* not reached when the crash point fires */
}

static void test_etcd_writer_killed_between_slices(void **state)
{
	struct lf_state *st;
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version v = { "", 0 };
	struct lf_state_holder h;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	json_t *s, *all = json_object(), *rec;
	char addr[32], *txt;
	const char *k;
	uint64_t deadline;
	int i, status = 0, rc;
	pid_t pid;

	(void)state;
	etcd_need(&fx);
	st = open_st(NULL);
	assert_int_equal(lf_state_lock(st, 0, "apply", &err), 0);
	for (i = 0; i < 300; i++) {
		snprintf(addr, sizeof(addr), "old.%d", i);
		json_object_set_new(all, addr, record("v1", i));
	}
	b.all = all;
	commit_ok(st, &b, &v);
	assert_int_equal(lf_state_unlock(st, &err), 0);

	s = etcd_settings(&fx, PREFIX);
	json_object_set_new(s, "lease_ttl", json_integer(2));
	txt = json_dumps(s, JSON_COMPACT);
	json_decref(s);
	pid = fork();
	if (pid == 0) {
		setenv("LEDGERFORM_CRASH_AT", "etcd.commit.slice:1", 1);
		execl("/proc/self/exe", "test_state_etcd_slices", "--commit-child", txt,
		      (char *)NULL);
		_exit(127);
	}
	free(txt);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	/* readers see the committed state only */
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(doc.serial, 1);
	assert_int_equal(json_object_size(doc.resources), 300);
	lf_state_doc_clear(&doc);

	/* the dead holder's lease expires; the next writer commits one change */
	deadline = lf_now_ms() + 30000;
	while ((rc = lf_state_holder(st, &h, &err)) == 0 && lf_now_ms() < deadline)
		lf_sleep_ms(200);
	assert_int_equal(rc, LF_ENOTFOUND);
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(st, 0, "apply", &err), 0);
	lf_state_batch_clear(&b);
	b.all = NULL;
	put_rec(&b, "extra.0", "v2", 0);
	put_rec(&b, "old.0", "v2", 0);
	commit_ok(st, &b, &v);
	assert_int_equal(v.serial, 2);

	/* exactly the committed state plus that change: nothing of the dead
	 * writer's slice */
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(doc.serial, 2);
	assert_int_equal(json_object_size(doc.resources), 301);
	json_object_foreach(doc.resources, k, rec) {
		const char *tag = json_string_value(json_object_get(json_object_get(rec, "attrs"), "tag"));

		assert_true(strncmp(k, "new.", 4) != 0);
		assert_string_equal(tag, !strcmp(k, "old.0") || !strcmp(k, "extra.0") ? "v2" : "v1");
	}
	lf_state_doc_clear(&doc);
	/* and a later commit finds nothing to undo */
	lf_state_batch_clear(&b);
	lf_state_batch_delete(&b, "extra.0");
	commit_ok(st, &b, &v);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(json_object_size(doc.resources), 300);
	lf_state_doc_clear(&doc);
	assert_int_equal(lf_state_unlock(st, &err), 0);
	lf_state_batch_clear(&b);
	json_decref(all);
	lf_state_free(st);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etcd_writer_killed_between_slices),
	};

	if (argc == 3 && strcmp(argv[1], "--commit-child") == 0)
		return child_commit(argv[2]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
