/*
 * Machine-readable output, end to end: every command that takes --json
 * prints exactly one JSON document on stdout (parsed here with jansson,
 * which refuses anything after it), and apply/destroy --json print one
 * Terraform-style UI event per line (@level, @message, @module,
 * @timestamp, type), with the human text on stderr. Local driver (and the
 * sim driver for import and a failing create).
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

static void write_spec(struct clitest *t, const char *sizes, const char *batch)
{
	char tail[512];

	snprintf(tail, sizeof(tail), "channels:\n  - name: trade\n    orgs: [bank]\n%s", batch);
	ct_write_demo(t, sizes, 2, tail);
}

/* stdout of the last command as one JSON document (nothing after it) */
static json_t *one_doc(struct clitest *t)
{
	json_error_t je;
	json_t *doc = json_loads(t->out, 0, &je);

	if (!doc)
		fail_msg("stdout is not one JSON document: %s (line %d)\n%s", je.text, je.line,
			 t->out);
	return doc;
}

/* stdout as JSON lines: each an object with Terraform's UI fields */
static json_t *event_lines(struct clitest *t)
{
	json_t *v = json_array();
	char *s = t->out, *nl;

	for (; *s; s = nl + 1) {
		json_error_t je;
		json_t *e;

		nl = strchr(s, '\n');
		assert_non_null(nl); /* every event ends its line */
		e = json_loadb(s, (size_t)(nl - s), 0, &je);
		if (!e)
			fail_msg("not a JSON line: %s: %.*s", je.text, (int)(nl - s), s);
		assert_true(json_is_string(json_object_get(e, "@level")));
		assert_true(json_is_string(json_object_get(e, "@message")));
		assert_string_equal(json_string_value(json_object_get(e, "@module")), "ledgerform.ui");
		assert_non_null(strchr(json_string_value(json_object_get(e, "@timestamp")), 'T'));
		assert_true(json_is_string(json_object_get(e, "type")));
		json_array_append_new(v, e);
	}
	return v;
}

static size_t count_type(json_t *ev, const char *type)
{
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(ev, i, e)
		n += strcmp(json_string_value(json_object_get(e, "type")), type) == 0;
	return n;
}

static json_t *last_of(json_t *ev, const char *type)
{
	json_t *e, *found = NULL;
	size_t i;

	json_array_foreach(ev, i, e)
		if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0)
			found = e;
	assert_non_null(found);
	return found;
}

static json_t *action_of(json_t *plan, const char *addr)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(plan, "actions"), i, a)
		if (strcmp(json_string_value(json_object_get(a, "address")), addr) == 0)
			return a;
	fail_msg("no action for %s", addr);
	return NULL;
}

static json_int_t summary(json_t *e, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(e, "changes"), key));
}

/* apply --json: version first, a planned_change per action, a start and
 * a completion per action, the plan's and the apply's summaries */
static void check_apply_events(struct clitest *t, const char *op, json_int_t n)
{
	json_t *ev = event_lines(t), *first = json_array_get(ev, 0), *pc;

	assert_string_equal(json_string_value(json_object_get(first, "type")), "version");
	assert_string_equal(json_string_value(json_object_get(first, "ui")), "1.0");
	assert_int_equal(count_type(ev, "planned_change"), n);
	assert_int_equal(count_type(ev, "apply_start"), n);
	assert_int_equal(count_type(ev, "apply_complete"), n);
	assert_int_equal(count_type(ev, "apply_errored"), 0);
	pc = json_object_get(last_of(ev, "planned_change"), "change");
	assert_true(json_is_string(json_object_get(json_object_get(pc, "resource"), "addr")));
	assert_true(json_is_string(json_object_get(json_object_get(pc, "resource"),
						   "resource_type")));
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(last_of(ev, "change_summary"), "changes"), "operation")), op);
	assert_int_equal(summary(last_of(ev, "change_summary"),
				 strcmp(op, "destroy") == 0 ? "remove" : "add"), n);
	assert_non_null(strstr(t->err, "complete! Resources:")); /* human text */
	json_decref(ev);
}

static void check_plan_doc(struct clitest *t, json_int_t *nadd)
{
	json_t *plan, *a;

	assert_int_equal(ct_run(t, "plan -f spec.yaml --json"), 0);
	plan = one_doc(t);
	*nadd = json_integer_value(json_object_get(json_object_get(plan, "summary"), "add"));
	assert_true(*nadd >= 8);
	/* a create shows its attributes */
	a = action_of(plan, "host.bank.peer0");
	assert_string_equal(json_string_value(json_object_get(a, "action")), "create");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a, "after"), "vcpus")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "after"), "name")),
			    "peer0-bank");
	json_decref(plan);
}

