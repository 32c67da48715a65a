/*
 * An `admin: offline` org's admin (spec: admin_csr or admin_cert): its
 * identity in the crypto tree without a private key. Keys and requests
 * are made by the test with the real `openssl` binary (the admin's own
 * machine); the issued certificate is checked with `openssl verify`,
 * OpenSSL's API and Fabric's own JavaScript MSP code (tests/node
 * check-msp.js, when installed); `ledgerform sign` signs with the admin's
 * own msp folder (their key, the issued certificate); plans show an
 * edited request as an update and a switch local <-> offline as a
 * replace with a note.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "core/fabric/crypto/crypto.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/plan.h"

#define ORG2 "peerOrganizations/org2.example.com"
#define ADMIN2 ORG2 "/users/Admin@org2.example.com"
#define SIGNCERT2 ADMIN2 "/msp/signcerts/Admin@org2.example.com-cert.pem"

static char dir[] = "/tmp/lf-admin-offline-XXXXXX";

static int sh(const char *fmt, ...) LF_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd = NULL;
	int rc;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *readf(const char *rel)
{
	char *p = lf_path_join(dir, rel), *data = NULL;
	size_t len = 0;
	struct lf_err err = LF_ERR_INIT;

	if (lf_read_file(p, &data, &len, &err) != 0)
		fail_msg("%s", err.msg);
	free(p);
	return data;
}

static void writef(const char *rel, const char *text)
{
	char *p = lf_path_join(dir, rel);
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_write_file_atomic(p, text, strlen(text), 0644, &err), 0);
	free(p);
}

static bool exists(const char *rel)
{
	char *p = lf_path_join(dir, rel);
	bool ok = lf_path_exists(p);

	free(p);
	return ok;
}

/* the admin's machine: a P-256 key home/NAME.key and a request
 * home/NAME.csr whose subject is not what the certificate will say */
static void make_csr(const char *name)
{
	assert_int_equal(sh("cd '%s' && mkdir -p home && openssl ecparam -genkey -name "
			    "prime256v1 -noout -out home/%s.key && openssl req -new -key "
			    "home/%s.key -subj '/OU=client/CN=Mallory' -out home/%s.csr",
			    dir, name, name, name), 0);
}

/* the spec: org2's admin as given (admin_line: "" for local) */
static struct lf_spec *spec_with(const char *admin_lines)
{
	char *text = lf_xasprintf("name: net\norgs:\n"
				  "  - {name: ord, orderers: {count: 1}}\n"
				  "  - {name: org1, peers: {count: 1}}\n"
				  "  - name: org2\n%s    peers: {count: 1}\n", admin_lines);
	char *path = lf_path_join(dir, "net.yaml");
	struct lf_spec *s = NULL;
	struct lf_diags d;

	writef("net.yaml", text);
	memset(&d, 0, sizeof(d));
	if (lf_spec_load(&s, path, &d) != 0)
		lf_diags_print(&d, stdout);
	assert_non_null(s);
	lf_diags_free(&d);
	free(text);
	free(path);
	return s;
}

#define CSR_LINES(f) "    admin: offline\n    admin_csr: home/" f "\n"

static void render(const char *admin_lines)
{
	struct lf_spec *s = spec_with(admin_lines);
	struct lf_err err = LF_ERR_INIT;
	char *out = lf_path_join(dir, "crypto");

	if (lf_crypto_render(s, out, 1, &err) != 0)
		fail_msg("render: %s", err.msg);
	free(out);
	lf_spec_free(s);
}

/* files under ROOT that hold a private key, counted by where they are */
static size_t keys_in_admin, keys_elsewhere;

static int key_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	char *data = NULL;
	size_t len = 0;

	(void)st;
	(void)f;
	if (flag != FTW_F || lf_read_file(path, &data, &len, NULL) != 0)
		return 0;
	if (strstr(data, "PRIVATE KEY"))
		(strstr(path, "/users/Admin@") ? &keys_in_admin : &keys_elsewhere)[0]++;
	free(data);
	return 0;
}

static void count_keys(const char *rel)
{
	char *p = lf_path_join(dir, rel);

	keys_in_admin = keys_elsewhere = 0;
	assert_int_equal(nftw(p, key_cb, 16, FTW_PHYS), 0);
	free(p);
}

