/*
 * An org that keeps its CA keys (ports 27000-27999; no node is started:
 * without FABRIC_BIN the local driver only delivers files): org2 imports
 * its CA and TLS CA certificates without their keys (ca: {cert,
 * tls_cert}), its admin is offline (admin_cert). The org's CAs, the
 * admin's certificate and a foreign CA are made by the test with the
 * `openssl` CLI, their keys only in the test's orghome/.
 *  - apply makes peer0's and user1's keys, writes their requests to
 *    .ledgerform/kl/certs/certs.org2.json and waits (exit 3); the node
 *    does not start; every CSR verifies with openssl and carries the
 *    node's public key; a second apply leaves the file as it was;
 *  - `ledgerform issue` refuses a foreign CA certificate and a request
 *    whose listed SANs were edited, then issues with the org's CAs;
 *  - apply refuses a certificate of a foreign CA and one for another key,
 *    naming the identity; with the right file it completes, removes the
 *    request file, and every certificate verifies with `openssl verify`
 *    against the org's CA (TLS ones against its TLS CA); no file under
 *    the org's ca/ and tlsca/ holds a private key, and the CA key's bytes
 *    are nowhere under .ledgerform; Fabric's own MSP code (tests/node
 *    check-msp.js) accepts peer0 and user1; the state records the certs'
 *    sha256; a second plan is empty; an apply killed between writing an
 *    identity and dropping its entries (crash point crypto.keyless.placed)
 *    is finished by the next one;
 *  - a SAN added to peer0 makes a new round for peer0's TLS certificate
 *    alone (its signing certificate and its keys stay);
 *  - `render crypto` refuses the org (it cannot issue); an admin_cert of
 *    a foreign CA is a plan error;
 *  - with FABRIC_BIN: the same rounds with real nodes; org2's peer starts
 *    (`status` healthy) and its TLS verifies against the org's TLS CA.
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

#define W ".ledgerform/kl"
#define REQ W "/certs/certs.org2.json"
#define ORG2 W "/crypto/peerOrganizations/org2.example.com"
#define PEER0 ORG2 "/peers/peer0.org2.example.com"
#define USER1 ORG2 "/users/User1@org2.example.com"

static struct clitest t;

static const char SPEC_HEAD[] =
	"name: kl\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers:\n"
	"      hosts:\n"
	"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 27050, admin: 27053, operations: 27043}}\n"
	"  - name: org2\n"
	"    ca: {cert: pub/ca.pem, tls_cert: pub/tlsca.pem}\n"
	"    admin: offline\n"
	"    admin_cert: pub/admin.pem\n"
	"    peers:\n";
static const char PEER[] =
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 27251, chaincode: 27252, operations: 27253}}\n";
static const char PEER_SAN[] =
	"      sans: [peer0.bank.example.org]\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 27251, chaincode: 27252, operations: 27253}}\n";

static void write_spec(const char *peer)
{
	char *s = NULL;

	assert_true(asprintf(&s, "%s%s", SPEC_HEAD, peer) > 0);
	ct_write(&t, "spec.yaml", s);
	free(s);
}

#define SH(...) assert_int_equal(ct_sh(&t, __VA_ARGS__), 0)

/* a self-signed P-256 CA NAME (orghome/NAME.key, orghome/NAME.pem) */
static void make_ca(const char *name, const char *cn)
{
	SH("mkdir -p orghome && openssl ecparam -genkey -name prime256v1 -noout "
	   "-out orghome/%s.key && openssl req -new -x509 -key orghome/%s.key -days 3650 "
	   "-subj '/O=org2.example.com/CN=%s' -addext 'basicConstraints=critical,CA:TRUE' "
	   "-addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' "
	   "-out orghome/%s.pem", name, name, cn, name);
}

