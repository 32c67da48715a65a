/*
 * The chaincode lifecycle over gRPC (core/net/lifecycle) on a real Fabric
 * 2.5 network that `ledgerform apply` brings up (one etcdraft orderer, two
 * orgs with one peer each, one channel; ports 30500-30999 on 127.0.0.1):
 *  - every peer got the ccaas external builder (0755);
 *  - a ccaas package (made here with tar/gzip) is installed on both peers
 *    as each org's admin; a second install is a no-op;
 *  - org1 approves with its local key; org2 approves OFFLINE: the test
 *    process holds only org2's certificate, a child process holding the
 *    key signs the proposal and then the transaction;
 *  - checkcommitreadiness shows each approval; commit (endorsed by both
 *    peers, as the LifecycleEndorsement policy needs); the committed
 *    definition has the version and sequence;
 *  - the test chaincode (tests/node/cc, fabric-shim, run as a service)
 *    takes a put and answers a get through @hyperledger/fabric-gateway
 *    with org1's User1;
 *  - upgrade to sequence 2 with the version-2 chaincode: a commit
 *    endorsed by org1 alone is invalidated (ENDORSEMENT_POLICY_FAILURE,
 *    reported), one endorsed by both goes through, and get shows v2.
 * Skipped, saying so, without FABRIC_BIN or the npm modules of tests/node.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "clitest.h"
#include "core/fabric/block/blk.h"
#include "core/net/lifecycle.h"
#include "core/util/util.h"

#define W ".ledgerform/lcc"
#define CH "lcc"
#define ORD_TLS_CA W "/crypto/ordererOrganizations/ordering.example.com/orderers/orderer0.ordering.example.com/tls/ca.crt"
#define ORG_DIR(n) W "/crypto/peerOrganizations/org" n ".example.com"
#define PEER_TLS_CA(n) ORG_DIR(n) "/peers/peer0.org" n ".example.com/tls/ca.crt"
#define ADMIN_MSP(n) ORG_DIR(n) "/users/Admin@org" n ".example.com/msp"
#define USER_MSP(n) ORG_DIR(n) "/users/User1@org" n ".example.com/msp"

/* this test's ports (30500-30999) */
#define P_ORD 30550
#define P_PEER1 30651
#define P_PEER2 30751
#define P_CC1 30560
#define P_CC2 30561

static struct clitest t;
static pid_t cc_pid[2] = { -1, -1 };
static const char *const hosts[] = { "orderer0-ordering", "peer0-org1", "peer0-org2" };

static void write_spec(void)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		"name: lcc\n"
		"fabric: {version: \"2.5\", consensus: etcdraft}\n"
		"orgs:\n"
		"  - name: ordering\n"
		"    orderers:\n"
		"      hosts:\n"
		"        - {name: orderer0, address: 127.0.0.1, ports: {listen: %d, admin: %d, operations: %d}}\n"
		"  - name: org1\n"
		"    peers:\n"
		"      hosts:\n"
		"        - {name: peer0, address: 127.0.0.1, ports: {listen: %d, chaincode: %d, operations: %d}}\n"
		"  - name: org2\n"
		"    peers:\n"
		"      hosts:\n"
		"        - {name: peer0, address: 127.0.0.1, ports: {listen: %d, chaincode: %d, operations: %d}}\n"
		"channels:\n"
		"  - name: " CH "\n"
		"    orgs: [org1, org2]\n",
		P_ORD, P_ORD + 3, P_ORD + 4, P_PEER1, P_PEER1 + 1, P_PEER1 + 2,
		P_PEER2, P_PEER2 + 1, P_PEER2 + 2);
	ct_write(&t, "spec.yaml", buf);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	va_list ap;
	char cmd[4096];

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		print_message("failed: %s\n", cmd);
		fail();
	}
}

/* a ccaas package NAME.tar.gz (metadata.json + code.tar.gz with
 * connection.json), test-local; *len its size; returns its bytes */
