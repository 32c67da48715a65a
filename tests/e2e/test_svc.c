/*
 * Nodes as systemd units, end to end through the CLI over the ssh
 * transport: org1's peer0 is an existing machine at 127.0.0.1 reached
 * through a real OpenSSH server this test starts (sshd ports 35500-35549,
 * see tests/drivers/ssh/sshd_fixture.c), its provider set to
 * supervisor: systemd; the orderer runs on the local driver (node ports
 * 35700-35799). Real Fabric 2.5.5 binaries (FABRIC_BIN) run the nodes.
 *
 * SYSTEMD IS NOT REAL HERE: this machine has no systemd as PID 1, and
 * systemctl cannot run. The remote PATH (provider config `path`) starts
 * with a STAND-IN for systemctl, a shell script written below: it records
 * every call, and does what systemd would do for the driver's
 * Type=simple unit: `restart U` reads WorkingDirectory=,
 * EnvironmentFile= and ExecStart= from the unit the driver installed in
 * unit_dir and runs ExecStart in the background (its output to
 * fabric/node.log, as there is no journal); `show` reports that process
 * as MainPID= with ActiveState=active while it lives (inactive after);
 * `disable --now U` stops it and waits until it has exited. So the test
 * proves the core's wiring (the unit installed and started through
 * systemctl, liveness from `systemctl show`, restart on drift, `disable
 * --now` and the unit removed on destroy) and that the unit's own
 * EnvironmentFile/ExecStart start a healthy node, not systemd itself.
 *
 * apply -> unit installed, started through systemctl, the node healthy,
 * supervisor: systemd and the unit recorded; plan empty; the node's
 * process killed -> plan shows drift, apply restarts it through
 * systemctl; the provider's supervisor set to nohup -> drift, apply
 * stops the unit (disable --now) and runs the node under nohup, and back
 * to systemd the other way; destroy -> disable --now, the unit file gone,
 * no process.
 * Skipped, saying so, without sshd or FABRIC_BIN.
 */
#include <setjmp.h>
#include <signal.h>
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

#include "tests/drivers/ssh/sshd_fixture.h"
#include "tests/e2e/clitest.h"

#define NODE "node.org1.peer0"

static struct sshd g_sshd;
static char g_skip[256];
static struct clitest g_t;
static bool g_live;

static const char SPEC[] =
	"name: svcnet\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"providers:\n"
	"  dc1:\n"
	"    driver: ssh\n"
	"    config: {user: %s, port: %d, identity: %s/user_key, known_hosts: %s/known_hosts,\n"
	"             root: %s/remote, bin_root: %s/bin-remote, connect_timeout: 2,\n"
	"             supervisor: %s, unit_dir: %s/units,\n"
	"             path: \"%s/fakebin:/usr/local/bin:/usr/bin:/bin\"}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 1, ports: {listen: 35750, operations: 35751, admin: 35752}}\n"
	"  - name: org1\n"
	"    peers:\n"
	"      provider: dc1\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 35701, chaincode: 35702, operations: 35703}}\n"
	"channels:\n"
	"  - name: svcchannel\n"
	"    orgs: [org1]\n";

/* the stand-in for systemctl (see the top of this file); $D holds its
 * calls and the pid of each unit's process, $U is the driver's unit_dir */
static const char STAND_IN[] =
	"#!/bin/sh\n"
	"# STAND-IN for systemctl, for ledgerform's test only: systemd cannot run\n"
	"# here. Records its calls; runs a unit's ExecStart in the background.\n"
	"D=%s/svc; U=%s/units\n"
	"mkdir -p \"$D\"; printf '%%s\\n' \"$*\" >> \"$D/calls\"\n"
	"alive() { [ -n \"$1\" ] && kill -0 \"$1\" 2>/dev/null && "
	"[ \"$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)\" != Z ]; }\n"
	"stop() { p=$(cat \"$D/$1.pid\" 2>/dev/null); [ -n \"$p\" ] && kill \"$p\" 2>/dev/null; i=0; "
	"while alive \"$p\" && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
	"[ -n \"$p\" ] && kill -9 \"$p\" 2>/dev/null; rm -f \"$D/$1.pid\"; }\n"
	"key() { sed -n \"s/^$1=//p\" \"$U/$2\"; }\n"
	"last() { for a; do :; done; echo \"$a\"; }\n"
	"case \"$1\" in\n"
	"daemon-reload|enable) ;;\n"
	"restart) u=$2; [ -f \"$U/$u\" ] || { echo \"Unit $u not found.\" >&2; exit 5; }\n"
	"  stop \"$u\"; wd=$(key WorkingDirectory \"$u\"); ef=$(key EnvironmentFile \"$u\")\n"
	"  ex=$(key ExecStart \"$u\")\n"
	"  ( cd \"$wd\" && set -a && . \"$ef\" && set +a && exec $ex ) "
	">\"$wd/fabric/node.log\" 2>&1 </dev/null &\n"
	"  echo $! > \"$D/$u.pid\" ;;\n"
	"show) u=$(last \"$@\"); p=$(cat \"$D/$u.pid\" 2>/dev/null)\n"
	"  if alive \"$p\"; then echo MainPID=$p; echo ActiveState=active; "
	"else echo MainPID=0; echo ActiveState=inactive; fi ;;\n"
	"disable) u=$(last \"$@\"); [ \"$2\" = --now ] && stop \"$u\" ;;\n"
	"*) echo \"stand-in systemctl: $1 is not done here\" >&2; exit 1 ;;\n"
	"esac\n"
	"exit 0\n";

