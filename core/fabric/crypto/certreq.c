/*
 * Certificate requests of an org whose CA is imported without its key
 * (spec: ca: {cert, tls_cert}): the org issues its nodes' certificates.
 *
 * ledgerform makes each node's keys as for any org (0600, here: it runs
 * the nodes) but cannot issue their certificates. apply writes one file
 * per org, WORKDIR/certs/certs.ORG.json ("ledgerform": "cert-requests"):
 * per certificate ("peer0.sign", "peer0.tls") a PKCS#10 request made with
 * the node's key and, in plain fields, what the certificate will say
 * (subject, SANs, extensions: the same profile ledgerform's own CA code
 * issues), and the identity waits (LF_EPENDING). `ledgerform issue FILE
 * --ca-cert --ca-key [--tls-ca-cert --tls-ca-key]`, run where the org
 * keeps its CA keys, checks each request against its fields and against
 * the CA certificate the file names (sha256), issues with the code that
 * issues every ledgerform certificate (lfc_cert_issue_der) and writes the
 * certificates into the same file ("cert"). The next apply checks each
 * one (chains to the spec's CA, the node's public key, subject, SANs and
 * extensions as requested, validity) before it goes into the crypto tree,
 * and drops an identity's entries once its files are written; the file
 * goes with its last entry. Several identities of an org share the file:
 * each read-modify-write holds one process-wide lock.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/util/util.h"

#define REQ_KIND "cert-requests"

static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;

char *lfc_req_file(const char *reqdir, const char *org)
{
	return lf_xasprintf("%s/certs.%s.json", reqdir, org);
}

static const char *S(const json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static char *name_text(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long len;

	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(b, &p);
	s = lf_xasprintf("%.*s", (int)len, p ? p : "");
	BIO_free(b);
	return s;
}

/* the extensions of cert x as {"name": "text"} (what the org signs) */
static json_t *exts_json(X509 *x)
{
	json_t *j = json_object();
	int i;

	for (i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
		BIO *b = BIO_new(BIO_s_mem());
		char *p = NULL, *v;
		long len;

		if (X509_EXTENSION_get_critical(e))
			BIO_puts(b, "critical, ");
		if (!X509V3_EXT_print(b, e, 0, 0))
			BIO_puts(b, "(unprintable)");
		len = BIO_get_mem_data(b, &p);
		v = lf_xasprintf("%.*s", (int)len, p ? p : "");
		json_object_set_new(j, nid != NID_undef ? OBJ_nid2ln(nid) : "unknown",
				    json_string(v));
		free(v);
		BIO_free(b);
	}
	ERR_clear_error();
	return j;
}

static json_t *sans_json(const struct lfc_certspec *cs)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < cs->nsans; i++)
		json_array_append_new(a, json_string(cs->sans[i]));
	return a;
}

/* the request's plain fields, without the CSR: what an entry must say to
 * still be the one wanted */
static json_t *want_fields(const char *ident, const char *kind,
			   const struct lfc_certspec *cs,
			   const struct lfc_ca *issuer, EVP_PKEY *key)
{
	X509 *t = lfc_cert_template(cs, issuer);
	char pub[65], *subj;
	json_t *j;

	if (!t)
		return NULL;
	lfc_pub_sha256(key, pub);
	subj = name_text(X509_get_subject_name(t));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:o, s:s, s:o, s:s, s:s}",
		      "identity", ident, "profile", kind, "cn", cs->cn, "subject", subj,
		      "ou", cs->ou, "sans", sans_json(cs), "issuer_sha256", issuer->sha256,
		      "extensions", exts_json(t), "public_key_sha256", pub,
		      "key_algorithm", "ecdsa-p256-sha256");
	free(subj);
	X509_free(t);
	return j;
}

/* a PKCS#10 request of key for cs: the template's subject and its
 * extensions but the issuer's key identifier (PEM, caller frees) */
