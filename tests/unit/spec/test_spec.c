/*
 * Tests of the chain spec loader: the model of a good spec, the examples,
 * the corpus of bad specs (tests/fixtures/specs/bad/NAME.yaml with
 * NAME.expect), hostile inputs, a mutation loop and a 10,000-node spec.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/spec/spec.h"
#include "core/spec/spec_int.h"
#include "core/util/util.h"
#include "ledgerform/error.h"

#define FIX LF_SOURCE_DIR "/tests/fixtures/specs"

static struct lf_spec *load_ok(const char *path)
{
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;
	int rc = lf_spec_load(&s, path, &d);

	if (rc != 0)
		lf_diags_print(&d, stdout);
	assert_int_equal(rc, 0);
	assert_int_equal(d.nerrors, 0);
	assert_non_null(s);
	lf_diags_free(&d);
	return s;
}

static int load_str(const char *text, struct lf_diags *d)
{
	struct lf_spec *s = NULL;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = lf_spec_load_buffer(&s, "mem.yaml", text, strlen(text), d);
	assert_true(rc == 0 ? s != NULL : s == NULL);
	lf_spec_free(s);
	return rc;
}

/* some diagnostic at line:col (0: any) of severity contains sub */
static bool has_diag(const struct lf_diags *d, int sev, int line, int col,
		     const char *sub)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct lf_diag *g = &d->v[i];

		if (g->severity == sev && (!line || g->pos.line == line) &&
		    (!col || g->pos.col == col) && strstr(g->msg, sub))
			return true;
	}
	return false;
}

