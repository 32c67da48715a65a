/*
 * With the real Fabric 2.5.5 binaries (FABRIC_BIN): apply brings up the
 * quickstart's 3 orderers and 4 peers on this one machine, each on its own
 * ports, from its own bundle (every path absolute below its host root), all
 * alive and serving; a node killed by hand is drift that the next apply
 * restarts; destroy leaves no process and no port bound. Skipped, saying
 * so, without FABRIC_BIN.
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
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define HOSTS ".ledgerform/quickstart/hosts"

static const char *const nodes[] = {
	"orderer0-ordering", "orderer1-ordering", "orderer2-ordering",
	"peer0-org1", "peer1-org1", "peer0-org2", "peer1-org2",
};
#define NNODES (sizeof(nodes) / sizeof(nodes[0]))

static bool alive(long pid)
{
	char path[64], buf[256] = "";
	FILE *f;
	bool up;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	up = fgets(buf, sizeof(buf), f) && !strstr(buf, ") Z ");
	fclose(f);
	return up;
}

static long node_pid(struct clitest *t, const char *node)
{
	char rel[256], *s;
	long pid;

	snprintf(rel, sizeof(rel), HOSTS "/%s/fabric/node.pid", node);
	s = ct_read(t, rel);
	if (!s)
		return 0;
	pid = strtol(s, NULL, 10);
	free(s);
	return pid;
}

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

static struct clitest t;

/* whatever happened in the test, no node it started outlives it (a failed
 * assertion would otherwise leave Fabric processes holding ports) */
static int stop_nodes(void **state)
{
	(void)state;
	if (!t.dir[0])
		return 0;
	for (size_t i = 0; i < NNODES; i++) {
		long pid = node_pid(&t, nodes[i]);

		if (pid > 0 && alive(pid))
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
	/* every node runs, and says it serves */
	for (i = 0; i < NNODES; i++) {
		pid = node_pid(&t, nodes[i]);
		assert_true(pid > 0);
		assert_true(alive(pid));
		snprintf(rel, sizeof(rel), HOSTS "/%s/fabric/node.log", nodes[i]);
		assert_true(ct_wait_for(&t, rel, strncmp(nodes[i], "peer", 4) == 0
					 ? "Started peer with ID" : "Beginning to serve requests",
					 120000));
	}
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
	pid = node_pid(&t, "peer1-org2");
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	assert_int_equal(ct_run(&t, "plan -f quickstart.yaml --detailed-exitcode --no-color"), 2);
	assert_non_null(strstr(t.out, "node.org2.peer1: drift: the node's process is not running"));
	assert_int_equal(ct_run(&t, "apply -f quickstart.yaml --auto-approve"), 0);
	assert_true(node_pid(&t, "peer1-org2") != pid);
	assert_true(alive(node_pid(&t, "peer1-org2")));
	assert_int_equal(ct_run(&t, "plan -f quickstart.yaml --detailed-exitcode"), 0);
	/* destroy: no process left, no port bound */
	{
		long pids[NNODES];

		for (i = 0; i < NNODES; i++)
			pids[i] = node_pid(&t, nodes[i]);
		assert_int_equal(ct_run(&t, "destroy -f quickstart.yaml --auto-approve"), 0);
		for (i = 0; i < NNODES; i++)
			assert_false(alive(pids[i]));
		for (i = 0; i < np; i++)
			assert_false(listening(ports[i]));
	}
	unsetenv("FABRIC_BIN");
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_e2e_network_up_and_down, stop_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
