/*
 * With the real Fabric 2.5.5 binaries (FABRIC_BIN), gossip and anchor
 * peers on a running network, through the CLI only (ports 31800-31899):
 *  - two peers of one org with no anchor peers find each other through
 *    gossip bootstrap alone (each peer's gossip_membership_total_peers_known
 *    metric for the channel, from its operations endpoint);
 *  - changing anchor_peers in the spec makes a config update that the
 *    signing flow submits; the channel config the real orderer serves
 *    (peer channel fetch config, configtxlator) then names the new anchor.
 * Skipped, saying so, without FABRIC_BIN.
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

#define W ".ledgerform/gsp"
#define ORG1 W "/crypto/peerOrganizations/org1.example.com"
#define ORD_TLSCA W "/crypto/ordererOrganizations/ordering.example.com/tlsca/tlsca.ordering.example.com-cert.pem"

static void write_spec(struct clitest *t, const char *anchors)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		"name: gsp\n"
		"fabric: {version: \"2.5\", consensus: etcdraft}\n"
		"orgs:\n"
		"  - name: ordering\n"
		"    orderers:\n"
		"      hosts:\n"
		"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 31850, admin: 31853, operations: 31843}}\n"
		"  - name: org1\n"
		"    anchor_peers: [%s]\n"
		"    peers:\n"
		"      hosts:\n"
		"        - {name: peer0, address: 127.0.0.1, ports: {listen: 31851, chaincode: 31852, operations: 31854}}\n"
		"        - {name: peer1, address: 127.0.0.1, ports: {listen: 31861, chaincode: 31862, operations: 31864}}\n"
		"channels:\n"
		"  - name: gsp\n"
		"    orgs: [org1]\n", anchors);
	ct_write(t, "spec.yaml", buf);
}

static struct clitest t;
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1", "peer1-org1" };
#define NHOSTS (sizeof(all_hosts) / sizeof(all_hosts[0]))

static int stop_nodes(void **state)
{
	(void)state;
	ct_kill_nodes(&t, W "/hosts", all_hosts, NHOSTS);
	return 0;
}

/* how many peers a peer knows in the channel, from its own metrics; -1
 * when the metric is not there (yet) */
static long peers_known(unsigned int ops_port)
{
	char *out, *p;
	long v = -1;

	if (ct_sh(&t, "curl -s --max-time 2 http://127.0.0.1:%u/metrics", ops_port) != 0)
		return -1;
	out = ct_read(&t, "sh.out");
	p = out ? strstr(out, "gossip_membership_total_peers_known{channel=\"gsp\"}") : NULL;
	if (p)
		v = strtol(strchr(p, '}') + 1, NULL, 10);
	free(out);
	return v;
}

/* bounded poll for a condition on the running peers (no time asserted) */
static long wait_known(unsigned int ops_port)
{
	long v = -1;

	for (int i = 0; i < 1200 && (v = peers_known(ops_port)) < 1; i++)
		usleep(100000);
	return v;
}

/* the value at a dotted path (a number indexes an array) */
static json_t *jpath(json_t *v, const char *path)
{
	char buf[512], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); v && tok; tok = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
				     : json_object_get(v, tok);
	return v;
}

/* the anchor peers of Org1MSP in the channel config the orderer serves,
 * fetched by the peer CLI as org1's admin: "HOST:PORT,..." ("" if none) */
static char *orderer_anchors(const char *bin)
{
	struct { char v[512]; } out = { "" };
	char path[512];
	json_t *cfg, *x;
	size_t i;

	if (ct_sh(&t, "'%s/ledgerform' output peer-env -f spec.yaml --org org1 --peer peer0 > env.sh && . ./env.sh && "
	       "'%s/peer' channel fetch config cfg.block -c gsp -o 127.0.0.1:31850 --tls "
	       "--cafile \"$PWD/" ORD_TLSCA "\" && '%s/configtxlator' proto_decode --type common.Block "
	       "--input cfg.block --output cfg.json", LF_BINARY_DIR, bin, bin) != 0) {
		char *text = ct_read(&t, "sh.out");

		print_message("fetching the config failed: %s\n", text ? text : "");
		free(text);
		fail();
	}
	snprintf(path, sizeof(path), "%s/cfg.json", t.dir);
	cfg = json_load_file(path, 0, NULL);
	assert_non_null(cfg);
	json_array_foreach(jpath(cfg, "data.data.0.payload.data.config.channel_group.groups."
				 "Application.groups.Org1MSP.values.AnchorPeers.value.anchor_peers"), i, x)
		snprintf(out.v + strlen(out.v), sizeof(out.v) - strlen(out.v), "%s%s:%lld",
			 i ? "," : "", json_string_value(json_object_get(x, "host")),
			 (long long)json_integer_value(json_object_get(x, "port")));
	json_decref(cfg);
	return strdup(out.v);
}

static void test_e2e_gossip(void **state)
{
	const char *bin = ct_fabric_bin();
	size_t alive;
	char *a;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping gossip and anchor peers on real nodes\n");
		skip();
	}
	ct_init(&t, "gossip");
	setenv("FABRIC_BIN", bin, 1);

	/* no anchor peers: the peers meet through gossip bootstrap */
	write_spec(&t, "");
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_int_equal(wait_known(31864), 1);  /* peer1 knows peer0 */
	assert_int_equal(wait_known(31854), 1);  /* and peer0 peer1 */
	a = orderer_anchors(bin);
	assert_string_equal(a, "");
	free(a);

	/* an anchor peer: an update through the signing flow, then the
	 * orderer's channel config names it */
	write_spec(&t, "peer1");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 3);
	assert_non_null(strstr(t.out, "ledgerform sign"));
	assert_int_equal(ct_run(&t, "sign " W "/channels/gsp.update.pb --msp " ORG1
				"/users/Admin@org1.example.com/msp"), 0);
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	a = orderer_anchors(bin);
	assert_string_equal(a, "127.0.0.1:31861");
	free(a);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);

	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", all_hosts, NHOSTS, &alive), 0);
	assert_int_equal(alive, 0);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_gossip, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
