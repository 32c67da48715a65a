/*
 * The channel participation client against a real HTTPS server with
 * mutual TLS (tests/node/https-mtls.js, which answers as Fabric 2.5's
 * admin endpoint does).  Certificates come from the openssl CLI into a
 * temp dir: CA1 issues the server's and the good client's, CA2 a foreign
 * client's and a foreign server's.  Servers listen on a port the kernel
 * picks and are stopped by PID.  Without node or openssl the tests skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "core/net/participation.h"
#include "core/util/util.h"
#include "lfpb/common.pb-c.h"

#define SERVER_JS LF_SOURCE_DIR "/tests/node/https-mtls.js"

struct pem {
	char *ca1, *ca2, *cli1_cert, *cli1_key, *cli2_cert, *cli2_key;
	size_t cli1_key_len, cli2_key_len;
};

struct server {
	pid_t pid;
	char endpoint[64];
};

static char tmpdir[] = "/tmp/lf-part-XXXXXX";
static bool have_certs;
static struct pem pem;
static struct server main_srv = { -1, "" };

/* ---- fixtures ---------------------------------------------------------- */

static char *tpath(const char *name)
{
	return lf_path_join(tmpdir, name);
}

static char *slurp(const char *name, size_t *len)
{
	char *p = tpath(name), *data = NULL;
	size_t n = 0;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_read_file(p, &data, &n, &err), 0);
	free(p);
	if (len)
		*len = n;
	return data;
}

static int make_certs(void)
{
	static const char *leaves[][2] = {
		{ "srv1", "ca1" }, { "cli1", "ca1" },
		{ "srv2", "ca2" }, { "cli2", "ca2" },
	};
	const char *req = "openssl req -config o.cnf -x509 -newkey ec "
			  "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 2";
	char *cmd;
	size_t i;
	int rc;

	cmd = lf_xasprintf("cd %s && printf '[req]\\ndistinguished_name=dn\\n[dn]\\n' > o.cnf "
			   "&& for ca in ca1 ca2; do %s -keyout $ca.key -out $ca.pem "
			   "-subj /CN=$ca -addext basicConstraints=critical,CA:TRUE "
			   "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || exit 1; done",
			   tmpdir, req);
	rc = system(cmd);
	free(cmd);
	for (i = 0; rc == 0 && i < LF_ARRAY_LEN(leaves); i++) {
		cmd = lf_xasprintf("cd %s && %s -keyout %s.key -out %s.pem -subj /CN=%s "
				   "-CA %s.pem -CAkey %s.key "
				   "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
				   "-addext extendedKeyUsage=serverAuth,clientAuth "
				   "-addext basicConstraints=critical,CA:FALSE 2>/dev/null",
				   tmpdir, req, leaves[i][0], leaves[i][0],
				   leaves[i][0], leaves[i][1], leaves[i][1]);
		rc = system(cmd);
		free(cmd);
	}
	return rc;
}

/* Start https-mtls.js with a server cert and the CA it checks clients
 * against; 0 and srv filled, or -1 (node missing, or it failed). */
