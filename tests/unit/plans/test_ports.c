/*
 * Port planning per machine (core/spec/ports.c), its node attributes
 * (plans/expand.c) and the config a node gets (plans/node_files.c):
 *   - nodes of a local provider share 127.0.0.1 and get distinct ports,
 *     the first of each kind Fabric's defaults, the same on every load;
 *   - given ports win and planned ones step around them;
 *   - adding a peer, an orderer or an org moves no other node's port;
 *   - hosts another provider makes keep Fabric's defaults;
 *   - its rendered core.yaml / orderer.yaml listen where the plan says
 *     (test_node_config.c checks every rendered key against Fabric's
 *     sample config).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/node_files.h"
#include "plans/plan.h"


static struct lf_spec *load(const char *text)
{
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;

	if (lf_spec_load_buffer(&s, "ports.yaml", text, strlen(text), &d) != 0) {
		lf_diags_print(&d, stdout);
		fail_msg("spec does not load");
	}
	lf_diags_free(&d);
	return s;
}

/* ord: 3 orderers; bank and shop: PEERS peers each (ORDERERS orderers in
 * ord); EXTRA is appended to the orgs list */
static struct lf_spec *net(int orderers, int bank, int shop, const char *extra,
			   const char *provider)
{
	char *text = lf_xasprintf(
		"name: ports\nproviders:\n  lab: {driver: ssh}\n"
		"defaults: {provider: %s}\norgs:\n"
		"  - name: ord\n    orderers: {count: %d}\n"
		"  - name: bank\n    peers: {count: %d}\n"
		"  - name: shop\n    peers: {count: %d}\n%s",
		provider, orderers, bank, shop, extra ? extra : "");
	struct lf_spec *s = load(text);

	free(text);
	return s;
}

static const struct lf_node *node(const struct lf_spec *s, const char *org,
				  const char *name)
{
	const struct lf_node *n = lf_spec_node(s, org, name);

	if (!n)
		fail_msg("no node %s.%s", org, name);
	return n;
}

static void expect_ports(const struct lf_spec *s, const char *org,
			 const char *name, unsigned listen, unsigned cc,
			 unsigned ops, unsigned admin)
{
	const struct lf_node *n = node(s, org, name);

	if (n->port != listen || n->chaincode_port != cc ||
	    n->operations_port != ops || n->admin_port != admin)
		fail_msg("%s.%s: ports %u/%u/%u/%u, expected %u/%u/%u/%u", org,
			 name, n->port, n->chaincode_port, n->operations_port,
			 n->admin_port, listen, cc, ops, admin);
}

/* every port of every node on machine 127.0.0.1 differs */
static size_t assert_distinct(const struct lf_spec *s)
{
	struct lf_buf seen = LF_BUF_INIT;
	size_t count = 0;
	char key[16];

	lf_buf_printf(&seen, "|");
	for (size_t i = 0; i < s->norgs; i++)
		for (size_t j = 0; j < s->orgs[i].nnodes; j++) {
			const struct lf_node *n = &s->orgs[i].nodes[j];

			for (int k = 0; k < LF_PORT_KIND_LAST; k++) {
				unsigned p = lf_node_port(n, (enum lf_port_kind)k);

				assert_int_equal(p != 0, lf_node_has_port(n->kind,
						 (enum lf_port_kind)k));
				if (!p)
					continue;
				snprintf(key, sizeof(key), "|%u|", p);
				if (strstr(seen.data, key))
					fail_msg("port %u used twice", p);
				lf_buf_printf(&seen, "%u|", p);
				count++;
			}
		}
	lf_buf_free(&seen);
	return count;
}

static bool has_san(const struct lf_node *n, const char *san)
{
	for (size_t i = 0; i < n->nsans; i++)
		if (strcmp(n->sans[i], san) == 0)
			return true;
	return false;
}

