/*
 * A node's TLS certificate names the machine address its provider
 * reported, with the real binary and the sim driver (no Fabric needed):
 * issued in the same apply that makes the host, a second plan empty, a
 * replaced host re-issuing the certificate for the new address (the key
 * kept) and re-delivering it, a drifted address shown at refresh planning
 * the same, a host made again at the same address re-issuing nothing;
 * nodes on the local machine take nothing from their hosts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define PEER_TLS ".ledgerform/net/crypto/peerOrganizations/bank.example.com/peers/" \
		 "peer0.bank.example.com/tls/"

static void write_net(struct clitest *t)
{
	char spec[1024];

	snprintf(spec, sizeof(spec),
		 "name: net\n"
		 "sizes:\n  box: {vcpus: 2, memory: 2GiB, disk: 20GiB}\n"
		 "providers:\n  cloud:\n    driver: sim\n"
		 "    config: {db: %s/sim-db.json, files_dir: %s/disks}\n"
		 "defaults: {size: box, provider: cloud}\n"
		 "orgs:\n  - name: ordering\n    orderers: {count: 1}\n"
		 "  - name: bank\n    peers: {count: 1}\n"
		 "channels:\n  - name: trade\n    orgs: [bank]\n", t->dir, t->dir);
	ct_write(t, "net.yaml", spec);
}

/* the subjectAltName extension of the certificate at rel, as openssl
 * prints it (caller frees) */
static char *sans_of(struct clitest *t, const char *rel)
{
	assert_int_equal(ct_sh(t, "openssl x509 -noout -ext subjectAltName -in '%s'", rel), 0);
	return ct_read(t, "sh.out");
}

/* peer0's machine address as the state records it (caller frees) */
static char *peer_address(struct clitest *t)
{
	json_t *doc = ct_state_doc(t, "net.state.json");
	const char *ma = ct_output_of(doc, "host.bank.peer0", "machine_address");
	char *v;

	assert_non_null(ma);
	assert_true(strncmp(ma, "10.", 3) == 0);
	v = strdup(ma);
	json_decref(doc);
	return v;
}

/* the certificate names "IP Address:ADDR" and the one delivered to the
 * machine (the sim's disk) is the same file */
static void assert_cert_names(struct clitest *t, const char *addr)
{
	char want[64], disk[256], *sans, *a, *b;
	json_t *doc = ct_state_doc(t, "net.state.json");

	snprintf(want, sizeof(want), "IP Address:%s", addr);
	sans = sans_of(t, PEER_TLS "server.crt");
	assert_non_null(strstr(sans, want));
	assert_non_null(strstr(sans, "DNS:peer0.bank.example.com"));
	snprintf(disk, sizeof(disk), "disks/peer0-bank-%.8s/fabric/tls/server.crt",
		 json_string_value(json_object_get(doc, "lineage")));
	a = ct_read(t, PEER_TLS "server.crt");
	b = ct_read(t, disk);
	assert_non_null(b);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(sans);
	json_decref(doc);
}

static void test_e2e_sim_host_address_in_tls_sans(void **state)
{
	struct clitest t;
	char *addr, *addr2, *key, *key2, *crt, *crt2, *db, *at;

	(void)state;
	ct_init(&t, "sim-sans");
	write_net(&t);
	/* the address is known only once the host is made */
	assert_int_equal(ct_run(&t, "plan -f net.yaml"), 0);
	assert_non_null(strstr(t.out, "host_sans: (known after apply)"));
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	addr = peer_address(&t);
	assert_cert_names(&t, addr);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --refresh --detailed-exitcode"), 0);
	assert_non_null(strstr(t.out, "No changes"));

	/* a replaced host comes back at another address: the identity is
	 * updated (its key kept) and the node re-delivered */
	key = ct_read(&t, PEER_TLS "server.key");
	assert_int_equal(ct_run(&t, "plan -f net.yaml -replace host.bank.peer0"), 0);
	assert_non_null(strstr(t.out, "crypto.bank.peer0"));
	assert_non_null(strstr(t.out, "-> (known after apply)"));
	assert_null(strstr(t.out, "crypto.ordering.orderer0"));
	assert_int_equal(ct_run(&t, "apply -f net.yaml -replace host.bank.peer0 --auto-approve"), 0);
	assert_non_null(strstr(t.out, "crypto.bank.peer0: update complete"));
	assert_non_null(strstr(t.out, "node.bank.peer0: update complete"));
	addr2 = peer_address(&t);
	assert_string_not_equal(addr, addr2);
	assert_cert_names(&t, addr2);
	key2 = ct_read(&t, PEER_TLS "server.key");
	assert_string_equal(key, key2);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --refresh --detailed-exitcode"), 0);

	/* the cloud moves the machine to 10.200.0.7 behind ledgerform's back:
	 * the refresh shows it, and the plan re-issues for the new address */
	db = ct_read(&t, "sim-db.json");
	at = strstr(db, addr2);
	assert_non_null(at);
	assert_null(strstr(at + 1, addr2)); /* the one record of that address */
	ct_sh(&t, "sed -i 's/\"%s\"/\"10.200.0.7\"/' sim-db.json", addr2);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --refresh"), 0);
	assert_non_null(strstr(t.out, "machine_address is 10.200.0.7 live"));
	assert_non_null(strstr(t.out, "+ \"10.200.0.7\""));
	assert_null(strstr(t.out, "known after apply"));
	assert_int_equal(ct_run(&t, "apply -f net.yaml --refresh --auto-approve"), 0);
	free(addr2);
	addr2 = peer_address(&t);
	assert_string_equal(addr2, "10.200.0.7");
	assert_cert_names(&t, "10.200.0.7");
	assert_int_equal(ct_run(&t, "plan -f net.yaml --refresh --detailed-exitcode"), 0);

	/* a host made again at the same address (forgotten, then adopted by
	 * the cloud): the identity's update re-issues nothing */
	crt = ct_read(&t, PEER_TLS "server.crt");
	assert_int_equal(ct_run(&t, "state rm host.bank.peer0 -f net.yaml"), 0);
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	crt2 = ct_read(&t, PEER_TLS "server.crt");
	assert_string_equal(crt, crt2);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --refresh --detailed-exitcode"), 0);

	assert_int_equal(ct_run(&t, "destroy -f net.yaml --auto-approve"), 0);
	free(addr);
	free(addr2);
	free(key);
	free(key2);
	free(crt);
	free(crt2);
	free(db);
	ct_done(&t);
}

/* nodes on the local machine: identities depend on no host, and destroying
 * the hosts while keeping the crypto plans no identity change */
static void test_e2e_local_hosts_take_nothing(void **state)
{
	struct clitest t;
	json_t *doc, *id;

	(void)state;
	ct_init(&t, "local-sans");
	ct_write(&t, "spec.yaml",
		 "name: loc\norgs:\n  - name: ordering\n    orderers: {count: 1}\n"
		 "  - name: org1\n    peers: {count: 1}\n");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	doc = ct_state_doc(&t, "spec.state.json");
	assert_non_null(doc);
	id = json_object_get(json_object_get(doc, "resources"), "crypto.org1.peer0");
	assert_non_null(id);
	assert_null(json_object_get(json_object_get(id, "attrs"), "outputs_from"));
	assert_null(json_object_get(json_object_get(id, "attrs"), "host_sans"));
	assert_int_equal(json_array_size(json_object_get(id, "deps")), 2);
	json_decref(doc);
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve --keep-crypto"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "host.org1.peer0"));
	assert_null(strstr(t.out, "crypto."));
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_sim_host_address_in_tls_sans),
		cmocka_unit_test(test_e2e_local_hosts_take_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
