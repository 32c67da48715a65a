/*
 * core/net/ab and the streaming calls of core/net/grpc:
 * - the envelopes ledgerform sends the orderer (DELIVER_SEEK_INFO with its
 *   SeekInfo, the submitter-signed CONFIG_UPDATE), decoded by Fabric's own
 *   bindings (tests/node/ab-decode.js, @hyperledger/fabric-protos), their
 *   signatures verified there against the creator's certificate;
 * - lf_grpc_stream against a real @grpc/grpc-js server
 *   (tests/node/ab-stream.js): several requests and response messages, a
 *   stream ended by an error status, a consumer that stops early or fails,
 *   and a stream reset mid-way (raw node:http2).
 * Without node, the npm packages or the openssl CLI, those tests skip and
 * say why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fabric/block/block.h"
#include "core/net/ab.h"
#include "core/util/util.h"
#include "lfpb/common.pb-c.h"

struct fixture {
	char dir[64];
	char *msp;           /* MSP dir: signcerts/cert.pem, keystore/key */
	const char *why;     /* why the node tests skip; NULL: they run */
	pid_t pid;
	int in_fd;
	char target[64], reset_target[64];
};

static struct fixture F;

/* an MSP dir with a self-signed P-256 signing identity */
static const char *make_msp(void)
{
	char *cmd;
	int rc;

	F.msp = lf_path_join(F.dir, "msp");
	if (system("openssl version >/dev/null 2>&1") != 0)
		return "the openssl CLI is missing";
	cmd = lf_xasprintf("cd '%s' && mkdir -p msp/signcerts msp/keystore && "
			   "openssl req -x509 -newkey ec -pkeyopt "
			   "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
			   "/CN=Admin@org1.example.com -keyout "
			   "msp/keystore/priv_sk -out msp/signcerts/cert.pem "
			   ">/dev/null 2>&1", F.dir);
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? NULL : "openssl could not make the test identity";
}

