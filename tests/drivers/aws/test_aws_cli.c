/*
 * The aws driver end to end: the real `ledgerform` binary against
 * tests/node/ec2-fake.js (127.0.0.1, ports 22450-22499, TLS with a CA made
 * here, every request's SigV4 checked by the fake). Apply, a second plan
 * with no changes, drift made through the fake's control endpoint (another
 * instance type, a stopped and a terminated instance) repaired by apply,
 * scale out, resize (shown as in place with a restart), a create killed
 * (LEDGERFORM_CRASH_AT) after RunInstances and before the state commit
 * that the next apply finishes with one instance, destroy; no secret in
 * the state, the plan or any output; a credentials file readable by
 * others warns. Hosts reach their nodes through the local transport.
 * Import: an instance made outside ledgerform adopted by id (tagged, its
 * machine prepared by the transport, not launched again by apply), one of
 * another network refused; manage_security_group gets exactly the rules
 * of the nodes' ports that the core passes to the provider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include <curl/curl.h>

#include "../../e2e/clitest.h"
#include "core/util/util.h"
#include "ec2fake.h"

#define SECRET "cliSECRETkeyNEVERinSTATEorLOGS0123456789"
#define KILLED 137

static struct clitest t;
static struct ec2fake fake = { -1, 0, "" };
static const char *skip_reason;
static const char *spec_extra = ""; /* more provider config lines */

static int group_setup(void **state)
{
	(void)state;
	ct_init(&t, "aws");
	chmod(t.dir, 0700);
	if (system("command -v node >/dev/null 2>&1") != 0)
		skip_reason = "node is not installed (bash .ci/bootstrap.sh --with-tests)";
	else if (ec2fake_certs(t.dir) != 0)
		skip_reason = "the openssl CLI cannot make the test CA";
	ct_write(&t, "keys.json", "{\"AKIDCLI\": {\"secret\": \"" SECRET "\", \"token\": null}}");
	ct_write(&t, "credentials", "[ci]\naws_access_key_id = AKIDCLI\naws_secret_access_key = " SECRET "\n");
	chmod(t.dir, 0700);
	if (!skip_reason && ec2fake_start(&fake, t.dir, 22450, 22499) != 0)
		skip_reason = "cannot start tests/node/ec2-fake.js on 127.0.0.1:22450-22499";
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ec2fake_stop(&fake);
	ct_done(&t);
	return 0;
}

/* the spec: an ordering org and org1 with `peers` peers of size `size` */
static void write_spec(int peers, const char *size)
{
	char spec[2048];

	snprintf(spec, sizeof(spec),
		 "name: cloudnet\n"
		 "sizes:\n"
		 "  small: {drivers: {aws: {instance_type: t3.small}}}\n"
		 "  big: {vcpus: 8, memory: 32GiB, disk: 50GiB, drivers: {aws: {instance_type: m5.2xlarge}}}\n"
		 "providers:\n"
		 "  cloud:\n"
		 "    driver: aws\n"
		 "    config:\n"
		 "      region: us-east-1\n"
		 "      endpoint: \"https://127.0.0.1:%d/\"\n"
		 "      ca_bundle: %s/ca.pem\n"
		 "      images: {debian-12: ami-0fakedebian}\n"
		 "      poll_ms: 5\n"
		 "      retry_base_ms: 5\n%s"
		 "    credentials: {file: %s/credentials, profile: ci}\n"
		 "    transport: local\n"
		 "defaults: {size: small, provider: cloud}\n"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    orderers: {count: 1}\n"
		 "  - name: org1\n"
		 "    peers: {count: %d, size: %s}\n",
		 fake.port, t.dir, spec_extra, t.dir, peers, size);
	ct_write(&t, "spec.yaml", spec);
}


static void need_server(void)
{
	if (skip_reason) {
		print_message("skipped: %s\n", skip_reason);
		skip();
	}
}

static void run_ok(const char *args)
{
	int rc = ct_run(&t, "%s", args);

	if (rc != 0)
		print_message("ledgerform %s: exit %d\nstdout:\n%s\nstderr:\n%s\n", args, rc,
			      t.out, t.err);
	assert_int_equal(rc, 0);
}

