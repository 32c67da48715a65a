/*
 * `ledgerform output`: the connection profile and the peer CLI variables
 * come from what the state records (ports as planned, addresses as the
 * hosts report them) and the crypto tree (TLS CA certificates inline), and
 * a wrong org or peer is refused with a message naming it; an `admin:
 * offline` org's variables leave the msp folder to its admin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

static const char SPEC[] =
	"name: out\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 2}\n"
	"  - name: org1\n"
	"    peers: {count: 2}\n"
	"  - name: org2\n"
	"    peers: {count: 1}\n"
	"channels:\n"
	"  - name: both\n"
	"    orgs: [org1, org2]\n"
	"  - name: solo\n"
	"    orgs: [org2]\n";

#define CRYPTO ".ledgerform/out/crypto"

static json_t *at(json_t *o, const char *path)
{
	char buf[256], *save = NULL, *k;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, "/", &save); k && o; k = strtok_r(NULL, "/", &save))
		o = json_object_get(o, k);
	return o;
}

static void test_e2e_connection_profile(void **state)
{
	struct clitest t;
	json_t *p, *peer;
	char *pem;

	(void)state;
	ct_init(&t, "ccp");
	ct_write(&t, "spec.yaml", SPEC);
	/* nothing applied yet: no nodes to describe */
	assert_int_equal(ct_run(&t, "output connection-profile -f spec.yaml --org org1"), 1);
	assert_non_null(strstr(t.err, "org 'org1' has no nodes in the state"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);

	assert_int_equal(ct_run(&t, "output connection-profile -f spec.yaml --org org1"), 0);
	p = json_loads(t.out, 0, NULL);
	assert_non_null(p);
	assert_string_equal(json_string_value(at(p, "client/organization")), "org1");
	assert_string_equal(json_string_value(at(p, "organizations/org1/mspid")), "Org1MSP");
	assert_int_equal(json_array_size(at(p, "organizations/org1/peers")), 2);
	assert_int_equal(json_array_size(at(p, "organizations/org2/peers")), 1);
	/* first peer on the machine keeps Fabric's port; the next counts up */
	peer = at(p, "peers/peer0.org1.example.com");
	assert_string_equal(json_string_value(json_object_get(peer, "url")),
			    "grpcs://127.0.0.1:7051");
	assert_string_equal(json_string_value(at(peer, "grpcOptions/ssl-target-name-override")),
			    "peer0.org1.example.com");
	pem = ct_read(&t, CRYPTO "/peerOrganizations/org1.example.com/tlsca/tlsca.org1.example.com-cert.pem");
	assert_non_null(pem);
	assert_string_equal(json_string_value(at(peer, "tlsCACerts/pem")), pem);
	free(pem);
	assert_non_null(strstr(json_string_value(at(p, "orderers/orderer1.ordering.example.com/url")),
			       "grpcs://127.0.0.1:"));
	/* only the channels org1 is in, with their consenters and members */
	assert_non_null(at(p, "channels/both"));
	assert_null(at(p, "channels/solo"));
	assert_int_equal(json_array_size(at(p, "channels/both/orderers")), 2);
	assert_true(json_is_true(at(p, "channels/both/peers/peer0.org2.example.com/endorsingPeer")));
	/* no private key anywhere in it */
	assert_null(strstr(t.out, "PRIVATE KEY"));
	json_decref(p);

	assert_int_equal(ct_run(&t, "output connection-profile -f spec.yaml --org bank"), 1);
	assert_non_null(strstr(t.err, "org 'bank'"));
	assert_int_equal(ct_run(&t, "output -f spec.yaml --org org1"), 1);
	assert_non_null(strstr(t.err, "expected connection-profile or peer-env"));
	assert_int_equal(ct_run(&t, "output connection-profile -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "--org ORG is required"));
	ct_done(&t);
}

static void test_e2e_peer_env(void **state)
{
	struct clitest t;
	json_t *v;
	FILE *f;
	char path[512];

	(void)state;
	ct_init(&t, "penv");
	ct_write(&t, "spec.yaml", SPEC);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "output peer-env -f spec.yaml --org org1 --peer peer1 --json"), 0);
	v = json_loads(t.out, 0, NULL);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "CORE_PEER_LOCALMSPID")), "Org1MSP");
	assert_string_equal(json_string_value(json_object_get(v, "CORE_PEER_TLS_ENABLED")), "true");
	/* peer1 is the second peer on this machine: its planned port, as the
	 * state records it */
	{
		json_t *rec;
		char want[64];

		assert_int_equal(ct_run(&t, "state show node.org1.peer1 -f spec.yaml"), 0);
		rec = json_loads(t.out, 0, NULL);
		assert_non_null(rec);
		snprintf(want, sizeof(want), "127.0.0.1:%lld",
			 (long long)json_integer_value(at(rec, "attrs/port")));
		assert_true(json_integer_value(at(rec, "attrs/port")) != 7051);
		assert_string_equal(json_string_value(json_object_get(v, "CORE_PEER_ADDRESS")), want);
		json_decref(rec);
	}
	/* the files it names exist (absolute paths) */
	snprintf(path, sizeof(path), "%s/config.yaml",
		 json_string_value(json_object_get(v, "CORE_PEER_MSPCONFIGPATH")));
	assert_int_equal(path[0], '/');
	f = fopen(path, "r");
	assert_non_null(f);
	fclose(f);
	f = fopen(json_string_value(json_object_get(v, "CORE_PEER_TLS_ROOTCERT_FILE")), "r");
	assert_non_null(f);
	fclose(f);
	json_decref(v);
	/* shell form: export lines a shell can eval */
	assert_int_equal(ct_run(&t, "output peer-env -f spec.yaml --org org1 --peer peer0"), 0);
	assert_non_null(strstr(t.out, "export CORE_PEER_ADDRESS='127.0.0.1:7051'\n"));
	assert_int_equal(ct_run(&t, "output peer-env -f spec.yaml --org org1 --peer peer7"), 1);
	assert_non_null(strstr(t.err, "org 'org1' has no peer 'peer7'"));
	assert_int_equal(ct_run(&t, "output peer-env -f spec.yaml --org ordering --peer orderer0"), 1);
	ct_done(&t);
}