static void test_spec_good_model(void **state)
{
	struct lf_spec *s = load_ok(FIX "/good/full.yaml");
	const struct lf_org *ord, *bank, *retail;
	const struct lf_node *n;
	const struct lf_size *z;
	const struct lf_provider *p;
	const struct lf_channel *ch;

	assert_string_equal(s->name, "full-net");
	assert_string_equal(s->fabric_version, "3.0");
	assert_int_equal(s->fabric_major, 3);
	assert_int_equal(s->fabric_minor, 0);
	assert_int_equal(s->consensus, LF_CONSENSUS_BFT);
	assert_string_equal(s->dir, LF_SOURCE_DIR "/tests/fixtures/specs/good");
	/* sizes merged over the defaults */
	assert_int_equal(s->nsizes, 4);
	z = lf_spec_size(s, "small");
	assert_non_null(z);
	assert_int_equal(z->vcpus, 3);
	assert_int_equal(z->memory_mb, 4096);
	assert_int_equal(z->disk_gb, 50);
	assert_string_equal(z->image, "debian-12");
	z = lf_spec_size(s, "xl");
	assert_non_null(z);
	assert_int_equal(z->vcpus, 16);
	assert_int_equal(z->memory_mb, 65536);
	assert_int_equal(z->disk_gb, 2);
	assert_string_equal(z->image, "ubuntu-24.04");
	assert_int_equal(z->pos.line, 9);
	assert_int_equal(lf_spec_size(s, "large")->memory_mb, 16384);
	/* providers: the implicit local one, configured, and lab */
	assert_int_equal(s->nproviders, 2);
	p = lf_spec_provider(s, "local");
	assert_string_equal(p->driver, "local");
	assert_string_equal(json_string_value(json_object_get(p->config,
			    "workdir")), "/tmp/lf");
	p = lf_spec_provider(s, "lab");
	assert_string_equal(p->driver, "ssh");
	assert_int_equal(json_integer_value(json_object_get(p->config, "port")), 22);
	assert_true(json_is_true(json_object_get(p->config, "strict")));
	assert_true(json_is_real(json_object_get(p->config, "ratio")));
	assert_string_equal(json_string_value(json_object_get(p->credentials,
			    "file")), "keys/lab.key");
	assert_null(lf_spec_provider(s, "nope"));
	/* orgs and expanded nodes */
	assert_int_equal(s->norgs, 3);
	ord = lf_spec_org(s, "ordering");
	assert_string_equal(ord->mspid, "OrderingMSP");
	assert_string_equal(ord->domain, "ord.example.org");
	assert_int_equal(ord->norderers, 4);
	assert_int_equal(ord->npeers, 0);
	assert_int_equal(ord->nanchor_peers, 0);
	assert_int_equal(ord->users, 1);
	n = lf_spec_node(s, "ordering", "orderer3");
	assert_non_null(n);
	assert_int_equal(n->kind, LF_NODE_ORDERER);
	assert_string_equal(n->org, "ordering");
	assert_string_equal(n->hostname, "orderer3.ord.example.org");
	assert_string_equal(n->address, "orderer3.ord.example.org");
	assert_int_equal(n->port, 7150);
	assert_int_equal(n->admin_port, 7153);
	assert_int_equal(n->operations_port, 8543);
	assert_int_equal(n->chaincode_port, 0);
	assert_int_equal(n->ports_given, (1u << LF_PORT_LISTEN) |
			 (1u << LF_PORT_ADMIN) | (1u << LF_PORT_OPERATIONS));
	assert_int_equal(n->port_pos[LF_PORT_ADMIN].line, 22);
	assert_null(n->machine);     /* ssh: a machine of its own */
	assert_string_equal(n->listen_host, "0.0.0.0");
	assert_string_equal(n->size, "xl");
	assert_string_equal(n->provider, "lab");
	assert_int_equal(n->nsans, 3);
	assert_string_equal(n->sans[2], "*.ord.example.org");
	assert_false(n->explicit_host);
	assert_int_equal(n->pos.line, 22);
	bank = lf_spec_org(s, "bank");
	assert_string_equal(bank->mspid, "TheBankMSP");
	assert_string_equal(bank->domain, "bank.example.com");
	assert_int_equal(bank->users, 3);
	assert_int_equal(bank->npeers, 2);
	n = lf_spec_node(s, "bank", "beta");
	assert_true(n->explicit_host);
	assert_string_equal(n->address, "10.0.0.5");
	assert_string_equal(n->hostname, "beta.bank.example.com");
	assert_int_equal(n->port, 8051);
	assert_string_equal(n->provider, "lab");
	assert_string_equal(n->size, "medium");
	assert_string_equal(n->machine, "10.0.0.5");
	/* alpha, first on 10.0.0.5, keeps Fabric's defaults; beta, second
	 * in org bank (the spec's second org), counts from the bases */
	assert_int_equal(n->chaincode_port, 15101);
	assert_int_equal(n->operations_port, 16101);
	n = lf_spec_node(s, "bank", "alpha");
	assert_int_equal(n->port, 7051);
	assert_int_equal(n->chaincode_port, 7052);
	assert_int_equal(n->operations_port, 9443);
	assert_int_equal(bank->nanchor_peers, 1);
	assert_string_equal(bank->anchor_peers[0], "beta");
	retail = lf_spec_org(s, "retail");
	assert_string_equal(retail->mspid, "RetailMSP");
	assert_int_equal(retail->users, 0);
	assert_non_null(retail->ca);
	assert_string_equal(retail->ca->cert, "ca/ca.pem");
	assert_string_equal(retail->ca->key, "ca/ca-key.pem");
	assert_null(retail->ca->tls_cert);
	assert_null(bank->ca);
	assert_int_equal(retail->nanchor_peers, 1);
	assert_string_equal(retail->anchor_peers[0], "peer0");
	assert_string_equal(lf_spec_node(s, "retail", "peer1")->hostname,
			    "peer1.retail.example.com");
	assert_null(lf_spec_node(s, "retail", "peer2"));
	assert_null(s->kafka);
	/* channels */
	assert_int_equal(s->nchannels, 2);
	ch = &s->channels[0];
	assert_string_equal(ch->name, "trade.v1");
	assert_int_equal(ch->norgs, 2);
	assert_int_equal(ch->nconsenters, 4);      /* every orderer */
	assert_string_equal(ch->consenters[0], "ordering.orderer0");
	assert_int_equal(ch->batch.timeout_ms, 90000);
	assert_int_equal(ch->batch.max_message_count, 100);
	assert_int_equal(ch->batch.absolute_max_bytes, 10 * 1024 * 1024);
	assert_int_equal(ch->batch.preferred_max_bytes, 1048576);
	assert_int_equal(ch->npolicies, 2);
	assert_string_equal(ch->policies[0].path, "Application/Endorsement");
	assert_string_equal(ch->policies[0].type, "Signature");
	assert_string_equal(ch->policies[1].rule, "ANY Admins");
	ch = &s->channels[1];
	assert_int_equal(ch->batch.timeout_ms, 2000);
	assert_int_equal(ch->batch.max_message_count, 10);
	assert_int_equal(ch->batch.absolute_max_bytes, 103809024);
	assert_int_equal(ch->batch.preferred_max_bytes, 524288);
	/* state and raw */
	assert_string_equal(s->state.backend, "etcd");
	assert_null(json_object_get(s->state.settings, "backend"));
	assert_int_equal(json_array_size(json_object_get(s->state.settings,
			 "endpoints")), 2);
	assert_int_equal(json_integer_value(json_object_get(s->state.settings,
			 "lease_ttl")), 30);
	assert_string_equal(json_string_value(json_object_get(s->raw, "name")),
			    "full-net");
	assert_int_equal(json_array_size(json_object_get(s->raw, "orgs")), 3);
	lf_spec_free(s);
}

