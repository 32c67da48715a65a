/*
 * The raw read path (state/raw.c, lf_rset_from_raw): for every document,
 * plain or odd, the plan's read gives what the ordinary read gives (the
 * same resource set, or the same refusal with the same message); plain
 * documents are indexed without a JSON tree, and a record is parsed only
 * when it differs from the desired set or carries outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"
#include "plans/resource.h"
#include "state/state.h"

#define LIN "\"lineage\": \"0123456789abcdef0123456789abcdef0123\", "
#define ENV "\"format_version\": 1, " LIN "\"ledgerform_version\": \"0\", \"serial\": 3, "
#define H64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char dir[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/raw-test-XXXXXX", LF_BINARY_DIR);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	lf_rmtree(dir, NULL);
	return 0;
}

static char *put(const char *text)
{
	char *path = lf_path_join(dir, "s.json");
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	return path;
}

struct result {
	int rc;
	char msg[LF_ERR_MSG_MAX];
	struct lf_rset *rs;
	bool raw;      /* the records were indexed, not parsed */
	char lineage[37];
	uint64_t serial;
};

/* the plan's read (raw) or the ordinary read of path */
static void read_state(const char *path, bool raw, const struct lf_rset *desired,
		       struct result *out)
{
	struct lf_state *st = NULL;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	int read_rc;

	memset(out, 0, sizeof(*out));
	assert_int_equal(lf_state_file_new(&st, path, &err), 0);
	out->rc = raw ? lf_state_read_raw(st, &doc, &err) : lf_state_read(st, &doc, &err);
	read_rc = out->rc;
	out->raw = out->rc == 0 && doc.raw;
	if (out->rc == 0 && doc.raw)
		out->rc = lf_rset_from_raw(&out->rs, doc.raw, desired, &err);
	else if (out->rc == 0)
		out->rc = lf_rset_from_json(&out->rs, doc.resources, &err);
	snprintf(out->msg, sizeof(out->msg), "%s", err.msg);
	memcpy(out->lineage, doc.lineage, sizeof(out->lineage));
	out->serial = doc.serial;
	if (read_rc == 0)
		lf_state_doc_clear(&doc);
	lf_state_free(st);
}

static void assert_same_rset(const struct lf_rset *a, const struct lf_rset *b)
{
	size_t i, k;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		const struct lf_resource *x = &a->v[i], *y = lf_rset_get(b, x->addr);

		assert_non_null(y);
		assert_string_equal(x->type, y->type);
		assert_string_equal(x->hash, y->hash);
		assert_true(json_equal(x->attrs, y->attrs));
		assert_int_equal(x->outputs != NULL, y->outputs != NULL);
		if (x->outputs)
			assert_true(json_equal(x->outputs, y->outputs));
		assert_int_equal(x->partial, y->partial);
		assert_int_equal(x->ndeps, y->ndeps);
		for (k = 0; k < x->ndeps; k++)
			assert_string_equal(x->deps[k], y->deps[k]);
	}
}

/* both reads of text agree; returns whether the raw read indexed it */
static bool check_same(const char *text)
{
	char *path = put(text);
	struct result o, r;
	bool raw;

	read_state(path, false, NULL, &o);
	read_state(path, true, NULL, &r);
	if (o.rc != r.rc || strcmp(o.msg, r.msg) != 0)
		fail_msg("reads differ on %s:\n ordinary %d '%s'\n raw %d '%s'", text, o.rc,
			 o.msg, r.rc, r.msg);
	if (o.rc == 0) {
		assert_same_rset(o.rs, r.rs);
		assert_string_equal(o.lineage, r.lineage);
		assert_int_equal(o.serial, r.serial);
	}
	raw = r.raw;
	lf_rset_free(o.rs);
	lf_rset_free(r.rs);
	free(path);
	return raw;
}

