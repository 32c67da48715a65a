/*
 * A small client for etcd v3's JSON gateway (POST /v3/...): endpoints tried
 * in order with failover on connection errors, TLS with a CA and a client
 * certificate, and username/password auth whose token is fetched again when
 * etcd says it expired. Keys and values travel base64-encoded; int64 fields
 * are JSON strings. Thread-safe: each call uses its own curl handle.
 */
#ifndef LF_STATE_ETCD_CLIENT_H
#define LF_STATE_ETCD_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <jansson.h>

#include "ledgerform/error.h"

struct lf_etcd_client {
	char **endpoints;     /* "http(s)://host:port", no trailing slash */
	size_t nendpoints;
	size_t current;       /* the endpoint that last answered */
	char *ca_cert, *cert, *key;
	char *user;
	char *password;       /* wiped on free */
	char *token;          /* from /v3/auth/authenticate */
	pthread_mutex_t mu;   /* current, token */
};

/* settings: endpoints, ca_cert, cert, key, username, credentials; relative
 * paths are taken from base_dir. The password is read here, once. */
int lf_etcd_client_init(struct lf_etcd_client *c, const json_t *settings,
			const char *base_dir, struct lf_err *err);
void lf_etcd_client_free(struct lf_etcd_client *c);

/* POST path with body req; *out is the parsed answer (a new reference).
 * LF_ERETRY when no endpoint answered, LF_EAUTH when refused, LF_ERROR
 * for an error etcd returned (its message in err) */
int lf_etcd_call(struct lf_etcd_client *c, const char *path, json_t *req,
		 json_t **out, struct lf_err *err);

/* base64 of n bytes (a new JSON string) and back (a new NUL-terminated
 * buffer; NULL when s is not base64) */
json_t *lf_etcd_b64(const void *data, size_t n);
char *lf_etcd_unb64(const char *s, size_t *n);
json_t *lf_etcd_b64_str(const char *s);

#endif
