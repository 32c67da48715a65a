/*
 * The participation client against a real Fabric orderer: ledgerform
 * renders the crypto and the genesis block of a channel with one etcdraft
 * orderer, the test starts that orderer (no system channel, admin endpoint
 * with mutual TLS on a free 127.0.0.1 port), joins it to the channel with
 * lf_participation_join and checks the list and the channel's status.
 * Needs FABRIC_BIN (the folder of the orderer binary; config from
 * FABRIC_CFG_PATH, else FABRIC_BIN/../config); skips without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "clitest.h"
#include "core/net/participation.h"
#include "core/util/util.h"

#define ORG_DIR "crypto/ordererOrganizations/ordering.example.com"
#define NODE_DIR ORG_DIR "/orderers/orderer0.ordering.example.com"
#define ADMIN_TLS ORG_DIR "/users/Admin@ordering.example.com/tls"

/* the orderer of the running test: stopped by the group teardown too, so
 * a failed assertion leaves no process behind */
static pid_t orderer_pid = -1;

/* Fixed ports of this test (29000-29099, no other test's): a port the
 * kernel picked and the orderer bound later could be taken in between by
 * any outgoing connection on a loaded machine (they come from the same
 * ephemeral range), and the orderer's operations endpoint, on port 0,
 * once took the admin port that way. */
#define OJ_PORT 29010
#define OJ_ADMIN_PORT 29011
#define OJ_OPS_PORT 29012

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

/* Start FABRIC_BIN/orderer for the rendered node; its output goes to
 * DIR/orderer.log.  Returns the pid (the child never returns). */
static pid_t orderer_start(struct clitest *t, const char *bin,
			   const char *cfg, int port, int admin_port)
{
	pid_t pid = fork();
	const char *d = t->dir;
	int fd;

	if (pid != 0)
		return pid;
	put_env("FABRIC_CFG_PATH", "%s", cfg);
	put_env("ORDERER_GENERAL_LISTENADDRESS", "127.0.0.1");
	put_env("ORDERER_GENERAL_LISTENPORT", "%d", port);
	put_env("ORDERER_GENERAL_LOCALMSPID", "OrderingMSP");
	put_env("ORDERER_GENERAL_LOCALMSPDIR", "%s/" NODE_DIR "/msp", d);
	put_env("ORDERER_GENERAL_TLS_ENABLED", "true");
	put_env("ORDERER_GENERAL_TLS_PRIVATEKEY", "%s/" NODE_DIR "/tls/server.key", d);
	put_env("ORDERER_GENERAL_TLS_CERTIFICATE", "%s/" NODE_DIR "/tls/server.crt", d);
	put_env("ORDERER_GENERAL_TLS_ROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE", "%s/" NODE_DIR "/tls/server.crt", d);
	put_env("ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY", "%s/" NODE_DIR "/tls/server.key", d);
	put_env("ORDERER_GENERAL_CLUSTER_ROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_GENERAL_BOOTSTRAPMETHOD", "none");
	put_env("ORDERER_CHANNELPARTICIPATION_ENABLED", "true");
	put_env("ORDERER_ADMIN_LISTENADDRESS", "127.0.0.1:%d", admin_port);
	put_env("ORDERER_ADMIN_TLS_ENABLED", "true");
	put_env("ORDERER_ADMIN_TLS_CERTIFICATE", "%s/" NODE_DIR "/tls/server.crt", d);
	put_env("ORDERER_ADMIN_TLS_PRIVATEKEY", "%s/" NODE_DIR "/tls/server.key", d);
	put_env("ORDERER_ADMIN_TLS_ROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED", "true");
	put_env("ORDERER_ADMIN_TLS_CLIENTROOTCAS", "[%s/" NODE_DIR "/tls/ca.crt]", d);
	put_env("ORDERER_OPERATIONS_LISTENADDRESS", "127.0.0.1:%d", OJ_OPS_PORT);
	put_env("ORDERER_METRICS_PROVIDER", "disabled");
	put_env("ORDERER_FILELEDGER_LOCATION", "%s/data/ledger", d);
	put_env("ORDERER_CONSENSUS_WALDIR", "%s/data/wal", d);
	put_env("ORDERER_CONSENSUS_SNAPDIR", "%s/data/snap", d);
	{
		char log[512], exe[1024];

		snprintf(log, sizeof(log), "%s/orderer.log", d);
		snprintf(exe, sizeof(exe), "%s/orderer", bin);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(exe, "orderer", (char *)NULL);
	}
	_exit(127);
}

static void orderer_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* Wait until the admin endpoint answers (the orderer is starting):
 * a bound on start-up, not a timing assertion. */
static int wait_admin(const struct lf_participation_conn *c, pid_t pid,
		      struct lf_err *err)
{
	uint64_t end = lf_now_ms() + 60000;
	json_t *list = NULL;
	int rc;

	for (;;) {
		lf_err_clear(err);
		rc = lf_participation_list(c, &list, err);
		json_decref(list);
		list = NULL;
		if (rc != LF_ERETRY || lf_now_ms() > end ||
		    waitpid(pid, NULL, WNOHANG) != 0)
			return rc;
		lf_sleep_ms(200);
	}
}