static void test_ports_local_distinct(void **state)
{
	struct lf_spec *a = net(3, 2, 2, NULL, "local");
	struct lf_spec *b = net(3, 2, 2, NULL, "local");
	const struct lf_node *n;

	(void)state;
	/* 3 orderers x 3 ports + 4 peers x 3 ports, all different */
	assert_int_equal(assert_distinct(a), 21);
	/* the first of each kind keeps Fabric's defaults; later ones count
	 * from the kind's base + (org's place % 10) * 100 + rank */
	expect_ports(a, "ord", "orderer0", 7050, 0, 8443, 7053);
	expect_ports(a, "ord", "orderer1", 11001, 0, 13001, 12001);
	expect_ports(a, "ord", "orderer2", 11002, 0, 13002, 12002);
	expect_ports(a, "bank", "peer0", 7051, 7052, 9443, 0);
	expect_ports(a, "bank", "peer1", 14101, 15101, 16101, 0);
	expect_ports(a, "shop", "peer0", 14200, 15200, 16200, 0);
	expect_ports(a, "shop", "peer1", 14201, 15201, 16201, 0);
	/* the same spec, the same ports */
	for (size_t i = 0; i < a->norgs; i++)
		for (size_t j = 0; j < a->orgs[i].nnodes; j++)
			for (int k = 0; k < LF_PORT_KIND_LAST; k++)
				assert_int_equal(lf_node_port(&a->orgs[i].nodes[j],
							      (enum lf_port_kind)k),
						 lf_node_port(&b->orgs[i].nodes[j],
							      (enum lf_port_kind)k));
	/* reached on the local machine, under either name */
	n = node(a, "shop", "peer1");
	assert_string_equal(n->machine, "127.0.0.1");
	assert_string_equal(n->listen_host, "127.0.0.1");
	assert_string_equal(n->address, "127.0.0.1");
	assert_string_equal(n->hostname, "peer1.shop.example.com");
	assert_true(has_san(n, "localhost"));
	assert_true(has_san(n, "127.0.0.1"));
	lf_spec_free(a);
	lf_spec_free(b);
}

static void test_ports_given_win(void **state)
{
	/* ord's one orderer takes the peers' default listen port and the
	 * slot bank.peer1 would have had; bank.p9 sits on the local machine
	 * as an explicit host and gives 7052 */
	struct lf_spec *s = load(
		"name: ports\norgs:\n"
		"  - name: ord\n"
		"    orderers: {count: 1, port: 7051, ports: {operations: 14101}}\n"
		"  - name: bank\n    peers: {count: 2}\n"
		"  - name: shop\n    peers:\n      hosts:\n"
		"        - {name: p9, address: localhost, ports: {chaincode: 7052}}\n");

	(void)state;
	assert_int_equal(assert_distinct(s), 3 + 3 * 3);
	/* the orderer keeps its given ports; its admin port is still free */
	expect_ports(s, "ord", "orderer0", 7051, 0, 14101, 7053);
	/* 7051 is taken: bank.peer0 counts from its slot; peer1's slot is
	 * taken: the next free port */
	expect_ports(s, "bank", "peer0", 14100, 15100, 9443, 0);
	expect_ports(s, "bank", "peer1", 14102, 15101, 16101, 0);
	/* 7052 given by shop.p9: bank.peer0 above never got it */
	expect_ports(s, "shop", "p9", 14200, 7052, 16200, 0);
	assert_string_equal(node(s, "shop", "p9")->machine, "127.0.0.1");
	assert_string_equal(node(s, "shop", "p9")->address, "localhost");
	assert_string_equal(node(s, "shop", "p9")->listen_host, "127.0.0.1");
	assert_true(node(s, "shop", "p9")->ports_given == 1u << LF_PORT_CHAINCODE);
	lf_spec_free(s);
}

/* every node of a is in b with the same ports */
static void assert_kept(const struct lf_spec *a, const struct lf_spec *b)
{
	for (size_t i = 0; i < a->norgs; i++)
		for (size_t j = 0; j < a->orgs[i].nnodes; j++) {
			const struct lf_node *x = &a->orgs[i].nodes[j];
			const struct lf_node *y = node(b, x->org, x->name);

			for (int k = 0; k < LF_PORT_KIND_LAST; k++)
				if (lf_node_port(x, (enum lf_port_kind)k) !=
				    lf_node_port(y, (enum lf_port_kind)k))
					fail_msg("%s.%s: %s port moved from %u to %u",
						 x->org, x->name,
						 lf_port_kind_name((enum lf_port_kind)k),
						 lf_node_port(x, (enum lf_port_kind)k),
						 lf_node_port(y, (enum lf_port_kind)k));
		}
}

static void test_ports_adding_keeps(void **state)
{
	static const char more[] = "  - name: farm\n    peers: {count: 2}\n"
				   "    orderers: {count: 1}\n";
	struct lf_spec *a = net(3, 2, 2, NULL, "local");
	struct lf_spec *peer = net(3, 3, 2, NULL, "local");
	struct lf_spec *orderer = net(4, 2, 2, NULL, "local");
	struct lf_spec *org = net(3, 2, 2, more, "local");
	struct lf_spec *many = net(3, 12, 2, NULL, "local");

	(void)state;
	assert_kept(a, peer);
	assert_kept(a, orderer);
	assert_kept(a, org);
	/* peer10 and peer11 come after peer9, not after peer1 */
	assert_kept(peer, many);
	expect_ports(peer, "bank", "peer2", 14102, 15102, 16102, 0);
	expect_ports(many, "bank", "peer11", 14111, 15111, 16111, 0);
	expect_ports(org, "farm", "orderer0", 11300, 0, 13300, 12300);
	assert_int_equal(assert_distinct(many), 3 * 3 + 14 * 3);
	assert_int_equal(assert_distinct(org), 21 + 3 * 3);
	lf_spec_free(a);
	lf_spec_free(peer);
	lf_spec_free(orderer);
	lf_spec_free(org);
	lf_spec_free(many);
}

