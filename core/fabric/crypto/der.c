/*
 * Leaf and CA certificates written straight as DER.
 *
 * Building a certificate through OpenSSL's X509 object costs ~30 us of
 * ASN.1 item machinery (names, five extensions, SPKI), more than the
 * ECDSA signature itself. The profiles here are fixed, so the TBS is
 * assembled from bytes: version, random 128-bit serial, signature
 * algorithm, the issuer name (the CA subject's DER, verbatim), validity,
 * subject, SPKI (fixed P-256 prefix + point) and the extensions in Go's
 * order; it is signed with one EVP_DigestSign and the ECDSA signature is
 * normalised to low-S. The encoding equals what lfc_cert_template builds
 * with OpenSSL objects (the incremental re-render compares the two, and
 * the tests check that a re-render re-issues nothing).
 */
#include "core/fabric/crypto/crypto_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/util/util.h"

static const unsigned char oid_c[] = { 0x55, 0x04, 0x06 };
static const unsigned char oid_st[] = { 0x55, 0x04, 0x08 };
static const unsigned char oid_l[] = { 0x55, 0x04, 0x07 };
static const unsigned char oid_o[] = { 0x55, 0x04, 0x0a };
static const unsigned char oid_ou[] = { 0x55, 0x04, 0x0b };
static const unsigned char oid_cn[] = { 0x55, 0x04, 0x03 };
static const unsigned char alg_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const unsigned char alg_rsa_sha256[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x0b, 0x05, 0x00 };
static const unsigned char spki_p256[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07, 0x03, 0x42, 0x00 };
/* Extension values (inside the OCTET STRING) */
static const unsigned char ku_ca[] = { 0x03, 0x02, 0x01, 0xa6 };
static const unsigned char ku_sign[] = { 0x03, 0x02, 0x07, 0x80 };
static const unsigned char ku_tls[] = { 0x03, 0x02, 0x05, 0xa0 };
static const unsigned char eku_ca[] = {
	0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
	0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 };
static const unsigned char eku_tls[] = {
	0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
	0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };
static const unsigned char bc_ca[] = { 0x30, 0x03, 0x01, 0x01, 0xff };
static const unsigned char bc_leaf[] = { 0x30, 0x00 };
static const unsigned char ext_ku[] = { 0x55, 0x1d, 0x0f };
static const unsigned char ext_eku[] = { 0x55, 0x1d, 0x25 };
static const unsigned char ext_bc[] = { 0x55, 0x1d, 0x13 };
static const unsigned char ext_ski[] = { 0x55, 0x1d, 0x0e };
static const unsigned char ext_aki[] = { 0x55, 0x1d, 0x23 };
static const unsigned char ext_san[] = { 0x55, 0x1d, 0x11 };

/* ---- a minimal DER writer ------------------------------------------ */

static void put_len(struct lf_buf *b, size_t n)
{
	unsigned char h[5];
	size_t k = 0;

	if (n < 0x80) {
		h[k++] = (unsigned char)n;
	} else if (n < 0x100) {
		h[k++] = 0x81;
		h[k++] = (unsigned char)n;
	} else if (n < 0x10000) {
		h[k++] = 0x82;
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	} else {
		h[k++] = 0x83;
		h[k++] = (unsigned char)(n >> 16);
		h[k++] = (unsigned char)(n >> 8);
		h[k++] = (unsigned char)n;
	}
	lf_buf_append(b, h, k);
}

static void put_tlv(struct lf_buf *b, unsigned char tag, const void *v, size_t n)
{
	lf_buf_append(b, &tag, 1);
	put_len(b, n);
	if (n)
		lf_buf_append(b, v, n);
}

/* wrap inner as tag{inner} into b, and reset inner */
static void put_wrap(struct lf_buf *b, unsigned char tag, struct lf_buf *inner)
{
	put_tlv(b, tag, inner->data, inner->len);
	inner->len = 0;
}

