/*
 * OpenSSL-object side of Fabric identities: P-256 key generation, PKCS#8
 * and PEM encoding, parsing, and the reference template of a leaf (the
 * subject, issuer and extensions cryptogen gives it, built with X509
 * objects) that an existing certificate is compared to when the DER-level
 * check of der.c cannot decide (e.g. an imported CA without an SKI, where
 * the signature itself has to be verified). Issuing is in der.c.
 * Profiles follow Go's crypto/x509 as cryptogen uses it: subject RDNs C,
 * ST, L, O, OU, CN; PrintableString when possible, else UTF8String;
 * extensions KU, EKU, BC, SKI, AKI, SAN; SKI = SHA-256 of the uncompressed
 * point on CAs; AKI = issuer SKI on leaves.
 *
 * Thread-safety: a struct lfc_ca is read-only after lfc_ca_from(); each
 * worker has its own keygen context; nothing here has mutable globals.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/util/util.h"

/* PKCS#8 DER of a P-256 key up to the private scalar (Go and OpenSSL
 * both emit this 138-byte form: version, ecPublicKey/prime256v1 algorithm,
 * ECPrivateKey{1, d, [1] public point}) */
static const unsigned char p256_pkcs8_head[] = {
	0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a,
	0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
	0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01,
	0x01, 0x04, 0x20 };
static const unsigned char p256_pkcs8_mid[] = { 0xa1, 0x44, 0x03, 0x42, 0x00 };
#define P256_PKCS8_LEN (sizeof(p256_pkcs8_head) + 32 + sizeof(p256_pkcs8_mid) + 65)

#define SUBJECT_C "US"
#define SUBJECT_ST "California"
#define SUBJECT_L "San Francisco"

int lfc_worker_init(struct lfc_worker *w, struct lf_err *err)
{
	memset(w, 0, sizeof(*w));
	w->now = time(NULL);
	w->kctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!w->kctx || EVP_PKEY_keygen_init(w->kctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(w->kctx, "P-256") <= 0) {
		EVP_PKEY_CTX_free(w->kctx);
		w->kctx = NULL;
		return lf_err_set(err, LF_ERROR, "cannot set up P-256 key generation");
	}
	return 0;
}

void lfc_worker_fini(struct lfc_worker *w)
{
	if (!w)
		return;
	EVP_PKEY_CTX_free(w->kctx);
	w->kctx = NULL;
}

int lfc_keygen(struct lfc_worker *w, EVP_PKEY **out, struct lf_err *err)
{
	double t0 = lf_now_s();

	*out = NULL;
	if (EVP_PKEY_generate(w->kctx, out) <= 0)
		return lf_err_set(err, LF_ERROR, "P-256 key generation failed");
	w->st.t_keygen += lf_now_s() - t0;
	w->st.keys_generated++;
	return 0;
}

/* PEM armour with 64-column lines; caller frees */
char *lfc_pem_encode(const char *type, const unsigned char *der, size_t len,
		     size_t *outlen)
{
	struct lf_buf b = LF_BUF_INIT;
	unsigned char line[80];
	size_t off;

	lf_buf_printf(&b, "-----BEGIN %s-----\n", type);
	for (off = 0; off < len; off += 48) {
		size_t n = len - off < 48 ? len - off : 48;
		int k = EVP_EncodeBlock(line, der + off, (int)n);

		line[k] = '\n';
		lf_buf_append(&b, line, (size_t)k + 1);
	}
	lf_buf_printf(&b, "-----END %s-----\n", type);
	*outlen = b.len;
	return b.data;
}

static int p256_pkcs8(EVP_PKEY *k, unsigned char der[P256_PKCS8_LEN])
{
	BIGNUM *d = NULL;
	unsigned char *p = der;
	size_t publen = 0;
	int rc = -1;

	if (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256)
		return -1;
	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d))
		goto cleanup;
	memcpy(p, p256_pkcs8_head, sizeof(p256_pkcs8_head));
	p += sizeof(p256_pkcs8_head);
	if (BN_bn2binpad(d, p, 32) != 32)
		goto cleanup;
	p += 32;
	memcpy(p, p256_pkcs8_mid, sizeof(p256_pkcs8_mid));
	p += sizeof(p256_pkcs8_mid);
	if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, p, 65,
					     &publen) || publen != 65 || p[0] != 4)
		goto cleanup;
	rc = 0;
cleanup:
	BN_clear_free(d);
	return rc;
}

