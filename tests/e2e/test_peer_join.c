/*
 * core/net/peer against a real Fabric 2.5 peer: ledgerform renders the
 * crypto and the genesis blocks of a network with one etcdraft orderer
 * and one peer (explicit ports in 24000-24499, on 127.0.0.1), the test
 * starts both from FABRIC_BIN, joins the orderer with the participation
 * client, then joins the peer with lf_peer_join as the org admin (signed
 * proposals over gRPC, no peer CLI): a second join is a no-op, GetChannels
 * lists the channel, GetChainInfo gives height >= 1 and the same height
 * and block hash as the real `peer channel getinfo`. A non-admin's join
 * is refused with the peer's reason; a wrong TLS CA is refused.
 * Needs FABRIC_BIN (config from FABRIC_CFG_PATH, else FABRIC_BIN/../config);
 * skips without it. A teardown stops every node the test started.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "clitest.h"
#include "core/net/participation.h"
#include "core/net/peer.h"
#include "core/util/util.h"

#define ORD_ORG "crypto/ordererOrganizations/ordering.example.com"
#define ORD_NODE ORD_ORG "/orderers/orderer0.ordering.example.com"
#define ORD_ADMIN_TLS ORD_ORG "/users/Admin@ordering.example.com/tls"
#define PEER_ORG "crypto/peerOrganizations/org1.example.com"
#define PEER_NODE PEER_ORG "/peers/peer0.org1.example.com"
#define PEER_ADMIN_MSP PEER_ORG "/users/Admin@org1.example.com/msp"
#define PEER_USER_MSP PEER_ORG "/users/User1@org1.example.com/msp"

/* this test's ports: 24000-24499 */
#define PORT_LO 24000
#define PORT_HI 24499

static struct {
	struct clitest t;
	const char *bin;
	char *cfg;
	int base;               /* orderer base+0..2, peer base+10..12 */
	pid_t orderer, peer;    /* stopped by the teardown too */
} F = { .orderer = -1, .peer = -1 };