static int server_start(struct server *srv, const char *cert,
			const char *client_ca, const char *extra)
{
	char *crt = lf_xasprintf("%s/%s.pem", tmpdir, cert);
	char *key = lf_xasprintf("%s/%s.key", tmpdir, cert);
	char *ca = lf_xasprintf("%s/%s.pem", tmpdir, client_ca);
	char line[128] = "";
	struct pollfd pfd;
	int fds[2], port = 0, ret = -1;
	FILE *f = NULL;

	srv->pid = -1;
	if (pipe(fds) != 0)
		goto cleanup;
	srv->pid = fork();
	if (srv->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (extra)
			execlp("node", "node", SERVER_JS, "--cert", crt, "--key", key,
			       "--client-ca", ca, extra, (char *)NULL);
		else
			execlp("node", "node", SERVER_JS, "--cert", crt, "--key", key,
			       "--client-ca", ca, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	/* a bound on a stuck start, not a timing assertion */
	if (srv->pid > 0 && f && poll(&pfd, 1, 60000) == 1 &&
	    fgets(line, sizeof(line), f) && sscanf(line, "PORT %d", &port) == 1 &&
	    port > 0) {
		snprintf(srv->endpoint, sizeof(srv->endpoint), "127.0.0.1:%d", port);
		ret = 0;
	}
cleanup:
	if (f)
		fclose(f);
	else if (srv->pid >= 0)
		close(fds[0]);
	if (ret != 0 && srv->pid > 0) {
		kill(srv->pid, SIGTERM);
		waitpid(srv->pid, NULL, 0);
		srv->pid = -1;
	}
	free(crt);
	free(key);
	free(ca);
	return ret;
}

static void server_stop(struct server *srv)
{
	if (srv->pid > 0) {
		kill(srv->pid, SIGTERM);
		waitpid(srv->pid, NULL, 0);
	}
	srv->pid = -1;
}

static int group_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	if (make_certs() != 0) {
		fprintf(stderr, "participation tests: openssl CLI failed, tests skip\n");
		return 0;
	}
	have_certs = true;
	pem.ca1 = slurp("ca1.pem", NULL);
	pem.ca2 = slurp("ca2.pem", NULL);
	pem.cli1_cert = slurp("cli1.pem", NULL);
	pem.cli1_key = slurp("cli1.key", &pem.cli1_key_len);
	pem.cli2_cert = slurp("cli2.pem", NULL);
	pem.cli2_key = slurp("cli2.key", &pem.cli2_key_len);
	if (server_start(&main_srv, "srv1", "ca1", NULL) != 0)
		fprintf(stderr, "participation tests: cannot start node %s, tests skip\n",
			SERVER_JS);
	return 0;
}

static int group_teardown(void **state)
{
	struct lf_err err = LF_ERR_INIT;

	server_stop(&main_srv);
	free(pem.ca1);
	free(pem.ca2);
	free(pem.cli1_cert);
	lf_free_secret(pem.cli1_key, pem.cli1_key_len);
	free(pem.cli2_cert);
	lf_free_secret(pem.cli2_key, pem.cli2_key_len);
	return lf_rmtree(tmpdir, &err);
}

static void need_server(void)
{
	if (!have_certs || main_srv.pid <= 0)
		skip();
}

/* The good client: CA1 trusted, CA1-issued client cert. */
static struct lf_participation_conn conn_to(const char *endpoint)
{
	struct lf_participation_conn c = {
		endpoint, pem.ca1, pem.cli1_cert, pem.cli1_key, pem.cli1_key_len,
		20000
	};
	return c;
}

/* A block whose first envelope's channel header names channel: what the
 * API reads the channel name from. */
static uint8_t *make_block(const char *channel, size_t *len)
{
	Lfpb__ChannelHeader ch = LFPB__CHANNEL_HEADER__INIT;
	Lfpb__Header hdr = LFPB__HEADER__INIT;
	Lfpb__Payload pl = LFPB__PAYLOAD__INIT;
	Lfpb__Envelope env = LFPB__ENVELOPE__INIT;
	Lfpb__BlockData bd = LFPB__BLOCK_DATA__INIT;
	Lfpb__Block blk = LFPB__BLOCK__INIT;
	uint8_t *chb, *plb, *envb, *out;
	ProtobufCBinaryData item;

	ch.type = 1; /* CONFIG */
	ch.channel_id = (char *)channel;
	chb = lf_xmalloc(lfpb__channel_header__get_packed_size(&ch));
	hdr.channel_header.len = lfpb__channel_header__pack(&ch, chb);
	hdr.channel_header.data = chb;
	pl.header = &hdr;
	plb = lf_xmalloc(lfpb__payload__get_packed_size(&pl));
	env.payload.len = lfpb__payload__pack(&pl, plb);
	env.payload.data = plb;
	envb = lf_xmalloc(lfpb__envelope__get_packed_size(&env));
	item.len = lfpb__envelope__pack(&env, envb);
	item.data = envb;
	bd.n_data = 1;
	bd.data = &item;
	blk.data = &bd;
	out = lf_xmalloc(lfpb__block__get_packed_size(&blk));
	*len = lfpb__block__pack(&blk, out);
	free(chb);
	free(plb);
	free(envb);
	return out;
}

static bool list_has(const struct lf_participation_conn *c, const char *name)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *list = NULL;
	bool found = false;
	size_t i;

	assert_int_equal(lf_participation_list(c, &list, &err), 0);
	assert_true(json_is_array(list));
	for (i = 0; i < json_array_size(list); i++) {
		json_t *ch = json_array_get(list, i);

		if (lf_streq(json_string_value(json_object_get(ch, "name")), name))
			found = true;
	}
	json_decref(list);
	return found;
}

