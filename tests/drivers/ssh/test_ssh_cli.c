/*
 * The ssh transport end to end through the CLI: a spec whose org1 peers
 * are existing machines at 127.0.0.1 reached by an `ssh` provider (a real
 * sshd this test starts, see sshd_fixture.c), its orderer on the local
 * driver (every node on ports of 23000-23099). apply delivers the nodes into their remote roots (each its own,
 * with the marker), a second plan is empty, destroy removes exactly what
 * was put there. With the server down, apply fails with a transient
 * connection error, and once it is back the next apply converges. With
 * FABRIC_BIN (real Fabric binaries): the binaries are delivered once to
 * the machine, the peers run there under the recorded supervisor, plan
 * finds them, destroy stops them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sshd_fixture.h"
#include "tests/e2e/clitest.h"

static struct sshd g_sshd;
static char g_skip[256];
static struct clitest g_t;   /* the test's workspace, */
static bool g_live;          /* cleaned up by teardown whatever happened */

static const char SPEC[] =
	"name: sshnet\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"providers:\n"
	"  dc1:\n"
	"    driver: ssh\n"
	"    config: {user: %s, port: %d, identity: %s/user_key, known_hosts: %s/known_hosts,\n"
	"             root: %s/remote, bin_root: %s/bin-remote, connect_timeout: 2}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 1, ports: {listen: 23050, operations: 23051, admin: 23052}}\n"
	"  - name: org1\n"
	"    peers:\n"
	"      provider: dc1\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 23001, chaincode: 23002, operations: 23003}}\n"
	"        - {name: peer1, address: 127.0.0.1, ports: {listen: 23011, chaincode: 23012, operations: 23013}}\n"
	"channels:\n"
	"  - name: mychannel\n"
	"    orgs: [org1]\n";

static void write_spec(struct clitest *t)
{
	const char *d = g_sshd.dir;
	char *spec = NULL;
	size_t n = sizeof(SPEC) + 6 * strlen(d) + 64;

	spec = malloc(n);
	snprintf(spec, n, SPEC, g_sshd.user, g_sshd.port, d, d, d, d);
	ct_write(t, "spec.yaml", spec);
	free(spec);
	assert_int_equal(sshd_sh("printf '[127.0.0.1]:%d ' > %s/known_hosts && cut -d' ' -f1,2 %s/host_key.pub >> %s/known_hosts",
				 g_sshd.port, d, d, d), 0);
}

static bool remote_has(const char *rel)
{
	char *p = sshd_path(&g_sshd, rel);
	struct stat st;
	bool there = lstat(p, &st) == 0;

	free(p);
	return there;
}

#define SKIP_WITHOUT_SSHD() SSHD_SKIP(g_skip)

static void test_ssh_cli_apply_plan_destroy(void **state)
{
	char *st;

	(void)state;
	SKIP_WITHOUT_SSHD();
	ct_init(&g_t, "ssh-cli");
	g_live = true;
	write_spec(&g_t);
	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	assert_true(remote_has("remote/peer0-org1/.ledgerform-host"));
	assert_true(remote_has("remote/peer1-org1/.ledgerform-host"));
	assert_true(remote_has("remote/peer0-org1/fabric/node.env"));
	assert_true(remote_has("remote/peer0-org1/fabric/msp"));
	/* the machine's facts and the supervisor choice are recorded */
	st = ct_read(&g_t, "spec.state.json");
	assert_non_null(st);
	assert_non_null(strstr(st, "\"supervisor\""));
	assert_non_null(strstr(st, "\"disk_free_mb\""));
	free(st);
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&g_t, "destroy -f spec.yaml --auto-approve"), 0);
	assert_false(remote_has("remote/peer0-org1"));
	assert_false(remote_has("remote/peer1-org1"));
}

static void test_ssh_cli_server_down_then_converges(void **state)
{

	(void)state;
	SKIP_WITHOUT_SSHD();
	ct_init(&g_t, "ssh-cli-down");
	g_live = true;
	write_spec(&g_t);
	sshd_kill(&g_sshd);
	assert_int_not_equal(ct_run(&g_t, "apply -f spec.yaml --auto-approve"), 0);
	assert_non_null(strstr(g_t.err, "cannot connect"));
	assert_false(remote_has("remote/peer0-org1"));
	assert_int_equal(sshd_restart(&g_sshd), 0);
	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&g_t, "destroy -f spec.yaml --auto-approve"), 0);
	assert_false(remote_has("remote/peer0-org1"));
}

/* running (a zombie nobody reaps yet does not count) */
static bool pid_running(long pid)
{
	char path[64], buf[256], *p = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f) {
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
	}
	return p && p[1] == ' ' && p[2] != 'Z';
}

static long state_pid(const char *st, const char *node)
{
	const char *p = strstr(st, node);

	p = p ? strstr(p, "\"pid\":") : NULL;
	return p ? strtol(p + 6, NULL, 10) : 0;
}

static void test_ssh_cli_fabric_nodes_run(void **state)
{
	const char *bin = ct_fabric_bin();
	char *st;
	long pid0, pid1;

	(void)state;
	SKIP_WITHOUT_SSHD();
	if (!bin) {
		print_message("skipped: FABRIC_BIN is not set (real Fabric binaries are needed)\n");
		skip();
	}
	ct_init(&g_t, "ssh-cli-fabric");
	g_live = true;
	write_spec(&g_t);
	setenv("FABRIC_BIN", bin, 1);
	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	/* the peers run from the copy delivered to the machine */
	st = ct_read(&g_t, "spec.state.json");
	pid0 = state_pid(st, "\"node.org1.peer0\"");
	pid1 = state_pid(st, "\"node.org1.peer1\"");
	free(st);
	assert_true(pid0 > 1 && pid1 > 1);
	assert_true(pid_running(pid0));
	assert_true(pid_running(pid1));
	assert_true(remote_has("bin-remote"));
	assert_int_equal(sshd_sh("ls %s/bin-remote/*/bin/peer >/dev/null", g_sshd.dir), 0);
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&g_t, "destroy -f spec.yaml --auto-approve"), 0);
	assert_false(pid_running(pid0));
	assert_false(pid_running(pid1));
	assert_false(remote_has("remote/peer0-org1"));
	unsetenv("FABRIC_BIN");
}

/* destroy what a test left (a failed assertion skips its destroy), so no
 * Fabric process is left holding ports */
static int teardown(void **state)
{
	(void)state;
	if (g_live) {
		if (ct_fabric_bin())
			setenv("FABRIC_BIN", ct_fabric_bin(), 1);
		(void)ct_run(&g_t, "destroy -f spec.yaml --auto-approve");
		unsetenv("FABRIC_BIN");
		ct_done(&g_t);
		g_live = false;
	}
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	(void)sshd_start(&g_sshd, 22250, g_skip, sizeof(g_skip));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sshd_stop(&g_sshd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ssh_cli_apply_plan_destroy, teardown),
		cmocka_unit_test_teardown(test_ssh_cli_server_down_then_converges, teardown),
		cmocka_unit_test_teardown(test_ssh_cli_fabric_nodes_run, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
