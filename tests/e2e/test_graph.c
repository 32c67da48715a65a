/*
 * `ledgerform graph`: the DOT names every host (in its provider's cluster),
 * node and channel, with an edge per consenter and joined peer; --plan
 * colours by the action plan makes; names with quotes and backslashes stay
 * one DOT string. Where Graphviz is installed the DOT is parsed back by
 * `dot -Tjson` and the nodes and edges are read from its JSON; without it
 * the structural checks still run and the SVG case checks the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "clitest.h"
#include "plans/graph.h"

static const char SPEC[] =
	"name: pic\n"
	"fabric: {version: \"2.5\", consensus: etcdraft}\n"
	"providers:\n"
	"  lab: {driver: sim}\n"
	"orgs:\n"
	"  - name: ordering\n"
	"    orderers: {count: 2}\n"
	"  - name: org1\n"
	"    peers: {count: 2, provider: lab}\n"
	"  - name: org2\n"
	"    peers: {count: 1}\n"
	"channels:\n"
	"  - name: both\n"
	"    orgs: [org1, org2]\n";

static bool have_dot(void)
{
	return system("command -v dot >/dev/null 2>&1") == 0;
}

/* `dot -Tjson` of the file REL in t's directory; NULL when dot fails */
static json_t *dot_json(struct clitest *t, const char *rel)
{
	char *cmd = NULL;
	json_t *j = NULL;
	FILE *p;

	if (asprintf(&cmd, "dot -Tjson '%s/%s'", t->dir, rel) < 0)
		return NULL;
	p = popen(cmd, "r");
	if (p) {
		j = json_loadf(p, 0, NULL);
		if (pclose(p) != 0) {
			json_decref(j);
			j = NULL;
		}
	}
	free(cmd);
	return j;
}

/* the name of the object with _gvid id in dot's JSON */
static const char *gv_name(json_t *g, json_int_t id)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(g, "objects"), i, o)
		if (json_integer_value(json_object_get(o, "_gvid")) == id)
			return json_string_value(json_object_get(o, "name"));
	return NULL;
}

static bool gv_has_edge(json_t *g, const char *tail, const char *head)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(g, "edges"), i, e) {
		const char *a = gv_name(g, json_integer_value(json_object_get(e, "tail")));
		const char *b = gv_name(g, json_integer_value(json_object_get(e, "head")));

		if (a && b && strcmp(a, tail) == 0 && strcmp(b, head) == 0)
			return true;
	}
	return false;
}

