/*
 * An `admin: offline` org's admin (spec: admin_csr or admin_cert): its
 * identity without its private key. admin_csr is a PKCS#10 request the
 * admin made with their own key (PEM, EC P-256, self-signature verified):
 * the org's CA issues the enrollment certificate over the request's
 * public key, with the subject cryptogen gives Admin@DOMAIN (whatever the
 * request's subject says). admin_cert is a certificate the org issued
 * itself: it must chain to the org's CA and carry OU=admin (NodeOUs make
 * that an admin). Neither file holds anything secret; the key never
 * reaches this machine.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

void lfc_offline_clear(struct lfc_offline *m)
{
	EVP_PKEY_free(m->pub);
	X509_free(m->cert);
	free(m->pem);
	memset(m, 0, sizeof(*m));
}

void lfc_pub_sha256(EVP_PKEY *pub, char out[65])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pub, &der);

	if (n > 0)
		lf_sha256_hex(der, (size_t)n, out);
	else
		out[0] = '\0';
	OPENSSL_free(der);
}

static bool is_p256(EVP_PKEY *k)
{
	char group[64];

	return EVP_PKEY_is_a(k, "EC") &&
	       EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
					      sizeof(group), NULL) == 1 &&
	       (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

static int load_csr(struct lfc_offline *m, const char *org, const char *path,
		    const char *data, size_t len, struct lf_err *err)
{
	BIO *b = BIO_new_mem_buf(data, (int)len);
	X509_REQ *req = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pub = req ? X509_REQ_get0_pubkey(req) : NULL;
	int rc = 0;

	if (!req)
		rc = lf_err_set(err, LF_EINVALID, "org '%s': admin_csr '%s' is not a PEM "
				"certificate request (PKCS#10, \"BEGIN CERTIFICATE REQUEST\")",
				org, path);
	else if (!pub || X509_REQ_verify(req, pub) != 1)
		rc = lf_err_set(err, LF_EINVALID, "org '%s': admin_csr '%s': its signature "
				"does not verify with its own public key (a damaged or "
				"edited request: make it again)", org, path);
	else if (!is_p256(pub))
		rc = lf_err_set(err, LF_EINVALID, "org '%s': admin_csr '%s': the key is not "
				"EC P-256 (openssl ecparam -genkey -name prime256v1)", org, path);
	if (rc == 0) {
		EVP_PKEY_up_ref(pub);
		m->pub = pub;
		lfc_pub_sha256(pub, m->sha);
	}
	X509_REQ_free(req);
	BIO_free(b);
	return rc;
}

static bool has_admin_ou(X509 *x)
{
	const X509_NAME *n = X509_get_subject_name(x);
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(n, NID_organizationalUnitName, i)) >= 0) {
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));

		if (ASN1_STRING_length(s) == 5 &&
		    memcmp(ASN1_STRING_get0_data(s), "admin", 5) == 0)
			return true;
	}
	return false;
}

static int load_cert(struct lfc_offline *m, const char *org, const char *path,
		     const char *data, size_t len, struct lf_err *err)
{
	X509 *x = lfc_cert_parse(data, len);

	if (!x)
		return lf_err_set(err, LF_EINVALID, "org '%s': admin_cert '%s' is not a PEM "
				  "certificate", org, path);
	if (!has_admin_ou(x)) {
		X509_free(x);
		return lf_err_set(err, LF_EINVALID, "org '%s': admin_cert '%s' has no OU=admin "
				  "in its subject: with NodeOUs (the org's msp/config.yaml) "
				  "only that OU makes the holder an admin", org, path);
	}
	m->cert = x;
	m->pub = X509_get_pubkey(x);
	m->pem = lf_xmalloc(len + 1);
	memcpy(m->pem, data, len);
	m->pem[len] = '\0';
	m->len = len;
	lfc_cert_sha256(x, m->sha);
	return 0;
}

int lfc_offline_load(struct lfc_offline *m, const char *org, const char *csr,
		     const char *cert, struct lf_err *err)
{
	const char *path = csr ? csr : cert;
	struct lf_err e = LF_ERR_INIT;
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (!path)
		return lf_err_set(err, LF_EINVALID, "org '%s': an offline admin needs "
				  "admin_csr or admin_cert", org);
	if (lf_read_file(path, &data, &len, &e) != 0)
		return lf_err_set(err, LF_EINVALID, "org '%s': %s '%s': %s", org,
				  csr ? "admin_csr" : "admin_cert", path, e.msg);
	lf_sha256_hex(data, len, m->file_sha);
	rc = csr ? load_csr(m, org, path, data, len, err)
		 : load_cert(m, org, path, data, len, err);
	ERR_clear_error();
	free(data);
	if (rc != 0)
		lfc_offline_clear(m);
	return rc;
}

int lfc_offline_chains(const struct lfc_offline *m, X509 *ca, const char *org,
		       const char *path, struct lf_err *err)
{
	int rc = 0;

	if (!m->cert)
		return 0;
	if (X509_check_issued(ca, m->cert) != X509_V_OK ||
	    X509_verify(m->cert, X509_get0_pubkey(ca)) != 1)
		rc = lf_err_set(err, LF_EINVALID, "org '%s': admin_cert '%s' was not issued "
				"by the org's CA (its issuer or signature does not match "
				"the CA certificate)", org, path);
	else if (X509_cmp_current_time(X509_get0_notAfter(m->cert)) <= 0)
		rc = lf_err_set(err, LF_EINVALID, "org '%s': admin_cert '%s' has expired",
				org, path);
	ERR_clear_error();
	return rc;
}

int lfc_offline_from_spec(struct lfc_ident *id, const struct lfc_org *o,
			  const char *csr, const char *cert, struct lf_err *err)
{
	struct lfc_offline m;
	int rc = lfc_offline_load(&m, o->name, csr, cert, err);

	if (rc == 0 && cert && o->ext_cert) {
		char *pem = NULL;
		size_t len = 0;
		X509 *ca = NULL;

		rc = lf_read_file(o->ext_cert, &pem, &len, err);
		ca = rc == 0 ? lfc_cert_parse(pem, len) : NULL;
		if (rc == 0 && !ca)
			rc = lf_err_set(err, LF_EINVALID, "org '%s': cannot parse the CA "
					"certificate '%s'", o->name, o->ext_cert);
		if (rc == 0)
			rc = lfc_offline_chains(&m, ca, o->name, cert, err);
		X509_free(ca);
		free(pem);
	}
	if (rc == 0) {
		id->off_csr = csr ? lf_xstrdup(csr) : NULL;
		id->off_cert = cert ? lf_xstrdup(cert) : NULL;
		memcpy(id->off_file_sha, m.file_sha, sizeof(id->off_file_sha));
		memcpy(id->off_sha, m.sha, sizeof(id->off_sha));
	}
	lfc_offline_clear(&m);
	return rc;
}