static char *make_csr(const struct lfc_certspec *cs, const struct lfc_ca *issuer,
		      EVP_PKEY *key, struct lf_err *err)
{
	X509 *t = lfc_cert_template(cs, issuer);
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *sk = sk_X509_EXTENSION_new_null();
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL, *p = NULL;
	long len;
	int i, ok = t && r && sk && b;

	for (i = 0; ok && i < X509_get_ext_count(t); i++) {
		X509_EXTENSION *e = X509_get_ext(t, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_authority_key_identifier)
			ok = sk_X509_EXTENSION_push(sk, e) > 0;
	}
	ok = ok && X509_REQ_set_version(r, 0) == 1 &&
	     X509_REQ_set_subject_name(r, X509_get_subject_name(t)) == 1 &&
	     X509_REQ_set_pubkey(r, key) == 1 && X509_REQ_add_extensions(r, sk) == 1 &&
	     X509_REQ_sign(r, key, EVP_sha256()) > 0 && PEM_write_bio_X509_REQ(b, r) == 1;
	if (ok) {
		len = BIO_get_mem_data(b, &p);
		pem = lf_xasprintf("%.*s", (int)len, p);
	} else {
		lf_err_set(err, LF_ERROR, "cannot make the certificate request of '%s'", cs->cn);
	}
	sk_X509_EXTENSION_free(sk); /* the extensions belong to t */
	BIO_free(b);
	X509_REQ_free(r);
	X509_free(t);
	ERR_clear_error();
	return pem;
}

/* does entry e still ask for what want says? (the CSR and the issued
 * certificate aside) */
static bool entry_is(const json_t *e, const json_t *want)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)want, k, v)
		if (!json_equal(v, json_object_get(e, k)))
			return false;
	return true;
}

/* The file as this process last wrote or read it, parsed: an org's
 * identities each read-modify-write the whole file (under req_lock), and
 * parsing it again each time made a round of 500 peers quadratic. Valid
 * while the file is the same inode, size and mtime; callers change the
 * object in place, so a failed write drops it (cache_drop). */
static struct {
	char *path;
	struct stat st;
	json_t *j;
} cache;

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void cache_drop(void)
{
	free(cache.path);
	json_decref(cache.j);
	memset(&cache, 0, sizeof(cache));
}

static void cache_put(const char *path, json_t *j)
{
	struct stat st;

	if (cache.j != j || !lf_streq(cache.path, path)) {
		json_incref(j);
		cache_drop();
		cache.path = lf_xstrdup(path);
		cache.j = j;
	}
	if (stat(path, &st) == 0)
		cache.st = st;
	else
		cache_drop();
}

static int load_reqs(json_t **out, const char *path, struct lf_err *err)
{
	json_error_t je;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	json_t *j;

	*out = NULL;
	if (stat(path, &st) != 0) {
		cache_drop();
		return 0;
	}
	if (cache.j && lf_streq(cache.path, path) && same_file(&cache.st, &st)) {
		*out = json_incref(cache.j);
		return 0;
	}
	j = lf_read_file(path, &text, &len, NULL) == 0 ? json_loadb(text, len, 0, &je) : NULL;
	free(text);
	if (!j || !lf_streq(S(j, "ledgerform"), REQ_KIND) ||
	    !json_is_object(json_object_get(j, "requests"))) {
		json_decref(j);
		return lf_err_set(err, LF_EINVALID, "'%s' is not a ledgerform certificate "
				  "request file (\"ledgerform\": \"" REQ_KIND "\", "
				  "\"requests\"): move it away and apply again", path);
	}
	*out = j;
	cache_put(path, j);
	return 0;
}

static int save_reqs(const char *path, json_t *j, struct lf_err *err)
{
	char *dir = lf_path_dirname(path), *text;
	int rc = lf_mkdirs(dir, 0755, err);

	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (rc == 0)
		rc = lf_write_file_atomic(path, text, strlen(text), 0644, err);
	if (rc == 0)
		cache_put(path, j);
	free(text);
	free(dir);
	return rc;
}

/* the issued certificate of entry e, checked against what was asked: the
 * issuer's signature, the node's key, subject/SANs/extensions, validity.
 * The PEM on success (caller frees) */
static int check_issued(const json_t *e, const char *name, const char *path,
			const struct lfc_req *h, char **pem, size_t *len,
			struct lf_err *err)
{
	const char *cert = S(e, "cert");
	X509 *x = cert ? lfc_cert_parse(cert, strlen(cert)) : NULL;
	const char *why = NULL;
	time_t soon = time(NULL) + 3600;

