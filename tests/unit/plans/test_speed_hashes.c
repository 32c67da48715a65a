/*
 * The plan's speed work (string interning, expansion without key checks)
 * must not move a single hash: an existing state would plan changes for
 * every resource. Each spec's expansion is summed up as the SHA-256 of its
 * "address hash\n" lines in expansion order, and compared with the sum
 * the code before that work gave (a state written then plans empty).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/spec/spec.h"
#include "core/util/canon.h"
#include "core/util/util.h"
#include "plans/plan.h"
#include "state/state.h"

static struct lf_rset *expand_text(const char *name, const char *text)
{
	struct lf_spec *spec = NULL;
	struct lf_rset *rs = NULL;
	struct lf_diags d;
	struct lf_err err = LF_ERR_INIT;

	memset(&d, 0, sizeof(d));
	if (lf_spec_load_buffer(&spec, name, text, strlen(text), &d) != 0) {
		lf_diags_print(&d, stderr);
		fail_msg("%s does not load", name);
	}
	lf_diags_free(&d);
	assert_int_equal(lf_expand(spec, &rs, &err), 0);
	lf_spec_free(spec);
	return rs;
}

static struct lf_rset *expand_file(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs;

	assert_int_equal(lf_read_file(path, &text, &len, &err), 0);
	rs = expand_text(path, text);
	free(text);
	return rs;
}

/* sha256 hex of the "address hash\n" lines */
static void rset_sum(const struct lf_rset *rs, char out[65])
{
	struct lf_buf b = LF_BUF_INIT;
	size_t i;

	for (i = 0; i < rs->n; i++)
		lf_buf_printf(&b, "%s %s\n", rs->v[i].addr, rs->v[i].hash);
	lf_sha256_hex(b.data, b.len, out);
	lf_buf_free(&b);
}

/* every hash is the one of its attributes (shared strings included) */
static void check_rehash(const struct lf_rset *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		struct lf_resource copy = rs->v[i];

		copy.attrs = json_deep_copy(rs->v[i].attrs);
		lf_resource_rehash(&copy);
		assert_string_equal(copy.hash, rs->v[i].hash);
		json_decref(copy.attrs);
	}
}

static void check_file(const char *example, const char *sum)
{
	char *path = lf_xasprintf("%s/examples/%s", LF_SOURCE_DIR, example);
	struct lf_rset *rs = expand_file(path);
	char got[65];

	rset_sum(rs, got);
	check_rehash(rs);
	assert_string_equal(got, sum);
	lf_rset_free(rs);
	free(path);
}

static void test_examples_keep_hashes(void **state)
{
	(void)state;
	check_file("quickstart.yaml", "5613a4a878ad838d3a92ca9d29614798bd554af70f92979575174e94c3a5495a");
	check_file("kafka-legacy.yaml", "f7e027637f54b374dab7d9b6c567a18ade766f3f39de2e225c7558fed66c4287");
}

/* a bigger network: 30 orgs of 40 peers, two channels */
static char *big_spec(void)
{
	struct lf_buf b = LF_BUF_INIT;
	char *text;
	int i;

	lf_buf_printf(&b, "name: big\norgs:\n"
		      "  - name: ordering\n    orderers: {count: 3}\n");
	for (i = 0; i < 30; i++)
		lf_buf_printf(&b, "  - name: org%d\n    peers: {count: 40}\n    users: 2\n", i);
	lf_buf_printf(&b, "channels:\n  - name: one\n    orgs: [org0, org1]\n"
		      "  - name: two\n    orgs: [org2, org3, org4]\n");
	text = lf_xstrndup(b.data, b.len);
	lf_buf_free(&b);
	return text;
}

static void test_big_network_keeps_hashes(void **state)
{
	char *text = big_spec();
	struct lf_rset *rs;
	char got[65];

	(void)state;
	rs = expand_text("big.yaml", text);
	rset_sum(rs, got);
	check_rehash(rs);
	assert_string_equal(got, "b1b13efd9630488047a4accf6247e71d43d43ce1f8eeb363fb829a3e9b5a9dca");
	lf_rset_free(rs);
	free(text);
}

/* the address index keeps each address's hash: through its growth from 64
 * slots to 16,384, every address is found at its position, a second add
 * of one is refused and an address never added is not found */
static void test_rset_index_through_growth(void **state)
{
	struct lf_rset *rs;
	char addr[32];
	size_t i;

	(void)state;
	lf_rset_new(&rs);
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "host.o%zu.p%zu", i % 7, i);
		assert_non_null(lf_rset_add_hashed(rs, addr, json_object(), NULL));
	}
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "host.o%zu.p%zu", i % 7, i);
		assert_ptr_equal(lf_rset_get(rs, addr), &rs->v[i]);
		assert_null(lf_rset_add_hashed(rs, addr, json_object(), NULL));
	}
	assert_int_equal(rs->n, 5000);
	assert_null(lf_rset_get(rs, "host.o1.p5000"));
	assert_null(lf_rset_get(rs, ""));
	lf_rset_free(rs);
}

