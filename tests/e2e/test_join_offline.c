/*
 * Peers of an `admin: offline` org join a channel through a signed file
 * (ports 38000-38499): org2 (two peers) keeps its admin key elsewhere,
 * org1 signs here.
 *  - plan: the offline org's peer joins carry the note; no Fabric needed;
 *  - with the real Fabric 2.5.5 binaries (FABRIC_BIN): apply joins org1's
 *    peer and stops with exit 3 ("waiting for signatures", naming org2,
 *    the step and the `ledgerform sign` command) having written
 *    WORKDIR/joins/join.jch.org2.json; org2's admin made its key and
 *    request (admin_csr) in a directory that plays its machine, the tree
 *    has only the certificate issued over it (no key, no TLS client
 *    pair); the admin's msp folder there is that certificate with their
 *    key; `sign`
 *    with another admin is refused, with org2's admin it says what is
 *    signed; the next apply dies at a crash point right after the signed
 *    proposal reached peer0; the one after that finds peer0 in the channel
 *    (recorded "already", nothing sent again) and sends the same signed
 *    bytes to peer1; the file is gone; the real `peer channel list` as
 *    org2's admin from its own folder lists the channel on both peers;
 *    a second plan is empty;
 *  - a peer added to org2 later gets a new file (naming the three peers),
 *    signed by the same admin, and joins; destroy leaves no process.
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

#define W ".ledgerform/jof"
#define ORG2 W "/crypto/peerOrganizations/org2.example.com"
#define ADMIN2 ORG2 "/users/Admin@org2.example.com"
#define JOIN_FILE W "/joins/join.jch.org2.json"

static struct clitest t;
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1",
					 "peer0-org2", "peer1-org2", "peer2-org2" };
#define NHOSTS (sizeof(all_hosts) / sizeof(all_hosts[0]))

#define PEER1 "        - {name: peer1, address: 127.0.0.1, ports: {listen: 38261, " \
	"chaincode: 38262, operations: 38263}}\n"
#define PEER2 "        - {name: peer2, address: 127.0.0.1, ports: {listen: 38271, " \
	"chaincode: 38272, operations: 38273}}\n"

static const char SPEC[] =
	"name: jof\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers:\n"
	"      hosts:\n"
	"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 38050, admin: 38053, operations: 38043}}\n"
	"  - name: org1\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 38151, chaincode: 38152, operations: 38153}}\n"
	"  - name: org2\n"
	"    admin: offline\n"
	"    admin_csr: org2home/admin.csr\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 38251, chaincode: 38252, operations: 38253}}\n"
	PEER1
	"channels:\n"
	"  - {name: jch, orgs: [org1, org2]}\n";

#define WAITS "join.jch.org2.peer0: waiting for signatures: Org2MSP's admin signs " \
	"offline, the join of org 'org2''s peers to channel 'jch' (one round, for " \
	"every peer of the org): run `ledgerform sign ./" W "/joins/join.jch.org2.json " \
	"--msp <Org2MSP admin msp folder>`"

/* org2's admin makes its key and certificate request on its own machine
 * (org2home) */
static void org2_admin_key(void)
{
	assert_int_equal(ct_offline_admin_key(&t, "org2home", "org2.example.com"), 0);
}

/* text with its one FROM replaced by TO (malloc'd) */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out = NULL;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to,
			     at + strlen(from)) > 0);
	return out;
}

static int stop_nodes(void **state)
{
	(void)state;
	unsetenv("LEDGERFORM_CRASH_AT");
	ct_kill_nodes(&t, W "/hosts", all_hosts, NHOSTS);
	return 0;
}

/* the plan says that the offline org's joins go through a file */
static void test_join_offline_plan(void **state)
{
	json_t *plan, *a;

	(void)state;
	ct_init(&t, "jofplan");
	ct_write(&t, "spec.yaml", SPEC);
	org2_admin_key();
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --json"), 0);
	plan = json_loads(t.out, 0, NULL);
	assert_non_null(plan);
	a = ct_plan_action(plan, "join.jch.org2.peer1");
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "note")),
			    "org org2's admin signs offline: apply writes the join proposal "
			    "for `ledgerform sign` (one round, one file for the org's peers)");
	a = ct_plan_action(plan, "join.jch.org1.peer0");
	assert_non_null(a);
	assert_null(json_object_get(a, "note"));
	json_decref(plan);
	ct_done(&t);
}

static void check_join(const char *addr, bool offline, bool already)
{
	json_t *o = ct_outputs(&t, addr);

	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "joined")));
	assert_int_equal(json_is_true(json_object_get(o, "offline")), offline);
	assert_int_equal(json_is_true(json_object_get(o, "already")), already);
	assert_true(json_integer_value(json_object_get(o, "height")) >= 1);
	json_decref(o);
}

/* `peer channel list` on org2's PEER as org2's admin from its own folder
 * (no client certificate: the peers do not ask for one) */