/* ---- tests ------------------------------------------------------------- */

static void test_participation_join_list_remove(void **state)
{
	struct lf_participation_conn c;
	struct lf_participation_info info;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk;
	size_t len;

	need_server();
	c = conn_to(main_srv.endpoint);
	blk = make_block("mychannel", &len);
	assert_false(list_has(&c, "mychannel"));
	assert_int_equal(lf_participation_get(&c, "mychannel", &info, &err),
			 LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "HTTP 404"));

	lf_err_clear(&err);
	assert_int_equal(lf_participation_join(&c, "mychannel", blk, len, &info, &err), 0);
	assert_false(info.already);
	assert_string_equal(info.name, "mychannel");
	assert_string_equal(info.status, "active");
	assert_string_equal(info.consensus_relation, "consenter");
	assert_true(list_has(&c, "mychannel"));

	/* again: a no-op that says so */
	assert_int_equal(lf_participation_join(&c, "mychannel", blk, len, &info, &err), 0);
	assert_true(info.already);
	assert_string_equal(info.status, "active");
	assert_int_equal(info.height, 1);

	assert_int_equal(lf_participation_get(&c, "mychannel", &info, &err), 0);
	assert_string_equal(info.name, "mychannel");

	assert_int_equal(lf_participation_remove(&c, "mychannel", &err), 0);
	assert_false(list_has(&c, "mychannel"));
	/* absent: still 0 */
	assert_int_equal(lf_participation_remove(&c, "mychannel", &err), 0);
	assert_int_equal(err.code, 0);
	free(blk);
}

static void test_participation_join_other_conflict(void **state)
{
	struct server srv = { -1, "" };
	struct lf_participation_conn c;
	struct lf_participation_info info;
	struct lf_err err = LF_ERR_INIT;
	uint8_t *blk;
	size_t len;

	need_server();
	if (server_start(&srv, "srv1", "ca1", "--system-channel=x") != 0)
		skip();
	c = conn_to(srv.endpoint);
	blk = make_block("appchan", &len);
	/* 405 but not because appchan exists: a conflict, not a no-op */
	assert_int_equal(lf_participation_join(&c, "appchan", blk, len, &info, &err),
			 LF_ECONFLICT);
	assert_int_equal(err.code, LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "HTTP 405"));
	assert_non_null(strstr(err.msg, "system channel exists"));
	server_stop(&srv);
	free(blk);
}

static void test_participation_join_bad_block(void **state)
{
	struct lf_participation_conn c;
	struct lf_participation_info info;
	struct lf_err err = LF_ERR_INIT;
	static const uint8_t junk[] = { 0x12, 0x40, 0x01 };

	need_server();
	c = conn_to(main_srv.endpoint);
	assert_int_equal(lf_participation_join(&c, "mychannel", junk, sizeof(junk),
					       &info, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "HTTP 400"));
	assert_non_null(strstr(err.msg, "config-block"));
}

