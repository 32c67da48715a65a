/*
 * ledgerform error codes and the caller-owned error record.
 *
 * Every fallible function returns 0 or a negative LF_E* code and, when given
 * a struct lf_err, fills it with a one-line message. There is no global
 * "last error": the executor is parallel and each action owns its lf_err.
 * This header is self-contained and shared with driver plugins.
 */
#ifndef LEDGERFORM_ERROR_H
#define LEDGERFORM_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum lf_errcode {
	LF_OK = 0,
	LF_ERROR = -1,        /* internal / unclassified */
	LF_ENOTFOUND = -2,    /* the object does not exist */
	LF_ERETRY = -3,       /* transient: retry with backoff */
	LF_ECONFLICT = -4,    /* exists already, or changed under us */
	LF_EAUTH = -5,        /* credentials refused */
	LF_EINVALID = -6,     /* bad argument or configuration */
	LF_EUNSUPPORTED = -7, /* the driver cannot do this */
	LF_ETIMEOUT = -8,     /* gave up waiting */
	LF_ECANCELED = -9,    /* interrupted by the user */
	LF_EXISTS = -10,      /* already exists */
	LF_EPENDING = -11,    /* waiting on others (config update signatures) */
	LF_ECODE_LAST = -12
};

#define LF_ERR_MSG_MAX 512

struct lf_err {
	int code;                  /* one of enum lf_errcode */
	char msg[LF_ERR_MSG_MAX];  /* one line, no trailing newline */
	unsigned int retry_after_ms; /* with LF_ERETRY: when a retry makes
					sense (a cloud's Retry-After); 0: the
					caller's own backoff */
};

#define LF_ERR_INIT { 0, { 0 }, 0 }

/* Short stable name of a code: "not found", "transient", ... */
const char *lf_errcode_name(int code);

#ifdef __cplusplus
}
#endif
#endif
