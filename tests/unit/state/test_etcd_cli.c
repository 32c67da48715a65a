/*
 * The `ledgerform` binary with etcd state (a real etcd on 127.0.0.1:22340):
 * apply then an empty second plan; two applies at once (one waits for the
 * other's lock, the end state converges); a holder killed by SIGKILL while
 * holding the lock, then force-unlock; state pull/push between the file and
 * etcd backends, refusing another lineage or an older serial.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../e2e/clitest.h"
#include "core/util/util.h"
#include "etcd_fixture.h"
#include "state/state.h"

static struct etcd_fx fx; /* 22340/22341 */

static int group_setup(void **state)
{
	(void)state;
	return etcd_fx_start_one(&fx, "e1", 22340, 22341);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_fx_stop(&fx);
	return 0;
}

static void need_etcd(void)
{
	etcd_need(&fx);
}

static void write_spec(struct clitest *t, const char *prefix, int peers)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "name: demo\n"
		 "fabric: {version: \"2.5\", consensus: etcdraft}\n"
		 "state: {backend: etcd, endpoints: [\"%s\"], prefix: \"%s\", lease_ttl: 5}\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    domain: example.com\n"
		 "    orderers: {count: 1}\n"
		 "  - name: bank\n"
		 "    domain: bank.example.com\n"
		 "    peers: {count: %d}\n", fx.p[0].url, prefix, peers);
	ct_write(t, "spec.yaml", buf);
}

