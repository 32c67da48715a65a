/*
 * core/fabric/crypto: rendered trees checked with the real `openssl`
 * binary (verify, x509 -text), OpenSSL APIs (validity, low-S), stat()
 * (modes), file snapshots (what a re-render touches), and Fabric's own
 * JavaScript MSP code (tests/node/check-msp.js).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/fabric/crypto/crypto.h"
#include "core/fabric/crypto/crypto_int.h"
#include "core/util/util.h"
#include "fixture.h"

/* ---- helpers ------------------------------------------------------- */

static char *mk_tmpdir(void)
{
	char *t = lf_xasprintf("%s/tmp-crypto-XXXXXX", LF_BINARY_DIR);

	assert_non_null(mkdtemp(t));
	return t;
}

static int sh(const char *fmt, ...) LF_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd = NULL;
	int st;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *sh_out(const char *fmt, ...) LF_PRINTF(1, 2);
static char *sh_out(const char *fmt, ...)
{
	va_list ap;
	char *cmd = NULL, chunk[4096];
	struct lf_buf b = LF_BUF_INIT;
	FILE *p;
	size_t n;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		lf_buf_append(&b, chunk, n);
	pclose(p);
	free(cmd);
	if (!b.data)
		b.data = lf_xstrdup("");
	return b.data;
}

static void rm_rf(const char *p)
{
	assert_int_equal(lf_rmtree(p, NULL), 0);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		print_error("expected to find '%s' in:\n%s\n", needle, hay);
		fail();
	}
}

static void assert_mode(const char *root, const char *rel, mode_t mode)
{
	char *p = lf_path_join(root, rel);
	struct stat st;

	if (stat(p, &st) != 0) {
		print_error("missing: %s\n", p);
		fail();
	}
	if ((st.st_mode & 07777) != mode) {
		print_error("%s: mode %o, expected %o\n", p, st.st_mode & 07777, mode);
		fail();
	}
	free(p);
}

static X509 *load_cert(const char *root, const char *rel)
{
	char *p = lf_path_join(root, rel), *pem = NULL;
	size_t len = 0;
	X509 *x;

	assert_int_equal(lf_read_file(p, &pem, &len, NULL), 0);
	x = lfc_cert_parse(pem, len);
	assert_non_null(x);
	free(pem);
	free(p);
	return x;
}

/* a snapshot of every file under a root: path, sha256, inode, mtime */
struct snap_ent {
	char *path;
	char sha[65];
	ino_t ino;
	struct timespec mtime;
};
struct snap {
	struct snap_ent *v;
	size_t n;
};
static struct snap *g_snap;

static int snap_cb(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	struct snap_ent *e;
	char *data = NULL;
	size_t len = 0;

	(void)ftw;
	if (flag != FTW_F)
		return 0;
	g_snap->v = lf_xrealloc(g_snap->v, (g_snap->n + 1) * sizeof(*g_snap->v));
	e = &g_snap->v[g_snap->n++];
	e->path = lf_xstrdup(path);
	e->ino = st->st_ino;
	e->mtime = st->st_mtim;
	assert_int_equal(lf_read_file(path, &data, &len, NULL), 0);
	lf_sha256_hex(data, len, e->sha);
	free(data);
	return 0;
}

static struct snap *snap_take(const char *root)
{
	struct snap *s = lf_xcalloc(1, sizeof(*s));

	g_snap = s;
	assert_int_equal(nftw(root, snap_cb, 16, FTW_PHYS), 0);
	g_snap = NULL;
	return s;
}

static const struct snap_ent *snap_find(const struct snap *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].path, path) == 0)
			return &s->v[i];
	return NULL;
}

static void snap_free(struct snap *s)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		free(s->v[i].path);
	if (s)
		free(s->v);
	free(s);
}

/* untouched: same bytes, same inode, same mtime */
static bool snap_same(const struct snap_ent *a, const struct snap_ent *b)
{
	return a && b && strcmp(a->sha, b->sha) == 0 && a->ino == b->ino &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* every file of a that is not under one of the `except` suffixes is
 * untouched in b; returns the number of files that differ */
static size_t snap_diff(const struct snap *a, const struct snap *b,
			const char *const *except, size_t nexcept)
{
	size_t i, k, changed = 0;

	for (i = 0; i < a->n; i++) {
		const struct snap_ent *e = &a->v[i];
		bool skip = false;

		for (k = 0; k < nexcept; k++)
			if (strstr(e->path, except[k]))
				skip = true;
		if (skip)
			continue;
		if (!snap_same(e, snap_find(b, e->path))) {
			print_message("changed: %s\n", e->path);
			changed++;
		}
	}
	return changed;
}

static const char *const ORG = "peerOrganizations/bank.example.com";
static const char *const OORG = "ordererOrganizations/example.com";

/* bank: peer0 (address 10.1.2.3, SANs localhost, 127.0.0.1), peer1;
 * Admin, User1, User2; orderer org: orderer0, orderer1 */
static struct lf_spec *spec_small(void)
{
	struct lf_spec *s = fx_spec_new("small");
	size_t o = fx_add_org(s, "orderer", "example.com", 0);
	size_t b;
	struct lf_node *n;

	fx_add_node(s, o, LF_NODE_ORDERER, "orderer0", NULL);
	fx_add_node(s, o, LF_NODE_ORDERER, "orderer1", NULL);
	b = fx_add_org(s, "bank", NULL, 2);
	n = fx_add_node(s, b, LF_NODE_PEER, "peer0", "10.1.2.3");
	fx_node_add_san(n, "localhost");
	fx_node_add_san(n, "127.0.0.1");
	fx_add_node(s, b, LF_NODE_PEER, "peer1", NULL);
	return s;
}

static char *render_small(struct lf_spec **specp)
{
	char *dir = mk_tmpdir(), *out = lf_path_join(dir, "crypto");
	struct lf_err err = LF_ERR_INIT;
	struct lf_spec *s = spec_small();

	if (lf_crypto_render(s, out, 2, &err) != 0) {
		print_error("render: %s\n", err.msg);
		fail();
	}
	free(dir);
	if (specp)
		*specp = s;
	else
		fx_spec_free(s);
	return out;
}

static void cleanup_out(char *out)
{
	char *parent = lf_path_dirname(out);

	rm_rf(parent);
	free(parent);
	free(out);
}

/* ---- tests --------------------------------------------------------- */

struct ident_ref {
	const char *org, *dom, *sub, *cn, *tls;
};

static const struct ident_ref small_ids[] = {
	{ "peerOrganizations/bank.example.com", "bank.example.com", "peers",
	  "peer0.bank.example.com", "server" },
	{ "peerOrganizations/bank.example.com", "bank.example.com", "peers",
	  "peer1.bank.example.com", "server" },
	{ "peerOrganizations/bank.example.com", "bank.example.com", "users",
	  "Admin@bank.example.com", "client" },
	{ "peerOrganizations/bank.example.com", "bank.example.com", "users",
	  "User1@bank.example.com", "client" },
	{ "peerOrganizations/bank.example.com", "bank.example.com", "users",
	  "User2@bank.example.com", "client" },
	{ "ordererOrganizations/example.com", "example.com", "orderers",
	  "orderer0.example.com", "server" },
	{ "ordererOrganizations/example.com", "example.com", "orderers",
	  "orderer1.example.com", "server" },
	{ "ordererOrganizations/example.com", "example.com", "users",
	  "Admin@example.com", "client" },
};

static void test_crypto_openssl_verify_all(void **state)
{
	char *out = render_small(NULL);
	size_t i;

	(void)state;
	for (i = 0; i < LF_ARRAY_LEN(small_ids); i++) {
		const struct ident_ref *r = &small_ids[i];

		assert_int_equal(sh("cd '%s/%s' && openssl verify -x509_strict -CAfile "
				    "ca/ca.%s-cert.pem %s/%s/msp/signcerts/%s-cert.pem >/dev/null",
				    out, r->org, r->dom, r->sub, r->cn, r->cn), 0);
		assert_int_equal(sh("cd '%s/%s' && openssl verify -x509_strict -purpose ssl%s "
				    "-CAfile tlsca/tlsca.%s-cert.pem %s/%s/tls/%s.crt >/dev/null",
				    out, r->org, r->tls, r->dom, r->sub, r->cn, r->tls), 0);
		/* the signing cert must NOT verify against the TLS CA */
		assert_int_not_equal(sh("cd '%s/%s' && openssl verify -CAfile "
					"tlsca/tlsca.%s-cert.pem %s/%s/msp/signcerts/%s-cert.pem "
					">/dev/null 2>&1", out, r->org, r->dom, r->sub, r->cn, r->cn), 0);
	}
	cleanup_out(out);
}


static char *x509_text(const char *root, const char *rel)
{
	return sh_out("openssl x509 -noout -text -in '%s/%s'", root, rel);
}

static void assert_not_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle)) {
		print_error("did not expect '%s' in:\n%s\n", needle, hay);
		fail();
	}
}