/* the recorded instance id of a host (caller frees) */
static char *state_id(const char *addr)
{
	char *text = ct_read(&t, "spec.state.json"), *id;
	json_t *st = text ? json_loads(text, 0, NULL) : NULL;
	const char *v;

	v = json_string_value(json_object_get(json_object_get(json_object_get(
		json_object_get(st, "resources"), addr), "outputs"), "id"));
	assert_non_null(v);
	id = strdup(v);
	json_decref(st);
	free(text);
	return id;
}

static const char *const HOSTS3[] = { "host.ordering.orderer0", "host.org1.peer0",
				      "host.org1.peer1", NULL };

static void one_each(const char *const *hosts)
{
	size_t i;

	for (i = 0; hosts[i]; i++)
		assert_int_equal(ec2fake_live(&fake, hosts[i]), 1);
}

/* apply makes one running instance per host; a second plan is empty */
static void test_e2e_aws_apply(void **state)
{
	(void)state;
	need_server();
	write_spec(2, "small");
	run_ok("apply -f spec.yaml --auto-approve");
	one_each(HOSTS3);
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "No changes"));
}

/* an instance type changed behind ledgerform's back: drift, repaired by
 * stop/modify/start, shown as in place with a restart */
static void test_e2e_aws_drift_type(void **state)
{
	char *id;
	json_t *rec;
	long long stops;

	(void)state;
	need_server();
	id = state_id("host.org1.peer0");
	json_decref(ec2fake_control(&fake, "{\"op\":\"set\",\"id\":\"%s\",\"type\":\"m5.2xlarge\"}", id));
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "drift: vcpus is 8 live, 2 recorded"));
	assert_non_null(strstr(t.out, "with a restart"));
	stops = ec2fake_calls(&fake, "StopInstances");
	run_ok("apply -f spec.yaml --refresh --auto-approve");
	assert_int_equal(ec2fake_calls(&fake, "StopInstances"), stops + 1);
	rec = ec2fake_instance(&fake, id);
	assert_string_equal(json_string_value(json_object_get(rec, "type")), "t3.small");
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "running");
	json_decref(rec);
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "No changes"));
	free(id);
}

/* stopped out of band: drift (no running vCPUs), apply starts it;
 * terminated out of band: gone, apply makes a new one */
static void test_e2e_aws_drift_stopped_terminated(void **state)
{
	char *id, *id2;
	json_t *rec;

	(void)state;
	need_server();
	id = state_id("host.org1.peer1");
	json_decref(ec2fake_control(&fake, "{\"op\":\"set\",\"id\":\"%s\",\"state\":\"stopped\"}", id));
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "vcpus is 0 live"));
	run_ok("apply -f spec.yaml --refresh --auto-approve");
	rec = ec2fake_instance(&fake, id);
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "running");
	json_decref(rec);

	json_decref(ec2fake_control(&fake, "{\"op\":\"set\",\"id\":\"%s\",\"state\":\"terminated\"}", id));
	run_ok("apply -f spec.yaml --refresh --auto-approve");
	id2 = state_id("host.org1.peer1");
	assert_string_not_equal(id, id2);
	one_each(HOSTS3);
	free(id);
	free(id2);
}

/* scale out to 3 peers, then resize the peers to `big` */
static void test_e2e_aws_scale_resize(void **state)
{
	static const char *const hosts4[] = { "host.ordering.orderer0", "host.org1.peer0",
					      "host.org1.peer1", "host.org1.peer2", NULL };
	char *id;
	json_t *rec;

	(void)state;
	need_server();
	write_spec(3, "small");
	run_ok("apply -f spec.yaml --auto-approve");
	one_each(hosts4);
	write_spec(3, "big");
	run_ok("plan -f spec.yaml");
	assert_non_null(strstr(t.out, "update in place, with a restart"));
	assert_null(strstr(t.out, "replace"));
	run_ok("apply -f spec.yaml --auto-approve");
	id = state_id("host.org1.peer2");
	rec = ec2fake_instance(&fake, id);
	assert_string_equal(json_string_value(json_object_get(rec, "type")), "m5.2xlarge");
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "running");
	json_decref(rec);
	free(id);
	one_each(hosts4);
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "No changes"));
}

