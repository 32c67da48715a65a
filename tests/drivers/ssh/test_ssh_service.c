/*
 * Nodes as systemd units through the ssh driver's `service` callback,
 * against a real OpenSSH server this test starts on 127.0.0.1 (ports
 * 33600-33649).
 *
 * This machine has no systemd as PID 1, and systemctl cannot run here. So:
 * - with supervisor: auto the driver decides "no systemd" (facts say
 *   systemd=false, supervisor=nohup) and service returns LF_EUNSUPPORTED
 *   without calling systemctl;
 * - with supervisor: systemd (what auto decides on a machine whose PID 1
 *   is systemd) the driver's commands run against a RECORDING STAND-IN for
 *   systemctl: a shell script first on the remote PATH (config `path`)
 *   that appends its argv to a file and answers `show` as systemd does
 *   (MainPID=, ActiveState=). It proves the exact command sequence and
 *   what is installed (the unit in unit_dir, the 0600 env file), not that
 *   systemd runs the node; the installed unit is checked with the real
 *   `systemd-analyze verify` where that exists. The login user is not root,
 *   so the driver runs them with `sudo -n`: a stand-in for sudo records
 *   that and runs the command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugin/call.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"
#include "sshd_fixture.h"

#define LIN "d4d4d4d4-0000-4000-8000-00000000000d"

static struct sshd g_sshd;
static char g_skip[256];
static struct lf_registry *g_reg;
static const struct lf_driver *g_drv;

#define SKIP_WITHOUT_SSHD() SSHD_SKIP(g_skip)

static json_t *cfg_of(const char *supervisor)
{
	char *key = sshd_path(&g_sshd, "user_key"), *kh = sshd_path(&g_sshd, "kh");
	char *root = sshd_path(&g_sshd, "remote"), *units = sshd_path(&g_sshd, "units");
	char *path = lf_xasprintf("%s/fakebin:/usr/local/bin:/usr/bin:/bin", g_sshd.dir);
	json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "user",
				g_sshd.user, "port", g_sshd.port, "identity", key, "known_hosts", kh,
				"host_key", g_sshd.host_fp, "root", root, "supervisor", supervisor,
				"unit_dir", units, "path", path);

	free(key);
	free(kh);
	free(root);
	free(units);
	free(path);
	return cfg;
}

static struct lf_driver_conn *open_cfg(json_t *cfg)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;
	struct lf_driver_conn *c = sshd_driver_open(g_drv, cfg, &rc, &err);

	assert_int_equal(rc, 0);
	return c;
}

static struct lf_target target(void)
{
	struct lf_target t;

	memset(&t, 0, sizeof(t));
	t.resource = "host.dc1.peer0";
	t.lineage = LIN;
	t.name = "peer0";
	t.machine_address = "127.0.0.1";
	return t;
}

static json_t *prepare(struct lf_driver_conn *c)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_target t = target();
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	const char run_sh[] = "#!/bin/sh\nexec sleep 1000\n";
	struct lf_file f = { "fabric/run.sh", run_sh, sizeof(run_sh) - 1, 0755, NULL };

	lf_call_init(&call, "ssh", "dc1", t.resource);
	if (g_drv->machine_prepare(c, &t, &call, b, 0, &err) != 0)
		fail_msg("prepare: %s", err.msg);
	if (g_drv->put(c, &t, &f, 1, &call, 0, &err) != 0)
		fail_msg("put: %s", err.msg);
	return lf_kv_builder_finish(b);
}

static int service(struct lf_driver_conn *c, int op, struct lf_service_status *st,
		   struct lf_err *err)
{
	const char *envp[] = { "CORE_PEER_ID=peer0", "QUOTED=a \"b\" \\c", NULL };
	struct lf_service svc = { "peer0-bank", "node.bank.peer0", "fabric/run.sh", envp };
	struct lf_target t = target();
	struct lf_call call;

	lf_call_init(&call, "ssh", "dc1", "node.bank.peer0");
	lf_err_clear(err);
	assert_true(LF_DRIVER_HAS(g_drv, service));
	return g_drv->service(c, &t, &svc, op, st, &call, 0, err);
}

static char *read_text(const char *dir, const char *name)
{
	char *p = lf_xasprintf("%s/%s", dir, name), *text = NULL;

	if (lf_read_file(p, &text, NULL, NULL) != 0)
		text = NULL;
	free(p);
	return text;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_service_no_systemd_uses_supervisor(void **state)
{
	struct lf_service_status st;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	json_t *facts;
	char *calls;

	(void)state;
	SKIP_WITHOUT_SSHD();
	if (access("/run/systemd/system", F_OK) == 0) {
		print_message("skipped: this machine runs systemd as PID 1\n");
		skip();
	}
	c = open_cfg(cfg_of("auto"));
	facts = prepare(c);
	assert_string_equal(json_string_value(json_object_get(facts, "systemd")), "false");
	assert_string_equal(json_string_value(json_object_get(facts, "supervisor")), "nohup");
	assert_int_equal(service(c, LF_SVC_START, &st, &err), LF_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "no systemd as PID 1"));
	calls = read_text(g_sshd.dir, "systemctl.calls");
	assert_null(calls); /* systemctl never called */
	json_decref(facts);
	g_drv->close(c);
}

