/*
 * The CLI handlers: `render block` from a YAML spec (lf_spec_load),
 * `inspect` printing JSON, `sign` showing the change and the signer
 * before adding a signature made with the admin's own key; usage errors.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/fabric/block/block.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "tests/unit/block/fixture.h"

static const char spec_fmt[] =
	"name: clitest\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 3}\n"
	"  - name: org1\n"
	"    peers: {count: 1}\n"
	"  - name: org2\n"
	"    peers: {count: 1}\n"
	"  - name: org3\n"
	"    peers: {count: 1}\n"
	"channels:\n"
	"  - name: mychannel\n"
	"    orgs: [%s]\n";

struct tx {
	char dir[64], crypto[128], spec2[128], spec3[128];
};

/* run a handler with stdout captured into file `out` */
static int run(int (*fn)(int, char **), const char *out, int argc, ...)
{
	char *argv[16];
	va_list ap;
	int saved, fd, rc;

	va_start(ap, argc);
	for (int i = 0; i < argc && i < 15; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

/* the same, stderr into `out` too */
static int run_err(int (*fn)(int, char **), const char *out, int argc, char *a1,
		   char *a2, char *a3, char *a4)
{
	int saved = dup(2), fd, rc;

	fflush(stderr);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 2);
	close(fd);
	rc = run(fn, "/dev/null", argc, a1, a2, a3, a4);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return rc;
}

static void assert_file_same(const char *path, const char *data, size_t len)
{
	char *now = NULL;
	size_t nlen = 0;

	assert_int_equal(lf_read_file(path, &now, &nlen, NULL), 0);
	assert_int_equal(nlen, len);
	assert_memory_equal(now, data, len);
	free(now);
}

static void write_spec(const char *path, const char *orgs)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), spec_fmt, orgs);
	assert_int_equal(lf_write_file_atomic(path, buf, strlen(buf), 0644, NULL), 0);
}