static void test_crypto_profiles(void **state)
{
	char *out = render_small(NULL), *t;
	char *root = lf_path_join(out, ORG);

	(void)state;
	t = x509_text(root, "ca/ca.bank.example.com-cert.pem");
	assert_contains(t, "Subject: C = US, ST = California, L = San Francisco, "
			"O = bank.example.com, CN = ca.bank.example.com");
	assert_contains(t, "Issuer: C = US, ST = California, L = San Francisco, "
			"O = bank.example.com, CN = ca.bank.example.com");
	assert_contains(t, "X509v3 Key Usage: critical\n                Digital Signature, "
			"Key Encipherment, Certificate Sign, CRL Sign");
	assert_contains(t, "TLS Web Client Authentication, TLS Web Server Authentication");
	assert_contains(t, "X509v3 Basic Constraints: critical\n                CA:TRUE\n");
	assert_contains(t, "X509v3 Subject Key Identifier");
	assert_contains(t, "ASN1 OID: prime256v1");
	assert_contains(t, "Signature Algorithm: ecdsa-with-SHA256");
	assert_not_contains(t, "Authority Key Identifier");
	free(t);
	t = x509_text(root, "tlsca/tlsca.bank.example.com-cert.pem");
	assert_contains(t, "O = bank.example.com, CN = tlsca.bank.example.com");
	assert_contains(t, "CA:TRUE");
	free(t);
	t = x509_text(root, "peers/peer0.bank.example.com/msp/signcerts/peer0.bank.example.com-cert.pem");
	assert_contains(t, "Subject: C = US, ST = California, L = San Francisco, OU = peer, "
			"CN = peer0.bank.example.com\n");
	assert_contains(t, "X509v3 Key Usage: critical\n                Digital Signature\n");
	assert_contains(t, "X509v3 Basic Constraints: critical\n                CA:FALSE\n");
	assert_contains(t, "X509v3 Authority Key Identifier");
	assert_not_contains(t, "Extended Key Usage");
	assert_not_contains(t, "Subject Key Identifier");
	assert_not_contains(t, "Subject Alternative Name");
	free(t);
	t = x509_text(root, "peers/peer0.bank.example.com/tls/server.crt");
	assert_contains(t, "Issuer: C = US, ST = California, L = San Francisco, "
			"O = bank.example.com, CN = tlsca.bank.example.com");
	assert_contains(t, "Subject: C = US, ST = California, L = San Francisco, "
			"CN = peer0.bank.example.com\n");
	assert_contains(t, "Digital Signature, Key Encipherment\n");
	assert_contains(t, "TLS Web Server Authentication, TLS Web Client Authentication");
	assert_contains(t, "CA:FALSE");
	assert_contains(t, "DNS:peer0.bank.example.com, DNS:peer0, DNS:localhost, "
			"IP Address:10.1.2.3, IP Address:127.0.0.1\n");
	free(t);
	t = x509_text(root, "peers/peer1.bank.example.com/tls/server.crt");
	assert_contains(t, "DNS:peer1.bank.example.com, DNS:peer1\n");
	free(t);
	t = x509_text(root, "users/Admin@bank.example.com/msp/signcerts/Admin@bank.example.com-cert.pem");
	assert_contains(t, "OU = admin, CN = Admin@bank.example.com\n");
	free(t);
	t = x509_text(root, "users/User2@bank.example.com/msp/signcerts/User2@bank.example.com-cert.pem");
	assert_contains(t, "OU = client, CN = User2@bank.example.com\n");
	free(t);
	t = x509_text(root, "users/User1@bank.example.com/tls/client.crt");
	assert_contains(t, "L = San Francisco, CN = User1@bank.example.com\n");
	assert_contains(t, "TLS Web Server Authentication, TLS Web Client Authentication");
	assert_not_contains(t, "Subject Alternative Name");
	assert_not_contains(t, "OU =");
	free(t);
	free(root);
	root = lf_path_join(out, OORG);
	t = x509_text(root, "orderers/orderer1.example.com/msp/signcerts/orderer1.example.com-cert.pem");
	assert_contains(t, "OU = orderer, CN = orderer1.example.com\n");
	free(t);
	t = x509_text(root, "orderers/orderer1.example.com/tls/server.crt");
	assert_contains(t, "DNS:orderer1.example.com, DNS:orderer1\n");
	free(t);
	free(root);
	cleanup_out(out);
}

/* cryptogen's validity: now rounded to the minute - 5 min, + 3650 days */
static void test_crypto_validity(void **state)
{
	char *out = render_small(NULL);
	const char *rels[] = {
		"peerOrganizations/bank.example.com/ca/ca.bank.example.com-cert.pem",
		"peerOrganizations/bank.example.com/peers/peer0.bank.example.com/tls/server.crt",
		"ordererOrganizations/example.com/users/Admin@example.com/msp/signcerts/"
		"Admin@example.com-cert.pem",
	};
	time_t now = time(NULL);
	size_t i;

	(void)state;
	for (i = 0; i < LF_ARRAY_LEN(rels); i++) {
		X509 *x = load_cert(out, rels[i]);
		struct tm nb, na;
		int days = 0, secs = 0;
		time_t tnb;

		assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &nb), 1);
		assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &na), 1);
		assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
						X509_get0_notAfter(x)), 1);
		assert_int_equal(days, 3650);
		assert_int_equal(secs, 0);
		assert_int_equal(nb.tm_sec, 0);
		tnb = timegm(&nb);
		assert_true(tnb >= now - 6 * 60 && tnb <= now - 4 * 60 + 30);
		assert_int_equal(X509_get_version(x), X509_VERSION_3);
		X509_free(x);
	}
	cleanup_out(out);
}