/* killed after RunInstances, before the state records the host; the
 * fake hides new instances from tag filters for a while (EC2's eventual
 * consistency), so only the ClientToken can find it: one instance */
static void test_e2e_aws_crash_after_run(void **state)
{
	long long runs;
	int rc;

	(void)state;
	need_server();
	write_spec(4, "big");
	json_decref(ec2fake_control(&fake, "{\"op\":\"lag\",\"count\":50}"));
	runs = ec2fake_calls(&fake, "RunInstances");
	setenv("LEDGERFORM_CRASH_AT", "aws.create.after_run:1", 1);
	rc = ct_run(&t, "apply -f spec.yaml --auto-approve");
	unsetenv("LEDGERFORM_CRASH_AT");
	assert_int_equal(rc, KILLED);
	assert_int_equal(ec2fake_calls(&fake, "RunInstances"), runs + 1);
	assert_int_equal(ec2fake_live(&fake, "host.org1.peer3"), 1);
	run_ok("apply -f spec.yaml --auto-approve");
	assert_int_equal(ec2fake_calls(&fake, "RunInstances"), runs + 2); /* same token */
	assert_int_equal(ec2fake_live(&fake, "host.org1.peer3"), 1);
	json_decref(ec2fake_control(&fake, "{\"op\":\"lag\",\"count\":0}"));
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "No changes"));
}

/* destroy terminates every instance; the state keeps no host */
static void test_e2e_aws_destroy(void **state)
{
	json_t *s, *v;
	size_t i;
	char *st;

	(void)state;
	need_server();
	run_ok("destroy -f spec.yaml --auto-approve");
	s = ec2fake_control(&fake, "{\"op\":\"stats\"}");
	json_array_foreach(json_object_get(s, "instances"), i, v)
		assert_string_equal(json_string_value(json_object_get(v, "state")), "terminated");
	json_decref(s);
	st = ct_read(&t, "spec.state.json");
	assert_null(strstr(st, "\"host."));
	free(st);
}

/* the secret is nowhere: state, its backup, plan and command output;
 * a credentials file readable by others warns */
static void test_e2e_aws_no_secret(void **state)
{
	static const char *const files[] = { "spec.state.json", "spec.state.json.backup", NULL };
	char *text;
	size_t i;

	(void)state;
	need_server();
	for (i = 0; files[i]; i++) {
		text = ct_read(&t, files[i]);
		assert_non_null(text);
		assert_null(strstr(text, SECRET));
		free(text);
	}
	chmod(t.dir, 0755);
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/credentials", t.dir);
		chmod(path, 0644);
		run_ok("plan -f spec.yaml --refresh");
		assert_null(strstr(t.out, SECRET));
		assert_null(strstr(t.err, SECRET));
		run_ok("apply -f spec.yaml --auto-approve");
		assert_null(strstr(t.out, SECRET));
		assert_null(strstr(t.err, SECRET));
		assert_non_null(strstr(t.err, "readable by others"));
		run_ok("destroy -f spec.yaml --auto-approve");
		assert_null(strstr(t.err, SECRET));
		chmod(path, 0600);
	}
}

/* an instance made outside ledgerform (tags as JSON, more fields of the
 * fake's run op may follow: ,"groups":[...]); its id (malloc'd) */
static char *console_instance(const char *tags_json)
{
	json_t *s = ec2fake_control(&fake, "{\"op\":\"run\",\"tags\":%s}", tags_json);
	json_t *all = json_object_get(s, "instances");
	char *id = strdup(json_string_value(json_object_get(json_array_get(all,
		json_array_size(all) - 1), "id")));

	json_decref(s);
	return id;
}

