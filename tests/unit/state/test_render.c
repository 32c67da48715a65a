/*
 * The state renderer must write exactly what jansson writes with
 * JSON_INDENT(1) | JSON_SORT_KEYS: checked on hand-picked edge cases and on
 * random trees, and timed against jansson on a 10,000-resource document.
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
#include "state/render.h"

#define JFLAGS (JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENCODE_ANY)

static void assert_same_as_jansson(const json_t *v)
{
	struct lf_buf b = LF_BUF_INIT;
	char *want = json_dumps(v, JFLAGS);

	assert_non_null(want);
	assert_int_equal(lf_state__render(&b, v), 0);
	assert_non_null(b.data);
	if (strcmp(b.data, want) != 0)
		fail_msg("render differs from jansson:\n--- ours\n%s\n--- jansson\n%s", b.data,
			 want);
	free(want);
	lf_buf_free(&b);
}

static void test_render_edge_cases(void **state)
{
	json_t *v = json_pack(
		"{s:{}, s:[], s:[{}, [], [[]], {s:{}}], s:s, s:s, s:s, s:s, s:I, s:I, s:i, "
		"s:f, s:f, s:f, s:f, s:b, s:b, s:n, s:{s:i, s:i, s:i, s:i, s:i, s:i}}",
		"empty_obj", "empty_arr", "nested", "x", "esc", "q\" b\\ s/ \b\f\n\r\t",
		"ctl", "\x01\x1f\x7f", "utf8", "\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91",
		"", "", "max", (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN, "neg", -1,
		"half", 0.5, "big", 1e20, "small", -3.25e-7, "one", 1.0, "t", 1, "f", 0,
		"nil", "sorted", "b", 1, "a", 2, "A", 3, "aa", 4, "a.b", 5, "\xc3\xa9", 6);
	json_t *str = json_stringn("nul\0inside", 10);

	assert_non_null(v);
	json_object_set_new(v, "key \"with\"\nescapes\x02", json_string("v"));
	json_object_set(v, "nul", str);
	assert_same_as_jansson(v);
	assert_same_as_jansson(str);
	assert_same_as_jansson(json_object_get(v, "max"));
	json_decref(str);
	json_decref(v);
}

/* small deterministic PRNG, so a failure reproduces */
static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static json_t *random_tree(uint32_t *s, int depth)
{
	static const char *words[] = { "a", "b", "peer0", "host.bank.peer1", "\t",
				       "\"q\"", "z", "", "\xc3\xa9t\xc3\xa9", "B" };
	uint32_t kind = next(s) % (depth > 4 ? 5 : 7), i, n;
	json_t *v;

	switch (kind) {
	case 0: return json_integer((json_int_t)(int32_t)next(s));
	case 1: return json_string(words[next(s) % LF_ARRAY_LEN(words)]);
	case 2: return json_real((double)(int32_t)next(s) / 1024.0);
	case 3: return json_boolean(next(s) & 1);
	case 4: return json_null();
	case 5:
		v = json_array();
		for (i = 0, n = next(s) % 5; i < n; i++)
			json_array_append_new(v, random_tree(s, depth + 1));
		return v;
	default:
		v = json_object();
		for (i = 0, n = next(s) % 8; i < n; i++)
			json_object_set_new(v, words[next(s) % LF_ARRAY_LEN(words)],
					    random_tree(s, depth + 1));
		return v;
	}
}

static void test_render_random_trees(void **state)
{
	uint32_t s = 0x9e3779b9u;
	int i;

	for (i = 0; i < 500; i++) {
		json_t *v = random_tree(&s, 0);

		assert_same_as_jansson(v);
		json_decref(v);
	}
}

static json_t *resources_10k(void)
{
	json_t *res = json_object();
	char addr[64], id[32];
	int i;

	for (i = 0; i < 10000; i++) {
		snprintf(addr, sizeof(addr), "host.org%d.peer%d", i % 50, i);
		snprintf(id, sizeof(id), "i-%08x", (unsigned)i * 2654435761u);
		json_object_set_new(res, addr, json_pack(
			"{s:s, s:{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:b}, s:s, s:[s], s:{s:s, s:s}}",
			"type", "host", "attrs", "provider", "aws", "size", "small", "image",
			"ubuntu-22.04", "vcpus", 2, "memory_mb", 4096, "disk_gb", 40, "org",
			"bank", "public", i % 2, "hash", "3f7a9c1e5b2d4f6a8c0e1b3d5f7a9c1e", "deps",
			"provider.aws", "outputs", "id", id, "address", "10.0.0.1"));
	}
	return res;
}

/* byte-identical to jansson on a 10,000-resource state (timing: bench/) */
static void test_render_10k(void **state)
{
	json_t *res = resources_10k();
	struct lf_buf b = LF_BUF_INIT;
	char *want;

	(void)state;
	want = json_dumps(res, JFLAGS);
	assert_int_equal(lf_state__render(&b, res), 0);
	assert_string_equal(b.data, want);
	free(want);
	lf_buf_free(&b);
	json_decref(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_edge_cases),
		cmocka_unit_test(test_render_random_trees),
		cmocka_unit_test(test_render_10k),
	};

	return cmocka_run_group_tests_name("state_render", tests, NULL, NULL);
}