static void write_spec(struct clitest *t, const char *supervisor)
{
	const char *d = g_sshd.dir;
	size_t n = sizeof(SPEC) + 8 * strlen(d) + 64;
	char *spec = malloc(n);

	assert_non_null(spec);
	snprintf(spec, n, SPEC, g_sshd.user, g_sshd.port, d, d, d, d, supervisor, d, d);
	ct_write(t, "spec.yaml", spec);
	free(spec);
}

static void write_files(struct clitest *t)
{
	const char *d = g_sshd.dir;
	char *stand_in, *p;
	size_t n;

	write_spec(t, "systemd");
	assert_int_equal(sshd_sh("printf '[127.0.0.1]:%d ' > %s/known_hosts && cut -d' ' -f1,2 %s/host_key.pub >> %s/known_hosts",
				 g_sshd.port, d, d, d), 0);
	n = sizeof(STAND_IN) + 2 * strlen(d);
	stand_in = malloc(n);
	assert_non_null(stand_in);
	snprintf(stand_in, n, STAND_IN, d, d);
	p = sshd_path(&g_sshd, "fakebin/systemctl");
	assert_int_equal(sshd_sh("mkdir -p %s/fakebin %s/units && rm -rf %s/svc", d, d, d), 0);
	ct_write(t, "systemctl.stand-in", stand_in);
	assert_int_equal(sshd_sh("cp %s/systemctl.stand-in %s && chmod 0755 %s", t->dir, p, p), 0);
	/* the login user (not root) runs systemctl through sudo -n, and owns
	 * unit_dir as it would its own service directory */
	assert_int_equal(sshd_sudo_stand_in(&g_sshd), 0);
	free(p);
	p = sshd_path(&g_sshd, "units");
	sshd_give(&g_sshd, p);
	free(p);
	free(stand_in);
}

/* the stand-in's recorded calls ("" when none) */
static char *calls(void)
{
	char *p = sshd_path(&g_sshd, "svc/calls"), *text = NULL;
	FILE *f = fopen(p, "r");
	long n;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0) {
		text = calloc(1, (size_t)n + 1);
		rewind(f);
		if (text && fread(text, 1, (size_t)n, f) != (size_t)n)
			text[0] = '\0';
	}
	if (f)
		fclose(f);
	free(p);
	return text ? text : calloc(1, 1);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t k = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		k++;
	return k;
}

/* "PREFIX UNIT\n" (a static buffer) */
static const char *want2(const char *unit, const char *prefix)
{
	static char buf[640];

	snprintf(buf, sizeof(buf), "%s%s\n", prefix, unit);
	return buf;
}

static bool unit_installed(const char *unit)
{
	char *p = sshd_path(&g_sshd, "units"), path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", p, unit);
	free(p);
	return stat(path, &st) == 0;
}

/* the node's outputs from the state: pid, and supervisor/unit into bufs */
static long node_outputs(char *sup, size_t sup_len, char *unit, size_t unit_len)
{
	json_t *doc = ct_state_doc(&g_t, "spec.state.json");
	json_t *o = json_object_get(json_object_get(json_object_get(doc, "resources"), NODE),
				    "outputs");
	long pid = (long)json_integer_value(json_object_get(o, "pid"));

	snprintf(sup, sup_len, "%s", ct_output_of(doc, NODE, "supervisor")
					  ? ct_output_of(doc, NODE, "supervisor") : "");
	snprintf(unit, unit_len, "%s", ct_output_of(doc, NODE, "unit")
					    ? ct_output_of(doc, NODE, "unit") : "");
	json_decref(doc);
	return pid;
}

/* the pid `status --json` reports for the node while running (0 when
 * not running) */