static const char PLAIN[] =
	"{" ENV "\"resources\": {"
	"\"host.o.p0\": {\"type\": \"host\", \"attrs\": {\"name\": \"p0-o\", \"vcpus\": 2, "
	"\"ratio\": 1.5, \"tags\": {\"a\": [1, {\"b\": null}]}, \"ok\": true}, "
	"\"hash\": \"" H64 "\", \"deps\": []},"
	"\"node.o.p0\": {\"type\": \"node\", \"attrs\": {\"port\": 7051, \"s\": \"a\\\"b\\\\c\\n\"}, "
	"\"hash\": \"short\", \"deps\": [\"host.o.p0\", \"crypto.o.p0\"], \"partial\": true},"
	"\"crypto.o.p0\": {\"type\": \"crypto\", \"attrs\": {}, \"outputs\": {\"cert\": \"x\"}, "
	"\"partial\": false},"
	"\"crypto.o.ca\": {\"outputs\": {\"dir\": \"o/ca\", \"n\": [1, {\"k\": {}}]}, "
	"\"type\": \"crypto\", \"attrs\": {\"kind\": \"ca\"}, \"hash\": \"" H64 "\"}"
	"}}\n";

/* a plain document is indexed, and gives the ordinary read's set */
static void test_raw_plain_same_set(void **state)
{
	(void)state;
	assert_true(check_same(PLAIN));
	assert_true(check_same("{" ENV "\"resources\": {}}"));
}

/* odd documents go the ordinary way: same set, or same refusal */
static void test_raw_odd_documents_same_result(void **state)
{
	static const char *const odd[] = {
		/* accepted, but not plain */
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": \"\\u00e9\"}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": \"\xc3\xa9\"}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}, \"extra\": 1}}}",
		/* refused: duplicates at every depth */
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": 1, \"n\": 2}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"x\": {\"n\": 1, \"n\": 2}}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}}, "
		"\"h.a\": {\"type\": \"host\", \"attrs\": {}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"type\": \"host\", \"attrs\": {}}}}",
		"{" ENV "\"serial\": 4, \"resources\": {}}",
		/* refused: bad escapes, syntax, numbers */
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": \"\\ud800\"}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": \"\\u0000\"}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": \"\xed\xa0\x80\"}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": 99999999999999999999}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": 1e999}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}}}} x",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": 01}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"n\": \"a\tb\"}}}}",
		"",
		"[1]",
		"{\v" ENV "\"resources\": {}}",
		"{" ENV "\"resources\": {}}\f",
		/* an unterminated string after the document (yajl ends
		 * without an error; found by fuzz_state) */
		"{" ENV "\"resources\": {}}\"",
		"{" ENV "\"resources\": {}}\n  \"abc",
		/* refused: the shape */
		"{" ENV "\"resources\": {\"h.a\": 7}}",
		"{" ENV "\"resources\": {\"h.a\": {\"attrs\": {}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"\", \"attrs\": {}}}}",
		"{" ENV "\"resources\": {\"\": {\"type\": \"host\", \"attrs\": {}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\"}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": []}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}, \"deps\": [\"x\", 2]}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}, \"deps\": {}}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}, \"outputs\": \"x\"}}}",
		"{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {}, \"hash\": 5}}}",
		"{" ENV "\"resources\": [], \"x\": 1}",
		"{" ENV "\"resources\": {}, \"extra\": 1}",
		"{\"format_version\": 2, " LIN "\"ledgerform_version\": \"0\", \"serial\": 3, \"resources\": {}}",
		"{\"format_version\": 0, " LIN "\"ledgerform_version\": \"0\", \"serial\": 3, \"resources\": {}}",
		"{\"format_version\": 1, " LIN "\"ledgerform_version\": \"0\", \"serial\": -1, \"resources\": {}}",
		"{\"format_version\": 1, \"lineage\": \"x\", \"ledgerform_version\": \"0\", \"serial\": 1, \"resources\": {}}",
		"{\"format_version\": 1, " LIN "\"ledgerform_version\": 7, \"serial\": 3, \"resources\": {}}",
		"{\"format_version\": 1, " LIN "\"serial\": 3, \"resources\": {}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < LF_ARRAY_LEN(odd); i++)
		assert_false(check_same(odd[i]));
	/* white space after the document is the raw scan's too */
	assert_true(check_same("{" ENV "\"resources\": {}}\n\t\r "));
}

/* nesting past the scan's limit: the ordinary read decides */
static void test_raw_deep_nesting(void **state)
{
	struct lf_buf b = LF_BUF_INIT;
	int i;

	(void)state;
	lf_buf_printf(&b, "{" ENV "\"resources\": {\"h.a\": {\"type\": \"host\", \"attrs\": {\"x\": ");
	for (i = 0; i < 2100; i++)
		lf_buf_append(&b, "[", 1);
	for (i = 0; i < 2100; i++)
		lf_buf_append(&b, "]", 1);
	lf_buf_printf(&b, "}}}}");
	lf_buf_append(&b, "", 1);
	assert_false(check_same(b.data));
	lf_buf_free(&b);
}

