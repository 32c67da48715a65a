/*
 * The chaincode lifecycle through the CLI (ports 30000-30499):
 *  - `ledgerform package` prints the package ID the real peer CLI computes
 *    for the file it wrote; a ready package with another SHA-256 is
 *    refused, naming both hashes, before anything runs (plan too);
 *  - with the real Fabric 2.5.5 binaries (FABRIC_BIN): a network of two
 *    orgs on a channel; apply installs a ccaas chaincode on each org's
 *    peer, approves it as each org and commits it (the real peer CLI's
 *    querycommitted sees both approvals); a second plan is empty;
 *  - version 2 + sequence 2 in the spec is an upgrade: a new package
 *    installed, approved and committed at sequence 2;
 *  - the test chaincode (tests/node/cc, fabric-shim) runs as the
 *    chaincode server; a transaction is submitted and evaluated through
 *    @hyperledger/fabric-gateway as org1's User1; after the upgrade the
 *    version 2 server answers with its changed function;
 *  - sequence going down and removing the chaincode are refused at plan,
 *    with Fabric's reasons;
 *  - consortium: org2 becomes `admin: offline` with a request its admin
 *    made (admin_csr: the admin's key is made by the test, the tree's is
 *    removed); a second chaincode's install on org2's peer (one round)
 *    and approval by org2 are written to files, signed with `ledgerform
 *    sign` in two rounds (the proposal, then the endorsed transaction)
 *    by the admin's own msp folder (their key, the issued certificate),
 *    and committed with a private data collection;
 *  - destroy leaves no process.
 * The Fabric part is skipped, saying so, without FABRIC_BIN; the gateway
 * part without tests/node/node_modules (bootstrap --with-tests).
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

#define W ".ledgerform/ccr"

#define ORG1 W "/crypto/peerOrganizations/org1.example.com"
#define ORG2 W "/crypto/peerOrganizations/org2.example.com"

static struct clitest t;
static pid_t cc_server = -1;     /* the chaincode server; the teardown
				    stops it too */
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1",
					 "peer0-org2" };
#define NHOSTS (sizeof(all_hosts) / sizeof(all_hosts[0]))

static const char NETWORK[] =
	"name: ccr\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers:\n"
	"      hosts:\n"
	"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 30050, admin: 30053, operations: 30043}}\n"
	"  - name: org1\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 30151, chaincode: 30152, operations: 30153}}\n"
	"  - name: org2\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 30251, chaincode: 30252, operations: 30253}}\n"
	"channels:\n"
	"  - {name: ccch, orgs: [org1, org2]}\n";

static const char CONS[] =
	"  - {name: cons, version: \"1\", sequence: 1, type: ccaas, channels: [ccch],\n"
	"     address: \"127.0.0.1:30301\", collections: coll.json}\n";
static const char COLL[] =
	"[{\"name\": \"shared\", \"policy\": \"OR('Org1MSP.member', 'Org2MSP.member')\",\n"
	"  \"requiredPeerCount\": 0, \"maxPeerCount\": 1, \"blockToLive\": 0,\n"
	"  \"memberOnlyRead\": true, \"memberOnlyWrite\": true}]\n";

/* the spec with chaincode basic at version/sequence (NULL: none); extra
 * (NULL: none) is added to chaincodes:, org2_offline makes org2's admin
 * offline */
static void write_spec2(const char *version, int sequence, const char *extra,
			bool org2_offline)
{
	char buf[4096], *o2;

	snprintf(buf, sizeof(buf), "%s%s", NETWORK, version ? "chaincodes:\n" : "");
	if (org2_offline && (o2 = strstr(buf, "  - name: org2\n")) != NULL) {
		char tail[4096];

		o2 += strlen("  - name: org2\n");
		snprintf(tail, sizeof(tail), "%s", o2);
		snprintf(o2, sizeof(buf) - (size_t)(o2 - buf), "    admin: offline\n"
			 "    admin_csr: org2home/admin.csr\n%s", tail);
	}
	if (version)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "  - name: basic\n"
			 "    version: \"%s\"\n"
			 "    sequence: %d\n"
			 "    type: ccaas\n"
			 "    channels: [ccch]\n"
			 "    address: 127.0.0.1:30300\n"
			 "    endorsement_policy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"\n",
			 version, sequence);
	if (extra)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", extra);
	ct_write(&t, "spec.yaml", buf);
}