static void test_participation_no_client_cert(void **state)
{
	struct lf_participation_conn c;
	struct lf_err err = LF_ERR_INIT;
	json_t *list = NULL;

	need_server();
	c = conn_to(main_srv.endpoint);
	c.cert_pem = NULL;
	c.key_pem = NULL;
	assert_int_equal(lf_participation_list(&c, &list, &err), LF_EAUTH);
	assert_null(list);
	assert_non_null(strstr(err.msg, "refused the TLS client certificate"));
	assert_non_null(strstr(err.msg, "none was given"));
}

static void test_participation_foreign_client_cert(void **state)
{
	struct lf_participation_conn c;
	struct lf_err err = LF_ERR_INIT;
	json_t *list = NULL;

	need_server();
	c = conn_to(main_srv.endpoint);
	c.cert_pem = pem.cli2_cert;
	c.key_pem = pem.cli2_key;
	c.key_len = pem.cli2_key_len;
	assert_int_equal(lf_participation_list(&c, &list, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "refused the TLS client certificate"));
	assert_null(strstr(err.msg, "PRIVATE KEY"));
}

static void test_participation_foreign_server_cert(void **state)
{
	struct server srv = { -1, "" };
	struct lf_participation_conn c;
	struct lf_err err = LF_ERR_INIT;
	json_t *list = NULL;

	need_server();
	if (server_start(&srv, "srv2", "ca1", NULL) != 0)
		skip();
	c = conn_to(srv.endpoint);
	assert_int_equal(lf_participation_list(&c, &list, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "server certificate not trusted"));
	server_stop(&srv);
}

static void test_participation_disabled_is_retry(void **state)
{
	struct server srv = { -1, "" };
	struct lf_participation_conn c;
	struct lf_err err = LF_ERR_INIT;
	json_t *list = NULL;

	need_server();
	if (server_start(&srv, "srv1", "ca1", "--disabled") != 0)
		skip();
	c = conn_to(srv.endpoint);
	assert_int_equal(lf_participation_list(&c, &list, &err), LF_ERETRY);
	assert_non_null(strstr(err.msg, "HTTP 503"));
	assert_non_null(strstr(err.msg, "disabled"));
	server_stop(&srv);
}

static void test_participation_refused_is_retry(void **state)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	struct lf_participation_conn c;
	struct lf_err err = LF_ERR_INIT;
	char ep[64];
	json_t *list = NULL;
	int fd;

	if (!have_certs)
		skip();
	/* a port that was just free and has no listener */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	c = conn_to(ep);
	/* bound but not listening: connections are refused */
	assert_int_equal(lf_participation_list(&c, &list, &err), LF_ERETRY);
	close(fd);
}

static void test_participation_bad_channel_name(void **state)
{
	struct lf_participation_conn c = conn_to("127.0.0.1:1");
	struct lf_participation_info info;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_participation_get(&c, "../x", &info, &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(lf_participation_remove(&c, "My", &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(lf_participation_join(&c, "", (const void *)"x", 1, &info,
					       &err), LF_EINVALID);
	/* a certificate without its key is refused before any I/O */
	lf_err_clear(&err);
	c.key_pem = NULL;
	assert_int_equal(lf_participation_remove(&c, "mychannel", &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "needs its key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_participation_join_list_remove),
		cmocka_unit_test(test_participation_join_other_conflict),
		cmocka_unit_test(test_participation_join_bad_block),
		cmocka_unit_test(test_participation_no_client_cert),
		cmocka_unit_test(test_participation_foreign_client_cert),
		cmocka_unit_test(test_participation_foreign_server_cert),
		cmocka_unit_test(test_participation_disabled_is_retry),
		cmocka_unit_test(test_participation_refused_is_retry),
		cmocka_unit_test(test_participation_bad_channel_name),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