static void listed_by_admin(const char *bin, const char *peer, unsigned int port)
{
	char *out;

	assert_int_equal(ct_sh(&t, "export FABRIC_CFG_PATH='%s/../config' "
			       "CORE_PEER_LOCALMSPID=Org2MSP CORE_PEER_MSPCONFIGPATH=\"$PWD/org2home/msp\" "
			       "CORE_PEER_TLS_ENABLED=true CORE_PEER_ADDRESS=127.0.0.1:%u "
			       "CORE_PEER_TLS_ROOTCERT_FILE=\"$PWD/" ORG2 "/tlsca/tlsca.org2.example.com-cert.pem\" "
			       "CORE_PEER_TLS_SERVERHOSTOVERRIDE=%s.org2.example.com && "
			       "'%s/peer' channel list > list.txt 2>&1; true", bin, port, peer, bin), 0);
	out = ct_read(&t, "list.txt");
	assert_non_null(out);
	if (!strstr(out, "Channels peers has joined: \njch"))
		fail_msg("peer channel list on %s:\n%s", peer, out);
	free(out);
}

static void test_join_offline_apply(void **state)
{
	json_t *f;
	char *text, *spec2;
	size_t alive;
	const char *bin = ct_fabric_bin();

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the offline org's peer "
			      "joins on real nodes\n");
		skip();
	}
	ct_init(&t, "jof");
	setenv("FABRIC_BIN", bin, 1);
	ct_write(&t, "spec.yaml", SPEC);
	org2_admin_key();

	/* round 1: the file, exit 3 */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "Apply waiting for signatures: 30 done; 1 action "
			       "waiting for signatures:"));
	if (!strstr(t.out, WAITS))
		fail_msg("apply does not say '%s':\n%s\n%s", WAITS, t.out, t.err);
	assert_non_null(strstr(t.out, "join.jch.org2.peer1: not started: waiting for "
			       "signatures on join.jch.org2.peer0"));
	check_join("join.jch.org1.peer0", false, false);
	text = ct_read(&t, JOIN_FILE);
	assert_non_null(text);
	f = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(f);
	assert_string_equal(json_string_value(json_object_get(f, "ledgerform")), "peer-join");
	assert_string_equal(json_string_value(json_object_get(f, "channel")), "jch");
	assert_int_equal(json_array_size(json_object_get(f, "peers")), 2);
	assert_null(json_object_get(f, "signature"));
	json_decref(f);
	/* a second apply before signing: the same file, still waiting */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, WAITS));

	/* the tree has the certificate ledgerform issued over the admin's
	 * request and no key, no TLS client pair; the admin's own msp folder
	 * is that certificate with their key */
	assert_true(ct_exists(&t, ADMIN2 "/msp/signcerts/Admin@org2.example.com-cert.pem"));
	assert_false(ct_exists(&t, ADMIN2 "/msp/keystore/priv_sk"));
	assert_false(ct_exists(&t, ADMIN2 "/tls/client.key"));
	assert_int_equal(ct_sh(&t, "cp -r '" ADMIN2 "/msp' org2home/ && "
			       "cp org2home/admin.key org2home/msp/keystore/priv_sk && "
			       "cp -r '" W "/crypto/peerOrganizations/org1.example.com/users/"
			       "Admin@org1.example.com/msp' org1msp"), 0);
	assert_int_not_equal(ct_run(&t, "sign " JOIN_FILE " --msp org1msp"), 0);
	assert_non_null(strstr(t.err, "is not the admin the file was made for"));
	assert_int_equal(ct_run(&t, "sign " JOIN_FILE " --msp org2home/msp"), 0);
	assert_non_null(strstr(t.out, "You are signing the join of peer "
			       "peer0.org2.example.com, peer1.org2.example.com (org org2, "
			       "Org2MSP) to channel jch"));

	/* cut off right after peer0 got the signed proposal */
	setenv("LEDGERFORM_CRASH_AT", "join.offline.after_send:1", 1);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 137);
	unsetenv("LEDGERFORM_CRASH_AT");
	assert_true(ct_exists(&t, JOIN_FILE));
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	check_join("join.jch.org2.peer0", true, true);
	check_join("join.jch.org2.peer1", true, false);
	assert_false(ct_exists(&t, JOIN_FILE));
	listed_by_admin(bin, "peer0", 38251);
	listed_by_admin(bin, "peer1", 38261);

	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);

	/* peer2 comes later: a new round for it alone */
	spec2 = replaced(SPEC, PEER1, PEER1 PEER2);
	ct_write(&t, "spec.yaml", spec2);
	free(spec2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "join.jch.org2.peer2: waiting for signatures"));
	assert_int_equal(ct_run(&t, "sign " JOIN_FILE " --msp org2home/msp"), 0);
	assert_non_null(strstr(t.out, "peer1.org2.example.com, peer2.org2.example.com (org org2"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	check_join("join.jch.org2.peer2", true, false);
	assert_false(ct_exists(&t, JOIN_FILE));
	listed_by_admin(bin, "peer2", 38271);
	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", all_hosts, NHOSTS, &alive), 0);
	assert_int_equal(alive, 0);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_offline_plan),
		cmocka_unit_test_teardown(test_join_offline_apply, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
