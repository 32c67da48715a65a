/*
 * Terraform's habits, end to end with the local driver: single-dash
 * spellings (-out=FILE, -json, -target=ADDR, ...) as aliases and unknown
 * ones refused with the double-dash hint; plan -destroy; apply -replace;
 * state taint/untaint; show PLANFILE; state list PATTERN; state mv; the
 * targeting warning; `apply SPEC` pointing at -f; `plan SPEC`; fmt.
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

static void write_spec(struct clitest *t, int vcpus)
{
	char head[64];

	snprintf(head, sizeof(head), "sizes:\n  small: {vcpus: %d}\n", vcpus);
	ct_write_demo(t, head, 2, "channels:\n  - name: trade\n    orgs: [bank]\n");
}

/* the state document, which must be there */
static json_t *state_doc(struct clitest *t, const char *file)
{
	json_t *doc = ct_state_doc(t, file);

	assert_non_null(doc);
	return doc;
}

static json_t *record(json_t *doc, const char *addr)
{
	return json_object_get(json_object_get(doc, "resources"), addr);
}

static void test_tf_single_dash(void **state)
{
	struct clitest t;
	json_t *doc;

	(void)state;
	ct_init(&t, "tf-dash");
	write_spec(&t, 2);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -out=p.plan -json -detailed-exitcode "
				"-target=node.bank.peer1 -lock-timeout=1s -parallelism=3 "
				"-refresh=false"), 2);
	doc = json_loads(t.out, 0, NULL); /* -json: one document */
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "targets"), 0)),
			    "node.bank.peer1");
	json_decref(doc);
	assert_true(ct_exists(&t, "p.plan"));
	assert_non_null(strstr(t.err, "Warning: Resource targeting is in effect"));
	assert_int_equal(ct_run(&t, "apply -auto-approve p.plan"), 0);
	assert_true(ct_exists(&t, ".ledgerform/demo/hosts/peer1-bank/fabric/node.env"));
	assert_false(ct_exists(&t, ".ledgerform/demo/hosts/peer0-bank"));

	/* unknown single-dash options: the double-dash hint, not getopt's
	 * "invalid option -- 'd'" */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -lock=false"), 1);
	assert_non_null(strstr(t.err, "unknown option '-lock=false'"));
	assert_non_null(strstr(t.err, "'--lock=false'"));
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -detailed-exitcodes"), 1);
	assert_null(strstr(t.err, "invalid option -- 'd'"));
	assert_non_null(strstr(t.err, "'--detailed-exitcodes'"));
	/* -fSPEC stays getopt's short option */
	assert_int_equal(ct_run(&t, "validate -fspec.yaml"), 0);
	ct_done(&t);
}

static void test_tf_destroy_and_spec_args(void **state)
{
	struct clitest t;

	(void)state;
	ct_init(&t, "tf-destroy");
	write_spec(&t, 2);
	/* plan SPEC works like validate SPEC; apply SPEC says use -f */
	assert_int_equal(ct_run(&t, "plan spec.yaml -detailed-exitcode"), 2);
	assert_non_null(strstr(t.out, "host.bank.peer0"));
	assert_int_equal(ct_run(&t, "plan spec.yaml -f spec.yaml"), 1);
	assert_int_equal(ct_run(&t, "apply spec.yaml"), 1);
	assert_non_null(strstr(t.err, "use `ledgerform apply -f spec.yaml`"));
	assert_false(ct_exists(&t, "spec.state.json"));
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve"), 0);

	assert_int_equal(ct_run(&t, "plan -destroy -f spec.yaml -no-color -out=d.plan"), 0);
	assert_non_null(strstr(t.out, "-   host.bank.peer0"));
	assert_non_null(strstr(t.out, "0 to add, 0 to change,"));
	assert_int_equal(ct_run(&t, "plan --destroy -f spec.yaml -json"), 0);
	assert_non_null(strstr(t.out, "\"destroy\": true"));
	assert_int_equal(ct_run(&t, "apply d.plan"), 0);
	assert_non_null(strstr(t.out, "Destroy complete!"));
	assert_false(ct_exists(&t, ".ledgerform/demo/hosts/peer0-bank"));
	ct_done(&t);
}

