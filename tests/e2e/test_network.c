/*
 * With the real Fabric 2.5.5 binaries (FABRIC_BIN): apply brings up the
 * quickstart's 3 orderers and 4 peers on this one machine, each on its own
 * ports, from its own rendered config (every path absolute below its host
 * root), all healthy (their /healthz answers OK, asked here directly);
 * `status --json` reports each one running and healthy with its pid,
 * memory and ports; a node killed by hand is drift (and down in status)
 * that the next apply restarts; destroy leaves no process and no port
 * bound. Skipped, saying so, without FABRIC_BIN.
 *
 * Without Fabric: nodes that never get healthy (fake binaries: one exits,
 * one never serves) fail their create with their log's last lines and
 * leave no process; the local driver's TLS certificates carry localhost
 * and 127.0.0.1.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "clitest.h"

#define HOSTS ".ledgerform/quickstart/hosts"

static const char *const nodes[] = {
	"orderer0-ordering", "orderer1-ordering", "orderer2-ordering",
	"peer0-org1", "peer1-org1", "peer0-org2", "peer1-org2",
};
#define NNODES (sizeof(nodes) / sizeof(nodes[0]))

/* is something listening on 127.0.0.1:port? */
static bool listening(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool up;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return up;
}

/* every port the state says a node listens on */
static size_t node_ports(struct clitest *t, int *ports, size_t max)
{
	static const char *const keys[] = { "port", "chaincode_port", "operations_port",
					    "admin_port" };
	char *s = ct_read(t, "quickstart.state.json");
	json_t *doc = s ? json_loads(s, 0, NULL) : NULL, *rec;
	const char *addr;
	size_t n = 0;

	free(s);
	json_object_foreach(json_object_get(doc, "resources"), addr, rec) {
		json_t *a = json_object_get(rec, "attrs");

		if (strncmp(addr, "node.", 5) != 0)
			continue;
		for (size_t k = 0; k < 4 && n < max; k++)
			if (json_is_integer(json_object_get(a, keys[k])))
				ports[n++] = (int)json_integer_value(json_object_get(a, keys[k]));
	}
	json_decref(doc);
	return n;
}

/* GET http://127.0.0.1:port/healthz: is the answer 200 with status OK? */
static bool healthz_ok(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static const char req[] = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	char buf[2048] = "";
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = false;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
		while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)r;
		buf[n] = '\0';
		ok = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 9, "200", 3) == 0 &&
		     strstr(buf, "\"status\":\"OK\"") != NULL;
	}
	if (fd >= 0)
		close(fd);
	return ok;
}

/* the state's attribute key of node ADDR (0 when absent) */
static int node_attr_int(struct clitest *t, const char *addr, const char *key)
{
	char *s = ct_read(t, "quickstart.state.json");
	json_t *doc = s ? json_loads(s, 0, NULL) : NULL;
	json_t *a = json_object_get(json_object_get(json_object_get(doc, "resources"), addr),
				    "attrs");
	int v = (int)json_integer_value(json_object_get(a, key));

	free(s);
	json_decref(doc);
	return v;
}

/* `status --json`: every node of the state, checked against its pid file
 * and the state's ports; returns how many run and are healthy */
static size_t check_status(struct clitest *t, int want_exit)
{
	json_t *doc, *n;
	size_t i, up = 0;

	assert_int_equal(ct_run(t, "status -f quickstart.yaml --json"), want_exit);
	doc = json_loads(t->out, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "nodes")), NNODES);
	json_array_foreach(json_object_get(doc, "nodes"), i, n) {
		const char *addr = json_string_value(json_object_get(n, "address"));
		const json_t *ports = json_object_get(n, "ports");

		assert_non_null(addr);
		assert_int_equal(json_integer_value(json_object_get(ports, "listen")),
				 node_attr_int(t, addr, "port"));
		assert_int_equal(json_integer_value(json_object_get(ports, "operations")),
				 node_attr_int(t, addr, "operations_port"));
		assert_true(json_is_object(json_object_get(n, "channels")));
		if (!json_is_true(json_object_get(n, "running")))
			continue;
		assert_true(json_integer_value(json_object_get(n, "pid")) > 0);
		assert_true(ct_pid_alive((long)json_integer_value(json_object_get(n, "pid"))));
		assert_true(json_integer_value(json_object_get(n, "rss_kb")) > 1024);
		assert_true(json_is_number(json_object_get(n, "cpu_percent")));
		if (strcmp(json_string_value(json_object_get(n, "health")), "OK") != 0)
			continue;
		assert_string_equal(json_string_value(json_object_get(n, "version")), "2.5.5");
		up++;
	}
	json_decref(doc);
	return up;
}