/* the CSR's public key is the certificate's */
static void assert_same_pub(const char *csr_rel, const char *cert_rel)
{
	assert_int_equal(sh("cd '%s' && openssl req -in %s -pubkey -noout > a.pub && "
			    "openssl x509 -in %s -pubkey -noout > b.pub && cmp -s a.pub b.pub",
			    dir, csr_rel, cert_rel), 0);
}

static void test_offline_csr_issues_cert(void **state)
{
	char *subj, *cert, *again;
	int rc;

	(void)state;
	make_csr("admin");
	/* org2 local first: its admin's key and TLS pair are made here */
	render("");
	assert_true(exists("crypto/" ADMIN2 "/msp/keystore/priv_sk"));
	assert_true(exists("crypto/" ADMIN2 "/tls/client.key"));
	/* offline: the certificate over the request's key, no key here */
	render(CSR_LINES("admin.csr"));
	assert_int_equal(sh("cd '%s/crypto/%s' && openssl verify -CAfile ca/ca.org2.example.com-cert.pem "
			    "users/Admin@org2.example.com/msp/signcerts/*.pem >/dev/null", dir, ORG2), 0);
	assert_same_pub("home/admin.csr", "crypto/" SIGNCERT2);
	assert_int_equal(sh("cd '%s' && openssl x509 -in crypto/%s -noout -subject -nameopt RFC2253 "
			    "> subj.txt", dir, SIGNCERT2), 0);
	subj = readf("subj.txt");
	assert_non_null(strstr(subj, "CN=Admin@org2.example.com,OU=admin,"));
	assert_null(strstr(subj, "Mallory"));
	free(subj);
	count_keys("crypto/" ORG2);
	assert_int_equal(keys_in_admin, 0);
	assert_true(keys_elsewhere > 0); /* the CAs' and the peer's keys */
	assert_false(exists("crypto/" ADMIN2 "/msp/keystore/priv_sk"));
	assert_true(exists("crypto/" ADMIN2 "/msp/keystore"));
	assert_false(exists("crypto/" ADMIN2 "/tls/client.key"));
	assert_false(exists("crypto/" ADMIN2 "/tls/client.crt"));
	assert_true(exists("crypto/" ADMIN2 "/tls/ca.crt"));
	assert_true(exists("crypto/" ADMIN2 "/msp/config.yaml"));
	assert_true(exists("crypto/" ADMIN2 "/msp/cacerts/ca.org2.example.com-cert.pem"));
	assert_true(exists("crypto/" ADMIN2 "/msp/tlscacerts/tlsca.org2.example.com-cert.pem"));
	/* org1 is local: as before */
	assert_true(exists("crypto/peerOrganizations/org1.example.com/users/"
			   "Admin@org1.example.com/msp/keystore/priv_sk"));
	/* rendering again keeps the certificate */
	cert = readf("crypto/" SIGNCERT2);
	render(CSR_LINES("admin.csr"));
	again = readf("crypto/" SIGNCERT2);
	assert_string_equal(cert, again);
	free(again);
	free(cert);
	make_csr("other");
	/* Fabric's MSP code, on a copy where the admin's key is in its keystore
	 * (the admin's own machine) */
	if (sh("command -v node >/dev/null") != 0) {
		print_message("node not found: Fabric's MSP check skipped\n");
		return;
	}
	assert_int_equal(sh("cd '%s' && rm -rf fab && cp -r crypto/%s fab && cp home/admin.key "
			    "fab/users/Admin@org2.example.com/msp/keystore/priv_sk", dir, ORG2), 0);
	rc = sh("node '%s/tests/node/check-msp.js' '%s/fab' Org2MSP --offline-admin",
		LF_SOURCE_DIR, dir);
	if (rc == 77) {
		print_message("fabric-common not installed (tests/node): Fabric's MSP check skipped\n");
		return;
	}
	assert_int_equal(rc, 0);
	/* another key than the request's: Fabric's code sees the mismatch */
	assert_int_equal(sh("cp '%s/home/other.key' '%s/fab/users/Admin@org2.example.com/msp/"
			    "keystore/priv_sk'", dir, dir), 0);
	assert_int_equal(sh("node '%s/tests/node/check-msp.js' '%s/fab' Org2MSP --offline-admin "
			    "2>/dev/null", LF_SOURCE_DIR, dir), 1);
}

