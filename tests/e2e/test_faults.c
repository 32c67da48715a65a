/*
 * End-to-end fault handling on the simulated cloud (sim driver): a failed
 * action starts none of its dependents while independent branches finish;
 * transient errors are retried; a second process is refused the state
 * lock with the holder named; kill -9 (at named crash points,
 * LEDGERFORM_CRASH_AT, never after a timed sleep) and SIGINT mid-apply
 * leave a state from which the next apply converges.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define LF_ARRAY_LEN_T(a) (sizeof(a) / sizeof((a)[0]))

static void write_spec(struct clitest *t, const char *sim_config, int peers)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "name: faults\n"
		 "providers:\n"
		 "  cloud:\n"
		 "    driver: sim\n"
		 "    config: {db: sim-db.json%s%s}\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    orderers: {count: 1, provider: cloud}\n"
		 "  - name: bank\n"
		 "    peers: {count: %d, provider: cloud}\n"
		 "channels:\n"
		 "  - name: trade\n"
		 "    orgs: [bank]\n",
		 sim_config[0] ? ", " : "", sim_config, peers);
	ct_write(t, "spec.yaml", buf);
}

static json_t *resources(struct clitest *t)
{
	char *s = ct_read(t, "spec.state.json");
	json_t *doc, *res;

	assert_non_null(s);
	doc = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(doc); /* never torn */
	res = json_incref(json_object_get(doc, "resources"));
	json_decref(doc);
	return res;
}

