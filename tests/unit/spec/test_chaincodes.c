/*
 * Tests of the spec's chaincodes: section: the model of good specs and the
 * position and text of each error in bad ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/spec/spec.h"
#include "core/util/util.h"
#include "ledgerform/error.h"

/* two orgs with a peer each, one orderer, channel ch1 with both orgs;
 * chaincodes: starts at line 11 */
#define BASE_HEAD \
	"name: net\n" \
	"orgs:\n" \
	"  - name: ord\n" \
	"    orderers: {count: 1}\n" \
	"  - name: org1\n" \
	"    peers: {count: 2}\n" \
	"  - name: org2\n"
#define BASE_TAIL \
	"    peers: {count: 1}\n" \
	"channels:\n" \
	"  - {name: ch1, orgs: [org1, org2]}\n"
#define BASE BASE_HEAD BASE_TAIL
/* org2's admin offline (two lines more) */
#define BASE_OFFLINE BASE_HEAD "    admin: offline\n    admin_csr: org2.csr\n" BASE_TAIL

static int load(const char *text, struct lf_spec **s, struct lf_diags *d)
{
	memset(d, 0, sizeof(*d));
	*s = NULL;
	return lf_spec_load_buffer(s, "/specs/cc.yaml", text, strlen(text), d);
}

static void expect_err(const char *text, int line, int col, const char *sub)
{
	struct lf_spec *s;
	struct lf_diags d;
	bool found = false;

	assert_int_equal(load(text, &s, &d), LF_EINVALID);
	for (size_t i = 0; i < d.n; i++)
		found |= d.v[i].severity == 1 && d.v[i].pos.line == line &&
			 (!col || d.v[i].pos.col == col) &&
			 strstr(d.v[i].msg, sub) != NULL;
	if (!found)
		lf_diags_print(&d, stdout);
	assert_true(found);
	lf_diags_free(&d);
}

/* a spec that must load */
static struct lf_spec *load_ok(const char *text)
{
	struct lf_spec *s;
	struct lf_diags d;

	if (load(text, &s, &d) != 0)
		lf_diags_print(&d, stdout);
	assert_non_null(s);
	lf_diags_free(&d);
	return s;
}

static void test_cc_ccaas_model(void **state)
{
	static const char text[] = BASE
		"chaincodes:\n"
		"  - name: basic\n"
		"    version: \"1.0\"\n"
		"    sequence: 1\n"
		"    type: ccaas\n"
		"    channels: [ch1]\n"
		"    address: cc.example.com:9999\n"
		"    tls_required: false\n"
		"    dial_timeout: 30s\n"
		"    init_required: true\n"
		"    endorsement_policy: \"OR('Org1MSP.peer', 'Org2MSP.peer')\"\n";
	struct lf_spec *s = load_ok(text);
	const struct lf_chaincode *cc;

	(void)state;
	assert_int_equal(s->nchaincodes, 1);
	cc = lf_spec_chaincode(s, "basic");
	assert_non_null(cc);
	assert_string_equal(cc->version, "1.0");
	assert_string_equal(cc->label, "basic_1.0");
	assert_int_equal(cc->sequence, 1);
	assert_int_equal(cc->type, LF_CC_CCAAS);
	assert_string_equal(lf_cc_type_name(cc->type), "ccaas");
	assert_null(cc->path);
	assert_null(cc->file);
	assert_string_equal(cc->address, "cc.example.com:9999");
	assert_false(cc->tls_required);
	assert_true(cc->init_required);
	assert_int_equal(cc->dial_timeout_ms, 30000);
	assert_int_equal(cc->policy_kind, LF_CC_POLICY_SIGNATURE);
	assert_string_equal(cc->policy, "OR('Org1MSP.peer', 'Org2MSP.peer')");
	assert_int_equal(cc->nchannels, 1);
	assert_true(lf_chaincode_has_org(cc, &s->channels[0], "org1"));
	assert_true(lf_chaincode_has_org(cc, &s->channels[0], "org2"));
	assert_false(lf_chaincode_has_org(cc, &s->channels[0], "ord"));
	assert_null(lf_spec_chaincode(s, "other"));
	assert_false(lf_spec_org(s, "org1")->admin_offline);
	lf_spec_free(s);
}

static void test_cc_source_and_file(void **state)
{
	static const char text[] = BASE_OFFLINE
		"chaincodes:\n"
		"  - name: src-cc\n"
		"    version: v2\n"
		"    sequence: 3\n"
		"    type: node\n"
		"    package: {path: cc/node}\n"
		"    channels: [ch1]\n"
		"    orgs: [org2]\n"
		"    collections: cc/collections.json\n"
		"    endorsement_policy: {channel: /Channel/Application/Endorsement}\n"
		"  - name: ready\n"
		"    version: \"1\"\n"
		"    sequence: 1\n"
		"    type: golang\n"
		"    package:\n"
		"      file: /abs/pkg.tar.gz\n"
		"      sha256: " "0123456789abcdef0123456789abcdef"
			"0123456789abcdef0123456789abcdef\n"
		"    channels: [ch1]\n";
	struct lf_spec *s = load_ok(text);
	const struct lf_chaincode *cc;

	(void)state;
	assert_true(lf_spec_org(s, "org2")->admin_offline);
	assert_false(lf_spec_org(s, "org1")->admin_offline);
	cc = lf_spec_chaincode(s, "src-cc");
	assert_int_equal(cc->type, LF_CC_NODE);
	assert_string_equal(cc->path, "/specs/cc/node");
	assert_string_equal(cc->collections, "/specs/cc/collections.json");
	assert_int_equal(cc->policy_kind, LF_CC_POLICY_REFERENCE);
	assert_string_equal(cc->policy, "/Channel/Application/Endorsement");
	assert_int_equal(cc->sequence, 3);
	assert_false(lf_chaincode_has_org(cc, &s->channels[0], "org1"));
	assert_true(lf_chaincode_has_org(cc, &s->channels[0], "org2"));
	cc = lf_spec_chaincode(s, "ready");
	assert_int_equal(cc->type, LF_CC_GOLANG);
	assert_string_equal(cc->file, "/abs/pkg.tar.gz");
	assert_int_equal(strlen(cc->sha256), 64);
	assert_int_equal(cc->policy_kind, LF_CC_POLICY_DEFAULT);
	assert_null(cc->policy);
	lf_spec_free(s);
}

