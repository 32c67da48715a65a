/*
 * Org CAs: load an existing CA (never regenerate its key), create one when
 * absent and allowed, or load and validate an imported CA named in the
 * spec. Imported CA files are only read, never written or copied (except
 * the certificate, into the org's ca/ or tlsca/ folder).
 */
#include "core/fabric/crypto/crypto_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/util/util.h"

static bool key_type_ok(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "EC") || EVP_PKEY_is_a(k, "RSA");
}

static int read_cert(X509 **out, const char *org, const char *what,
		     const char *path, struct lf_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	struct lf_err e = LF_ERR_INIT;

	*out = NULL;
	if (lf_read_file(path, &pem, &len, &e) != 0)
		return lf_err_set(err, LF_EINVALID, "org '%s': cannot read %s: %s",
				  org, what, e.msg);
	*out = lfc_cert_parse(pem, len);
	free(pem);
	if (!*out)
		return lf_err_set(err, LF_EINVALID,
				  "org '%s': %s '%s' is not a PEM X.509 certificate",
				  org, what, path);
	return 0;
}

static int read_key(EVP_PKEY **out, const char *org, const char *what,
		    const char *path, struct lf_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	struct lf_err e = LF_ERR_INIT;

	*out = NULL;
	if (lf_read_file(path, &pem, &len, &e) != 0)
		return lf_err_set(err, LF_EINVALID, "org '%s': cannot read %s: %s",
				  org, what, e.msg);
	*out = lfc_key_parse(pem, len);
	lf_free_secret(pem, len);
	if (!*out)
		return lf_err_set(err, LF_EINVALID,
				  "org '%s': %s '%s' is not a PEM private key", org,
				  what, path);
	return 0;
}

/* load and validate an imported CA pair (key_path NULL: the certificate
 * of a CA whose key its org keeps) */
static int load_import(struct lfc_ca **out, const char *org,
		       const char *cert_path, const char *key_path,
		       struct lf_err *err)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	rc = read_cert(&cert, org, "CA certificate", cert_path, err);
	if (rc == 0 && !(X509_get_extension_flags(cert) & EXFLAG_CA))
		rc = lf_err_set(err, LF_EINVALID,
				"org '%s': certificate '%s' is not a CA certificate "
				"(basicConstraints CA:TRUE missing)", org, cert_path);
	if (rc == 0 && !key_path) /* the org keeps the key: the cert alone */
		return lfc_ca_from(out, cert, NULL, err);
	if (rc == 0)
		rc = read_key(&key, org, "CA key", key_path, err);
	if (rc == 0 && !key_type_ok(key))
		rc = lf_err_set(err, LF_EINVALID,
				"org '%s': CA key '%s': only EC and RSA keys can sign",
				org, key_path);
	if (rc == 0 && X509_check_private_key(cert, key) != 1)
		rc = lf_err_set(err, LF_EINVALID,
				"org '%s': CA key '%s' does not match certificate '%s'",
				org, key_path, cert_path);
	ERR_clear_error();
	if (rc == 0)
		return lfc_ca_from(out, cert, key, err);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

int lfc_ca_import(struct lfc_ca **out, const char *org, const char *cert_path,
		  const char *key_path, struct lf_err *err)
{
	return load_import(out, org, cert_path, key_path, err);
}

int lfc_ca_check_import(const char *org, const char *cert_path,
			const char *key_path, char sha_out[65],
			struct lf_err *err)
{
	struct lfc_ca *ca = NULL;
	int rc = load_import(&ca, org, cert_path, key_path, err);

	if (rc == 0 && sha_out)
		memcpy(sha_out, ca->sha256, 65);
	lfc_ca_free(ca);
	return rc;
}

static int write_cert(const char *path, X509 *x, struct lfc_worker *w,
		      struct lf_err *err)
{
	size_t len = 0;
	char *pem = lfc_cert_pem(x, &len);
	int rc;

	if (!pem)
		return lf_err_set(err, LF_ERROR, "cannot encode certificate '%s'", path);
	rc = lfc_file_put(path, pem, len, 0644, w, err);
	free(pem);
	return rc < 0 ? rc : 0;
}

/* generate a new CA key (written first, 0600) and its self-signed cert */
static int ca_generate(X509 **cert, EVP_PKEY **key, const char *keypath,
		       const struct lfc_certspec *cs, struct lfc_worker *w,
		       struct lf_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	int rc;

	rc = lfc_keygen(w, key, err);
	if (rc == 0)
		rc = lfc_key_pem(*key, &pem, &len, err);
	if (rc == 0) {
		rc = lfc_file_put(keypath, pem, len, 0600, w, err);
		rc = rc < 0 ? rc : 0;
	}
	lf_free_secret(pem, len);
	if (rc == 0)
		rc = lfc_cert_issue(cert, cs, *key, NULL, w, err);
	return rc;
}