static bool printable(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c >= '\'' && c <= ')') ||
		      (c >= '+' && c <= '/') || c == ' ' || c == ':' || c == '=' ||
		      c == '?'))
			return false;
	}
	return true;
}

/* one RDN: SET { SEQUENCE { OID, string } } */
static void put_rdn(struct lf_buf *b, const unsigned char *oid, const char *v)
{
	struct lf_buf atv = LF_BUF_INIT, set = LF_BUF_INIT;

	put_tlv(&atv, 0x06, oid, 3);
	put_tlv(&atv, printable(v) ? 0x13 : 0x0c, v, strlen(v));
	put_wrap(&set, 0x30, &atv);
	put_wrap(b, 0x31, &set);
	lf_buf_free(&atv);
	lf_buf_free(&set);
}

static void put_subject(struct lf_buf *b, const struct lfc_certspec *cs)
{
	struct lf_buf n = LF_BUF_INIT;

	put_rdn(&n, oid_c, "US");
	put_rdn(&n, oid_st, "California");
	put_rdn(&n, oid_l, "San Francisco");
	if (cs->o)
		put_rdn(&n, oid_o, cs->o);
	if (cs->ou)
		put_rdn(&n, oid_ou, cs->ou);
	put_rdn(&n, oid_cn, cs->cn);
	put_wrap(b, 0x30, &n);
	lf_buf_free(&n);
}

static void put_time(struct lf_buf *b, time_t t)
{
	struct tm tm;
	char s[40];

	gmtime_r(&t, &tm);
	/* UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280) */
	if (tm.tm_year >= 50 && tm.tm_year < 150) {
		snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		put_tlv(b, 0x17, s, strlen(s));
	} else {
		snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		put_tlv(b, 0x18, s, strlen(s));
	}
}

static void put_ext(struct lf_buf *b, const unsigned char *oid, bool critical,
		    const void *v, size_t n)
{
	static const unsigned char crit[] = { 0x01, 0x01, 0xff };
	struct lf_buf e = LF_BUF_INIT;

	put_tlv(&e, 0x06, oid, 3);
	if (critical)
		lf_buf_append(&e, crit, sizeof(crit));
	put_tlv(&e, 0x04, v, n);
	put_wrap(b, 0x30, &e);
	lf_buf_free(&e);
}

/* 4 or 16 bytes when s is an IP literal */
static size_t ip_bytes(const char *s, unsigned char out[16])
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);
	size_t n = 0;

	ERR_clear_error();
	if (ip && ASN1_STRING_length(ip) <= 16) {
		n = (size_t)ASN1_STRING_length(ip);
		memcpy(out, ASN1_STRING_get0_data(ip), n);
	}
	ASN1_OCTET_STRING_free(ip);
	return n;
}

/* GeneralNames: every DNS name, then every IP address (Go's order) */
static void put_sans(struct lf_buf *b, char *const *sans, size_t n)
{
	struct lf_buf g = LF_BUF_INIT, seq = LF_BUF_INIT;
	unsigned char ip[16];
	size_t i, k;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++) {
			k = ip_bytes(sans[i], ip);
			if (pass == 0 && k == 0)
				put_tlv(&g, 0x82, sans[i], strlen(sans[i]));
			else if (pass == 1 && k > 0)
				put_tlv(&g, 0x87, ip, k);
		}
	put_wrap(&seq, 0x30, &g);
	put_ext(b, ext_san, false, seq.data, seq.len);
	lf_buf_free(&g);
	lf_buf_free(&seq);
}

static void put_key_id(struct lf_buf *b, bool aki, const unsigned char *id,
		       size_t n)
{
	struct lf_buf v = LF_BUF_INIT, s = LF_BUF_INIT;

	if (aki) {
		put_tlv(&s, 0x80, id, n);
		put_wrap(&v, 0x30, &s);
	} else {
		put_tlv(&v, 0x04, id, n);
	}
	put_ext(b, aki ? ext_aki : ext_ski, false, v.data, v.len);
	lf_buf_free(&v);
	lf_buf_free(&s);
}