static void write_spec(const char *version, int sequence)
{
	write_spec2(version, sequence, NULL, false);
}

static void stop_cc(void)
{
	if (cc_server > 0) {
		kill(cc_server, SIGKILL);
		ct_wait(cc_server);
	}
	cc_server = -1;
}

static int stop_nodes(void **state)
{
	(void)state;
	stop_cc();
	for (size_t i = 0; t.dir[0] && i < NHOSTS; i++) {
		long pid = ct_node_pid(&t, W "/hosts", all_hosts[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

/* the outputs of a recorded resource */
static json_t *outputs(const char *addr)
{
	json_t *r, *o;

	assert_int_equal(ct_run(&t, "state show %s -f spec.yaml", addr), 0);
	r = json_loads(t.out, 0, NULL);
	assert_non_null(r);
	o = json_incref(json_object_get(r, "outputs"));
	json_decref(r);
	return o;
}

/* the real peer CLI's querycommitted (or queryinstalled with args NULL)
 * on org's peer0 as its admin, with `output peer-env`'s variables */
static char *peer_cli(const char *bin, const char *org, const char *args)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s/ledgerform' output peer-env -f spec.yaml --org %s "
		 "--peer peer0 > env.sh && . ./env.sh && FABRIC_CFG_PATH='%s/../config' "
		 "'%s/peer' lifecycle chaincode %s > cli.txt 2>&1; true", t.dir,
		 LF_BINARY_DIR, org, bin, bin, args);
	assert_int_equal(system(cmd), 0);
	return ct_read(&t, "cli.txt");
}

static bool have_node_modules(void)
{
	return access(LF_SOURCE_DIR "/tests/node/node_modules/fabric-shim", F_OK) == 0 &&
	       access(LF_SOURCE_DIR "/tests/node/node_modules/@hyperledger/fabric-gateway",
		      F_OK) == 0;
}

/* the test chaincode as a service for the recorded package of basic */
static void start_cc(int version)
{
	json_t *o = outputs("chaincode.basic");
	const char *id = json_string_value(json_object_get(o, "package_id"));
	char cmd[2048];

	assert_non_null(id);
	snprintf(cmd, sizeof(cmd), "cd '%s' && CHAINCODE_ID='%s' "
		 "CHAINCODE_ADDRESS=127.0.0.1:30300 CC_VERSION=%d exec node "
		 "'%s/tests/node/cc/index.js' > cc%d.log 2>&1", t.dir, id, version,
		 LF_SOURCE_DIR, version);
	json_decref(o);
	cc_server = fork();
	assert_true(cc_server >= 0);
	if (cc_server == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	assert_true(ct_wait_for(&t, version == 2 ? "cc2.log" : "cc1.log",
				"listening on", 30000));
}

/* a transaction through the Fabric Gateway client as org1's User1; a
 * gateway whose peers have not yet met through gossip is asked again
 * (bounded) */
static char *gateway(const char *mode, const char *args)
{
	char cmd[2048], *e = NULL;

	snprintf(cmd, sizeof(cmd), "cd '%s' && node '%s/tests/node/cc-gateway.js' "
		 "%s 127.0.0.1:30151 '" ORG1 "/tlsca/tlsca.org1.example.com-cert.pem' "
		 "'" ORG1 "/users/User1@org1.example.com/msp' Org1MSP ccch basic %s "
		 "> gw.out 2> gw.err", t.dir, LF_SOURCE_DIR, mode, args);
	for (int tries = 0; tries < 120; tries++) {
		free(e);
		if (system(cmd) == 0)
			return ct_read(&t, "gw.out");
		e = ct_read(&t, "gw.err");
		if (!e || !strstr(e, "no combination of peers"))
			break;
		usleep(500000);
	}
	print_message("gateway %s failed: %s\n", mode, e ? e : "");
	free(e);
	fail();
	return NULL;
}

static void apply_ok(void)
{
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
}

/* package and the refused hash: no Fabric node needed */
static void test_cc_package_cli(void **state)
{
	const char *bin = ct_fabric_bin();
	char buf[4096], *id, *p;

	(void)state;
	ct_init(&t, "ccpkg");
	write_spec("1.0", 1);
	assert_int_equal(ct_run(&t, "package -f spec.yaml basic -o basic.tgz"), 0);
	assert_true(ct_exists(&t, "basic.tgz"));
	assert_non_null(strstr(t.out, "basic_1.0:"));
	id = strdup(t.out);
	/* the same spec, the same bytes */
	assert_int_equal(ct_run(&t, "package -f spec.yaml basic -o again.tgz"), 0);
	assert_string_equal(t.out, id);
	if (bin) {
		snprintf(buf, sizeof(buf), "cd '%s' && FABRIC_CFG_PATH='%s/../config' "
			 "'%s/peer' lifecycle chaincode calculatepackageid basic.tgz "
			 "> calc.txt 2>&1", t.dir, bin, bin);
		assert_int_equal(system(buf), 0);
		p = ct_read(&t, "calc.txt");
		assert_string_equal(p, id);
		free(p);
	} else {
		print_message("FABRIC_BIN is not set: calculatepackageid not compared\n");
	}
	/* a ready package whose SHA-256 is not the spec's */
	snprintf(buf, sizeof(buf), "%schaincodes:\n"
		 "  - {name: ready, version: \"1\", sequence: 1, type: ccaas, channels: [ccch],\n"
		 "     package: {file: basic.tgz, sha256: %064d}}\n", NETWORK, 0);
	ct_write(&t, "spec.yaml", buf);
	assert_int_equal(ct_run(&t, "package -f spec.yaml ready -o out.tgz"), 1);
	assert_non_null(strstr(t.err, "but the spec expects 0000"));
	assert_non_null(strstr(t.err, "has SHA-256 "));
	assert_false(ct_exists(&t, "out.tgz"));
	assert_int_not_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.err, "but the spec expects 0000"));
	assert_false(ct_exists(&t, W "/crypto"));
	assert_int_equal(ct_run(&t, "package -f spec.yaml nope"), 1);
	assert_non_null(strstr(t.err, "no chaincode 'nope'"));
	free(id);
	ct_done(&t);
}

/* sign the approval file as org2's admin, with their own msp folder
 * outside the controller's tree; the round the file is at */
static void sign_as_org2(int round)
{
	char want[64];

	assert_int_equal(ct_run(&t, "sign " W "/chaincodes/cc_approve.cons.ccch.org2.json "
				"--msp org2home/msp"), 0);
	snprintf(want, sizeof(want), "round %d of 2", round);
	assert_non_null(strstr(t.out, want));
}

/* org2 approves chaincode cons offline, in two rounds */
static void consortium(const char *bin)
{
	char cmd[1024], *p;
	json_t *o;

	/* org2's admin, on their own machine: a key and a request */
	assert_int_equal(ct_offline_admin_key(&t, "org2home", "org2.example.com"), 0);
	ct_write(&t, "coll.json", COLL);
	write_spec2("2.0", 2, CONS, true);
	if (ct_run(&t, "plan -f spec.yaml") != 0)
		fail_msg("plan of the consortium spec:\n%s\n%s", t.out, t.err);
	assert_non_null(strstr(t.out, "the admin becomes offline"));
	/* what org2's admin signed stays done under its new identity: the
	 * joins and the installs of org2's peers do not follow it */
	assert_null(strstr(t.out, "join.ccch.org2"));
	assert_null(strstr(t.out, "cc_install.basic.org2"));
	/* org2's install first: one signed proposal */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "the install proposal of cons_1:"));
	/* the admin's own msp folder: the certificate ledgerform issued over
	 * the request, their key (the tree has none) */
	assert_false(ct_exists(&t, ORG2 "/users/Admin@org2.example.com/msp/keystore/priv_sk"));
	snprintf(cmd, sizeof(cmd), "cd '%s' && cp -r '" ORG2 "/users/Admin@org2.example.com/msp' "
		 "org2home/ && cp org2home/admin.key org2home/msp/keystore/priv_sk", t.dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(ct_run(&t, "sign " W "/chaincodes/cc_install.cons.org2.json "
				"--msp org2home/msp"), 0);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "waiting for signatures: Org2MSP's admin signs "
			       "offline, round 1 of 2 (the approval proposal)"));
	o = outputs("cc_approve.cons.ccch.org1");
	assert_true(json_is_true(json_object_get(o, "done")));
	json_decref(o);
	/* org1's admin cannot sign for org2 */
	assert_int_equal(ct_run(&t, "sign " W "/chaincodes/cc_approve.cons.ccch.org2.json "
				"--msp " ORG1 "/users/Admin@org1.example.com/msp"), 1);
	assert_non_null(strstr(t.err, "is not the admin the file was made for"));
	sign_as_org2(1);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "round 2 of 2 (the endorsed approval transaction)"));
	sign_as_org2(2);
	apply_ok();
	assert_false(ct_exists(&t, W "/chaincodes/cc_approve.cons.ccch.org2.json"));
	p = peer_cli(bin, "org1", "querycommitted -C ccch -n cons -O json");
	assert_non_null(strstr(p, "\"name\": \"shared\""));
	assert_non_null(strstr(p, "\"Org2MSP\": true"));
	free(p);
	/* org2's install was made with its admin's signature */
	o = outputs("cc_install.cons.org2.peer0");
	assert_true(json_is_true(json_object_get(o, "done")));
	json_decref(o);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
}

