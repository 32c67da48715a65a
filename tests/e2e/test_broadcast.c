/*
 * The AtomicBroadcast client (core/net/ab) against a real Fabric 2.5
 * orderer: ledgerform renders the crypto and the genesis block of a channel
 * with one etcdraft orderer; the test starts that orderer on 127.0.0.1
 * (ports 24510-24512, mutual TLS required on its gRPC listener as well as
 * on its admin endpoint), joins it through the participation API and then
 * - Delivers block 0 and finds it byte for byte the genesis block;
 * - submits a real config update (the channel's max_message_count 10 ->
 *   20: computed from the delivered config, signed by the orderer org's
 *   admin with `ledgerform sign`'s code, submitted by that admin) and sees
 *   the config block with sequence 1 delivered;
 * - gets the orderer's reason for a refused update (one without the admin
 *   signatures; the same update again, stale) with nothing changed;
 * - cross-checks with the real `peer channel fetch config` CLI, whose
 *   block must be the very bytes ledgerform got, and configtxlator's
 *   decoding of it.
 * Needs FABRIC_BIN (orderer, peer, configtxlator; config from
 * FABRIC_CFG_PATH, else FABRIC_BIN/../config); skips without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clitest.h"
#include "core/fabric/block/block.h"
#include "core/net/ab.h"
#include "core/net/participation.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

/* every port of this test is in its range, 24500-24999 */
#define PORT 24510
#define ADMIN_PORT 24511
#define OPS_PORT 24512
#define CHANNEL "abchannel"

#define ORG_DIR "crypto/ordererOrganizations/ordering.example.com"
#define NODE_DIR ORG_DIR "/orderers/orderer0.ordering.example.com"
#define ADMIN_DIR ORG_DIR "/users/Admin@ordering.example.com"

static const char spec_fmt[] =
	"name: abcast\nfabric:\n  version: \"2.5\"\n  consensus: etcdraft\n"
	"orgs:\n  - name: ordering\n"
	"    orderers: {count: 1, port: %d, sans: [localhost, 127.0.0.1]}\n"
	"  - name: org1\n    peers: {count: 1}\n"
	"channels:\n  - name: " CHANNEL "\n    orgs: [org1]\n"
	"    batch: {max_message_count: %d}\n";

struct bc {
	struct clitest t;
	const char *bin;
	char *cfg;
	pid_t pid;
	char *ca, *crt, *key;   /* the admin's TLS material */
	size_t key_len;
	char *mspdir;           /* the orderer org admin's MSP */
	uint8_t *genesis;
	size_t genesis_len;
	lf_ab *ab;
};

/* the orderer of the running test, stopped by the teardown too */
static pid_t orderer_pid = -1;