static char *make_package(const char *label, int port, size_t *len)
{
	char rel[128], *text, *path, *data = NULL;
	struct lf_err err = LF_ERR_INIT;

	snprintf(rel, sizeof(rel), "pkg-%s/metadata.json", label);
	text = lf_xasprintf("{\"type\":\"ccaas\",\"label\":\"%s\"}", label);
	sh("mkdir -p '%s/pkg-%s/code'", t.dir, label);
	ct_write(&t, rel, text);
	free(text);
	snprintf(rel, sizeof(rel), "pkg-%s/code/connection.json", label);
	text = lf_xasprintf("{\"address\":\"127.0.0.1:%d\",\"dial_timeout\":"
			    "\"10s\",\"tls_required\":false}", port);
	ct_write(&t, rel, text);
	free(text);
	sh("cd '%s/pkg-%s' && tar -C code -czf code.tar.gz connection.json && "
	   "tar -czf ../%s.tar.gz metadata.json code.tar.gz", t.dir, label, label);
	path = lf_xasprintf("%s/%s.tar.gz", t.dir, label);
	assert_int_equal(lf_read_file(path, &data, len, &err), 0);
	free(path);
	return data;
}

/* the test chaincode as a service, version 1 or 2 */
static pid_t start_cc(const char *package_id, int port, int version)
{
	char addr[64], log[512], js[512];
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(log, sizeof(log), "%s/cc%d.log", t.dir, version);
	snprintf(js, sizeof(js), "%s/tests/node/cc/index.js", LF_SOURCE_DIR);
	setenv("CHAINCODE_ID", package_id, 1);
	setenv("CHAINCODE_ADDRESS", addr, 1);
	setenv("CC_VERSION", version == 2 ? "2" : "1", 1);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execlp("node", "node", js, (char *)NULL);
	_exit(127);
}

static lf_grpc_channel *tls_channel(int port, const char *ca_rel)
{
	struct lf_grpc_tls tls = { 0 };
	struct lf_err err = LF_ERR_INIT;
	lf_grpc_channel *ch = NULL;
	char target[64], *ca = ct_read(&t, ca_rel);

	assert_non_null(ca);
	tls.ca_pem = ca;
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	assert_int_equal(lf_grpc_channel_new(&ch, target, &tls, &err), 0);
	free(ca);
	return ch;
}

static void load_id(struct lf_identity *id, const char *rel, const char *mspid)
{
	struct lf_err err = LF_ERR_INIT;
	char *p = lf_path_join(t.dir, rel);

	assert_int_equal(lf_identity_load(id, p, mspid, &err), 0);
	free(p);
}

/* sign data in a child process that alone reads org2's admin key (the
 * offline signer); the signature comes back through a file */
