/*
 * The update file and Fabric's own CLI: `peer channel signconfigtx -f`
 * (the real binary, FABRIC_BIN) adds a signature to a file `ledgerform
 * sign` signed; ledgerform counts it, the config carried in the file
 * survives Fabric's rewrite, and a second signature by the same admin is
 * refused; an `admin: offline` org's admin (the certificate ledgerform
 * issued over their request, their own key) signs with the peer CLI and
 * counts as its org's admin. Skips without FABRIC_BIN.
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

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/fabric/crypto/crypto.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "tests/unit/block/fixture.h"

/* org2's admin lines (none: local), the channel's orgs */
static const char spec_fmt[] =
	"name: signpeer\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 1}\n"
	"  - name: org1\n"
	"    peers: {count: 1}\n"
	"  - name: org2\n"
	"%s"
	"    peers: {count: 1}\n"
	"  - name: org3\n"
	"    peers: {count: 1}\n"
	"channels:\n"
	"  - name: mychannel\n"
	"    orgs: [%s]\n";

#define OFFLINE "    admin: offline\n    admin_csr: org2home/admin.csr\n"

static char dir[64], crypto[128];

/* `ledgerform sign FILE --msp MSP`, its stdout+stderr in dir/out.txt */
static int lf_sign(const char *file, const char *msp)
{
	char *argv[] = { "sign", (char *)file, "--msp", (char *)msp, NULL };
	char *out = lf_xasprintf("%s/out.txt", dir);
	int s1 = dup(1), s2 = dup(2), fd, rc;

	fflush(stdout);
	fflush(stderr);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	rc = lf_cmd_sign(4, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(s1, 1);
	dup2(s2, 2);
	close(s1);
	close(s2);
	free(out);
	return rc;
}

static void load(const char *orgs, struct lf_spec **s)
{
	char buf[1024], *p = lf_xasprintf("%s/net-%zu.yaml", dir, strlen(orgs));
	struct lf_diags d;

	snprintf(buf, sizeof(buf), spec_fmt, "", orgs);
	assert_int_equal(lf_write_file_atomic(p, buf, strlen(buf), 0644, NULL), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(lf_spec_load(s, p, &d), 0);
	lf_diags_free(&d);
	free(p);
}

static void test_peer_signconfigtx_counts(void **state)
{
	const char *bin = getenv("FABRIC_BIN");
	struct lf_err err = LF_ERR_INIT;
	struct lf_spec *s2 = NULL, *s3 = NULL;
	uint8_t *cfg = NULL, *upd = NULL, *file = NULL, *env = NULL, *cfg2 = NULL;
	size_t clen = 0, ulen = 0, flen = 0, elen = 0, c2len = 0;
	char *updp = lf_xasprintf("%s/mychannel.update.pb", dir), *text, *data = NULL;
	char *adm1 = lf_xasprintf("%s/peerOrganizations/org1.example.com/users/"
				  "Admin@org1.example.com/msp", crypto);
	char *adm2 = lf_xasprintf("%s/peerOrganizations/org2.example.com/users/"
				  "Admin@org2.example.com/msp", crypto);
	char *outp = lf_xasprintf("%s/out.txt", dir);
	Lfpb__ConfigUpdateEnvelope *e;

	(void)state;
	if (!bin || !*bin) {
		free(updp); free(adm1); free(adm2); free(outp);
		skip(); /* FABRIC_BIN not set: no peer binary to interoperate with */
	}
	load("org1, org2", &s2);
	load("org1, org2, org3", &s3);
	assert_int_equal(lf_block_config_for(s2, "mychannel", crypto, &cfg, &clen, &err), 0);
	assert_int_equal(lf_update_compute(cfg, clen, s3, "mychannel", crypto, &upd, &ulen,
					   NULL, &err), 0);
	assert_int_equal(lf_update_file_wrap(upd, ulen, cfg, clen, &file, &flen, &err), 0);
	assert_int_equal(lf_write_file_atomic(updp, file, flen, 0644, &err), 0);
	assert_int_equal(lf_sign(updp, adm1), 0);
	/* Fabric's CLI as the org2 admin */
	assert_int_equal(fx_sh("FABRIC_CFG_PATH='%s/../config' CORE_PEER_LOCALMSPID=Org2MSP "
			       "CORE_PEER_MSPCONFIGPATH='%s' '%s/peer' channel signconfigtx "
			       "-f '%s' >'%s' 2>&1", bin, adm2, bin, updp, outp), 0);
	assert_int_equal(lf_read_file(updp, &data, &flen, &err), 0);
	assert_int_equal(lf_update_file_open((uint8_t *)data, flen, &env, &elen, &cfg2, &c2len,
					     &err), 0);
	assert_int_equal(c2len, clen);          /* kept through Fabric's rewrite */
	assert_memory_equal(cfg2, cfg, clen);
	e = lfpb__config_update_envelope__unpack(NULL, elen, env);
	assert_non_null(e);
	assert_int_equal(e->n_signatures, 2);
	lfpb__config_update_envelope__free_unpacked(e, NULL);
	if (lf_update_check(cfg, clen, env, elen, &err) != 0)
		fail_msg("peer's signature not counted: %s", err.msg);
	/* the org2 admin through ledgerform too: the same signer (Fabric
	 * re-encodes a high-S CA signature in the certificate: other bytes,
	 * same identity), refused */
	if (lf_sign(updp, adm2) != 1) {
		text = fx_slurp(outp);
		fail_msg("not refused: %s", text);
	}
	text = fx_slurp(outp);
	assert_non_null(strstr(text, "(Org2MSP) has signed this update already (signature 2)"));
	free(text);
	lf_spec_free(s2);
	lf_spec_free(s3);
	free(cfg); free(upd); free(file); free(env); free(cfg2); free(data);
	free(updp); free(adm1); free(adm2); free(outp);
}

/* org2's admin is `admin: offline` (admin_csr): the tree has the
 * certificate ledgerform issued over the admin's request, no key. On the
 * admin's machine (their key put into a copy of that msp folder) Fabric's
 * CLI loads it as Org2MSP's local MSP and signs; ledgerform counts the
 * signature as Org2MSP's admin's, so org1 + org2 satisfy the update */
static void test_peer_signconfigtx_offline_admin(void **state)
{
	const char *bin = getenv("FABRIC_BIN");
	struct lf_err err = LF_ERR_INIT;
	struct lf_diags d;
	struct lf_spec *s2 = NULL, *s3 = NULL;
	uint8_t *cfg = NULL, *upd = NULL, *file = NULL, *env = NULL, *cfg2 = NULL;
	size_t clen = 0, ulen = 0, flen = 0, elen = 0, c2len = 0;
	char *tree = lf_xasprintf("%s/offline-crypto", dir), *text, *data = NULL;
	char *updp = lf_xasprintf("%s/offline.update.pb", dir);
	char *p2 = lf_xasprintf("%s/offline-2.yaml", dir), *p3 = lf_xasprintf("%s/offline-3.yaml", dir);
	char *outp = lf_xasprintf("%s/out.txt", dir);
	char *adm1 = lf_xasprintf("%s/peerOrganizations/org1.example.com/users/"
				  "Admin@org1.example.com/msp", tree);
	char *own = lf_xasprintf("%s/org2home/msp", dir);
	Lfpb__ConfigUpdateEnvelope *e;

	(void)state;
	if (!bin || !*bin) {
		free(tree); free(updp); free(p2); free(p3); free(outp); free(adm1); free(own);
		skip(); /* FABRIC_BIN not set: no peer binary to interoperate with */
	}
	assert_int_equal(fx_sh("cd '%s' && mkdir -p org2home && openssl ecparam -genkey -name "
			       "prime256v1 -noout -out org2home/admin.key && openssl req -new "
			       "-key org2home/admin.key -subj /CN=x -out org2home/admin.csr",
			       dir), 0);
	text = lf_xasprintf(spec_fmt, OFFLINE, "org1, org2");
	assert_int_equal(lf_write_file_atomic(p2, text, strlen(text), 0644, &err), 0);
	free(text);
	text = lf_xasprintf(spec_fmt, OFFLINE, "org1, org2, org3");
	assert_int_equal(lf_write_file_atomic(p3, text, strlen(text), 0644, &err), 0);
	free(text);
	memset(&d, 0, sizeof(d));
	assert_int_equal(lf_spec_load(&s2, p2, &d), 0);
	lf_diags_free(&d);
	assert_int_equal(lf_spec_load(&s3, p3, &d), 0);
	lf_diags_free(&d);
	assert_true(lf_spec_org(s2, "org2")->admin_offline);
	if (lf_crypto_render(s3, tree, 0, &err) != 0)
		fail_msg("render: %s", err.msg);
	assert_int_equal(fx_sh("cd '%s' && test ! -e '%s/peerOrganizations/org2.example.com/users/"
			       "Admin@org2.example.com/msp/keystore/priv_sk' && cp -r '%s/"
			       "peerOrganizations/org2.example.com/users/Admin@org2.example.com/msp' "
			       "org2home/ && cp org2home/admin.key org2home/msp/keystore/priv_sk",
			       dir, tree, tree), 0);
	assert_int_equal(lf_block_config_for(s2, "mychannel", tree, &cfg, &clen, &err), 0);
	assert_int_equal(lf_update_compute(cfg, clen, s3, "mychannel", tree, &upd, &ulen,
					   NULL, &err), 0);
	assert_int_equal(lf_update_file_wrap(upd, ulen, cfg, clen, &file, &flen, &err), 0);
	assert_int_equal(lf_write_file_atomic(updp, file, flen, 0644, &err), 0);
	assert_int_equal(lf_sign(updp, adm1), 0);
	/* org1 alone is not enough */
	assert_int_equal(lf_read_file(updp, &data, &flen, &err), 0);
	assert_int_equal(lf_update_file_open((uint8_t *)data, flen, &env, &elen, &cfg2, &c2len,
					     &err), 0);
	assert_int_equal(lf_update_check(cfg, clen, env, elen, &err), LF_EAUTH);
	free(data);
	free(env);
	free(cfg2);
	data = NULL;
	/* Fabric's CLI as the offline admin, with their own msp folder */
	if (fx_sh("FABRIC_CFG_PATH='%s/../config' CORE_PEER_LOCALMSPID=Org2MSP "
		  "CORE_PEER_MSPCONFIGPATH='%s' '%s/peer' channel signconfigtx -f '%s' >'%s' 2>&1",
		  bin, own, bin, updp, outp) != 0) {
		text = fx_slurp(outp);
		fail_msg("peer channel signconfigtx: %s", text);
	}
	assert_int_equal(lf_read_file(updp, &data, &flen, &err), 0);
	assert_int_equal(lf_update_file_open((uint8_t *)data, flen, &env, &elen, &cfg2, &c2len,
					     &err), 0);
	e = lfpb__config_update_envelope__unpack(NULL, elen, env);
	assert_non_null(e);
	assert_int_equal(e->n_signatures, 2);
	lfpb__config_update_envelope__free_unpacked(e, NULL);
	if (lf_update_check(cfg, clen, env, elen, &err) != 0)
		fail_msg("the offline admin's signature not counted: %s", err.msg);
	lf_spec_free(s2);
	lf_spec_free(s3);
	free(cfg); free(upd); free(file); free(env); free(cfg2); free(data);
	free(tree); free(updp); free(p2); free(p3); free(outp); free(adm1); free(own);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lfsignpeer.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(crypto, sizeof(crypto), "%s/.ledgerform/signpeer/crypto", dir);
	if (fx_sh("sh %s/tests/unit/block/mkorg.sh %s orderer ordering.example.com "
		  "orderer0", LF_SOURCE_DIR, crypto) != 0)
		return -1;
	for (int i = 1; i <= 3; i++)
		if (fx_sh("sh %s/tests/unit/block/mkorg.sh %s peer org%d.example.com peer0",
			  LF_SOURCE_DIR, crypto, i) != 0)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_sh("rm -rf '%s'", dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_signconfigtx_counts),
		cmocka_unit_test(test_peer_signconfigtx_offline_admin),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