static void test_spec_defaults(void **state)
{
	static const char text[] =
		"name: tiny\n"
		"orgs:\n"
		"  - name: org1\n"
		"    orderers: {count: 1}\n"
		"    peers: {count: 1}\n";
	struct lf_spec *s = NULL;
	struct lf_diags d = { 0 };
	const struct lf_org *o;

	assert_int_equal(lf_spec_load_buffer(&s, "dir/tiny.yaml", text,
					     strlen(text), &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(d.file, "dir/tiny.yaml");
	assert_string_equal(s->dir, "dir");
	assert_string_equal(s->fabric_version, "2.5");
	assert_int_equal(s->consensus, LF_CONSENSUS_ETCDRAFT);
	assert_int_equal(s->nsizes, 3);
	assert_int_equal(s->nproviders, 1);
	assert_string_equal(s->providers[0].name, "local");
	assert_string_equal(s->providers[0].driver, "local");
	assert_null(s->providers[0].credentials);
	o = &s->orgs[0];
	assert_string_equal(o->mspid, "Org1MSP");
	assert_string_equal(o->domain, "org1.example.com");
	assert_int_equal(o->users, 1);
	assert_int_equal(o->nnodes, 2);
	assert_int_equal(o->nodes[0].kind, LF_NODE_ORDERER);  /* orderers first */
	assert_int_equal(o->nodes[0].port, 7050);
	assert_int_equal(o->nodes[1].kind, LF_NODE_PEER);
	assert_int_equal(o->nodes[1].port, 7051);
	assert_string_equal(o->nodes[1].size, "small");
	assert_string_equal(o->nodes[1].provider, "local");
	assert_string_equal(o->anchor_peers[0], "peer0");
	assert_int_equal(s->nchannels, 0);
	assert_string_equal(s->state.backend, "file");
	assert_int_equal(json_object_size(s->state.settings), 0);
	lf_spec_free(s);
	lf_diags_free(&d);
}

static void test_spec_kafka(void **state)
{
	struct lf_spec *s = load_ok(LF_SOURCE_DIR "/examples/kafka-legacy.yaml");
	const struct lf_node *n;

	assert_int_equal(s->consensus, LF_CONSENSUS_KAFKA);
	assert_int_equal(s->fabric_major, 2);
	assert_int_equal(s->fabric_minor, 2);
	assert_non_null(s->kafka);
	assert_int_equal(s->kafka->brokers, 4);
	assert_int_equal(s->kafka->zookeepers, 3);
	assert_int_equal(s->kafka->nnodes, 7);
	n = &s->kafka->nodes[3];
	assert_string_equal(n->name, "kafka3");
	assert_int_equal(n->kind, LF_NODE_KAFKA);
	assert_string_equal(n->org, "kafka");
	/* all on the local machine: kafka0 keeps 9092, the others count
	 * from 17000 + (orgs in the spec % 10) * 100 + their rank */
	assert_int_equal(s->kafka->nodes[0].port, 9092);
	assert_int_equal(n->port, 17000 + (s->norgs % 10) * 100 + 3);
	assert_string_equal(n->address, "127.0.0.1");
	assert_string_equal(n->hostname, "kafka3.kafka.ordering.example.com");
	n = &s->kafka->nodes[6];
	assert_string_equal(n->name, "zookeeper2");
	assert_int_equal(n->kind, LF_NODE_ZOOKEEPER);
	assert_int_equal(n->port, 18000 + (s->norgs % 10) * 100 + 2);
	assert_int_equal(s->kafka->nodes[4].port, 2181);
	assert_ptr_equal(lf_spec_node(s, "kafka", "zookeeper0"),
			 &s->kafka->nodes[4]);
	assert_int_equal(s->channels[0].nconsenters, 0);
	lf_spec_free(s);
}

static void test_spec_names(void **state)
{
	assert_string_equal(lf_consensus_name(LF_CONSENSUS_ETCDRAFT), "etcdraft");
	assert_string_equal(lf_consensus_name(LF_CONSENSUS_BFT), "BFT");
	assert_string_equal(lf_consensus_name(LF_CONSENSUS_KAFKA), "kafka");
	assert_string_equal(lf_consensus_name(LF_CONSENSUS_LAST), "unknown");
	assert_string_equal(lf_node_kind_name(LF_NODE_PEER), "peer");
	assert_string_equal(lf_node_kind_name(LF_NODE_ORDERER), "orderer");
	assert_string_equal(lf_node_kind_name(LF_NODE_CA), "ca");
	assert_string_equal(lf_node_kind_name(LF_NODE_KAFKA), "kafka");
	assert_string_equal(lf_node_kind_name(LF_NODE_ZOOKEEPER), "zookeeper");
	assert_string_equal(lf_node_kind_name(LF_NODE_KIND_LAST), "unknown");
	assert_null(lf_spec_org(NULL, "x"));
	assert_null(lf_spec_node(NULL, "x", "y"));
	lf_spec_free(NULL);
	lf_diags_free(NULL);
}

static void test_spec_diags_print(void **state)
{
	struct lf_diags d = { 0 };
	struct lf_pos at = { 3, 7 }, none = { 0, 0 };
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	d.file = lf_xstrdup("x.yaml");
	lf_diags_add(&d, 1, at, "bad %s", "thing\x01");
	lf_diags_add(&d, 0, none, "just a warning");
	assert_int_equal(d.nerrors, 1);
	assert_int_equal(d.n, 2);
	lf_diags_print(&d, f);
	fclose(f);
	assert_string_equal(out, "x.yaml:3:7: error: bad thing?\n"
			    "x.yaml: warning: just a warning\n");
	free(out);
	lf_diags_free(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.file);
}

static void test_spec_missing_file(void **state)
{
	struct lf_diags d = { 0 };
	struct lf_spec *s = (struct lf_spec *)&d;

	assert_int_not_equal(lf_spec_load(&s, FIX "/does-not-exist.yaml", &d), 0);
	assert_null(s);
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.v[0].msg, "cannot read the spec"));
	lf_diags_free(&d);
	/* a device is read only up to the limit */
	assert_int_equal(lf_spec_load(&s, "/dev/zero", &d), LF_EINVALID);
	assert_null(s);
	assert_true(has_diag(&d, 1, 0, 0, "the spec is larger than 64 MiB"));
	lf_diags_free(&d);
	/* a directory */
	assert_int_not_equal(lf_spec_load(&s, FIX, &d), 0);
	assert_true(has_diag(&d, 1, 0, 0, "cannot read the spec"));
	lf_diags_free(&d);
	/* diags may be NULL */
	assert_int_not_equal(lf_spec_load(&s, FIX "/does-not-exist.yaml", NULL), 0);
}