static void sign_offline(const uint8_t *data, size_t len, uint8_t **sig,
			 size_t *sig_len)
{
	struct lf_err err = LF_ERR_INIT;
	char *in = lf_xasprintf("%s/tosign.bin", t.dir);
	char *out = lf_xasprintf("%s/sig.der", t.dir);
	char *s = NULL;
	pid_t pid;
	int st = -1;

	assert_int_equal(lf_write_file_atomic(in, data, len, 0600, &err), 0);
	unlink(out);
	pid = fork();
	if (pid == 0) {
		struct lf_identity id;
		char *msg = NULL, *mspdir = lf_path_join(t.dir, ADMIN_MSP("2"));
		size_t n = 0;
		uint8_t *sg = NULL;
		size_t sl = 0;

		if (lf_identity_load(&id, mspdir, "Org2MSP", &err) ||
		    lf_read_file(in, &msg, &n, &err) ||
		    lf_blk_sign_pem(id.key_pem, id.key_len, msg, n, &sg, &sl, &err) ||
		    lf_write_file_atomic(out, sg, sl, 0644, &err))
			_exit(1);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(lf_read_file(out, &s, sig_len, &err), 0);
	*sig = (uint8_t *)s;
	free(in);
	free(out);
}

static void expect_ok(int rc, const struct lf_err *err, const char *what)
{
	if (rc != 0)
		print_message("%s: %d %s\n", what, rc, err->msg);
	assert_int_equal(rc, 0);
}

struct net {
	lf_ab *ab;
	struct lf_identity admin1, admin2, cert2_only;
	struct lf_peer p1, p2;         /* each org's peer as its admin */
	struct lf_peer both[2];        /* endorsers for commit (waits as admin1) */
};

static void net_open(struct net *n)
{
	struct lf_grpc_tls tls = { 0 };
	struct lf_err err = LF_ERR_INIT;
	char *ca = ct_read(&t, ORD_TLS_CA), target[64];

	assert_non_null(ca);
	tls.ca_pem = ca;
	snprintf(target, sizeof(target), "127.0.0.1:%d", P_ORD);
	assert_int_equal(lf_ab_new(&n->ab, target, &tls, &err), 0);
	free(ca);
	load_id(&n->admin1, ADMIN_MSP("1"), "Org1MSP");
	load_id(&n->admin2, ADMIN_MSP("2"), "Org2MSP");
	/* what the controller knows of org2's offline admin: its certificate */
	n->cert2_only.mspid = lf_xstrdup("Org2MSP");
	n->cert2_only.cert_pem = lf_xstrdup(n->admin2.cert_pem);
	n->cert2_only.cert_len = n->admin2.cert_len;
	n->p1.ch = tls_channel(P_PEER1, PEER_TLS_CA("1"));
	n->p1.id = &n->admin1;
	n->p2.ch = tls_channel(P_PEER2, PEER_TLS_CA("2"));
	n->p2.id = &n->admin2;
	n->both[0] = n->p1;
	n->both[1] = n->p2;
	n->both[1].id = &n->admin1;  /* a channel member, for the wait */
}

static void net_close(struct net *n)
{
	lf_grpc_channel_free(n->p1.ch);
	lf_grpc_channel_free(n->p2.ch);
	lf_ab_free(n->ab);
	lf_identity_clear(&n->admin1);
	lf_identity_clear(&n->admin2);
	lf_identity_clear(&n->cert2_only);
}

/* install on both peers; the second time a no-op with the same ID */
static void install_both(struct net *n, const char *pkg, size_t len,
			 const char *label, char *package_id)
{
	struct lf_err err = LF_ERR_INIT;
	char id2[LF_LC_PACKAGE_ID_MAX], hex[65], want[LF_LC_PACKAGE_ID_MAX];
	char lab[64];
	bool already = true;

	lf_sha256_hex(pkg, len, hex);
	snprintf(want, sizeof(want), "%s:%s", label, hex);
	expect_ok(lf_lc_install(&n->p1, pkg, len, package_id, &already, &err),
		  &err, "install on peer0.org1");
	assert_false(already);
	assert_string_equal(package_id, want);
	assert_int_equal(lf_lc_install(&n->p1, pkg, len, id2, &already, &err), 0);
	assert_true(already);
	assert_string_equal(id2, want);
	expect_ok(lf_lc_install(&n->p2, pkg, len, id2, &already, &err), &err,
		  "install on peer0.org2");
	assert_false(already);
	assert_string_equal(id2, want);
	assert_int_equal(lf_lc_query_installed_one(&n->p2, want, lab,
						   sizeof(lab), &err), 0);
	assert_string_equal(lab, label);
	assert_int_equal(lf_lc_query_installed_one(&n->p2, "nope:00", NULL, 0,
						   &err), LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "'nope:00' is not installed"));
	lf_err_clear(&err);
}

/* readiness as the org1 admin sees it: "Org1MSP=1,Org2MSP=0" */
static void expect_ready(struct net *n, const struct lf_lc_def *d,
			 const char *want)
{
	struct lf_lc_approval *v = NULL;
	struct lf_err err = LF_ERR_INIT;
	struct lf_buf b = LF_BUF_INIT;
	size_t k = 0;

	expect_ok(lf_lc_check_commit_readiness(&n->p1, CH, d, &v, &k, &err),
		  &err, "checkcommitreadiness");
	for (size_t i = 0; i < k; i++)
		lf_buf_printf(&b, "%s%s=%d", i ? "," : "", v[i].mspid,
			      v[i].approved);
	lf_buf_append(&b, "", 1);
	assert_string_equal(b.data, want);
	lf_buf_free(&b);
	lf_lc_approvals_free(v, k);
}

