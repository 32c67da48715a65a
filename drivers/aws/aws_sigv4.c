/*
 * AWS Signature Version 4 (HMAC-SHA256 through OpenSSL): the canonical
 * request, the string to sign, the signing key derived from the secret
 * and the Authorization header. Checked against AWS's published test
 * suite in tests/drivers/aws. Also the driver's small string buffer.
 */
#include "aws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* ---- buffer ------------------------------------------------------------- */

void aws_buf_add(struct aws_buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 128;
		while (cap < b->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		if (b->data) {
			memcpy(p, b->data, b->len);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void aws_buf_printf(struct aws_buf *b, const char *fmt, ...)
{
	char small[512], *big;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		aws_buf_add(b, small, (size_t)n);
		return;
	}
	big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	aws_buf_add(b, big, (size_t)n);
	OPENSSL_cleanse(big, (size_t)n);
	free(big);
}

void aws_buf_free(struct aws_buf *b)
{
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

/* ---- encoding ------------------------------------------------------------ */

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void aws_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hex_of(md, sizeof(md), hex);
}

static void uri_encode(struct aws_buf *b, const char *s)
{
	static const char hx[] = "0123456789ABCDEF";
	char pct[3] = { '%', 0, 0 };

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			aws_buf_add(b, (const char *)&c, 1);
			continue;
		}
		pct[1] = hx[c >> 4];
		pct[2] = hx[c & 15];
		aws_buf_add(b, pct, 3);
	}
}

struct enc_pair {
	struct aws_buf name, value;
};

static int enc_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->name.data ? x->name.data : "", y->name.data ? y->name.data : "");

	return c ? c : strcmp(x->value.data ? x->value.data : "",
			      y->value.data ? y->value.data : "");
}

int aws_query_string(struct aws_buf *out, const struct aws_pair *p, size_t n)
{
	struct enc_pair *e = n ? calloc(n, sizeof(*e)) : NULL;
	size_t i;
	int oom = n && !e;

	for (i = 0; e && i < n; i++) {
		uri_encode(&e[i].name, p[i].name);
		uri_encode(&e[i].value, p[i].value ? p[i].value : "");
		oom |= e[i].name.oom | e[i].value.oom;
	}
	if (e && !oom)
		qsort(e, n, sizeof(*e), enc_cmp);
	for (i = 0; e && !oom && i < n; i++)
		aws_buf_printf(out, "%s%s=%s", i ? "&" : "", e[i].name.data ? e[i].name.data : "",
			       e[i].value.data ? e[i].value.data : "");
	for (i = 0; e && i < n; i++) {
		aws_buf_free(&e[i].name);
		aws_buf_free(&e[i].value);
	}
	free(e);
	aws_buf_add(out, "", 0);
	return oom || out->oom ? -1 : 0;
}

/* ---- canonical headers --------------------------------------------------- */

struct canon_hdr {
	char *name;         /* lower case */
	const char *value;
	size_t order;       /* keeps duplicates in their given order */
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct canon_hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

/* the value trimmed, runs of spaces as one */
static void add_trimmed(struct aws_buf *b, const char *v)
{
	int space = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = 1;
			continue;
		}
		if (space)
			aws_buf_add(b, " ", 1);
		space = 0;
		aws_buf_add(b, v, 1);
	}
}

/* "name:v1,v2\n..." to canon and "a;b" to signed */
static int canon_headers(const struct aws_sig_in *in, struct aws_buf *canon,
			 struct aws_buf *signed_hdrs)
{
	struct canon_hdr *h = calloc(in->nheaders ? in->nheaders : 1, sizeof(*h));
	size_t i, j;
	int rc = h ? 0 : -1;

	for (i = 0; h && i < in->nheaders; i++) {
		h[i].name = strdup(in->headers[i].name);
		h[i].value = in->headers[i].value ? in->headers[i].value : "";
		h[i].order = i;
		if (!h[i].name)
			rc = -1;
		for (j = 0; h[i].name && h[i].name[j]; j++)
			h[i].name[j] = (char)tolower((unsigned char)h[i].name[j]);
	}
	if (rc == 0)
		qsort(h, in->nheaders, sizeof(*h), hdr_cmp);
	for (i = 0; rc == 0 && i < in->nheaders; i++) {
		int dup = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;

		if (dup) {
			aws_buf_add(canon, ",", 1);
		} else {
			if (i > 0)
				aws_buf_add(canon, "\n", 1);
			aws_buf_printf(canon, "%s:", h[i].name);
			aws_buf_printf(signed_hdrs, "%s%s", i ? ";" : "", h[i].name);
		}
		add_trimmed(canon, h[i].value);
	}
	aws_buf_add(canon, "\n", 1);
	for (i = 0; h && i < in->nheaders; i++)
		free(h[i].name);
	free(h);
	return rc || canon->oom || signed_hdrs->oom ? -1 : 0;
}

/* ---- signing ------------------------------------------------------------- */

static void hmac(const void *key, size_t klen, const char *msg,
		 unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg),
	     out, &n);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
 * "aws4_request"); then the signature over the string to sign */
static void signature(const struct aws_sig_in *in, const char *date,
		      const char *sts, char hex[65])
{
	unsigned char k[32], k2[32];
	struct aws_buf secret = { 0 };

	aws_buf_printf(&secret, "AWS4%s", in->secret_key);
	hmac(secret.data, secret.len, date, k);
	aws_buf_free(&secret);
	hmac(k, 32, in->region, k2);
	hmac(k2, 32, in->service, k);
	hmac(k, 32, "aws4_request", k2);
	hmac(k2, 32, sts, k);
	hex_of(k, 32, hex);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(k2, sizeof(k2));
}

int aws_sigv4_sign(const struct aws_sig_in *in, struct aws_sig_out *out)
{
	struct aws_buf query = { 0 }, canon = { 0 }, signed_hdrs = { 0 };
	char date[9], creq_hash[65], sig[65];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!in->amz_date || strlen(in->amz_date) < 8)
		return -1;
	memcpy(date, in->amz_date, 8);
	date[8] = '\0';
	if (aws_query_string(&query, in->query, in->nquery) != 0 ||
	    canon_headers(in, &canon, &signed_hdrs) != 0)
		goto cleanup;
	aws_buf_printf(&out->creq, "%s\n%s\n%s\n%s\n%s\n%s", in->method, in->path,
		       query.data ? query.data : "", canon.data, signed_hdrs.data,
		       in->payload_sha256);
	if (out->creq.oom)
		goto cleanup;
	aws_sha256_hex(out->creq.data, out->creq.len, creq_hash);
	aws_buf_printf(&out->sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
		       in->amz_date, date, in->region, in->service, creq_hash);
	if (out->sts.oom)
		goto cleanup;
	signature(in, date, out->sts.data, sig);
	aws_buf_printf(&out->authorization,
		       "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		       in->access_key_id, date, in->region, in->service, signed_hdrs.data, sig);
	rc = out->authorization.oom ? -1 : 0;
cleanup:
	aws_buf_free(&query);
	aws_buf_free(&canon);
	aws_buf_free(&signed_hdrs);
	if (rc != 0)
		aws_sig_out_free(out);
	return rc;
}

void aws_sig_out_free(struct aws_sig_out *out)
{
	aws_buf_free(&out->creq);
	aws_buf_free(&out->sts);
	aws_buf_free(&out->authorization);
}