static void test_spec_examples(void **state)
{
	DIR *dir = opendir(LF_SOURCE_DIR "/examples");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		char *path;
		struct lf_spec *s;

		if (!strstr(e->d_name, ".yaml"))
			continue;
		path = lf_xasprintf(LF_SOURCE_DIR "/examples/%s", e->d_name);
		printf("# example %s\n", e->d_name);
		s = load_ok(path);
		assert_true(s->norgs > 0);
		lf_spec_free(s);
		free(path);
		n++;
	}
	closedir(dir);
	assert_true(n >= 3);
}

static void test_spec_quickstart(void **state)
{
	struct lf_spec *s = load_ok(LF_SOURCE_DIR "/examples/quickstart.yaml");

	assert_int_equal(s->nproviders, 1);   /* local only */
	assert_int_equal(s->norgs, 3);
	assert_int_equal(s->orgs[0].norderers, 3);
	assert_int_equal(s->orgs[1].npeers, 2);
	assert_int_equal(s->orgs[2].npeers, 2);
	assert_int_equal(s->nchannels, 1);
	assert_int_equal(s->channels[0].nconsenters, 3);
	lf_spec_free(s);
}

/* templates/sizes.yaml holds the same values as the built-in defaults */
static void test_spec_sizes_template(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_buf buf = LF_BUF_INIT;
	char *tpl = NULL, *text;
	const char *p;
	size_t len = 0;
	struct lf_spec *a = NULL, *b = NULL;
	struct lf_diags d = { 0 };
	static const char base[] = "name: s\norgs: [{name: o, peers: {count: 1}}]\n";

	assert_int_equal(lf_read_file(LF_SOURCE_DIR "/templates/sizes.yaml",
				      &tpl, &len, &err), 0);
	/* the template, indented under sizes: */
	assert_int_equal(lf_buf_printf(&buf, "%ssizes:\n", base), 0);
	for (p = tpl; *p; ) {
		size_t l = strcspn(p, "\n");

		assert_int_equal(lf_buf_printf(&buf, "  %.*s\n", (int)l, p), 0);
		p += l + (p[l] ? 1 : 0);
	}
	text = lf_xstrndup(buf.data, buf.len);
	lf_buf_free(&buf);
	assert_int_equal(lf_spec_load_buffer(&a, "t.yaml", text, strlen(text), &d), 0);
	assert_int_equal(lf_spec_load_buffer(&b, "b.yaml", base, strlen(base), &d), 0);
	assert_int_equal(a->nsizes, 3);
	assert_int_equal(b->nsizes, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(a->sizes[i].name, b->sizes[i].name);
		assert_int_equal(a->sizes[i].vcpus, b->sizes[i].vcpus);
		assert_int_equal(a->sizes[i].memory_mb, b->sizes[i].memory_mb);
		assert_int_equal(a->sizes[i].disk_gb, b->sizes[i].disk_gb);
		assert_string_equal(a->sizes[i].image, b->sizes[i].image);
		assert_true(a->sizes[i].pos.line > 0);   /* came from the file */
	}
	lf_spec_free(a);
	lf_spec_free(b);
	lf_diags_free(&d);
	free(text);
	free(tpl);
}

/* ---- the corpus of bad specs ---- */

struct expect {
	int sev, line, col;
	char sub[256];
};

/* NAME.expect: "LINE:COL:SUBSTRING" per expected error, "W LINE:COL:SUB"
 * per expected warning, '#' comments */
static size_t read_expect(const char *path, struct expect *v, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[400];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct expect *e = &v[n];
		char *p = line, *end;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		assert_true(n < max);
		e->sev = 1;
		if (lf_str_has_prefix(p, "W ")) {
			e->sev = 0;
			p += 2;
		}
		e->line = (int)strtol(p, &end, 10);
		assert_true(*end == ':');
		e->col = (int)strtol(end + 1, &end, 10);
		assert_true(*end == ':');
		snprintf(e->sub, sizeof(e->sub), "%s", end + 1);
		n++;
	}
	fclose(f);
	assert_true(n > 0);
	return n;
}

static void check_bad(const char *yaml, const char *expect)
{
	struct expect ex[64];
	size_t n = read_expect(expect, ex, 64), nerr = 0;
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;
	int rc = lf_spec_load(&s, yaml, &d);

	printf("# %s\n", yaml);
	lf_diags_print(&d, stdout);
	for (size_t i = 0; i < n; i++) {
		if (!has_diag(&d, ex[i].sev, ex[i].line, ex[i].col, ex[i].sub))
			fail_msg("%s: no %s at %d:%d containing '%s'", yaml,
				 ex[i].sev ? "error" : "warning", ex[i].line,
				 ex[i].col, ex[i].sub);
		nerr += (size_t)ex[i].sev;
	}
	/* every error is expected: nothing more, nothing less */
	assert_int_equal(d.nerrors, nerr);
	if (nerr) {
		assert_int_equal(rc, LF_EINVALID);
		assert_null(s);
	} else {
		assert_int_equal(rc, 0);
		assert_non_null(s);
	}
	/* every message names the file and a position */
	for (size_t i = 0; i < d.n; i++)
		assert_true(d.v[i].pos.line > 0 && d.v[i].pos.col > 0);
	lf_spec_free(s);
	lf_diags_free(&d);
}

