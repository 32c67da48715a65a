/*
 * A node counts as healthy only when its own process holds its ports
 * (ports 35600-35699), with the real Fabric 2.5.5 binaries (FABRIC_BIN):
 * another process (a small listener this test runs, answering every HTTP
 * request with 200 {"status":"OK"}, as a node's /healthz does) holds
 * peer0's operations port before apply. apply fails for node.org1.peer0
 * with a message naming the port and the other process's pid, and the
 * state records no started peer0. With the listener gone, the next apply
 * converges and destroy leaves no node running. Skipped, saying so,
 * without FABRIC_BIN.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

#define W ".ledgerform/hport"
#define PEER_OPS 35654

static const char SPEC[] =
	"name: hport\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers:\n"
	"      hosts:\n"
	"        - {name: orderer0, address: 127.0.0.1, ports: {listen: 35650, admin: 35653, operations: 35643}}\n"
	"  - name: org1\n"
	"    peers:\n"
	"      hosts:\n"
	"        - {name: peer0, address: 127.0.0.1, ports: {listen: 35651, chaincode: 35652, operations: 35654}}\n"
	"channels:\n"
	"  - name: hport\n"
	"    orgs: [org1]\n";

static struct clitest t;
static pid_t g_impostor;
static const char *const all_hosts[] = { "orderer0-ordering", "peer0-org1" };
#define NHOSTS (sizeof(all_hosts) / sizeof(all_hosts[0]))

/* the listener: bound here (so the port is taken when this returns), its
 * accept loop in a child; its pid, or -1 */
static pid_t impostor_start(int port)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				    "Content-Length: 15\r\nConnection: close\r\n\r\n"
				    "{\"status\":\"OK\"}";
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		for (;;) {
			char buf[2048];
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				continue;
			if (read(c, buf, sizeof(buf)) > 0 && write(c, reply, sizeof(reply) - 1) < 0)
				_exit(1);
			close(c);
		}
	}
	close(fd);
	return pid;
}

static void impostor_stop(void)
{
	if (g_impostor > 0) {
		kill(g_impostor, SIGKILL);
		waitpid(g_impostor, NULL, 0);
		g_impostor = 0;
	}
}

static int teardown(void **state)
{
	(void)state;
	impostor_stop();
	ct_kill_nodes(&t, W "/hosts", all_hosts, NHOSTS);
	return 0;
}

static void test_port_held_by_another_process(void **state)
{
	const char *bin = ct_fabric_bin();
	char want[64];
	json_t *doc, *r;
	size_t alive = 0;

	(void)state;
	if (!bin) {
		print_message("FABRIC_BIN is not set: skipping the port-holder health check on real nodes\n");
		skip();
	}
	setenv("FABRIC_BIN", bin, 1);
	ct_init(&t, "hport");
	ct_write(&t, "spec.yaml", SPEC);
	g_impostor = impostor_start(PEER_OPS);
	assert_true(g_impostor > 0);

	assert_int_not_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	print_message("apply: %s\n", t.err);
	assert_non_null(strstr(t.err, "node.org1.peer0"));
	snprintf(want, sizeof(want), "port %d", PEER_OPS);
	assert_non_null(strstr(t.err, want));
	snprintf(want, sizeof(want), "(pid %ld)", (long)g_impostor);
	assert_non_null(strstr(t.err, want));
	/* nothing recorded as started, and no peer process left behind */
	doc = ct_state_doc(&t, "spec.state.json");
	assert_non_null(doc);
	r = json_object_get(json_object_get(doc, "resources"), "node.org1.peer0");
	assert_false(json_is_true(json_object_get(json_object_get(r, "outputs"), "started")));
	json_decref(doc);
	assert_false(ct_node_pid(&t, W "/hosts", "peer0-org1") > 0 &&
		     ct_pid_alive(ct_node_pid(&t, W "/hosts", "peer0-org1")));

	/* the port free again: the next apply converges */
	impostor_stop();
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	assert_int_equal(ct_destroy_nodes(&t, W "/hosts", all_hosts, NHOSTS, &alive), 0);
	assert_int_equal(alive, 0);
	ct_done(&t);
	unsetenv("FABRIC_BIN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_port_held_by_another_process, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