static void test_orderer_join_active(void **state)
{
	const char *bin = ct_fabric_bin();
	const char *cfg_env = getenv("FABRIC_CFG_PATH");
	struct lf_participation_conn c = { 0 };
	struct lf_participation_info info;
	struct lf_err err = LF_ERR_INIT;
	struct clitest t;
	char *cfg, *spec, *ca, *crt, *key, *blk, ep[64];
	size_t blk_len = 0, key_len = 0;
	int port, admin_port, rc;
	json_t *list = NULL;
	uint64_t end;
	pid_t pid;

	if (!bin || !*bin) {
		fprintf(stderr, "test_orderer_join: FABRIC_BIN unset, skipping (needs a Fabric 2.5 orderer)\n");
		skip();
	}
	cfg = cfg_env && *cfg_env ? lf_xstrdup(cfg_env)
				  : lf_xasprintf("%s/../config", bin);
	ct_init(&t, "ojoin");
	port = OJ_PORT;
	admin_port = OJ_ADMIN_PORT;
	spec = lf_xasprintf("name: ojoin\nfabric:\n  version: \"2.5\"\n  consensus: etcdraft\n"
			    "orgs:\n  - name: ordering\n"
			    "    orderers: {count: 1, port: %d, sans: [localhost, 127.0.0.1]}\n"
			    "  - name: org1\n    peers: {count: 1}\n"
			    "channels:\n  - name: mychannel\n    orgs: [org1]\n", port);
	ct_write(&t, "spec.yaml", spec);
	free(spec);
	assert_int_equal(ct_run(&t, "render crypto -f spec.yaml -o crypto"), 0);
	assert_int_equal(ct_run(&t, "render block -f spec.yaml --channel mychannel "
				"-o mychannel.block --crypto crypto"), 0);

	ca = ct_read(&t, ADMIN_TLS "/ca.crt");
	crt = ct_read(&t, ADMIN_TLS "/client.crt");
	key = ct_read(&t, ADMIN_TLS "/client.key");
	assert_non_null(ca);
	assert_non_null(crt);
	assert_non_null(key);
	key_len = strlen(key);
	{
		char *p = lf_path_join(t.dir, "mychannel.block");

		assert_int_equal(lf_read_file(p, &blk, &blk_len, &err), 0);
		free(p);
	}

	pid = orderer_start(&t, bin, cfg, port, admin_port);
	assert_true(pid > 0);
	orderer_pid = pid;
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", admin_port);
	c.endpoint = ep;
	c.ca_pem = ca;
	c.cert_pem = crt;
	c.key_pem = key;
	c.key_len = key_len;
	c.timeout_ms = 20000;

	rc = wait_admin(&c, pid, &err);
	if (rc != 0) {
		char *log = ct_read(&t, "orderer.log");

		fprintf(stderr, "orderer admin not answering: %s\n%s\n", err.msg,
			log ? log : "");
		free(log);
	}
	assert_int_equal(rc, 0);

	/* Fabric refuses a client without a certificate, and the client
	 * says so */
	{
		struct lf_participation_conn anon = c;

		anon.cert_pem = NULL;
		anon.key_pem = NULL;
		assert_int_equal(lf_participation_list(&anon, &list, &err), LF_EAUTH);
		assert_non_null(strstr(err.msg, "refused the TLS client certificate"));
		lf_err_clear(&err);
	}

	rc = lf_participation_join(&c, "mychannel", blk, blk_len, &info, &err);
	if (rc != 0)
		fprintf(stderr, "join: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_false(info.already);
	assert_string_equal(info.name, "mychannel");
	assert_string_equal(info.consensus_relation, "consenter");

	/* the list shows it; its status becomes active (bounded wait) */
	assert_int_equal(lf_participation_list(&c, &list, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(list, 0), "name")), "mychannel");
	json_decref(list);
	end = lf_now_ms() + 60000;
	do {
		assert_int_equal(lf_participation_get(&c, "mychannel", &info, &err), 0);
		if (strcmp(info.status, "active") == 0)
			break;
		lf_sleep_ms(200);
	} while (lf_now_ms() < end);
	assert_string_equal(info.status, "active");
	assert_true(info.height >= 1);

	/* a second join is a no-op that says so (Fabric answers 405) */
	assert_int_equal(lf_participation_join(&c, "mychannel", blk, blk_len, &info, &err), 0);
	assert_true(info.already);

	/* leaving: removed, then absent is still 0 */
	assert_int_equal(lf_participation_remove(&c, "mychannel", &err), 0);
	end = lf_now_ms() + 60000;
	do {
		rc = lf_participation_get(&c, "mychannel", &info, &err);
		if (rc == LF_ENOTFOUND)
			break;
		lf_sleep_ms(200);
	} while (lf_now_ms() < end);
	assert_int_equal(rc, LF_ENOTFOUND);
	lf_err_clear(&err);
	assert_int_equal(lf_participation_remove(&c, "mychannel", &err), 0);

	orderer_stop(pid);
	orderer_pid = -1;
	lf_free_secret(key, key_len);
	free(ca);
	free(crt);
	free(blk);
	free(cfg);
	ct_done(&t);
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
		cmocka_unit_test(test_orderer_join_active),
	};

	return cmocka_run_group_tests(tests, NULL, group_teardown);
}
