/*
 * Canonical JSON hashing (core/util/canon.c) gives exactly the bytes of
 * json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS), and so the same resource
 * hashes the state already holds: every escape, keys with a NUL inside,
 * key order, integers at their limits, reals, nesting deeper than the
 * hasher's own limit, a text longer than its buffer, values jansson
 * refuses, and a few thousand generated values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/util/canon.h"
#include "core/util/util.h"

/* text and hash agree with jansson's dump of v */
static void check_same(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	char *got = lf_json_canon_text(v);
	char hw[65], hg[65];
	struct lf_hasher *h = lf_hasher_new();

	if (!want)
		want = strdup(""); /* refused: hashed as the empty text */
	assert_string_equal(got, want);
	lf_sha256_hex(want, strlen(want), hw);
	lf_json_canon_sha256_hex(h, v, hg);
	assert_string_equal(hg, hw);
	lf_json_canon_sha256_hex(h, v, hg); /* the hasher is reusable */
	assert_string_equal(hg, hw);
	lf_hasher_free(h);
	free(want);
	free(got);
}

static void test_canon_escapes_and_keys(void **state)
{
	char all[128];
	json_t *o = json_object(), *a = json_array();
	int i;

	(void)state;
	for (i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	json_object_set_new(o, "ascii", json_string(all));
	json_object_set_new(o, "utf8", json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 /slash\\"));
	json_object_set_new(o, "nul", json_stringn("a\0b", 3));
	json_object_setn_new(o, "k\0ey", 4, json_string("key with a NUL"));
	json_object_setn_new(o, "k", 1, json_true());
	json_object_set_new(o, "", json_false());
	json_object_set_new(o, "\xc3\xa9", json_null());
	json_object_set_new(o, "Z", json_integer(INT64_MIN));
	json_object_set_new(o, "a", json_integer(INT64_MAX));
	json_object_set_new(o, "zero", json_integer(0));
	json_object_set_new(o, "neg", json_integer(-42));
	json_object_set_new(o, "real", json_real(0.1));
	json_object_set_new(o, "real2", json_real(1e300));
	json_object_set_new(o, "real3", json_real(-3.0));
	json_object_set_new(o, "empty_o", json_object());
	json_array_append_new(a, json_array());
	json_array_append_new(a, json_string("x"));
	json_object_set_new(o, "arr", a);
	check_same(o);
	check_same(a);
	json_decref(o);
}

static void test_canon_big_and_deep(void **state)
{
	json_t *o = json_object(), *deep = json_array(), *cur = deep;
	char *longs = malloc(40000), key[16];
	int i;

	(void)state;
	memset(longs, 'x', 39999);
	longs[39999] = '\0';
	longs[20000] = '"';
	for (i = 0; i < 300; i++) { /* more keys than its stack array */
		snprintf(key, sizeof(key), "k%03d", (i * 7919) % 300);
		json_object_set_new(o, key, json_integer(i));
	}
	json_object_set_new(o, "long", json_string(longs));
	for (i = 0; i < 200; i++) { /* deeper than CANON_DEEP */
		json_t *n = i % 2 ? json_array() : json_object();

		if (json_is_array(cur))
			json_array_append_new(cur, n);
		else
			json_object_set_new(cur, "d", n);
		cur = n;
	}
	json_object_set(o, "deep", deep);
	check_same(o);
	/* a loop: jansson refuses it, so both hash the empty text */
	json_array_append(cur, deep);
	check_same(o);
	json_array_clear(cur);
	json_decref(deep);
	json_decref(o);
	free(longs);
}

static unsigned long long rnd_state = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state % n);
}

static json_t *gen(int depth)
{
	static const char *pieces[] = { "a", "\"", "\\", "\n", "\x01", "\x1f", "/",
					"\xc3\xa9", "peer0", "", " ", "\t", "\x7f" };
	char s[64] = "";
	unsigned i, n = rnd(5);
	json_t *v;

	switch (depth > 3 ? 2 + rnd(4) : rnd(6)) {
	case 0:
		v = json_object();
		for (i = 0; i < n * 3; i++) {
			snprintf(s, sizeof(s), "%s%u", pieces[rnd(LF_ARRAY_LEN(pieces))], rnd(20));
			json_object_set_new(v, s, gen(depth + 1));
		}
		return v;
	case 1:
		v = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(v, gen(depth + 1));
		return v;
	case 2:
		for (i = 0; i < n; i++)
			strcat(s, pieces[rnd(LF_ARRAY_LEN(pieces))]);
		return json_string(s);
	case 3:
		return json_integer((json_int_t)rnd(2000000) - 1000000);
	case 4:
		return rnd(2) ? json_true() : json_null();
	default:
		return json_real((double)rnd(100000) / 7.0);
	}
}

static void test_canon_generated(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "v", gen(0));
		check_same(o);
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_escapes_and_keys),
		cmocka_unit_test(test_canon_big_and_deep),
		cmocka_unit_test(test_canon_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