static void put_env(const char *k, const char *fmt, ...) LF_PRINTF(2, 3);
static void put_env(const char *k, const char *fmt, ...)
{
	char v[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	setenv(k, v, 1);
}

/* the orderer's TLS settings: its listener requires client certificates */
static void orderer_env_tls(const char *d)
{
	put_env("ORDERER_GENERAL_TLS_ENABLED", "true");
	put_env("ORDERER_GENERAL_TLS_PRIVATEKEY", "%s/" NODE_DIR "/tls/server.key", d);
	put_env("ORDERER_GENERAL_TLS_CERTIFICATE", "%s/" NODE_DIR "/tls/server.crt", d);
	put_env("ORDERER_GENERAL_TLS_ROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_GENERAL_TLS_CLIENTAUTHREQUIRED", "true");
	put_env("ORDERER_GENERAL_TLS_CLIENTROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE", "%s/" NODE_DIR "/tls/server.crt", d);
	put_env("ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY", "%s/" NODE_DIR "/tls/server.key", d);
	put_env("ORDERER_GENERAL_CLUSTER_ROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_ADMIN_LISTENADDRESS", "127.0.0.1:%d", ADMIN_PORT);
	put_env("ORDERER_ADMIN_TLS_ENABLED", "true");
	put_env("ORDERER_ADMIN_TLS_CERTIFICATE", "%s/" NODE_DIR "/tls/server.crt", d);
	put_env("ORDERER_ADMIN_TLS_PRIVATEKEY", "%s/" NODE_DIR "/tls/server.key", d);
	put_env("ORDERER_ADMIN_TLS_ROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED", "true");
	put_env("ORDERER_ADMIN_TLS_CLIENTROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
}

/* Start FABRIC_BIN/orderer for the rendered node, output in orderer.log */
static pid_t orderer_start(struct bc *b)
{
	const char *d = b->t.dir;
	char log[512], exe[1024];
	pid_t pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	put_env("FABRIC_CFG_PATH", "%s", b->cfg);
	put_env("ORDERER_GENERAL_LISTENADDRESS", "127.0.0.1");
	put_env("ORDERER_GENERAL_LISTENPORT", "%d", PORT);
	put_env("ORDERER_GENERAL_LOCALMSPID", "OrderingMSP");
	put_env("ORDERER_GENERAL_LOCALMSPDIR", "%s/" NODE_DIR "/msp", d);
	put_env("ORDERER_GENERAL_BOOTSTRAPMETHOD", "none");
	put_env("ORDERER_CHANNELPARTICIPATION_ENABLED", "true");
	put_env("ORDERER_OPERATIONS_LISTENADDRESS", "127.0.0.1:%d", OPS_PORT);
	put_env("ORDERER_METRICS_PROVIDER", "disabled");
	put_env("ORDERER_FILELEDGER_LOCATION", "%s/data/ledger", d);
	put_env("ORDERER_CONSENSUS_WALDIR", "%s/data/wal", d);
	put_env("ORDERER_CONSENSUS_SNAPDIR", "%s/data/snap", d);
	orderer_env_tls(d);
	snprintf(log, sizeof(log), "%s/orderer.log", d);
	snprintf(exe, sizeof(exe), "%s/orderer", b->bin);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execl(exe, "orderer", (char *)NULL);
	_exit(127);
}

static void orderer_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

static void show_log(struct bc *b, const char *what, const char *msg)
{
	char *log = ct_read(&b->t, "orderer.log");
	size_t n = log ? strlen(log) : 0;

	fprintf(stderr, "%s: %s\n--- orderer.log (end) ---\n%s\n", what, msg,
		log ? log + (n > 4000 ? n - 4000 : 0) : "(none)");
	free(log);
}

/* render, start, join; b->ab ready */
static void setup_network(struct bc *b)
{
	struct lf_participation_conn c = { 0 };
	struct lf_participation_info info;
	struct lf_grpc_tls tls = { NULL, NULL, NULL, NULL };
	struct lf_err err = LF_ERR_INIT;
	char *spec, ep[64], *p;
	uint64_t end;
	int rc;

	spec = lf_xasprintf(spec_fmt, PORT, 10);
	ct_write(&b->t, "spec.yaml", spec);
	free(spec);
	assert_int_equal(ct_run(&b->t, "render crypto -f spec.yaml -o crypto"), 0);
	assert_int_equal(ct_run(&b->t, "render block -f spec.yaml --channel "
				CHANNEL " -o genesis.block --crypto crypto"), 0);
	b->ca = ct_read(&b->t, ADMIN_DIR "/tls/ca.crt");
	b->crt = ct_read(&b->t, ADMIN_DIR "/tls/client.crt");
	b->key = ct_read(&b->t, ADMIN_DIR "/tls/client.key");
	assert_true(b->ca && b->crt && b->key);
	b->key_len = strlen(b->key);
	b->mspdir = lf_path_join(b->t.dir, ADMIN_DIR "/msp");
	p = lf_path_join(b->t.dir, "genesis.block");
	assert_int_equal(lf_read_file(p, (char **)&b->genesis, &b->genesis_len,
				      &err), 0);
	free(p);

	b->pid = orderer_pid = orderer_start(b);
	assert_true(b->pid > 0);
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", ADMIN_PORT);
	c.endpoint = ep;
	c.ca_pem = b->ca;
	c.cert_pem = b->crt;
	c.key_pem = b->key;
	c.key_len = b->key_len;
	c.timeout_ms = 20000;
	/* bounded wait for the admin endpoint, then the join */
	end = lf_now_ms() + 60000;
	do {
		lf_err_clear(&err);
		rc = lf_participation_join(&c, CHANNEL, b->genesis,
					   b->genesis_len, &info, &err);
		if (rc != LF_ERETRY || waitpid(b->pid, NULL, WNOHANG) != 0)
			break;
		lf_sleep_ms(200);
	} while (lf_now_ms() < end);
	if (rc != 0)
		show_log(b, "join", err.msg);
	assert_int_equal(rc, 0);

	tls.ca_pem = b->ca;
	tls.cert_pem = b->crt;
	tls.key_pem = b->key;
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", PORT);
	assert_int_equal(lf_ab_new(&b->ab, ep, &tls, &err), 0);
}

static struct lf_ab_signer admin(const struct bc *b)
{
	struct lf_ab_signer s = { b->mspdir, "OrderingMSP" };

	return s;
}

/* block `n`, polling while the channel comes up (a bound, not a timing
 * assertion) */
static int deliver_ready(struct bc *b, uint64_t n, uint8_t **blk, size_t *len,
			 struct lf_err *err)
{
	struct lf_ab_signer s = admin(b);
	uint64_t end = lf_now_ms() + 60000;
	int rc;

	do {
		lf_err_clear(err);
		rc = lf_ab_deliver_block(b->ab, CHANNEL, &s, n, 0, blk, len, err);
		if (rc != LF_ERETRY && rc != LF_ENOTFOUND)
			break;
		lf_sleep_ms(200);
	} while (lf_now_ms() < end);
	return rc;
}

static void step_deliver_genesis(struct bc *b)
{
	struct lf_ab_signer s = admin(b);
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk = NULL;
	size_t len = 0;
	uint64_t h = 0, seq = 9, t0;
	int rc;

	rc = deliver_ready(b, 0, &blk, &len, &err);
	if (rc != 0)
		show_log(b, "deliver block 0", err.msg);
	assert_int_equal(rc, 0);
	free(blk);
	t0 = lf_now_ms();
	assert_int_equal(lf_ab_deliver_block(b->ab, CHANNEL, &s, 0, 0, &blk,
					     &len, &err), 0);
	printf("  Deliver of block 0 (%zu bytes): %llu ms\n", len,
	       (unsigned long long)(lf_now_ms() - t0));
	assert_int_equal(len, b->genesis_len);
	assert_memory_equal(blk, b->genesis, len);
	free(blk);
	assert_int_equal(lf_ab_deliver_block(b->ab, CHANNEL, &s, LF_AB_OLDEST,
					     0, &blk, &len, &err), 0);
	assert_int_equal(len, b->genesis_len);
	assert_memory_equal(blk, b->genesis, len);
	free(blk);
	assert_int_equal(lf_ab_height(b->ab, CHANNEL, &s, &h, &err), 0);
	assert_int_equal(h, 1);
	assert_int_equal(lf_ab_config_block(b->ab, CHANNEL, &s, &blk, &len,
					    &seq, &err), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(len, b->genesis_len);
	assert_memory_equal(blk, b->genesis, len);
	free(blk);
	/* a block not there yet: NOT_FOUND now, or a deadline when waiting */
	assert_int_equal(lf_ab_deliver_block(b->ab, CHANNEL, &s, 5, 0, &blk,
					     &len, &err), LF_ENOTFOUND);
	printf("  block 5 now: %s\n", err.msg);
	lf_err_clear(&err);
	/* Fabric waits only for the next block (the height); past that the
	 * ledger answers NOT_FOUND even to BLOCK_UNTIL_READY */
	assert_int_equal(lf_ab_deliver_block(b->ab, CHANNEL, &s, 5, 1500, &blk,
					     &len, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	assert_int_equal(lf_ab_deliver_block(b->ab, CHANNEL, &s, 1, 1500, &blk,
					     &len, &err), LF_ETIMEOUT);
	printf("  block 1, waiting: %s\n", err.msg);
	assert_null(blk);
	lf_err_clear(&err);
	/* a signer the channel's Readers policy does not admit (org1's admin
	 * claiming the orderer org's MSP id): FORBIDDEN */
	{
		char *msp = lf_path_join(b->t.dir, "crypto/peerOrganizations/"
					 "org1.example.com/users/"
					 "Admin@org1.example.com/msp");
		struct lf_ab_signer bad = { msp, "OrderingMSP" };

		assert_int_equal(lf_ab_deliver_block(b->ab, CHANNEL, &bad, 0,
						     0, &blk, &len, &err),
				 LF_EAUTH);
		printf("  foreign signer: %s\n", err.msg);
		assert_non_null(strstr(err.msg, "FORBIDDEN"));
		lf_err_clear(&err);
		free(msp);
	}
	/* an unknown channel */
	assert_int_equal(lf_ab_deliver_block(b->ab, "nochannel", &s, 0, 0, &blk,
					     &len, &err), LF_ENOTFOUND);
	printf("  unknown channel: %s\n", err.msg);
}

/* the orderer requires mutual TLS: a client without a certificate gets
 * nothing */
static void step_no_client_cert(struct bc *b)
{
	struct lf_grpc_tls tls = { b->ca, NULL, NULL, NULL };
	struct lf_ab_signer s = admin(b);
	struct lf_err err = LF_ERR_INIT;
	lf_ab *anon = NULL;
	uint64_t h = 0;
	char ep[64];
	int rc;

	snprintf(ep, sizeof(ep), "127.0.0.1:%d", PORT);
	assert_int_equal(lf_ab_new(&anon, ep, &tls, &err), 0);
	rc = lf_ab_height(anon, CHANNEL, &s, &h, &err);
	printf("  without a client certificate: %s\n", err.msg);
	/* Go's gRPC server drops such a connection after the TLS 1.3
	 * handshake without an alert libcurl reports, so the code is
	 * LF_EAUTH or, indistinguishable from a dropped connection,
	 * LF_ERETRY */
	assert_true(rc == LF_EAUTH || rc == LF_ERETRY);
	assert_int_equal(h, 0);
	lf_ab_free(anon);
}

/* the current Config (bytes) as the orderer delivers it */
static void current_config(struct bc *b, uint8_t **cfg, size_t *len,
			   uint64_t *seq)
{
	struct lf_ab_signer s = admin(b);
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk = NULL;
	size_t blen = 0;

	assert_int_equal(lf_ab_config_block(b->ab, CHANNEL, &s, &blk, &blen,
					    seq, &err), 0);
	assert_int_equal(lf_block_config_bytes(blk, blen, cfg, len, &err), 0);
	free(blk);
}

/* the ConfigUpdateEnvelope to max_message_count 20, no signatures */
static void compute_update(struct bc *b, uint8_t **cue, size_t *cue_len)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_spec *spec = NULL;
	uint8_t *cfg = NULL;
	size_t cfg_len = 0;
	uint64_t seq = 0;
	char *text = lf_xasprintf(spec_fmt, PORT, 20), *crypto, *summary = NULL;

	assert_int_equal(lf_spec_load_buffer(&spec, "spec2.yaml", text,
					     strlen(text), NULL), 0);
	current_config(b, &cfg, &cfg_len, &seq);
	assert_int_equal(seq, 0);
	crypto = lf_path_join(b->t.dir, "crypto");
	assert_int_equal(lf_update_compute(cfg, cfg_len, spec, CHANNEL, crypto,
					   cue, cue_len, &summary, &err), 0);
	printf("  update: %s\n", summary);
	free(summary);
	free(crypto);
	free(cfg);
	free(text);
	lf_spec_free(spec);
}

/* an update without the admins' signatures: the orderer's reason, and
 * nothing changed */
static void step_refused_update(struct bc *b, const uint8_t *cue,
				size_t cue_len)
{
	struct lf_ab_signer s = admin(b);
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL, *blk = NULL;
	size_t len = 0, blen = 0;
	uint64_t h = 0;
	int rc;

	assert_int_equal(lf_update_envelope_signed(cue, cue_len, CHANNEL,
						   b->mspdir, "OrderingMSP",
						   &env, &len, &err), 0);
	rc = lf_ab_submit_config_update(b->ab, CHANNEL, &s, env, len, 1, 60000,
					&blk, &blen, &err);
	printf("  unsigned update: %s\n", err.msg);
	assert_int_equal(rc, LF_EINVALID);
	assert_null(blk);
	assert_non_null(strstr(err.msg, "refused the envelope: BAD_REQUEST: "));
	assert_non_null(strstr(err.msg, "BatchSize"));
	assert_int_equal(lf_ab_height(b->ab, CHANNEL, &s, &h, &err), 0);
	assert_int_equal(h, 1);
	free(env);
}

/* signed by the orderer org's admin: the config block with sequence 1 */
static void step_submit_update(struct bc *b, const uint8_t *cue,
			       size_t cue_len, uint8_t **blk, size_t *blen)
{
	struct lf_ab_signer s = admin(b);
	struct lf_ab_block_info bi;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *signed_cue = NULL, *env = NULL, *cfg = NULL, *cb = NULL;
	size_t signed_len = 0, len = 0, cfg_len = 0, cb_len = 0;
	uint64_t seq = 0, h = 0, t0;
	int rc;

	assert_int_equal(lf_update_sign(cue, cue_len, b->mspdir, "OrderingMSP",
					&signed_cue, &signed_len, &err), 0);
	current_config(b, &cfg, &cfg_len, &seq);
	assert_int_equal(lf_update_check(cfg, cfg_len, signed_cue, signed_len,
					 &err), 0);
	assert_int_equal(lf_update_envelope_signed(signed_cue, signed_len,
						   CHANNEL, b->mspdir,
						   "OrderingMSP", &env, &len,
						   &err), 0);
	t0 = lf_now_ms();
	rc = lf_ab_submit_config_update(b->ab, CHANNEL, &s, env, len, 1, 60000,
					blk, blen, &err);
	/* a measurement for the record, not an assertion */
	printf("  submit to config block delivered: %llu ms\n",
	       (unsigned long long)(lf_now_ms() - t0));
	if (rc != 0)
		show_log(b, "submit", err.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(lf_ab_block_info(*blk, *blen, &bi, &err), 0);
	assert_int_equal(bi.number, 1);
	assert_true(bi.is_config);
	assert_int_equal(bi.sequence, 1);
	lf_ab_block_info_clear(&bi);
	assert_int_equal(lf_ab_height(b->ab, CHANNEL, &s, &h, &err), 0);
	assert_int_equal(h, 2);
	assert_int_equal(lf_ab_config_block(b->ab, CHANNEL, &s, &cb, &cb_len,
					    &seq, &err), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(cb_len, *blen);
	assert_memory_equal(cb, *blk, cb_len);
	free(cb);
	free(env);
	/* the same update again is stale: refused here (sequence), and by
	 * the orderer when sent anyway */
	assert_int_equal(lf_update_envelope_signed(signed_cue, signed_len,
						   CHANNEL, b->mspdir,
						   "OrderingMSP", &env, &len,
						   &err), 0);
	assert_int_equal(lf_ab_submit_config_update(b->ab, CHANNEL, &s, env,
						    len, 1, 60000, &cb, &cb_len,
						    &err), LF_ECONFLICT);
	printf("  stale update: %s\n", err.msg);
	lf_err_clear(&err);
	assert_int_equal(lf_ab_broadcast(b->ab, env, len, &err), LF_EINVALID);
	printf("  stale update sent anyway: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "BAD_REQUEST"));
	free(env);
	free(cfg);
	free(signed_cue);
}

/* Fabric's own CLI fetches the same config block; configtxlator reads
 * the new batch size in it */
static void step_cli_cross_check(struct bc *b, const uint8_t *blk, size_t len)
{
	const char *d = b->t.dir;
	char *fetched = NULL, *json = NULL, *p, *cmd;
	size_t flen = 0, jlen = 0;
	int rc;

	cmd = lf_xasprintf("cd '%s' && FABRIC_CFG_PATH='%s' "
		"CORE_PEER_LOCALMSPID=OrderingMSP CORE_PEER_MSPCONFIGPATH='%s' "
		"'%s/peer' channel fetch config fetched.block -c " CHANNEL
		" -o 127.0.0.1:%d --tls --cafile '%s/" ADMIN_DIR "/tls/ca.crt' "
		"--clientauth --certfile '%s/" ADMIN_DIR "/tls/client.crt' "
		"--keyfile '%s/" ADMIN_DIR "/tls/client.key' >fetch.log 2>&1 && "
		"'%s/configtxlator' proto_decode --type common.Block "
		"--input fetched.block --output fetched.json",
		d, b->cfg, b->mspdir, b->bin, PORT, d, d, d, b->bin);
	rc = system(cmd);
	free(cmd);
	if (rc != 0) {
		char *log = ct_read(&b->t, "fetch.log");

		fprintf(stderr, "peer channel fetch: %s\n", log ? log : "");
		free(log);
	}
	assert_int_equal(rc, 0);
	p = lf_path_join(d, "fetched.block");
	assert_int_equal(lf_read_file(p, &fetched, &flen, NULL), 0);
	free(p);
	assert_int_equal(flen, len);
	assert_memory_equal(fetched, blk, len);
	p = lf_path_join(d, "fetched.json");
	assert_int_equal(lf_read_file(p, &json, &jlen, NULL), 0);
	free(p);
	assert_non_null(strstr(json, "\"max_message_count\": 20"));
	assert_non_null(strstr(json, "\"sequence\": \"1\""));
	free(json);
	free(fetched);
}

static void test_broadcast_deliver_update(void **state)
{
	struct bc b;
	const char *cfg_env = getenv("FABRIC_CFG_PATH");
	uint8_t *cue = NULL, *blk = NULL;
	size_t cue_len = 0, blen = 0;

	memset(&b, 0, sizeof(b));
	b.bin = ct_fabric_bin();
	if (!b.bin || !*b.bin) {
		fprintf(stderr, "test_broadcast: FABRIC_BIN unset, skipping "
			"(needs a Fabric 2.5 orderer, peer and configtxlator)\n");
		skip();
	}
	b.cfg = cfg_env && *cfg_env ? lf_xstrdup(cfg_env)
				    : lf_xasprintf("%s/../config", b.bin);
	ct_init(&b.t, "bcast");
	setup_network(&b);
	step_deliver_genesis(&b);
	step_no_client_cert(&b);
	compute_update(&b, &cue, &cue_len);
	step_refused_update(&b, cue, cue_len);
	step_submit_update(&b, cue, cue_len, &blk, &blen);
	step_cli_cross_check(&b, blk, blen);

	orderer_stop(b.pid);
	orderer_pid = -1;
	lf_ab_free(b.ab);
	lf_free_secret(b.key, b.key_len);
	free(b.ca);
	free(b.crt);
	free(b.mspdir);
	free(b.genesis);
	free(b.cfg);
	free(cue);
	free(blk);
	ct_done(&b.t);
}

static int group_teardown(void **state)
{
	orderer_stop(orderer_pid);
	orderer_pid = -1;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broadcast_deliver_update),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