static void test_crypto_file_modes(void **state)
{
	char *out = render_small(NULL), *root = lf_path_join(out, ORG);
	const char *id = "peers/peer0.bank.example.com";
	char *p;

	(void)state;
	assert_mode(out, "", 0700);
	assert_mode(root, "ca", 0700);
	assert_mode(root, "ca/priv_sk", 0600);
	assert_mode(root, "ca/ca.bank.example.com-cert.pem", 0644);
	assert_mode(root, "tlsca", 0700);
	assert_mode(root, "tlsca/priv_sk", 0600);
	assert_mode(root, "msp/config.yaml", 0644);
	assert_mode(root, "msp/admincerts", 0755);
	p = lf_path_join(root, id);
	assert_mode(p, "msp/keystore", 0700);
	assert_mode(p, "msp/keystore/priv_sk", 0600);
	assert_mode(p, "msp/signcerts/peer0.bank.example.com-cert.pem", 0644);
	assert_mode(p, "msp/cacerts/ca.bank.example.com-cert.pem", 0644);
	assert_mode(p, "msp/tlscacerts/tlsca.bank.example.com-cert.pem", 0644);
	assert_mode(p, "msp/config.yaml", 0644);
	assert_mode(p, "msp/admincerts", 0755);
	assert_mode(p, "tls", 0700);
	assert_mode(p, "tls/server.key", 0600);
	assert_mode(p, "tls/server.crt", 0644);
	assert_mode(p, "tls/ca.crt", 0644);
	free(p);
	p = lf_path_join(root, "users/Admin@bank.example.com");
	assert_mode(p, "tls/client.key", 0600);
	assert_mode(p, "msp/keystore/priv_sk", 0600);
	free(p);
	/* keys are PKCS#8 PEM, as cryptogen writes them */
	assert_int_equal(sh("head -1 '%s/%s/msp/keystore/priv_sk' | grep -qx -- "
			    "'-----BEGIN PRIVATE" " KEY-----'", root, id), 0);
	assert_int_equal(sh("openssl pkey -in '%s/%s/tls/server.key' -noout", root, id), 0);
	/* admincerts is empty with NodeOUs; identical config.yaml everywhere */
	assert_int_equal(sh("test -z \"$(ls -A '%s/%s/msp/admincerts')\"", root, id), 0);
	assert_int_equal(sh("cmp -s '%s/msp/config.yaml' '%s/%s/msp/config.yaml'", root,
			    root, id), 0);
	assert_int_equal(sh("grep -qx '    Certificate: cacerts/ca.bank.example.com-cert.pem' "
			    "'%s/msp/config.yaml'", root), 0);
	free(root);
	cleanup_out(out);
}

/* every certificate signature is low-S, as Fabric requires */
static void test_crypto_low_s(void **state)
{
	struct lf_spec *s = fx_spec_grid(1, 12, 3, 0);
	char *dir = mk_tmpdir(), *list, *line, *next;
	struct lf_err err = LF_ERR_INIT;
	struct lf_crypto_stats st;
	BIGNUM *half = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(lf_crypto_render_stats(s, dir, 0, &st, &err), 0);
	/* threads 0 = every online core */
	assert_int_equal(st.threads, (unsigned int)sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(st.identities, 12 + 1 + 3 + 2); /* peers, Admin, users, CAs */
	assert_true(BN_hex2bn(&half, "7FFFFFFF800000007FFFFFFFFFFFFFFFDE737D56D38BCF4279DCE5617E3192A8") > 0);
	list = sh_out("find '%s' -name '*.crt' -o -name '*-cert.pem'", dir);
	for (line = list; *line; line = next) {
		X509 *x;
		const ASN1_BIT_STRING *sig;
		const unsigned char *p;
		ECDSA_SIG *es;
		const BIGNUM *r, *sv;

		next = strchr(line, '\n');
		next = next ? (*next = '\0', next + 1) : line + strlen(line);
		x = load_cert("", line);
		X509_get0_signature(&sig, NULL, x);
		p = ASN1_STRING_get0_data(sig);
		es = d2i_ECDSA_SIG(NULL, &p, ASN1_STRING_length(sig));
		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &sv);
		assert_true(BN_cmp(sv, half) <= 0);
		ECDSA_SIG_free(es);
		X509_free(x);
		n++;
	}
	assert_true(n >= 2 * 16 + 2); /* 16 identities x 2 + 2 CAs (+ copies) */
	BN_free(half);
	free(list);
	rm_rf(dir);
	free(dir);
	fx_spec_free(s);
}

static void render_again(struct lf_spec *s, const char *out)
{
	struct lf_err err = LF_ERR_INIT;

	if (lf_crypto_render(s, out, 2, &err) != 0) {
		print_error("render: %s\n", err.msg);
		fail();
	}
}

static void test_crypto_rerender_is_noop(void **state)
{
	struct lf_spec *s = NULL;
	char *out = render_small(&s);
	struct snap *a = snap_take(out), *b;
	struct lf_crypto_stats st;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	assert_int_equal(lf_crypto_render_stats(s, out, 2, &st, &err), 0);
	b = snap_take(out);
	assert_int_equal(a->n, b->n);
	assert_int_equal(snap_diff(a, b, NULL, 0), 0);
	assert_int_equal(st.leaves_kept, LF_ARRAY_LEN(small_ids));
	/* a loosened key directory is tightened again, content untouched */
	assert_int_equal(sh("chmod 755 '%s/%s/ca' '%s/%s/peers/peer0.bank.example.com/msp/keystore'",
			    out, ORG, out, ORG), 0);
	render_again(s, out);
	assert_mode(out, "peerOrganizations/bank.example.com/ca", 0700);
	assert_mode(out, "peerOrganizations/bank.example.com/peers/peer0.bank.example.com/msp/keystore",
		    0700);
	assert_int_equal(st.certs_issued, 0);
	assert_int_equal(st.keys_generated, 0);
	assert_int_equal(st.files_written, 0);
	snap_free(a);
	snap_free(b);
	fx_spec_free(s);
	cleanup_out(out);
}

