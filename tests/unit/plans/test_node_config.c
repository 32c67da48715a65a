/*
 * A node's own config: every key rendered into core.yaml / orderer.yaml
 * is one of Fabric's (checked against the sample config of the Fabric
 * binaries, both parsed with libyaml), every path is absolute below the
 * host root, ports are the plan's, values cannot break out of their
 * quotes, and run.sh starts the node with nothing of the caller's
 * environment (a CORE_PEER_ID set here does not reach it).
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
#include <yaml.h>

#include "core/util/util.h"
#include "plans/node_config.h"
#include "plans/node_files.h"

#define ROOT "/srv/lf/hosts/peer0-org1"

/* ---- key paths and values of a YAML document ---- */

struct kv {
	char **key, **val;     /* "peer.tls.cert.file", scalar value or NULL */
	size_t n, cap;
};

static void kv_add(struct kv *s, const char *key, const char *val)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->key = realloc(s->key, s->cap * sizeof(char *));
		s->val = realloc(s->val, s->cap * sizeof(char *));
	}
	s->key[s->n] = strdup(key);
	s->val[s->n++] = val ? strdup(val) : NULL;
}

static void kv_free(struct kv *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->key[i]);
		free(s->val[i]);
	}
	free(s->key);
	free(s->val);
}

/* the key's scalar value; "" for a key holding a map or list, or null */
static const char *kv_get(const struct kv *s, const char *key)
{
	const char *found = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->key[i], key) == 0) {
			if (s->val[i])
				return s->val[i];
			found = "";
		}
	return found;
}

static void walk(yaml_document_t *d, yaml_node_t *n, const char *path, struct kv *out)
{
	char sub[512];

	if (n->type == YAML_SCALAR_NODE) {
		kv_add(out, path, (const char *)n->data.scalar.value);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		snprintf(sub, sizeof(sub), "%s[]", path);
		kv_add(out, sub, NULL);
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++)
			walk(d, yaml_document_get_node(d, *i), sub, out);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);

			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "",
				 (const char *)k->data.scalar.value);
			kv_add(out, sub, NULL);
			walk(d, yaml_document_get_node(d, p->value), sub, out);
		}
	}
}

static void parse(const char *text, struct kv *out)
{
	yaml_parser_t p;
	yaml_document_t d;

	memset(out, 0, sizeof(*out));
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	assert_true(yaml_parser_load(&p, &d));
	assert_non_null(yaml_document_get_root_node(&d));
	walk(&d, yaml_document_get_root_node(&d), "", out);
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
}

/* ---- fixtures ---- */

static json_t *peer_attrs(void)
{
	return json_pack("{ss ss ss ss ss ss si si si si}", "kind", "peer", "mspid",
			 "Org1MSP", "hostname", "peer0.org1.example.com", "domain",
			 "org1.example.com", "address", "127.0.0.1", "listen_host",
			 "127.0.0.1", "port", 7151, "chaincode_port", 7152,
			 "operations_port", 9450, "admin_port", 7153);
}

static json_t *orderer_attrs(void)
{
	return json_pack("{ss ss ss ss ss ss si si si}", "kind", "orderer", "mspid",
			 "OrdererMSP", "hostname", "orderer1.example.com", "domain",
			 "example.com", "address", "127.0.0.1", "listen_host", "127.0.0.1",
			 "port", 7060, "operations_port", 8460, "admin_port", 7063);
}

/* the config as run.sh makes it on a machine whose host root is ROOT */
static char *render_at_root(const json_t *attrs)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_buf b = LF_BUF_INIT;
	char *text = NULL, *p, *at;

	assert_int_equal(lf_node_config_render(attrs, &text, &err), 0);
	for (p = text; (at = strstr(p, LF_NODE_ROOT_TOKEN)) != NULL;
	     p = at + strlen(LF_NODE_ROOT_TOKEN)) {
		lf_buf_append(&b, p, (size_t)(at - p));
		lf_buf_append(&b, ROOT, strlen(ROOT));
	}
	lf_buf_append(&b, p, strlen(p) + 1);
	free(text);
	return b.data;
}

/* Fabric's sample config dir: next to FABRIC_BIN, else the shared copy */
static char *sample_dir(void)
{
	const char *bin = getenv("FABRIC_BIN");
	char *d = bin && *bin ? lf_xasprintf("%s/../config", bin)
			      : lf_xstrdup(LF_SOURCE_DIR "/../shared/fabric/2.5.5/config");
	char *f = lf_path_join(d, "core.yaml");
	bool ok = lf_path_exists(f);

	free(f);
	if (!ok) {
		free(d);
		return NULL;
	}
	return d;
}

/* keys Fabric reads that its sample config only shows commented out;
 * the check below makes sure the sample really shows them so */
static const char *const commented_keys[] = {
	"peer.chaincodeListenAddress", "peer.chaincodeAddress",
};

