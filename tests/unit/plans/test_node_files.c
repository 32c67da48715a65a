/*
 * Node bundles: identity files are copied from the crypto tree only (no
 * symlink leads out of it), and private keys are known by what they are
 * (keystore entries, *_sk, *.key, PEM private keys): shipped 0600 and
 * wiped, whatever their mode on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/util.h"
#include "plans/node_files.h"

struct nf_fx {
	char dir[32];
	char *crypto, *node, *outside;
	json_t *attrs;
	struct lf_resource res;
	struct lf_apply_env env;
};

static void put(const char *base, const char *rel, const char *text, mode_t mode)
{
	char *p = lf_path_join(base, rel), *d = lf_path_dirname(p);

	assert_int_equal(lf_mkdirs(d, 0700, NULL), 0);
	assert_int_equal(lf_write_file_atomic(p, text, strlen(text), mode, NULL), 0);
	free(d);
	free(p);
}

static void fx_init(struct nf_fx *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/lf-nf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->crypto = lf_path_join(f->dir, "crypto");
	f->node = lf_xasprintf("%s/peerOrganizations/org1.example.com/peers/"
			       "peer0.org1.example.com", f->crypto);
	f->outside = lf_path_join(f->dir, "outside");
	/* keys left group/world readable on disk, as a careless copy would */
	put(f->node, "msp/keystore/priv_sk", "-----BEGIN " "PRIVATE KEY-----\nAA\n", 0644);
	put(f->node, "msp/signcerts/cert.pem", "-----BEGIN CERTIFICATE-----\nBB\n", 0644);
	put(f->node, "msp/extra/hsm.pem", "x\n-----BEGIN EC " "PRIVATE KEY-----\nCC\n", 0644);
	put(f->node, "tls/server.key", "opaque\n", 0640);
	put(f->node, "tls/server.crt", "-----BEGIN CERTIFICATE-----\nDD\n", 0644);
	put(f->outside, "id_rsa", "-----BEGIN OPENSSH " "PRIVATE KEY-----\nEE\n", 0600);
	f->attrs = json_pack("{s:s,s:s,s:s,s:s,s:i,s:b}", "kind", "peer", "domain",
			     "org1.example.com", "hostname", "peer0.org1.example.com",
			     "mspid", "Org1MSP", "port", 7051, "crypto", 1);
	f->res.addr = "node.org1.peer0";
	f->res.type = "node";
	f->res.attrs = f->attrs;
	f->env.crypto_dir = f->crypto;
}

static void fx_done(struct nf_fx *f)
{
	lf_rmtree(f->dir, NULL);
	json_decref(f->attrs);
	free(f->crypto);
	free(f->node);
	free(f->outside);
}

static const struct lf_node_file *find(const struct lf_node_files *v, const char *path)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i].path, path) == 0)
			return &v->v[i];
	return NULL;
}

static void test_node_files_secrets_by_kind(void **state)
{
	struct nf_fx f;
	struct lf_node_files out = { 0 };
	struct lf_err err = LF_ERR_INIT;
	const struct lf_node_file *x;

	(void)state;
	fx_init(&f);
	assert_int_equal(lf_node_files_collect(&f.env, &f.res, NULL, &out, &err), 0);
	x = find(&out, "fabric/msp/keystore/priv_sk");
	assert_non_null(x);
	assert_int_equal(x->mode, 0600);
	assert_true(x->secret);
	x = find(&out, "fabric/msp/extra/hsm.pem");
	assert_non_null(x);
	assert_int_equal(x->mode, 0600);
	x = find(&out, "fabric/tls/server.key");
	assert_non_null(x);
	assert_int_equal(x->mode, 0600);
	x = find(&out, "fabric/msp/signcerts/cert.pem");
	assert_non_null(x);
	assert_int_equal(x->mode, 0644);
	assert_false(x->secret);
	assert_memory_equal(x->data, "-----BEGIN CERTIFICATE-----", 27);
	lf_node_files_free(&out);
	fx_done(&f);
}

/* what the host's provider returned reaches the node's environment; a
 * value that could break out of the env file does not */
static void test_node_files_machine_address(void **state)
{
	struct nf_fx f;
	struct lf_node_files out = { 0 };
	struct lf_err err = LF_ERR_INIT;
	json_t *ho = json_pack("{ss}", "machine_address", "10.7.0.3");
	const struct lf_node_file *x;

	(void)state;
	fx_init(&f);
	assert_int_equal(lf_node_files_collect(&f.env, &f.res, ho, &out, &err), 0);
	x = find(&out, "fabric/node.env");
	assert_non_null(x);
	assert_non_null(strstr(x->data, "LEDGERFORM_MACHINE_ADDRESS=10.7.0.3\n"));
	lf_node_files_free(&out);
	memset(&out, 0, sizeof(out));
	json_object_set_new(ho, "machine_address", json_string("1.2.3.4\nEVIL=1"));
	assert_int_equal(lf_node_files_collect(&f.env, &f.res, ho, &out, &err), 0);
	x = find(&out, "fabric/node.env");
	assert_null(strstr(x->data, "EVIL"));
	assert_null(strstr(x->data, "LEDGERFORM_MACHINE_ADDRESS"));
	lf_node_files_free(&out);
	json_decref(ho);
	fx_done(&f);
}

static void test_node_files_symlinks_stay_inside(void **state)
{
	struct nf_fx f;
	struct lf_node_files out = { 0 };
	struct lf_err err = LF_ERR_INIT;
	char *link, *target, *d;
	const struct lf_node_file *x;

	(void)state;
	fx_init(&f);
	/* a link to a file inside the tree is shipped as that file */
	link = lf_path_join(f.node, "tls/ca.crt");
	assert_int_equal(symlink("../msp/signcerts/cert.pem", link), 0);
	free(link);
	assert_int_equal(lf_node_files_collect(&f.env, &f.res, NULL, &out, &err), 0);
	x = find(&out, "fabric/tls/ca.crt");
	assert_non_null(x);
	assert_memory_equal(x->data, "-----BEGIN CERTIFICATE-----", 27);
	lf_node_files_free(&out);
	/* a link out of the tree is refused, and nothing of it is read */
	link = lf_path_join(f.node, "msp/admincerts/admin.pem");
	target = lf_path_join(f.outside, "id_rsa");
	d = lf_path_dirname(link);
	assert_int_equal(lf_mkdirs(d, 0700, NULL), 0);
	free(d);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(lf_node_files_collect(&f.env, &f.res, NULL, &out, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "outside the crypto tree"));
	assert_null(find(&out, "fabric/msp/admincerts/admin.pem"));
	lf_node_files_free(&out);
	unlink(link);
	/* nor may a linked directory (or the msp dir itself) lead out */
	lf_err_clear(&err);
	assert_int_equal(symlink(f.outside, link), 0);
	assert_int_equal(lf_node_files_collect(&f.env, &f.res, NULL, &out, &err), LF_EINVALID);
	lf_node_files_free(&out);
	free(link);
	free(target);
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_files_secrets_by_kind),
		cmocka_unit_test(test_node_files_symlinks_stay_inside),
		cmocka_unit_test(test_node_files_machine_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