static void converge(struct clitest *t)
{
	assert_int_equal(ct_run(t, "apply -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_non_null(strstr(t->out, "No changes."));
}

static void test_e2e_failure_isolation(void **state)
{
	struct clitest t;
	json_t *res;

	(void)state;
	ct_init(&t, "isolate");
	write_spec(&t, "fail_match: peer1", 2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 1);
	assert_non_null(strstr(t.err, "host.bank.peer1: create failed"));
	assert_non_null(strstr(t.err, "node.bank.peer1: not started"));
	res = resources(&t);
	/* the independent branches finished and were recorded */
	assert_non_null(json_object_get(res, "host.bank.peer0"));
	assert_non_null(json_object_get(res, "node.bank.peer0"));
	assert_non_null(json_object_get(res, "node.ordering.orderer0"));
	assert_null(json_object_get(res, "host.bank.peer1"));
	assert_null(json_object_get(res, "node.bank.peer1"));
	json_decref(res);
	/* the fault clears: the next apply does only what is missing */
	write_spec(&t, "", 2);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --no-color"), 0);
	assert_null(strstr(t.out, "host.bank.peer0 "));
	assert_non_null(strstr(t.out, "+   host.bank.peer1"));
	converge(&t);
	ct_done(&t);
}

static void test_e2e_transient_retried(void **state)
{
	struct clitest t;

	(void)state;
	ct_init(&t, "retry");
	/* every injected fault is transient; one worker keeps the seeded
	 * sequence repeatable */
	write_spec(&t, "fail_rate_create: 0.3, transient_ratio: 1.0, seed: 42", 2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --parallelism 1"), 0);
	/* permanent faults are not retried and fail the run */
	write_spec(&t, "fail_rate_create: 1.0, transient_ratio: 0.0, seed: 1", 3);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 1);
	assert_non_null(strstr(t.err, "host.bank.peer2: create failed"));
	assert_null(strstr(t.err, "gave up after"));
	ct_done(&t);
}

static void test_e2e_lock_contention(void **state)
{
	struct clitest t;
	pid_t pid;
	char pidstr[32];

	(void)state;
	ct_init(&t, "lock");
	write_spec(&t, "latency_ms: 1500", 1);
	pid = ct_spawn(&t, "apply -f spec.yaml --auto-approve --parallelism 4");
	assert_true(ct_wait_for(&t, "spec.state.json.lock", "apply", 10000));
	/* a second process is refused at once, with the holder named */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 1);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	assert_non_null(strstr(t.err, "locked"));
	assert_non_null(strstr(t.err, pidstr));
	assert_non_null(strstr(t.err, "apply"));
	/* ... or waits for it with --lock-timeout */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --lock-timeout 60s --detailed-exitcode"), 0);
	assert_int_equal(ct_wait(pid), 0);
	ct_done(&t);
}

/* hosts the simulated cloud holds (its db file) */
static size_t sim_hosts(struct clitest *t)
{
	char *s = ct_read(t, "sim-db.json");
	json_t *db = s ? json_loads(s, 0, NULL) : NULL;
	size_t n = json_object_size(json_object_get(db, "hosts"));

	free(s);
	json_decref(db);
	return n;
}

/* the orderer's host is a local directory (box), the peers are on the
 * simulated cloud with latency: the local driver's crash points
 * (LEDGERFORM_CRASH_AT) kill the process while sim creates are in flight */
static void write_mixed_spec(struct clitest *t)
{
	ct_write(t, "spec.yaml",
		 "name: faults\n"
		 "providers:\n"
		 "  cloud:\n"
		 "    driver: sim\n"
		 "    config: {db: sim-db.json, latency_ms: 200, jitter_ms: 100, seed: 5}\n"
		 "  box:\n"
		 "    driver: local\n"
		 "    config: {root: boxes}\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    orderers: {count: 1, provider: box}\n"
		 "  - name: bank\n"
		 "    peers: {count: 5, provider: cloud}\n"
		 "channels:\n"
		 "  - name: trade\n"
		 "    orgs: [bank]\n");
}

/* kill -9 at named points of an apply (and of the applies resuming it):
 * the orderer's host being made, then its node files being written (each
 * re-apply writes them all again until the node is recorded). The state
 * is never torn, and the next apply converges with no host made twice. */
static void test_e2e_kill9_then_converge(void **state)
{
	static const char *const kills[] = {
		"local.create.tmp_made:1", "local.fs.put_written:1",
		"local.fs.put_renamed:4", "local.fs.put_written:2",
	};
	struct clitest t;
	size_t i;
	json_t *res;

	(void)state;
	ct_init(&t, "kill9");
	write_mixed_spec(&t);
	for (i = 0; i < LF_ARRAY_LEN_T(kills); i++) {
		setenv("LEDGERFORM_CRASH_AT", kills[i], 1);
		assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --parallelism 3"),
				 128 + SIGKILL);
		unsetenv("LEDGERFORM_CRASH_AT");
		if (ct_exists(&t, "spec.state.json"))
			json_decref(resources(&t)); /* parses: never torn */
	}
	converge(&t);
	res = resources(&t);
	/* 5 peers on the cloud, each recorded once, none orphaned; the
	 * orderer's host directory carries its marker */
	assert_int_equal(sim_hosts(&t), 5);
	assert_non_null(json_object_get(res, "host.bank.peer4"));
	assert_non_null(json_object_get(res, "node.ordering.orderer0"));
	assert_true(ct_exists(&t, "boxes/orderer0-ordering/.ledgerform-host"));
	json_decref(res);
	ct_done(&t);
}

static void test_e2e_sigint_then_converge(void **state)
{
	struct clitest t;
	pid_t pid;
	int st;

	(void)state;
	ct_init(&t, "sigint");
	write_spec(&t, "latency_ms: 400", 4);
	pid = ct_spawn(&t, "apply -f spec.yaml --auto-approve --parallelism 1");
	assert_true(ct_wait_for(&t, "spec.state.json", "host.", 15000));
	kill(pid, SIGTERM); /* handled as the first SIGINT */
	st = ct_wait(pid);
	assert_int_equal(st, 1);
	{
		char *err = ct_read(&t, ".err");

		assert_non_null(strstr(err, "interrupted"));
		free(err);
	}
	json_decref(resources(&t));
	converge(&t);
	ct_done(&t);
}

/* SIGINT until the process ends (the first lets running actions finish,
 * every later one asks the drivers to cancel their waits) */
