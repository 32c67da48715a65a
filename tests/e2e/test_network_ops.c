/*
 * With the real Fabric 2.5.5 binaries (FABRIC_BIN), the channel operations
 * of a running network, through the CLI only (ports 26000-26999):
 *  - apply joins the orderer (participation API) and the peer (cscc) to
 *    the channel; the peer CLI, pointed by `output peer-env`, sees it;
 *  - scaling up joins the new peer, which catches up to the channel;
 *  - a batch-size change through the signing flow: refused until signed
 *    (state unchanged), then submitted, and its config block reaches the
 *    peers;
 *  - a new org added through the signing flow: the update is submitted
 *    and the new org's peer joins and catches up;
 *  - with the orderer down, a signed update fails, keeping its file and
 *    the recorded config, and goes through once the orderer is back;
 *  - destroy leaves no process.
 * Skipped, saying so, without FABRIC_BIN.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define W ".ledgerform/ops"
#define ORD_ADMIN_MSP W "/crypto/ordererOrganizations/ordering.example.com/users/Admin@ordering.example.com/msp"
#define ORG1_ADMIN_MSP W "/crypto/peerOrganizations/org1.example.com/users/Admin@org1.example.com/msp"

static void write_spec(struct clitest *t, int org1_peers, const char *batch, bool org2)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf),
		"name: ops\n"
		"fabric: {version: \"2.5\", consensus: etcdraft}\n"
		"orgs:\n"
		"  - name: ordering\n"
		"    orderers:\n"
		"      hosts:\n"
		"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 26050, admin: 26053, operations: 26443}}\n"
		"  - name: org1\n"
		"    peers:\n"
		"      hosts:\n"
		"        - {name: peer0, address: 127.0.0.1, ports: {listen: 26151, chaincode: 26152, operations: 26153}}\n"
		"%s",
		org1_peers > 1 ? "        - {name: peer1, address: 127.0.0.1, ports: {listen: 26161, chaincode: 26162, operations: 26163}}\n" : "");
	if (org2)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			"  - name: org2\n"
			"    peers:\n"
			"      hosts:\n"
			"        - {name: peer0, address: 127.0.0.1, ports: {listen: 26251, chaincode: 26252, operations: 26253}}\n");
	snprintf(buf + n, sizeof(buf) - (size_t)n,
		"channels:\n"
		"  - name: ops\n"
		"    orgs: [org1%s]\n"
		"%s%s%s",
		org2 ? ", org2" : "", batch ? "    batch: {" : "", batch ? batch : "", batch ? "}\n" : "");
	ct_write(t, "spec.yaml", buf);
}

static json_t *state_record(struct clitest *t, const char *addr)
{
	json_t *r;

	assert_int_equal(ct_run(t, "state show %s -f spec.yaml", addr), 0);
	r = json_loads(t->out, 0, NULL);
	assert_non_null(r);
	return r;
}

static json_int_t output_int(struct clitest *t, const char *addr, const char *key)
{
	json_t *r = state_record(t, addr);
	json_int_t v = json_integer_value(json_object_get(json_object_get(r, "outputs"), key));

	json_decref(r);
	return v;
}

static bool joined(struct clitest *t, const char *addr)
{
	json_t *r = state_record(t, addr);
	bool j = json_is_true(json_object_get(json_object_get(r, "outputs"), "joined"));

	json_decref(r);
	return j;
}

/* the channel's height as the real peer CLI sees it on org's peer, with
 * the variables `output peer-env` prints; -1 when the peer has not joined */
static long peer_height(struct clitest *t, const char *bin, const char *org, const char *peer)
{
	char cmd[1024], *p;
	long h = -1;

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s/ledgerform' output peer-env -f spec.yaml --org %s --peer %s > env.sh && "
		 ". ./env.sh && FABRIC_CFG_PATH='%s/../config' '%s/peer' channel getinfo -c ops "
		 "> info.txt 2>&1; true", t->dir, LF_BINARY_DIR, org, peer, bin, bin);
	assert_int_equal(system(cmd), 0);
	p = ct_read(t, "info.txt");
	if (p && strstr(p, "\"height\":"))
		h = strtol(strstr(p, "\"height\":") + 9, NULL, 10);
	free(p);
	return h;
}

static void kill_node(struct clitest *t, const char *host)
{
	long pid = ct_node_pid(t, W "/hosts", host);

	assert_true(pid > 0);
	kill((pid_t)pid, SIGKILL);
	while (ct_pid_alive(pid)) /* the kernel takes it down; no clock involved */
		usleep(10000);
}

static struct clitest t;
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1", "peer1-org1",
					 "peer0-org2" };
#define NHOSTS (sizeof(all_hosts) / sizeof(all_hosts[0]))