/* `ledgerform sign FILE --msp DIR` with the admin's own msp folder: their
 * key and the issued certificate */
static void test_offline_sign_with_own_msp(void **state)
{
	char *cert = readf("crypto/" SIGNCERT2), *text, *after;
	json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
			      "ledgerform", "chaincode-approval", "resource",
			      "cc_approve.cc.ch.org2", "round", (json_int_t)1, "what",
			      "the approval proposal", "mspid", "Org2MSP", "channel",
			      "ch", "chaincode", "cc", "sequence", (json_int_t)1,
			      "version", "1", "creator", cert, "sign", "aGVsbG8=");

	(void)state;
	text = json_dumps(j, JSON_INDENT(2));
	writef("approval.json", text);
	assert_int_equal(sh("cd '%s' && rm -rf own && mkdir own && cp -r crypto/%s/msp own/ && "
			    "cp home/other.key own/msp/keystore/priv_sk", dir, ADMIN2), 0);
	/* the wrong key: refused, the file as it was */
	assert_int_not_equal(sh("cd '%s' && '%s/ledgerform' sign approval.json --msp own/msp "
				">sign.out 2>&1", dir, LF_BINARY_DIR), 0);
	after = readf("approval.json");
	assert_string_equal(after, text);
	free(after);
	/* the admin's own key */
	assert_int_equal(sh("cp '%s/home/admin.key' '%s/own/msp/keystore/priv_sk'", dir, dir), 0);
	if (sh("cd '%s' && '%s/ledgerform' sign approval.json --msp own/msp >sign.out 2>&1",
	       dir, LF_BINARY_DIR) != 0) {
		after = readf("sign.out");
		fail_msg("sign: %s", after);
	}
	after = readf("approval.json");
	json_decref(j);
	j = json_loads(after, 0, NULL);
	assert_non_null(j);
	assert_non_null(json_string_value(json_object_get(j, "signature")));
	json_decref(j);
	free(after);
	free(text);
	free(cert);
}

/* ---- plans --------------------------------------------------------- */

/* crypto resources of the spec, applied (create) or only expanded */
static struct lf_rset *expand(const char *admin_lines, struct lf_spec **sp)
{
	struct lf_spec *s = spec_with(admin_lines);
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_rset_new(&rs), 0);
	if (lf_crypto_expand(s, rs, &err) != 0)
		fail_msg("expand: %s", err.msg);
	if (sp)
		*sp = s;
	else
		lf_spec_free(s);
	return rs;
}

/* the expand error for these admin lines */
static char *expand_error(const char *admin_lines)
{
	struct lf_spec *s = spec_with(admin_lines);
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;
	char *msg = NULL;

	assert_int_equal(lf_rset_new(&rs), 0);
	if (lf_crypto_expand(s, rs, &err) != 0)
		msg = lf_xstrdup(err.msg);
	lf_rset_free(rs);
	lf_spec_free(s);
	return msg;
}

static void env_init(struct lf_apply_env *env, char *cdir)
{
	memset(env, 0, sizeof(*env));
	env->crypto_dir = cdir;
}

/* create every resource of rs (in order: CAs first): the new state
 * (old is freed) */
static struct lf_rset *apply_all(const struct lf_apply_env *env,
				 const struct lf_rset *rs, struct lf_rset *old)
{
	struct lf_rset *cur = NULL;

	lf_rset_free(old);
	assert_int_equal(lf_rset_new(&cur), 0);
	for (size_t i = 0; i < rs->n; i++) {
		const struct lf_resource *d = &rs->v[i];
		struct lf_resource *c;
		struct lf_err err = LF_ERR_INIT;
		json_t *o = NULL;

		if (lf_rtype_crypto.create(env, d, &o, &err) != 0)
			fail_msg("create %s: %s", d->addr, err.msg);
		c = lf_rset_add(cur, d->addr, json_deep_copy(d->attrs));
		c->outputs = o;
	}
	return cur;
}

