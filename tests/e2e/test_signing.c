/*
 * The signing flow against a real network (Fabric 2.5.5 binaries in
 * FABRIC_BIN, ports 31000-31499), through the CLI and Fabric's own peer
 * CLI:
 *  - a channel change that needs a signature is not a failure: apply
 *    exits 3 "waiting for signatures", says who must sign and how, the
 *    state records the channel as pending, the next plan shows it waiting;
 *  - `peer channel signconfigtx` (the orderer org's admin) signs the file
 *    and the next apply counts that signature and submits the update;
 *  - a file signed by `ledgerform sign` is submitted with `peer channel
 *    update` to the real orderer and accepted;
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

#define W ".ledgerform/sg"
#define ORD_ADMIN_MSP W "/crypto/ordererOrganizations/ordering.example.com/users/Admin@ordering.example.com/msp"
#define ORD_TLSCA W "/crypto/ordererOrganizations/ordering.example.com/tlsca/tlsca.ordering.example.com-cert.pem"
#define UPD W "/channels/sg.update.pb"

static void write_spec(struct clitest *t, const char *batch)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		"name: sg\n"
		"fabric: {version: \"2.5\", consensus: etcdraft}\n"
		"orgs:\n"
		"  - name: ordering\n"
		"    orderers:\n"
		"      hosts:\n"
		"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 31050, admin: 31053, operations: 31443}}\n"
		"  - name: org1\n"
		"    peers:\n"
		"      hosts:\n"
		"        - {name: peer0, address: 127.0.0.1, ports: {listen: 31151, chaincode: 31152, operations: 31153}}\n"
		"channels:\n"
		"  - name: sg\n"
		"    orgs: [org1]\n"
		"%s%s%s",
		batch ? "    batch: {" : "", batch ? batch : "", batch ? "}\n" : "");
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

static json_int_t config_sequence(struct clitest *t)
{
	json_t *r = state_record(t, "channel.sg");
	json_int_t v = json_integer_value(json_object_get(json_object_get(r, "outputs"),
							  "config_sequence"));

	json_decref(r);
	return v;
}

/* run Fabric's peer CLI as the orderer org's admin; its exit status,
 * its output in peer.out */
static int peer_cli(struct clitest *t, const char *bin, const char *args)
{
	json_t *r = state_record(t, "node.ordering.orderer0");
	const char *mspid = json_string_value(json_object_get(json_object_get(r, "attrs"), "mspid"));
	char cmd[2048];
	int st;

	assert_non_null(mspid);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && FABRIC_CFG_PATH='%s/../config' CORE_PEER_LOCALMSPID='%s' "
		 "CORE_PEER_MSPCONFIGPATH='%s/" ORD_ADMIN_MSP "' '%s/peer' %s > peer.out 2>&1",
		 t->dir, bin, mspid, t->dir, bin, args);
	json_decref(r);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static struct clitest t;
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1" };

/* whatever happened in the test, no node it started outlives it */
static int stop_nodes(void **state)
{
	(void)state;
	for (size_t i = 0; t.dir[0] && i < 2; i++) {
		long pid = ct_node_pid(&t, W "/hosts", all_hosts[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

static void pending_then_fabric_signature(const char *bin)
{
	json_t *r;
	char *out;

	write_spec(&t, "max_message_count: 20");
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 3)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 3);
	assert_non_null(strstr(t.out, "Apply waiting for signatures"));
	assert_non_null(strstr(t.out, "MAJORITY Admins: 1 of 1 orgs (OrderingMSP); have 0"));
	assert_non_null(strstr(t.out, "ledgerform sign " ));
	assert_non_null(strstr(t.out, "peer channel signconfigtx -f "));
	assert_null(strstr(t.err, "error"));
	r = state_record(&t, "channel.sg");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		r, "outputs"), "pending_update"), "file")), "channels/sg.update.pb");
	json_decref(r);
	assert_int_equal(config_sequence(&t), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 2);
	assert_non_null(strstr(t.out, "channel.sg"));
	assert_non_null(strstr(t.out, "needs 1 of 1 admin signature (OrderingMSP); waiting for "
			       "signatures on channels/sg.update.pb"));
	/* Fabric's CLI adds the orderer admin's signature; apply counts it */
	if (peer_cli(&t, bin, "channel signconfigtx -f " UPD) != 0) {
		out = ct_read(&t, "peer.out");
		print_message("peer channel signconfigtx: %s\n", out ? out : "");
		free(out);
		fail();
	}
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_int_equal(config_sequence(&t), 1);
	assert_false(ct_exists(&t, UPD));
	r = state_record(&t, "channel.sg");   /* no longer pending */
	assert_null(json_object_get(json_object_get(r, "outputs"), "pending_update"));
	json_decref(r);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
}

static void ledgerform_signs_peer_submits(const char *bin)
{
	json_t *r = state_record(&t, "node.ordering.orderer0");
	const char *host = json_string_value(json_object_get(json_object_get(r, "attrs"), "hostname"));
	char args[1024], *out;

	assert_non_null(host);
	write_spec(&t, "max_message_count: 30");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_int_equal(ct_run(&t, "sign " UPD " --msp " ORD_ADMIN_MSP), 0);
	assert_non_null(strstr(t.out, "satisfy the channel's policies"));
	snprintf(args, sizeof(args), "channel update -f " UPD " -c sg -o 127.0.0.1:31050 --tls "
		 "--cafile '%s/" ORD_TLSCA "' --ordererTLSHostnameOverride %s", t.dir, host);
	json_decref(r);
	if (peer_cli(&t, bin, args) != 0) {
		out = ct_read(&t, "peer.out");
		print_message("peer channel update: %s\n", out ? out : "");
		free(out);
		fail();
	}
	out = ct_read(&t, "peer.out");
	assert_non_null(strstr(out, "Successfully submitted channel update"));
	free(out);
}

static void test_e2e_signing(void **state)
{
	const char *bin = ct_fabric_bin();
	size_t alive;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the signing flow on real nodes\n");
		skip();
	}
	ct_init(&t, "signing");
	setenv("FABRIC_BIN", bin, 1);
	write_spec(&t, NULL);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	pending_then_fabric_signature(bin);
	ledgerform_signs_peer_submits(bin);
	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", all_hosts, 2, &alive), 0);
	assert_int_equal(alive, 0);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_signing, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