/* a record matching its desired resource's hash shares the desired
 * attributes (only its outputs are parsed); one that differs or is
 * partial is read from its own text */
static void test_raw_shares_matching_records(void **state)
{
	char *path = put(PLAIN);
	struct lf_rset *desired;
	struct lf_resource *dh, *dn, *dc, *dca, *ca;
	struct result r;

	(void)state;
	lf_rset_new(&desired);
	dh = lf_rset_add_hashed(desired, "host.o.p0", json_pack("{s:s}", "name", "p0-o"), H64);
	dn = lf_rset_add_hashed(desired, "node.o.p0", json_object(), NULL);
	dc = lf_rset_add_hashed(desired, "crypto.o.p0", json_object(), NULL);
	dca = lf_rset_add_hashed(desired, "crypto.o.ca", json_pack("{s:s}", "kind", "ca"), H64);
	read_state(path, true, desired, &r);
	assert_int_equal(r.rc, 0);
	assert_true(r.raw);
	assert_ptr_equal(lf_rset_get(r.rs, "host.o.p0")->attrs, dh->attrs);
	assert_ptr_not_equal(lf_rset_get(r.rs, "node.o.p0")->attrs, dn->attrs);
	assert_int_equal(json_integer_value(json_object_get(
		lf_rset_get(r.rs, "node.o.p0")->attrs, "port")), 7051);
	assert_true(lf_rset_get(r.rs, "node.o.p0")->partial);
	assert_ptr_not_equal(lf_rset_get(r.rs, "crypto.o.p0")->attrs, dc->attrs);
	assert_string_equal(json_string_value(json_object_get(
		lf_rset_get(r.rs, "crypto.o.p0")->outputs, "cert")), "x");
	/* matching, with outputs: attrs shared, outputs read from its text */
	ca = lf_rset_get(r.rs, "crypto.o.ca");
	assert_ptr_equal(ca->attrs, dca->attrs);
	assert_string_equal(json_string_value(json_object_get(ca->outputs, "dir")), "o/ca");
	assert_int_equal(json_array_size(json_object_get(ca->outputs, "n")), 2);
	lf_rset_free(r.rs);
	lf_rset_free(desired);
	free(path);
}

/* `state taint` marks a record "tainted": true; the scan indexes such a
 * document and flags the record (the plan replaces it), and only it: not
 * false, not a "tainted" key inside attrs or outputs */
static void test_raw_flags_tainted(void **state)
{
	static const char doc_text[] =
		"{" ENV "\"resources\": {"
		"\"host.o.p0\": {\"type\": \"host\", \"attrs\": {}, \"tainted\": true},"
		"\"host.o.p1\": {\"type\": \"host\", \"attrs\": {}, \"tainted\": false},"
		"\"host.o.p2\": {\"type\": \"host\", \"attrs\": {\"tainted\": true}, "
		"\"outputs\": {\"tainted\": true}}"
		"}}\n";
	char *path = put(doc_text);
	struct lf_state *st = NULL;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	size_t i, ntainted = 0;

	(void)state;
	assert_true(check_same(doc_text));
	assert_int_equal(lf_state_file_new(&st, path, &err), 0);
	assert_int_equal(lf_state_read_raw(st, &doc, &err), 0);
	assert_non_null(doc.raw);
	assert_int_equal(doc.raw->n, 3);
	for (i = 0; i < doc.raw->n; i++) {
		const struct lf_state_rec *r = &doc.raw->v[i];

		if (r->tainted) {
			ntainted++;
			assert_string_equal(lf_state_rec_addr(doc.raw, r), "host.o.p0");
		}
	}
	assert_int_equal(ntainted, 1);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	free(path);
}

/* a missing file is an empty state either way */
static void test_raw_missing_file(void **state)
{
	char *path = lf_path_join(dir, "none.json");
	struct result r;

	(void)state;
	read_state(path, true, NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.rs->n, 0);
	assert_string_equal(r.lineage, "");
	lf_rset_free(r.rs);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_raw_plain_same_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_odd_documents_same_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_deep_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_shares_matching_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_flags_tainted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