static void check_state_docs(struct clitest *t)
{
	json_t *doc;

	assert_int_equal(ct_run(t, "state list -f spec.yaml --json"), 0);
	doc = one_doc(t);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "resources"), 0)),
			    "channel.trade");
	json_decref(doc);
	assert_int_equal(ct_run(t, "state show host.bank.peer0 -f spec.yaml --json"), 0);
	doc = one_doc(t);
	assert_string_equal(json_string_value(json_object_get(doc, "type")), "host");
	json_decref(doc);
	assert_int_equal(ct_run(t, "show -f spec.yaml --json"), 0);
	doc = one_doc(t);
	assert_non_null(json_object_get(json_object_get(doc, "resources"), "node.bank.peer1"));
	json_decref(doc);
	ct_run(t, "status -f spec.yaml --json"); /* nodes not started: exit 2 */
	doc = one_doc(t);
	assert_true(json_array_size(json_object_get(doc, "nodes")) >= 3);
	json_decref(doc);
	assert_int_equal(ct_run(t, "output connection-profile --org bank -f spec.yaml --json"), 0);
	doc = one_doc(t);
	assert_non_null(json_object_get(json_object_get(doc, "organizations"), "bank"));
	json_decref(doc);
	assert_int_equal(ct_run(t, "output peer-env --org bank --peer peer0 -f spec.yaml --json"), 0);
	doc = one_doc(t);
	assert_true(json_is_object(doc));
	json_decref(doc);
	assert_int_equal(ct_run(t, "inspect .ledgerform/demo/channels/trade.block --json"), 0);
	doc = one_doc(t);
	assert_non_null(json_object_get(doc, "header"));
	json_decref(doc);
}

/* an update: one diff per changed leaf, with its nested path */
static void check_update_diff(struct clitest *t)
{
	json_t *plan, *ch, *d;

	write_spec(t, "sizes:\n  small: {vcpus: 3}\n", "    batch: {max_message_count: 20}\n");
	assert_int_equal(ct_run(t, "plan -f spec.yaml --json --refresh=false"), 0);
	plan = one_doc(t);
	ch = json_array_get(json_object_get(action_of(plan, "host.bank.peer0"), "changes"), 0);
	d = json_array_get(json_object_get(ch, "diff"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "path")), "vcpus");
	assert_int_equal(json_integer_value(json_object_get(d, "before")), 2);
	assert_int_equal(json_integer_value(json_object_get(d, "after")), 3);
	ch = json_array_get(json_object_get(action_of(plan, "channel.trade"), "changes"), 0);
	assert_string_equal(json_string_value(json_object_get(ch, "key")), "batch");
	assert_int_equal(json_array_size(json_object_get(ch, "diff")), 1); /* not the object */
	d = json_array_get(json_object_get(ch, "diff"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "path")),
			    "batch.max_message_count");
	assert_int_equal(json_integer_value(json_object_get(d, "before")), 10);
	assert_int_equal(json_integer_value(json_object_get(d, "after")), 20);
	json_decref(plan);
	write_spec(t, "", "");
}

static void test_json_every_command(void **state)
{
	struct clitest t;
	json_t *doc;
	json_int_t nadd;

	(void)state;
	ct_init(&t, "json");
	write_spec(&t, "", "");
	assert_int_equal(ct_run(&t, "version --json"), 0);
	doc = one_doc(&t);
	assert_true(json_is_string(json_object_get(doc, "ledgerform_version")));
	assert_int_equal(json_integer_value(json_object_get(doc, "driver_abi")), 2);
	json_decref(doc);
	assert_int_equal(ct_run(&t, "drivers --json"), 0);
	doc = one_doc(&t);
	assert_true(json_array_size(json_object_get(doc, "drivers")) >= 2);
	json_decref(doc);
	assert_int_equal(ct_run(&t, "validate -f spec.yaml --json"), 0);
	doc = one_doc(&t);
	assert_true(json_is_true(json_object_get(doc, "valid")));
	json_decref(doc);

	check_plan_doc(&t, &nadd);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve --json"), 0);
	check_apply_events(&t, "apply", nadd);
	check_state_docs(&t);
	check_update_diff(&t);
	assert_int_equal(ct_run(&t, "destroy -f spec.yaml --auto-approve --json"), 0);
	check_apply_events(&t, "destroy", nadd);
	assert_false(ct_exists(&t, ".ledgerform/demo/hosts/peer0-bank"));
	ct_done(&t);
}