/* a wrong cert or a lost key is repaired; nothing else is touched */
static void test_crypto_repairs_tampered_leaf(void **state)
{
	struct lf_spec *s = NULL;
	char *out = render_small(&s), *p0, *t;
	const char *except[] = { "/peer0.bank.example.com/msp/signcerts/",
				 "/User1@bank.example.com/tls/" };
	struct snap *a, *b;

	(void)state;
	p0 = lf_xasprintf("%s/%s/peers", out, ORG);
	/* peer1's signcert in peer0's place; User1's TLS key gone */
	assert_int_equal(sh("cd '%s' && cp peer1.bank.example.com/msp/signcerts/*.pem "
			    "peer0.bank.example.com/msp/signcerts/peer0.bank.example.com-cert.pem && "
			    "rm '%s/%s/users/User1@bank.example.com/tls/client.key'", p0, out, ORG), 0);
	a = snap_take(out);
	render_again(s, out);
	b = snap_take(out);
	assert_int_equal(snap_diff(a, b, except, 2), 0);
	assert_int_equal(sh("cd '%s/peer0.bank.example.com/msp' && "
			    "test \"$(openssl x509 -in signcerts/peer0.bank.example.com-cert.pem -noout -pubkey)\" = "
			    "\"$(openssl pkey -in keystore/priv_sk -pubout)\" && "
			    "openssl verify -CAfile cacerts/*.pem signcerts/*.pem >/dev/null", p0), 0);
	t = x509_text(out, "peerOrganizations/bank.example.com/peers/peer0.bank.example.com/msp/"
		      "signcerts/peer0.bank.example.com-cert.pem");
	assert_contains(t, "CN = peer0.bank.example.com\n");
	free(t);
	assert_int_equal(sh("cd '%s/%s/users/User1@bank.example.com/tls' && test -f client.key && "
			    "test \"$(openssl x509 -in client.crt -noout -pubkey)\" = "
			    "\"$(openssl pkey -in client.key -pubout)\"", out, ORG), 0);
	assert_mode(out, "peerOrganizations/bank.example.com/users/User1@bank.example.com/tls/client.key",
		    0600);
	free(p0);
	snap_free(a);
	snap_free(b);
	fx_spec_free(s);
	cleanup_out(out);
}

static void test_crypto_add_peer_keeps_everything(void **state)
{
	struct lf_spec *s = NULL;
	char *out = render_small(&s), *ca = NULL, *ca2 = NULL, *p;
	struct snap *a = snap_take(out), *b;
	size_t len = 0, len2 = 0;

	(void)state;
	p = lf_xasprintf("%s/%s/ca/ca.bank.example.com-cert.pem", out, ORG);
	assert_int_equal(lf_read_file(p, &ca, &len, NULL), 0);
	fx_add_node(s, 1, LF_NODE_PEER, "peer2", NULL);
	render_again(s, out);
	b = snap_take(out);
	assert_int_equal(snap_diff(a, b, NULL, 0), 0); /* nothing touched */
	assert_int_equal(b->n, a->n + 8);              /* one identity more */
	assert_int_equal(lf_read_file(p, &ca2, &len2, NULL), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(ca, ca2, len); /* CA cert byte-identical */
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile ca/ca.bank.example.com-cert.pem "
			    "peers/peer2.bank.example.com/msp/signcerts/peer2.bank.example.com-cert.pem "
			    "&& openssl verify -CAfile tlsca/tlsca.bank.example.com-cert.pem "
			    "peers/peer2.bank.example.com/tls/server.crt", out, ORG), 0);
	free(ca);
	free(ca2);
	free(p);
	snap_free(a);
	snap_free(b);
	fx_spec_free(s);
	cleanup_out(out);
}

static void test_crypto_san_change_reissues_one_leaf(void **state)
{
	struct lf_spec *s = NULL;
	char *out = render_small(&s), *t, *p;
	const char *except[] = { "/peer0.bank.example.com/tls/server.crt" };
	struct snap *a = snap_take(out), *b;
	const struct snap_ent *e1, *e2;

	(void)state;
	fx_node_add_san(&s->orgs[1].nodes[0], "peer0.bank.example.org");
	render_again(s, out);
	b = snap_take(out);
	assert_int_equal(a->n, b->n);
	/* everything but that one file untouched, including its key */
	assert_int_equal(snap_diff(a, b, except, 1), 0);
	p = lf_xasprintf("%s/%s/peers/peer0.bank.example.com/tls/server.crt", out, ORG);
	e1 = snap_find(a, p);
	e2 = snap_find(b, p);
	assert_non_null(e1);
	assert_non_null(e2);
	assert_string_not_equal(e1->sha, e2->sha);
	t = x509_text(out, "peerOrganizations/bank.example.com/peers/peer0.bank.example.com/tls/server.crt");
	assert_contains(t, "DNS:peer0.bank.example.com, DNS:peer0, DNS:localhost, "
			"DNS:peer0.bank.example.org, IP Address:10.1.2.3");
	free(t);
	/* same key: the re-issued cert matches the untouched server.key */
	assert_int_equal(sh("cd '%s/%s/peers/peer0.bank.example.com/tls' && "
			    "test \"$(openssl x509 -in server.crt -noout -pubkey)\" = "
			    "\"$(openssl pkey -in server.key -pubout)\" && "
			    "openssl verify -CAfile ca.crt server.crt >/dev/null", out, ORG), 0);
	free(p);
	snap_free(a);
	snap_free(b);
	fx_spec_free(s);
	cleanup_out(out);
}

static void test_crypto_remove_node_removes_identity(void **state)
{
	struct lf_spec *s = NULL;
	char *out = render_small(&s), *p;
	const char *except[] = { "/peer1.bank.example.com/" };
	struct snap *a = snap_take(out), *b;

	(void)state;
	/* drop peer1 (the last node of bank) */
	s->orgs[1].nnodes--;
	s->orgs[1].npeers--;
	render_again(s, out);
	s->orgs[1].nnodes++; /* so fx_spec_free frees it */
	b = snap_take(out);
	p = lf_xasprintf("%s/%s/peers/peer1.bank.example.com", out, ORG);
	assert_false(lf_path_exists(p));
	assert_int_equal(b->n, a->n - 8);
	assert_int_equal(snap_diff(a, b, except, 1), 0);
	free(p);
	snap_free(a);
	snap_free(b);
	fx_spec_free(s);
	cleanup_out(out);
}

static void test_crypto_ca_key_never_regenerated(void **state)
{
	struct lf_spec *s = NULL;
	char *out = render_small(&s), *key, *cert, *pub1, *pub2;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	key = lf_xasprintf("%s/%s/ca/priv_sk", out, ORG);
	cert = lf_xasprintf("%s/%s/ca/ca.bank.example.com-cert.pem", out, ORG);
	pub1 = sh_out("openssl pkey -in '%s' -pubout", key);
	/* cert lost, key kept: a new cert for the SAME key, leaves still valid */
	assert_int_equal(unlink(cert), 0);
	render_again(s, out);
	pub2 = sh_out("openssl x509 -in '%s' -noout -pubkey", cert);
	assert_string_equal(pub1, pub2);
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile ca/ca.bank.example.com-cert.pem "
			    "users/Admin@bank.example.com/msp/signcerts/*.pem >/dev/null", out, ORG), 0);
	/* key lost, cert kept: refuse, never make a new CA key */
	assert_int_equal(unlink(key), 0);
	assert_int_not_equal(lf_crypto_render(s, out, 2, &err), 0);
	assert_contains(err.msg, "priv_sk");
	assert_contains(err.msg, "refusing");
	assert_false(lf_path_exists(key));
	free(pub1);
	free(pub2);
	free(key);
	free(cert);
	fx_spec_free(s);
	cleanup_out(out);
}

