/*
 * Tests of chaincode packages: the bytes are the same for the same spec,
 * the layout is Fabric's (entries, order, owners, modes, times), a ready
 * package with another SHA-256 is refused; with FABRIC_BIN, the real
 * `peer lifecycle chaincode calculatepackageid` prints the ID ledgerform
 * computes, and `peer lifecycle chaincode package` of the same node dir
 * holds the same entries and metadata.json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/fabric/cc/package.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

#define BASE \
	"name: net\n" \
	"orgs:\n" \
	"  - {name: ord, orderers: {count: 1}}\n" \
	"  - {name: org1, peers: {count: 1}}\n" \
	"channels:\n" \
	"  - {name: ch1, orgs: [org1]}\n" \
	"chaincodes:\n"

struct fx {
	char dir[64];
	struct lf_spec *spec;
};

static void put(const char *dir, const char *rel, const char *text)
{
	char *p = lf_path_join(dir, rel), *d = lf_path_dirname(p);
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_mkdirs(d, 0755, &err), 0);
	assert_int_equal(lf_write_file_atomic(p, text, strlen(text), 0644,
					      &err), 0);
	free(d);
	free(p);
}

static int setup(void **state)
{
	struct fx *f = lf_xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/lf-ccpkg-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	put(f->dir, "node/package.json", "{\"name\":\"cc\"}\n");
	put(f->dir, "node/index.js", "module.exports = {};\n");
	put(f->dir, "node/lib/a.js", "// a\n");
	put(f->dir, "node/lib.b/c.js", "// c\n");   /* '.' sorts before '/' */
	put(f->dir, "node/.hidden", "h\n");
	put(f->dir, "node/node_modules/x/i.js", "x\n");
	put(f->dir, "node/lib/node_modules/y.js", "y\n");
	put(f->dir, "node/META-INF/statedb/couchdb/indexes/i.json",
	    "{\"index\":{\"fields\":[\"a\"]},\"ddoc\":\"d\",\"name\":\"n\","
	    "\"type\":\"json\"}\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct lf_err err = LF_ERR_INIT;

	lf_spec_free(f->spec);
	lf_rmtree(f->dir, &err);
	free(f);
	return 0;
}

static const struct lf_chaincode *load(struct fx *f, const char *ccs,
				       const char *name)
{
	char *text = lf_xasprintf(BASE "%s", ccs);
	char *file = lf_path_join(f->dir, "spec.yaml");
	struct lf_diags d = { 0 };

	lf_spec_free(f->spec);
	f->spec = NULL;
	if (lf_spec_load_buffer(&f->spec, file, text, strlen(text), &d) != 0)
		lf_diags_print(&d, stdout);
	assert_non_null(f->spec);
	lf_diags_free(&d);
	free(text);
	free(file);
	return lf_spec_chaincode(f->spec, name);
}

/* "name perm uid/gid mtime size sha256-of-content" per entry, in order;
 * with_data false leaves out size and hash */
static char *listing(const void *data, size_t len, bool with_data)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct lf_buf b = LF_BUF_INIT;
	char buf[65536], hex[65];

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));

		assert_true(n >= 0);
		lf_sha256_hex(buf, (size_t)n, hex);
		lf_buf_printf(&b, "%s %o %lld/%lld %lld", archive_entry_pathname(e),
			      (unsigned)archive_entry_mode(e),
			      (long long)archive_entry_uid(e),
			      (long long)archive_entry_gid(e),
			      (long long)archive_entry_mtime(e));
		if (with_data)
			lf_buf_printf(&b, " %zd %s", n, hex);
		lf_buf_append(&b, "\n", 1);
	}
	archive_read_free(a);
	lf_buf_append(&b, "", 1);
	return b.data;
}

/* the content of entry NAME of a tar.gz */
static char *entry(const void *data, size_t len, const char *name,
		   size_t *outlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *out = NULL;

	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, data, len), ARCHIVE_OK);
	while (!out && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		size_t n = (size_t)archive_entry_size(e);

		if (strcmp(archive_entry_pathname(e), name) != 0)
			continue;
		out = lf_xcalloc(1, n + 1);
		assert_int_equal(archive_read_data(a, out, n), (la_ssize_t)n);
		*outlen = n;
	}
	archive_read_free(a);
	assert_non_null(out);
	return out;
}

#define CCAAS \
	"  - {name: svc, version: \"1.0\", sequence: 1, type: ccaas, " \
	"channels: [ch1], address: \"cc.example.com:30100\", " \
	"dial_timeout: 1500ms, tls_required: false}\n"