static void test_spec_bad_corpus(void **state)
{
	DIR *dir = opendir(FIX "/bad");
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		size_t l = strlen(e->d_name);
		char *yaml, *expect;

		if (l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0)
			continue;
		yaml = lf_xasprintf("%s/bad/%s", FIX, e->d_name);
		expect = lf_xasprintf("%s/bad/%.*s.expect", FIX, (int)(l - 5),
				      e->d_name);
		check_bad(yaml, expect);
		free(yaml);
		free(expect);
		n++;
	}
	closedir(dir);
	assert_true(n >= 20);
}

/* ---- hostile inputs ---- */

static void expect_error_at(const char *text, size_t len, int line, int col,
			    const char *sub)
{
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;
	int rc = lf_spec_load_buffer(&s, "h.yaml", text, len, &d);

	if (!has_diag(&d, 1, line, col, sub)) {
		lf_diags_print(&d, stdout);
		fail_msg("no error containing '%s'", sub);
	}
	assert_int_equal(rc, LF_EINVALID);
	assert_null(s);
	lf_diags_free(&d);
}

#define EXPECT(lit, sub) expect_error_at(lit, sizeof(lit) - 1, 0, 0, sub)
#define EXPECT_AT(lit, l, c, sub) expect_error_at(lit, sizeof(lit) - 1, l, c, sub)