/* equal attribute strings are one value, shared between resources */
static void test_strings_are_shared(void **state)
{
	char *text = big_spec();
	struct lf_rset *rs;
	const struct lf_resource *a, *b;
	json_t *v, *w;

	(void)state;
	rs = expand_text("big.yaml", text);
	a = lf_rset_get(rs, "node.org7.peer0");
	b = lf_rset_get(rs, "node.org7.peer39");
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(json_object_get(a->attrs, "domain"),
			 json_object_get(b->attrs, "domain"));
	assert_ptr_equal(json_object_get(a->attrs, "fabric_version"),
			 json_object_get(b->attrs, "fabric_version"));
	assert_ptr_not_equal(json_object_get(a->attrs, "hostname"),
			     json_object_get(b->attrs, "hostname"));
	/* lf_rset_string hands out the set's one string, a new reference */
	v = lf_rset_string(rs, json_string_value(json_object_get(a->attrs, "mspid")));
	assert_ptr_equal(v, json_object_get(b->attrs, "mspid"));
	json_decref(v);
	v = lf_rset_string(rs, "a value no resource has");
	assert_string_equal(json_string_value(v), "a value no resource has");
	w = lf_rset_string(rs, "a value no resource has");
	assert_ptr_equal(v, w);
	json_decref(v);
	json_decref(w);
	assert_null(lf_rset_string(rs, "\xff"));
	lf_rset_free(rs);
	free(text);
}

/* strings are scanned eight bytes at a time: a byte that needs an escape
 * (and UTF-8 next to it) at every position of strings up to 40 bytes
 * gives jansson's text */
static void test_string_escapes_at_every_offset(void **state)
{
	static const char specials[] = { '"', '\\', '\n', '\t', 0x01, 0x1f, 0x7f,
					 (char)0xc3, '/', ' ' };
	char s[41];
	size_t n, pos, k;

	(void)state;
	for (n = 1; n < sizeof(s); n++)
		for (pos = 0; pos < n; pos++)
			for (k = 0; k < sizeof(specials); k++) {
				json_t *o;
				char *want, *got;

				memset(s, 'a' + (int)(n % 26), n);
				s[n] = 0;
				s[pos] = specials[k];
				if (specials[k] == (char)0xc3) /* a whole é */
					s[pos + 1 < n ? pos + 1 : pos] = (char)0xa9;
				o = json_pack("{s:s?}", "v", s);
				if (!o)
					continue; /* a lone 0xc3 at the end */
				want = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
				got = lf_json_canon_text(o);
				assert_string_equal(got, want);
				free(want);
				free(got);
				json_decref(o);
			}
}

/* whether the state scan indexes doc (0) or declines it (1) */
static int scan(const char *doc)
{
	struct lf_state_raw *raw = NULL;
	char lineage[37];
	uint64_t serial;
	int rc = lf_state_raw_scan(&raw, lf_xstrdup(doc), strlen(doc), lineage, &serial);

	lf_state_raw_free(raw);
	return rc;
}

/* the scan checks its bytes eight at a time: white space (tab, LF, CR)
 * is accepted at any offset, and a byte it never accepts (other control
 * characters, non-ASCII) is found at any offset */
static void test_state_scan_bytes_at_every_offset(void **state)
{
	static const char bad[] = { 0x01, '\v', '\f', 0x1f, (char)0x80, (char)0xc3 };
	static const char ws[] = " \t\n\r";
	const char *head = "{\"format_version\": 1, \"lineage\": "
			   "\"0123456789abcdef0123456789abcdef0123\", "
			   "\"ledgerform_version\": \"0\", \"serial\": 3, "
			   "\"resources\": {\"h.a\": {\"type\": \"host\", "
			   "\"attrs\": {\"n\": \"";
	char val[25], *doc;
	size_t pos, k;

	(void)state;
	for (pos = 0; pos + 1 < sizeof(val); pos++) {
		memset(val, 'x', sizeof(val) - 1);
		val[sizeof(val) - 1] = 0;
		doc = lf_xasprintf("%s%s\"}}}}", head, val);
		assert_int_equal(scan(doc), 0);
		free(doc);
		for (k = 0; k < sizeof(bad); k++) {
			val[pos] = bad[k];
			doc = lf_xasprintf("%s%s\"}}}}", head, val);
			assert_int_equal(scan(doc), 1);
			free(doc);
			/* and in white space between tokens */
			memset(val, ' ', sizeof(val) - 1);
			val[pos] = bad[k];
			doc = lf_xasprintf("%sx\"}%s}}}", head, val);
			assert_int_equal(scan(doc), 1);
			free(doc);
			memset(val, 'x', sizeof(val) - 1);
		}
		for (k = 0; k < sizeof(val) - 1; k++)
			val[k] = ws[(k + pos) % 4];
		doc = lf_xasprintf("%sx\"}%s}}}", head, val);
		assert_int_equal(scan(doc), 0);
		free(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_keep_hashes),
		cmocka_unit_test(test_big_network_keeps_hashes),
		cmocka_unit_test(test_rset_index_through_growth),
		cmocka_unit_test(test_strings_are_shared),
		cmocka_unit_test(test_string_escapes_at_every_offset),
		cmocka_unit_test(test_state_scan_bytes_at_every_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