static int setup(void **state)
{
	(void)state;
	ct_init(&t, "cakeyless");
	make_ca("ca", "ca.org2.example.com");
	make_ca("tlsca", "tlsca.org2.example.com");
	make_ca("foreign", "ca.org2.example.com");
	/* the admin's certificate, issued by the org on its machine */
	SH("openssl ecparam -genkey -name prime256v1 -noout -out orghome/admin.key && "
	   "openssl req -new -key orghome/admin.key -subj '/OU=admin/CN=Admin@org2.example.com' "
	   "-out orghome/admin.csr && openssl x509 -req -in orghome/admin.csr -CA orghome/ca.pem "
	   "-CAkey orghome/ca.key -set_serial 7 -days 365 -out orghome/admin.pem");
	/* what the org gives the platform: certificates only */
	SH("mkdir -p pub && cp orghome/ca.pem orghome/tlsca.pem orghome/admin.pem pub/");
	write_spec(PEER);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ct_done(&t);
	return 0;
}

static json_t *reqs(void)
{
	char *text = ct_read(&t, REQ);
	json_t *j;

	assert_non_null(text);
	j = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "ledgerform")), "cert-requests");
	return j;
}

static json_t *req(json_t *j, const char *name)
{
	json_t *e = json_object_get(json_object_get(j, "requests"), name);

	if (!e)
		fail_msg("no request %s in %s", name, REQ);
	return e;
}

/* the request's CSR verifies and carries the public key of keyfile */
static void csr_is_for(json_t *j, const char *name, const char *keyfile)
{
	char *pub, *csrpub;

	ct_write(&t, "x.csr", json_string_value(json_object_get(req(j, name), "csr")));
	SH("openssl req -in x.csr -noout -verify");
	SH("openssl req -in x.csr -noout -pubkey > csr.pub && openssl pkey -in '%s' "
	   "-pubout > key.pub", keyfile);
	csrpub = ct_read(&t, "csr.pub");
	pub = ct_read(&t, "key.pub");
	assert_string_equal(csrpub, pub);
	free(csrpub);
	free(pub);
}

static void apply_waits(void)
{
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	if (!strstr(t.out, "waiting for certificates: org 'org2' keeps its CA keys"))
		fail_msg("apply does not say who issues:\n%s\n%s", t.out, t.err);
	assert_non_null(strstr(t.out, "ledgerform issue ./" REQ " --ca-cert"));
}

static void issue(void)
{
	if (ct_run(&t, "issue " REQ " --ca-cert orghome/ca.pem --ca-key orghome/ca.key "
		   "--tls-ca-cert orghome/tlsca.pem --tls-ca-key orghome/tlsca.key") != 0)
		fail_msg("issue: %s\n%s", t.out, t.err);
}

/* an issued request file with one certificate replaced by the PEM in
 * file pem_rel; apply refuses it naming the identity */
static void apply_refuses(const char *good, const char *name, const char *pem_rel,
			  const char *says)
{
	json_t *j = reqs(), *g;
	char *pem = ct_read(&t, pem_rel), *text;

	json_object_set_new(req(j, name), "cert", json_string(pem));
	text = json_dumps(j, JSON_INDENT(2));
	ct_write(&t, REQ, text);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 1);
	if (!strstr(t.err, name) || !strstr(t.err, says))
		fail_msg("apply does not refuse %s (%s):\n%s\n%s", name, says, t.out, t.err);
	/* the good certificate back (other identities went on meanwhile:
	 * user1's entries are gone with its files) */
	json_decref(j);
	free(text);
	j = reqs();
	g = json_loads(good, 0, NULL);
	json_object_set(req(j, name), "cert", json_object_get(req(g, name), "cert"));
	text = json_dumps(j, JSON_INDENT(2));
	ct_write(&t, REQ, text);
	free(text);
	free(pem);
	json_decref(j);
	json_decref(g);
}

static void no_private_key_in(const char *rel)
{
	/* grep exits 1 when no file matches */
	assert_int_equal(ct_sh(&t, "grep -rl 'PRIVATE KEY' '%s'", rel), 256);
}