static long status_pid(void)
{
	json_t *doc, *n;
	size_t i;
	long pid = -1;

	assert_int_equal(ct_run(&g_t, "status -f spec.yaml --json"), 0);
	doc = json_loads(g_t.out, 0, NULL);
	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "nodes"), i, n) {
		if (strcmp(json_string_value(json_object_get(n, "address")), NODE) == 0)
			pid = json_is_true(json_object_get(n, "running"))
				      ? (long)json_integer_value(json_object_get(n, "pid")) : 0;
	}
	json_decref(doc);
	return pid;
}

static void test_svc_systemd_units_end_to_end(void **state)
{
	const char *bin = ct_fabric_bin();
	char sup[32], unit[160], want[640], *c;
	long pid, pid2;

	(void)state;
	SSHD_SKIP(g_skip);
	if (!bin) {
		print_message("skipped: FABRIC_BIN is not set (real Fabric binaries are needed)\n");
		skip();
	}
	ct_init(&g_t, "svc");
	g_live = true;
	write_files(&g_t);
	setenv("FABRIC_BIN", bin, 1);

	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	pid = node_outputs(sup, sizeof(sup), unit, sizeof(unit));
	assert_string_equal(sup, "systemd");
	assert_non_null(strstr(unit, "ledgerform-"));
	assert_true(unit_installed(unit));
	assert_true(pid > 1 && ct_pid_alive(pid));
	c = calls();
	snprintf(want, sizeof(want), "enable %s\nrestart %s\nshow -p MainPID -p ActiveState %s\n",
		 unit, unit, unit);
	assert_non_null(strstr(c, "daemon-reload\n"));
	assert_non_null(strstr(c, want));
	free(c);
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);
	/* status finds the unit's process (its MainPID) */
	assert_int_equal(status_pid(), pid);

	/* the node's process dies: drift, and apply restarts it via systemctl */
	kill((pid_t)pid, SIGKILL);
	for (int i = 0; i < 100 && ct_pid_alive(pid); i++)
		usleep(50000);
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 2);
	assert_non_null(strstr(g_t.out, "not running"));
	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	c = calls();
	snprintf(want, sizeof(want), "restart %s\n", unit);
	assert_int_equal(count_of(c, want), 2);
	free(c);
	pid2 = node_outputs(sup, sizeof(sup), unit, sizeof(unit));
	assert_true(pid2 > 1 && pid2 != pid && ct_pid_alive(pid2));
	assert_string_equal(sup, "systemd");
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);

	/* a change of supervisor (the setting to nohup) is drift, and apply
	 * restarts the node: the unit stopped and removed, nohup runs it */
	write_spec(&g_t, "nohup");
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 2);
	assert_non_null(strstr(g_t.out, "the node runs under systemd, its machine now under nohup"));
	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	c = calls();
	assert_int_equal(count_of(c, want2(unit, "disable --now ")), 1);
	free(c);
	assert_false(unit_installed(unit));
	assert_false(ct_pid_alive(pid2));
	pid = node_outputs(sup, sizeof(sup), want, sizeof(want));
	assert_string_equal(sup, "nohup");
	assert_true(pid > 1 && ct_pid_alive(pid));
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);
	/* and back: the nohup process stopped, the unit started again */
	write_spec(&g_t, "systemd");
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 2);
	assert_non_null(strstr(g_t.out, "the node runs under nohup, its machine now under systemd"));
	if (ct_run(&g_t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", g_t.err);
	assert_false(ct_pid_alive(pid));
	pid2 = node_outputs(sup, sizeof(sup), unit, sizeof(unit));
	assert_string_equal(sup, "systemd");
	assert_true(unit_installed(unit));
	assert_true(pid2 > 1 && pid2 != pid && ct_pid_alive(pid2));
	assert_int_equal(ct_run(&g_t, "plan -f spec.yaml --detailed-exitcode"), 0);

	/* destroy: disable --now, the unit gone, no process */
	assert_int_equal(ct_run(&g_t, "destroy -f spec.yaml --auto-approve"), 0);
	c = calls();
	snprintf(want, sizeof(want), "disable --now %s\n", unit);
	assert_non_null(strstr(c, want));
	free(c);
	assert_false(unit_installed(unit));
	assert_false(ct_pid_alive(pid2));
	g_live = false;
	ct_done(&g_t);
	unsetenv("FABRIC_BIN");
}

/* destroy what a failed test left, so no process keeps its ports */
static int teardown(void **state)
{
	(void)state;
	if (g_live)
		ct_destroy_left(&g_t);
	g_live = false;
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	(void)sshd_start(&g_sshd, 35500, g_skip, sizeof(g_skip));
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
		cmocka_unit_test_teardown(test_svc_systemd_units_end_to_end, teardown),
	};

	return sshd_run_group(tests, 1, group_setup, group_teardown);
}