static void put_extensions(struct lf_buf *b, const struct lfc_certspec *cs,
			   const struct lfc_ca *issuer, const unsigned char *pt)
{
	struct lf_buf e = LF_BUF_INIT, seq = LF_BUF_INIT;
	enum lfc_profile p = cs->profile;
	unsigned char ski[32];

	put_ext(&e, ext_ku, true, p == LFC_PROFILE_CA ? ku_ca : p == LFC_PROFILE_SIGN
		? ku_sign : ku_tls, sizeof(ku_ca));
	if (p != LFC_PROFILE_SIGN)
		put_ext(&e, ext_eku, false, p == LFC_PROFILE_CA ? eku_ca : eku_tls,
			sizeof(eku_ca));
	if (p == LFC_PROFILE_CA)
		put_ext(&e, ext_bc, true, bc_ca, sizeof(bc_ca));
	else
		put_ext(&e, ext_bc, true, bc_leaf, sizeof(bc_leaf));
	if (p == LFC_PROFILE_CA && pt) {
		lf_sha256(pt, 65, ski);
		put_key_id(&e, false, ski, sizeof(ski));
	}
	if (issuer && issuer->ski_len)
		put_key_id(&e, true, issuer->ski, issuer->ski_len);
	if (p == LFC_PROFILE_TLS && cs->nsans)
		put_sans(&e, cs->sans, cs->nsans);
	put_wrap(&seq, 0x30, &e);
	put_wrap(b, 0xa3, &seq);
	lf_buf_free(&e);
	lf_buf_free(&seq);
}

/* ---- signing --------------------------------------------------------- */

static const BIGNUM *curve_order(EVP_PKEY *k, EC_GROUP **grp, BIGNUM **own)
{
	static const unsigned char p256_n[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
		0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
	char name[64];
	int nid;

	*grp = NULL;
	*own = NULL;
	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name,
					    sizeof(name), NULL))
		return NULL;
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0) {
		*own = BN_bin2bn(p256_n, sizeof(p256_n), NULL);
		return *own;
	}
	nid = OBJ_txt2nid(name);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(name);
	*grp = nid == NID_undef ? NULL : EC_GROUP_new_by_curve_name(nid);
	return *grp ? EC_GROUP_get0_order(*grp) : NULL;
}

/* s > n/2 -> n - s, re-encoded into sig (room for 80 bytes) */
static int low_s(EVP_PKEY *k, unsigned char *sig, size_t *len)
{
	EC_GROUP *grp = NULL;
	BIGNUM *own = NULL, *half = NULL, *ns = NULL, *nr = NULL;
	const BIGNUM *n = curve_order(k, &grp, &own), *r, *s;
	const unsigned char *p = sig;
	unsigned char *q = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	int rc = -1;

	half = n ? BN_dup(n) : NULL;
	if (!es || !half || !BN_rshift1(half, half))
		goto cleanup;
	ECDSA_SIG_get0(es, &r, &s);
	rc = 0;
	if (BN_cmp(s, half) <= 0)
		goto cleanup;
	rc = -1;
	ns = BN_new();
	nr = BN_dup(r);
	if (!ns || !nr || !BN_sub(ns, n, s) || !ECDSA_SIG_set0(es, nr, ns))
		goto cleanup;
	nr = ns = NULL;
	if (i2d_ECDSA_SIG(es, NULL) <= 80) {
		*len = (size_t)i2d_ECDSA_SIG(es, &q);
		rc = 0;
	}
cleanup:
	BN_free(nr);
	BN_free(ns);
	BN_free(half);
	BN_free(own);
	EC_GROUP_free(grp);
	ECDSA_SIG_free(es);
	return rc;
}