#define NODE \
	"  - {name: mycc, version: \"2\", sequence: 1, type: node, " \
	"channels: [ch1], package: {path: node}}\n"

static void test_package_ccaas(void **state)
{
	struct fx *f = *state;
	const struct lf_chaincode *cc = load(f, CCAAS, "svc");
	struct lf_cc_package p1, p2, p3;
	struct lf_err err = LF_ERR_INIT;
	char *meta, *code, *conn, *list, *want;
	size_t n, cn, kn;

	assert_int_equal(lf_cc_package_build(&p1, cc, &err), 0);
	assert_int_equal(lf_cc_package_build(&p2, cc, &err), 0);
	assert_int_equal(p1.bytes.len, p2.bytes.len);
	assert_memory_equal(p1.bytes.data, p2.bytes.data, p1.bytes.len);
	assert_string_equal(p1.label, "svc_1.0");
	assert_string_equal(p1.type, "ccaas");
	want = lf_xasprintf("svc_1.0:%s", p1.sha256);
	assert_string_equal(p1.id, want);
	/* gzip header: no time */
	assert_int_equal((unsigned char)p1.bytes.data[0], 0x1f);
	assert_memory_equal(p1.bytes.data + 4, "\0\0\0\0", 4);
	meta = entry(p1.bytes.data, p1.bytes.len, "metadata.json", &n);
	assert_string_equal(meta, "{\"type\":\"ccaas\",\"label\":\"svc_1.0\"}");
	code = entry(p1.bytes.data, p1.bytes.len, "code.tar.gz", &cn);
	conn = entry(code, cn, "connection.json", &kn);
	assert_string_equal(conn, "{\"address\":\"cc.example.com:30100\","
			    "\"dial_timeout\":\"1500ms\",\"tls_required\":false}");
	list = listing(p1.bytes.data, p1.bytes.len, false);
	assert_string_equal(list, "metadata.json 100644 0/0 0\n"
			    "code.tar.gz 100644 0/0 0\n");
	/* read back: the same identity */
	memset(&p3, 0, sizeof(p3));
	lf_buf_append(&p3.bytes, p1.bytes.data, p1.bytes.len);
	assert_int_equal(lf_cc_package_parse(&p3, &err), 0);
	assert_string_equal(p3.id, p1.id);
	assert_string_equal(p3.type, "ccaas");
	free(list);
	free(conn);
	free(code);
	free(meta);
	free(want);
	lf_cc_package_free(&p1);
	lf_cc_package_free(&p2);
	lf_cc_package_free(&p3);
}

static void test_package_node(void **state)
{
	struct fx *f = *state;
	const struct lf_chaincode *cc = load(f, NODE, "mycc");
	struct lf_cc_package p;
	struct lf_err err = LF_ERR_INIT;
	char *meta, *code, *list;
	size_t n, cn;

	assert_int_equal(lf_cc_package_build(&p, cc, &err), 0);
	meta = entry(p.bytes.data, p.bytes.len, "metadata.json", &n);
	assert_string_equal(meta, "{\"path\":\"node\",\"type\":\"node\","
			    "\"label\":\"mycc_2\"}");
	code = entry(p.bytes.data, p.bytes.len, "code.tar.gz", &cn);
	list = listing(code, cn, false);
	/* Go's Walk order; node_modules out; META-INF at the top */
	assert_string_equal(list,
		"src/.hidden 100644 500/500 0\n"
		"META-INF/statedb/couchdb/indexes/i.json 100644 500/500 0\n"
		"src/index.js 100644 500/500 0\n"
		"src/lib/a.js 100644 500/500 0\n"
		"src/lib.b/c.js 100644 500/500 0\n"
		"src/package.json 100644 500/500 0\n");
	free(list);
	free(code);
	free(meta);
	lf_cc_package_free(&p);
}

