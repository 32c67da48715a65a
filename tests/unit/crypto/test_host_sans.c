/*
 * A node on a machine a provider makes: its identity takes its host's
 * address outputs as TLS SANs (attrs "host_sans", filled by the crypto
 * type's resolve from the host's outputs, or "(known after apply)" while
 * the plan remakes the host), and the certificate issued from them names
 * the address as an IP SAN; a new address re-issues it with the same key.
 * A node on a machine given by address takes nothing from its host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/fabric/crypto/crypto.h"
#include "core/util/util.h"
#include "fixture.h"

#define PEER0_TLS "peerOrganizations/bank.example.com/peers/peer0.bank.example.com/tls/"

/* bank: peer0 on a provider's machine, peer1 on one given by address */
static struct lf_spec *spec_cloud(void)
{
	struct lf_spec *s = fx_spec_new("cloud");
	size_t b = fx_add_org(s, "bank", NULL, 0);

	fx_add_node(s, b, LF_NODE_PEER, "peer0", NULL)->machine = NULL;
	fx_add_node(s, b, LF_NODE_PEER, "peer1", "10.1.2.3");
	return s;
}

static struct lf_rset *expand(const struct lf_spec *s)
{
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_rset_new(&rs), 0);
	assert_int_equal(lf_crypto_expand(s, rs, &err), 0);
	return rs;
}

static bool has_dep(const struct lf_resource *r, const char *dep)
{
	for (size_t i = 0; i < r->ndeps; i++)
		if (strcmp(r->deps[i], dep) == 0)
			return true;
	return false;
}

/* a current set holding host.bank.peer0 with these outputs */
static struct lf_rset *hosts_with(const char *outputs_json)
{
	struct lf_rset *rs = NULL;
	struct lf_resource *h;

	assert_int_equal(lf_rset_new(&rs), 0);
	h = lf_rset_add(rs, "host.bank.peer0", json_pack("{s:s}", "driver", "sim"));
	h->outputs = json_loads(outputs_json, 0, NULL);
	assert_non_null(h->outputs);
	return rs;
}

/* resolve r against env; the new attrs (NULL: unchanged) */
static json_t *resolve(const struct lf_apply_env *env, const struct lf_resource *r,
		       const json_t *fresh)
{
	return lf_rtype_crypto.resolve(env, r, fresh);
}

static void test_expand_outputs_from_only_for_provider_machines(void **state)
{
	struct lf_spec *s = spec_cloud();
	struct lf_rset *rs = expand(s);
	const struct lf_resource *p0 = lf_rset_get(rs, "crypto.bank.peer0");
	const struct lf_resource *p1 = lf_rset_get(rs, "crypto.bank.peer1");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(p0->attrs, LF_OUTPUTS_FROM)),
			    "host.bank.peer0");
	assert_true(has_dep(p0, "host.bank.peer0"));
	assert_int_equal(p0->ndeps, 3);
	/* nothing known yet: no host_sans until the plan resolves them */
	assert_null(json_object_get(p0->attrs, "host_sans"));
	assert_null(json_object_get(p1->attrs, LF_OUTPUTS_FROM));
	assert_int_equal(p1->ndeps, 2);
	lf_rset_free(rs);
	fx_spec_free(s);
}

static void test_resolve_from_outputs(void **state)
{
	struct lf_spec *s = spec_cloud();
	struct lf_rset *rs = expand(s);
	struct lf_rset *cur = hosts_with("{\"id\": \"sim-1\", \"machine_address\": \"10.9.8.7\"}");
	struct lf_apply_env env;
	struct lf_resource *p0 = lf_rset_get(rs, "crypto.bank.peer0");
	json_t *a, *fresh = json_pack("{s:b}", "host.bank.peer0", 1);
	char *dump;

	(void)state;
	memset(&env, 0, sizeof(env));
	env.desired = rs;
	env.current = cur;
	/* the recorded host's address */
	a = resolve(&env, p0, NULL);
	assert_non_null(a);
	dump = json_dumps(json_object_get(a, "host_sans"), JSON_COMPACT);
	assert_string_equal(dump, "[\"10.9.8.7\"]");
	free(dump);
	/* the same address again: nothing to change */
	json_decref(p0->attrs);
	p0->attrs = a;
	assert_null(resolve(&env, p0, NULL));
	/* a host this plan remakes: known after apply */
	a = resolve(&env, p0, fresh);
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "host_sans")),
			    LF_KNOWN_AFTER_APPLY);
	json_decref(a);
	/* this apply's outputs come before the state's */
	lf_rset_add(rs, "host.bank.peer0", json_pack("{s:s}", "driver", "sim"))->outputs =
		json_pack("{s:s}", "machine_address", "10.9.8.9");
	p0 = lf_rset_get(rs, "crypto.bank.peer0"); /* the set may have moved */
	a = resolve(&env, p0, NULL);
	assert_non_null(a);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "host_sans"), 0)),
			    "10.9.8.9");
	json_decref(a);
	/* a node on a machine given by address takes nothing */
	assert_null(resolve(&env, lf_rset_get(rs, "crypto.bank.peer1"), fresh));
	json_decref(fresh);
	lf_rset_free(cur);
	lf_rset_free(rs);
	fx_spec_free(s);
}