/* signature over tbs by key; *sig allocated */
static int sign_tbs(EVP_PKEY *key, const struct lf_buf *tbs, unsigned char **sig,
		    size_t *len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ec = EVP_PKEY_is_a(key, "EC");
	size_t cap = 0;
	int rc = -1;

	*sig = NULL;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &cap, (const unsigned char *)tbs->data,
			   tbs->len) != 1)
		goto cleanup;
	*sig = lf_xmalloc(cap > 80 ? cap : 80);
	*len = cap;
	if (EVP_DigestSign(ctx, *sig, len, (const unsigned char *)tbs->data,
			   tbs->len) != 1)
		goto cleanup;
	rc = ec ? low_s(key, *sig, len) : 0;
cleanup:
	EVP_MD_CTX_free(ctx);
	if (rc != 0) {
		free(*sig);
		*sig = NULL;
	}
	ERR_clear_error();
	return rc;
}

/* ---- the certificate ----------------------------------------------- */

static int put_tbs(struct lf_buf *tbs, const struct lfc_certspec *cs,
		   const unsigned char *pt, const struct lfc_ca *issuer,
		   const unsigned char *alg, size_t alglen, time_t nb)
{
	static const unsigned char v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
	struct lf_buf t = LF_BUF_INIT, v = LF_BUF_INIT, sub = LF_BUF_INIT;
	unsigned char serial[16];

	if (lf_random(serial, sizeof(serial)) != 0)
		return -1;
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x01);
	lf_buf_append(&t, v3, sizeof(v3));
	put_tlv(&t, 0x02, serial, sizeof(serial));
	lf_buf_append(&t, alg, alglen);
	put_subject(&sub, cs);
	if (issuer)
		lf_buf_append(&t, issuer->name_der, issuer->name_len);
	else
		lf_buf_append(&t, sub.data, sub.len);
	put_time(&v, nb);
	put_time(&v, nb + 3650L * 24 * 3600);
	put_wrap(&t, 0x30, &v);
	lf_buf_append(&t, sub.data, sub.len);
	lf_buf_append(&t, spki_p256, sizeof(spki_p256));
	lf_buf_append(&t, pt, 65);
	put_extensions(&t, cs, issuer, pt);
	put_wrap(tbs, 0x30, &t);
	lf_buf_free(&t);
	lf_buf_free(&v);
	lf_buf_free(&sub);
	return 0;
}

int lfc_cert_issue_der(struct lfc_issued *out, const struct lfc_certspec *cs,
		       EVP_PKEY *pub, const struct lfc_ca *issuer,
		       struct lfc_worker *w, struct lf_err *err)
{
	EVP_PKEY *signer = issuer ? issuer->key : pub;
	bool rsa = signer && EVP_PKEY_is_a(signer, "RSA");
	struct lf_buf tbs = LF_BUF_INIT, cert = LF_BUF_INIT, bits = LF_BUF_INIT;
	unsigned char pt[65], *sig = NULL, zero = 0;
	size_t ptlen = 0, siglen = 0;
	time_t nb = (w->now + 30) / 60 * 60 - 5 * 60;
	double t0 = lf_now_s(), t1, ts = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* never before the issuer's own start: Fabric checks a chain at the
	 * leaf's notBefore (an org's CA made minutes ago) */
	if (issuer && issuer->not_before > nb)
		nb = issuer->not_before;
	if (!signer) /* a CA imported without its key issues nothing here */
		return lf_err_set(err, LF_ECONFLICT, "cannot issue '%s': the org's CA "
				  "key is not on this machine (ca imported without "
				  "its key: the org issues with `ledgerform issue`)", cs->cn);
	if (!EVP_PKEY_is_a(pub, "EC") || EVP_PKEY_get_bits(pub) != 256 ||
	    !EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, pt,
					     sizeof(pt), &ptlen) || ptlen != 65)
		goto cleanup;
	if (!rsa && !EVP_PKEY_is_a(signer, "EC"))
		goto cleanup;
	if (put_tbs(&tbs, cs, pt, issuer, rsa ? alg_rsa_sha256 : alg_ecdsa_sha256,
		    rsa ? sizeof(alg_rsa_sha256) : sizeof(alg_ecdsa_sha256), nb) != 0)
		goto cleanup;
	t1 = lf_now_s();
	rc = sign_tbs(signer, &tbs, &sig, &siglen);
	ts = lf_now_s() - t1;
	w->st.t_sign += ts;
	if (rc != 0)
		goto cleanup;
	rc = -1;
	lf_buf_append(&cert, tbs.data, tbs.len);
	lf_buf_append(&cert, rsa ? alg_rsa_sha256 : alg_ecdsa_sha256,
		      rsa ? sizeof(alg_rsa_sha256) : sizeof(alg_ecdsa_sha256));
	lf_buf_append(&bits, &zero, 1);
	lf_buf_append(&bits, sig, siglen);
	put_wrap(&cert, 0x03, &bits);
	put_wrap(&bits, 0x30, &cert);
	out->der = (unsigned char *)bits.data;
	out->len = bits.len;
	bits.data = NULL;
	lf_sha256_hex(out->der, out->len, out->sha256);
	nb += 3650L * 24 * 3600;
	strftime(out->not_after, sizeof(out->not_after), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime_r(&nb, &(struct tm){ 0 }));
	w->st.certs_issued++;
	rc = 0;