static struct lf_plan *plan_of(struct lf_apply_env *env, struct lf_rset *des,
			       const struct lf_rset *cur)
{
	struct lf_plan *p = NULL;
	struct lf_err err = LF_ERR_INIT;

	env->desired = des;
	env->current = cur;
	if (lf_plan_make(&p, env, des, cur, NULL, &err) != 0)
		fail_msg("plan: %s", err.msg);
	return p;
}

static const struct lf_action *action(const struct lf_plan *p, const char *addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].addr, addr) == 0)
			return &p->v[i];
	fail_msg("no action for %s", addr);
	return NULL;
}

/* update crypto.org2.admin from cur to des: its certificate is for the
 * key of the request csr_rel */
static void update_issues(const struct lf_apply_env *env, const struct lf_rset *cur,
			  const struct lf_rset *des, const char *csr_rel)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *o = NULL;

	if (lf_rtype_crypto.update(env, lf_rset_get(cur, "crypto.org2.admin"),
				   lf_rset_get(des, "crypto.org2.admin"), &o, &err) != 0)
		fail_msg("update: %s", err.msg);
	json_decref(o);
	assert_int_equal(sh("cd '%s' && cp state-crypto/%s issued.pem", dir, SIGNCERT2), 0);
	assert_same_pub(csr_rel, "issued.pem");
}

static void test_offline_plans(void **state)
{
	char *cdir = lf_path_join(dir, "state-crypto");
	struct lf_rset *rs = expand(CSR_LINES("admin.csr"), NULL), *rs2, *cur = NULL;
	const struct lf_resource *adm;
	struct lf_apply_env env;
	struct lf_err err = LF_ERR_INIT;
	const struct lf_action *a;
	struct lf_plan *p;
	json_t *live = NULL, *o = NULL;

	(void)state;
	env_init(&env, cdir);
	assert_int_equal(lf_rset_new(&cur), 0);
	adm = lf_rset_get(rs, "crypto.org2.admin");
	assert_true(json_is_true(json_object_get(adm->attrs, "admin_offline")));
	assert_int_equal(strlen(json_string_value(json_object_get(adm->attrs,
				"admin_file_sha256"))), 64);
	assert_int_equal(strlen(json_string_value(json_object_get(adm->attrs,
				"admin_pub_sha256"))), 64);
	assert_null(json_object_get(lf_rset_get(rs, "crypto.org1.admin")->attrs, "admin_offline"));
	/* a first plan says there is no key here */
	p = plan_of(&env, rs, cur);
	assert_non_null(strstr(action(p, "crypto.org2.admin")->note,
			       "the admin is offline: no private key and no TLS client pair"));
	assert_null(action(p, "crypto.org1.admin")->note);
	lf_plan_free(p);
	cur = apply_all(&env, rs, cur);
	p = plan_of(&env, rs, cur);
	assert_false(lf_plan_has_changes(p));
	lf_plan_free(p);
	/* refresh: the missing key is no drift, the certificate is there */
	assert_int_equal(lf_rtype_crypto.read(&env, lf_rset_get(cur, "crypto.org2.admin"),
					      &live, &err), 0);
	assert_null(live);
	/* another certificate put in its place: drift, and the update issues
	 * one over the request's key again (no key made) */
	assert_int_equal(sh("cd '%s/state-crypto' && cp peerOrganizations/org1.example.com/users/"
			    "Admin@org1.example.com/msp/signcerts/*.pem %s", dir, SIGNCERT2), 0);
	assert_int_equal(lf_rtype_crypto.read(&env, lf_rset_get(cur, "crypto.org2.admin"),
					      &live, &err), 0);
	assert_non_null(live);
	assert_non_null(strstr(json_string_value(json_object_get(live, "drift_note")),
			       "the admin's certificate '"));
	json_decref(live);
	update_issues(&env, cur, rs, "home/admin.csr");
	count_keys("state-crypto/" ORG2);
	assert_int_equal(keys_in_admin, 0);
	cur = apply_all(&env, rs, cur);
	/* an edited request (a new key): an update, which re-issues */
	assert_int_equal(sh("cd '%s' && cp home/other.csr home/admin.csr", dir), 0);
	rs2 = expand(CSR_LINES("admin.csr"), NULL);
	p = plan_of(&env, rs2, cur);
	a = action(p, "crypto.org2.admin");
	assert_int_equal(a->kind, LF_ACT_UPDATE);
	assert_int_equal(action(p, "crypto.org1.admin")->kind, LF_ACT_NOOP);
	lf_plan_free(p);
	update_issues(&env, cur, rs2, "home/other.csr");
	/* the file changed after the plan: apply refuses */
	assert_int_equal(sh("cd '%s' && cp home/admin.csr keep.csr && echo >> home/admin.csr", dir), 0);
	assert_int_equal(lf_rtype_crypto.update(&env, lf_rset_get(cur, "crypto.org2.admin"),
						lf_rset_get(rs2, "crypto.org2.admin"), &o, &err),
			 LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "changed since the plan"));
	assert_int_equal(sh("cd '%s' && cp keep.csr home/admin.csr", dir), 0);
	cur = apply_all(&env, rs2, cur);
	/* offline -> local: a replace that says a key is made here */
	lf_rset_free(rs);
	rs = expand("", NULL);
	p = plan_of(&env, rs, cur);
	a = action(p, "crypto.org2.admin");
	assert_int_equal(a->kind, LF_ACT_REPLACE);
	assert_non_null(strstr(a->note, "the admin becomes local"));
	lf_plan_free(p);
	cur = apply_all(&env, rs, cur);
	/* local -> offline: a replace that says the key goes */
	lf_rset_free(rs2);
	rs2 = expand(CSR_LINES("admin.csr"), NULL);
	p = plan_of(&env, rs2, cur);
	a = action(p, "crypto.org2.admin");
	assert_int_equal(a->kind, LF_ACT_REPLACE);
	assert_non_null(strstr(a->note, "the admin becomes offline"));
	lf_plan_free(p);
	lf_rset_free(rs);
	lf_rset_free(rs2);
	lf_rset_free(cur);
	free(cdir);
}