struct ca_paths {
	char *parent, *dir, *cert, *key;
};

static void ca_paths_free(struct ca_paths *p)
{
	free(p->parent);
	free(p->dir);
	free(p->cert);
	free(p->key);
}

static int tighten_dir(const char *dir, const char *org, struct lf_err *err)
{
	struct stat st;

	if (stat(dir, &st) == 0 && (st.st_mode & 077) != 0 && chmod(dir, 0700) != 0)
		return lf_err_sys(err, LF_ERROR, "org '%s': cannot chmod '%s'", org, dir);
	return 0;
}

/* our own CA under dir: reuse, complete (cert from existing key) or make */
static int ca_local(X509 **cert, EVP_PKEY **key, const struct ca_paths *p,
		    const char *org, const struct lfc_certspec *cs, bool create,
		    struct lfc_worker *w, struct lf_err *err)
{
	bool have_key = lf_path_exists(p->key), have_cert = lf_path_exists(p->cert);
	int rc = 0;

	if (have_key)
		rc = read_key(key, org, "CA key", p->key, err);
	if (rc == 0 && have_cert)
		rc = read_cert(cert, org, "CA certificate", p->cert, err);
	if (rc != 0)
		return rc;
	if (have_cert && !have_key)
		return lf_err_set(err, LF_ECONFLICT,
				  "org '%s': CA certificate '%s' exists but its key "
				  "'%s' is missing; refusing to make a new CA key",
				  org, p->cert, p->key);
	if (have_cert && X509_check_private_key(*cert, *key) != 1) {
		ERR_clear_error();
		return lf_err_set(err, LF_ECONFLICT,
				  "org '%s': CA key '%s' does not match certificate '%s'",
				  org, p->key, p->cert);
	}
	if (have_cert)
		return 0;
	if (!create)
		return lf_err_set(err, LF_ENOTFOUND,
				  "org '%s': no CA under '%s'", org, p->dir);
	rc = lf_mkdirs(p->parent, 0755, err);
	if (rc == 0)
		rc = lf_mkdirs(p->dir, 0700, err);
	if (rc == 0 && !have_key)
		rc = ca_generate(cert, key, p->key, cs, w, err);
	else if (rc == 0) /* key kept: only the certificate is made again */
		rc = lfc_cert_issue(cert, cs, *key, NULL, w, err);
	if (rc == 0)
		rc = write_cert(p->cert, *cert, w, err);
	return rc;
}

int lfc_ca_ensure(struct lfc_ca **out, const char *root,
		  const struct lfc_org *org, bool tls, bool create,
		  struct lfc_worker *w, struct lf_err *err)
{
	const char *cn = tls ? org->tlsca_cn : org->ca_cn;
	const char *ext = tls ? org->ext_tls_cert : org->ext_cert;
	const char *extkey = tls ? org->ext_tls_key : org->ext_key;
	struct lfc_certspec cs = { LFC_PROFILE_CA, cn, org->domain, NULL, NULL, 0 };
	struct ca_paths p;
	struct lfc_ca_sig sig;
	bool hit;
	char *rel = lf_xasprintf("%s/%s", org->dir, tls ? "tlsca" : "ca");
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	*out = NULL;
	p.dir = lf_path_join(root, rel);
	p.parent = lf_path_join(root, org->dir);
	p.cert = lf_xasprintf("%s/%s-cert.pem", p.dir, cn);
	p.key = lf_path_join(p.dir, "priv_sk");
	/* a CA without its key here is cached under its cert alone */
	if (ext && !extkey)
		extkey = ext;
	*out = lfc_ca_cache_get(ext ? ext : p.cert, ext ? extkey : p.key, &sig);
	hit = *out != NULL;
	if (hit && !(ext && create)) {
		rc = 0;
	} else if (ext) {
		rc = hit ? 0 : load_import(out, org->name, ext, extkey == ext ? NULL
					   : extkey, err);
		if (rc == 0 && create)
			rc = lf_mkdirs(p.parent, 0755, err);
		if (rc == 0 && create)
			rc = lf_mkdirs(p.dir, 0700, err);
		if (rc == 0 && create)
			rc = write_cert(p.cert, (*out)->cert, w, err);
	} else {
		rc = ca_local(&cert, &key, &p, org->name, &cs, create, w, err);
		if (rc == 0) {
			rc = lfc_ca_from(out, cert, key, err);
			cert = NULL;
			key = NULL;
		}
	}
	/* a reused key dir (from another tool, or loosened) gets 0700 again */
	if (rc == 0 && create && !ext)
		rc = tighten_dir(p.dir, org->name, err);
	if (rc == 0 && !hit)
		lfc_ca_cache_put(ext ? ext : p.cert, ext ? extkey : p.key, &sig, *out);
	if (rc != 0) {
		lfc_ca_free(*out);
		*out = NULL;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	ca_paths_free(&p);
	free(rel);
	return rc;
}