int lfc_key_pem(EVP_PKEY *k, char **out, size_t *len, struct lf_err *err)
{
	unsigned char der[P256_PKCS8_LEN];
	BIO *bio = NULL;
	BUF_MEM *bm = NULL;

	*out = NULL;
	if (p256_pkcs8(k, der) == 0) {
		*out = lfc_pem_encode("PRIVATE KEY", der, sizeof(der), len);
		OPENSSL_cleanse(der, sizeof(der));
		return 0;
	}
	/* other key types (imported CAs never get here; kept general) */
	bio = BIO_new(BIO_s_secmem());
	if (!bio || !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return lf_err_set(err, LF_ERROR, "cannot encode private key");
	}
	BIO_get_mem_ptr(bio, &bm);
	*out = lf_xstrndup(bm->data, bm->length);
	*len = bm->length;
	BIO_free(bio);
	return 0;
}

EVP_PKEY *lfc_key_parse(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = NULL;

	if (bio)
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return k;
}

int lfc_key_has_point(const char *pem, size_t len, const unsigned char point[65])
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *hdr = NULL;
	unsigned char *der = NULL;
	long dlen = 0;
	int rc = -1;

	if (bio && PEM_read_bio(bio, &name, &hdr, &der, &dlen) == 1 &&
	    strcmp(name, "PRIVATE KEY") == 0 && dlen == (long)P256_PKCS8_LEN &&
	    memcmp(der, p256_pkcs8_head, sizeof(p256_pkcs8_head)) == 0)
		rc = memcmp(der + dlen - 65, point, 65) == 0;
	if (der)
		OPENSSL_cleanse(der, (size_t)dlen);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(der);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

bool lfc_key_matches_cert(const char *pem, size_t len, X509 *cert)
{
	const ASN1_BIT_STRING *pub = X509_get0_pubkey_bitstr(cert);
	EVP_PKEY *k;
	bool ok;
	int r = -1;

	if (pub && ASN1_STRING_length(pub) == 65)
		r = lfc_key_has_point(pem, len, ASN1_STRING_get0_data(pub));
	if (r >= 0)
		return r == 1;
	k = lfc_key_parse(pem, len); /* not our P-256 PKCS#8: full parse */
	ok = k && EVP_PKEY_eq(k, X509_get0_pubkey(cert)) == 1;
	EVP_PKEY_free(k);
	ERR_clear_error();
	return ok;
}

X509 *lfc_cert_parse(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = NULL;

	if (bio)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	return x;
}

char *lfc_cert_pem(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *pem;

	if (n <= 0)
		return NULL;
	pem = lfc_pem_encode("CERTIFICATE", der, (size_t)n, len);
	OPENSSL_free(der);
	return pem;
}

void lfc_cert_sha256(X509 *x, char out[65])
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	lf_sha256_hex(der, n > 0 ? (size_t)n : 0, out);
	OPENSSL_free(der);
}

void lfc_cert_not_after(X509 *x, char out[32])
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		out[0] = '\0';
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Go's encoding/asn1 PrintableString alphabet (no '*', no '&') */
static bool is_printable(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (c >= '\'' && c <= ')') ||
			  (c >= '+' && c <= '/') || c == ' ' || c == ':' ||
			  c == '=' || c == '?';

		if (!ok)
			return false;
	}
	return true;
}

static int name_add(X509_NAME *n, int nid, const char *v)
{
	int type = is_printable(v) ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING;

	if (!v)
		return 0;
	return X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v,
					  -1, -1, 0) == 1 ? 0 : -1;
}

static int set_subject(X509 *x, const struct lfc_certspec *cs)
{
	X509_NAME *n = X509_NAME_new();
	int rc = -1;

	if (!n)
		return -1;
	if (name_add(n, NID_countryName, SUBJECT_C) ||
	    name_add(n, NID_stateOrProvinceName, SUBJECT_ST) ||
	    name_add(n, NID_localityName, SUBJECT_L) ||
	    (cs->o && name_add(n, NID_organizationName, cs->o)) ||
	    (cs->ou && name_add(n, NID_organizationalUnitName, cs->ou)) ||
	    name_add(n, NID_commonName, cs->cn))
		goto cleanup;
	if (X509_set_subject_name(x, n) != 1)
		goto cleanup;
	rc = 0;
cleanup:
	X509_NAME_free(n);
	return rc;
}