	if (!x)
		why = "is not a PEM certificate";
	else if (X509_check_issued(h->issuer->cert, x) != X509_V_OK ||
		 X509_verify(x, X509_get0_pubkey(h->issuer->cert)) != 1)
		why = "was not issued by the org's CA certificate the spec names "
		      "(issuer or signature does not match)";
	else if (EVP_PKEY_eq(X509_get0_pubkey(x), h->key) != 1)
		why = "is not for the node's key (its public key is another)";
	else if (X509_cmp_time(X509_get0_notBefore(x), &soon) > 0)
		why = "is not valid yet (notBefore more than an hour ahead)";
	else if (!lfc_cert_current(x, h->cs, h->issuer))
		why = "does not say what was requested (subject, SANs or extensions "
		      "differ) or has expired";
	if (why) {
		X509_free(x);
		ERR_clear_error();
		return lf_err_set(err, LF_EINVALID, "%s: the certificate in '%s' %s; "
				  "refusing it (issue it again from the request: "
				  "`ledgerform issue`)", name, path, why);
	}
	*pem = lfc_cert_pem(x, len);
	X509_free(x);
	return 0;
}

int lfc_req_round(const char *reqdir, const struct lfc_org *o, const char *ident,
		  struct lfc_req *h, size_t n, struct lf_err *err)
{
	char *path = lfc_req_file(reqdir, o->name);
	json_t *j = NULL, *reqs;
	struct lf_buf what = LF_BUF_INIT;
	bool changed = false, tls = false;
	size_t i;
	int rc;

	pthread_mutex_lock(&req_lock);
	rc = load_reqs(&j, path, err);
	if (rc == 0 && !j)
		j = json_pack("{s:s, s:i, s:s}", "ledgerform", REQ_KIND, "version", 1,
			      "org", o->name);
	/* the CAs the spec names now (a changed one: the org's issue refuses
	 * the old one, and every request for it is made again below) */
	for (i = 0; rc == 0 && i < 2; i++) {
		json_t *ca = json_pack("{s:s, s:s}", "cert_sha256", i ? o->ext_tls_sha : o->ext_sha,
				       "cert", i ? o->ext_tls_cert : o->ext_cert);

		if (!json_equal(ca, json_object_get(j, i ? "tlsca" : "ca")))
			changed = true;
		json_object_set_new(j, i ? "tlsca" : "ca", ca);
	}
	if (rc == 0 && !json_object_get(j, "requests"))
		json_object_set_new(j, "requests", json_object());
	reqs = j ? json_object_get(j, "requests") : NULL;
	for (i = 0; rc == 0 && i < n; i++) {
		char *name = lf_xasprintf("%s.%s", ident, h[i].kind), *csr;
		json_t *want, *e = json_object_get(reqs, name);

		if (!h[i].need) {
			free(name);
			continue;
		}
		want = want_fields(ident, h[i].kind, h[i].cs, h[i].issuer, h[i].key);
		if (!want)
			rc = lf_err_set(err, LF_ERROR, "%s: cannot describe the certificate", name);
		if (rc == 0 && e && entry_is(e, want) && S(e, "cert")) {
			rc = check_issued(e, name, path, &h[i], &h[i].pem, &h[i].len, err);
		} else if (rc == 0 && !(e && entry_is(e, want) && S(e, "csr"))) {
			/* new, or asked for something else since: a new request */
			csr = make_csr(h[i].cs, h[i].issuer, h[i].key, err);
			if (!csr)
				rc = LF_ERROR;
			else
				json_object_set_new(want, "csr", json_string(csr));
			free(csr);
			if (rc == 0)
				json_object_set(reqs, name, want);
			changed = true;
		}
		if (rc == 0 && !h[i].pem) {
			lf_buf_printf(&what, "%s%s", what.len ? " and " : "",
				      lf_streq(h[i].kind, "tls") ? "TLS" : "signing");
			tls = tls || lf_streq(h[i].kind, "tls");
		}
		json_decref(want);
		free(name);
	}
	if (rc == 0 && changed)
		rc = save_reqs(path, j, err);
	if (rc != 0) /* j may differ from the file now */
		cache_drop();
	pthread_mutex_unlock(&req_lock);
	if (rc == 0 && what.len)
		rc = lf_err_set(err, LF_EPENDING, "waiting for certificates: org '%s' keeps its "
				"CA keys and issues %s's %.*s certificate%s (requests in %s): run "
				"`ledgerform issue %s --ca-cert <%s CA cert> --ca-key <its key>%s` "
				"where those keys are kept, then `ledgerform apply`", o->name,
				ident, (int)what.len, what.data,
				strstr(what.data, " and ") ? "s" : "", path, path, o->name,
				tls ? " --tls-ca-cert <TLS CA cert> --tls-ca-key <its key>" : "");
	lf_buf_free(&what);
	json_decref(j);
	free(path);
	return rc;
}

