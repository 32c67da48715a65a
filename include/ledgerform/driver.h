/*
 * The driver plugin ABI of ledgerform.
 *
 * A driver is one shared object (ledgerform_driver_NAME.so) exporting one
 * function, lf_driver_entry, that returns a pointer to a const struct
 * lf_driver. The host checks abi_version and struct_size, the name and the
 * mandatory callbacks before using anything else; a plugin that fails any
 * check is refused with a message naming the file and the reason.
 *
 * Boundaries: a driver sees one host's attributes at a time through the
 * accessor API the host passes in (struct lf_host_api), never the spec, the
 * plan or the state; data it returns goes through host-owned builders, so
 * no memory is freed across the boundary. This header includes only
 * standard headers.
 */
#ifndef LEDGERFORM_DRIVER_H
#define LEDGERFORM_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LF_DRIVER_ABI_VERSION 1u
#define LF_DRIVER_ENTRY_SYMBOL "lf_driver_entry"

#if defined(__GNUC__)
#define LF_DRIVER_EXPORT __attribute__((visibility("default")))
#else
#define LF_DRIVER_EXPORT
#endif

/* Capabilities (data, not code). */
#define LF_CAP_RESIZE_INPLACE  (1u << 0) /* vcpus/memory change without replace */
#define LF_CAP_DISK_GROW       (1u << 1) /* disk may grow in place */
#define LF_CAP_EXEC            (1u << 2) /* exec callback runs commands */
#define LF_CAP_PUT             (1u << 3) /* put callback writes files */
#define LF_CAP_REMOTE          (1u << 4) /* hosts are remote machines */
#define LF_CAP_IMAGE_INPLACE   (1u << 5) /* image may change in place */

/* Open status, as libvirt: mine and ready, not mine, or mine but failed. */
#define LF_OPEN_DECLINED 1

struct lf_driver_conn;  /* opaque to the host: the driver's connection */
struct lf_kv;           /* opaque host-owned read-only key/value view */
struct lf_kv_builder;   /* opaque host-owned builder for returned data */

/*
 * Services the host offers to a driver. Passed to lf_driver_entry and to
 * every callback through the connection; valid for the process lifetime.
 */
struct lf_host_api {
	uint32_t abi_version;
	uint32_t struct_size;
	/* read a string/integer from a view; NULL / dflt when absent */
	const char *(*kv_get_str)(const struct lf_kv *kv, const char *key);
	long long (*kv_get_int)(const struct lf_kv *kv, const char *key,
				long long dflt);
	/* iterate keys of a view; return non-zero from cb to stop */
	int (*kv_each)(const struct lf_kv *kv,
		       int (*cb)(const char *key, const char *val, void *payload),
		       void *payload);
	/* set a returned attribute (copied) */
	int (*kv_set)(struct lf_kv_builder *b, const char *key, const char *val);
	/* fill an error record: code plus printf-style one-line message */
	int (*err_set)(struct lf_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	/* log through the host; level 0 debug, 1 info, 2 warn, 3 error */
	void (*log)(int level, const char *driver, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	/* has the user asked to stop? drivers polling long waits check it */
	int (*cancelled)(void);
};

/* What the host asks of a host (VM/machine) resource. */
struct lf_host_spec {
	const char *address;        /* resource address, e.g. host.bank.peer0 */
	const char *name;           /* DNS label: peer0-bank */
	const char *hostname;       /* FQDN: peer0.bank.example.com */
	unsigned int vcpus;
	unsigned long long memory_mb;
	unsigned long long disk_gb;
	const char *image;
	const struct lf_kv *attrs;  /* every desired attribute, as strings */
	const struct lf_kv *prior;  /* attributes the driver returned earlier,
				       NULL on create */
};

struct lf_exec_result {
	int exit_status;    /* 0..255, or 128+signal */
	char *output;       /* combined stdout+stderr, from host->out_alloc */
	size_t output_len;
};

#define LF_EXEC_SHELL (1u << 0) /* run argv[0] through /bin/sh -c */

struct lf_driver {
	uint32_t abi_version;   /* LF_DRIVER_ABI_VERSION */
	uint32_t struct_size;   /* sizeof(struct lf_driver) at build time */
	const char *name;       /* unique, [a-z0-9_]+ */
	const char *version;    /* driver's own version string */
	uint32_t caps;          /* LF_CAP_* */
	uint32_t reserved;

	/* mandatory: open a connection with the provider config and
	 * credentials (both read-only views; creds may be NULL). Returns 0,
	 * LF_OPEN_DECLINED or a negative code with err filled. */
	int (*open)(struct lf_driver_conn **out, const struct lf_kv *config,
		    const struct lf_kv *creds, unsigned int flags,
		    struct lf_err *err);
	/* mandatory */
	void (*close)(struct lf_driver_conn *conn);

	/* mandatory: create a host; the returned attributes (id, address,
	 * ...) are written to out. Must be idempotent on the host name: an
	 * existing host with the same name made by this driver is adopted. */
	int (*host_create)(struct lf_driver_conn *conn,
			   const struct lf_host_spec *spec,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err);
	/* mandatory: read the live host; LF_ENOTFOUND when gone. */
	int (*host_read)(struct lf_driver_conn *conn,
			 const struct lf_host_spec *spec,
			 struct lf_kv_builder *out, unsigned int flags,
			 struct lf_err *err);
	/* optional: change size in place (see caps); NULL means replace */
	int (*host_update)(struct lf_driver_conn *conn,
			   const struct lf_host_spec *spec,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err);
	/* mandatory: delete; deleting a missing host is success */
	int (*host_delete)(struct lf_driver_conn *conn,
			   const struct lf_host_spec *spec, unsigned int flags,
			   struct lf_err *err);
	/* optional: write a file on the host, atomically, with mode */
	int (*put)(struct lf_driver_conn *conn, const struct lf_host_spec *spec,
		   const char *path, const void *data, size_t len,
		   unsigned int mode, unsigned int flags, struct lf_err *err);
	/* optional: run a command on the host (argv, NULL-terminated; no
	 * shell unless LF_EXEC_SHELL). Output is allocated with out_alloc
	 * given by the host so the host frees it. */
	int (*exec)(struct lf_driver_conn *conn, const struct lf_host_spec *spec,
		    const char *const *argv, struct lf_exec_result *res,
		    void *(*out_alloc)(size_t), unsigned int flags,
		    struct lf_err *err);
	/* struct grows only here, with struct_size telling what exists */
};

/* The one exported symbol. */
typedef const struct lf_driver *(*lf_driver_entry_fn)(
	const struct lf_host_api *host);

#ifdef __cplusplus
}
#endif
#endif