static bool port_free(int port)
{
	struct sockaddr_in sa = { 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	bool ok;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* a base with the 6 ports this test uses free, in our range */
static int pick_base(void)
{
	static const int off[] = { 0, 1, 2, 10, 11, 12 };

	for (int b = PORT_LO; b + 12 <= PORT_HI; b += 20) {
		size_t i = 0;

		while (i < LF_ARRAY_LEN(off) && port_free(b + off[i]))
			i++;
		if (i == LF_ARRAY_LEN(off))
			return b;
	}
	return -1;
}

/* One environment setting of a node: value kinds say how `v` is read. */
enum ev_kind {
	EV_LIT,   /* v as is */
	EV_NODE,  /* TESTDIR/NODEDIR + v (the node's crypto) */
	EV_DATA,  /* TESTDIR/data + v */
	EV_ROOTS, /* "[TESTDIR/NODEDIR/tls/ca.crt]" */
	EV_PORT,  /* base + off */
	EV_ADDR,  /* "127.0.0.1:" base + off */
};
struct ev {
	const char *k;
	enum ev_kind kind;
	const char *v;
	int off;
};

static const struct ev orderer_env[] = {
	{ "ORDERER_GENERAL_LISTENADDRESS", EV_LIT, "127.0.0.1", 0 },
	{ "ORDERER_GENERAL_LISTENPORT", EV_PORT, NULL, 0 },
	{ "ORDERER_GENERAL_LOCALMSPID", EV_LIT, "OrderingMSP", 0 },
	{ "ORDERER_GENERAL_LOCALMSPDIR", EV_NODE, "/msp", 0 },
	{ "ORDERER_GENERAL_TLS_ENABLED", EV_LIT, "true", 0 },
	{ "ORDERER_GENERAL_TLS_PRIVATEKEY", EV_NODE, "/tls/server.key", 0 },
	{ "ORDERER_GENERAL_TLS_CERTIFICATE", EV_NODE, "/tls/server.crt", 0 },
	{ "ORDERER_GENERAL_TLS_ROOTCAS", EV_ROOTS, NULL, 0 },
	{ "ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE", EV_NODE, "/tls/server.crt", 0 },
	{ "ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY", EV_NODE, "/tls/server.key", 0 },
	{ "ORDERER_GENERAL_CLUSTER_ROOTCAS", EV_ROOTS, NULL, 0 },
	{ "ORDERER_GENERAL_BOOTSTRAPMETHOD", EV_LIT, "none", 0 },
	{ "ORDERER_CHANNELPARTICIPATION_ENABLED", EV_LIT, "true", 0 },
	{ "ORDERER_ADMIN_LISTENADDRESS", EV_ADDR, NULL, 1 },
	{ "ORDERER_ADMIN_TLS_ENABLED", EV_LIT, "true", 0 },
	{ "ORDERER_ADMIN_TLS_CERTIFICATE", EV_NODE, "/tls/server.crt", 0 },
	{ "ORDERER_ADMIN_TLS_PRIVATEKEY", EV_NODE, "/tls/server.key", 0 },
	{ "ORDERER_ADMIN_TLS_ROOTCAS", EV_ROOTS, NULL, 0 },
	{ "ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED", EV_LIT, "true", 0 },
	{ "ORDERER_ADMIN_TLS_CLIENTROOTCAS", EV_ROOTS, NULL, 0 },
	{ "ORDERER_OPERATIONS_LISTENADDRESS", EV_ADDR, NULL, 2 },
	{ "ORDERER_METRICS_PROVIDER", EV_LIT, "disabled", 0 },
	{ "ORDERER_FILELEDGER_LOCATION", EV_DATA, "/orderer/ledger", 0 },
	{ "ORDERER_CONSENSUS_WALDIR", EV_DATA, "/orderer/wal", 0 },
	{ "ORDERER_CONSENSUS_SNAPDIR", EV_DATA, "/orderer/snap", 0 },
};

static const struct ev peer_env[] = {
	{ "CORE_PEER_ID", EV_LIT, "peer0.org1.example.com", 0 },
	{ "CORE_PEER_ADDRESS", EV_ADDR, NULL, 10 },
	{ "CORE_PEER_LISTENADDRESS", EV_ADDR, NULL, 10 },
	{ "CORE_PEER_CHAINCODEADDRESS", EV_ADDR, NULL, 11 },
	{ "CORE_PEER_CHAINCODELISTENADDRESS", EV_ADDR, NULL, 11 },
	{ "CORE_PEER_GOSSIP_BOOTSTRAP", EV_ADDR, NULL, 10 },
	{ "CORE_PEER_GOSSIP_EXTERNALENDPOINT", EV_ADDR, NULL, 10 },
	{ "CORE_PEER_LOCALMSPID", EV_LIT, "Org1MSP", 0 },
	{ "CORE_PEER_MSPCONFIGPATH", EV_NODE, "/msp", 0 },
	{ "CORE_PEER_TLS_ENABLED", EV_LIT, "true", 0 },
	{ "CORE_PEER_TLS_CERT_FILE", EV_NODE, "/tls/server.crt", 0 },
	{ "CORE_PEER_TLS_KEY_FILE", EV_NODE, "/tls/server.key", 0 },
	{ "CORE_PEER_TLS_ROOTCERT_FILE", EV_NODE, "/tls/ca.crt", 0 },
	{ "CORE_PEER_FILESYSTEMPATH", EV_DATA, "/peer", 0 },
	{ "CORE_LEDGER_SNAPSHOTS_ROOTDIR", EV_DATA, "/peer/snapshots", 0 },
	{ "CORE_OPERATIONS_LISTENADDRESS", EV_ADDR, NULL, 12 },
	{ "CORE_METRICS_PROVIDER", EV_LIT, "disabled", 0 },
	{ "CORE_VM_ENDPOINT", EV_LIT, "", 0 },
};

/* in the child: FABRIC_CFG_PATH and the table's settings */
static void set_env(const struct ev *e, size_t n, const char *node)
{
	const char *d = F.t.dir;
	char v[1024];

	setenv("FABRIC_CFG_PATH", F.cfg, 1);
	for (size_t i = 0; i < n; i++, e++) {
		if (e->kind == EV_LIT)
			snprintf(v, sizeof(v), "%s", e->v);
		else if (e->kind == EV_NODE)
			snprintf(v, sizeof(v), "%s/%s%s", d, node, e->v);
		else if (e->kind == EV_DATA)
			snprintf(v, sizeof(v), "%s/data%s", d, e->v);
		else if (e->kind == EV_ROOTS)
			snprintf(v, sizeof(v), "[%s/%s/tls/ca.crt]", d, node);
		else if (e->kind == EV_PORT)
			snprintf(v, sizeof(v), "%d", F.base + e->off);
		else
			snprintf(v, sizeof(v), "127.0.0.1:%d", F.base + e->off);
		setenv(e->k, v, 1);
	}
}

/* start FABRIC_BIN/exe [arg1 arg2] with the table's environment, its
 * output to TESTDIR/LOG; returns the pid */
static pid_t node_start(const struct ev *env, size_t n, const char *node,
			const char *logname, const char *exe, const char *arg1,
			const char *arg2)
{
	char log[512], path[1024];
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	set_env(env, n, node);
	snprintf(log, sizeof(log), "%s/%s", F.t.dir, logname);
	snprintf(path, sizeof(path), "%s/%s", F.bin, exe);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execl(path, exe, arg1, arg2, (char *)NULL);
	_exit(127);
}

static void node_stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

/* print a node's log when something about it failed */
static void show_log(const char *name)
{
	char *log = ct_read(&F.t, name);

	fprintf(stderr, "---- %s ----\n%s\n", name, log ? log : "(none)");
	free(log);
}

/* render the crypto and both channels' genesis blocks */
static void render_network(void)
{
	char *spec = lf_xasprintf(
		"name: pjoin\nfabric:\n  version: \"2.5\"\n  consensus: etcdraft\n"
		"orgs:\n  - name: ordering\n"
		"    orderers: {count: 1, ports: {listen: %d, admin: %d, "
		"operations: %d}}\n"
		"  - name: org1\n"
		"    peers: {count: 1, ports: {listen: %d, chaincode: %d, "
		"operations: %d}}\n"
		"channels:\n  - name: mychannel\n    orgs: [org1]\n"
		"  - name: other\n    orgs: [org1]\n",
		F.base, F.base + 1, F.base + 2, F.base + 10, F.base + 11,
		F.base + 12);

	ct_write(&F.t, "spec.yaml", spec);
	free(spec);
	assert_int_equal(ct_run(&F.t, "validate -f spec.yaml"), 0);
	assert_int_equal(ct_run(&F.t, "render crypto -f spec.yaml -o crypto"), 0);
	assert_int_equal(ct_run(&F.t, "render block -f spec.yaml --channel "
				"mychannel -o mychannel.block --crypto crypto"), 0);
	assert_int_equal(ct_run(&F.t, "render block -f spec.yaml --channel "
				"other -o other.block --crypto crypto"), 0);
}

static char *read_block(const char *name, size_t *len)
{
	struct lf_err err = LF_ERR_INIT;
	char *p = lf_path_join(F.t.dir, name), *blk = NULL;

	assert_int_equal(lf_read_file(p, &blk, len, &err), 0);
	free(p);
	return blk;
}

/* the orderer joins mychannel (it must serve it before the peer can pull
 * blocks); waits until its admin endpoint answers */
static void join_orderer(const char *blk, size_t len)
{
	struct lf_participation_conn c = { 0 };
	struct lf_participation_info info;
	struct lf_err err = LF_ERR_INIT;
	char ep[64], *ca = ct_read(&F.t, ORD_ADMIN_TLS "/ca.crt");
	char *crt = ct_read(&F.t, ORD_ADMIN_TLS "/client.crt");
	char *key = ct_read(&F.t, ORD_ADMIN_TLS "/client.key");
	uint64_t end = lf_now_ms() + 60000;
	int rc;

	assert_true(ca && crt && key);
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", F.base + 1);
	c.endpoint = ep;
	c.ca_pem = ca;
	c.cert_pem = crt;
	c.key_pem = key;
	c.timeout_ms = 20000;
	do {
		lf_err_clear(&err);
		rc = lf_participation_join(&c, "mychannel", blk, len, &info, &err);
		if (rc != LF_ERETRY || waitpid(F.orderer, NULL, WNOHANG) != 0)
			break;
		lf_sleep_ms(200);
	} while (lf_now_ms() < end);
	if (rc != 0) {
		fprintf(stderr, "orderer join: %s\n", err.msg);
		show_log("orderer.log");
	}
	assert_int_equal(rc, 0);
	lf_free_secret(key, strlen(key));
	free(crt);
	free(ca);
}

/* a gRPC channel to the peer, verified against tls_ca (a file) */
static lf_grpc_channel *peer_channel(const char *tls_ca)
{
	struct lf_grpc_tls tls = { 0 };
	struct lf_err err = LF_ERR_INIT;
	lf_grpc_channel *ch = NULL;
	char target[64], *ca = ct_read(&F.t, tls_ca);

	assert_non_null(ca);
	tls.ca_pem = ca;
	snprintf(target, sizeof(target), "127.0.0.1:%d", F.base + 10);
	assert_int_equal(lf_grpc_channel_new(&ch, target, &tls, &err), 0);
	free(ca);
	return ch;
}

static void load_identity(struct lf_identity *id, const char *mspdir)
{
	struct lf_err err = LF_ERR_INIT;
	char *p = lf_path_join(F.t.dir, mspdir);

	assert_int_equal(lf_identity_load(id, p, "Org1MSP", &err), 0);
	free(p);
}

/* until the peer's gRPC service answers (it is starting): a bound on
 * start-up, not a timing assertion; its channels when it does */
static size_t wait_peer(const struct lf_peer *p)
{
	struct lf_err err = LF_ERR_INIT;
	uint64_t end = lf_now_ms() + 60000;
	char **v = NULL;
	size_t n = 0;
	int rc;

	for (;;) {
		lf_err_clear(&err);
		rc = lf_peer_channels(p, &v, &n, &err);
		if (rc != LF_ERETRY || lf_now_ms() > end ||
		    waitpid(F.peer, NULL, WNOHANG) != 0)
			break;
		lf_sleep_ms(200);
	}
	if (rc != 0) {
		fprintf(stderr, "peer not answering: %s\n", err.msg);
		show_log("peer.log");
	}
	assert_int_equal(rc, 0);
	lf_peer_channels_free(v);
	return n;
}

/* `peer channel getinfo -c CHANNEL` as the org admin: the CLI's answer,
 * {"height":N,"currentBlockHash":"base64",...} */
static json_t *cli_getinfo(const char *channel)
{
	const char *d = F.t.dir;
	char *cmd = lf_xasprintf(
		"FABRIC_CFG_PATH='%s' CORE_PEER_ADDRESS=127.0.0.1:%d "
		"CORE_PEER_LOCALMSPID=Org1MSP CORE_PEER_MSPCONFIGPATH='%s/"
		PEER_ADMIN_MSP "' CORE_PEER_TLS_ENABLED=true "
		"CORE_PEER_TLS_ROOTCERT_FILE='%s/" PEER_NODE "/tls/ca.crt' "
		"'%s/peer' channel getinfo -c %s 2>&1",
		F.cfg, F.base + 10, d, d, F.bin, channel);
	FILE *f = popen(cmd, "r");
	char line[4096];
	json_t *v = NULL;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *j = strstr(line, "Blockchain info: ");

		if (j && !v)
			v = json_loads(j + strlen("Blockchain info: "), 0, NULL);
	}
	assert_int_equal(pclose(f), 0);
	free(cmd);
	assert_non_null(v);
	return v;
}

static void check_against_cli(const struct lf_peer_chain_info *ci)
{
	json_t *v = cli_getinfo("mychannel");
	unsigned char b64[128];
	int n = EVP_EncodeBlock(b64, ci->current_hash, (int)ci->current_hash_len);

	assert_true(n > 0);
	assert_int_equal(json_integer_value(json_object_get(v, "height")),
			 (json_int_t)ci->height);
	assert_string_equal(json_string_value(json_object_get(v,
			    "currentBlockHash")), (char *)b64);
	json_decref(v);
}

/* join as the admin; idempotent; listed; height >= 1, as the CLI says */
static void check_join(const struct lf_peer *admin, const char *blk,
		       size_t len)
{
	struct lf_peer_chain_info ci;
	struct lf_err err = LF_ERR_INIT;
	char **v = NULL;
	size_t n = 0;
	bool already = true;
	int rc = lf_peer_join(admin, blk, len, &already, &err);

	if (rc != 0) {
		fprintf(stderr, "peer join: %s\n", err.msg);
		show_log("peer.log");
	}
	assert_int_equal(rc, 0);
	assert_false(already);
	assert_int_equal(lf_peer_join(admin, blk, len, &already, &err), 0);
	assert_true(already);
	assert_int_equal(lf_peer_channels(admin, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0], "mychannel");
	assert_null(v[1]);
	lf_peer_channels_free(v);
	assert_int_equal(lf_peer_height(admin, "mychannel", &ci, &err), 0);
	assert_true(ci.height >= 1);
	assert_int_equal(ci.current_hash_len, 32);
	check_against_cli(&ci);
}

/* what the peer itself answers a second JoinChain (the text lf_peer_join
 * takes for "already joined" when GetChannels raced with another join) */
static void check_already_text(const struct lf_peer *admin, const char *blk,
			       size_t len)
{
	const struct lf_bytes args[] = { { "JoinChain", 9 }, { blk, len } };
	struct lf_proposal_reply r;
	struct lf_err err = LF_ERR_INIT;
	char tx[65];

	assert_int_equal(lf_peer_invoke(admin, "", "cscc", args, 2, &r, tx, &err),
			 LF_ERROR);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.message, "already exists"));
	assert_non_null(strstr(err.msg, "peer: status 500: "));
	assert_int_equal(strlen(tx), 64);
	lf_proposal_reply_clear(&r);
}