static json_t *state_doc(void)
{
	char *text = ct_read(&t, "spec.state.json");
	json_t *st = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	assert_non_null(st);
	return st;
}

/* the one group of the state's lineage: its rules, sg-self as SELF */
static char *group_rules(const char *lineage)
{
	json_t *s = ec2fake_control(&fake, "{\"op\":\"stats\"}"), *g, *r;
	struct lf_buf b = LF_BUF_INIT;
	const char *id = NULL, *rule;
	size_t i, k, n = 0;

	json_array_foreach(json_object_get(s, "groups"), i, g) {
		if (!lf_streq(json_string_value(json_object_get(json_object_get(g, "tags"),
								   "ledgerform:lineage")), lineage))
			continue;
		n++;
		id = json_string_value(json_object_get(g, "id"));
		json_array_foreach(json_object_get(g, "rules"), k, r) {
			rule = json_string_value(r);
			if (strstr(rule, id))
				lf_buf_printf(&b, "%s%.*sSELF", b.len ? " " : "",
					      (int)(strstr(rule, id) - rule), rule);
			else
				lf_buf_printf(&b, "%s%s", b.len ? " " : "", rule);
		}
	}
	json_decref(s);
	assert_int_equal(n, 1);
	return b.data ? b.data : strdup("");
}

/* the id of lineage's group (malloc'd), NULL when it has none */
static char *group_id(const char *lineage)
{
	json_t *s = ec2fake_control(&fake, "{\"op\":\"stats\"}"), *g;
	char *id = NULL;
	size_t i;

	json_array_foreach(json_object_get(s, "groups"), i, g)
		if (lf_streq(json_string_value(json_object_get(json_object_get(g, "tags"),
								"ledgerform:lineage")), lineage))
			id = strdup(json_string_value(json_object_get(g, "id")));
	json_decref(s);
	return id;
}

/* a rule revoked behind ledgerform's back: plan --refresh shows the hosts
 * updated for the drift, apply --refresh puts it back, the next plan is
 * empty */
static void sg_drift_repaired(const char *lineage)
{
	char *gid = group_id(lineage), *rules;

	assert_non_null(gid);
	json_decref(ec2fake_control(&fake, "{\"op\":\"sg_revoke\",\"group\":\"%s\",\"rule\":"
				    "{\"proto\":\"tcp\",\"from\":7051,\"to\":7051,\"src\":\"%s\"}}",
				    gid, gid));
	run_ok("plan -f spec.yaml --refresh");
	print_message("  plan: %s", t.out);
	assert_non_null(strstr(t.out, "drift: security group"));
	assert_non_null(strstr(t.out, "missing tcp/7051 from sg-"));
	assert_null(strstr(t.out, "No changes"));
	run_ok("apply -f spec.yaml --refresh --auto-approve");
	rules = group_rules(lineage);
	assert_string_equal(rules, "tcp/22/22/198.51.100.7/32 tcp/7050/7050/SELF tcp/7051/7051/SELF "
			    "tcp/7053/7053/198.51.100.7/32 tcp/8443/8443/198.51.100.7/32 "
			    "tcp/9443/9443/198.51.100.7/32");
	free(rules);
	run_ok("plan -f spec.yaml --refresh");
	assert_non_null(strstr(t.out, "No changes"));
	free(gid);
}

/* import adopts an instance made elsewhere (tagging it with the state's
 * lineage and the address), refuses one carrying another lineage, and the
 * next apply makes only the other hosts; the network's security group
 * holds exactly the rules of the nodes' ports the core passed */
