/*
 * End to end through driver ABI 2, with the real binary: outputs flowing
 * to dependents in the same apply, networks isolated by lineage on one
 * shared sim db, plan-time driver checks (missing driver, the driver's
 * own config checks at their positions, a disk shrink refused with the
 * driver's reason), drift, import, and a provider reached through another
 * provider's transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"

/* the state document of spec NAME.yaml (NAME.state.json) */
static json_t *state_of(struct clitest *t, const char *name)
{
	char rel[128];
	json_t *doc;

	snprintf(rel, sizeof(rel), "%s.state.json", name);
	doc = ct_state_doc(t, rel);
	assert_non_null(doc);
	return doc;
}

static void write_net_cpus(struct clitest *t, const char *file, const char *name,
			   const char *extra_provider_cfg, const char *disk, int vcpus);

static void write_net(struct clitest *t, const char *file, const char *name,
		      const char *extra_provider_cfg, const char *disk)
{
	write_net_cpus(t, file, name, extra_provider_cfg, disk, 2);
}

static void write_net_cpus(struct clitest *t, const char *file, const char *name,
			   const char *extra_provider_cfg, const char *disk, int vcpus)
{
	char spec[2048];

	snprintf(spec, sizeof(spec),
		 "name: %s\n"
		 "sizes:\n  box: {vcpus: %d, memory: 2GiB, disk: %s, drivers: {sim: {zone: z1}}}\n"
		 "providers:\n  cloud:\n    driver: sim\n"
		 "    config: {db: %s/sim-db.json, files_dir: %s/disks%s}\n"
		 "defaults: {size: box, provider: cloud}\n"
		 "orgs:\n  - name: ordering\n    orderers: {count: 1}\n"
		 "  - name: bank\n    peers: {count: 1}\n"
		 "channels:\n  - name: trade\n    orgs: [bank]\n",
		 name, vcpus, disk, t->dir, t->dir, extra_provider_cfg);
	ct_write(t, file, spec);
}

/* a sim host's address is only known once it is made; the node on it gets
 * that address in its environment within the same apply */
static void test_e2e_outputs_reach_node_files(void **state)
{
	struct clitest t;
	json_t *doc;
	const char *ma;
	char rel[256], want[96], *env;

	(void)state;
	ct_init(&t, "abi2-outputs");
	write_net(&t, "net.yaml", "net", "", "20GiB");
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	doc = state_of(&t, "net");
	ma = ct_output_of(doc, "host.bank.peer0", "machine_address");
	assert_non_null(ma);
	assert_true(strncmp(ma, "10.", 3) == 0);
	snprintf(rel, sizeof(rel), "disks/peer0-bank-%.8s/fabric/node.env",
		 json_string_value(json_object_get(doc, "lineage")));
	env = ct_read(&t, rel);
	assert_non_null(env);
	snprintf(want, sizeof(want), "LEDGERFORM_MACHINE_ADDRESS=%s\n", ma);
	assert_non_null(strstr(env, want));
	/* private keys land 0600 on the simulated disk */
	snprintf(rel, sizeof(rel), "disks/peer0-bank-%.8s/fabric/tls/server.key",
		 json_string_value(json_object_get(doc, "lineage")));
	assert_int_equal(ct_mode(&t, rel), 0600);
	free(env);
	json_decref(doc);
	/* the provider's config is not copied into the state */
	env = ct_read(&t, "net.state.json");
	assert_null(strstr(env, "files_dir"));
	free(env);
	assert_int_equal(ct_run(&t, "destroy -f net.yaml --auto-approve"), 0);
	ct_done(&t);
}

static size_t sim_hosts(struct clitest *t)
{
	char *s = ct_read(t, "sim-db.json");
	json_t *db = s ? json_loads(s, 0, NULL) : NULL;
	size_t n = json_object_size(json_object_get(db, "hosts"));

	free(s);
	json_decref(db);
	return n;
}

/* two networks with the same host names on one sim db: each has its own
 * machines, and destroying one leaves the other's */
static void test_e2e_two_networks_one_db(void **state)
{
	struct clitest t;
	json_t *a, *b;

	(void)state;
	ct_init(&t, "abi2-two");
	/* their own work dirs (crypto), the same host names on one db */
	write_net(&t, "one.yaml", "twin-a", "", "20GiB");
	write_net(&t, "two.yaml", "twin-b", "", "20GiB");
	assert_int_equal(ct_run(&t, "apply -f one.yaml --auto-approve --state one.state.json"), 0);
	assert_int_equal(ct_run(&t, "apply -f two.yaml --auto-approve --state two.state.json"), 0);
	assert_int_equal(sim_hosts(&t), 4);
	a = state_of(&t, "one");
	b = state_of(&t, "two");
	assert_string_not_equal(ct_output_of(a, "host.bank.peer0", "id"),
				ct_output_of(b, "host.bank.peer0", "id"));
	json_decref(a);
	json_decref(b);
	assert_int_equal(ct_run(&t, "destroy -f one.yaml --auto-approve --state one.state.json"), 0);
	assert_int_equal(sim_hosts(&t), 2);
	assert_int_equal(ct_run(&t, "plan -f two.yaml --state two.state.json --refresh "
				     "--detailed-exitcode"), 0);
	assert_non_null(strstr(t.out, "No changes."));
	assert_int_equal(ct_run(&t, "destroy -f two.yaml --auto-approve --state two.state.json"), 0);
	assert_int_equal(sim_hosts(&t), 0);
	ct_done(&t);
}