cleanup:
	w->st.t_build += lf_now_s() - t0 - ts;
	free(sig);
	lf_buf_free(&tbs);
	lf_buf_free(&cert);
	lf_buf_free(&bits);
	if (rc != 0)
		return lf_err_set(err, LF_ERROR, "cannot issue certificate for '%s'", cs->cn);
	return 0;
}

void lfc_issued_clear(struct lfc_issued *c)
{
	if (!c)
		return;
	free(c->der);
	memset(c, 0, sizeof(*c));
}

/* ---- checking an existing certificate without OpenSSL's X509 ------- */

/* one TLV at *p (< end): its tag, whole encoding [*p, *next) and value */
static int der_read(const unsigned char **p, const unsigned char *end,
		    unsigned char *tag, const unsigned char **val, size_t *len)
{
	const unsigned char *q = *p;
	size_t n, k;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	n = *q++;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - q) < k)
			return -1;
		for (n = 0; k > 0; k--)
			n = (n << 8) | *q++;
	}
	if ((size_t)(end - q) < n)
		return -1;
	*val = q;
	*len = n;
	*p = q + n;
	return 0;
}

/* "YYMMDDHHMMSSZ" (UTCTime) or "YYYYMMDDHHMMSSZ" -> time_t */
static int der_time(unsigned char tag, const unsigned char *v, size_t n,
		    time_t *out)
{
	struct tm tm;
	char s[16];
	int y;

	if (n >= sizeof(s) || (tag == 0x17 && n != 13) || (tag == 0x18 && n != 15) ||
	    (tag != 0x17 && tag != 0x18))
		return -1;
	memcpy(s, v, n);
	s[n] = '\0';
	memset(&tm, 0, sizeof(tm));
	if (tag == 0x17 && sscanf(s, "%2d%2d%2d%2d%2d%2d", &y, &tm.tm_mon, &tm.tm_mday,
				  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6)
		tm.tm_year = y < 50 ? y + 100 : y;
	else if (tag == 0x18 && sscanf(s, "%4d%2d%2d%2d%2d%2d", &y, &tm.tm_mon,
				       &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
				       &tm.tm_sec) == 6)
		tm.tm_year = y - 1900;
	else
		return -1;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

struct tbs_parts {
	const unsigned char *issuer, *subject, *spki, *exts;
	size_t issuer_len, subject_len, spki_len, exts_len;
	time_t not_after;
};

/* split a certificate's TBS into the parts we compare (whole TLVs) */
static int tbs_split(const unsigned char *der, size_t len, struct tbs_parts *t)
{
	const unsigned char *p = der, *end = der + len, *v, *q, *start, *vend;
	unsigned char tag;
	size_t n;

	if (der_read(&p, end, &tag, &v, &n) || tag != 0x30)
		return -1;
	p = v;
	end = v + n;
	if (der_read(&p, end, &tag, &v, &n) || tag != 0x30) /* TBS */
		return -1;
	p = v;
	end = v + n;
	if (der_read(&p, end, &tag, &v, &n) || tag != 0xa0 || /* version */
	    der_read(&p, end, &tag, &v, &n) || tag != 0x02 || /* serial */
	    der_read(&p, end, &tag, &v, &n) || tag != 0x30)   /* sig alg */
		return -1;
	start = p;
	if (der_read(&p, end, &tag, &v, &n) || tag != 0x30)
		return -1;
	t->issuer = start;
	t->issuer_len = (size_t)(p - start);
	if (der_read(&p, end, &tag, &v, &n) || tag != 0x30) /* validity */
		return -1;
	q = v;
	vend = v + n;
	if (der_read(&q, vend, &tag, &v, &n) || /* notBefore, notAfter */
	    der_read(&q, vend, &tag, &v, &n) || der_time(tag, v, n, &t->not_after))
		return -1;
	start = p;
	if (der_read(&p, end, &tag, &v, &n) || tag != 0x30)
		return -1;
	t->subject = start;
	t->subject_len = (size_t)(p - start);
	start = p;
	if (der_read(&p, end, &tag, &v, &n) || tag != 0x30)
		return -1;
	t->spki = start;
	t->spki_len = (size_t)(p - start);
	t->exts = p; /* the rest: [3] extensions, exactly as we would write it */
	t->exts_len = (size_t)(end - p);
	return 0;
}

/* PEM body -> DER via OpenSSL's PEM reader (no decoder framework) */
static unsigned char *pem_der(const char *pem, size_t len, long *dlen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *hdr = NULL;
	unsigned char *der = NULL;

	if (bio && (PEM_read_bio(bio, &name, &hdr, &der, dlen) != 1 ||
		    strcmp(name, "CERTIFICATE") != 0)) {
		OPENSSL_free(der);
		der = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	BIO_free(bio);
	ERR_clear_error();
	return der;
}

int lfc_cert_check_der(const char *pem, size_t len, const struct lfc_certspec *cs,
		       const struct lfc_ca *issuer, unsigned char point[65],
		       struct lfc_issued *info)
{
	struct lf_buf want = LF_BUF_INIT;
	struct tbs_parts t;
	unsigned char *der;
	long dlen = 0;
	int rc = 0;

	if (!issuer || issuer->ski_len == 0)
		return -1; /* only the OpenSSL path can verify the signature */
	der = pem_der(pem, len, &dlen);
	if (!der || tbs_split(der, (size_t)dlen, &t) != 0) {
		OPENSSL_free(der);
		return -1;
	}
	if (t.issuer_len != issuer->name_len ||
	    memcmp(t.issuer, issuer->name_der, t.issuer_len) != 0 ||
	    t.spki_len != sizeof(spki_p256) + 65 ||
	    memcmp(t.spki, spki_p256, sizeof(spki_p256)) != 0 ||
	    t.not_after <= time(NULL))
		goto cleanup;
	put_subject(&want, cs);
	if (want.len != t.subject_len || memcmp(want.data, t.subject, want.len) != 0)
		goto cleanup;
	want.len = 0;
	put_extensions(&want, cs, issuer, NULL);
	if (want.len != t.exts_len || memcmp(want.data, t.exts, want.len) != 0)
		goto cleanup;
	memcpy(point, t.spki + sizeof(spki_p256), 65);
	lf_sha256_hex(der, (size_t)dlen, info->sha256);
	strftime(info->not_after, sizeof(info->not_after), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime_r(&t.not_after, &(struct tm){ 0 }));
	rc = 1;
cleanup:
	lf_buf_free(&want);
	OPENSSL_free(der);
	return rc;
}
