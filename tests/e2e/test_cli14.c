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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "../drivers/aws/ec2fake.h"
#include "../unit/state/etcd_fixture.h"
#include "clitest.h"
#include "core/util/util.h"

static struct etcd_fx fx;
static struct ec2fake fake = { -1, 0, "" }; /* stopped by the teardown */

static int group_setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	return etcd_fx_start_one(&fx, "c14", 37000, 37001);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_fx_stop(&fx);
	ec2fake_stop(&fake);
	return 0;
}

#define ORG ".ledgerform/demo/crypto/peerOrganizations/bank.example.com"
#define PEER0 ORG "/peers/peer0.bank.example.com"
#define CA_CERT ORG "/ca/ca.bank.example.com-cert.pem"
#define CA_KEY ORG "/ca/priv_sk"

static void write_spec_state(struct clitest *t, const char *state)
{
	ct_write_demo(t, state, 1, "");
}

static void write_spec(struct clitest *t)
{
	write_spec_state(t, "");
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

/* inspect of a pending update file: the embedded base config (field
 * 100) decoded as a Config (sequence, channel_group), not as an update */
static void test_cli14_inspect_update_config(void **state)
{
	struct clitest t;
	json_t *doc, *cfg;

	(void)state;
	ct_init(&t, "cli14insp");
	write_spec_state(&t, "channels:\n  - name: trade\n    orgs: [bank]\n");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	ct_write(&t, "spec.yaml",
		 "name: demo\n"
		 "orgs:\n"
		 "  - name: ordering\n    domain: example.com\n    orderers: {count: 1}\n"
		 "  - name: bank\n    domain: bank.example.com\n    peers: {count: 1}\n"
		 "  - name: shop\n    peers: {count: 1}\n"
		 "channels:\n  - name: trade\n    orgs: [bank, shop]\n");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_int_equal(ct_run(&t, "inspect .ledgerform/demo/channels/trade.update.pb"), 0);
	doc = json_loads(t.out, 0, NULL);
	assert_non_null(doc);
	cfg = json_object_get(json_object_get(json_object_get(doc, "payload"), "data"),
			      "lf_config");
	assert_true(json_is_object(cfg));
	assert_non_null(json_object_get(cfg, "sequence"));
	assert_null(json_object_get(cfg, "read_set"));
	assert_non_null(json_object_get(json_object_get(json_object_get(
		cfg, "channel_group"), "groups"), "Application"));
	json_decref(doc);
	ct_done(&t);
}

static void write_aws_spec(struct clitest *t, const char *size)
{
	char spec[2048];

	snprintf(spec, sizeof(spec),
		 "name: cloudnet\n"
		 "sizes:\n  small: {drivers: {aws: {instance_type: t3.small}}}\n"
		 "  big: {vcpus: 8, memory: 32GiB, disk: 50GiB, drivers: {aws: {instance_type: m5.2xlarge}}}\n"
		 "providers:\n  cloud:\n    driver: aws\n    config:\n"
		 "      region: us-east-1\n      endpoint: \"https://127.0.0.1:%d/\"\n"
		 "      ca_bundle: %s/ca.pem\n      images: {debian-12: ami-0fakedebian}\n"
		 "      poll_ms: 5\n      retry_base_ms: 5\n"
		 "    credentials: {file: %s/credentials, profile: ci}\n"
		 "    transport: local\n"
		 "defaults: {size: small, provider: cloud}\n"
		 "orgs:\n  - name: ordering\n    orderers: {count: 1}\n"
		 "  - name: org1\n    peers: {count: 1, size: %s}\n", fake.port, t->dir, t->dir,
		 size);
	ct_write(t, "spec.yaml", spec);
}

/* the apply_progress events of an apply --json stream (every line must
 * parse), each checked to carry a host's address and the driver's line */
static size_t progress_events(char *out, const char *needle)
{
	char *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL), *hook;

		assert_non_null(ev);
		hook = json_object_get(ev, "hook");
		if (lf_streq(json_string_value(json_object_get(ev, "type")), "apply_progress")) {
			assert_non_null(strstr(json_string_value(json_object_get(hook, "progress")),
					       needle));
			assert_non_null(strstr(json_string_value(json_object_get(
				json_object_get(hook, "resource"), "addr")), "host.org1.peer0"));
			n++;
		}
		json_decref(ev);
	}
	return n;
}