/* a provider whose plugin is missing, or whose config the driver refuses,
 * fails plan with the spec position; nothing is touched */
static void test_e2e_plan_checks_drivers(void **state)
{
	struct clitest t;

	(void)state;
	ct_init(&t, "abi2-checks");
	ct_write(&t, "spec.yaml",
		 "name: chk\n"
		 "providers:\n  cloud:\n    driver: nosuchdriver\n"
		 "orgs:\n  - name: bank\n    peers: {count: 1, provider: cloud}\n");
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "spec.yaml:3:3: error: provider 'cloud':"));
	assert_non_null(strstr(t.err, "nosuchdriver"));
	assert_false(ct_exists(&t, "spec.state.json"));
	ct_write(&t, "spec.yaml",
		 "name: chk\n"
		 "sizes:\n  box: {vcpus: 1, memory: 1GiB, disk: 10GiB,\n"
		 "        drivers: {sim: {zone: z1, flavor: big}}}\n"
		 "providers:\n  cloud:\n    driver: sim\n"
		 "    config:\n      latency_ms: 0\n      latencyms: 5\n"
		 "orgs:\n  - name: bank\n    peers: {count: 1, provider: cloud, size: box}\n");
	assert_int_equal(ct_run(&t, "plan -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "spec.yaml:10:7: error: provider 'cloud': sim: unknown setting 'latencyms'"));
	assert_non_null(strstr(t.err, "spec.yaml:4:35: error: provider 'cloud': sim: unknown size field 'flavor'"));
	assert_false(ct_exists(&t, "spec.state.json"));
	ct_done(&t);
}

/* shrinking a disk is refused at plan with the driver's reason; growing it
 * is an in-place change; vCPUs past the live maximum need a restart */
static void test_e2e_disk_shrink_refused_at_plan(void **state)
{
	struct clitest t;
	char *before, *after;

	(void)state;
	ct_init(&t, "abi2-shrink");
	write_net(&t, "net.yaml", "net", ", max_vcpus: 2", "40GiB");
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	before = ct_read(&t, "net.state.json");
	write_net(&t, "net.yaml", "net", ", max_vcpus: 2", "20GiB");
	assert_int_equal(ct_run(&t, "plan -f net.yaml"), 1);
	assert_non_null(strstr(t.err, "disk_gb cannot change from 40 to 20"));
	assert_non_null(strstr(t.err, "a disk cannot shrink"));
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 1);
	after = ct_read(&t, "net.state.json");
	assert_string_equal(before, after);
	free(before);
	free(after);
	write_net(&t, "net.yaml", "net", ", max_vcpus: 2", "80GiB");
	assert_int_equal(ct_run(&t, "plan -f net.yaml --no-color"), 0);
	assert_non_null(strstr(t.out, "~   host.bank.peer0"));
	assert_null(strstr(t.out, "-/+"));
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --detailed-exitcode"), 0);
	/* past the live maximum: in place, with the driver's restart */
	write_net_cpus(&t, "net.yaml", "net", ", max_vcpus: 2", "80GiB", 4);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --no-color"), 0);
	assert_non_null(strstr(t.out, "(update in place, with a restart)"));
	assert_non_null(strstr(t.out, "vcpus: 2 -> 4   # in place, restarts the machine: 4 vCPUs is past the live maximum of 2"));
	assert_int_equal(ct_run(&t, "plan -f net.yaml --json"), 0);
	assert_non_null(strstr(t.out, "\"how\": \"restart\""));
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --refresh --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&t, "destroy -f net.yaml --auto-approve"), 0);
	ct_done(&t);
}

/* a local host resized behind ledgerform's back shows as drift in the
 * default plan (local reads are cheap) and apply puts it back */