static void test_service_systemd_sequence(void **state)
{
	struct lf_service_status st;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	char *calls, *unit, *env, *units = sshd_path(&g_sshd, "units"), want[600];
	char *root = lf_xasprintf("%s/remote/peer0", g_sshd.dir);
	json_t *facts;
	struct stat sb;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = open_cfg(cfg_of("systemd"));
	facts = prepare(c);
	assert_string_equal(json_string_value(json_object_get(facts, "supervisor")), "systemd");
	if (service(c, LF_SVC_START, &st, &err) != 0)
		fail_msg("start: %s", err.msg);
	assert_int_equal(st.main_pid, 4242);
	assert_true(st.active);
	assert_string_equal(st.state, "active");
	calls = read_text(g_sshd.dir, "systemctl.calls");
	assert_string_equal(calls, "daemon-reload\n"
				   "enable ledgerform-peer0-bank.service\n"
				   "restart ledgerform-peer0-bank.service\n"
				   "show -p MainPID -p ActiveState ledgerform-peer0-bank.service\n");
	free(calls);
	/* not root there: every systemctl went through sudo -n */
	calls = read_text(g_sshd.dir, "sudo.calls");
	if (g_sshd.uid != 0)
		assert_non_null(calls && strstr(calls, "-n systemctl daemon-reload\n") ? calls : NULL);
	free(calls);
	/* the unit installed, with the absolute root and the bundle's script */
	unit = read_text(units, "ledgerform-peer0-bank.service");
	assert_non_null(unit);
	snprintf(want, sizeof(want), "\nWorkingDirectory=%s\n", root);
	assert_non_null(strstr(unit, want));
	snprintf(want, sizeof(want), "\nExecStart=/bin/sh %s/fabric/run.sh\n", root);
	assert_non_null(strstr(unit, want));
	snprintf(want, sizeof(want), "\nEnvironmentFile=%s/fabric/node.env\n", root);
	assert_non_null(strstr(unit, want));
	snprintf(want, sizeof(want), "\nUser=%s\n", g_sshd.user);
	assert_non_null(strstr(unit, want));
	assert_non_null(strstr(unit, "\nRestart=on-failure\n"));
	assert_non_null(strstr(unit, "(node.bank.peer0)"));
	assert_null(strstr(unit, "@ROOT@"));
	if (access("/usr/bin/systemd-analyze", X_OK) == 0)
		assert_int_equal(sshd_sh("systemd-analyze verify %s/ledgerform-peer0-bank.service",
					 units), 0);
	else
		print_message("  (no systemd-analyze: unit not verified)\n");
	free(unit);
	/* the environment: a 0600 file, values quoted as systemd reads them */
	env = read_text(root, "fabric/node.env");
	assert_string_equal(env, "CORE_PEER_ID=\"peer0\"\nQUOTED=\"a \\\"b\\\" \\\\c\"\n");
	free(env);
	snprintf(want, sizeof(want), "%s/fabric/node.env", root);
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* liveness: systemctl show */
	assert_int_equal(service(c, LF_SVC_STATUS, &st, &err), 0);
	assert_int_equal(st.main_pid, 4242);
	/* stop: disabled, removed */
	assert_int_equal(service(c, LF_SVC_STOP, &st, &err), 0);
	assert_false(st.active);
	calls = read_text(g_sshd.dir, "systemctl.calls");
	assert_non_null(strstr(calls, "restart ledgerform-peer0-bank.service\n"
				      "show -p MainPID -p ActiveState ledgerform-peer0-bank.service\n"
				      "show -p MainPID -p ActiveState ledgerform-peer0-bank.service\n"
				      "disable --now ledgerform-peer0-bank.service\n"
				      "daemon-reload\n"));
	free(calls);
	snprintf(want, sizeof(want), "%s/ledgerform-peer0-bank.service", units);
	assert_int_not_equal(access(want, F_OK), 0);
	/* a second stop finds nothing to do (no systemctl call) */
	assert_int_equal(service(c, LF_SVC_STOP, &st, &err), 0);
	json_decref(facts);
	free(units);
	free(root);
	g_drv->close(c);
}

static void test_service_bad_name(void **state)
{
	struct lf_service svc = { "../x", NULL, "fabric/run.sh", NULL };
	struct lf_target t = target();
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	struct lf_driver_conn *c;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = open_cfg(cfg_of("systemd"));
	lf_call_init(&call, "ssh", "dc1", t.resource);
	assert_int_equal(g_drv->service(c, &t, &svc, LF_SVC_START, NULL, &call, 0, &err),
			 LF_EINVALID);
	svc.name = "ok";
	svc.exec = "fabric/../../x";
	assert_int_equal(g_drv->service(c, &t, &svc, LF_SVC_START, NULL, &call, 0, &err),
			 LF_EINVALID);
	g_drv->close(c);
}

/* ---- fixture ---------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	g_drv = sshd_ssh_driver(&g_reg);
	if (sshd_start(&g_sshd, 33600, g_skip, sizeof(g_skip)) != 0)
		return 0;
	/* the recording stand-in for systemctl (see the top of this file) */
	if (sshd_sh("mkdir -p %s/fakebin && printf '%%s\\n' '#!/bin/sh' "
		    "'# recording stand-in for systemctl (test only)' "
		    "'printf \"%%s\\n\" \"$*\" >> %s/systemctl.calls' "
		    "'case \"$1\" in show) echo MainPID=4242; echo ActiveState=active ;; esac' "
		    "> %s/fakebin/systemctl && chmod 0755 %s/fakebin/systemctl",
		    g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.dir) != 0 ||
	    sshd_sudo_stand_in(&g_sshd) != 0)
		snprintf(g_skip, sizeof(g_skip), "cannot write the systemctl stand-in");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sshd_stop(&g_sshd);
	lf_registry_free(g_reg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_no_systemd_uses_supervisor),
		cmocka_unit_test(test_service_systemd_sequence),
		cmocka_unit_test(test_service_bad_name),
	};

	return sshd_run_group(tests, sizeof(tests) / sizeof(tests[0]), group_setup, group_teardown);
}
