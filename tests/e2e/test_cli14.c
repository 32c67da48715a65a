/*
 * Issue #14's remaining gaps, end to end with the local driver and file
 * state: refresh sees a deleted leaf private key and a CA certificate
 * changed on disk, with a clear plan line; a CA certificate for another
 * key is refused at plan, and no CA key is ever made again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define ORG ".ledgerform/demo/crypto/peerOrganizations/bank.example.com"
#define PEER0 ORG "/peers/peer0.bank.example.com"
#define CA_CERT ORG "/ca/ca.bank.example.com-cert.pem"
#define CA_KEY ORG "/ca/priv_sk"

static void write_spec(struct clitest *t)
{
	ct_write(t, "spec.yaml",
		 "name: demo\n"
		 "fabric: {version: \"2.5\", consensus: etcdraft}\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    domain: example.com\n"
		 "    orderers: {count: 1}\n"
		 "  - name: bank\n"
		 "    domain: bank.example.com\n"
		 "    peers: {count: 1}\n");
}

/* a deleted leaf private key is drift: the plan says which file is
 * missing, the apply makes the identity again (key 0600), then nothing */
static void test_cli14_leaf_key_deleted(void **state)
{
	struct clitest t;
	char *ca0, *ca1;

	(void)state;
	ct_init(&t, "cli14key");
	write_spec(&t);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	ca0 = ct_read(&t, CA_KEY);
	assert_non_null(ca0);
	assert_int_equal(ct_sh(&t, "rm %s/" PEER0 "/msp/keystore/priv_sk", t.dir), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --no-color --detailed-exitcode"), 2);
	assert_non_null(strstr(t.out, "crypto.bank.peer0: gone from its provider: "
			       "msp/keystore/priv_sk is missing under"));
	/* no refresh: the deleted key goes unseen */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --refresh=false --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_true(ct_exists(&t, PEER0 "/msp/keystore/priv_sk"));
	assert_int_equal(ct_mode(&t, PEER0 "/msp/keystore/priv_sk"), 0600);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	ca1 = ct_read(&t, CA_KEY);
	assert_string_equal(ca0, ca1);
	free(ca0);
	free(ca1);
	ct_done(&t);
}

/* a CA certificate changed on disk is drift. One for the org's own key
 * (re-issued with openssl) is adopted by the apply; one for another key
 * is refused at plan, and the CA key is never made again */
static void test_cli14_ca_cert_changed(void **state)
{
	struct clitest t;
	char *key0, *key1, *st;

	(void)state;
	ct_init(&t, "cli14ca");
	if (ct_sh(&t, "command -v openssl >/dev/null") != 0) {
		ct_done(&t);
		skip();
	}
	write_spec(&t);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	key0 = ct_read(&t, CA_KEY);
	/* another key's certificate: refused at plan and at apply */
	assert_int_equal(ct_sh(&t, "cp %s/" ORG "/tlsca/tlsca.bank.example.com-cert.pem %s/" CA_CERT,
			       t.dir, t.dir), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --no-color"), 1);
	assert_non_null(strstr(t.out, "crypto.bank.ca: drift: the CA certificate '"));
	assert_non_null(strstr(t.out, "changed on disk (sha256 "));
	assert_non_null(strstr(t.err, "is not for the org's CA key"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 1);
	assert_non_null(strstr(t.err, "is not for the org's CA key"));
	/* the same key's certificate, re-issued: adopted */
	assert_int_equal(ct_sh(&t, "cd %s/" ORG "/ca && openssl req -x509 -new -key priv_sk "
			       "-subj /CN=ca.bank.example.com -days 30 "
			       "-out ca.bank.example.com-cert.pem 2>/dev/null", t.dir), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --no-color --detailed-exitcode"), 2);
	assert_non_null(strstr(t.out, "crypto.bank.ca: drift: the CA certificate '"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	key1 = ct_read(&t, CA_KEY);
	assert_string_equal(key0, key1);
	st = ct_read(&t, "spec.state.json");
	assert_null(strstr(st, "PRIVATE KEY"));
	free(st);
	free(key0);
	free(key1);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli14_leaf_key_deleted),
		cmocka_unit_test(test_cli14_ca_cert_changed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