/* bad requests: a plan error naming the file */
static void test_offline_bad_csr(void **state)
{
	char *msg, *der = NULL, *p;
	size_t len = 0;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	writef("home/junk.csr", "not a request\n");
	msg = expand_error(CSR_LINES("junk.csr"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "org 'org2': admin_csr '"));
	assert_non_null(strstr(msg, "/home/junk.csr' is not a PEM certificate request"));
	free(msg);
	assert_int_equal(sh("cd '%s' && openssl req -new -newkey rsa:2048 -nodes -keyout home/rsa.key "
			    "-subj /CN=x -out home/rsa.csr 2>/dev/null", dir), 0);
	msg = expand_error(CSR_LINES("rsa.csr"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "the key is not EC P-256"));
	free(msg);
	/* a damaged signature */
	assert_int_equal(sh("cd '%s' && openssl req -in home/admin.csr -outform DER -out home/bad.der",
			    dir), 0);
	p = lf_path_join(dir, "home/bad.der");
	assert_int_equal(lf_read_file(p, &der, &len, &err), 0);
	der[len - 1] ^= 0x01;
	assert_int_equal(lf_write_file_atomic(p, der, len, 0644, &err), 0);
	free(der);
	free(p);
	assert_int_equal(sh("cd '%s' && openssl req -inform DER -in home/bad.der -out home/bad.csr",
			    dir), 0);
	msg = expand_error(CSR_LINES("bad.csr"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "its signature does not verify"));
	free(msg);
}

/* admin_cert: chains to the org's CA and carries OU=admin, or the plan
 * refuses */
static void make_cert(const char *name, const char *ca, const char *subj)
{
	assert_int_equal(sh("cd '%s/home' && openssl ecparam -genkey -name prime256v1 -noout "
			    "-out %s.key && openssl req -new -key %s.key -subj '%s' -out %s.req && "
			    "openssl x509 -req -in %s.req -CA %s.pem -CAkey %s.key -CAcreateserial "
			    "-days 30 -out %s.pem 2>/dev/null", dir, name, name, subj, name, name,
			    ca, ca, name), 0);
}

static void make_ca(const char *name)
{
	assert_int_equal(sh("cd '%s/home' && openssl req -x509 -newkey ec -pkeyopt "
			    "ec_paramgen_curve:P-256 -nodes -keyout %s.key -out %s.pem -days 365 "
			    "-subj '/O=org2.example.com/CN=ca.org2.example.com' -addext "
			    "'basicConstraints=critical,CA:TRUE' -addext "
			    "'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' "
			    ">/dev/null 2>&1", dir, name, name), 0);
}