static void test_resolve_skips_addresses_the_spec_names(void **state)
{
	struct lf_spec *s = spec_cloud();
	struct lf_rset *rs = expand(s);
	/* no address, or only one the spec's SANs name already */
	struct lf_rset *none = hosts_with("{\"id\": \"sim-1\"}");
	struct lf_rset *named = hosts_with("{\"machine_address\": \"peer0.bank.example.com\"}");
	struct lf_apply_env env;
	const struct lf_resource *p0 = lf_rset_get(rs, "crypto.bank.peer0");

	(void)state;
	memset(&env, 0, sizeof(env));
	env.current = none;
	assert_null(resolve(&env, p0, NULL));
	env.current = named;
	assert_null(resolve(&env, p0, NULL));
	lf_rset_free(none);
	lf_rset_free(named);
	lf_rset_free(rs);
	fx_spec_free(s);
}

/* the IP SANs of the PEM certificate at path, comma separated */
static char *ip_sans(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	struct lf_buf b = LF_BUF_INIT;

	if (f)
		fclose(f);
	assert_non_null(x);
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *ip;

		if (g->type != GEN_IPADD || ASN1_STRING_length(g->d.iPAddress) != 4)
			continue;
		ip = ASN1_STRING_get0_data(g->d.iPAddress);
		lf_buf_printf(&b, "%s%u.%u.%u.%u", b.len ? "," : "", ip[0], ip[1], ip[2], ip[3]);
	}
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return b.data ? b.data : lf_xstrdup("");
}

static void create(const struct lf_apply_env *env, const struct lf_resource *r)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *out = NULL;

	if (lf_rtype_crypto.create(env, r, &out, &err) != 0)
		fail_msg("%s: %s", r->addr, err.msg);
	json_decref(out);
}

static void set_host_sans(struct lf_resource *r, json_t *v)
{
	json_object_set_new(r->attrs, "host_sans", v);
	lf_resource_rehash(r);
}

static void test_issued_with_host_address(void **state)
{
	struct lf_spec *s = spec_cloud();
	struct lf_rset *rs = expand(s);
	struct lf_resource *p0 = lf_rset_get(rs, "crypto.bank.peer0");
	char *dir = lf_xasprintf("%s/tmp-hostsans-XXXXXX", LF_BINARY_DIR), *crt, *key;
	char *k1 = NULL, *k2 = NULL, *ips;
	struct lf_apply_env env;
	struct lf_err err = LF_ERR_INIT;
	json_t *out = NULL;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&env, 0, sizeof(env));
	env.crypto_dir = dir;
	env.desired = rs;
	crt = lf_path_join(dir, PEER0_TLS "server.crt");
	key = lf_path_join(dir, PEER0_TLS "server.key");
	create(&env, lf_rset_get(rs, "crypto.bank.ca"));
	create(&env, lf_rset_get(rs, "crypto.bank.tlsca"));
	/* SANs not known yet: refused, nothing issued */
	set_host_sans(p0, json_string(LF_KNOWN_AFTER_APPLY));
	assert_int_equal(lf_rtype_crypto.create(&env, p0, &out, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "known after"));
	assert_false(lf_path_exists(crt));
	/* the host's address as an IP SAN */
	set_host_sans(p0, json_pack("[s]", "10.9.8.7"));
	create(&env, p0);
	ips = ip_sans(crt);
	assert_string_equal(ips, "10.9.8.7");
	free(ips);
	assert_int_equal(lf_read_file(key, &k1, &len, &err), 0);
	/* a new address: the certificate is re-issued for the same key */
	set_host_sans(p0, json_pack("[s]", "10.9.8.8"));
	assert_int_equal(lf_rtype_crypto.update(&env, p0, p0, &out, &err), 0);
	json_decref(out);
	ips = ip_sans(crt);
	assert_string_equal(ips, "10.9.8.8");
	free(ips);
	assert_int_equal(lf_read_file(key, &k2, &len, &err), 0);
	assert_string_equal(k1, k2);
	lf_free_secret(k1, strlen(k1));
	lf_free_secret(k2, strlen(k2));
	assert_int_equal(lf_rmtree(dir, &err), 0);
	free(crt);
	free(key);
	free(dir);
	lf_rset_free(rs);
	fx_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_outputs_from_only_for_provider_machines),
		cmocka_unit_test(test_resolve_from_outputs),
		cmocka_unit_test(test_resolve_skips_addresses_the_spec_names),
		cmocka_unit_test(test_issued_with_host_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