/* an `admin: offline` org: no admin key in the tree, so the variables
 * leave CORE_PEER_MSPCONFIGPATH to the admin and say so */
static void test_e2e_peer_env_offline_admin(void **state)
{
	struct clitest t;
	json_t *v;

	(void)state;
	ct_init(&t, "penvoff");
	assert_int_equal(ct_sh(&t, "openssl ecparam -genkey -name prime256v1 -noout -out "
			       "admin.key && openssl req -new -key admin.key -subj /CN=a "
			       "-out admin.csr"), 0);
	ct_write(&t, "spec.yaml",
		 "name: out\n"
		 "fabric: {version: \"2.5\", consensus: etcdraft}\n"
		 "orgs:\n"
		 "  - {name: ordering, orderers: {count: 1}}\n"
		 "  - {name: org2, peers: {count: 1}, admin: offline, admin_csr: admin.csr}\n");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_false(ct_exists(&t, CRYPTO "/peerOrganizations/org2.example.com/users/"
			       "Admin@org2.example.com/msp/keystore/priv_sk"));
	assert_int_equal(ct_run(&t, "output peer-env -f spec.yaml --org org2 --peer peer0"), 0);
	assert_null(strstr(t.out, "export CORE_PEER_MSPCONFIGPATH"));
	assert_non_null(strstr(t.out, "# CORE_PEER_MSPCONFIGPATH is not set: org 'org2' has "
			       "'admin: offline'"));
	assert_non_null(strstr(t.out, "export CORE_PEER_LOCALMSPID='Org2MSP'\n"));
	assert_int_equal(ct_run(&t, "output peer-env -f spec.yaml --org org2 --peer peer0 --json"),
			 0);
	v = json_loads(t.out, 0, NULL);
	assert_non_null(v);
	assert_null(json_object_get(v, "CORE_PEER_MSPCONFIGPATH"));
	assert_non_null(json_object_get(v, "CORE_PEER_ADDRESS"));
	assert_non_null(strstr(t.err, "note: CORE_PEER_MSPCONFIGPATH is not set"));
	json_decref(v);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_connection_profile),
		cmocka_unit_test(test_e2e_peer_env),
		cmocka_unit_test(test_e2e_peer_env_offline_admin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