/* refusals carry the peer's reason; a server not matching the CA is not
 * spoken to */
static void check_refusals(const struct lf_peer *admin)
{
	struct lf_identity user = { 0 };
	struct lf_peer as_user = *admin, wrong_ca = *admin;
	struct lf_peer_chain_info ci;
	struct lf_err err = LF_ERR_INIT;
	size_t len = 0;
	char *other = read_block("other.block", &len);
	bool already = true;
	char **v = NULL;
	size_t n = 0;

	/* a member that is not an admin: GetChannels yes, JoinChain no
	 * ("access denied for [JoinChain][other]: ... not an admin") */
	load_identity(&user, PEER_USER_MSP);
	as_user.id = &user;
	assert_int_equal(lf_peer_join(&as_user, other, len, &already, &err),
			 LF_EAUTH);
	assert_false(already);
	assert_non_null(strstr(err.msg, "access denied"));
	assert_null(strstr(err.msg, "PRIVATE KEY"));
	/* a channel the peer has not joined has no chain info */
	lf_err_clear(&err);
	assert_int_equal(lf_peer_height(admin, "other", &ci, &err), LF_ENOTFOUND);
	assert_string_equal(err.msg, "peer: status 500: Invalid chain ID, other");
	/* the orderer org's TLS CA did not issue the peer's certificate */
	lf_err_clear(&err);
	wrong_ca.ch = peer_channel(ORD_NODE "/tls/ca.crt");
	assert_int_equal(lf_peer_channels(&wrong_ca, &v, &n, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "certificate"));
	assert_null(v);
	lf_grpc_channel_free(wrong_ca.ch);
	lf_identity_clear(&user);
	free(other);
}