static void test_etcd_cli_apply_then_empty_plan(void **state)
{
	struct clitest t;

	(void)state;
	need_etcd();
	ct_init(&t, "etcd-apply");
	write_spec(&t, "/cli-apply/", 2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --no-color"), 0);
	assert_non_null(strstr(t.out, "Apply complete!"));
	assert_false(ct_exists(&t, "spec.state.json")); /* the state is in etcd */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode --no-color"), 0);
	assert_int_equal(ct_run(&t, "state list -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "host.bank.peer1"));
	ct_done(&t);
}

static void test_etcd_cli_two_applies_at_once(void **state)
{
	struct clitest a, b;
	char *spec;
	pid_t pa, pb;
	int sa, sb;

	(void)state;
	need_etcd();
	ct_init(&a, "etcd-two-a");
	ct_init(&b, "etcd-two-b");
	write_spec(&a, "/cli-two/", 3);
	spec = lf_xasprintf("%s/spec.yaml", a.dir);
	pa = ct_spawn(&a, "apply -f '%s' --auto-approve --no-color --lock-timeout 120s", spec);
	pb = ct_spawn(&b, "apply -f '%s' --auto-approve --no-color --lock-timeout 120s", spec);
	sa = ct_wait(pa);
	sb = ct_wait(pb);
	assert_int_equal(sa, 0);
	assert_int_equal(sb, 0);
	/* one created everything, the other found nothing left to do */
	assert_int_equal(ct_run(&a, "plan -f '%s' --detailed-exitcode --no-color", spec), 0);
	free(spec);
	ct_done(&a);
	ct_done(&b);
}

static void test_etcd_cli_killed_holder_force_unlock(void **state)
{
	struct clitest t;
	char id[32], *p;
	int rc;

	(void)state;
	need_etcd();
	ct_init(&t, "etcd-kill");
	write_spec(&t, "/cli-kill/", 2);
	setenv("LEDGERFORM_CRASH_AT", "etcd.lock.held:1", 1);
	rc = ct_run(&t, "apply -f spec.yaml --auto-approve --no-color");
	unsetenv("LEDGERFORM_CRASH_AT");
	assert_int_equal(rc, 128 + 9);
	/* the lease (5 s) still runs: refused, naming the holder and its ID */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --no-color"), 1);
	assert_non_null(strstr(t.err, "is locked by pid"));
	p = strstr(t.err, "force-unlock ");
	assert_non_null(p);
	snprintf(id, sizeof(id), "%s", p + 13);
	id[strcspn(id, "\n ")] = '\0';
	assert_int_equal(ct_run(&t, "force-unlock 12345 -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "not lock ID '12345'"));
	assert_int_equal(ct_run(&t, "force-unlock %s -f spec.yaml", id), 0);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --no-color"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode --no-color"), 0);
	ct_done(&t);
}

static void test_etcd_cli_pull_push(void **state)
{
	struct clitest t;
	char *pulled, *again;
	json_t *a, *b;

	(void)state;
	need_etcd();
	ct_init(&t, "etcd-push");
	/* a network applied with file state moves to etcd */
	write_spec(&t, "/cli-push/", 1);
	assert_int_equal(ct_run(&t, "apply --state file.json -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "state pull --state file.json"), 0);
	ct_write(&t, "pulled.json", t.out);
	assert_int_equal(ct_run(&t, "state push pulled.json -f spec.yaml"), 0);
	assert_int_equal(ct_run(&t, "state pull -f spec.yaml"), 0);
	a = json_loads(t.out, 0, NULL);
	pulled = ct_read(&t, "pulled.json");
	b = json_loads(pulled, 0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(json_equal(json_object_get(a, "resources"), json_object_get(b, "resources")));
	assert_string_equal(json_string_value(json_object_get(a, "lineage")),
			    json_string_value(json_object_get(b, "lineage")));
	assert_int_equal(json_integer_value(json_object_get(a, "serial")),
			 json_integer_value(json_object_get(b, "serial")));
	/* the same serial again: not newer, refused */
	assert_int_equal(ct_run(&t, "state push pulled.json -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "not newer"));
	/* another network's state: refused */
	json_object_set_new(b, "lineage", json_string("00000000-0000-4000-8000-000000000000"));
	json_object_set_new(b, "serial", json_integer(99));
	again = json_dumps(b, 0);
	ct_write(&t, "other.json", again);
	assert_int_equal(ct_run(&t, "state push other.json -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "another network"));
	/* the plan against etcd sees the network as applied */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode --no-color"), 0);
	/* and back from etcd to a new file */
	assert_int_equal(ct_run(&t, "state pull -f spec.yaml"), 0);
	ct_write(&t, "back.json", t.out);
	assert_int_equal(ct_run(&t, "state push back.json --state new.json"), 0);
	assert_int_equal(ct_run(&t, "plan --state new.json -f spec.yaml --detailed-exitcode"), 0);
	free(again);
	free(pulled);
	json_decref(a);
	json_decref(b);
	ct_done(&t);
}

/* the lease revoked behind the apply's back (force-unlock from another
 * process): the executor starts no more actions and says why; the next
 * apply converges */
static void test_etcd_cli_lock_lost_stops_apply(void **state)
{
	struct clitest t;
	struct lf_state *st = NULL;
	struct lf_state_holder h;
	struct lf_err err = LF_ERR_INIT;
	json_t *s = etcd_settings(&fx, "/cli-lost/");
	uint64_t deadline;
	char buf[1024], id[32], *p;
	pid_t pid;
	int rc;

	(void)state;
	need_etcd();
	ct_init(&t, "etcd-lost");
	snprintf(buf, sizeof(buf),
		 "name: lost\n"
		 "state: {backend: etcd, endpoints: [\"%s\"], prefix: /cli-lost/, lease_ttl: 3}\n"
		 "providers:\n"
		 "  cloud: {driver: sim, config: {db: sim-db.json, latency_ms: 400}}\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    orderers: {count: 1, provider: cloud}\n"
		 "  - name: bank\n"
		 "    peers: {count: 30, provider: cloud}\n", fx.p[0].url);
	ct_write(&t, "spec.yaml", buf);
	assert_int_equal(lf_state_etcd_new(&st, s, NULL, &err), 0);
	pid = ct_spawn(&t, "apply -f spec.yaml --auto-approve --no-color --parallelism 1");
	deadline = lf_now_ms() + 60000;
	do {
		lf_err_clear(&err);
		rc = lf_state_holder(st, &h, &err);
		if (rc != 0)
			lf_sleep_ms(50);
	} while (rc != 0 && lf_now_ms() < deadline);
	assert_int_equal(rc, 0);
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(st, 0, "test", &err), LF_ECONFLICT);
	p = strstr(err.msg, "force-unlock ");
	assert_non_null(p);
	snprintf(id, sizeof(id), "%s", p + 13);
	lf_err_clear(&err);
	assert_int_equal(lf_state_etcd_force_unlock(st, id, &err), 0);
	assert_int_not_equal(ct_wait(pid), 0);
	p = ct_read(&t, ".err");
	assert_non_null(p);
	print_message("apply said: %s\n", p);
	assert_non_null(strstr(p, "lock on etcd state"));
	assert_non_null(strstr(p, "revoked"));
	free(p);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --no-color"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode --no-color"), 0);
	lf_state_free(st);
	json_decref(s);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etcd_cli_apply_then_empty_plan),
		cmocka_unit_test(test_etcd_cli_two_applies_at_once),
		cmocka_unit_test(test_etcd_cli_killed_holder_force_unlock),
		cmocka_unit_test(test_etcd_cli_pull_push),
		cmocka_unit_test(test_etcd_cli_lock_lost_stops_apply),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