int lfc_req_done(const char *reqdir, const struct lfc_org *o, const char *ident,
		 struct lf_err *err)
{
	static const char *const kinds[] = { "sign", "tls" };
	char *path = lfc_req_file(reqdir, o->name);
	json_t *j = NULL, *reqs;
	bool changed = false;
	size_t i;
	int rc;

	pthread_mutex_lock(&req_lock);
	rc = load_reqs(&j, path, err);
	reqs = j ? json_object_get(j, "requests") : NULL;
	for (i = 0; rc == 0 && reqs && i < LF_ARRAY_LEN(kinds); i++) {
		char *name = lf_xasprintf("%s.%s", ident, kinds[i]);

		changed |= json_object_del(reqs, name) == 0;
		free(name);
	}
	if (rc == 0 && changed && json_object_size(reqs) == 0 && unlink(path) != 0)
		rc = lf_err_sys(err, LF_ERROR, "cannot remove '%s'", path);
	else if (rc == 0 && changed && json_object_size(reqs) > 0)
		rc = save_reqs(path, j, err);
	if (rc != 0 || (changed && json_object_size(reqs) == 0))
		cache_drop();
	pthread_mutex_unlock(&req_lock);
	json_decref(j);
	free(path);
	return rc;
}

/* ---- `ledgerform issue` (the org's machine) ------------------------ */

static const char issue_usage[] =
	"Usage: ledgerform issue FILE --ca-cert CA.pem --ca-key CA.key\n"
	"                        [--tls-ca-cert TLSCA.pem --tls-ca-key TLSCA.key]\n\n"
	"Issue the certificates an org's certificate request file asks for\n"
	"(WORKDIR/certs/certs.ORG.json, written by apply for an org whose CA is\n"
	"imported without its key: ca: {cert, tls_cert}). Run it where the org\n"
	"keeps its CA keys. Each request is checked (its signature, its P-256\n"
	"key, its subject and SANs against the plain fields the file lists) and\n"
	"issued with ledgerform's cryptogen profile; a CA certificate that is\n"
	"not the one the file names (by SHA-256) is refused. The certificates\n"
	"are written into FILE (\"cert\" of each request); bring FILE back and\n"
	"run `ledgerform apply`, which checks them before use.\n\n"
	"  --ca-cert, --ca-key          the org's signing CA (signing requests)\n"
	"  --tls-ca-cert, --tls-ca-key  the org's TLS CA (TLS requests)\n";

struct issue_opts {
	const char *file, *ca_cert, *ca_key, *tls_cert, *tls_key;
};

static int issue_parse(int argc, char **argv, struct issue_opts *o)
{
	static const struct option lo[] = {
		{ "ca-cert", required_argument, NULL, 'c' },
		{ "ca-key", required_argument, NULL, 'k' },
		{ "tls-ca-cert", required_argument, NULL, 'C' },
		{ "tls-ca-key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->ca_cert = optarg; break;
		case 'k': o->ca_key = optarg; break;
		case 'C': o->tls_cert = optarg; break;
		case 'K': o->tls_key = optarg; break;
		case 'h': fputs(issue_usage, stdout); return 0;
		default: fputs(issue_usage, stderr); return 2;
		}
	}
	if (optind + 1 != argc || !o->ca_cert != !o->ca_key || !o->tls_cert != !o->tls_key) {
		fprintf(stderr, "ledgerform issue: FILE and CA pairs (a cert with its key) "
			"are required\n%s", issue_usage);
		return 2;
	}
	o->file = argv[optind];
	return -1;
}