static void test_e2e_drift(void **state)
{
	struct clitest t;
	char *hj;

	(void)state;
	ct_init(&t, "abi2-drift");
	ct_write(&t, "spec.yaml",
		 "name: drift\norgs:\n  - name: bank\n    peers: {count: 1}\n");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	hj = ct_read(&t, ".ledgerform/drift/hosts/peer0-bank/host.json");
	assert_non_null(hj);
	assert_non_null(strstr(hj, "\"vcpus\": \"2\""));
	free(hj);
	ct_write(&t, ".ledgerform/drift/hosts/peer0-bank/host.json",
		 "{\"vcpus\": \"8\", \"memory_mb\": \"2048\", \"disk_gb\": \"20\", \"image\": \"debian-12\"}\n");
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --refresh=false --detailed-exitcode"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode --no-color"), 2);
	assert_non_null(strstr(t.out, "host.bank.peer0: drift: vcpus is 8 live, 2 recorded"));
	assert_non_null(strstr(t.out, "~   host.bank.peer0"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	hj = ct_read(&t, ".ledgerform/drift/hosts/peer0-bank/host.json");
	assert_non_null(strstr(hj, "\"vcpus\": \"2\""));
	free(hj);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --detailed-exitcode"), 0);
	ct_done(&t);
}

/* a machine made outside ledgerform is adopted with import: the next plan
 * does not create that host, destroy deletes it */
static void test_e2e_import(void **state)
{
	struct clitest t;
	json_t *doc;

	(void)state;
	ct_init(&t, "abi2-import");
	ct_write(&t, "sim-db.json",
		 "{\"version\": 1, \"hosts\": {\"/by-hand\": {\"id\": \"sim-0000beef\", "
		 "\"name\": \"by-hand\", \"lineage\": \"\", \"resource\": \"by-hand\", "
		 "\"machine_address\": \"10.9.9.9\", \"vcpus\": 2, \"memory_mb\": 2048, "
		 "\"disk_gb\": 20, \"image\": \"debian-12\", \"power\": \"running\", "
		 "\"put_count\": 0, \"exec_count\": 0}}, \"ids\": {\"sim-0000beef\": \"/by-hand\"}}\n");
	write_net(&t, "net.yaml", "net", "", "20GiB");
	assert_int_equal(ct_run(&t, "import -f net.yaml host.bank.peer0 sim-00000000"), 1);
	assert_non_null(strstr(t.err, "no host with id 'sim-00000000'"));
	assert_int_equal(ct_run(&t, "import -f net.yaml host.bank.nope sim-0000beef"), 1);
	assert_non_null(strstr(t.err, "not a resource of the spec"));
	assert_int_equal(ct_run(&t, "import -f net.yaml host.bank.peer0 sim-0000beef"), 0);
	assert_int_equal(ct_run(&t, "import -f net.yaml host.bank.peer0 sim-0000beef"), 1);
	assert_non_null(strstr(t.err, "already in the state"));
	doc = state_of(&t, "net");
	assert_string_equal(ct_output_of(doc, "host.bank.peer0", "machine_address"), "10.9.9.9");
	json_decref(doc);
	assert_int_equal(ct_run(&t, "plan -f net.yaml --no-color"), 0);
	assert_null(strstr(t.out, "+   host.bank.peer0"));
	assert_non_null(strstr(t.out, "+   host.ordering.orderer0"));
	assert_int_equal(ct_run(&t, "apply -f net.yaml --auto-approve"), 0);
	assert_int_equal(sim_hosts(&t), 2);
	assert_int_equal(ct_run(&t, "destroy -f net.yaml --auto-approve"), 0);
	assert_int_equal(sim_hosts(&t), 0);
	ct_done(&t);
}

/* a sim provider whose machines are reached through the local transport:
 * the sim makes the machine, the local driver puts the node's files */
static void test_e2e_provider_with_other_transport(void **state)
{
	struct clitest t;

	(void)state;
	ct_init(&t, "abi2-transport");
	ct_write(&t, "spec.yaml",
		 "name: mix\n"
		 "providers:\n  cloud:\n    driver: sim\n    transport: local\n"
		 "orgs:\n  - name: bank\n    peers: {count: 1, provider: cloud}\n");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	assert_true(ct_exists(&t, ".ledgerform/mix/hosts/peer0-bank/fabric/node.env"));
	assert_true(ct_exists(&t, ".ledgerform/mix/hosts/peer0-bank/.ledgerform-host"));
	assert_int_equal(ct_run(&t, "state show -f spec.yaml host.bank.peer0"), 0);
	assert_non_null(strstr(t.out, "\"machine\""));
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve"), 0);
	assert_false(ct_exists(&t, ".ledgerform/mix/hosts/peer0-bank"));
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_outputs_reach_node_files),
		cmocka_unit_test(test_e2e_two_networks_one_db),
		cmocka_unit_test(test_e2e_plan_checks_drivers),
		cmocka_unit_test(test_e2e_disk_shrink_refused_at_plan),
		cmocka_unit_test(test_e2e_drift),
		cmocka_unit_test(test_e2e_import),
		cmocka_unit_test(test_e2e_provider_with_other_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