static void test_json_validate_errors(void **state)
{
	struct clitest t;
	json_t *doc, *d;

	(void)state;
	ct_init(&t, "json-validate");
	ct_write(&t, "bad.yaml", "name: demo\norgs:\n  - name: bank\n    peerz: 2\n");
	assert_int_equal(ct_run(&t, "validate bad.yaml --json"), 1);
	doc = one_doc(&t);
	assert_true(json_is_false(json_object_get(doc, "valid")));
	assert_true(json_integer_value(json_object_get(doc, "error_count")) >= 1);
	d = json_array_get(json_object_get(doc, "diagnostics"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "severity")), "error");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "range"),
							      "filename")), "bad.yaml");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(d, "range"), "start"), "line")), 4);
	json_decref(doc);
	/* no prompt in machine-readable mode */
	assert_int_equal(ct_run(&t, "apply -f bad.yaml --json"), 1);
	assert_string_equal(t.out, "");
	assert_non_null(strstr(t.err, "--auto-approve"));
	ct_done(&t);
}

static void write_sim_spec(struct clitest *t, const char *sim_config)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "name: simjson\n"
		 "providers:\n  cloud:\n    driver: sim\n    config: {db: sim-db.json%s}\n"
		 "orgs:\n  - name: ordering\n    orderers: {count: 1, provider: cloud}\n"
		 "  - name: bank\n    peers: {count: 2, provider: cloud}\n",
		 sim_config);
	ct_write(t, "spec.yaml", buf);
}

/* a failed create: apply_errored and an error diagnostic, exit 1 */
static void test_json_apply_errored(void **state)
{
	struct clitest t;
	json_t *ev, *e;

	(void)state;
	ct_init(&t, "json-errored");
	write_sim_spec(&t, ", fail_match: peer1");
	/* an error before any action: the version line, then a diagnostic */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve -json "
				"-target=host.bank.nope"), 1);
	ev = event_lines(&t);
	assert_int_equal(json_array_size(ev), 2);
	e = json_object_get(last_of(ev, "diagnostic"), "diagnostic");
	assert_non_null(strstr(json_string_value(json_object_get(e, "summary")), "host.bank.nope"));
	json_decref(ev);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve -json"), 1);
	ev = event_lines(&t);
	e = last_of(ev, "apply_errored");
	assert_string_equal(json_string_value(json_object_get(e, "@level")), "error");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
		e, "hook"), "resource"), "addr")), "host.bank.peer1");
	e = last_of(ev, "diagnostic");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "diagnostic"),
							      "severity")), "error");
	assert_true(count_type(ev, "apply_complete") >= 1); /* the others finish */
	assert_int_equal(count_type(ev, "change_summary"), 1); /* the plan's only */
	json_decref(ev);
	ct_done(&t);
}

static void test_json_import(void **state)
{
	struct clitest t;
	json_t *doc;

	(void)state;
	ct_init(&t, "json-import");
	ct_write(&t, "sim-db.json",
		 "{\"version\": 1, \"hosts\": {\"/by-hand\": {\"id\": \"sim-0000beef\", "
		 "\"name\": \"by-hand\", \"lineage\": \"\", \"resource\": \"by-hand\", "
		 "\"machine_address\": \"10.9.9.9\", \"vcpus\": 2, \"memory_mb\": 2048, "
		 "\"disk_gb\": 20, \"image\": \"debian-12\", \"power\": \"running\", "
		 "\"put_count\": 0, \"exec_count\": 0}}, \"ids\": {\"sim-0000beef\": \"/by-hand\"}}\n");
	write_sim_spec(&t, "");
	assert_int_equal(ct_run(&t, "import -f spec.yaml --json host.bank.peer0 sim-0000beef"), 0);
	doc = one_doc(&t);
	assert_string_equal(json_string_value(json_object_get(doc, "address")), "host.bank.peer0");
	assert_string_equal(json_string_value(json_object_get(doc, "id")), "sim-0000beef");
	assert_int_equal(json_integer_value(json_object_get(doc, "serial")), 1);
	json_decref(doc);
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_every_command),
		cmocka_unit_test(test_json_validate_errors),
		cmocka_unit_test(test_json_apply_errored),
		cmocka_unit_test(test_json_import),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