/* the CA the file's section sec names, from the pair given */
static int issue_ca(struct lfc_ca **out, const json_t *j, const char *sec,
		    const char *cert, const char *key, const char *opt,
		    struct lf_err *err)
{
	const char *want = S(json_object_get(j, sec), "cert_sha256");
	int rc;

	*out = NULL;
	if (!cert)
		return lf_err_set(err, LF_EINVALID, "the file has %s requests: give "
				  "--%s-cert and --%s-key", sec, opt, opt);
	rc = lfc_ca_import(out, S(j, "org"), cert, key, err);
	if (rc == 0 && !lf_streq((*out)->sha256, want)) {
		rc = lf_err_set(err, LF_EINVALID, "'%s' (sha256 %s) is not the org's %s "
				"certificate the file names (sha256 %s): refusing to issue",
				cert, (*out)->sha256, lf_streq(sec, "ca") ? "CA" : "TLS CA",
				want ? want : "none");
		lfc_ca_free(*out);
		*out = NULL;
	}
	return rc;
}

/* sans of an entry (owned strings) */
static char **entry_sans(const json_t *e, size_t *n)
{
	const json_t *a = json_object_get(e, "sans");
	char **v = lf_xcalloc(json_array_size(a) + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		v[i] = lf_xstrdup(json_string_value(json_array_get(a, i)) ?
				  json_string_value(json_array_get(a, i)) : "");
	*n = i;
	return v;
}

/* the request's SAN extension (in its extension request) is want's */
static bool same_sans(const STACK_OF(X509_EXTENSION) *ext, X509_EXTENSION *want)
{
	X509_EXTENSION *have = NULL;
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(ext); i++)
		if (OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(ext, i))) ==
		    NID_subject_alt_name)
			have = sk_X509_EXTENSION_value(ext, i);
	if (!have || !want)
		return !have && !want;
	return ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(have),
				     X509_EXTENSION_get_data(want)) == 0;
}

/* one request: checked against its fields, then issued into e's "cert" */
static int issue_one(json_t *e, const char *name, const struct lfc_ca *ca,
		     struct lfc_worker *w, struct lf_err *err)
{
	const char *csr = S(e, "csr");
	bool tls = lf_streq(S(e, "profile"), "tls");
	BIO *b = csr ? BIO_new_mem_buf(csr, -1) : NULL;
	X509_REQ *r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pub = r ? X509_REQ_get0_pubkey(r) : NULL;
	struct lfc_certspec cs = { tls ? LFC_PROFILE_TLS : LFC_PROFILE_SIGN, S(e, "cn"),
				   NULL, tls ? NULL : S(e, "ou"), NULL, 0 };
	char **sans = entry_sans(e, &cs.nsans), pub_sha[65] = "", *pem;
	X509 *t = NULL;
	STACK_OF(X509_EXTENSION) *ext = NULL;
	struct lfc_issued c;
	size_t i, len = 0;
	int rc = 0, k;