/* an external CA made with the openssl binary (P-256 unless rsa) */
static void make_ext_ca(const char *dir, const char *name, const char *bc,
			bool rsa)
{
	assert_int_equal(sh("cd '%s' && openssl req -x509 -newkey %s -nodes "
			    "-keyout %s.key -out %s.pem -days 365 "
			    "-subj '/C=DE/O=Acme Corp/CN=Acme %s CA' -addext "
			    "'basicConstraints=critical,%s' -addext "
			    "'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' "
			    "-addext 'subjectKeyIdentifier=hash' >/dev/null 2>&1",
			    dir, rsa ? "rsa:2048" : "ec -pkeyopt ec_paramgen_curve:P-256",
			    name, name, name, bc), 0);
}

static struct lf_spec *spec_import(const char *dir, const char *cert,
				   const char *key)
{
	struct lf_spec *s = fx_spec_new("imp");
	size_t b = fx_add_org(s, "bank", NULL, 1);

	free(s->dir);
	s->dir = lf_xstrdup(dir); /* import paths are relative to the spec */
	fx_add_node(s, b, LF_NODE_PEER, "peer0", NULL);
	fx_org_import_ca(s, b, cert, key);
	return s;
}

static void test_crypto_imported_ca_is_issuer(void **state)
{
	char *dir = mk_tmpdir(), *out = lf_path_join(dir, "crypto"), *t, *want;
	struct lf_spec *s;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	make_ext_ca(dir, "ext", "CA:TRUE", false);
	s = spec_import(dir, "ext.pem", "ext.key");
	if (lf_crypto_render(s, out, 2, &err) != 0) {
		print_error("render: %s\n", err.msg);
		fail();
	}
	assert_int_equal(sh("cd '%s/%s' && openssl verify -x509_strict -CAfile '%s/ext.pem' "
			    "peers/peer0.bank.example.com/msp/signcerts/*.pem "
			    "users/*/msp/signcerts/*.pem >/dev/null", out, ORG, dir), 0);
	t = sh_out("openssl x509 -noout -issuer -in '%s/%s/peers/peer0.bank.example.com/"
		   "msp/signcerts/peer0.bank.example.com-cert.pem'", out, ORG);
	assert_string_equal(t, "issuer=C = DE, O = Acme Corp, CN = Acme ext CA\n");
	free(t);
	/* the imported cert is the org's CA cert everywhere; its key is not copied */
	want = sh_out("openssl x509 -in '%s/ext.pem' -outform DER | sha256sum", dir);
	t = sh_out("openssl x509 -in '%s/%s/msp/cacerts/ca.bank.example.com-cert.pem' "
		   "-outform DER | sha256sum", out, ORG);
	assert_string_equal(t, want);
	free(t);
	t = sh_out("openssl x509 -in '%s/%s/peers/peer0.bank.example.com/msp/cacerts/"
		   "ca.bank.example.com-cert.pem' -outform DER | sha256sum", out, ORG);
	assert_string_equal(t, want);
	free(t);
	free(want);
	t = lf_xasprintf("%s/%s/ca/priv_sk", out, ORG);
	assert_false(lf_path_exists(t));
	free(t);
	/* the TLS CA is still made by ledgerform */
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile tlsca/tlsca.bank.example.com-cert.pem "
			    "peers/peer0.bank.example.com/tls/server.crt >/dev/null", out, ORG), 0);
	if (sh("command -v node >/dev/null") == 0) {
		int rc = sh("node '%s/tests/node/check-msp.js' '%s/%s' BankMSP", LF_SOURCE_DIR,
			    out, ORG);

		assert_true(rc == 0 || rc == 77);
	}
	fx_spec_free(s);
	rm_rf(dir);
	free(dir);
	free(out);
}

static void expect_import_error(const char *dir, const char *cert,
				const char *key, const char *what,
				const char *why)
{
	char *out = lf_path_join(dir, "out");
	struct lf_spec *s = spec_import(dir, cert, key);
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;
	int rc = lf_crypto_render(s, out, 2, &err);

	print_message("error: %s\n", err.msg);
	assert_int_equal(rc, LF_EINVALID);
	assert_contains(err.msg, "org 'bank'");
	assert_contains(err.msg, what);
	assert_contains(err.msg, why);
	assert_false(lf_path_exists(out)); /* nothing written */
	/* the plan side refuses the same spec */
	lf_err_clear(&err);
	assert_int_equal(lf_rset_new(&rs), 0);
	assert_int_equal(lf_crypto_expand(s, rs, &err), LF_EINVALID);
	assert_contains(err.msg, what);
	lf_rset_free(rs);
	fx_spec_free(s);
	free(out);
}

static void test_crypto_bad_import_writes_nothing(void **state)
{
	char *dir = mk_tmpdir();

	(void)state;
	make_ext_ca(dir, "good", "CA:TRUE", false);
	make_ext_ca(dir, "other", "CA:TRUE", false);
	make_ext_ca(dir, "leaf", "CA:FALSE", false);
	assert_int_equal(sh("cd '%s' && echo 'not a certificate' > junk.pem && "
			    "cp good.key unreadable.key && chmod 000 unreadable.key", dir), 0);
	expect_import_error(dir, "good.pem", "missing.key", "missing.key", "cannot read");
	expect_import_error(dir, "missing.pem", "good.key", "missing.pem", "cannot read");
	expect_import_error(dir, "good.pem", "other.key", "other.key", "does not match");
	expect_import_error(dir, "leaf.pem", "leaf.key", "leaf.pem", "not a CA certificate");
	expect_import_error(dir, "junk.pem", "good.key", "junk.pem", "not a PEM X.509 certificate");
	expect_import_error(dir, "good.pem", "junk.pem", "junk.pem", "not a PEM private key");
	/* unreadable even for root: a directory where the key should be */
	assert_int_equal(sh("mkdir '%s/dir.key'", dir), 0);
	expect_import_error(dir, "good.pem", "dir.key", "dir.key", "Is a directory");
	if (geteuid() != 0) /* root reads mode-000 files */
		expect_import_error(dir, "good.pem", "unreadable.key", "unreadable.key",
				    "Permission denied");
	rm_rf(dir);
	free(dir);
}

static void test_crypto_imported_rsa_ca(void **state)
{
	char *dir = mk_tmpdir(), *out = lf_path_join(dir, "crypto");
	struct lf_spec *s;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	make_ext_ca(dir, "rsa", "CA:TRUE", true);
	s = spec_import(dir, "rsa.pem", "rsa.key");
	assert_int_equal(lf_crypto_render(s, out, 1, &err), 0);
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile '%s/rsa.pem' "
			    "peers/*/msp/signcerts/*.pem >/dev/null", out, ORG, dir), 0);
	fx_spec_free(s);
	rm_rf(dir);
	free(dir);
	free(out);
}