static void test_peer_join_channel(void **state)
{
	const char *cfg_env = getenv("FABRIC_CFG_PATH");
	struct lf_identity admin_id = { 0 };
	struct lf_peer admin = { 0 };
	size_t len = 0;
	char *blk;

	(void)state;
	F.bin = ct_fabric_bin();
	if (!F.bin || !*F.bin) {
		fprintf(stderr, "test_peer_join: FABRIC_BIN unset, skipping "
			"(needs a Fabric 2.5 orderer and peer)\n");
		skip();
	}
	F.cfg = cfg_env && *cfg_env ? lf_xstrdup(cfg_env)
				    : lf_xasprintf("%s/../config", F.bin);
	ct_init(&F.t, "pjoin");
	F.base = pick_base();
	assert_true(F.base >= PORT_LO);
	render_network();
	blk = read_block("mychannel.block", &len);
	F.orderer = node_start(orderer_env, LF_ARRAY_LEN(orderer_env), ORD_NODE,
			       "orderer.log", "orderer", NULL, NULL);
	F.peer = node_start(peer_env, LF_ARRAY_LEN(peer_env), PEER_NODE,
			    "peer.log", "peer", "node", "start");
	assert_true(F.orderer > 0 && F.peer > 0);
	join_orderer(blk, len);

	load_identity(&admin_id, PEER_ADMIN_MSP);
	admin.id = &admin_id;
	admin.ch = peer_channel(PEER_NODE "/tls/ca.crt");
	admin.deadline_ms = 30000;
	assert_int_equal(wait_peer(&admin), 0);
	check_join(&admin, blk, len);
	check_already_text(&admin, blk, len);
	check_refusals(&admin);

	lf_grpc_channel_free(admin.ch);
	lf_identity_clear(&admin_id);
	free(blk);
	node_stop(&F.peer);
	node_stop(&F.orderer);
}

static int group_teardown(void **state)
{
	(void)state;
	node_stop(&F.peer);
	node_stop(&F.orderer);
	if (F.t.dir[0])
		ct_done(&F.t);
	free(F.cfg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_join_channel),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