#define CC(body) BASE "chaincodes:\n  - name: basic\n" body
#define OKHEAD "    version: \"1\"\n    sequence: 1\n"

static void test_cc_errors(void **state)
{
	(void)state;
	expect_err(BASE "chaincodes:\n  - name: bad name\n", 12, 11,
		   "chaincode name 'bad name'");
	expect_err(CC("    sequence: 1\n    type: ccaas\n"
		      "    channels: [ch1]\n    address: a:1\n"), 12, 5,
		   "missing required key 'version'");
	expect_err(CC("    version: \"1\"\n    sequence: 0\n"), 14, 15,
		   "sequence: expected an integer from 1");
	expect_err(CC("    version: \"1\"\n    type: ccaas\n"
		      "    channels: [ch1]\n    address: a:1\n"), 12, 5,
		   "missing required key 'sequence'");
	expect_err(CC(OKHEAD "    type: python\n"), 15, 11,
		   "type: expected ccaas, external, node, golang or java");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [nope]\n"
		      "    address: a:1\n"), 16, 16,
		   "channel 'nope' is not defined");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: nohost\n"), 17, 14,
		   "address: expected HOST:PORT");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"), 12, 5,
		   "missing required key 'address'");
	expect_err(CC(OKHEAD "    type: node\n    channels: [ch1]\n"), 12, 5,
		   "missing 'package'");
	expect_err(CC(OKHEAD "    type: node\n    channels: [ch1]\n"
		      "    package: {file: x.tgz}\n"), 17, 14,
		   "package.file needs sha256");
	expect_err(CC(OKHEAD "    type: node\n    channels: [ch1]\n"
		      "    package: {file: x.tgz, sha256: ABC}\n"), 17, 36,
		   "package.sha256: expected 64 lower-case hex");
	expect_err(CC(OKHEAD "    type: golang\n    channels: [ch1]\n"
		      "    package: {path: src}\n"), 17, 21,
		   "golang source is not packaged by ledgerform");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n    package: {path: src}\n"), 18, 21,
		   "a ccaas package holds only connection.json");
	expect_err(CC(OKHEAD "    type: node\n    channels: [ch1]\n"
		      "    package: {path: src}\n    address: a:1\n"), 18, 5,
		   "address applies to type ccaas only");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n    orgs: [ord]\n"), 18, 12,
		   "org 'ord' is not a member of any of its channels");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n"
		      "    endorsement_policy: \"OR('Org1MSP.peer'\"\n"), 18, 25,
		   "endorsement_policy 'OR('Org1MSP.peer''");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n"
		      "    endorsement_policy: \"OR('NoMSP.peer')\"\n"), 18, 25,
		   "names an mspid that no org has");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n"
		      "    endorsement_policy: {channel: Endorsement}\n"), 18, 35,
		   "expected a channel policy path");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n    tls_required: yes\n"), 18, 19,
		   "tls_required: expected true or false");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n    colections: x\n"), 18, 5,
		   "collections");
	expect_err(CC(OKHEAD "    type: ccaas\n    channels: [ch1]\n"
		      "    address: a:1\n    tls_required: true\n"), 18, 19,
		   "tls_required: true needs TLS material");
	/* orgs[].admin */
	expect_err("name: n\norgs:\n  - {name: o, peers: {count: 1}, admin: remote}\n",
		   3, 41, "admin: expected local or offline");
	expect_err(BASE "chaincodes:\n"
		   "  - {name: a, version: \"1\", sequence: 1, type: ccaas, "
		   "channels: [ch1], address: \"h:1\"}\n"
		   "  - {name: a, version: \"1\", sequence: 1, type: ccaas, "
		   "channels: [ch1], address: \"h:1\"}\n", 13, 12,
		   "duplicate chaincode name 'a'");
}

/* files are checked when the spec is read from a file */
static void test_cc_missing_files(void **state)
{
	char dir[] = "/tmp/lf-cc-spec-XXXXXX", *path;
	struct lf_spec *s = NULL;
	struct lf_diags d = { 0 };
	bool found = false;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = lf_path_join(dir, "spec.yaml");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(CC(OKHEAD "    type: node\n    channels: [ch1]\n"
		 "    package: {path: nowhere}\n"), f);
	fclose(f);
	assert_int_equal(lf_spec_load(&s, path, &d), LF_EINVALID);
	for (size_t i = 0; i < d.n; i++)
		found |= d.v[i].pos.line == 17 &&
			 strstr(d.v[i].msg, "package.path: cannot read") != NULL;
	assert_true(found);
	lf_diags_free(&d);
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_ccaas_model),
		cmocka_unit_test(test_cc_source_and_file),
		cmocka_unit_test(test_cc_errors),
		cmocka_unit_test(test_cc_missing_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