static void test_crypto_imported_tls_ca(void **state)
{
	char *dir = mk_tmpdir(), *out = lf_path_join(dir, "crypto"), *t;
	struct lf_spec *s;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	make_ext_ca(dir, "sig", "CA:TRUE", false);
	make_ext_ca(dir, "tls", "CA:TRUE", false);
	s = spec_import(dir, "sig.pem", "sig.key");
	s->orgs[0].ca->tls_cert = lf_xstrdup("tls.pem");
	s->orgs[0].ca->tls_key = lf_xstrdup("tls.key");
	assert_int_equal(lf_crypto_render(s, out, 2, &err), 0);
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile '%s/tls.pem' "
			    "peers/*/tls/server.crt users/*/tls/client.crt >/dev/null && "
			    "openssl verify -CAfile '%s/sig.pem' peers/*/msp/signcerts/*.pem >/dev/null && "
			    "cmp -s tlsca/tlsca.bank.example.com-cert.pem "
			    "peers/peer0.bank.example.com/tls/ca.crt && test ! -e tlsca/priv_sk",
			    out, ORG, dir, dir), 0);
	t = sh_out("openssl x509 -noout -issuer -in '%s/%s/peers/peer0.bank.example.com/tls/server.crt'",
		   out, ORG);
	assert_string_equal(t, "issuer=C = DE, O = Acme Corp, CN = Acme tls CA\n");
	free(t);
	/* the same TLS CA key with the wrong cert: refused before writing */
	rm_rf(out);
	free(s->orgs[0].ca->tls_key);
	s->orgs[0].ca->tls_key = lf_xstrdup("sig.key");
	lf_err_clear(&err);
	assert_int_equal(lf_crypto_render(s, out, 2, &err), LF_EINVALID);
	assert_contains(err.msg, "does not match certificate");
	assert_false(lf_path_exists(out));
	fx_spec_free(s);
	rm_rf(dir);
	free(dir);
	free(out);
}

/* ---- resources ----------------------------------------------------- */

static struct lf_rset *expand(const struct lf_spec *s)
{
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_rset_new(&rs), 0);
	if (lf_crypto_expand(s, rs, &err) != 0) {
		print_error("expand: %s\n", err.msg);
		fail();
	}
	return rs;
}

static bool has_dep(const struct lf_resource *r, const char *dep)
{
	size_t i;

	for (i = 0; i < r->ndeps; i++)
		if (strcmp(r->deps[i], dep) == 0)
			return true;
	return false;
}

static void test_crypto_expand_resources(void **state)
{
	struct lf_spec *s = spec_small();
	struct lf_rset *rs = expand(s), *rs2;
	static const char *const addrs[] = {
		"crypto.orderer.ca", "crypto.orderer.tlsca", "crypto.orderer.msp",
		"crypto.orderer.orderer0", "crypto.orderer.orderer1", "crypto.orderer.admin",
		"crypto.bank.ca", "crypto.bank.tlsca", "crypto.bank.msp", "crypto.bank.peer0",
		"crypto.bank.peer1", "crypto.bank.admin", "crypto.bank.user1", "crypto.bank.user2",
	};
	const struct lf_resource *r;
	json_t *j;
	char *dump;
	size_t i;

	(void)state;
	assert_int_equal(rs->n, LF_ARRAY_LEN(addrs));
	for (i = 0; i < LF_ARRAY_LEN(addrs); i++) {
		r = lf_rset_get(rs, addrs[i]);
		assert_non_null(r);
		assert_string_equal(r->type, "crypto");
		if (strstr(addrs[i], ".ca") || strstr(addrs[i], ".tlsca"))
			assert_int_equal(r->ndeps, 0);
		else
			assert_true(r->ndeps == 2 && has_dep(r, "crypto.bank.ca") !=
				    has_dep(r, "crypto.orderer.ca"));
	}
	r = lf_rset_get(rs, "crypto.bank.peer0");
	assert_true(has_dep(r, "crypto.bank.ca") && has_dep(r, "crypto.bank.tlsca"));
	dump = json_dumps(r->attrs, JSON_SORT_KEYS | JSON_COMPACT);
	assert_contains(dump, "\"dir\":\"peerOrganizations/bank.example.com/peers/peer0.bank.example.com\"");
	assert_contains(dump, "\"sans\":[\"peer0.bank.example.com\",\"peer0\",\"10.1.2.3\",\"localhost\",\"127.0.0.1\"]");
	assert_contains(dump, "\"ou\":\"peer\"");
	assert_contains(dump, "\"issuer\":\"crypto.bank.ca\"");
	free(dump);
	j = lf_rset_to_json(rs);
	dump = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_not_contains(dump, "PRIVATE");
	assert_not_contains(dump, "serial");
	free(dump);
	/* a new SAN changes exactly one resource's hash */
	fx_node_add_san(&s->orgs[1].nodes[1], "10.9.9.9");
	rs2 = expand(s);
	for (i = 0; i < rs->n; i++) {
		const struct lf_resource *a = &rs->v[i];
		const struct lf_resource *b = lf_rset_get(rs2, a->addr);

		lf_resource_rehash((struct lf_resource *)a);
		lf_resource_rehash((struct lf_resource *)b);
		if (strcmp(a->addr, "crypto.bank.peer1") == 0)
			assert_string_not_equal(a->hash, b->hash);
		else
			assert_string_equal(a->hash, b->hash);
	}
	lf_rset_free(rs);
	lf_rset_free(rs2);
	fx_spec_free(s);
}

static void test_crypto_expand_import_fingerprint(void **state)
{
	char *dir = mk_tmpdir(), *want, *dump;
	struct lf_spec *s;
	struct lf_rset *rs;
	json_t *j;
	const struct lf_resource *r;

	(void)state;
	make_ext_ca(dir, "ext", "CA:TRUE", false);
	s = spec_import(dir, "ext.pem", "ext.key");
	rs = expand(s);
	want = sh_out("openssl x509 -in '%s/ext.pem' -outform DER | sha256sum | cut -c1-64 | tr -d '\\n'", dir);
	r = lf_rset_get(rs, "crypto.bank.ca");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r->attrs, "ca_import"),
							      "cert_sha256")), want);
	r = lf_rset_get(rs, "crypto.bank.peer0"); /* leaves follow their issuer */
	assert_string_equal(json_string_value(json_object_get(json_object_get(r->attrs, "ca_import"),
							      "cert_sha256")), want);
	j = lf_rset_to_json(rs);
	dump = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_not_contains(dump, "PRIVATE KEY");
	free(dump);
	free(want);
	lf_rset_free(rs);
	fx_spec_free(s);
	rm_rf(dir);
	free(dir);
}

static json_t *rt_create(const struct lf_apply_env *env, const struct lf_rset *rs,
			 const char *addr)
{
	const struct lf_resource *r = lf_rset_get(rs, addr);
	json_t *outputs = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_non_null(r);
	if (lf_rtype_crypto.create(env, r, &outputs, &err) != 0) {
		print_error("create %s: %s\n", addr, err.msg);
		fail();
	}
	assert_non_null(outputs);
	return outputs;
}