static void test_e2e_aws_import_and_group(void **state)
{
	char cmd[256], *mine, *other, *id, *rules, *gid;
	json_t *st, *rec;
	const char *lineage;
	long long runs;

	(void)state;
	need_server();
	spec_extra = "      manage_security_group: true\n      controller_cidr: 198.51.100.7/32\n";
	write_spec(1, "small");
	mine = console_instance("{\"Name\":\"made-in-console\"},\"groups\":[\"sg-0c0ffee\"]");
	other = console_instance("{\"ledgerform:lineage\":\"99999999-0000-4000-8000-000000000099\","
				 "\"ledgerform:resource\":\"host.org1.peer0\"}");
	/* another network's instance: refused, untouched, not in the state */
	snprintf(cmd, sizeof(cmd), "import -f spec.yaml host.org1.peer0 %s", other);
	assert_int_not_equal(ct_run(&t, "%s", cmd), 0);
	print_message("  refused: %s", t.err);
	assert_non_null(strstr(t.err, "another lineage"));
	rec = ec2fake_instance(&fake, other);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "tags"),
							      "ledgerform:lineage")),
			    "99999999-0000-4000-8000-000000000099");
	json_decref(rec);
	st = state_doc();
	assert_null(json_object_get(json_object_get(st, "resources"), "host.org1.peer0"));
	json_decref(st);
	/* ours to take: tagged and recorded */
	snprintf(cmd, sizeof(cmd), "import -f spec.yaml host.org1.peer0 %s", mine);
	run_ok(cmd);
	assert_non_null(strstr(t.out, "Imported"));
	st = state_doc();
	lineage = json_string_value(json_object_get(st, "lineage"));
	rec = ec2fake_instance(&fake, mine);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "tags"),
							      "ledgerform:lineage")), lineage);
	assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "tags"),
							      "ledgerform:resource")), "host.org1.peer0");
	json_decref(rec);
	id = state_id("host.org1.peer0");
	assert_string_equal(id, mine);
	free(id);
	/* apply makes the orderer's machine only */
	runs = ec2fake_calls(&fake, "RunInstances");
	if (ct_run(&t, "apply -f spec.yaml --auto-approve") != 0)
		fail_msg("apply: %s", t.err + (strlen(t.err) > 900 ? strlen(t.err) - 900 : 0));
	/* (RunInstances may be called more than once for the orderer: its
	 * earlier generations' client tokens name terminated instances) */
	assert_true(ec2fake_calls(&fake, "RunInstances") > runs);
	assert_int_equal(ec2fake_live(&fake, "host.ordering.orderer0"), 1);
	/* the imported one and the other network's (untouched): no new one */
	assert_int_equal(ec2fake_live(&fake, "host.org1.peer0"), 2);
	id = state_id("host.org1.peer0");
	assert_string_equal(id, mine);
	free(id);
	rules = group_rules(lineage);
	print_message("  group: %s\n", rules);
	/* the peer's listen 7051 and the orderer's 7050 from the network,
	 * operations 9443/8443 and the orderer's admin 7053 from the
	 * controller, SSH from the controller; no chaincode port */
	assert_string_equal(rules, "tcp/22/22/198.51.100.7/32 tcp/7050/7050/SELF tcp/7051/7051/SELF "
			    "tcp/7053/7053/198.51.100.7/32 tcp/8443/8443/198.51.100.7/32 "
			    "tcp/9443/9443/198.51.100.7/32");
	free(rules);
	/* the imported instance joined the group, keeping its own */
	rec = ec2fake_instance(&fake, mine);
	gid = group_id(lineage);
	assert_int_equal(json_array_size(json_object_get(rec, "groups")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "groups"), 0)),
			    "sg-0c0ffee");
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "groups"), 1)), gid);
	json_decref(rec);
	free(gid);
	sg_drift_repaired(lineage);
	/* the group goes with the network's last host */
	run_ok("destroy -f spec.yaml --auto-approve");
	gid = group_id(lineage);
	assert_null(gid);
	json_decref(st);
	spec_extra = "";
	free(mine);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e2e_aws_apply),
		cmocka_unit_test(test_e2e_aws_drift_type),
		cmocka_unit_test(test_e2e_aws_drift_stopped_terminated),
		cmocka_unit_test(test_e2e_aws_scale_resize),
		cmocka_unit_test(test_e2e_aws_crash_after_run),
		cmocka_unit_test(test_e2e_aws_destroy),
		cmocka_unit_test(test_e2e_aws_no_secret),
		cmocka_unit_test(test_e2e_aws_import_and_group),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