static bool commented_in_sample(const char *key, const char *sample_text)
{
	const char *leaf = strrchr(key, '.') + 1;
	char pat[128];

	for (size_t i = 0; i < sizeof(commented_keys) / sizeof(*commented_keys); i++)
		if (strcmp(key, commented_keys[i]) == 0) {
			snprintf(pat, sizeof(pat), "# %s:", leaf);
			return strstr(sample_text, pat) != NULL;
		}
	return false;
}

static void check_keys(const json_t *attrs, const char *sample_file)
{
	char *dir = sample_dir(), *path, *sample_text = NULL, *text;
	struct lf_err err = LF_ERR_INIT;
	struct kv got, sample;
	size_t len;

	if (!dir) {
		print_message("skipped: Fabric's sample config not found (set FABRIC_BIN)\n");
		skip();
	}
	path = lf_path_join(dir, sample_file);
	assert_int_equal(lf_read_file(path, &sample_text, &len, &err), 0);
	text = render_at_root(attrs);
	parse(text, &got);
	parse(sample_text, &sample);
	assert_true(got.n > 40);
	for (size_t i = 0; i < got.n; i++) {
		if (kv_get(&sample, got.key[i]) || commented_in_sample(got.key[i], sample_text))
			continue;
		fail_msg("rendered key '%s' is not in Fabric's sample %s", got.key[i], sample_file);
	}
	kv_free(&got);
	kv_free(&sample);
	free(text);
	free(sample_text);
	free(path);
	free(dir);
}

static void test_node_config_keys_in_sample(void **state)
{
	json_t *p = peer_attrs(), *o = orderer_attrs();

	(void)state;
	check_keys(p, "core.yaml");
	check_keys(o, "orderer.yaml");
	json_decref(p);
	json_decref(o);
}

/* every value that is a path is absolute and inside the host root */
static void check_paths(const json_t *attrs, size_t min_paths)
{
	char *text = render_at_root(attrs);
	struct kv got;
	size_t paths = 0;

	parse(text, &got);
	for (size_t i = 0; i < got.n; i++) {
		const char *v = got.val[i];

		if (!v || !strchr(v, '/'))
			continue;
		paths++;
		if (strncmp(v, ROOT "/", strlen(ROOT) + 1) != 0)
			fail_msg("%s: '%s' is not a path below the host root", got.key[i], v);
		assert_null(strstr(v, "/../"));
	}
	assert_true(paths >= min_paths);
	assert_null(strstr(text, "/var/hyperledger"));
	kv_free(&got);
	free(text);
}

static void test_node_config_paths_absolute(void **state)
{
	json_t *p = peer_attrs(), *o = orderer_attrs();
	char *text = render_at_root(p);
	struct kv got;

	(void)state;
	check_paths(p, 8);
	check_paths(o, 10);
	parse(text, &got);
	assert_string_equal(kv_get(&got, "peer.mspConfigPath"), ROOT "/fabric/msp");
	assert_string_equal(kv_get(&got, "peer.fileSystemPath"), ROOT "/data/peer");
	assert_string_equal(kv_get(&got, "ledger.snapshots.rootDir"), ROOT "/data/snapshots");
	assert_string_equal(kv_get(&got, "vm.endpoint"), "");
	kv_free(&got);
	free(text);
	json_decref(p);
	json_decref(o);
}

static void test_node_config_ports_from_plan(void **state)
{
	json_t *p = peer_attrs(), *o = orderer_attrs();
	char *pt = render_at_root(p), *ot = render_at_root(o);
	struct kv pk, ok;

	(void)state;
	parse(pt, &pk);
	parse(ot, &ok);
	assert_string_equal(kv_get(&pk, "peer.listenAddress"), "127.0.0.1:7151");
	assert_string_equal(kv_get(&pk, "peer.address"), "127.0.0.1:7151");
	assert_string_equal(kv_get(&pk, "peer.chaincodeListenAddress"), "127.0.0.1:7152");
	assert_string_equal(kv_get(&pk, "peer.gossip.externalEndpoint"), "127.0.0.1:7151");
	assert_string_equal(kv_get(&pk, "operations.listenAddress"), "127.0.0.1:9450");
	assert_string_equal(kv_get(&pk, "peer.localMspId"), "Org1MSP");
	assert_string_equal(kv_get(&ok, "General.ListenAddress"), "127.0.0.1");
	assert_string_equal(kv_get(&ok, "General.ListenPort"), "7060");
	assert_string_equal(kv_get(&ok, "Admin.ListenAddress"), "127.0.0.1:7063");
	assert_string_equal(kv_get(&ok, "Operations.ListenAddress"), "127.0.0.1:8460");
	assert_string_equal(kv_get(&ok, "General.BootstrapMethod"), "none");
	assert_string_equal(kv_get(&ok, "ChannelParticipation.Enabled"), "true");
	kv_free(&pk);
	kv_free(&ok);
	free(pt);
	free(ot);
	json_decref(p);
	json_decref(o);
}

