/*
 * The `aws` driver: hosts as EC2 instances through the EC2 Query API
 * (2016-11-15), signed with Signature Version 4. Internal header shared by
 * the driver's files only (and by tests/drivers/aws for the signer).
 */
#ifndef LF_DRIVER_AWS_H
#define LF_DRIVER_AWS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "ledgerform/driver.h"

/* ---- a small growable string (the driver links no core code) ---------- */

struct aws_buf {
	char *data;   /* NUL-terminated, NULL while empty */
	size_t len, cap;
	int oom;      /* an append failed: the content is incomplete */
};

void aws_buf_add(struct aws_buf *b, const char *s, size_t n);
void aws_buf_printf(struct aws_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* wipe (the buffer may hold a signature or a credential) and free */
void aws_buf_free(struct aws_buf *b);

/* ---- Signature Version 4 (aws_sigv4.c) --------------------------------- */

struct aws_pair {
	const char *name;
	const char *value;
};

struct aws_sig_in {
	const char *method;          /* "POST" */
	const char *path;            /* canonical URI, "/" */
	const struct aws_pair *query; /* raw names and values (encoded here) */
	size_t nquery;
	const struct aws_pair *headers; /* names any case; all are signed */
	size_t nheaders;
	const char *payload_sha256;  /* hex */
	const char *access_key_id;
	const char *secret_key;
	const char *region;
	const char *service;
	const char *amz_date;        /* YYYYMMDDTHHMMSSZ */
};

struct aws_sig_out {
	struct aws_buf creq;          /* canonical request */
	struct aws_buf sts;           /* string to sign */
	struct aws_buf authorization; /* the Authorization header value */
};

/* URI-encode (RFC 3986 unreserved kept, %XX upper case) and sort the
 * pairs by name then value, joined "a=1&b=2": the canonical query string
 * and the form body of a Query API request */
int aws_query_string(struct aws_buf *out, const struct aws_pair *p, size_t n);
void aws_sha256_hex(const void *data, size_t len, char hex[65]);
/* 0, or -1 when out of memory; out is freed with aws_sig_out_free */
int aws_sigv4_sign(const struct aws_sig_in *in, struct aws_sig_out *out);
void aws_sig_out_free(struct aws_sig_out *out);

#endif
