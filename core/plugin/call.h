/*
 * The host side of a driver call: struct lf_call (one per callback call:
 * resource address, deadline, cancellation, progress, diagnostics and lazy
 * credentials), host-owned blobs, and credential resolution shared by
 * every driver.
 */
#ifndef LF_CALL_H
#define LF_CALL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ledgerform/driver.h"

/* Where progress lines go (the executor's status line). */
typedef void (*lf_progress_fn)(void *payload, const char *resource,
			       const char *line);

struct lf_call {
	const char *driver;          /* driver name, for log lines */
	const char *provider;        /* provider name, for messages */
	const char *resource;        /* resource address or "" */
	uint64_t deadline_ms;        /* lf_now_ms clock; 0 none */
	const atomic_int *cancel;    /* this action's flag; NULL: only the
					process-wide one */
	const json_t *credentials;   /* the provider's reference ({env} or
					{file[, profile]}), borrowed; NULL */
	lf_progress_fn progress;
	void *progress_payload;
	uint64_t progress_last_ms;
	json_t *diags;               /* validate: array of {path, message} */
};

/* A call for driver/provider about resource (each may be NULL). */
void lf_call_init(struct lf_call *c, const char *driver, const char *provider,
		  const char *resource);

/* Host-owned growable buffer; keeps at most max bytes (the tail) when
 * max > 0, noting that bytes were dropped. */
struct lf_blob {
	char *data;                  /* NUL-terminated */
	size_t len, max;
	size_t dropped;              /* bytes dropped from the head */
};

void lf_blob_init(struct lf_blob *b, size_t max);
int lf_blob_add(struct lf_blob *b, const void *data, size_t len);
void lf_blob_free(struct lf_blob *b);

/*
 * Credential resolution. ref is the provider's `credentials:` value:
 *   {env: VAR}              key "secret" is the variable's value
 *   {file: PATH}            a JSON object's keys, or an INI file's keys
 *   {file: PATH, profile: P}  of section [P] ([default] without profile)
 * Read anew on every call (expiring session credentials are re-read).
 * A file readable by group or others gets one warning on stderr.
 * LF_ENOTFOUND when ref is NULL, names no such key; LF_EAUTH when the
 * variable or file is missing; LF_EINVALID when buf is too small. The
 * value never reaches a message.
 */
int lf_creds_get(const json_t *ref, const char *key, char *buf, size_t cap,
		 size_t *len, struct lf_err *err);


#endif
