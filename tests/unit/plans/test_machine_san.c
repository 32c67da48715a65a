/*
 * A machine's address, known only once its provider made it, goes into the
 * SANs of the TLS certificate of the node on it, in the same apply: with
 * the real binary and the sim driver (which hands out a 10.x address),
 * the peer's and the orderer's TLS certificates on their simulated disks
 * carry their host's machine_address (parsed with OpenSSL), issued by the
 * org's TLS CA, whose own certificate stays as it was; a second plan is
 * empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../../e2e/clitest.h"

static json_t *state_doc(struct clitest *t)
{
	char *s = ct_read(t, "net.state.json");
	json_t *doc;

	assert_non_null(s);
	doc = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(doc);
	return doc;
}

static const char *output_of(json_t *doc, const char *addr, const char *key)
{
	json_t *r = json_object_get(json_object_get(doc, "resources"), addr);

	return json_string_value(json_object_get(json_object_get(r, "outputs"), key));
}

static X509 *cert_of(struct clitest *t, const char *rel)
{
	char *pem = ct_read(t, rel);
	BIO *b;
	X509 *x;

	assert_non_null(pem);
	b = BIO_new_mem_buf(pem, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(pem);
	assert_non_null(x);
	return x;
}

/* does x's SAN list hold the IP address ip? */
static int has_ip_san(X509 *x, const char *ip)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	unsigned char want[4];
	int i, found = 0;

	assert_int_equal(inet_pton(AF_INET, ip, want), 1);
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4 &&
		    memcmp(ASN1_STRING_get0_data(g->d.iPAddress), want, 4) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

/* node NODE of org ORG on the sim disk: its TLS cert carries its host's
 * machine address and is issued by the org's TLS CA */
static void check_node(struct clitest *t, json_t *doc, const char *org, const char *node,
		       const char *tlsca_rel)
{
	char addr[64], rel[256];
	const char *ma;
	X509 *leaf, *ca;

	snprintf(addr, sizeof(addr), "host.%s.%s", org, node);
	ma = output_of(doc, addr, "machine_address");
	assert_non_null(ma);
	assert_true(strncmp(ma, "10.", 3) == 0);
	snprintf(rel, sizeof(rel), "disks/%s-%s-%.8s/fabric/tls/server.crt", node, org,
		 json_string_value(json_object_get(doc, "lineage")));
	leaf = cert_of(t, rel);
	assert_true(has_ip_san(leaf, ma));
	ca = cert_of(t, tlsca_rel);
	assert_int_equal(X509_check_issued(ca, leaf), X509_V_OK);
	assert_false(has_ip_san(ca, ma));
	snprintf(addr, sizeof(addr), "crypto.%s.%s", org, node);
	assert_string_equal(output_of(doc, addr, "machine_address"), ma);
	X509_free(leaf);
	X509_free(ca);
}

static void test_machine_address_in_tls_sans(void **state)
{
	struct clitest t;
	char spec[1024];
	json_t *doc;

	(void)state;
	ct_init(&t, "machine-san");
	snprintf(spec, sizeof(spec),
		 "name: net\n"
		 "sizes:\n  box: {vcpus: 2, memory: 2GiB, disk: 20GiB, drivers: {sim: {zone: z1}}}\n"
		 "providers:\n  cloud:\n    driver: sim\n"
		 "    config: {db: %s/sim-db.json, files_dir: %s/disks}\n"
		 "defaults: {size: box, provider: cloud}\n"
		 "orgs:\n  - name: ordering\n    orderers: {count: 1}\n"
		 "  - name: bank\n    peers: {count: 1}\n"
		 "channels:\n  - name: trade\n    orgs: [bank]\n",
		 t.dir, t.dir);
	ct_write(&t, "net.yaml", spec);
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	doc = state_doc(&t);
	check_node(&t, doc, "bank", "peer0",
		   ".ledgerform/net/crypto/peerOrganizations/bank.example.com/tlsca/"
		   "tlsca.bank.example.com-cert.pem");
	check_node(&t, doc, "ordering", "orderer0",
		   ".ledgerform/net/crypto/ordererOrganizations/ordering.example.com/tlsca/"
		   "tlsca.ordering.example.com-cert.pem");
	json_decref(doc);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&t, "destroy -f net.yaml --auto-approve"), 0);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_machine_address_in_tls_sans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