static void test_crypto_rtype_callbacks(void **state)
{
	struct lf_spec *s = spec_small();
	struct lf_rset *rs = expand(s), *rs2;
	char *dir = mk_tmpdir(), *cdir = lf_path_join(dir, "crypto"), *dump, *p;
	struct lf_apply_env env;
	struct lf_err err = LF_ERR_INIT;
	json_t *o, *o2 = NULL;
	struct snap *a, *b;
	const char *except[] = { "/peer0.bank.example.com/tls/server.crt" };

	(void)state;
	memset(&env, 0, sizeof(env));
	env.crypto_dir = cdir;
	/* a leaf before its CA: a clear error, no files */
	assert_int_equal(lf_rtype_crypto.create(&env, lf_rset_get(rs, "crypto.bank.peer0"),
						&o, &err), LF_ENOTFOUND);
	assert_contains(err.msg, "no CA");
	json_decref(rt_create(&env, rs, "crypto.bank.ca"));
	json_decref(rt_create(&env, rs, "crypto.bank.tlsca"));
	json_decref(rt_create(&env, rs, "crypto.bank.msp"));
	o = rt_create(&env, rs, "crypto.bank.peer0");
	dump = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	assert_contains(dump, "\"dir\":\"peerOrganizations/bank.example.com/peers/peer0.bank.example.com\"");
	assert_contains(dump, "\"not_after\":\"20");
	assert_not_contains(dump, "PRIVATE");
	assert_int_equal(strlen(json_string_value(json_object_get(o, "cert_sha256"))), 64);
	assert_int_equal(strlen(json_string_value(json_object_get(o, "tls_cert_sha256"))), 64);
	free(dump);
	json_decref(rt_create(&env, rs, "crypto.bank.admin"));
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile ca/*.pem peers/*/msp/signcerts/*.pem "
			    "users/*/msp/signcerts/*.pem >/dev/null && openssl verify -CAfile "
			    "tlsca/*.pem peers/*/tls/server.crt >/dev/null", cdir, ORG), 0);
	/* update after a SAN change: only that TLS cert is re-issued */
	a = snap_take(cdir);
	fx_node_add_san(&s->orgs[1].nodes[0], "peer0.alt.example.com");
	rs2 = expand(s);
	assert_true(lf_rtype_crypto.in_place(&env, lf_rset_get(rs, "crypto.bank.peer0"), "sans"));
	assert_false(lf_rtype_crypto.in_place(&env, lf_rset_get(rs, "crypto.bank.peer0"), "dir"));
	assert_int_equal(lf_rtype_crypto.update(&env, lf_rset_get(rs, "crypto.bank.peer0"),
						lf_rset_get(rs2, "crypto.bank.peer0"), &o2, &err), 0);
	b = snap_take(cdir);
	assert_int_equal(snap_diff(a, b, except, 1), 0);
	assert_string_equal(json_string_value(json_object_get(o, "cert_sha256")),
			    json_string_value(json_object_get(o2, "cert_sha256")));
	assert_string_not_equal(json_string_value(json_object_get(o, "tls_cert_sha256")),
				json_string_value(json_object_get(o2, "tls_cert_sha256")));
	/* delete a node: its directory only; delete the CA: the whole org */
	assert_int_equal(lf_rtype_crypto.delete(&env, lf_rset_get(rs, "crypto.bank.peer0"), &err), 0);
	p = lf_xasprintf("%s/%s/peers/peer0.bank.example.com", cdir, ORG);
	assert_false(lf_path_exists(p));
	free(p);
	p = lf_xasprintf("%s/%s/ca/priv_sk", cdir, ORG);
	assert_true(lf_path_exists(p));
	assert_int_equal(lf_rtype_crypto.delete(&env, lf_rset_get(rs, "crypto.bank.peer0"), &err), 0);
	assert_int_equal(lf_rtype_crypto.delete(&env, lf_rset_get(rs, "crypto.bank.admin"), &err), 0);
	assert_int_equal(lf_rtype_crypto.delete(&env, lf_rset_get(rs, "crypto.bank.msp"), &err), 0);
	assert_int_equal(lf_rtype_crypto.delete(&env, lf_rset_get(rs, "crypto.bank.ca"), &err), 0);
	assert_int_equal(lf_rtype_crypto.delete(&env, lf_rset_get(rs, "crypto.bank.tlsca"), &err), 0);
	free(p);
	p = lf_path_join(cdir, ORG);
	assert_false(lf_path_exists(p));
	free(p);
	/* the org again: a NEW CA at the same paths; leaves must use it, not a
	 * CA cached from before (the cache is keyed by file identity) */
	json_decref(rt_create(&env, rs, "crypto.bank.ca"));
	json_decref(rt_create(&env, rs, "crypto.bank.tlsca"));
	json_decref(rt_create(&env, rs, "crypto.bank.peer1"));
	assert_int_equal(sh("cd '%s/%s' && openssl verify -CAfile ca/*.pem peers/*/msp/signcerts/*.pem "
			    ">/dev/null && openssl verify -CAfile tlsca/*.pem peers/*/tls/server.crt "
			    ">/dev/null", cdir, ORG), 0);
	json_decref(o);
	json_decref(o2);
	snap_free(a);
	snap_free(b);
	lf_rset_free(rs);
	lf_rset_free(rs2);
	fx_spec_free(s);
	rm_rf(dir);
	free(dir);
	free(cdir);
}

struct par_ctx {
	const struct lf_apply_env *env;
	const struct lf_rset *rs;
	_Atomic size_t next;
	_Atomic int failures;
};

static void *par_worker(void *p)
{
	struct par_ctx *c = p;
	size_t i;

	while ((i = atomic_fetch_add(&c->next, 1)) < c->rs->n) {
		const struct lf_resource *r = &c->rs->v[i];
		const char *kind = json_string_value(json_object_get(r->attrs, "kind"));
		struct lf_err err = LF_ERR_INIT;
		json_t *o = NULL;

		if (strcmp(kind, "node") != 0 && strcmp(kind, "user") != 0 &&
		    strcmp(kind, "msp") != 0)
			continue;
		if (lf_rtype_crypto.create(c->env, r, &o, &err) != 0) {
			print_error("%s: %s\n", r->addr, err.msg);
			atomic_fetch_add(&c->failures, 1);
		}
		json_decref(o);
	}
	return NULL;
}

/* the executor calls create on many leaves at once */
static void test_crypto_rtype_parallel(void **state)
{
	struct lf_spec *s = fx_spec_grid(2, 12, 2, 0);
	struct lf_rset *rs = expand(s);
	char *dir = mk_tmpdir();
	struct lf_apply_env env;
	struct par_ctx c;
	pthread_t t[6];
	size_t k;

	(void)state;
	memset(&env, 0, sizeof(env));
	env.crypto_dir = dir;
	memset(&c, 0, sizeof(c));
	c.env = &env;
	c.rs = rs;
	json_decref(rt_create(&env, rs, "crypto.org1.ca"));
	json_decref(rt_create(&env, rs, "crypto.org1.tlsca"));
	json_decref(rt_create(&env, rs, "crypto.org2.ca"));
	json_decref(rt_create(&env, rs, "crypto.org2.tlsca"));
	for (k = 0; k < LF_ARRAY_LEN(t); k++)
		assert_int_equal(pthread_create(&t[k], NULL, par_worker, &c), 0);
	for (k = 0; k < LF_ARRAY_LEN(t); k++)
		pthread_join(t[k], NULL);
	assert_int_equal(atomic_load(&c.failures), 0);
	for (k = 1; k <= 2; k++)
		assert_int_equal(sh("cd '%s/peerOrganizations/org%zu.example.com' && "
				    "test $(ls peers | wc -l) = 12 && test $(ls users | wc -l) = 3 && "
				    "openssl verify -CAfile ca/*.pem peers/*/msp/signcerts/*.pem "
				    "users/*/msp/signcerts/*.pem >/dev/null && openssl verify -CAfile "
				    "tlsca/*.pem peers/*/tls/server.crt users/*/tls/client.crt >/dev/null",
				    dir, k), 0);
	lf_rset_free(rs);
	fx_spec_free(s);
	rm_rf(dir);
	free(dir);
}

