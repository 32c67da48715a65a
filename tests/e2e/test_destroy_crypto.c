/*
 * destroy and the org CAs: before the prompt destroy warns that the CA
 * private keys are deleted, naming the orgs; --keep-crypto keeps the crypto
 * tree and its state records, and the next apply reuses the same CAs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "clitest.h"

static const char SPEC[] =
	"name: keep\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 1}\n"
	"  - name: org1\n"
	"    peers: {count: 1}\n"
	"channels:\n"
	"  - name: c\n"
	"    orgs: [org1]\n";

#define CA_KEY ".ledgerform/keep/crypto/peerOrganizations/org1.example.com/ca/priv_sk"
#define CA_CERT ".ledgerform/keep/crypto/peerOrganizations/org1.example.com/ca/ca.org1.example.com-cert.pem"

static void test_destroy_warns(void **state)
{
	struct clitest t;
	const char *w;

	(void)state;
	ct_init(&t, "destroy-warn");
	ct_write(&t, "spec.yaml", SPEC);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_true(ct_exists(&t, CA_KEY));
	/* no terminal: refused, but the warning comes first */
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml"), 1);
	w = strstr(t.err, "Warning: destroy deletes the CA private keys of orgs ordering, org1");
	assert_non_null(w);
	assert_non_null(strstr(w, "cannot be recovered"));
	assert_non_null(strstr(w, "--keep-crypto"));
	assert_true(w < strstr(t.err, "needs confirmation"));
	assert_true(ct_exists(&t, CA_KEY));
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	assert_non_null(strstr(t.err, "Warning: destroy deletes the CA private keys"));
	assert_false(ct_exists(&t, CA_KEY));
	ct_done(&t);
}

static void test_destroy_keep_crypto(void **state)
{
	struct clitest t;
	char *key, *cert, *key2, *cert2;

	(void)state;
	ct_init(&t, "destroy-keep");
	ct_write(&t, "spec.yaml", SPEC);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	key = ct_read(&t, CA_KEY);
	cert = ct_read(&t, CA_CERT);
	assert_non_null(key);
	assert_non_null(cert);
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve --keep-crypto"), 0);
	assert_null(strstr(t.err, "Warning: destroy deletes"));
	assert_non_null(strstr(t.err, "--keep-crypto: the crypto tree stays at"));
	assert_null(strstr(t.out, "crypto.org1.ca: destr"));
	/* hosts and nodes are gone; the crypto records and files stay */
	assert_int_equal(ct_run(&t, "state list -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "crypto.org1.ca"));
	assert_null(strstr(t.out, "host."));
	assert_null(strstr(t.out, "node."));
	assert_int_equal(ct_mode(&t, CA_KEY) & 0777, 0600);
	/* the next apply makes no identity: same CA key and certificate */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_null(strstr(t.out, "crypto."));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	key2 = ct_read(&t, CA_KEY);
	cert2 = ct_read(&t, CA_CERT);
	assert_non_null(key2);
	assert_string_equal(key, key2);
	assert_string_equal(cert, cert2);
	free(key);
	free(cert);
	free(key2);
	free(cert2);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destroy_warns),
		cmocka_unit_test(test_destroy_keep_crypto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