/* apply --json streams the aws driver's progress (a resize: stop,
 * modify, start) as apply_progress events */
static void test_cli14_apply_progress_json(void **state)
{
	struct clitest t;

	(void)state;
	ct_init(&t, "cli14aws");
	ct_write(&t, "keys.json", "{\"AKIDC14\": {\"secret\": \"c14secret\", \"token\": null}}");
	ct_write(&t, "credentials", "[ci]\naws_access_key_id = AKIDC14\n"
		 "aws_secret_access_key = c14secret\n");
	chmod(t.dir, 0700);
	if (ct_run(&t, "drivers") != 0 || !strstr(t.out, "aws ") ||
	    ct_sh(&t, "command -v node >/dev/null") != 0 || ec2fake_certs(t.dir) != 0 ||
	    ec2fake_start(&fake, t.dir, 37450, 37499) != 0) {
		ct_done(&t);
		print_message("skipped: the aws driver (not built), node, the openssl CLI or "
			      "tests/node/ec2-fake.js on 127.0.0.1:37450-37499 is not available\n");
		skip();
	}
	write_aws_spec(&t, "small");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	write_aws_spec(&t, "big");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --json"), 0);
	assert_true(progress_events(t.out, "resizing i-") > 0);
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	ct_done(&t);
}

/* etcd state: `state taint` is kept (plan replaces, apply clears it);
 * `state mv` keeps the previous state as a state file document */
static void test_cli14_etcd_taint_mv(void **state)
{
	struct clitest t;
	char buf[256], *bak;
	json_t *doc;

	(void)state;
	etcd_need(&fx);
	ct_init(&t, "cli14etcd");
	snprintf(buf, sizeof(buf), "state: {backend: etcd, endpoints: [\"%s\"], "
		 "prefix: \"/cli14/\", lease_ttl: 5}\n", fx.p[0].url);
	write_spec_state(&t, buf);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "state taint node.bank.peer0 -f spec.yaml"), 0);
	assert_int_equal(ct_run(&t, "state show node.bank.peer0 -f spec.yaml"), 0);
	doc = json_loads(t.out, 0, NULL);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(doc, "tainted")));
	json_decref(doc);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --no-color --detailed-exitcode"), 2);
	assert_non_null(strstr(t.out, "node.bank.peer0"));
	assert_non_null(strstr(t.out, "tainted"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	/* mv: the previous state (with node.bank.peer0) kept as a file */
	assert_int_equal(ct_run(&t, "state mv node.bank.peer0 node.bank.peerX -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "the previous state is kept as "));
	assert_non_null(strstr(t.out, ".backup.json"));
	*strstr(t.out, ".backup.json") = '\0';
	snprintf(buf, sizeof(buf), "%s.backup.json", strstr(t.out, "kept as ") + 8);
	bak = ct_read(&t, buf);
	assert_non_null(bak);
	assert_int_equal(ct_mode(&t, buf), 0600);
	doc = json_loads(bak, 0, NULL);
	assert_non_null(doc);
	assert_non_null(json_object_get(json_object_get(doc, "resources"), "node.bank.peer0"));
	assert_null(json_object_get(json_object_get(doc, "resources"), "node.bank.peerX"));
	json_decref(doc);
	free(bak);
	assert_int_equal(ct_run(&t, "state list -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "node.bank.peerX"));
	assert_null(strstr(t.out, "node.bank.peer0\n"));
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli14_leaf_key_deleted),
		cmocka_unit_test(test_cli14_ca_cert_changed),
		cmocka_unit_test(test_cli14_inspect_update_config),
		cmocka_unit_test(test_cli14_etcd_taint_mv),
		cmocka_unit_test(test_cli14_apply_progress_json),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