/* a value is data: quotes, backslashes and newlines cannot add keys */
static void test_node_config_values_escaped(void **state)
{
	const char *evil = "Org1\"\nvm:\n  endpoint: tcp://evil\\\" #";
	json_t *p = peer_attrs();
	struct lf_tmpl_var v[] = { { "n", "12a" } };
	struct lf_err err = LF_ERR_INIT;
	char *text, *out = NULL;
	struct kv got;

	(void)state;
	json_object_set_new(p, "mspid", json_string(evil));
	text = render_at_root(p);
	parse(text, &got);
	assert_string_equal(kv_get(&got, "peer.localMspId"), evil);
	assert_string_equal(kv_get(&got, "vm.endpoint"), "");
	kv_free(&got);
	free(text);
	/* outside quotes only integers */
	assert_int_equal(lf_tmpl_render("port: {{n}}\n", v, 1, &out, &err), LF_EINVALID);
	assert_null(out);
	assert_int_equal(lf_tmpl_render("port: {{m}}\n", v, 1, &out, &err), LF_EINVALID);
	v[0].value = "7050";
	assert_int_equal(lf_tmpl_render("port: {{n}}\n", v, 1, &out, &err), 0);
	assert_string_equal(out, "port: 7050\n");
	free(out);
	json_decref(p);
}

/* ---- run.sh on a machine ---- */

static void write_bundle(const char *root, const struct lf_node_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		char *p = lf_path_join(root, f->v[i].path), *d = lf_path_dirname(p);

		assert_int_equal(lf_mkdirs(d, 0700, NULL), 0);
		assert_int_equal(lf_write_file_atomic(p, f->v[i].data, f->v[i].len,
						      f->v[i].mode, NULL), 0);
		free(d);
		free(p);
	}
}

/* a fake `peer` that records what it was started with */
static const char FAKE_PEER[] =
	"#!/bin/sh\nenv >\"$FABRIC_CFG_PATH/../seen.env\"\n"
	"echo \"$@\" >\"$FABRIC_CFG_PATH/../seen.args\"\n";

static void test_node_config_run_sh_clean_env(void **state)
{
	char dir[] = "/tmp/lf-nc-XXXXXX";
	struct lf_node_files files = { 0 };
	struct lf_apply_env env = { 0 };
	struct lf_err err = LF_ERR_INIT;
	struct lf_resource res = { 0 };
	char *root, *bin, *cmd, *seen, *cfg, *want;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	root = lf_path_join(dir, "hosts/peer0");
	bin = lf_path_join(dir, "bin");
	res.addr = "node.org1.peer0";
	res.type = "node";
	res.attrs = peer_attrs();
	env.crypto_dir = dir;
	assert_int_equal(lf_node_files_collect(&env, &res, NULL, &files, &err), 0);
	write_bundle(root, &files);
	cmd = lf_path_join(bin, "peer");
	assert_int_equal(lf_mkdirs(bin, 0700, NULL), 0);
	assert_int_equal(lf_write_file_atomic(cmd, FAKE_PEER, strlen(FAKE_PEER), 0755, NULL), 0);
	free(cmd);
	/* the controller's environment has Fabric overrides of its own */
	setenv("CORE_PEER_ID", "leaked-from-the-controller", 1);
	setenv("CORE_PEER_MSPCONFIGPATH", "/controller/msp", 1);
	setenv("FABRIC_CFG_PATH", "/controller/config", 1);
	cmd = lf_xasprintf("FABRIC_BIN=%s sh %s/fabric/run.sh", bin, root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	unsetenv("CORE_PEER_ID");
	unsetenv("CORE_PEER_MSPCONFIGPATH");
	unsetenv("FABRIC_CFG_PATH");
	cmd = lf_path_join(root, "fabric/seen.env");
	assert_int_equal(lf_read_file(cmd, &seen, &len, &err), 0);
	free(cmd);
	assert_null(strstr(seen, "CORE_"));
	assert_null(strstr(seen, "controller"));
	want = lf_xasprintf("FABRIC_CFG_PATH=%s/fabric/config\n", root);
	assert_non_null(strstr(seen, want));
	free(want);
	free(seen);
	cmd = lf_path_join(root, "fabric/seen.args");
	assert_int_equal(lf_read_file(cmd, &seen, &len, &err), 0);
	assert_string_equal(seen, "node start\n");
	free(seen);
	free(cmd);
	/* the config the node read has the root in every path */
	cmd = lf_path_join(root, "fabric/config/core.yaml");
	assert_int_equal(lf_read_file(cmd, &cfg, &len, &err), 0);
	assert_null(strstr(cfg, LF_NODE_ROOT_TOKEN));
	want = lf_xasprintf("mspConfigPath: \"%s/fabric/msp\"", root);
	assert_non_null(strstr(cfg, want));
	free(want);
	free(cfg);
	free(cmd);
	lf_node_files_free(&files);
	json_decref(res.attrs);
	lf_rmtree(dir, NULL);
	free(root);
	free(bin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_config_keys_in_sample),
		cmocka_unit_test(test_node_config_paths_absolute),
		cmocka_unit_test(test_node_config_ports_from_plan),
		cmocka_unit_test(test_node_config_values_escaped),
		cmocka_unit_test(test_node_config_run_sh_clean_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