static void test_package_file_hash(void **state)
{
	struct fx *f = *state;
	const struct lf_chaincode *cc = load(f, CCAAS, "svc");
	struct lf_cc_package p, q;
	struct lf_err err = LF_ERR_INIT;
	char *file = lf_path_join(f->dir, "svc.tgz"), *ccs, *want;
	static const char zeros[] = "00000000000000000000000000000000"
				    "00000000000000000000000000000000";

	assert_int_equal(lf_cc_package_build(&p, cc, &err), 0);
	assert_int_equal(lf_write_file_atomic(file, p.bytes.data, p.bytes.len,
					      0644, &err), 0);
	ccs = lf_xasprintf("  - {name: ready, version: \"9\", sequence: 1, "
			   "type: ccaas, channels: [ch1], package: {file: "
			   "svc.tgz, sha256: %s}}\n", p.sha256);
	cc = load(f, ccs, "ready");
	assert_int_equal(lf_cc_package_get(&q, cc, &err), 0);
	/* the label is the package's own, not the spec's name_version */
	assert_string_equal(q.id, p.id);
	lf_cc_package_free(&q);
	free(ccs);
	ccs = lf_xasprintf("  - {name: ready, version: \"9\", sequence: 1, "
			   "type: ccaas, channels: [ch1], package: {file: "
			   "svc.tgz, sha256: %s}}\n", zeros);
	cc = load(f, ccs, "ready");
	assert_int_equal(lf_cc_package_get(&q, cc, &err), LF_EINVALID);
	want = lf_xasprintf("has SHA-256 %s but the spec expects %s", p.sha256,
			    zeros);
	assert_non_null(strstr(err.msg, want));
	assert_null(q.bytes.data);
	free(want);
	free(ccs);
	free(file);
	lf_cc_package_free(&p);
}

/* run a shell command; its stdout (trimmed) */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char buf[4096];
	size_t n;

	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	assert_int_equal(pclose(p), 0);
	return lf_xstrdup(buf);
}

static char *peer_cmd(const char *bin, const char *dir, const char *args)
{
	return lf_xasprintf("cd %s && FABRIC_CFG_PATH=%s/../config %s/peer "
			    "lifecycle chaincode %s 2>/dev/null", dir, bin, bin,
			    args);
}

static void write_pkg(struct fx *f, const char *name, const char *rel,
		      struct lf_cc_package *p)
{
	const struct lf_chaincode *cc = load(f, name[0] == 's' ? CCAAS : NODE,
					     name);
	struct lf_err err = LF_ERR_INIT;
	char *file = lf_path_join(f->dir, rel);

	assert_int_equal(lf_cc_package_build(p, cc, &err), 0);
	assert_int_equal(lf_write_file_atomic(file, p->bytes.data,
					      p->bytes.len, 0644, &err), 0);
	free(file);
}

static void test_package_fabric(void **state)
{
	struct fx *f = *state;
	const char *bin = getenv("FABRIC_BIN");
	struct lf_cc_package ours, node;
	char *cmd, *id, *theirs, *ml, *tl, *ocode, *tcode;
	size_t tn, ocn, tcn, n;

	if (!bin || !*bin) {
		print_message("skipped: FABRIC_BIN is not set (the real peer "
			      "CLI checks the package ID and layout)\n");
		skip();
	}
	write_pkg(f, "svc", "svc.tgz", &ours);
	write_pkg(f, "mycc", "mycc.tgz", &node);
	for (int i = 0; i < 2; i++) {
		cmd = peer_cmd(bin, f->dir, i ? "calculatepackageid mycc.tgz"
					      : "calculatepackageid svc.tgz");
		id = run(cmd);
		assert_string_equal(id, i ? node.id : ours.id);
		free(id);
		free(cmd);
	}
	/* the peer CLI's own package of the same dir: the same entries,
	 * metadata.json and code files (the compressed bytes differ: Go's
	 * deflate is not zlib's) */
	cmd = peer_cmd(bin, f->dir, "package theirs.tgz --path node --lang "
		       "node --label mycc_2");
	free(run(cmd));
	free(cmd);
	cmd = lf_path_join(f->dir, "theirs.tgz");
	{
		struct lf_err err = LF_ERR_INIT;

		assert_int_equal(lf_read_file(cmd, &theirs, &tn, &err), 0);
	}
	ml = listing(node.bytes.data, node.bytes.len, false);
	tl = listing(theirs, tn, false);
	assert_string_equal(ml, tl);
	free(ml);
	free(tl);
	ml = entry(node.bytes.data, node.bytes.len, "metadata.json", &n);
	tl = entry(theirs, tn, "metadata.json", &n);
	assert_string_equal(ml, tl);
	ocode = entry(node.bytes.data, node.bytes.len, "code.tar.gz", &ocn);
	tcode = entry(theirs, tn, "code.tar.gz", &tcn);
	free(ml);
	free(tl);
	ml = listing(ocode, ocn, true);
	tl = listing(tcode, tcn, true);
	assert_string_equal(ml, tl);
	free(ml);
	free(tl);
	free(ocode);
	free(tcode);
	free(theirs);
	free(cmd);
	lf_cc_package_free(&ours);
	lf_cc_package_free(&node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_package_ccaas, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_package_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_package_file_hash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_package_fabric, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