/* org2's approval in the split steps, signed by the child process */
static void approve_offline(struct net *n, const struct lf_lc_def *d)
{
	struct lf_lc_proposal prop;
	struct lf_lc_endorsed e;
	struct lf_err err = LF_ERR_INIT;
	struct lf_peer waiter = n->p2;
	uint8_t *sig = NULL, *sp = NULL, *pl = NULL, *env = NULL;
	size_t sig_len, sp_len, pl_len, env_len;
	int code = -1;

	waiter.id = &n->admin1;
	assert_int_equal(lf_lc_approve_proposal(&prop, CH, d, "Org2MSP",
			 n->cert2_only.cert_pem, n->cert2_only.cert_len, &err), 0);
	sign_offline(prop.proposal_bytes, prop.proposal_len, &sig, &sig_len);
	assert_int_equal(lf_lc_signed_proposal(prop.proposal_bytes,
			 prop.proposal_len, sig, sig_len, &sp, &sp_len, &err), 0);
	free(sig);
	expect_ok(lf_lc_endorse(&n->p2, 1, sp, sp_len, &e, &err), &err,
		  "endorse offline approval");
	assert_int_equal(lf_lc_tx_payload(prop.proposal_bytes, prop.proposal_len,
					  &e, &pl, &pl_len, &err), 0);
	sign_offline(pl, pl_len, &sig, &sig_len);
	assert_int_equal(lf_lc_tx_envelope(pl, pl_len, sig, sig_len, &env,
					   &env_len, &err), 0);
	expect_ok(lf_lc_submit(n->ab, CH, env, env_len, prop.tx_id, &waiter, 1,
			       0, &code, &err), &err, "submit offline approval");
	assert_int_equal(code, LF_LC_TX_VALID);
	free(sig);
	free(sp);
	free(pl);
	free(env);
	lf_lc_endorsed_clear(&e);
	lf_lc_proposal_clear(&prop);
}

/* the gateway client as org1's User1: the result text */
static char *gateway(const char *mode, const char *args)
{
	char *out;

	sh("cd '%s' && node '%s/tests/node/cc-gateway.js' %s 127.0.0.1:%d "
	   "'%s/" PEER_TLS_CA("1") "' '%s/" USER_MSP("1") "' Org1MSP " CH
	   " basic %s > gw.out 2> gw.err || { cat gw.err >&2; false; }",
	   t.dir, LF_SOURCE_DIR, mode, P_PEER1, t.dir, t.dir, args);
	out = ct_read(&t, "gw.out");
	assert_non_null(out);
	return out;
}

static void check_committed(struct net *n, const char *version, int64_t seq)
{
	struct lf_lc_info info;
	struct lf_err err = LF_ERR_INIT;

	expect_ok(lf_lc_query_committed(&n->p2, CH, "basic", &info, &err), &err,
		  "querycommitted");
	assert_string_equal(info.version, version);
	assert_int_equal(info.sequence, seq);
	assert_string_equal(info.validation_plugin, "vscc");
	assert_int_equal(info.n_approvals, 2);
	assert_true(info.approvals[0].approved && info.approvals[1].approved);
	lf_lc_info_clear(&info);
}

static void deploy_v1(struct net *n, const uint8_t *pol, size_t pol_len)
{
	struct lf_lc_def d = { .name = "basic", .version = "1", .sequence = 1,
			       .validation_parameter = pol,
			       .validation_parameter_len = pol_len };
	struct lf_lc_info info;
	struct lf_err err = LF_ERR_INIT;
	char pid[LF_LC_PACKAGE_ID_MAX];
	size_t len;
	char *pkg = make_package("basic_1", P_CC1, &len);

	install_both(n, pkg, len, "basic_1", pid);
	cc_pid[0] = start_cc(pid, P_CC1, 1);
	d.package_id = pid;
	assert_int_equal(lf_lc_query_committed(&n->p1, CH, "basic", &info, &err),
			 LF_ENOTFOUND);
	lf_err_clear(&err);
	expect_ok(lf_lc_approve(&n->p1, 1, n->ab, CH, &d, &n->admin1, 0, &err),
		  &err, "approve org1");
	expect_ready(n, &d, "Org1MSP=1,Org2MSP=0");
	approve_offline(n, &d);
	expect_ready(n, &d, "Org1MSP=1,Org2MSP=1");
	expect_ok(lf_lc_query_approved(&n->p2, CH, "basic", 0, &info, &err),
		  &err, "queryapproved org2");
	assert_string_equal(info.package_id, pid);
	assert_int_equal(info.sequence, 1);
	lf_lc_info_clear(&info);
	expect_ok(lf_lc_commit(n->both, 2, n->ab, CH, &d, &n->admin1, 0, &err),
		  &err, "commit");
	check_committed(n, "1", 1);
	free(pkg);
}