static void test_ports_other_providers(void **state)
{
	struct lf_spec *s = net(3, 2, 2, NULL, "lab");
	const struct lf_node *n;

	(void)state;
	/* every host its own machine: Fabric's defaults on each */
	expect_ports(s, "ord", "orderer2", 7050, 0, 8443, 7053);
	expect_ports(s, "bank", "peer1", 7051, 7052, 9443, 0);
	expect_ports(s, "shop", "peer1", 7051, 7052, 9443, 0);
	n = node(s, "shop", "peer1");
	assert_null(n->machine);
	assert_string_equal(n->listen_host, "0.0.0.0");
	assert_string_equal(n->address, "peer1.shop.example.com");
	assert_false(has_san(n, "localhost"));
	lf_spec_free(s);
	/* explicit hosts share a machine by address */
	s = load("name: ports\norgs:\n  - name: bank\n    peers:\n      hosts:\n"
		 "        - {name: a, address: 10.0.0.5}\n"
		 "        - {name: b, address: 10.0.0.5}\n"
		 "        - {name: c, address: 10.0.0.6}\n");
	expect_ports(s, "bank", "a", 7051, 7052, 9443, 0);
	expect_ports(s, "bank", "b", 14001, 15001, 16001, 0);
	expect_ports(s, "bank", "c", 7051, 7052, 9443, 0);
	assert_string_equal(node(s, "bank", "b")->listen_host, "0.0.0.0");
	lf_spec_free(s);
}

static void test_ports_node_attrs(void **state)
{
	struct lf_spec *s = net(3, 2, 2, NULL, "local");
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = NULL;
	const struct lf_resource *r;

	(void)state;
	assert_int_equal(lf_expand(s, &rs, &err), 0);
	r = lf_rset_get(rs, "node.bank.peer1");
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r->attrs, "port")), 14101);
	assert_int_equal(json_integer_value(json_object_get(r->attrs, "chaincode_port")), 15101);
	assert_int_equal(json_integer_value(json_object_get(r->attrs, "operations_port")), 16101);
	assert_null(json_object_get(r->attrs, "admin_port"));
	assert_string_equal(json_string_value(json_object_get(r->attrs, "listen_host")),
			    "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(r->attrs, "address")),
			    "127.0.0.1");
	r = lf_rset_get(rs, "node.ord.orderer1");
	assert_int_equal(json_integer_value(json_object_get(r->attrs, "admin_port")), 12001);
	assert_null(json_object_get(r->attrs, "chaincode_port"));
	lf_rset_free(rs);
	lf_spec_free(s);
}

/* ---- the ports in a node's rendered config ---- */

/* the scalar at the dotted path (peer.gossip.endpoint) of a YAML text */
static const char *cfg_get(const char *text, const char *path, char *buf, size_t size)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *n;
	const char *res = NULL, *p = path;

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	assert_int_equal(yaml_parser_load(&parser, &doc), 1);
	n = yaml_document_get_root_node(&doc);
	while (n && n->type == YAML_MAPPING_NODE) {
		size_t l = strcspn(p, ".");
		yaml_node_t *next = NULL;

		for (yaml_node_pair_t *q = n->data.mapping.pairs.start;
		     q < n->data.mapping.pairs.top; q++) {
			yaml_node_t *k = yaml_document_get_node(&doc, q->key);

			if (strlen((const char *)k->data.scalar.value) == l &&
			    strncmp((const char *)k->data.scalar.value, p, l) == 0)
				next = yaml_document_get_node(&doc, q->value);
		}
		n = next;
		p += l;
		if (*p != '.')
			break;
		p++;
	}
	if (n && n->type == YAML_SCALAR_NODE && !*p) {
		snprintf(buf, size, "%s", (const char *)n->data.scalar.value);
		res = buf;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return res;
}