static void test_tf_taint_replace(void **state)
{
	struct clitest t;
	json_t *doc;

	(void)state;
	ct_init(&t, "tf-taint");
	write_spec(&t, 2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve"), 0);
	assert_int_equal(ct_run(&t, "state taint host.bank.nope -f spec.yaml"), 1);
	assert_int_equal(ct_run(&t, "state untaint host.bank.peer0 -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "not tainted"));
	assert_int_equal(ct_run(&t, "state taint host.bank.peer0 -f spec.yaml"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -no-color -detailed-exitcode"), 2);
	assert_non_null(strstr(t.out, "-/+ host.bank.peer0"));
	assert_non_null(strstr(t.out, "# tainted"));
	assert_int_equal(ct_run(&t, "state untaint host.bank.peer0 -f spec.yaml"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -detailed-exitcode"), 0);
	assert_int_equal(ct_run(&t, "state taint host.bank.peer0 -f spec.yaml"), 0);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve -no-color"), 0);
	assert_non_null(strstr(t.out, "1 added, 1 changed, 1 destroyed"));
	doc = state_doc(&t, "spec.state.json");
	assert_null(json_object_get(record(doc, "host.bank.peer0"), "tainted"));
	json_decref(doc);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -detailed-exitcode"), 0);

	/* -replace=ADDR: once, without marking the state */
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve -no-color "
				"-replace=host.bank.peer1"), 0);
	assert_non_null(strstr(t.out, "-/+ host.bank.peer1"));
	assert_non_null(strstr(t.out, "replacement requested with --replace"));
	assert_non_null(strstr(t.out, "1 added, 1 changed, 1 destroyed"));
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -detailed-exitcode"), 0);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -replace=host.bank.nope"), 1);
	assert_non_null(strstr(t.err, "--replace 'host.bank.nope'"));
	ct_done(&t);
}

static void test_tf_show_planfile(void **state)
{
	struct clitest t;
	json_t *doc;

	(void)state;
	ct_init(&t, "tf-show");
	write_spec(&t, 2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve"), 0);
	write_spec(&t, 3);
	assert_int_equal(ct_run(&t, "plan -f spec.yaml -out=p.plan"), 0);
	assert_int_equal(ct_run(&t, "show p.plan"), 0);
	assert_non_null(strstr(t.out, "~   host.bank.peer0  (update)"));
	assert_non_null(strstr(t.out, "vcpus: 2 -> 3"));
	assert_non_null(strstr(t.out, "Plan: 0 to add, 3 to change, 0 to destroy."));
	assert_int_equal(ct_run(&t, "show p.plan -json"), 0);
	doc = json_loads(t.out, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "format")), "ledgerform-plan");
	json_decref(doc);
	assert_int_equal(ct_run(&t, "show spec.yaml"), 1);
	/* the saved plan still applies */
	assert_int_equal(ct_run(&t, "apply p.plan"), 0);
	ct_done(&t);
}

static void test_tf_state_list_mv(void **state)
{
	struct clitest t;
	json_t *doc;
	char *s;

	(void)state;
	ct_init(&t, "tf-state");
	write_spec(&t, 2);
	assert_int_equal(ct_run(&t, "apply -f spec.yaml -auto-approve"), 0);
	assert_int_equal(ct_run(&t, "state list 'host.bank.*' -f spec.yaml"), 0);
	assert_string_equal(t.out, "host.bank.peer0\nhost.bank.peer1\n");
	assert_int_equal(ct_run(&t, "state list 'nothing.*' -f spec.yaml"), 0);
	assert_string_equal(t.out, "");

	assert_int_equal(ct_run(&t, "state mv host.bank.peer0 node.bank.peer9 -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "keeps its type"));
	assert_int_equal(ct_run(&t, "state mv host.bank.peer0 host.bank.peer1 -f spec.yaml"), 1);
	assert_non_null(strstr(t.err, "already in the state"));
	assert_int_equal(ct_run(&t, "state mv host.bank.nope host.bank.peer9 -f spec.yaml"), 1);
	assert_int_equal(ct_run(&t, "state mv host.bank.peer0 host.bank.peer9 -f spec.yaml"), 0);
	assert_non_null(strstr(t.out, "spec.state.json.backup"));
	doc = state_doc(&t, "spec.state.json");
	assert_null(record(doc, "host.bank.peer0"));
	assert_non_null(record(doc, "host.bank.peer9"));
	s = json_dumps(json_object_get(record(doc, "node.bank.peer0"), "deps"), JSON_COMPACT);
	assert_non_null(strstr(s, "\"host.bank.peer9\""));
	free(s);
	json_decref(doc);
	doc = state_doc(&t, "spec.state.json.backup"); /* the version before */
	assert_non_null(record(doc, "host.bank.peer0"));
	json_decref(doc);
	ct_done(&t);
}

static const char MESSY[] =
	"channels:\n"
	"    - orgs: [bank]\n"
	"      name: trade\n"
	"      batch: {max_message_count: 20, timeout: 2s}\n"
	"orgs:\n"
	"    -   peers: {count: 2}\n"
	"        domain: bank.example.com\n"
	"        name: bank\n"
	"    - name: ordering\n"
	"      orderers:\n"
	"          count: 1\n"
	"      domain: example.com\n"
	"fabric: {consensus: etcdraft, version: \"2.5\"}\n"
	"name: demo\n";

static const char CANONICAL[] =
	"name: demo\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"- name: bank\n"
	"  domain: bank.example.com\n"
	"  peers: {count: 2}\n"
	"- name: ordering\n"
	"  domain: example.com\n"
	"  orderers:\n"
	"    count: 1\n"
	"channels:\n"
	"- name: trade\n"
	"  orgs: [bank]\n"
	"  batch: {timeout: 2s, max_message_count: 20}\n";

/* the actions digest of `plan FILE --json` */
static char *actions_digest(struct clitest *t, const char *file)
{
	json_t *doc;
	char *d;

	assert_int_equal(ct_run(t, "plan %s --json", file), 0);
	doc = json_loads(t->out, 0, NULL);
	assert_non_null(doc);
	d = strdup(json_string_value(json_object_get(doc, "actions_sha256")));
	json_decref(doc);
	return d;
}

static void test_tf_fmt(void **state)
{
	struct clitest t;
	char *s, *before, *after;

	(void)state;
	ct_init(&t, "tf-fmt");
	ct_write(&t, "a.yaml", MESSY);
	ct_write(&t, "b.yaml", MESSY);
	assert_int_equal(ct_run(&t, "fmt -check a.yaml"), 3);
	assert_string_equal(t.out, "a.yaml\n");
	s = ct_read(&t, "a.yaml");
	assert_string_equal(s, MESSY); /* -check changes nothing */
	free(s);
	assert_int_equal(ct_run(&t, "fmt -diff b.yaml"), 0);
	assert_non_null(strstr(t.out, "+  batch: {timeout: 2s, max_message_count: 20}"));
	s = ct_read(&t, "b.yaml");
	assert_string_equal(s, CANONICAL);
	free(s);
	/* idempotent */
	assert_int_equal(ct_run(&t, "fmt -check b.yaml"), 0);
	assert_int_equal(ct_run(&t, "fmt b.yaml"), 0);
	assert_string_equal(t.out, "");
	s = ct_read(&t, "b.yaml");
	assert_string_equal(s, CANONICAL);
	free(s);
	/* the formatted spec plans the same actions */
	before = actions_digest(&t, "a.yaml");
	after = actions_digest(&t, "b.yaml");
	assert_string_equal(before, after);
	free(before);
	free(after);

	/* comments: never rewritten; -check compares without them */
	ct_write(&t, "c.yaml", "# demo\nfabric: {version: \"2.5\"}  # pinned\nname: demo\n"
		 "orgs:\n- name: bank\n  domain: \"bank#1.example.com\"\n");
	assert_int_equal(ct_run(&t, "fmt c.yaml"), 1);
	assert_non_null(strstr(t.err, "has comments"));
	assert_int_equal(ct_run(&t, "fmt -check c.yaml"), 3);
	ct_write(&t, "d.yaml", "# demo\nname: demo  # its name\nfabric: {version: \"2.5\"}\n"
		 "orgs:\n- name: bank\n  domain: \"bank#1.example.com\"\n");
	assert_int_equal(ct_run(&t, "fmt -check d.yaml"), 0);
	assert_int_equal(ct_run(&t, "fmt d.yaml"), 0);
	ct_write(&t, "e.yaml", "name: [unclosed\n");
	assert_int_equal(ct_run(&t, "fmt e.yaml"), 1);
	assert_non_null(strstr(t.err, "e.yaml:"));
	ct_done(&t);
}

static void test_tf_help(void **state)
{
	struct clitest t;

	(void)state;
	ct_init(&t, "tf-help");
	assert_int_equal(ct_run(&t, "plan --help"), 0);
	assert_non_null(strstr(t.out, "--destroy"));
	assert_non_null(strstr(t.out, "--replace ADDR"));
	assert_non_null(strstr(t.out, "plan SPEC"));
	assert_int_equal(ct_run(&t, "apply -help"), 0);
	assert_non_null(strstr(t.out, "apply_start"));
	assert_int_equal(ct_run(&t, "state --help"), 0);
	assert_non_null(strstr(t.out, "state taint ADDR"));
	assert_non_null(strstr(t.out, "state mv SRC DST"));
	assert_non_null(strstr(t.out, "state list [PATTERN]"));
	assert_int_equal(ct_run(&t, "show --help"), 0);
	assert_non_null(strstr(t.out, "show PLANFILE"));
	assert_int_equal(ct_run(&t, "fmt --help"), 0);
	assert_non_null(strstr(t.out, "-check"));
	ct_done(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tf_single_dash),
		cmocka_unit_test(test_tf_destroy_and_spec_args),
		cmocka_unit_test(test_tf_taint_replace),
		cmocka_unit_test(test_tf_show_planfile),
		cmocka_unit_test(test_tf_state_list_mv),
		cmocka_unit_test(test_tf_fmt),
		cmocka_unit_test(test_tf_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