static void test_cmd_render_and_inspect(void **state)
{
	struct tx *t = *state;
	char *blk = lf_xasprintf("%s/my.block", t->dir);
	char *out = lf_xasprintf("%s/out.txt", t->dir), *text;
	json_t *j;

	assert_int_equal(run(lf_cmd_render_block, out, 7, "render", "block", "-f",
			     t->spec2, "--channel", "mychannel", "-o", blk), 2);
	assert_int_equal(run(lf_cmd_render_block, out, 8, "render", "block", "-f",
			     t->spec2, "--channel", "mychannel", "-o", blk), 0);
	text = fx_slurp(out);
	assert_non_null(strstr(text, "wrote "));
	free(text);
	assert_int_equal(run(lf_cmd_inspect, out, 2, "inspect", blk), 0);
	j = json_load_file(out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(fx_str(j, "data/data/0/payload/header/channel_header/channel_id"),
			    "mychannel");
	assert_non_null(fx_get(j, "data/data/0/payload/data/config/channel_group/groups/"
			       "Application/groups/Org2MSP/values/MSP/value/config/root_certs/0"));
	assert_null(fx_get(j, "data/data/0/payload/data/config/channel_group/groups/"
			   "Application/groups/Org3MSP"));
	assert_int_equal(json_array_size(fx_get(j, "data/data/0/payload/data/config/channel_group/"
						"groups/Orderer/values/ConsensusType/value/metadata/consenters")), 3);
	json_decref(j);
	assert_int_equal(run(lf_cmd_inspect, out, 2, "inspect", "--help"), 0);
	assert_int_equal(run(lf_cmd_inspect, out, 2, "inspect", t->spec2), 1);
	assert_int_equal(run(lf_cmd_render_block, out, 2, "render", "--help"), 0);
	assert_int_equal(run(lf_cmd_render_block, out, 4, "render", "block", "-f", t->spec2), 2);
	free(blk);
	free(out);
}

static void test_cmd_sign(void **state)
{
	struct tx *t = *state;
	struct lf_err err = LF_ERR_INIT;
	struct lf_spec *s2 = NULL, *s3 = NULL;
	struct lf_diags d;
	uint8_t *cfg = NULL, *upd = NULL;
	size_t clen = 0, ulen = 0;
	char *cfgp = lf_xasprintf("%s/mychannel.config.pb", t->dir);
	char *updp = lf_xasprintf("%s/mychannel.update.pb", t->dir);
	char *out = lf_xasprintf("%s/sign.txt", t->dir), *text, *data = NULL;
	char *msp = lf_xasprintf("%s/peerOrganizations/org1.example.com/users/"
				 "Admin@org1.example.com/msp", t->crypto);
	size_t dlen = 0;

	memset(&d, 0, sizeof(d));
	assert_int_equal(lf_spec_load(&s2, t->spec2, &d), 0);
	assert_int_equal(lf_spec_load(&s3, t->spec3, &d), 0);
	lf_diags_free(&d);
	assert_int_equal(lf_block_config_for(s2, "mychannel", t->crypto, &cfg, &clen, &err), 0);
	assert_int_equal(lf_update_compute(cfg, clen, s3, "mychannel", t->crypto, &upd,
					   &ulen, NULL, &err), 0);
	/* the update file alone: no config beside it, no --mspid */
	assert_int_equal(lf_update_file_wrap(upd, ulen, cfg, clen, (uint8_t **)&data, &dlen,
					     &err), 0);
	assert_int_equal(lf_write_file_atomic(updp, data, dlen, 0644, &err), 0);
	free(data);
	assert_false(lf_path_exists(cfgp));
	assert_int_equal(run(lf_cmd_sign, out, 2, "sign", updp), 2);
	assert_int_equal(run(lf_cmd_sign, out, 4, "sign", updp, "--msp", "/nonexistent"), 1);
	assert_int_equal(run(lf_cmd_sign, out, 4, "sign", updp, "--msp", msp), 0);
	text = fx_slurp(out);
	assert_non_null(strstr(text, "You are signing:"));
	assert_non_null(strstr(text, "config update for channel 'mychannel'"));
	assert_non_null(strstr(text, "+ add Channel/Application/Org3MSP"));
	assert_non_null(strstr(text, "Policy: MAJORITY Admins: 2 of 2 orgs (Org1MSP, Org2MSP)"));
	assert_non_null(strstr(text, "Signer: "));
	assert_non_null(strstr(text, "CN=Admin@org1.example.com (MSP Org1MSP)"));
	assert_null(strstr(text, "PRIVATE KEY"));
	assert_non_null(strstr(text, "this signature counts as an admin of Org1MSP"));
	assert_non_null(strstr(text, "still needed: channel 'mychannel': config update needs "
			       "MAJORITY Admins: 2 of 2 orgs (Org1MSP, Org2MSP); have 1 (Org1MSP)"));
	assert_true(strstr(text, "You are signing:") < strstr(text, "Signer: "));
	free(text);
	assert_int_equal(lf_read_file(updp, &data, &dlen, &err), 0);
	{
		uint8_t *e = NULL, *c2 = NULL;
		size_t elen = 0, c2len = 0;

		assert_int_equal(lf_update_file_open((uint8_t *)data, dlen, &e, &elen, &c2,
						     &c2len, &err), 0);
		assert_int_equal(c2len, clen);       /* the config travels with it */
		assert_memory_equal(c2, cfg, clen);
		assert_int_equal(lf_update_check(cfg, clen, e, elen, &err), LF_EAUTH);
		assert_non_null(strstr(err.msg, "have 1 (Org1MSP)"));
		assert_non_null(strstr(err.msg, "missing 1 of Org2MSP"));
		free(e);
		free(c2);
	}
	free(data);
	/* the same admin again: refused, the file untouched */
	assert_int_equal(lf_read_file(updp, &data, &dlen, &err), 0);
	assert_int_equal(run_err(lf_cmd_sign, out, 4, "sign", updp, "--msp", msp), 1);
	text = fx_slurp(out);
	assert_non_null(strstr(text, "ledgerform sign: refused: "));
	assert_non_null(strstr(text, "CN=Admin@org1.example.com (Org1MSP) has signed this "
			       "update already (signature 1)"));
	free(text);
	assert_file_same(updp, data, dlen);
	/* a client of org2 (not an admin): refused; --force adds it */
	free(msp);
	msp = lf_xasprintf("%s/peerOrganizations/org2.example.com/users/"
			   "User1@org2.example.com/msp", t->crypto);
	assert_int_equal(run_err(lf_cmd_sign, out, 4, "sign", updp, "--msp", msp), 1);
	text = fx_slurp(out);
	assert_non_null(strstr(text, "ledgerform sign: refused: "));
	assert_non_null(strstr(text, "CN=User1@org2.example.com is not an admin of Org2MSP"));
	assert_non_null(strstr(text, "--force"));
	free(text);
	assert_file_same(updp, data, dlen);
	free(data);
	assert_int_equal(run(lf_cmd_sign, out, 5, "sign", updp, "--msp", msp, "--force"), 0);
	text = fx_slurp(out);
	assert_non_null(strstr(text, "warning (--force): "));
	assert_non_null(strstr(text, "CN=User1@org2.example.com is not an admin"));
	assert_non_null(strstr(text, "have 1 (Org1MSP)"));
	free(text);
	/* the org2 admin completes it */
	free(msp);
	msp = lf_xasprintf("%s/peerOrganizations/org2.example.com/users/"
			   "Admin@org2.example.com/msp", t->crypto);
	assert_int_equal(run(lf_cmd_sign, out, 4, "sign", updp, "--msp", msp), 0);
	text = fx_slurp(out);
	assert_non_null(strstr(text, "the collected signatures satisfy the channel's policies"));
	free(text);
	lf_spec_free(s2);
	lf_spec_free(s3);
	free(cfg);
	free(upd);
	free(cfgp);
	free(updp);
	free(out);
	free(msp);
}

static int setup(void **state)
{
	struct tx *t = calloc(1, sizeof(*t));

	snprintf(t->dir, sizeof(t->dir), "/tmp/lfcmd.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->crypto, sizeof(t->crypto), "%s/.ledgerform/clitest/crypto", t->dir);
	snprintf(t->spec2, sizeof(t->spec2), "%s/net2.yaml", t->dir);
	snprintf(t->spec3, sizeof(t->spec3), "%s/net3.yaml", t->dir);
	write_spec(t->spec2, "org1, org2");
	write_spec(t->spec3, "org1, org2, org3");
	if (fx_sh("sh %s/tests/unit/block/mkorg.sh %s orderer ordering.example.com "
		  "orderer0 orderer1 orderer2", LF_SOURCE_DIR, t->crypto) != 0)
		return -1;
	for (int i = 1; i <= 3; i++)
		if (fx_sh("sh %s/tests/unit/block/mkorg.sh %s peer org%d.example.com peer0",
			  LF_SOURCE_DIR, t->crypto, i) != 0)
			return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tx *t = *state;

	fx_sh("rm -rf '%s'", t->dir);
	free(t);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_render_and_inspect),
		cmocka_unit_test(test_cmd_sign),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