	memset(&c, 0, sizeof(c));
	cs.sans = sans;
	if (pub)
		lfc_pub_sha256(pub, pub_sha);
	if (!r || !cs.cn || (!tls && !cs.ou))
		rc = lf_err_set(err, LF_EINVALID, "%s: no certificate request, cn or ou", name);
	else if (X509_REQ_verify(r, pub) != 1 || !EVP_PKEY_is_a(pub, "EC") ||
		 EVP_PKEY_get_bits(pub) != 256)
		rc = lf_err_set(err, LF_EINVALID, "%s: the request's signature does not "
				"verify, or its key is not P-256", name);
	else if (!lf_streq(pub_sha, S(e, "public_key_sha256")))
		rc = lf_err_set(err, LF_EINVALID, "%s: the request's key is not the one "
				"the file lists (public_key_sha256)", name);
	if (rc == 0 && !(t = lfc_cert_template(&cs, ca)))
		rc = lf_err_set(err, LF_EINVALID, "%s: cannot build the certificate", name);
	if (rc == 0 && X509_NAME_cmp(X509_get_subject_name(t), X509_REQ_get_subject_name(r)))
		rc = lf_err_set(err, LF_EINVALID, "%s: the request's subject is not the "
				"one the file lists (cn/ou): a changed file; run apply again "
				"for a new request", name);
	/* the SANs the request carries are the ones listed */
	ext = rc == 0 ? X509_REQ_get_extensions(r) : NULL;
	k = t ? X509_get_ext_by_NID(t, NID_subject_alt_name, -1) : -1;
	if (rc == 0 && !same_sans(ext, k >= 0 ? X509_get_ext(t, k) : NULL))
		rc = lf_err_set(err, LF_EINVALID, "%s: the request's SANs are not the ones "
				"the file lists: a changed file; run apply again for a new "
				"request", name);
	if (rc == 0)
		rc = lfc_cert_issue_der(&c, &cs, pub, ca, w, err);
	if (rc == 0) {
		char *subj = name_text(X509_get_subject_name(t)); /* as issued */

		pem = lfc_pem_encode("CERTIFICATE", c.der, c.len, &len);
		json_object_set_new(e, "cert", json_stringn(pem, len));
		json_object_set_new(e, "cert_sha256", json_string(c.sha256));
		printf("issued %s: %s (sha256 %s, until %s)\n", name, subj, c.sha256,
		       c.not_after);
		free(subj);
		for (i = 0; i < cs.nsans; i++)
			printf("  SAN %s\n", cs.sans[i]);
		free(pem);
	}
	lfc_issued_clear(&c);
	sk_X509_EXTENSION_pop_free(ext, X509_EXTENSION_free);
	X509_free(t);
	X509_REQ_free(r);
	BIO_free(b);
	for (i = 0; i < cs.nsans; i++)
		free(sans[i]);
	free(sans);
	ERR_clear_error();
	return rc;
}

static int issue_run(const struct issue_opts *o, struct lf_err *err)
{
	struct lfc_ca *ca = NULL, *tlsca = NULL;
	struct lfc_worker w;
	json_t *j = NULL, *reqs, *e;
	const char *name;
	size_t issued = 0;
	int rc = load_reqs(&j, o->file, err);

	if (rc == 0 && !j)
		rc = lf_err_set(err, LF_ENOTFOUND, "'%s' does not exist", o->file);
	if (rc == 0)
		rc = lfc_worker_init(&w, err);
	if (rc != 0) {
		json_decref(j);
		return rc;
	}
	reqs = json_object_get(j, "requests");
	json_object_foreach(reqs, name, e) {
		bool tls = lf_streq(S(e, "profile"), "tls");
		struct lfc_ca **which = tls ? &tlsca : &ca;

		if (S(e, "cert"))
			continue;
		if (!*which)
			rc = tls ? issue_ca(which, j, "tlsca", o->tls_cert, o->tls_key, "tls-ca", err)
				 : issue_ca(which, j, "ca", o->ca_cert, o->ca_key, "ca", err);
		if (rc == 0 && !lf_streq(S(e, "issuer_sha256"), (*which)->sha256))
			rc = lf_err_set(err, LF_EINVALID, "%s: asks for issuer sha256 %.12s, "
					"not the %s certificate (sha256 %.12s)", name,
					S(e, "issuer_sha256"), tls ? "TLS CA" : "CA",
					(*which)->sha256);
		if (rc == 0)
			rc = issue_one(e, name, *which, &w, err);
		if (rc != 0)
			break;
		issued++;
	}
	if (rc == 0 && issued)
		rc = save_reqs(o->file, j, err);
	if (rc == 0)
		printf("%zu certificate%s issued into %s%s\n", issued, issued == 1 ? "" : "s",
		       o->file, issued ? ": bring it back and run `ledgerform apply`" : "");
	lfc_worker_fini(&w);
	lfc_ca_free(ca);
	lfc_ca_free(tlsca);
	json_decref(j);
	return rc;
}

int lf_cmd_issue(int argc, char **argv)
{
	struct issue_opts o = { NULL, NULL, NULL, NULL, NULL };
	struct lf_err err = LF_ERR_INIT;
	int rc = issue_parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (issue_run(&o, &err) != 0) {
		fprintf(stderr, "ledgerform issue: %s\n", err.msg);
		return 1;
	}
	return 0;
}