static int interrupt_until_done(pid_t pid)
{
	struct timespec ts = { 0, 20 * 1000000L };
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) != pid) {
		kill(pid, SIGINT);
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A second SIGINT cancels the drivers' waits: host creates that would each
 * wait 10 minutes on the simulated cloud are cancelled, none completes,
 * and the next apply still converges. No clock is read: were the waits not
 * cancelled, the creates would complete and sim-db.json hold the hosts
 * (or the test run out of its ctest timeout). */
static void test_e2e_double_sigint_cancels(void **state)
{
	struct clitest t;
	pid_t pid;
	char *err;

	(void)state;
	ct_init(&t, "sigint2");
	write_spec(&t, "latency_ms: 600000", 2);
	pid = ct_spawn(&t, "apply -f spec.yaml --auto-approve --parallelism 8");
	/* the crypto is done (10 of 13 identities: the nodes' three, whose
	 * TLS SANs take their hosts' addresses, and the channel on the
	 * orderer's wait for the hosts): what runs now are the host creates */
	assert_true(ct_wait_for(&t, ".out", "[10/", 60000));
	assert_int_equal(interrupt_until_done(pid), 1);
	err = ct_read(&t, ".err");
	assert_non_null(strstr(err, "interrupted"));
	assert_non_null(strstr(err, "host.bank.peer0: create failed: sim: cancelled"));
	free(err);
	assert_int_equal(sim_hosts(&t), 0);
	write_spec(&t, "", 2);
	converge(&t);
	ct_done(&t);
}

/* a provider's credentials reach its driver, never the state, the plan
 * or the output; private keys are in no state either */
static void test_e2e_secrets_stay_secret(void **state)
{
	struct clitest t;
	char *st;

	(void)state;
	ct_init(&t, "secret");
	ct_write(&t, "spec.yaml",
		 "name: secret\n"
		 "providers:\n  cloud:\n    driver: sim\n    config: {db: sim-db.json}\n"
		 "    credentials: {env: LF_TEST_CLOUD_TOKEN}\n"
		 "orgs:\n  - name: ordering\n    orderers: {count: 1, provider: cloud}\n"
		 "  - name: bank\n    peers: {count: 1, provider: cloud}\n"
		 "channels:\n  - name: trade\n    orgs: [bank]\n");
	/* an unset credentials variable is a clear error naming it */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 1);
	assert_non_null(strstr(t.err, "LF_TEST_CLOUD_TOKEN"));
	/* the saved plan is made with the token set (made before, it could
	 * not hold it whatever the code did) and is what gets applied */
	setenv("LF_TEST_CLOUD_TOKEN", "tok-9f3c1e77d2", 1);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --out p.plan"), 0);
	assert_null(strstr(t.out, "tok-9f3c1e77d2"));
	assert_int_equal(ct_run(&t, "apply p.plan"), 0);
	assert_null(strstr(t.out, "tok-9f3c1e77d2"));
	assert_null(strstr(t.err, "tok-9f3c1e77d2"));
	assert_int_equal(ct_run(&t, "show -f spec.yaml --json"), 0);
	assert_null(strstr(t.out, "tok-9f3c1e77d2"));
	st = ct_read(&t, "spec.state.json");
	assert_non_null(st);
	assert_null(strstr(st, "tok-9f3c1e77d2"));
	assert_null(strstr(st, "PRIVATE KEY"));
	free(st);
	st = ct_read(&t, "p.plan");
	assert_null(strstr(st, "tok-9f3c1e77d2"));
	free(st);
	unsetenv("LF_TEST_CLOUD_TOKEN");
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_failure_isolation),
		cmocka_unit_test(test_e2e_transient_retried),
		cmocka_unit_test(test_e2e_lock_contention),
		cmocka_unit_test(test_e2e_kill9_then_converge),
		cmocka_unit_test(test_e2e_sigint_then_converge),
		cmocka_unit_test(test_e2e_double_sigint_cancels),
		cmocka_unit_test(test_e2e_secrets_stay_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