static void test_keyless_round_trip(void **state)
{
	char *good, *sign0, *before, *after;
	json_t *j, *doc, *out;

	(void)state;
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "# org 'org2' keeps its CA keys: the keys are made here, "
			       "the certificates the org issues"));
	apply_waits();
	assert_non_null(strstr(t.out, "not started: waiting for signatures on crypto.org2.peer0"));
	assert_false(ct_exists(&t, PEER0 "/msp/signcerts/peer0.org2.example.com-cert.pem"));
	/* the node keys are here, 0600; the requests carry their public keys */
	assert_int_equal(ct_mode(&t, PEER0 "/msp/keystore/priv_sk"), 0600);
	assert_int_equal(ct_mode(&t, PEER0 "/tls/server.key"), 0600);
	j = reqs();
	assert_int_equal(json_object_size(json_object_get(j, "requests")), 4);
	csr_is_for(j, "peer0.sign", PEER0 "/msp/keystore/priv_sk");
	csr_is_for(j, "peer0.tls", PEER0 "/tls/server.key");
	csr_is_for(j, "user1.sign", USER1 "/msp/keystore/priv_sk");
	csr_is_for(j, "user1.tls", USER1 "/tls/client.key");
	assert_string_equal(json_string_value(json_object_get(req(j, "peer0.sign"), "subject")),
			    "CN=peer0.org2.example.com,OU=peer,L=San Francisco,ST=California,C=US");
	out = json_pack("[s, s, s, s]", "peer0.org2.example.com", "peer0", "127.0.0.1", "localhost");
	assert_true(json_equal(json_object_get(req(j, "peer0.tls"), "sans"), out));
	json_decref(out);
	json_decref(j);
	/* `sign` points at `issue` */
	assert_int_equal(ct_run(&t, "sign " REQ " --msp nowhere"), 1);
	assert_non_null(strstr(t.err, "holds certificate requests: the org issues them with "
			       "`ledgerform issue"));
	/* waiting again changes nothing in the file */
	before = ct_read(&t, REQ);
	apply_waits();
	after = ct_read(&t, REQ);
	assert_string_equal(before, after);
	free(after);

	/* issue: a foreign CA certificate, then an edited request, refused */
	assert_int_equal(ct_run(&t, "issue " REQ " --ca-cert orghome/foreign.pem --ca-key "
				"orghome/foreign.key --tls-ca-cert orghome/tlsca.pem --tls-ca-key "
				"orghome/tlsca.key"), 1);
	assert_non_null(strstr(t.err, "is not the org's CA certificate the file names"));
	j = json_loads(before, 0, NULL);
	json_array_set_new(json_object_get(req(j, "peer0.tls"), "sans"), 2,
			   json_string("10.6.6.6"));
	good = json_dumps(j, JSON_INDENT(2));
	ct_write(&t, "edited.json", good);
	free(good);
	json_decref(j);
	assert_int_equal(ct_run(&t, "issue edited.json --ca-cert orghome/ca.pem --ca-key "
				"orghome/ca.key --tls-ca-cert orghome/tlsca.pem --tls-ca-key "
				"orghome/tlsca.key"), 1);
	assert_non_null(strstr(t.err, "peer0.tls: the request's SANs are not the ones the file lists"));
	after = ct_read(&t, REQ);
	assert_string_equal(before, after); /* nothing written */
	free(after);
	free(before);
	issue();
	assert_non_null(strstr(t.out, "issued peer0.sign: CN=peer0.org2.example.com,OU=peer"));
	assert_non_null(strstr(t.out, "4 certificates issued"));

	/* apply: a foreign CA's certificate over the node's own request, and
	 * another identity's certificate, are refused naming the identity */
	good = ct_read(&t, REQ);
	j = json_loads(good, 0, NULL);
	ct_write(&t, "p0.csr", json_string_value(json_object_get(req(j, "peer0.sign"), "csr")));
	ct_write(&t, "u1.pem", json_string_value(json_object_get(req(j, "user1.sign"), "cert")));
	json_decref(j);
	SH("openssl x509 -req -in p0.csr -CA orghome/foreign.pem -CAkey orghome/foreign.key "
	   "-set_serial 9 -days 30 -out foreign.pem");
	apply_refuses(good, "peer0.sign", "foreign.pem", "was not issued by the org's CA");
	apply_refuses(good, "peer0.sign", "u1.pem", "is not for the node's key");
	assert_false(ct_exists(&t, PEER0 "/msp/signcerts/peer0.org2.example.com-cert.pem"));
	free(good);

	/* killed after peer0's files are written, before its entries go: the
	 * next apply finds its certificates in place and finishes */
	setenv("LEDGERFORM_CRASH_AT", "crypto.keyless.placed:1", 1);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 128 + SIGKILL);
	unsetenv("LEDGERFORM_CRASH_AT");
	assert_true(ct_exists(&t, REQ));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_non_null(strstr(t.out, "Apply complete!"));
	assert_false(ct_exists(&t, REQ));
	SH("openssl verify -CAfile pub/ca.pem '%s'/msp/signcerts/*.pem '%s'/msp/signcerts/*.pem",
	   PEER0, USER1);
	SH("openssl verify -CAfile pub/tlsca.pem '%s/tls/server.crt' '%s/tls/client.crt'", PEER0,
	   USER1);
	SH("openssl verify -CAfile pub/tlsca.pem -purpose sslserver '%s/tls/server.crt'", PEER0);
	no_private_key_in(ORG2 "/ca");
	no_private_key_in(ORG2 "/tlsca");
	/* the CA keys' bytes (a line of each) are nowhere in the workspace */
	assert_int_equal(ct_sh(&t, "grep -rlF \"$(sed -n 2p orghome/ca.key)\" .ledgerform "
			       "spec.state.json"), 256);
	assert_int_equal(ct_sh(&t, "grep -rlF \"$(sed -n 2p orghome/tlsca.key)\" .ledgerform "
			       "spec.state.json"), 256);
	/* the state records the certificates' sha256 */
	doc = ct_state_doc(&t, "spec.state.json");
	assert_non_null(doc);
	out = json_object_get(json_object_get(json_object_get(doc, "resources"),
					      "crypto.org2.peer0"), "outputs");
	SH("openssl x509 -in '%s/tls/server.crt' -outform DER | sha256sum | cut -c1-64 > sha",
	   PEER0);
	before = ct_read(&t, "sha");
	assert_memory_equal(before, json_string_value(json_object_get(out, "tls_cert_sha256")), 64);
	free(before);
	assert_null(json_object_get(json_object_get(json_object_get(
		json_object_get(doc, "resources"), "crypto.org2.ca"), "outputs"), "key_path"));
	json_decref(doc);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);

	/* Fabric's MSP code on peer0 and user1 (the admin's folder is the
	 * offline admin's, test_crypto_admin_offline) */
	SH("rm -rf fab && cp -r '%s' fab && rm -rf fab/users/Admin@org2.example.com", ORG2);
	if (ct_sh(&t, "command -v node") != 0) {
		print_message("node not found: Fabric's MSP check skipped\n");
	} else {
		int rc = ct_sh(&t, "node '%s/tests/node/check-msp.js' fab Org2MSP", LF_SOURCE_DIR);

		if (rc == 77 << 8)
			print_message("fabric-common not installed: Fabric's MSP check skipped\n");
		else
			assert_int_equal(rc, 0);
	}

	/* a SAN more: a new round for peer0's TLS certificate alone */
	sign0 = ct_read(&t, PEER0 "/msp/signcerts/peer0.org2.example.com-cert.pem");
	before = ct_read(&t, PEER0 "/tls/server.key");
	write_spec(PEER_SAN);
	apply_waits();
	j = reqs();
	assert_int_equal(json_object_size(json_object_get(j, "requests")), 1);
	after = json_dumps(req(j, "peer0.tls"), 0);
	assert_non_null(strstr(after, "peer0.bank.example.org"));
	free(after);
	json_decref(j);
	issue();
	assert_non_null(strstr(t.out, "1 certificate issued"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_false(ct_exists(&t, REQ));
	SH("openssl x509 -in '%s/tls/server.crt' -noout -ext subjectAltName | grep -q "
	   "peer0.bank.example.org", PEER0);
	after = ct_read(&t, PEER0 "/msp/signcerts/peer0.org2.example.com-cert.pem");
	assert_string_equal(sign0, after);
	free(after);
	after = ct_read(&t, PEER0 "/tls/server.key");
	assert_string_equal(before, after);
	free(after);
	free(before);
	free(sign0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
}

/* `render crypto` has no org to wait for: it refuses the org */
static void test_keyless_render_refuses(void **state)
{
	(void)state;
	assert_int_equal(ct_run(&t, "render crypto -f spec.yaml -o rendered"), 1);
	if (!strstr(t.err, "imported without its key"))
		fail_msg("render: %s\n%s", t.out, t.err);
}

/* the admin's certificate must come from the org's CA (checked at plan) */
static void test_keyless_foreign_admin(void **state)
{
	char *spec = ct_read(&t, "spec.yaml"), *bad = NULL;

	(void)state;
	SH("openssl x509 -req -in orghome/admin.csr -CA orghome/foreign.pem -CAkey "
	   "orghome/foreign.key -set_serial 8 -days 365 -out pub/fadmin.pem");
	assert_true(asprintf(&bad, "%.*sfadmin.pem%s", (int)(strstr(spec, "admin.pem") - spec),
			     spec, strstr(spec, "admin.pem") + strlen("admin.pem")) > 0);
	ct_write(&t, "spec.yaml", bad);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 1);
	if (!strstr(t.err, "admin_cert") || !strstr(t.err, "was not issued by the org's CA"))
		fail_msg("plan: %s\n%s", t.out, t.err);
	ct_write(&t, "spec.yaml", spec);
	free(bad);
	free(spec);
}

/* with the real Fabric 2.5.5 binaries: org2's peer starts with the
 * certificates the org issued and serves TLS that verifies against the
 * org's TLS CA for its host name; destroy leaves no process */
static const char *const hosts[] = { "orderer0-ordering", "peer0-org2" };

static int kill_nodes(void **state)
{
	(void)state;
	ct_kill_nodes(&t, W "/hosts", hosts, 2);
	unsetenv("FABRIC_BIN");
	return 0;
}

static void test_keyless_real_peer(void **state)
{
	const char *bin = ct_fabric_bin();
	size_t alive = 9;
	char *out;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the real peer\n");
		skip();
	}
	/* a fresh start: the delivered files of the tests above go */
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	setenv("FABRIC_BIN", bin, 1);
	apply_waits();
	assert_int_equal(ct_node_pid(&t, W "/hosts", "peer0-org2"), 0);
	issue();
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s\n%s", t.out, t.err);
	assert_int_equal(ct_run(&t, "status -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "node.org2.peer0"));
	SH("openssl s_client -connect 127.0.0.1:27251 -servername peer0.org2.example.com "
	   "-CAfile pub/tlsca.pem -verify_return_error -verify_hostname peer0.org2.example.com "
	   "</dev/null >s_client.out 2>&1");
	out = ct_read(&t, "s_client.out");
	assert_non_null(strstr(out, "Verify return code: 0 (ok)"));
	free(out);
	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", hosts, 2, &alive), 0);
	assert_int_equal(alive, 0);
	unsetenv("FABRIC_BIN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyless_round_trip),
		cmocka_unit_test(test_keyless_render_refuses),
		cmocka_unit_test(test_keyless_foreign_admin),
		cmocka_unit_test_teardown(test_keyless_real_peer, kill_nodes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