static void test_cc_lifecycle(void **state)
{
	const char *bin = ct_fabric_bin();
	json_t *o;
	char *p;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the chaincode lifecycle on real nodes\n");
		skip();
	}
	ct_init(&t, "ccr");
	setenv("FABRIC_BIN", bin, 1);
	write_spec("1.0", 1);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "cc_commit.basic.ccch"));
	apply_ok();
	o = outputs("cc_commit.basic.ccch");
	assert_true(json_is_true(json_object_get(o, "done")));
	json_decref(o);
	o = outputs("cc_install.basic.org2.peer0");
	assert_true(json_is_true(json_object_get(o, "done")));
	assert_non_null(strstr(json_string_value(json_object_get(o, "package_id")), "basic_1.0:"));
	json_decref(o);
	p = peer_cli(bin, "org2", "querycommitted -C ccch -n basic");
	assert_non_null(strstr(p, "Version: 1.0, Sequence: 1"));
	assert_non_null(strstr(p, "Org1MSP: true, Org2MSP: true"));
	free(p);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	if (have_node_modules()) {
		start_cc(1);
		p = gateway("submit", "put k1 hello");
		assert_string_equal(p, "{\"result\":\"hello\"}\n");
		free(p);
		p = gateway("evaluate", "get k1");
		assert_string_equal(p, "{\"result\":\"hello\"}\n");
		free(p);
		stop_cc();
	} else {
		print_message("tests/node/node_modules missing: no transaction through "
			      "the gateway (run .ci/bootstrap.sh --with-tests)\n");
	}

	/* upgrade */
	write_spec("2.0", 2);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "commits sequence 2 once approved by: org1, org2"));
	apply_ok();
	p = peer_cli(bin, "org1", "querycommitted -C ccch -n basic");
	assert_non_null(strstr(p, "Version: 2.0, Sequence: 2"));
	free(p);
	p = peer_cli(bin, "org1", "queryinstalled");
	assert_non_null(strstr(p, "Label: basic_2.0"));
	assert_non_null(strstr(p, "Label: basic_1.0"));
	free(p);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	if (have_node_modules()) {
		start_cc(2);
		p = gateway("evaluate", "get k1");   /* the state stays, v2 answers */
		assert_string_equal(p, "{\"result\":\"v2:hello\"}\n");
		free(p);
		stop_cc();
	}

	/* Fabric's rules, at plan */
	write_spec("2.0", 1);
	assert_int_not_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.err, "sequence 1 is lower than the 2 already on channel 'ccch'"));
	write_spec("3.0", 2);
	assert_int_not_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.err, "an upgrade needs sequence: 3"));
	write_spec(NULL, 0);
	assert_int_not_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.err, "Fabric has no undeploy"));
	assert_int_not_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	o = outputs("cc_commit.basic.ccch");     /* still recorded */
	assert_int_equal(json_integer_value(json_object_get(o, "sequence")), 2);
	json_decref(o);

	write_spec("2.0", 2);
	consortium(bin);
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	for (size_t i = 0; i < NHOSTS; i++)
		assert_false(ct_node_pid(&t, W "/hosts", all_hosts[i]) > 0 &&
			     ct_pid_alive(ct_node_pid(&t, W "/hosts", all_hosts[i])));
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_package_cli),
		cmocka_unit_test_teardown(test_cc_lifecycle, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
