/*
 * Tests of the collections config conversion: a config file becomes a
 * CollectionConfigPackage that Fabric's npm protobuf bindings decode with
 * every field (skipped without tests/node/node_modules); bad files are
 * refused naming the entry.
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

#include "core/fabric/cc/collections.h"
#include "core/util/util.h"

static char dir[] = "/tmp/lf-cccoll-XXXXXX";

static char *put(const char *name, const char *text)
{
	char *p = lf_path_join(dir, name);
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_write_file_atomic(p, text, strlen(text), 0644, &err), 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	lf_rmtree(dir, &err);
	return 0;
}

static void test_collections_decoded(void **state)
{
	char *f = put("c.json",
		"[{\"name\": \"private\", \"policy\": \"OR('Org1MSP.member', 'Org2MSP.member')\",\n"
		"  \"requiredPeerCount\": 1, \"maxPeerCount\": 3, \"blockToLive\": 1000000,\n"
		"  \"memberOnlyRead\": true, \"memberOnlyWrite\": false,\n"
		"  \"endorsementPolicy\": {\"channelConfigPolicy\": \"/Channel/Application/Endorsement\"}},\n"
		" {\"name\": \"org1only\", \"policy\": \"OR('Org1MSP.member')\",\n"
		"  \"endorsementPolicy\": {\"signaturePolicy\": \"AND('Org1MSP.peer', 'Org2MSP.peer')\"}}]\n");
	struct lf_err err = LF_ERR_INIT;
	uint8_t *pkg = NULL;
	size_t len = 0;
	char *bin, *cmd, *out;

	(void)state;
	assert_int_equal(lf_cc_collections(f, &pkg, &len, &err), 0);
	assert_true(len > 0);
	if (access(LF_SOURCE_DIR "/tests/node/node_modules/@hyperledger/fabric-protos",
		   F_OK) != 0) {
		print_message("skipped: tests/node/node_modules missing (Fabric's npm "
			      "protobuf bindings decode the package)\n");
		free(pkg);
		free(f);
		skip();
	}
	bin = put("pkg.bin", "");
	assert_int_equal(lf_write_file_atomic(bin, pkg, len, 0644, &err), 0);
	cmd = lf_xasprintf("NODE_PATH='%s/tests/node/node_modules' node "
			   "'%s/tests/unit/cc/decode-collections.js' '%s' > '%s/out.json'",
			   LF_SOURCE_DIR, LF_SOURCE_DIR, bin, dir);
	assert_int_equal(system(cmd), 0);
	out = lf_path_join(dir, "out.json");
	{
		char *text = NULL;
		size_t n;

		assert_int_equal(lf_read_file(out, &text, &n, &err), 0);
		assert_string_equal(text,
			"[{\"name\":\"private\",\"identities\":2,\"required\":1,\"max\":3,"
			"\"btl\":1000000,\"read\":true,\"write\":false,\"endorsement\":"
			"\"/Channel/Application/Endorsement\"},{\"name\":\"org1only\","
			"\"identities\":1,\"required\":0,\"max\":0,\"btl\":0,\"read\":false,"
			"\"write\":false,\"endorsement\":\"signature:2\"}]\n");
		free(text);
	}
	free(out);
	free(cmd);
	free(bin);
	free(pkg);
	free(f);
}

static void expect_bad(const char *text, const char *sub)
{
	char *f = put("bad.json", text);
	struct lf_err err = LF_ERR_INIT;
	uint8_t *pkg = NULL;
	size_t len = 0;

	assert_int_equal(lf_cc_collections(f, &pkg, &len, &err), LF_EINVALID);
	assert_null(pkg);
	if (!strstr(err.msg, sub))
		fail_msg("'%s' does not say '%s'", err.msg, sub);
	free(f);
}

static void test_collections_bad(void **state)
{
	(void)state;
	expect_bad("[", "line 1");
	expect_bad("{}", "expected an array of 1 to");
	expect_bad("[]", "expected an array of 1 to");
	expect_bad("[{\"name\": \"a\"}]", "entry 1: \"name\" and \"policy\"");
	expect_bad("[{\"name\": \"a\", \"policy\": \"OR('A.member')\", \"maxpeercount\": 1}]",
		   "entry 1: unknown key 'maxpeercount'");
	expect_bad("[{\"name\": \"a\", \"policy\": \"OR('A.member'\"}]", "entry 1:");
	expect_bad("[{\"name\": \"a\", \"policy\": \"OR('A.member')\", "
		   "\"requiredPeerCount\": 2, \"maxPeerCount\": 1}]",
		   "requiredPeerCount is larger than maxPeerCount");
	expect_bad("[{\"name\": \"a\", \"policy\": \"OR('A.member')\", \"blockToLive\": -1}]",
		   "whole numbers >= 0");
	expect_bad("[{\"name\": \"a\", \"policy\": \"OR('A.member')\"},"
		   " {\"name\": \"a\", \"policy\": \"OR('A.member')\"}]",
		   "entry 2: a collection of that name comes earlier");
	expect_bad("[{\"name\": \"a\", \"policy\": \"OR('A.member')\", "
		   "\"endorsementPolicy\": {}}]", "endorsementPolicy: expected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collections_decoded),
		cmocka_unit_test(test_collections_bad),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