static const char *server_start(void)
{
	int out[2], in[2];
	unsigned int port = 0, rport = 0;
	char line[96];
	FILE *f;

	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0)
		return "pipe failed";
	F.pid = fork();
	if (F.pid < 0)
		return "fork failed";
	if (F.pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (chdir(LF_SOURCE_DIR "/tests/node") == 0)
			execlp("node", "node", "ab-stream.js", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	F.in_fd = in[1];
	f = fdopen(out[0], "r");
	if (f && fgets(line, sizeof(line), f) &&
	    sscanf(line, "port %u reset %u", &port, &rport) == 2) {
		snprintf(F.target, sizeof(F.target), "127.0.0.1:%u", port);
		snprintf(F.reset_target, sizeof(F.reset_target),
			 "127.0.0.1:%u", rport);
	}
	if (f)
		fclose(f);
	return F.target[0] ? NULL : "tests/node/ab-stream.js did not start";
}

static int group_setup(void **state)
{
	snprintf(F.dir, sizeof(F.dir), "/tmp/lf-ab-XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	F.why = make_msp();
	if (!F.why && system("node --version >/dev/null 2>&1") != 0)
		F.why = "node is not installed";
	if (!F.why && !lf_path_exists(LF_SOURCE_DIR "/tests/node/node_modules/"
				      "@grpc/grpc-js/package.json"))
		F.why = "tests/node has no node_modules (run .ci/bootstrap.sh "
			"--with-tests)";
	if (!F.why)
		F.why = server_start();
	if (F.why)
		printf("[  SKIPPED ] node tests: %s\n", F.why);
	return 0;
}

static int group_teardown(void **state)
{
	int st;

	if (F.pid > 0) {
		close(F.in_fd);
		kill(F.pid, SIGTERM);
		waitpid(F.pid, &st, 0);
	}
	free(F.msp);
	lf_rmtree(F.dir, NULL);
	return 0;
}

#define NEED_NODE() do { if (F.why) { printf("skip: %s\n", F.why); skip(); } } while (0)

/* ---- statuses ----------------------------------------------------------- */

static void test_ab_status_names(void **state)
{
	assert_string_equal(lf_ab_status_name(200), "SUCCESS");
	assert_string_equal(lf_ab_status_name(400), "BAD_REQUEST");
	assert_string_equal(lf_ab_status_name(403), "FORBIDDEN");
	assert_string_equal(lf_ab_status_name(503), "SERVICE_UNAVAILABLE");
	assert_string_equal(lf_ab_status_name(7), "UNKNOWN");
	assert_int_equal(lf_ab_status_to_lf(200), 0);
	assert_int_equal(lf_ab_status_to_lf(503), LF_ERETRY);
	assert_int_equal(lf_ab_status_to_lf(403), LF_EAUTH);
	assert_int_equal(lf_ab_status_to_lf(404), LF_ENOTFOUND);
	assert_int_equal(lf_ab_status_to_lf(400), LF_EINVALID);
	assert_int_equal(lf_ab_status_to_lf(500), LF_ERROR);
}

/* ---- envelopes, decoded by Fabric's bindings ---------------------------- */

/* write buf to DIR/name and decode it with ab-decode.js */
static json_t *fabric_decode(const uint8_t *buf, size_t len, const char *name)
{
	char *path = lf_path_join(F.dir, name), *cmd, *out = NULL;
	size_t olen = 0;
	json_t *j;
	char *jpath = lf_xasprintf("%s.json", path);

	assert_int_equal(lf_write_file_atomic(path, buf, len, 0600, NULL), 0);
	cmd = lf_xasprintf("cd '" LF_SOURCE_DIR "/tests/node' && node "
			   "ab-decode.js '%s' > '%s'", path, jpath);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(lf_read_file(jpath, &out, &olen, NULL), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	free(out);
	free(cmd);
	free(jpath);
	free(path);
	return j;
}

static const char *jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static void seek_check(json_t *seek, const char *start_s, json_int_t start_n,
		       json_int_t behavior)
{
	json_t *st = json_object_get(seek, "start");

	if (start_s)
		assert_string_equal(json_string_value(st), start_s);
	else
		assert_int_equal(json_integer_value(st), start_n);
	assert_true(json_equal(st, json_object_get(seek, "stop")));
	assert_int_equal(json_integer_value(json_object_get(seek, "behavior")),
			 behavior);
	assert_int_equal(json_integer_value(json_object_get(seek,
				"error_response")), 0);
	assert_int_equal(json_integer_value(json_object_get(seek,
				"content_type")), 0);
}

/* newest / oldest, not waiting */
static void seek_case(const struct lf_ab_signer *s, uint64_t number,
		      const char *name)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	json_t *j;

	assert_int_equal(lf_ab_seek_envelope(NULL, "mychannel", s, number, 0,
					     &env, &len, &err), 0);
	j = fabric_decode(env, len, name);
	seek_check(json_object_get(j, "seek"), name, 0, 1);
	json_decref(j);
	free(env);
}

static void test_ab_seek_envelope_fabric(void **state)
{
	struct lf_ab_signer s = { F.msp, "Org1MSP" };
	struct lf_err err = LF_ERR_INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	json_t *j;

	NEED_NODE();
	/* block 7, waiting: BLOCK_UNTIL_READY (0) */
	assert_int_equal(lf_ab_seek_envelope(NULL, "mychannel", &s, 7, 1,
					     &env, &len, &err), 0);
	j = fabric_decode(env, len, "seek7.pb");
	assert_int_equal(json_integer_value(json_object_get(j, "type")), 5);
	assert_string_equal(jstr(j, "channel_id"), "mychannel");
	assert_string_equal(jstr(j, "mspid"), "Org1MSP");
	assert_true(json_is_true(json_object_get(j, "sig_ok")));
	assert_true(json_is_true(json_object_get(j, "low_s")));
	assert_true(json_is_true(json_object_get(j, "tx_id_ok")));
	assert_true(json_is_true(json_object_get(j, "timestamp_set")));
	assert_int_equal(json_integer_value(json_object_get(j, "nonce_len")), 24);
	assert_string_equal(jstr(j, "tls_cert_hash"), "");
	seek_check(json_object_get(j, "seek"), NULL, 7, 0);
	json_decref(j);
	free(env);
	/* newest, not waiting: FAIL_IF_NOT_READY (1); oldest */
	seek_case(&s, LF_AB_NEWEST, "newest");
	seek_case(&s, LF_AB_OLDEST, "oldest");
}

/* a client with a TLS certificate binds its envelopes to it */
static void test_ab_seek_envelope_tls_binding(void **state)
{
	struct lf_ab_signer s = { F.msp, "Org1MSP" };
	struct lf_err err = LF_ERR_INIT;
	char *cert = NULL, *p, *cmd, *der = NULL, hex[65];
	size_t clen = 0, dlen = 0;
	struct lf_grpc_tls tls = { NULL, NULL, NULL, NULL };
	uint8_t *env = NULL, h[32];
	size_t len = 0;
	lf_ab *ab = NULL;
	json_t *j;

	NEED_NODE();
	p = lf_path_join(F.msp, "signcerts/cert.pem");
	assert_int_equal(lf_read_file(p, &cert, &clen, NULL), 0);
	cmd = lf_xasprintf("openssl x509 -in '%s' -outform DER -out '%s/c.der'",
			   p, F.dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(p);
	p = lf_path_join(F.dir, "c.der");
	assert_int_equal(lf_read_file(p, &der, &dlen, NULL), 0);
	lf_sha256(der, dlen, h);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	tls.ca_pem = cert;      /* any CA: no connection is made */
	tls.cert_pem = cert;
	free(p);
	p = lf_path_join(F.msp, "keystore/priv_sk");
	{
		char *key = NULL;
		size_t klen = 0;

		assert_int_equal(lf_read_file(p, &key, &klen, NULL), 0);
		tls.key_pem = key;
		assert_int_equal(lf_ab_new(&ab, "127.0.0.1:1", &tls, &err), 0);
		lf_free_secret(key, klen);
	}
	assert_int_equal(lf_ab_seek_envelope(ab, "mychannel", &s, 0, 0, &env,
					     &len, &err), 0);
	j = fabric_decode(env, len, "seekbound.pb");
	assert_string_equal(jstr(j, "tls_cert_hash"), hex);
	json_decref(j);
	lf_ab_free(ab);
	free(env);
	free(der);
	free(cert);
	free(p);
}

static void test_ab_update_envelope_signed(void **state)
{
	Lfpb__ConfigUpdate cu = LFPB__CONFIG_UPDATE__INIT;
	Lfpb__ConfigUpdateEnvelope ce = LFPB__CONFIG_UPDATE_ENVELOPE__INIT;
	Lfpb__ConfigGroup rs = LFPB__CONFIG_GROUP__INIT;
	Lfpb__ConfigGroup ws = LFPB__CONFIG_GROUP__INIT;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *cue, *env = NULL;
	size_t cue_len, len = 0;
	json_t *j;

	NEED_NODE();
	cu.channel_id = "mychannel";
	cu.read_set = &rs;
	cu.write_set = &ws;
	ce.config_update.data = lf_xmalloc(protobuf_c_message_get_packed_size(&cu.base));
	ce.config_update.len = protobuf_c_message_pack(&cu.base,
						       ce.config_update.data);
	cue_len = protobuf_c_message_get_packed_size(&ce.base);
	cue = lf_xmalloc(cue_len);
	protobuf_c_message_pack(&ce.base, cue);
	/* the wrong channel is refused before anything is signed */
	assert_int_equal(lf_update_envelope_signed(cue, cue_len, "other",
						   F.msp, "Org1MSP", &env,
						   &len, &err), LF_EINVALID);
	assert_null(env);
	assert_int_equal(lf_update_envelope_signed(cue, cue_len, "mychannel",
						   F.msp, "Org1MSP", &env,
						   &len, &err), 0);
	j = fabric_decode(env, len, "update.pb");
	assert_int_equal(json_integer_value(json_object_get(j, "type")), 2);
	assert_string_equal(jstr(j, "channel_id"), "mychannel");
	assert_true(json_is_true(json_object_get(j, "sig_ok")));
	assert_true(json_is_true(json_object_get(j, "low_s")));
	assert_true(json_is_true(json_object_get(j, "tx_id_ok")));
	json_decref(j);
	free(env);
	free(cue);
	free(ce.config_update.data);
}

/* ---- streaming calls ---------------------------------------------------- */

struct got {
	char msgs[16][32];
	size_t n;
	size_t stop_after;  /* 0: never */
	int fail_with;      /* after stop_after messages, fail instead */
};

static int on_msg(const uint8_t *msg, size_t len, struct lf_err *err,
		  void *payload)
{
	struct got *g = payload;

	assert_true(g->n < 16 && len < 32);
	memcpy(g->msgs[g->n], msg, len);
	g->msgs[g->n][len] = '\0';
	g->n++;
	if (g->stop_after && g->n == g->stop_after && g->fail_with)
		return lf_err_set(err, g->fail_with, "consumer says no at %zu",
				  g->n);
	if (g->stop_after && g->n == g->stop_after)
		return LF_GRPC_STOP;
	return 0;
}

static int stream(const char *target, const char *method, const char **reqs,
		  size_t n, struct got *g, int *status, struct lf_err *err)
{
	struct lf_grpc_msg m[4];
	lf_grpc_channel *ch = NULL;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		m[i].data = reqs[i];
		m[i].len = strlen(reqs[i]);
	}
	assert_int_equal(lf_grpc_channel_new(&ch, target, NULL, err), 0);
	rc = lf_grpc_stream(ch, method, m, n, on_msg, g, 20000, status, err);
	if (rc != 0)
		printf("  %s -> %d (%s)\n", method, rc, err->msg);
	lf_grpc_channel_free(ch);
	return rc;
}

static void test_net_stream_messages(void **state)
{
	const char *reqs[] = { "3", "2" };
	struct got g = { 0 };
	struct lf_err err = LF_ERR_INIT;
	int status = -1;

	NEED_NODE();
	/* two requests, five answers in order, a clean end */
	assert_int_equal(stream(F.target, "/test.Stream/Count", reqs, 2, &g,
				&status, &err), 0);
	assert_int_equal(status, 0);
	assert_int_equal(g.n, 5);
	assert_string_equal(g.msgs[0], "1/3");
	assert_string_equal(g.msgs[2], "3/3");
	assert_string_equal(g.msgs[3], "1/2");
	assert_string_equal(g.msgs[4], "2/2");
	/* no request at all: the server ends the stream with none */
	memset(&g, 0, sizeof(g));
	assert_int_equal(stream(F.target, "/test.Stream/Count", NULL, 0, &g,
				&status, &err), 0);
	assert_int_equal(g.n, 0);
}

static void test_net_stream_status_error(void **state)
{
	const char *fail[] = { "2 9 channel is not ready" };
	const char *unavail[] = { "1 14 try later" };
	struct got g = { 0 };
	struct lf_err err = LF_ERR_INIT;
	int status = -1;

	NEED_NODE();
	assert_int_equal(stream(F.target, "/test.Stream/Fail", fail, 1, &g,
				&status, &err), LF_ERROR);
	assert_int_equal(status, 9);
	assert_int_equal(g.n, 2);  /* what came before the status is handed */
	assert_non_null(strstr(err.msg, "FAILED_PRECONDITION: channel is not "
			       "ready"));
	memset(&g, 0, sizeof(g));
	lf_err_clear(&err);
	assert_int_equal(stream(F.target, "/test.Stream/Fail", unavail, 1, &g,
				&status, &err), LF_ERETRY);
	assert_int_equal(status, 14);
	assert_int_equal(g.n, 1);
}

static void test_net_stream_consumer_stops(void **state)
{
	const char *reqs[] = { "5" };
	struct got g = { 0 };
	struct lf_err err = LF_ERR_INIT;

	NEED_NODE();
	/* LF_GRPC_STOP: success with what came so far */
	g.stop_after = 2;
	assert_int_equal(stream(F.target, "/test.Stream/Count", reqs, 1, &g,
				NULL, &err), 0);
	assert_int_equal(g.n, 2);
	/* an error from the consumer comes back as it was set */
	memset(&g, 0, sizeof(g));
	g.stop_after = 3;
	g.fail_with = LF_ECONFLICT;
	assert_int_equal(stream(F.target, "/test.Stream/Count", reqs, 1, &g,
				NULL, &err), LF_ECONFLICT);
	assert_string_equal(err.msg, "consumer says no at 3");
	/* the channel still works after a cancelled stream */
	memset(&g, 0, sizeof(g));
	assert_int_equal(stream(F.target, "/test.Stream/Count", reqs, 1, &g,
				NULL, &err), 0);
	assert_int_equal(g.n, 5);
}

static void test_net_stream_reset(void **state)
{
	const char *reqs[] = { "x" };
	struct got g = { 0 };
	struct lf_err err = LF_ERR_INIT;
	int status = 0;

	NEED_NODE();
	/* the stream is cut before any status: transient; what came before
	 * the reset is handed on as far as libcurl passes it (when the reset
	 * arrives with the data, libcurl 7.88 may drop the data and even the
	 * headers: nothing, never a message out of order) */
	assert_int_equal(stream(F.reset_target, "/test.Stream/Count", reqs, 1,
				&g, &status, &err), LF_ERETRY);
	assert_int_equal(status, -1);
	assert_non_null(strstr(err.msg, "without a status"));
	assert_true(g.n <= 2);
	if (g.n >= 1)
		assert_string_equal(g.msgs[0], "one");
	/* a reset before any answer: libcurl's HTTP/2 stream error, the same
	 * outcome */
	memset(&g, 0, sizeof(g));
	lf_err_clear(&err);
	assert_int_equal(stream(F.reset_target, "/test.Stream/ResetNow", reqs, 1,
				&g, &status, &err), LF_ERETRY);
	assert_int_equal(status, -1);
	assert_non_null(strstr(err.msg, "without a status"));
	assert_int_equal(g.n, 0);
}

/* one plaintext channel carries calls one after another (libcurl 7.88
 * cannot reuse an h2c prior-knowledge connection: a connection per call) */
static void test_net_stream_channel_reused(void **state)
{
	struct lf_grpc_msg m = { "2", 1 };
	struct lf_err err = LF_ERR_INIT;
	lf_grpc_channel *ch = NULL;
	int i, status;

	NEED_NODE();
	assert_int_equal(lf_grpc_channel_new(&ch, F.target, NULL, &err), 0);
	for (i = 0; i < 3; i++) {
		struct got g = { 0 };

		status = -1;
		if (lf_grpc_stream(ch, "/test.Stream/Count", &m, 1, on_msg, &g,
				   20000, &status, &err) != 0)
			fail_msg("call %d: %s", i, err.msg);
		assert_int_equal(status, 0);
		assert_int_equal(g.n, 2);
	}
	lf_grpc_channel_free(ch);
}

/* the status an orderer answered is kept for the caller, so "reached but
 * not ready" (SERVICE_UNAVAILABLE) is told from "not reached" without
 * reading the error's text */
static void test_ab_last_status(void **state)
{
	struct lf_ab_signer s = { NULL, "Org1MSP" };
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk = NULL;
	size_t len = 0;
	lf_ab *ab = NULL;

	NEED_NODE();
	s.mspdir = F.msp;
	assert_int_equal(lf_ab_new(&ab, F.target, NULL, &err), 0);
	assert_int_equal(lf_ab_last_status(ab), -1);
	assert_int_equal(lf_ab_deliver_block(ab, "busy", &s, 0, 0, &blk, &len,
					     &err), LF_ERETRY);
	assert_int_equal(lf_ab_last_status(ab), LF_AB_SERVICE_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "SERVICE_UNAVAILABLE"));
	assert_null(blk);
	lf_err_clear(&err);
	assert_int_equal(lf_ab_deliver_block(ab, "gone", &s, 0, 0, &blk, &len,
					     &err), LF_ENOTFOUND);
	assert_int_equal(lf_ab_last_status(ab), 404);
	lf_ab_free(ab);
	/* nothing answers: no status at all */
	lf_err_clear(&err);
	assert_int_equal(lf_ab_new(&ab, F.reset_target, NULL, &err), 0);
	assert_int_not_equal(lf_ab_deliver_block(ab, "busy", &s, 0, 0, &blk,
						 &len, &err), 0);
	assert_int_equal(lf_ab_last_status(ab), -1);
	assert_null(blk);
	lf_ab_free(ab);
	assert_int_equal(lf_ab_last_status(NULL), -1);
}

static void test_net_stream_bad_method(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	lf_grpc_channel *ch = NULL;
	struct got g = { 0 };

	assert_int_equal(lf_grpc_channel_new(&ch, "127.0.0.1:1", NULL, &err), 0);
	assert_int_equal(lf_grpc_stream(ch, "nope", NULL, 0, on_msg, &g, 0,
					NULL, &err), LF_EINVALID);
	lf_grpc_channel_free(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ab_status_names),
		cmocka_unit_test(test_ab_seek_envelope_fabric),
		cmocka_unit_test(test_ab_seek_envelope_tls_binding),
		cmocka_unit_test(test_ab_update_envelope_signed),
		cmocka_unit_test(test_net_stream_messages),
		cmocka_unit_test(test_net_stream_status_error),
		cmocka_unit_test(test_net_stream_consumer_stops),
		cmocka_unit_test(test_net_stream_reset),
		cmocka_unit_test(test_net_stream_channel_reused),
		cmocka_unit_test(test_ab_last_status),
		cmocka_unit_test(test_net_stream_bad_method),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