static char *render_config(const struct lf_resource *r)
{
	struct lf_apply_env env;
	struct lf_node_files files = { 0 };
	struct lf_err err = LF_ERR_INIT;
	json_t *attrs = json_deep_copy(r->attrs);
	struct lf_resource res = *r;
	char *text = NULL;

	memset(&env, 0, sizeof(env));
	json_object_del(attrs, "crypto");    /* no identity files here */
	res.attrs = attrs;
	assert_int_equal(lf_node_files_collect(&env, &res, NULL, &files, &err), 0);
	for (size_t i = 0; i < files.n; i++)
		if (strcmp(files.v[i].path, "fabric/core.yaml.in") == 0 ||
		    strcmp(files.v[i].path, "fabric/orderer.yaml.in") == 0)
			text = lf_xstrdup(files.v[i].data);
	lf_node_files_free(&files);
	json_decref(attrs);
	assert_non_null(text);
	return text;
}

static void test_ports_config(void **state)
{
	struct lf_spec *s = net(3, 2, 2, NULL, "local");
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = NULL;
	char *peer, *orderer, buf[128];

	(void)state;
	assert_int_equal(lf_expand(s, &rs, &err), 0);
	peer = render_config(lf_rset_get(rs, "node.bank.peer1"));
	orderer = render_config(lf_rset_get(rs, "node.ord.orderer1"));
	assert_string_equal(cfg_get(peer, "peer.listenAddress", buf, sizeof(buf)),
			    "127.0.0.1:14101");
	assert_string_equal(cfg_get(peer, "peer.address", buf, sizeof(buf)),
			    "127.0.0.1:14101");
	assert_string_equal(cfg_get(peer, "peer.chaincodeListenAddress", buf, sizeof(buf)),
			    "127.0.0.1:15101");
	assert_string_equal(cfg_get(peer, "peer.chaincodeAddress", buf, sizeof(buf)),
			    "127.0.0.1:15101");
	assert_string_equal(cfg_get(peer, "peer.gossip.endpoint", buf, sizeof(buf)),
			    "127.0.0.1:14101");
	assert_string_equal(cfg_get(peer, "peer.gossip.externalEndpoint", buf, sizeof(buf)),
			    "127.0.0.1:14101");
	assert_string_equal(cfg_get(peer, "operations.listenAddress", buf, sizeof(buf)),
			    "127.0.0.1:16101");
	assert_string_equal(cfg_get(orderer, "General.ListenAddress", buf, sizeof(buf)),
			    "127.0.0.1");
	assert_string_equal(cfg_get(orderer, "General.ListenPort", buf, sizeof(buf)), "11001");
	assert_string_equal(cfg_get(orderer, "Admin.ListenAddress", buf, sizeof(buf)),
			    "127.0.0.1:12001");
	assert_string_equal(cfg_get(orderer, "Operations.ListenAddress", buf, sizeof(buf)),
			    "127.0.0.1:13001");
	/* gossip starts at the org's first peer, the first one's at itself */
	assert_string_equal(cfg_get(peer, "peer.gossip.bootstrap", buf, sizeof(buf)),
			    "127.0.0.1:7051");
	free(peer);
	peer = render_config(lf_rset_get(rs, "node.bank.peer0"));
	assert_string_equal(cfg_get(peer, "peer.gossip.bootstrap", buf, sizeof(buf)),
			    "127.0.0.1:7051");
	free(peer);
	free(orderer);
	lf_rset_free(rs);
	lf_spec_free(s);
}

static void test_ports_config_elsewhere(void **state)
{
	struct lf_spec *s = net(1, 1, 0, NULL, "lab");
	struct lf_err err = LF_ERR_INIT;
	struct lf_rset *rs = NULL;
	char *peer, buf[128];

	(void)state;
	assert_int_equal(lf_expand(s, &rs, &err), 0);
	peer = render_config(lf_rset_get(rs, "node.bank.peer0"));
	assert_string_equal(cfg_get(peer, "peer.listenAddress", buf, sizeof(buf)),
			    "0.0.0.0:7051");
	assert_string_equal(cfg_get(peer, "peer.address", buf, sizeof(buf)),
			    "peer0.bank.example.com:7051");
	assert_string_equal(cfg_get(peer, "operations.listenAddress", buf, sizeof(buf)),
			    "0.0.0.0:9443");
	free(peer);
	lf_rset_free(rs);
	lf_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_local_distinct),
		cmocka_unit_test(test_ports_given_win),
		cmocka_unit_test(test_ports_adding_keeps),
		cmocka_unit_test(test_ports_other_providers),
		cmocka_unit_test(test_ports_node_attrs),
		cmocka_unit_test(test_ports_config),
		cmocka_unit_test(test_ports_config_elsewhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