static int add_key_usage(X509 *x, enum lfc_profile p)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int rc = -1;

	if (!ku || !ASN1_BIT_STRING_set_bit(ku, 0, 1)) /* digitalSignature */
		goto cleanup;
	if (p != LFC_PROFILE_SIGN && !ASN1_BIT_STRING_set_bit(ku, 2, 1))
		goto cleanup; /* keyEncipherment */
	if (p == LFC_PROFILE_CA && (!ASN1_BIT_STRING_set_bit(ku, 5, 1) ||
				    !ASN1_BIT_STRING_set_bit(ku, 6, 1)))
		goto cleanup; /* keyCertSign, cRLSign */
	rc = X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
cleanup:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int add_ext_key_usage(X509 *x, enum lfc_profile p)
{
	EXTENDED_KEY_USAGE *eku;
	int first = p == LFC_PROFILE_CA ? NID_client_auth : NID_server_auth;
	int second = p == LFC_PROFILE_CA ? NID_server_auth : NID_client_auth;
	int rc = -1;

	if (p == LFC_PROFILE_SIGN)
		return 0; /* cryptogen: empty EKU list, no extension */
	eku = sk_ASN1_OBJECT_new_null();
	if (!eku || !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(first)) ||
	    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(second)))
		goto cleanup;
	rc = X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
cleanup:
	sk_ASN1_OBJECT_free(eku); /* static objects: do not free them */
	return rc;
}

static int add_basic_constraints(X509 *x, bool ca)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int rc = -1;

	if (!bc)
		return -1;
	bc->ca = ca ? 0xff : 0;
	rc = X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int add_octets_ext(X509 *x, int nid, const unsigned char *v, size_t n)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID *akid = NULL;
	int rc = -1;

	if (!os || !ASN1_OCTET_STRING_set(os, v, (int)n))
		goto cleanup;
	if (nid == NID_subject_key_identifier) {
		rc = X509_add1_ext_i2d(x, nid, os, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
		goto cleanup;
	}
	akid = AUTHORITY_KEYID_new();
	if (!akid)
		goto cleanup;
	akid->keyid = os;
	os = NULL;
	rc = X509_add1_ext_i2d(x, nid, akid, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
cleanup:
	ASN1_OCTET_STRING_free(os);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int push_gen(GENERAL_NAMES *gens, int type, ASN1_STRING *v)
{
	GENERAL_NAME *g = GENERAL_NAME_new();

	if (!g || !v) {
		GENERAL_NAME_free(g);
		ASN1_STRING_free(v);
		return -1;
	}
	GENERAL_NAME_set0_value(g, type, v);
	if (!sk_GENERAL_NAME_push(gens, g)) {
		GENERAL_NAME_free(g);
		return -1;
	}
	return 0;
}

static ASN1_IA5STRING *ia5(const char *s)
{
	ASN1_IA5STRING *v = ASN1_IA5STRING_new();

	if (v && !ASN1_STRING_set(v, s, -1)) {
		ASN1_IA5STRING_free(v);
		v = NULL;
	}
	return v;
}

/* Go order: all DNS names, then all IP addresses */
static int add_sans(X509 *x, char *const *sans, size_t n)
{
	GENERAL_NAMES *gens;
	size_t i;
	int pass, rc = -1;

	if (n == 0)
		return 0;
	gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return -1;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans[i]);

			ERR_clear_error();
			if (pass == 1) {
				if (ip && push_gen(gens, GEN_IPADD, ip) != 0)
					goto cleanup;
				continue;
			}
			if (ip) {
				ASN1_OCTET_STRING_free(ip);
				continue;
			}
			if (push_gen(gens, GEN_DNS, ia5(sans[i])) != 0)
				goto cleanup;
		}
	}
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
cleanup:
	GENERAL_NAMES_free(gens);
	return rc;
}

X509 *lfc_cert_template(const struct lfc_certspec *cs,
			const struct lfc_ca *issuer)
{
	X509 *x = X509_new();
	bool ca = cs->profile == LFC_PROFILE_CA;
	int bad;

	if (!x)
		return NULL;
	bad = X509_set_version(x, X509_VERSION_3) != 1 || set_subject(x, cs) != 0;
	if (!bad)
		bad = X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert)
					   : X509_get_subject_name(x)) != 1;
	bad = bad || add_key_usage(x, cs->profile) || add_ext_key_usage(x, cs->profile) ||
	      add_basic_constraints(x, ca);
	if (!bad && issuer && issuer->ski_len)
		bad = add_octets_ext(x, NID_authority_key_identifier, issuer->ski,
				     issuer->ski_len);
	if (!bad && cs->profile == LFC_PROFILE_TLS)
		bad = add_sans(x, cs->sans, cs->nsans);
	if (bad) {
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	return x;
}