/* whatever happened in the test, no node it started outlives it */
static int stop_nodes(void **state)
{
	(void)state;
	for (size_t i = 0; t.dir[0] && i < NHOSTS; i++) {
		long pid = ct_node_pid(&t, W "/hosts", all_hosts[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

static void test_e2e_network_ops(void **state)
{
	const char *bin = ct_fabric_bin();
	long h;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the channel operations on real nodes\n");
		skip();
	}
	ct_init(&t, "ops");
	setenv("FABRIC_BIN", bin, 1);

	/* joins */
	write_spec(&t, 1, NULL, false);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_true(joined(&t, "join.ops.ordering.orderer0"));
	assert_true(joined(&t, "join.ops.org1.peer0"));
	assert_int_equal(peer_height(&t, bin, "org1", "peer0"), 1);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	/* status asks each node for its height in the channels it joined */
	{
		json_t *st, *n;
		size_t i, seen = 0;

		assert_int_equal(ct_run(&t, "status -f spec.yaml --json"), 0);
		st = json_loads(t.out, 0, NULL);
		assert_non_null(st);
		json_array_foreach(json_object_get(st, "nodes"), i, n) {
			assert_int_equal(json_integer_value(json_object_get(
				json_object_get(n, "channels"), "ops")), 1);
			seen++;
		}
		assert_int_equal(seen, 2);
		json_decref(st);
	}
	/* the connection profile loads in the Fabric SDK: fabric-network's
	 * Gateway reads the channel's height through qscc as org1's User1 */
	{
		char cmd[1024], *out;

		assert_int_equal(ct_run(&t, "output connection-profile -f spec.yaml --org org1"), 0);
		ct_write(&t, "ccp.json", t.out);
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && node '%s/tests/node/ccp-gateway.js' ccp.json Org1MSP "
			 "'%s/" W "/crypto/peerOrganizations/org1.example.com/users/User1@org1.example.com/msp' "
			 "ops > gw.out 2> gw.err", t.dir, LF_SOURCE_DIR, t.dir);
		if (system(cmd) != 0) {
			out = ct_read(&t, "gw.err");
			print_message("fabric-network Gateway failed: %s\n", out ? out : "");
			free(out);
			fail();
		}
		out = ct_read(&t, "gw.out");
		assert_non_null(out);
		assert_string_equal(out, "{\"height\":1}\n");
		free(out);
	}

	/* scale up: the new peer joins */
	write_spec(&t, 2, NULL, false);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_true(joined(&t, "join.ops.org1.peer1"));
	assert_int_equal(peer_height(&t, bin, "org1", "peer1"), 1);

	/* a batch change needs the orderer org admin's signature first */
	write_spec(&t, 2, "max_message_count: 20", false);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3); /* waiting */
	assert_non_null(strstr(t.out, "ledgerform sign"));
	assert_int_equal(output_int(&t, "channel.ops", "config_sequence"), 0);
	assert_int_equal(peer_height(&t, bin, "org1", "peer0"), 1);
	assert_int_equal(ct_run(&t, "sign " W "/channels/ops.update.pb --msp " ORD_ADMIN_MSP), 0);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_int_equal(output_int(&t, "channel.ops", "config_sequence"), 1);
	assert_false(ct_exists(&t, W "/channels/ops.update.pb"));
	assert_true(ct_exists(&t, W "/channels/ops.config.block"));
	/* the config block reaches the peers (they pull it: poll, bounded) */
	for (int i = 0; i < 600 && (h = peer_height(&t, bin, "org1", "peer1")) < 2; i++)
		usleep(100000);
	assert_int_equal(h, 2);

	/* a new org through the signing flow: org1's admin signs */
	write_spec(&t, 2, "max_message_count: 20", true);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3); /* waiting */
	assert_non_null(strstr(t.out, "ledgerform sign"));
	/* its peer's join waits for the update: not made yet */
	assert_int_equal(ct_run(&t, "state show join.ops.org2.peer0 -f spec.yaml"), 1);
	assert_int_equal(ct_run(&t, "sign " W "/channels/ops.update.pb --msp " ORG1_ADMIN_MSP), 0);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_int_equal(output_int(&t, "channel.ops", "config_sequence"), 2);
	assert_true(joined(&t, "join.ops.org2.peer0"));
	for (int i = 0; i < 600 && (h = peer_height(&t, bin, "org2", "peer0")) < 3; i++)
		usleep(100000);
	assert_int_equal(h, 3);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);

	/* the orderer down: a signed update fails and loses nothing; it goes
	 * through once the orderer is back */
	write_spec(&t, 2, "max_message_count: 30", true);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3); /* waiting */
	assert_int_equal(ct_run(&t, "sign " W "/channels/ops.update.pb --msp " ORD_ADMIN_MSP), 0);
	kill_node(&t, "orderer0-ordering");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --refresh=false"), 1);
	assert_non_null(strstr(t.err, "channel.ops"));
	assert_true(ct_exists(&t, W "/channels/ops.update.pb"));
	assert_int_equal(output_int(&t, "channel.ops", "config_sequence"), 2);
	/* the orderer back (drift: restarted), then the update goes through */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --target node.ordering.orderer0"), 0);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_int_equal(output_int(&t, "channel.ops", "config_sequence"), 3);
	assert_false(ct_exists(&t, W "/channels/ops.update.pb"));
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);

	{
		long pids[NHOSTS];

		for (size_t i = 0; i < NHOSTS; i++)
			pids[i] = ct_node_pid(&t, W "/hosts", all_hosts[i]);
		assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
		for (size_t i = 0; i < NHOSTS; i++)
			assert_false(pids[i] > 0 && ct_pid_alive(pids[i]));
	}
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_network_ops, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