static struct clitest t;

/* whatever happened in the test, no node it started outlives it (a failed
 * assertion would otherwise leave Fabric processes holding ports) */
static int stop_nodes(void **state)
{
	(void)state;
	if (!t.dir[0])
		return 0;
	for (size_t i = 0; i < NNODES; i++) {
		long pid = ct_node_pid(&t, HOSTS, nodes[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

static void test_e2e_network_up_and_down(void **state)
{
	const char *bin = ct_fabric_bin();
	char rel[256], *spec;
	int ports[64];
	size_t i, j, np;
	long pid;

	(void)state;
	if (!bin || !*bin) {
		print_message("skipped: FABRIC_BIN is not set (real Fabric binaries are needed)\n");
		skip();
	}
	ct_init(&t, "network");
	setenv("FABRIC_BIN", bin, 1); /* for this test's commands */
	{
		FILE *f = fopen(LF_SOURCE_DIR "/examples/quickstart.yaml", "r");
		char buf[4096];
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		assert_non_null(f);
		fclose(f);
		buf[n] = '\0';
		spec = strdup(buf);
	}
	ct_write(&t, "quickstart.yaml", spec);
	free(spec);
	assert_int_equal(ct_run(&t, "apply -f quickstart.yaml --auto-approve"), 0);
	/* every node runs, is healthy, and says it serves */
	for (i = 0; i < NNODES; i++) {
		pid = ct_node_pid(&t, HOSTS, nodes[i]);
		assert_true(pid > 0);
		assert_true(ct_pid_alive(pid));
		snprintf(rel, sizeof(rel), HOSTS "/%s/fabric/node.log", nodes[i]);
		assert_true(ct_wait_for(&t, rel, strncmp(nodes[i], "peer", 4) == 0
					 ? "Started peer with ID" : "Beginning to serve requests",
					 120000));
	}
	{
		static const char *const addrs[] = {
			"node.ordering.orderer0", "node.ordering.orderer1", "node.ordering.orderer2",
			"node.org1.peer0", "node.org1.peer1", "node.org2.peer0", "node.org2.peer1",
		};

		for (i = 0; i < NNODES; i++)
			assert_true(healthz_ok(node_attr_int(&t, addrs[i], "operations_port")));
	}
	assert_int_equal(check_status(&t, 0), NNODES);
	/* no two nodes share a port, and each one's ports are bound */
	np = node_ports(&t, ports, 64);
	assert_true(np >= 3 * 3 + 4 * 3);
	for (i = 0; i < np; i++) {
		for (j = i + 1; j < np; j++)
			assert_int_not_equal(ports[i], ports[j]);
		assert_true(listening(ports[i]));
	}
	assert_int_equal(ct_run(&t, "plan -f quickstart.yaml --detailed-exitcode"), 0);
	/* a node killed by hand is drift; apply starts it again */
	pid = ct_node_pid(&t, HOSTS, "peer1-org2");
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	assert_int_equal(ct_run(&t, "plan -f quickstart.yaml --detailed-exitcode --no-color"), 2);
	assert_non_null(strstr(t.out, "node.org2.peer1: drift: the node's process is not running"));
	assert_int_equal(check_status(&t, 2), NNODES - 1);
	assert_int_equal(ct_run(&t, "apply -f quickstart.yaml --auto-approve"), 0);
	assert_true(ct_node_pid(&t, HOSTS, "peer1-org2") != pid);
	assert_true(ct_pid_alive(ct_node_pid(&t, HOSTS, "peer1-org2")));
	assert_true(healthz_ok(node_attr_int(&t, "node.org2.peer1", "operations_port")));
	assert_int_equal(check_status(&t, 0), NNODES);
	assert_int_equal(ct_run(&t, "plan -f quickstart.yaml --detailed-exitcode"), 0);
	/* destroy: no process left, no port bound */
	{
		long pids[NNODES];

		for (i = 0; i < NNODES; i++)
			pids[i] = ct_node_pid(&t, HOSTS, nodes[i]);
		assert_int_equal(ct_run(&t, "destroy -f quickstart.yaml --auto-approve"), 0);
		for (i = 0; i < NNODES; i++)
			assert_false(ct_pid_alive(pids[i]));
		for (i = 0; i < np; i++)
			assert_false(listening(ports[i]));
	}
	unsetenv("FABRIC_BIN");
	ct_done(&t);
}

/* fake Fabric binaries: the orderer exits at once, the peer never serves */
static const char FAKE_ORDERER[] =
	"#!/bin/sh\n"
	/* as Fabric dies: the cause, then more stack than the tail shows */
	"printf '\\033[31m2026-12-02 11:48:39.975 UTC 0005 PANI\\033[0m [orderer.common.server] Main -> "
	"failed to start admin server: listen tcp 127.0.0.1:7053: bind: address already in use\\n' >&2\n"
	"i=0; while [ $i -lt 20 ]; do echo \"\tgoroutine frame $i\" >&2; i=$((i+1)); done\n"
	"echo 'fake orderer: cannot open the ledger here' >&2\nexit 3\n";
static const char FAKE_PEER[] =
	"#!/bin/sh\necho $$ >\"$FABRIC_CFG_PATH/../fake.pid\"\n"
	"echo 'fake peer: listening on nothing'\nexec sleep 600\n";

static void write_exe(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

/* the node's TLS certificate names localhost and 127.0.0.1 */
static void check_tls_names(struct clitest *tt, const char *node)
{
	char path[512];
	FILE *f;
	X509 *x;

	snprintf(path, sizeof(path), "%s/" HOSTS "/%s/fabric/tls/server.crt", tt->dir, node);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	X509_free(x);
}

static long fake_peer_pid(struct clitest *tt, const char *node)
{
	char rel[256], *s;
	long pid;

	snprintf(rel, sizeof(rel), HOSTS "/%s/fabric/fake.pid", node);
	s = ct_read(tt, rel);
	pid = s ? strtol(s, NULL, 10) : 0;
	free(s);
	return pid;
}

static struct clitest tf;

/* whatever happened, no fake peer outlives the test */
static int stop_fakes(void **state)
{
	(void)state;
	for (size_t i = 0; tf.dir[0] && i < NNODES; i++) {
		long pid = fake_peer_pid(&tf, nodes[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
	return 0;
}

static void test_e2e_network_unhealthy_nodes_fail(void **state)
{
	char bin[512], *spec;
	size_t n;
	FILE *f;

	(void)state;
	ct_init(&tf, "network-unhealthy");
	snprintf(bin, sizeof(bin), "%s/fakebin", tf.dir);
	assert_int_equal(mkdir(bin, 0755), 0);
	write_exe(bin, "orderer", FAKE_ORDERER);
	write_exe(bin, "peer", FAKE_PEER);
	f = fopen(LF_SOURCE_DIR "/examples/quickstart.yaml", "r");
	assert_non_null(f);
	spec = calloc(1, 8192);
	n = fread(spec, 1, 8191, f);
	fclose(f);
	spec[n] = '\0';
	ct_write(&tf, "quickstart.yaml", spec);
	free(spec);
	setenv("FABRIC_BIN", bin, 1);
	setenv("LEDGERFORM_NODE_HEALTH_WAIT", "2", 1);
	assert_int_not_equal(ct_run(&tf, "apply -f quickstart.yaml --auto-approve --no-color"), 0);
	unsetenv("FABRIC_BIN");
	unsetenv("LEDGERFORM_NODE_HEALTH_WAIT");
	/* each failure says why, with the node's own last words */
	assert_non_null(strstr(tf.err, "node.ordering.orderer0: the node exited before it was healthy"));
	assert_non_null(strstr(tf.err, "fake orderer: cannot open the ledger here"));
	/* the first panic line, without its colours, comes before the tail */
	assert_non_null(strstr(tf.err, "its log says: 2026-12-02 11:48:39.975 UTC 0005 PANI "
			       "[orderer.common.server] Main -> failed to start admin server: listen tcp "
			       "127.0.0.1:7053: bind: address already in use; the last lines of"));
	assert_non_null(strstr(tf.err, "node.org1.peer0: not healthy after 2s"));
	assert_non_null(strstr(tf.err, "fake peer: listening on nothing"));
	/* a node that never got healthy was stopped, and is not recorded */
	for (size_t i = 3; i < NNODES; i++) {
		long pid = fake_peer_pid(&tf, nodes[i]);

		assert_true(pid > 0);
		assert_false(ct_pid_alive(pid));
	}
	assert_int_equal(ct_run(&tf, "state list -f quickstart.yaml"), 0);
	assert_null(strstr(tf.out, "node.org1.peer0"));
	assert_non_null(strstr(tf.out, "host.org1.peer0"));
	check_tls_names(&tf, "peer0-org1");
	check_tls_names(&tf, "orderer1-ordering");
	ct_done(&tf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_network_unhealthy_nodes_fail, stop_fakes),
		cmocka_unit_test_teardown(test_e2e_network_up_and_down, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