#define IMPORT "    ca: {cert: home/ca.pem, key: home/ca.key}\n"
#define CERT_LINES(f) "    admin: offline\n    admin_cert: home/" f "\n"

static void test_offline_admin_cert(void **state)
{
	char *cdir = lf_path_join(dir, "cert-crypto"), *msg, *given, *written;
	struct lf_rset *rs, *cur = NULL;
	struct lf_apply_env env;
	struct lf_plan *p;

	(void)state;
	make_ca("ca");
	make_ca("ca2");
	make_cert("good", "ca", "/OU=admin/CN=Admin@org2.example.com");
	make_cert("client", "ca", "/OU=client/CN=Admin@org2.example.com");
	make_cert("foreign", "ca2", "/OU=admin/CN=Admin@org2.example.com");
	/* an imported CA: checked when the resources are made */
	msg = expand_error(IMPORT CERT_LINES("client.pem"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "/home/client.pem' has no OU=admin"));
	free(msg);
	msg = expand_error(IMPORT CERT_LINES("foreign.pem"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "/home/foreign.pem' was not issued by the org's CA"));
	free(msg);
	rs = expand(IMPORT CERT_LINES("good.pem"), NULL);
	assert_int_equal(strlen(json_string_value(json_object_get(
		lf_rset_get(rs, "crypto.org2.admin")->attrs, "admin_cert_sha256"))), 64);
	env_init(&env, cdir);
	assert_int_equal(lf_rset_new(&cur), 0);
	cur = apply_all(&env, rs, cur);
	given = readf("home/good.pem");
	written = readf("cert-crypto/" SIGNCERT2);
	assert_string_equal(given, written);
	free(given);
	free(written);
	count_keys("cert-crypto/" ORG2);
	assert_int_equal(keys_in_admin, 0);
	lf_rset_free(rs);
	lf_rset_free(cur);
	free(cdir);
	/* the org's CA made by ledgerform: refused while it does not exist,
	 * checked against it once it does */
	cdir = lf_path_join(dir, "gen-crypto");
	env_init(&env, cdir);
	assert_int_equal(lf_rset_new(&cur), 0);
	rs = expand(CERT_LINES("good.pem"), NULL);
	p = NULL;
	env.desired = rs;
	env.current = cur;
	{
		struct lf_err err = LF_ERR_INIT;

		assert_int_not_equal(lf_plan_make(&p, &env, rs, cur, NULL, &err), 0);
		assert_non_null(strstr(err.msg, "ledgerform makes that CA in this apply"));
	}
	{
		struct lf_err err = LF_ERR_INIT;
		json_t *o = NULL;

		assert_int_equal(lf_rtype_crypto.create(&env, lf_rset_get(rs, "crypto.org2.ca"),
							&o, &err), 0);
		json_decref(o);
		assert_int_not_equal(lf_plan_make(&p, &env, rs, cur, NULL, &err), 0);
		assert_non_null(strstr(err.msg, "was not issued by the org's CA"));
		/* a certificate the org issued with that CA (its own tooling) */
		assert_int_equal(sh("cd '%s/home' && cp ../gen-crypto/%s/ca/ca.org2.example.com-cert.pem "
				    "gen.pem && cp ../gen-crypto/%s/ca/priv_sk gen.key", dir, ORG2,
				    ORG2), 0);
		make_cert("genadmin", "gen", "/OU=admin/CN=Admin@org2.example.com");
		lf_rset_free(rs);
		rs = expand(CERT_LINES("genadmin.pem"), NULL);
		env.desired = rs;
		assert_int_equal(lf_plan_make(&p, &env, rs, cur, NULL, &err), 0);
		lf_plan_free(p);
	}
	lf_rset_free(rs);
	lf_rset_free(cur);
	free(cdir);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return lf_rmtree(dir, NULL) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline_csr_issues_cert),
		cmocka_unit_test(test_offline_sign_with_own_msp),
		cmocka_unit_test(test_offline_plans),
		cmocka_unit_test(test_offline_bad_csr),
		cmocka_unit_test(test_offline_admin_cert),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