static void upgrade_v2(struct net *n, const uint8_t *pol, size_t pol_len)
{
	struct lf_lc_def d = { .name = "basic", .version = "2", .sequence = 2,
			       .validation_parameter = pol,
			       .validation_parameter_len = pol_len };
	struct lf_err err = LF_ERR_INIT;
	char pid[LF_LC_PACKAGE_ID_MAX];
	size_t len;
	char *pkg = make_package("basic_2", P_CC2, &len);

	install_both(n, pkg, len, "basic_2", pid);
	cc_pid[1] = start_cc(pid, P_CC2, 2);
	d.package_id = pid;
	expect_ok(lf_lc_approve(&n->p1, 1, n->ab, CH, &d, &n->admin1, 0, &err),
		  &err, "approve v2 org1");
	expect_ok(lf_lc_approve(&n->p2, 1, n->ab, CH, &d, &n->admin2, 0, &err),
		  &err, "approve v2 org2");
	expect_ready(n, &d, "Org1MSP=1,Org2MSP=1");
	/* endorsed by org1 alone: MAJORITY Endorsement of 2 orgs is not met;
	 * the orderer takes it, the peers invalidate it, and we say why */
	assert_int_equal(lf_lc_commit(&n->p1, 1, n->ab, CH, &d, &n->admin1, 0,
				      &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "ENDORSEMENT_POLICY_FAILURE"));
	lf_err_clear(&err);
	check_committed(n, "1", 1);
	expect_ok(lf_lc_commit(n->both, 2, n->ab, CH, &d, &n->admin1, 0, &err),
		  &err, "commit v2");
	check_committed(n, "2", 2);
	free(pkg);
}

static void test_e2e_lifecycle(void **state)
{
	const char *bin = ct_fabric_bin();
	struct net n = { 0 };
	struct lf_err err = LF_ERR_INIT;
	uint8_t *pol = NULL;
	size_t pol_len = 0;
	char *out;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the chaincode lifecycle on real nodes\n");
		skip();
	}
	if (access(LF_SOURCE_DIR "/tests/node/node_modules/fabric-shim", F_OK) ||
	    access(LF_SOURCE_DIR "/tests/node/node_modules/@hyperledger/fabric-gateway",
		   F_OK) || system("node --version > /dev/null 2>&1") != 0) {
		print_message("node or the npm modules of tests/node (fabric-shim, "
			      "@hyperledger/fabric-gateway) are missing: skipping\n");
		skip();
	}
	ct_init(&t, "lcc");
	setenv("FABRIC_BIN", bin, 1);
	write_spec();
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		print_message("%s\n%s\n", t.out, t.err);
	assert_int_equal(t.status, 0);
	assert_int_equal(ct_mode(&t, W "/hosts/peer0-org1/fabric/builders/ccaas/bin/detect"), 0755);
	assert_int_equal(ct_mode(&t, W "/hosts/peer0-org2/fabric/builders/ccaas/bin/release"), 0755);

	net_open(&n);
	assert_int_equal(lf_lc_policy_signature("OR('Org1MSP.peer','Org2MSP.peer')",
						&pol, &pol_len, &err), 0);
	deploy_v1(&n, pol, pol_len);
	out = gateway("submit", "put k1 hello");
	assert_string_equal(out, "{\"result\":\"hello\"}\n");
	free(out);
	out = gateway("evaluate", "get k1");
	assert_string_equal(out, "{\"result\":\"hello\"}\n");
	free(out);

	upgrade_v2(&n, pol, pol_len);
	out = gateway("evaluate", "get k1");
	assert_string_equal(out, "{\"result\":\"v2:hello\"}\n");
	free(out);
	free(pol);
	net_close(&n);
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	ct_done(&t);
}

/* whatever happened, no node or chaincode server outlives the test */
static int stop_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < 2; i++)
		if (cc_pid[i] > 0) {
			kill(cc_pid[i], SIGTERM);
			waitpid(cc_pid[i], NULL, 0);
			cc_pid[i] = -1;
		}
	for (size_t i = 0; t.dir[0] && i < LF_ARRAY_LEN(hosts); i++) {
		long pid = ct_node_pid(&t, W "/hosts", hosts[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_lifecycle, stop_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