/* Fabric's own JS code reads the MSPs; a swapped key must be caught */
static void test_crypto_fabric_common_reads_msp(void **state)
{
	char *out = render_small(NULL);
	int rc;

	(void)state;
	if (sh("command -v node >/dev/null") != 0) {
		print_message("skipped: node not found\n");
		cleanup_out(out);
		skip();
	}
	rc = sh("node '%s/tests/node/check-msp.js' '%s/%s' BankMSP", LF_SOURCE_DIR, out, ORG);
	if (rc == 77) {
		print_message("skipped: fabric-common not installed (tests/node)\n");
		cleanup_out(out);
		skip();
	}
	assert_int_equal(rc, 0);
	assert_int_equal(sh("node '%s/tests/node/check-msp.js' '%s/%s' OrdererMSP", LF_SOURCE_DIR,
			    out, OORG), 0);
	/* negative: peer1's key in peer0's keystore */
	assert_int_equal(sh("cd '%s/%s/peers' && cp peer1.bank.example.com/msp/keystore/priv_sk "
			    "peer0.bank.example.com/msp/keystore/priv_sk", out, ORG), 0);
	assert_int_equal(sh("node '%s/tests/node/check-msp.js' '%s/%s' BankMSP 2>/dev/null",
			    LF_SOURCE_DIR, out, ORG), 1);
	cleanup_out(out);
}

/* ---- CLI: ledgerform render crypto ------------------------------- */

static int run_cli(char **out_text, int argc, char **argv)
{
	char *tmp = lf_xasprintf("%s/tmp-crypto-cli-XXXXXX", LF_BINARY_DIR);
	int fd = mkstemp(tmp), saved, rc;
	size_t len = 0;

	assert_true(fd >= 0);
	fflush(stdout);
	saved = dup(1);
	assert_true(saved >= 0 && dup2(fd, 1) == 1);
	rc = lf_cmd_render_crypto(argc, argv);
	fflush(stdout);
	assert_true(dup2(saved, 1) == 1);
	close(saved);
	close(fd);
	assert_int_equal(lf_read_file(tmp, out_text, &len, NULL), 0);
	unlink(tmp);
	free(tmp);
	return rc;
}

static void test_crypto_cli_render(void **state)
{
	char *dir = mk_tmpdir(), *spec = lf_path_join(dir, "net.yaml");
	char *out = lf_path_join(dir, "crypto"), *text = NULL, *t;
	char *argv_ok[] = { "crypto", "-f", spec, "-o", out, "--threads", "2", NULL };
	char *argv_help[] = { "crypto", "--help", NULL };
	char *argv_noout[] = { "crypto", "-f", spec, NULL };
	char *argv_badthreads[] = { "crypto", "-f", spec, "-o", out, "--threads", "x", NULL };
	static const char yaml[] =
		"name: clitest\n"
		"orgs:\n"
		"  - name: ordering\n"
		"    orderers: {count: 1}\n"
		"  - name: org1\n"
		"    peers: {count: 2, sans: [localhost, 127.0.0.1]}\n"
		"    users: 1\n";

	(void)state;
	assert_int_equal(lf_write_file_atomic(spec, yaml, sizeof(yaml) - 1, 0644, NULL), 0);
	assert_int_equal(run_cli(&text, 2, argv_help), 0);
	assert_contains(text, "usage: ledgerform render crypto -f SPEC -o DIR");
	free(text);
	assert_int_equal(run_cli(&text, 3, argv_noout), 1);
	free(text);
	assert_int_equal(run_cli(&text, 7, argv_badthreads), 1);
	free(text);
	assert_false(lf_path_exists(out));
	assert_int_equal(run_cli(&text, 7, argv_ok), 0);
	free(text);
	assert_int_equal(sh("cd '%s/peerOrganizations/org1.example.com' && "
			    "openssl verify -CAfile ca/ca.org1.example.com-cert.pem "
			    "peers/*/msp/signcerts/*.pem users/*/msp/signcerts/*.pem >/dev/null && "
			    "openssl verify -CAfile tlsca/tlsca.org1.example.com-cert.pem "
			    "peers/*/tls/server.crt users/*/tls/client.crt >/dev/null && "
			    "test -d users/User1@org1.example.com && test ! -e users/User2@org1.example.com",
			    out), 0);
	assert_int_equal(sh("test -f '%s/ordererOrganizations/ordering.example.com/orderers/"
			    "orderer0.ordering.example.com/tls/server.key'", out), 0);
	t = x509_text(out, "peerOrganizations/org1.example.com/peers/peer1.org1.example.com/tls/server.crt");
	assert_contains(t, "DNS:peer1.org1.example.com, DNS:peer1, DNS:localhost, IP Address:127.0.0.1");
	free(t);
	/* a spec error: exit 1, the diagnostic names the file */
	assert_int_equal(lf_write_file_atomic(spec, "name: x\norgs: 3\n", 16, 0644, NULL), 0);
	assert_int_equal(run_cli(&text, 7, argv_ok), 1);
	free(text);
	rm_rf(dir);
	free(dir);
	free(spec);
	free(out);
}
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_openssl_verify_all),
		cmocka_unit_test(test_crypto_profiles),
		cmocka_unit_test(test_crypto_validity),
		cmocka_unit_test(test_crypto_file_modes),
		cmocka_unit_test(test_crypto_low_s),
		cmocka_unit_test(test_crypto_rerender_is_noop),
		cmocka_unit_test(test_crypto_repairs_tampered_leaf),
		cmocka_unit_test(test_crypto_add_peer_keeps_everything),
		cmocka_unit_test(test_crypto_san_change_reissues_one_leaf),
		cmocka_unit_test(test_crypto_remove_node_removes_identity),
		cmocka_unit_test(test_crypto_ca_key_never_regenerated),
		cmocka_unit_test(test_crypto_imported_ca_is_issuer),
		cmocka_unit_test(test_crypto_bad_import_writes_nothing),
		cmocka_unit_test(test_crypto_imported_rsa_ca),
		cmocka_unit_test(test_crypto_imported_tls_ca),
		cmocka_unit_test(test_crypto_expand_resources),
		cmocka_unit_test(test_crypto_expand_import_fingerprint),
		cmocka_unit_test(test_crypto_rtype_callbacks),
		cmocka_unit_test(test_crypto_rtype_parallel),
		cmocka_unit_test(test_crypto_fabric_common_reads_msp),
		cmocka_unit_test(test_crypto_cli_render),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