/* the attribute key of the object (node or cluster) named name */
static const char *gv_attr(json_t *g, const char *name, const char *key)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(g, "objects"), i, o)
		if (strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			return json_string_value(json_object_get(o, key));
	return NULL;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (s = strstr(s, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

static const char *const NODES[] = {
	"node.ordering.orderer0", "node.ordering.orderer1", "node.org1.peer0",
	"node.org1.peer1", "node.org2.peer0", "channel.both",
};

static void test_graph_dot(void **state)
{
	struct clitest t;
	json_t *g;
	char *dot;

	(void)state;
	ct_init(&t, "graph-dot");
	ct_write(&t, "spec.yaml", SPEC);
	assert_int_equal(ct_run(&t, "graph -f spec.yaml -o g.dot"), 0);
	ct_run(&t, "graph spec.yaml");
	assert_int_equal(t.status, 0);
	/* structure, with or without Graphviz */
	assert_non_null(strstr(t.out, "subgraph \"cluster_provider_lab\""));
	assert_non_null(strstr(t.out, "subgraph \"cluster_provider_local\""));
	assert_non_null(strstr(t.out, "subgraph \"cluster_host.org1.peer1\""));
	for (size_t i = 0; i < sizeof(NODES) / sizeof(NODES[0]); i++)
		assert_non_null(strstr(t.out, NODES[i]));
	assert_int_equal(count(t.out, "[label=\"consenter\""), 2);
	assert_int_equal(count(t.out, "[label=\"joined\""), 3);
	assert_int_equal(count(t.out, " -> "), 5);
	/* the file is the same document */
	dot = ct_read(&t, "g.dot");
	assert_non_null(dot);
	assert_string_equal(dot, t.out);
	free(dot);
	if (!have_dot()) {
		fprintf(stderr, "graphviz not installed: dot -Tjson parse skipped\n");
		ct_done(&t);
		return;
	}
	g = dot_json(&t, "g.dot");
	assert_non_null(g);
	for (size_t i = 0; i < sizeof(NODES) / sizeof(NODES[0]); i++)
		assert_non_null(gv_attr(g, NODES[i], "label"));
	assert_true(gv_has_edge(g, "node.ordering.orderer0", "channel.both"));
	assert_true(gv_has_edge(g, "node.ordering.orderer1", "channel.both"));
	assert_true(gv_has_edge(g, "channel.both", "node.org1.peer0"));
	assert_true(gv_has_edge(g, "channel.both", "node.org2.peer0"));
	assert_false(gv_has_edge(g, "channel.both", "node.ordering.orderer0"));
	assert_int_equal(json_array_size(json_object_get(g, "edges")), 5);
	/* org1's peers share a fill, org2's differs */
	assert_string_equal(gv_attr(g, "node.org1.peer0", "fillcolor"),
			    gv_attr(g, "node.org1.peer1", "fillcolor"));
	assert_string_not_equal(gv_attr(g, "node.org1.peer0", "fillcolor"),
				gv_attr(g, "node.org2.peer0", "fillcolor"));
	assert_string_equal(gv_attr(g, "cluster_host.org1.peer1", "label"),
			    "org1.peer1\\nsize small");
	json_decref(g);
	ct_done(&t);
}

/* the line of the DOT that declares id (node) */
static char *decl_line(const char *dot, const char *id)
{
	char *needle = NULL, *line;
	const char *p, *end;

	if (asprintf(&needle, "\"%s\" [", id) < 0)
		return NULL;
	p = strstr(dot, needle);
	free(needle);
	if (!p)
		return NULL;
	end = strchr(p, '\n');
	line = strndup(p, end ? (size_t)(end - p) : strlen(p));
	return line;
}

static void assert_fill(const char *dot, const char *id, const char *color)
{
	char *l = decl_line(dot, id);
	char *want = NULL;

	assert_non_null(l);
	assert_true(asprintf(&want, "fillcolor=\"%s\"", color) > 0);
	if (!strstr(l, want))
		fail_msg("%s: want %s in: %s", id, want, l);
	free(want);
	free(l);
}

static void test_graph_plan(void **state)
{
	struct clitest t;
	char *spec2;
	json_t *g;

	(void)state;
	ct_init(&t, "graph-plan");
	ct_write(&t, "spec.yaml", SPEC);
	/* before anything is applied, everything is a create */
	assert_int_equal(ct_run(&t, "graph --plan -f spec.yaml"), 0);
	assert_fill(t.out, "node.org1.peer0", "#b7e1a1");
	assert_fill(t.out, "channel.both", "#b7e1a1");
	assert_int_equal(ct_run(&t, "apply -f spec.yaml --auto-approve"), 0);
	/* org1 loses a peer, org2 gains one */
	spec2 = strdup(SPEC);
	memcpy(strstr(spec2, "count: 2, provider"), "count: 1, provider", 18);
	memcpy(strstr(spec2, "peers: {count: 1}"), "peers: {count: 2}", 17);
	ct_write(&t, "spec.yaml", spec2);
	free(spec2);
	assert_int_equal(ct_run(&t, "graph --plan -f spec.yaml -o p.dot"), 0);
	ct_run(&t, "graph --plan -f spec.yaml");
	assert_fill(t.out, "node.org1.peer1", "#f4978e");   /* delete */
	assert_fill(t.out, "node.org2.peer1", "#b7e1a1");   /* create */
	assert_fill(t.out, "node.org1.peer0", "#ffffff");   /* no-op */
	assert_non_null(strstr(t.out, "\"cluster_host.org1.peer1\""));
	assert_non_null(strstr(t.out, "joined\\ndelete"));
	assert_non_null(strstr(t.out, "joined\\ncreate"));
	assert_non_null(strstr(t.out, "label=\"pic (plan)\""));
	/* plan agrees: one host, node and join of each */
	assert_int_equal(ct_run(&t, "plan -f spec.yaml --json"), 0);
	if (have_dot()) {
		g = dot_json(&t, "p.dot");
		assert_non_null(g);
		assert_string_equal(gv_attr(g, "node.org1.peer1", "fillcolor"), "#f4978e");
		assert_true(gv_has_edge(g, "channel.both", "node.org2.peer1"));
		assert_true(gv_has_edge(g, "channel.both", "node.org1.peer1"));
		json_decref(g);
	}
	ct_done(&t);
}

static void test_graph_svg(void **state)
{
	struct clitest t;
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char *svg;

	(void)state;
	ct_init(&t, "graph-svg");
	ct_write(&t, "spec.yaml", SPEC);
	/* no dot on PATH: a clear message naming the package */
	setenv("PATH", t.dir, 1);
	ct_run(&t, "graph -f spec.yaml --format svg -o g.svg");
	if (old)
		setenv("PATH", old, 1);
	free(old);
	assert_int_equal(t.status, 1);
	assert_non_null(strstr(t.err, "install the graphviz package"));
	assert_false(ct_exists(&t, "g.svg"));
	assert_int_equal(ct_run(&t, "graph -f spec.yaml --format png"), 1);
	assert_non_null(strstr(t.err, "--format takes dot or svg"));
	if (!have_dot()) {
		ct_done(&t);
		skip();
	}
	assert_int_equal(ct_run(&t, "graph -f spec.yaml --format svg -o g.svg"), 0);
	svg = ct_read(&t, "g.svg");
	assert_non_null(svg);
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "channel both"));
	free(svg);
	ct_done(&t);
}

/* names are escaped: a quote or backslash cannot end a DOT string */
static void test_graph_quoting(void **state)
{
	struct lf_rset *rs;
	struct lf_resource *h, *n;
	struct lf_buf b = LF_BUF_INIT;
	struct lf_err err = LF_ERR_INIT;
	struct clitest t;
	json_t *g;

	(void)state;
	lf_rset_new(&rs);
	h = lf_rset_add(rs, "host.o.p", json_pack("{s:s, s:s, s:s}", "provider", "we\"ird\\",
						  "driver", "x\ny", "size", "s\"}"));
	n = lf_rset_add(rs, "node.o.p", json_pack("{s:s, s:s, s:s}", "kind", "peer", "org",
						  "o\"rg", "host", "host.o.p"));
	assert_non_null(h);
	assert_non_null(n);
	assert_int_equal(lf_graph_dot(&b, "n\"ame", rs, NULL, NULL, &err), 0);
	assert_true(lf_buf_append(&b, "", 1) == 0);
	assert_non_null(strstr(b.data, "digraph \"n\\\"ame\""));
	assert_non_null(strstr(b.data, "\"cluster_provider_we\\\"ird\\\\\""));
	assert_non_null(strstr(b.data, "label=\"provider we\\\"ird\\\\ (x\\ny)\""));
	assert_non_null(strstr(b.data, "\"org.o\\\"rg\""));
	if (have_dot()) {
		ct_init(&t, "graph-quote");
		ct_write(&t, "q.dot", b.data);
		g = dot_json(&t, "q.dot");
		assert_non_null(g);
		assert_string_equal(json_string_value(json_object_get(g, "name")), "n\"ame");
		/* Graphviz keeps "\\\\" as written (a label shows one) */
		assert_non_null(gv_attr(g, "cluster_provider_we\"ird\\\\", "label"));
		assert_string_equal(gv_attr(g, "cluster_provider_we\"ird\\\\", "label"),
				    "provider we\"ird\\\\ (x\\ny)");
		assert_non_null(gv_attr(g, "org.o\"rg", "label"));
		json_decref(g);
		ct_done(&t);
	}
	lf_buf_free(&b);
	lf_rset_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_graph_quoting),
		cmocka_unit_test(test_graph_dot),
		cmocka_unit_test(test_graph_plan),
		cmocka_unit_test(test_graph_svg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
