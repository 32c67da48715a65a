/*
 * A consortium chaincode from its first deployment (ports 36000-36499):
 * org2 is `admin: offline` (two peers), org1 signs here.
 *  - plan of the first deployment: the commit's note names every org that
 *    must approve and the offline ones (text and `plan --json`'s "note"),
 *    the offline org's install and approval notes; no Fabric needed;
 *  - with the real Fabric 2.5.5 binaries (FABRIC_BIN): apply first waits
 *    (exit 3) for org2's admin to sign the join of its peers to the
 *    channel (test_join_offline.c has the details); the admin's own msp
 *    folder (their key, made by the test with openssl, and the
 *    certificate ledgerform issued over their request, admin_csr) signs
 *    it; the next apply joins them, writes org2's install proposal to a
 *    file and waits; org1 installs and approves; the admin signs the file
 *    with `ledgerform sign`; the next apply sends the one signed proposal
 *    to both of org2's peers (peer1 already had the package, installed
 *    beforehand with the peer CLI: recorded "already"), removes the file,
 *    and org2's approval goes through its two rounds; the commit follows;
 *    the peer CLI sees the package on org2's peers and both approvals;
 *  - a second plan is empty; destroy leaves no process.
 * org2's peers join the channel with JoinChain signed by org2's admin:
 * that needs the join as a signed file (docs/chaincode.md, "What `admin:
 * offline` covers, and what not yet"); until then the lifecycle part
 * stops at the joins.
 */
#include <setjmp.h>
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

#define W ".ledgerform/cco"
#define ORG2 W "/crypto/peerOrganizations/org2.example.com"
#define INSTALL_FILE W "/chaincodes/cc_install.basic.org2.json"
#define APPROVE_FILE W "/chaincodes/cc_approve.basic.ccch.org2.json"
#define JOIN_FILE W "/joins/join.ccch.org2.json"

static struct clitest t;
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1",
					 "peer0-org2", "peer1-org2" };
#define NHOSTS (sizeof(all_hosts) / sizeof(all_hosts[0]))

static const char SPEC[] =
	"name: cco\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers:\n"
	"      hosts:\n"
	"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 36050, admin: 36053, operations: 36043}}\n"
	"  - name: org1\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 36151, chaincode: 36152, operations: 36153}}\n"
	"  - name: org2\n"
	"    admin: offline\n"
	"    admin_csr: org2home/admin.csr\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 36251, chaincode: 36252, operations: 36253}}\n"
	"        - {name: peer1, address: 127.0.0.1, ports: {listen: 36261, chaincode: 36262, operations: 36263}}\n"
	"channels:\n"
	"  - {name: ccch, orgs: [org1, org2]}\n"
	"chaincodes:\n"
	"  - {name: basic, version: \"1.0\", sequence: 1, type: ccaas, channels: [ccch],\n"
	"     address: \"127.0.0.1:36300\",\n"
	"     endorsement_policy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"}\n";

#define COMMIT_NOTE "commits sequence 1 once approved by: org1, org2; offline " \
	"(apply stops and waits for their `ledgerform sign` files): org2"

static int stop_nodes(void **state)
{
	(void)state;
	ct_kill_nodes(&t, W "/hosts", all_hosts, NHOSTS);
	return 0;
}

/* org2's admin, on their own machine: a key and a certificate request
 * (ledgerform issues the certificate; the key never enters the tree) */
static void org2_admin_key(void)
{
	assert_int_equal(ct_offline_admin_key(&t, "org2home", "org2.example.com"), 0);
}

/* `peer lifecycle chaincode ARGS` on org's peer as its admin (org1: the
 * tree's msp folder; org2: the admin's own, org2home/msp, which
 * `output peer-env` leaves to the admin) */
static char *peer_cli(const char *bin, const char *org, const char *peer,
		      const char *args)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && '%s/ledgerform' output peer-env -f spec.yaml --org %s "
		 "--peer %s > env.sh && . ./env.sh && %sFABRIC_CFG_PATH='%s/../config' "
		 "'%s/peer' lifecycle chaincode %s > cli.txt 2>&1; true", t.dir,
		 LF_BINARY_DIR, org, peer, strcmp(org, "org2") == 0
		 ? "CORE_PEER_MSPCONFIGPATH=\"$PWD/org2home/msp\" " : "", bin, bin, args);
	assert_int_equal(system(cmd), 0);
	return ct_read(&t, "cli.txt");
}

static const char *note_of(json_t *plan, const char *addr)
{
	json_t *a = ct_plan_action(plan, addr);

	assert_non_null(a);
	return json_string_value(json_object_get(a, "note"));
}