int lfc_cert_issue(X509 **out, const struct lfc_certspec *cs, EVP_PKEY *pub,
		   const struct lfc_ca *issuer, struct lfc_worker *w,
		   struct lf_err *err)
{
	struct lfc_issued c;
	const unsigned char *p;
	int rc = lfc_cert_issue_der(&c, cs, pub, issuer, w, err);

	*out = NULL;
	if (rc != 0)
		return rc;
	p = c.der;
	*out = d2i_X509(NULL, &p, (long)c.len);
	lfc_issued_clear(&c);
	if (!*out)
		return lf_err_set(err, LF_ERROR, "cannot decode the certificate of '%s'", cs->cn);
	return 0;
}

static bool exts_equal(X509 *a, X509 *b)
{
	int i, n = X509_get_ext_count(a);

	if (n != X509_get_ext_count(b))
		return false;
	for (i = 0; i < n; i++) {
		X509_EXTENSION *ea = X509_get_ext(a, i), *eb = X509_get_ext(b, i);

		if (OBJ_cmp(X509_EXTENSION_get_object(ea), X509_EXTENSION_get_object(eb)) ||
		    X509_EXTENSION_get_critical(ea) != X509_EXTENSION_get_critical(eb) ||
		    ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(ea),
					  X509_EXTENSION_get_data(eb)))
			return false;
	}
	return true;
}

bool lfc_cert_current(X509 *have, const struct lfc_certspec *cs,
		      const struct lfc_ca *issuer)
{
	X509 *want = lfc_cert_template(cs, issuer);
	bool ok = false;

	if (!want)
		return false;
	if (X509_NAME_cmp(X509_get_subject_name(have), X509_get_subject_name(want)) ||
	    X509_NAME_cmp(X509_get_issuer_name(have), X509_get_issuer_name(want)) ||
	    !exts_equal(have, want) ||
	    X509_cmp_time(X509_get0_notAfter(have), NULL) <= 0)
		goto cleanup;
	/* without an SKI on the CA the AKI cannot tell a new CA key apart */
	if (issuer->ski_len == 0 &&
	    X509_verify(have, X509_get0_pubkey(issuer->cert)) != 1)
		goto cleanup;
	ok = true;
cleanup:
	X509_free(want);
	ERR_clear_error();
	return ok;
}

void lfc_ca_free(struct lfc_ca *ca)
{
	if (!ca || atomic_fetch_sub(&ca->refs, 1) > 1)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca->pem);
	OPENSSL_free(ca->name_der);
	free(ca);
}

int lfc_ca_from(struct lfc_ca **out, X509 *cert, EVP_PKEY *key,
		struct lf_err *err)
{
	struct lfc_ca *ca = lf_xcalloc(1, sizeof(*ca));
	const ASN1_OCTET_STRING *ski;
	struct tm tm;
	int n;

	atomic_init(&ca->refs, 1);
	ca->cert = cert;
	ca->key = key;
	*out = NULL;
	ca->pem = lfc_cert_pem(cert, &ca->pem_len);
	if (!ca->pem) {
		lfc_ca_free(ca);
		return lf_err_set(err, LF_ERROR, "cannot encode CA certificate");
	}
	/* primes OpenSSL's extension cache before threads share the cert */
	ski = X509_get0_subject_key_id(cert);
	if (ski && (size_t)ASN1_STRING_length(ski) <= sizeof(ca->ski)) {
		ca->ski_len = (size_t)ASN1_STRING_length(ski);
		memcpy(ca->ski, ASN1_STRING_get0_data(ski), ca->ski_len);
	}
	lfc_cert_sha256(cert, ca->sha256);
	lfc_cert_not_after(cert, ca->not_after);
	n = i2d_X509_NAME(X509_get_subject_name(cert), &ca->name_der);
	if (n <= 0) {
		lfc_ca_free(ca);
		return lf_err_set(err, LF_ERROR, "cannot encode CA subject");
	}
	ca->name_len = (size_t)n;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) == 1)
		ca->not_before = timegm(&tm);
	*out = ca;
	return 0;
}