static void test_spec_hostile(void **state)
{
	static const char junk[] = "\x7f" "ELF\x02\x01\x01\0\0\0\xff\xfe\x80";
	struct lf_buf b = LF_BUF_INIT;
	struct lf_diags d;
	int i;

	EXPECT("", "the spec is empty");
	EXPECT("# only a comment\n", "the spec is empty");
	EXPECT("~\n", "the spec must be a mapping");
	EXPECT("- a\n- b\n", "the spec must be a mapping");
	EXPECT(junk, "YAML:");
	EXPECT("name: a\0b\n", "YAML:");
	EXPECT("name: [unclosed\n", "YAML:");
	/* reader errors carry a byte offset: reported as line and column */
	EXPECT_AT("name: ok\nx: \xff\n", 2, 4, "YAML: invalid leading UTF-8");
	EXPECT_AT("name: ok\nx: \"\xc3\xa9\xc3\xa9\x01\"\n", 2, 7,
		  "YAML: control characters are not allowed");
	EXPECT("\xef\xbb\xbfname: \xc3\x28\n", "YAML:");
	EXPECT("name: x\n---\nname: y\n", "one YAML document");
	EXPECT("name: &a x\nother: *a\n", "alias '*a' is not supported");
	EXPECT("name: x\norgs:\n  - name: o\n    users: 99999999999999999999999\n",
	       "expected an integer from 0 to 10000");
	EXPECT("name: x\norgs:\n  - name: o\n    peers: {count: 1e3}\n",
	       "expected an integer from 0 to 10000");
	EXPECT("name: x\nsizes: {s: {vcpus: 1, memory: 99999999999999999999TiB, disk: 1}}\n"
	       "orgs: [{name: o}]\n", "expected a size");
	EXPECT("? [a, b]\n: c\nname: x\norgs: [{name: o}]\n", "expected a string as mapping key");
	/* billion laughs: aliases are refused, nothing expands */
	lf_buf_printf(&b, "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (i = 1; i < 10; i++)
		lf_buf_printf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
			      i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	expect_error_at(b.data, b.len, 0, 0, "alias");
	memset(&d, 0, sizeof(d));
	assert_int_equal(lf_spec_load_buffer(&(struct lf_spec *){ NULL }, "h",
					     b.data, b.len, &d), LF_EINVALID);
	assert_true(d.nerrors >= 54);
	lf_diags_free(&d);
	lf_buf_free(&b);
	/* deep nesting, both flow and block */
	for (i = 0; i < 100000; i++)
		lf_buf_append(&b, "[", 1);
	expect_error_at(b.data, b.len, 0, 0, "nesting deeper than");
	lf_buf_free(&b);
	lf_buf_printf(&b, "name: x\n");
	for (i = 0; i < 200; i++)
		lf_buf_printf(&b, "%*sk%d:\n", i, "", i);
	expect_error_at(b.data, b.len, 0, 0, "nesting deeper than");
	lf_buf_free(&b);
	/* a bounded tree */
	lf_buf_printf(&b, "name: x\nv: [");
	for (i = 0; i < 500001; i++)
		lf_buf_append(&b, "a,", 2);
	lf_buf_printf(&b, "]\n");
	expect_error_at(b.data, b.len, 2, 0, "more than 500000 YAML values");
	lf_buf_free(&b);
	/* many errors are counted, a bounded number kept */
	lf_buf_printf(&b, "name: x\norgs: [{name: o, peers: {count: 1}}]\n");
	for (i = 0; i < 5000; i++)
		lf_buf_printf(&b, "junk%d: 1\n", i);
	memset(&d, 0, sizeof(d));
	assert_int_equal(load_str(b.data, &d), LF_EINVALID);
	assert_int_equal(d.nerrors, 5000);
	assert_true(d.n <= 1000);
	lf_diags_free(&d);
	lf_buf_free(&b);
}

/* ---- mutations of good specs: never crash, never leak (ASan) ---- */

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void load_junk(const char *buf, size_t len)
{
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;
	int rc = lf_spec_load_buffer(&s, "m.yaml", buf, len, &d);

	assert_true(rc == 0 || rc == LF_EINVALID);
	assert_true(rc == 0 ? d.nerrors == 0 && s : d.nerrors > 0 && !s);
	lf_spec_free(s);
	lf_diags_free(&d);
}

static void test_spec_mutations(void **state)
{
	static const char *const files[] = {
		FIX "/good/full.yaml", LF_SOURCE_DIR "/examples/supply-chain.yaml",
		LF_SOURCE_DIR "/examples/kafka-legacy.yaml",
	};
	static const char flips[] = ":-[]{}&*!|>'\"#,? \n\t\x80\xff" "0a";
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t runs = 0;

	for (size_t f = 0; f < LF_ARRAY_LEN(files); f++) {
		struct lf_err err = LF_ERR_INIT;
		char *text = NULL, *m;
		size_t len = 0, off;

		assert_int_equal(lf_read_file(files[f], &text, &len, &err), 0);
		for (off = 0; off <= len; off++, runs++)
			load_junk(text, off);                /* truncations */
		m = lf_xmalloc(len + 1);
		for (int i = 0; i < 1500; i++, runs++) {    /* byte flips */
			memcpy(m, text, len);
			for (int k = 0; k < 1 + (int)(rnd(&x) % 3); k++)
				m[rnd(&x) % len] = flips[rnd(&x) %
							 (sizeof(flips) - 1)];
			load_junk(m, len);
		}
		free(m);
		free(text);
	}
	printf("# %zu mutated loads\n", runs);
	assert_true(runs > 3000);
}

/* ---- a 200 org x 50 peer spec ---- */

static char *big_spec(bool explicit_hosts)
{
	struct lf_buf b = LF_BUF_INIT;

	lf_buf_printf(&b, "name: big\norgs:\n  - name: ordering\n"
		      "    orderers: {count: 5}\n");
	for (int o = 0; o < 200; o++) {
		lf_buf_printf(&b, "  - name: org%d\n    users: 2\n", o);
		if (!explicit_hosts) {
			lf_buf_printf(&b, "    peers: {count: 50, sans: [localhost]}\n");
			continue;
		}
		lf_buf_printf(&b, "    peers:\n      hosts:\n");
		for (int p = 0; p < 50; p++)
			lf_buf_printf(&b, "        - {name: p%d, address: 10.%d.%d.1, "
				      "port: %d}\n", p, o / 250, o % 250, 7051 + p);
	}
	lf_buf_printf(&b, "channels:\n");
	for (int c = 0; c < 20; c++) {
		lf_buf_printf(&b, "  - name: ch%d\n    orgs: [", c);
		for (int o = 0; o < 200; o++)
			lf_buf_printf(&b, "%sorg%d", o ? ", " : "", o);
		lf_buf_printf(&b, "]\n");
	}
	return b.data;
}

static void test_spec_big(void **state)
{
	for (int explicit_hosts = 0; explicit_hosts < 2; explicit_hosts++) {
		char *text = big_spec(explicit_hosts);
		struct lf_diags d = { 0 };
		struct lf_spec *s = NULL;
		size_t nodes = 0;

		/* how fast is measured by bench/, not asserted here */
		assert_int_equal(lf_spec_load_buffer(&s, "big.yaml", text,
						     strlen(text), &d), 0);
		for (size_t i = 0; i < s->norgs; i++)
			nodes += s->orgs[i].nnodes;
		assert_int_equal(s->norgs, 201);
		assert_int_equal(nodes, 10005);
		assert_int_equal(s->channels[19].norgs, 200);
		printf("# %zu KB spec, %zu nodes (%s)\n", strlen(text) / 1024,
		       nodes, explicit_hosts ? "explicit hosts" : "counts");
		lf_spec_free(s);
		lf_diags_free(&d);
		free(text);
	}
}

/* ---- scalar parsers ---- */

static void test_spec_scalars(void **state)
{
	static const struct { const char *s; bool ok; unsigned long long v; } dur[] = {
		{ "2s", true, 2000 }, { "500ms", true, 500 }, { "1m30s", true, 90000 },
		{ "1h", true, 3600000 }, { "0s", true, 0 }, { "2", false, 0 },
		{ "s", false, 0 }, { "2x", false, 0 }, { "-1s", false, 0 },
		{ "2 s", false, 0 }, { "", false, 0 }, { "1ms1", false, 0 },
		{ "99999999999999999999h", false, 0 }, { "9999999999999999h", false, 0 },
	}, bytes[] = {
		{ "99MB", true, 103809024 }, { "512KB", true, 524288 },
		{ "1GB", true, 1073741824 }, { "10", true, 10 }, { "1KiB", true, 1024 },
		{ "1 MB", true, 1048576 }, { "1PB", false, 0 }, { "MB", false, 0 },
		{ "1.5MB", false, 0 }, { "18446744073709551615GB", false, 0 },
	}, mb[] = {
		{ "4GiB", true, 4096 }, { "512MiB", true, 512 }, { "1TiB", true, 1048576 },
		{ "4096", true, 4096 }, { "2G", true, 2048 }, { "4GB", false, 0 },
		{ "4gib", false, 0 }, { "-4GiB", false, 0 },
	};
	unsigned long long v;
	size_t i;

	for (i = 0; i < LF_ARRAY_LEN(dur); i++) {
		v = 12345;
		assert_int_equal(lf_spec_parse_duration(dur[i].s, &v), dur[i].ok);
		if (dur[i].ok)
			assert_int_equal(v, dur[i].v);
	}
	for (i = 0; i < LF_ARRAY_LEN(bytes); i++) {
		assert_int_equal(lf_spec_parse_bytes(bytes[i].s, &v), bytes[i].ok);
		if (bytes[i].ok)
			assert_int_equal(v, bytes[i].v);
	}
	for (i = 0; i < LF_ARRAY_LEN(mb); i++) {
		assert_int_equal(lf_spec_parse_mb(mb[i].s, true, &v), mb[i].ok);
		if (mb[i].ok)
			assert_int_equal(v, mb[i].v);
	}
	assert_false(lf_spec_parse_mb("4096", false, &v));   /* quoted */
	assert_true(lf_spec_parse_u64("18446744073709551615", &v));
	assert_false(lf_spec_parse_u64("18446744073709551616", &v));
	assert_false(lf_spec_parse_u64("+1", &v));
	assert_true(lf_spec_is_address("10.0.0.5"));
	assert_true(lf_spec_is_address("::1"));
	assert_true(lf_spec_is_address("fe80::1:2"));
	assert_true(lf_spec_is_address("host.example.com"));
	assert_false(lf_spec_is_address("10.0.0.256"));
	assert_false(lf_spec_is_address("10.0.0"));
	assert_false(lf_spec_is_address("a b"));
	assert_false(lf_spec_is_address(""));
	assert_true(lf_spec_is_dns_name("a.b-c.d"));
	assert_false(lf_spec_is_dns_name("a..b"));
	assert_false(lf_spec_is_dns_name("a.b."));
	assert_false(lf_spec_is_dns_name(".a"));
	assert_false(lf_spec_is_dns_name("A.b"));
	assert_true(lf_spec_is_channel_name("trade.v1-x"));
	assert_false(lf_spec_is_channel_name("Trade"));
	assert_false(lf_spec_is_channel_name("1trade"));
	assert_false(lf_spec_is_channel_name("a_b"));
}

/* hostile but bounded: long lists and big mappings load and report every
 * problem (how long it takes is bench/'s business, not a test's) */
static void test_spec_no_quadratic(void **state)
{
	struct lf_buf b = LF_BUF_INIT;
	struct lf_diags d = { 0 };
	const int n = 15000;
	int i;

	lf_buf_printf(&b, "name: wide\nsizes:\n");
	for (i = 0; i < n; i++)
		lf_buf_printf(&b, "  s%d: {vcpus: 1, memory: 1, disk: 1}\n", i);
	lf_buf_printf(&b, "providers:\n");
	for (i = 0; i < n; i++)
		lf_buf_printf(&b, "  p%d: {driver: sim}\n", i);
	lf_buf_printf(&b, "orgs:\n  - name: o\n    orderers: {count: 10000}\n"
		      "    peers: {count: 10000}\n    anchor_peers: [");
	for (i = 0; i < n; i++)
		lf_buf_printf(&b, "%speer%d", i ? ", " : "", i % 12000);
	lf_buf_printf(&b, "]\nchannels:\n  - name: c\n    orgs: [");
	for (i = 0; i < n; i++)
		lf_buf_printf(&b, "%so", i ? ", " : "");
	lf_buf_printf(&b, "]\n    consenters: [");
	for (i = 0; i < n; i++)
		lf_buf_printf(&b, "%so.orderer%d", i ? ", " : "", i % 10000);
	lf_buf_printf(&b, "]\n    policies:\n");
	for (i = 0; i < n; i++)
		lf_buf_printf(&b, "      P%d: {type: ImplicitMeta, rule: ANY P}\n", i);
	assert_int_equal(load_str(b.data, &d), LF_EINVALID);
	printf("# %zu KB hostile spec: %zu errors\n", b.len / 1024,
	       d.nerrors);
	/* anchors peer10000..11999 are no peers (2000), repeated anchors
	 * (3000), channel orgs (n - 1) and consenters (5000) */
	assert_true(has_diag(&d, 1, 0, 0, "is not a peer of org 'o'"));
	assert_int_equal(d.nerrors, 2000 + 3000 + (n - 1) + 5000);
	lf_diags_free(&d);
	lf_buf_free(&b);
}

/* ca: {server: true}: a fabric-ca-server node after the org's peers, with
 * its ports planned; bad forms are refused at their position */
static void test_spec_ca_server(void **state)
{
	static const char ok[] =
		"name: n\nfabric: {version: \"2.5\"}\norgs:\n"
		"  - name: bank\n    ca: {server: true}\n    peers: {count: 1}\n"
		"  - name: shop\n    ca: {server: true, ports: {listen: 8054, operations: 8055}}\n";
	struct lf_diags d = { 0 };
	struct lf_spec *s = NULL;
	const struct lf_node *n;

	(void)state;
	assert_int_equal(lf_spec_load_buffer(&s, "ca.yaml", ok, sizeof(ok) - 1, &d), 0);
	assert_int_equal(s->orgs[0].nnodes, 2);
	assert_int_equal(s->orgs[0].npeers, 1);
	assert_null(s->orgs[0].ca);
	n = lf_spec_node(s, "bank", LF_CA_SERVER_NODE);
	assert_non_null(n);
	assert_ptr_equal(n, &s->orgs[0].nodes[1]);
	assert_int_equal(n->kind, LF_NODE_CA);
	assert_string_equal(n->hostname, "fabric-ca.bank.example.com");
	assert_int_equal(n->port, 7054);
	assert_int_equal(n->operations_port, 9054);
	assert_int_equal(n->chaincode_port, 0);
	assert_string_equal(s->orgs[0].anchor_peers[0], "peer0");
	n = lf_spec_node(s, "shop", LF_CA_SERVER_NODE);
	assert_int_equal(n->port, 8054);
	assert_int_equal(n->operations_port, 8055);
	lf_spec_free(s);
	lf_diags_free(&d);
	EXPECT_AT("name: n\nfabric: {version: \"2.5\"}\norgs:\n  - name: b\n    ca: {server: yes}\n",
		  5, 18, "ca.server: expected true or false");
	EXPECT_AT("name: n\nfabric: {version: \"2.5\"}\norgs:\n  - name: b\n"
		  "    ca: {server: false, port: 9, cert: a, key: b}\n", 5, 25, "ports are for a CA server");
	EXPECT("name: n\nfabric: {version: \"2.5\"}\norgs:\n  - name: b\n"
	       "    ca: {server: true, ports: {chaincode: 9}}\n", "ca nodes have no chaincode port");
	EXPECT("name: n\nfabric: {version: \"2.5\"}\norgs:\n  - name: b\n"
	       "    ca: {server: true, cert: a.pem}\n", "server: true needs the CA's key");
}

/* ca: {cert, tls_cert} without keys: the org issues its certificates;
 * only with admin: offline and admin_cert, never with a CA server */
#define KL_HEAD "name: n\nfabric: {version: \"2.5\"}\norgs:\n  - name: b\n"
static void test_spec_ca_keyless(void **state)
{
	static const char ok[] = KL_HEAD
		"    ca: {cert: ca.pem, tls_cert: tlsca.pem}\n"
		"    admin: offline\n"
		"    admin_cert: admin.pem\n"
		"    peers: {count: 1}\n";
	struct lf_spec *s = NULL;
	struct lf_diags d = { 0 };

	(void)state;
	assert_int_equal(lf_spec_load_buffer(&s, "kl.yaml", ok, sizeof(ok) - 1, &d), 0);
	assert_true(s->orgs[0].ca->keyless);
	assert_null(s->orgs[0].ca->key);
	assert_null(s->orgs[0].ca->tls_key);
	assert_string_equal(s->orgs[0].ca->tls_cert, "tlsca.pem");
	lf_spec_free(s);
	lf_diags_free(&d);
	/* the TLS CA's certificate is needed too */
	EXPECT_AT(KL_HEAD "    ca: {cert: ca.pem}\n    admin: offline\n"
		  "    admin_cert: a.pem\n", 5, 9, "needs 'tls_cert' too");
	/* one key without the other */
	EXPECT_AT(KL_HEAD "    ca: {cert: ca.pem, tls_cert: t.pem, tls_key: t.key}\n"
		  "    admin: offline\n    admin_cert: a.pem\n", 5, 41,
		  "'tls_key' without 'key'");
	/* a Fabric CA server signs with the key */
	EXPECT_AT(KL_HEAD "    ca: {cert: ca.pem, tls_cert: t.pem, server: true}\n"
		  "    admin: offline\n    admin_cert: a.pem\n", 5, 49,
		  "server: true needs the CA's key");
	/* a local admin (the default, or said) needs the CA key */
	EXPECT_AT(KL_HEAD "    ca: {cert: ca.pem, tls_cert: t.pem}\n", 5, 5,
		  "needs 'admin: offline' with admin_cert");
	EXPECT_AT(KL_HEAD "    ca: {cert: ca.pem, tls_cert: t.pem}\n    admin: local\n", 6, 12,
		  "needs 'admin: offline' with admin_cert");
	/* admin_csr: ledgerform would issue the admin's certificate */
	EXPECT_AT(KL_HEAD "    ca: {cert: ca.pem, tls_cert: t.pem}\n    admin: offline\n"
		  "    admin_csr: a.csr\n", 7, 5, "admin_csr needs the org's CA key");
	/* orderers: an offline admin cannot join them */
	EXPECT(KL_HEAD "    ca: {cert: ca.pem, tls_cert: t.pem}\n    admin: offline\n"
	       "    admin_cert: a.pem\n    orderers: {count: 1}\n",
	       "admin: offline is not supported for an org with orderers");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_good_model),
		cmocka_unit_test(test_spec_defaults),
		cmocka_unit_test(test_spec_kafka),
		cmocka_unit_test(test_spec_names),
		cmocka_unit_test(test_spec_scalars),
		cmocka_unit_test(test_spec_diags_print),
		cmocka_unit_test(test_spec_missing_file),
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_spec_quickstart),
		cmocka_unit_test(test_spec_sizes_template),
		cmocka_unit_test(test_spec_bad_corpus),
		cmocka_unit_test(test_spec_hostile),
		cmocka_unit_test(test_spec_mutations),
		cmocka_unit_test(test_spec_big),
		cmocka_unit_test(test_spec_no_quadratic),
		cmocka_unit_test(test_spec_ca_server),
		cmocka_unit_test(test_spec_ca_keyless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