/* the first plan says who approves and who signs offline */
static void test_cc_offline_first_plan(void **state)
{
	json_t *plan;

	(void)state;
	ct_init(&t, "ccoplan");
	ct_write(&t, "spec.yaml", SPEC);
	org2_admin_key();
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, COMMIT_NOTE));
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --json"), 0);
	plan = json_loads(t.out, 0, NULL);
	assert_non_null(plan);
	assert_string_equal(note_of(plan, "cc_commit.basic.ccch"), COMMIT_NOTE);
	assert_non_null(strstr(note_of(plan, "cc_approve.basic.ccch.org2"),
			       "Org2MSP's admin signs offline"));
	assert_non_null(strstr(note_of(plan, "cc_install.basic.org2.peer1"),
			       "writes the install proposal"));
	assert_null(note_of(plan, "cc_install.basic.org1.peer0"));
	json_decref(plan);
	ct_done(&t);
}

static void sign_as_org2(const char *file, const char *says)
{
	assert_int_equal(ct_run(&t, "sign %s --msp org2home/msp", file), 0);
	assert_non_null(strstr(t.out, says));
}

/* apply waits for signatures: exit 3, what to sign in the summary */
static void apply_waits(const char *says)
{
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	if (!strstr(t.out, says))
		fail_msg("apply does not say '%s':\n%s\n%s", says, t.out, t.err);
}

static void check_install(const char *addr, bool already)
{
	json_t *o = ct_outputs(&t, addr);

	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "done")));
	assert_int_equal(json_is_true(json_object_get(o, "already")), already);
	assert_non_null(strstr(json_string_value(json_object_get(o, "package_id")),
			       "basic_1.0:"));
	json_decref(o);
}

/* org2's install: one proposal, signed once, sent to both peers */
static void offline_install(const char *bin)
{
	char *p;

	apply_waits("waiting for signatures: Org2MSP's admin signs offline, the "
		    "install proposal of basic_1.0:");
	assert_true(ct_exists(&t, INSTALL_FILE));
	assert_false(ct_exists(&t, APPROVE_FILE));   /* after the install */
	check_install("cc_install.basic.org1.peer0", false);
	/* the admin's own msp folder: the issued certificate, their key */
	assert_int_equal(ct_sh(&t, "cp -r '" ORG2 "/users/Admin@org2.example.com/msp' "
			       "org2home/ && cp org2home/admin.key org2home/msp/keystore/priv_sk"),
			 0);
	/* peer1 gets the package beforehand, from the org's own admin */
	p = peer_cli(bin, "org2", "peer1", "install " W "/chaincodes/basic_1.0.tar.gz");
	free(p);
	sign_as_org2(INSTALL_FILE, "You are signing the install proposal");
	apply_waits("round 1 of 2 (the approval proposal)");
	assert_false(ct_exists(&t, INSTALL_FILE));
	check_install("cc_install.basic.org2.peer0", false);
	check_install("cc_install.basic.org2.peer1", true);
	p = peer_cli(bin, "org2", "peer0", "queryinstalled");
	assert_non_null(strstr(p, "Label: basic_1.0"));
	free(p);
}

static void test_cc_offline_lifecycle(void **state)
{
	size_t alive;
	const char *bin = ct_fabric_bin();
	char *p;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the offline org's "
			      "chaincode lifecycle on real nodes\n");
		skip();
	}
	ct_init(&t, "cco");
	setenv("FABRIC_BIN", bin, 1);
	ct_write(&t, "spec.yaml", SPEC);
	org2_admin_key();
	/* org2's peers join the channel through its admin's signed file */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "the join of org 'org2''s peers to channel 'ccch'"));
	assert_int_equal(ct_sh(&t, "cp -r '" ORG2 "/users/Admin@org2.example.com/msp' "
			       "org2home/ && cp org2home/admin.key org2home/msp/keystore/priv_sk"), 0);
	sign_as_org2(JOIN_FILE, "You are signing the join of peer peer0.org2.example.com");
	offline_install(bin);
	assert_false(ct_exists(&t, JOIN_FILE));
	sign_as_org2(APPROVE_FILE, "round 1 of 2");
	apply_waits("round 2 of 2 (the endorsed approval transaction)");
	sign_as_org2(APPROVE_FILE, "round 2 of 2");
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_false(ct_exists(&t, APPROVE_FILE));
	p = peer_cli(bin, "org1", "peer0", "querycommitted -C ccch -n basic");
	assert_non_null(strstr(p, "Version: 1.0, Sequence: 1"));
	assert_non_null(strstr(p, "Org1MSP: true, Org2MSP: true"));
	free(p);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", all_hosts, NHOSTS, &alive), 0);
	assert_int_equal(alive, 0);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_offline_first_plan),
		cmocka_unit_test_teardown(test_cc_offline_lifecycle, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
