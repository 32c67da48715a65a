/*
 * With the real Fabric CA 1.5.9 binaries (FABRIC_CA_BIN), a CA server
 * node through the CLI only (ports 31500-31599):
 *  - `ca: {server: true}` applies to a running fabric-ca-server on the
 *    org's CA from the crypto tree, with TLS from the org's TLS CA;
 *  - its bootstrap admin password is kept 0600 under the workspace and
 *    appears in no state, no output and no other file but its config;
 *  - fabric-ca-client enrolls the admin over TLS (verifying the server
 *    with the org's TLS CA), registers and enrolls a user, whose
 *    certificate chains to the org's CA (openssl verify);
 *  - the connection profile names the CA, and the Fabric SDK's
 *    fabric-ca-client enrolls through it;
 *  - a second plan is empty; destroy leaves no process.
 * Skipped, saying so, without FABRIC_CA_BIN.
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

#define W ".ledgerform/caonly"
#define ORG W "/crypto/peerOrganizations/bank.example.com"
#define TLSCA ORG "/tlsca/tlsca.bank.example.com-cert.pem"
#define SIGNCA ORG "/ca/ca.bank.example.com-cert.pem"
#define PASSFILE W "/fabric-ca/bank.admin-password"
#define CA_URL "127.0.0.1:31554"

static const char SPEC[] =
	"name: caonly\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: bank\n"
	"    ca: {server: true, ports: {listen: 31554, operations: 31555}}\n";

static struct clitest t;

static const char *const ca_host[] = { "fabric-ca-bank" };

static int stop_ca(void **state)
{
	(void)state;
	ct_kill_nodes(&t, W "/hosts", ca_host, 1);
	return 0;
}

/* run a shell command in the test's directory; its output in sh.out */
static void show_sh(void)
{
	char *o = ct_read(&t, "sh.out");

	print_message("%s\n", o ? o : "");
	free(o);
}

/* the CA client with the org's TLS CA as its only trust for the server */
#define CLIENT "'%s/fabric-ca-client' %s -u https://%s" CA_URL " --caname ca-bank " \
	"--tls.certfiles \"$PWD/" TLSCA "\" -H \"$PWD/%s\""

static void enroll_and_register(const char *cabin, const char *pass)
{
	char who[128];

	snprintf(who, sizeof(who), "admin:%s@", pass);
	if (ct_sh(&t, CLIENT, cabin, "enroll", who, "cl/admin") != 0) {
		show_sh();
		fail();
	}
	assert_int_equal(ct_sh(&t, CLIENT " --id.name alice --id.secret alicepw --id.type client",
			    cabin, "register", "", "cl/admin"), 0);
	assert_int_equal(ct_sh(&t, CLIENT, cabin, "enroll", "alice:alicepw@", "cl/alice"), 0);
	/* alice's certificate chains to the org's CA in the crypto tree */
	assert_int_equal(ct_sh(&t, "openssl verify -CAfile " SIGNCA " cl/alice/msp/signcerts/cert.pem"), 0);
	/* a wrong password is refused */
	assert_int_not_equal(ct_sh(&t, CLIENT, cabin, "enroll", "admin:wrong@", "cl/bad"), 0);
}

/* the password is in its own file and the server's config, nowhere else
 * (state, outputs, logs, other files) */
static void password_kept(const char *pass)
{
	assert_int_equal(ct_mode(&t, PASSFILE), 0600);
	assert_int_equal(ct_mode(&t, W "/hosts/fabric-ca-bank/fabric/config/fabric-ca-server-config.yaml"),
			 0600);
	assert_int_equal(ct_sh(&t, "grep -rl -- '%s' . | grep -v '^./cl/' | sort", pass), 0);
	{
		char *o = ct_read(&t, "sh.out");

		assert_non_null(o);
		assert_string_equal(o, "./" PASSFILE "\n"
				    "./" W "/hosts/fabric-ca-bank/fabric/config/fabric-ca-server-config.yaml\n"
				    "./" W "/hosts/fabric-ca-bank/fabric/fabric-ca-server-config.yaml.in\n");
		free(o);
	}
}

static void sdk_enroll(void)
{
	char *out;

	assert_int_equal(ct_run(&t, "output connection-profile -f spec.yaml --org bank"), 0);
	ct_write(&t, "ccp.json", t.out);
	if (ct_sh(&t, "node '%s/tests/node/ccp-ca.js' ccp.json bank alice alicepw sdk.pem", LF_SOURCE_DIR) != 0) {
		show_sh();
		fail();
	}
	out = ct_read(&t, "sh.out");
	assert_non_null(out);
	assert_string_equal(out, "{\"ca\":\"fabric-ca.bank.example.com\",\"caName\":\"ca-bank\","
			    "\"url\":\"https://" CA_URL "\"}\n");
	free(out);
	assert_int_equal(ct_sh(&t, "openssl verify -CAfile " SIGNCA " sdk.pem"), 0);
}

static void test_e2e_fabric_ca(void **state)
{
	const char *cabin = getenv("FABRIC_CA_BIN");
	size_t alive;
	char *pass;
	long pid;

	(void)state;
	if (!cabin || !*cabin) {
		print_message("FABRIC_CA_BIN is not set: skipping the Fabric CA server on a real fabric-ca-server\n");
		skip();
	}
	ct_init(&t, "fabca");
	ct_write(&t, "spec.yaml", SPEC);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	pid = ct_node_pid(&t, W "/hosts", "fabric-ca-bank");
	assert_true(pid > 0 && ct_pid_alive(pid));
	pass = ct_read(&t, PASSFILE);
	assert_non_null(pass);
	assert_true(strlen(pass) >= 32);
	assert_null(strstr(t.out, pass));
	assert_null(strstr(t.err, pass));

	enroll_and_register(cabin, pass);
	password_kept(pass);
	sdk_enroll();
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);

	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", ca_host, 1, &alive), 0);
	assert_int_equal(alive, 0);
	assert_false(ct_pid_alive(pid));
	free(pass);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_fabric_ca, stop_ca),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
