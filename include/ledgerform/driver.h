/*
 * The driver plugin ABI of ledgerform, version 2.
 *
 * A driver is one shared object (ledgerform_driver_NAME.so) exporting one
 * function, lf_driver_entry, that returns a pointer to a const struct
 * lf_driver. The host checks abi_version, struct_size, the name, the roles
 * and the callbacks each role requires before using anything else; a
 * plugin that fails any check is refused with a message naming the file
 * and the reason.
 *
 * Two roles, as Terraform separates a provider from a connection:
 *
 *   provider   (LF_ROLE_PROVIDER) makes, reads, resizes and deletes
 *              machines and returns their outputs: instance id, machine
 *              address, SSH host key fingerprint where the platform
 *              reports one. sim, libvirt, aws.
 *   transport  (LF_ROLE_TRANSPORT) puts files and runs commands on a
 *              machine at a machine address. ssh.
 *
 * A driver may have both (local: a machine is a directory on this one).
 * A host resource names its provider (or none, for an existing machine
 * given by address in the spec) and the transport that reaches it; the
 * spec's providers.X.transport names the provider entry whose driver is
 * the transport. Any transport works with any provider: provider drivers
 * carry no SSH client of their own.
 *
 * Words: a *resource address* names a resource in the plan and state
 * ("host.bank.peer0"); a *machine address* is where a machine is reached
 * (an IP address or DNS name); a *listen address* is host:port a Fabric
 * node binds. The code and this header keep the three apart.
 *
 * Boundaries: a driver sees one host at a time through read-only views
 * the host passes in (struct lf_kv, read through struct lf_host_api),
 * never the spec, the plan or the state; data it returns goes through
 * host-owned builders and host-owned buffers, so no memory is freed across
 * the boundary. Credentials are fetched lazily through the call context
 * (host->call_secret), never passed in bulk, never stored by the host, and
 * must be wiped by the driver after use. This header includes only
 * standard headers and error.h.
 */
#ifndef LEDGERFORM_DRIVER_H
#define LEDGERFORM_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LF_DRIVER_ABI_VERSION 2u
#define LF_DRIVER_ENTRY_SYMBOL "lf_driver_entry"

#if defined(__GNUC__)
#define LF_DRIVER_EXPORT __attribute__((visibility("default")))
#define LF_DRIVER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LF_DRIVER_EXPORT
#define LF_DRIVER_PRINTF(a, b)
#endif

/* Roles (what a driver is). */
#define LF_ROLE_PROVIDER  (1u << 0)
#define LF_ROLE_TRANSPORT (1u << 1)

/* Capabilities (data, not code). */
#define LF_CAP_READ_CHEAP   (1u << 0) /* host_read costs no remote API call
					 worth counting: plan refreshes by
					 default */
#define LF_CAP_CONN_SHARED  (1u << 1) /* one connection may be used from
					 several threads at once */
#define LF_CAP_IMPORT       (1u << 2) /* host_import adopts an existing
					 machine by id */
#define LF_CAP_SYSTEMD      (1u << 3) /* transport can run nodes as systemd
					 units where the machine has systemd */

/* Open status, as libvirt: mine and ready, not mine, or mine but failed. */
#define LF_OPEN_DECLINED 1

struct lf_driver_conn;  /* opaque to the host: the driver's connection */
struct lf_kv;           /* opaque host-owned read-only key/value view */
struct lf_kv_builder;   /* opaque host-owned builder for returned data */
struct lf_call;         /* opaque host-owned context of one callback call */

/* A buffer the host owns; drivers fill it through host->buf_set. */
struct lf_blob;

/*
 * Services the host offers to a driver. Passed to lf_driver_entry; valid
 * for the process lifetime. Every function is safe to call from several
 * threads.
 */
struct lf_host_api {
	uint32_t abi_version;
	uint32_t struct_size;

	/* -- views -- values are strings: numbers "%lld"/"%.17g", booleans
	 * "true"/"false", objects and arrays compact JSON; NULL when absent.
	 * A string lives as long as the view. */
	const char *(*kv_get_str)(const struct lf_kv *kv, const char *key);
	long long (*kv_get_int)(const struct lf_kv *kv, const char *key,
				long long dflt);
	/* a nested object or array as a view of its own (array keys are
	 * "0", "1", ...); NULL when absent or a scalar. Lives as long as
	 * the parent view. */
	const struct lf_kv *(*kv_get_kv)(const struct lf_kv *kv,
					 const char *key);
	/* iterate keys in order; return non-zero from cb to stop */
	int (*kv_each)(const struct lf_kv *kv,
		       int (*cb)(const char *key, const char *val, void *payload),
		       void *payload);

	/* -- builders: returned attributes (copied) -- */
	int (*kv_set)(struct lf_kv_builder *b, const char *key, const char *val);
	int (*kv_set_int)(struct lf_kv_builder *b, const char *key, long long val);

	/* -- host-owned buffers (file contents, command output) -- */
	int (*blob_append)(struct lf_blob *blob, const void *data, size_t len);

	/* -- errors -- fill err: code plus printf-style one-line message;
	 * returns code. err_set_retry also says when a retry makes sense
	 * (a cloud's Retry-After; 0: the executor's own backoff). A
	 * message never carries a secret or a file's contents. */
	int (*err_set)(struct lf_err *err, int code, const char *fmt, ...)
		LF_DRIVER_PRINTF(3, 4);
	int (*err_set_retry)(struct lf_err *err, int code,
			     unsigned int retry_after_ms, const char *fmt, ...)
		LF_DRIVER_PRINTF(4, 5);

	/* -- the call context: one per callback call, NULL never -- */
	/* resource address the call is about ("host.bank.peer0"; "" when
	 * none, e.g. open) for log and error text */
	const char *(*call_resource)(const struct lf_call *call);
	/* absolute deadline, lf_host_api.now_ms clock; 0: none */
	uint64_t (*call_deadline)(const struct lf_call *call);
	/* has this action been cancelled (second ^C, lock lost, deadline)?
	 * drivers polling long waits check it and return LF_ECANCELED */
	int (*call_cancelled)(const struct lf_call *call);
	/* one line of progress ("waiting for i-0abc to be running (12 s)"),
	 * shown on the status line; rate-limited by the host */
	void (*call_progress)(struct lf_call *call, const char *fmt, ...)
		LF_DRIVER_PRINTF(2, 3);
	/* log through the host, prefixed with driver and resource; level 0
	 * debug, 1 info, 2 warn, 3 error. Never pass a secret. */
	void (*call_log)(struct lf_call *call, int level, const char *fmt, ...)
		LF_DRIVER_PRINTF(3, 4);
	/* a diagnostic from validate, about the provider's config key path
	 * ("config.region", "sizes.large.instance_type"); the host shows it
	 * at that key's position in the spec */
	void (*call_diag)(struct lf_call *call, const char *keypath,
			  const char *fmt, ...) LF_DRIVER_PRINTF(3, 4);
	/* One credential value, resolved now from the provider's
	 * `credentials:` ({env: VAR} gives key "secret"; {file: PATH} a JSON
	 * object's keys or an INI file's keys of {profile: NAME}), so
	 * expiring session credentials are re-read on every call. Copied
	 * into buf (NUL-terminated, *len without the NUL). LF_ENOTFOUND when
	 * the spec names no credentials or no such key (the driver then uses
	 * its own chain), LF_EINVALID when buf is too small. The driver
	 * wipes buf after use. */
	int (*call_secret)(struct lf_call *call, const char *key, char *buf,
			   size_t cap, size_t *len);

	/* monotonic milliseconds */
	uint64_t (*now_ms)(void);
};

/* What the host asks of a machine (provider callbacks). */
struct lf_host_spec {
	const char *resource;        /* resource address: host.bank.peer0 */
	const char *lineage;         /* the state's lineage: every machine a
					provider makes carries it and the
					resource address (a tag, domain
					metadata, a marker); a machine is
					adopted only when both match */
	const char *name;            /* DNS label, readable: peer0-bank */
	const char *hostname;        /* FQDN: peer0.bank.example.com */
	unsigned int vcpus;
	unsigned long long memory_mb;
	unsigned long long disk_gb;
	const char *image;
	const struct lf_kv *attrs;   /* every desired attribute, plus (hosts
					of a spec with nodes; added within ABI
					2, absent from older hosts) the list
					"node_ports": one object per port of
					each peer and orderer on a host of this
					provider: {node, host (resource
					address), kind, name: listen |
					operations | chaincode | admin, port,
					from: network | controller | machine},
					"from" saying who must reach it (the
					network's machines and clients, the
					controller only, nothing off the
					machine); see docs/drivers.md */
	const struct lf_kv *size;    /* the size template, with its
					per-provider fields (instance_type,
					cpu_mode, ...) */
	const struct lf_kv *prior;   /* outputs recorded earlier (also after a
					failed create); NULL when none */
};

/* Where a transport acts: one machine. */
struct lf_target {
	const char *resource;        /* host resource address (logs) */
	const char *lineage;         /* marker contents, as for providers */
	const char *name;            /* host name, DNS label */
	const char *machine_address; /* IP or DNS name: the provider's output
					"machine_address", or the spec's
					explicit host address; NULL for
					local-only transports */
	const struct lf_kv *outputs; /* the provider's outputs for the host
					(host key fingerprint, id, ...) or
					NULL */
};

/*
 * Transport contract.
 * - Paths are relative to a per-machine root the transport chooses (a
 *   host directory, ~/ledgerform/<lineage-prefix>/<name> remotely); never
 *   absolute, never containing "..", never leaving the root through a
 *   symlink. The root and its marker are made by machine_prepare and
 *   removed by machine_release.
 * - put writes many files in one call, each atomically (temporary name,
 *   mode, rename), creating parent directories 0755 (0700 when the file's
 *   mode has no group/other bits). A cut transfer never leaves a half file.
 * - exec runs argv with no shell unless LF_EXEC_SHELL, in the root, with
 *   exactly the environment in envp plus PATH; stdout and stderr are kept
 *   up to out_max bytes each (the tail); a timeout ends the command (and
 *   its process group) and reports LF_ETIMEOUT.
 * - Thread safety: with LF_CAP_CONN_SHARED any callback may run on several
 *   threads at once; without it the host serialises calls per connection.
 */
struct lf_file {
	const char *path;            /* relative to the root */
	const void *data;
	size_t len;
	unsigned int mode;           /* 0600 for secrets */
	const char *owner;           /* user name on the machine; NULL: the
					transport's user */
};

#define LF_EXEC_SHELL (1u << 0) /* run argv[0] through /bin/sh -c */

struct lf_exec_spec {
	const char *const *argv;     /* NULL-terminated */
	const char *const *envp;     /* "KEY=VALUE", NULL-terminated; the only
					environment besides PATH */
	const void *stdin_data;      /* NULL: /dev/null */
	size_t stdin_len;
	unsigned int timeout_ms;     /* 0: the call's deadline only */
	size_t out_max;              /* bytes of stdout and of stderr kept
					(tail); 0: 64 KiB */
};

struct lf_exec_result {
	int exit_status;             /* 0..255, or 128+signal */
	struct lf_blob *out;         /* stdout, host-owned */
	struct lf_blob *err;         /* stderr, host-owned */
};

/*
 * Node services (optional transport callback `service`, LF_CAP_SYSTEMD;
 * added within ABI 2: present only when the driver's struct_size covers
 * it). A node runs as a service of the machine's own init system where
 * the transport finds one (systemd as PID 1: a unit
 * ledgerform-NAME.service with Restart=on-failure, enabled at boot, logs
 * in the journal); where it finds none, service returns LF_EUNSUPPORTED
 * and the caller runs the node under its own supervisor.
 */
struct lf_service {
	const char *name;            /* [A-Za-z0-9_.-]+, unique per machine:
					the unit is ledgerform-NAME.service */
	const char *resource;        /* the node's resource address (text) */
	const char *exec;            /* the start script, relative to the root
					("fabric/run.sh"), run by /bin/sh */
	const char *const *envp;     /* the node's environment, KEY=VALUE,
					NULL-terminated; kept in a 0600 file
					in the root (never in the unit) */
};

#define LF_SVC_START  1  /* install or refresh the service, enable it, and
			    (re)start it */
#define LF_SVC_STOP   2  /* stop it, disable it and remove it; a missing
			    service is success */
#define LF_SVC_STATUS 3  /* only report */

struct lf_service_status {
	int active;                  /* running (systemd: ActiveState=active) */
	long long main_pid;          /* 0 when none */
	char state[32];              /* the init system's word ("active",
					"failed", "inactive") */
	char manager[16];            /* "systemd" */
};

/* How a change of one attribute can be made (change_kind). */
enum lf_change_kind {
	LF_CHANGE_REPLACE = 0,       /* destroy and create (default) */
	LF_CHANGE_INPLACE = 1,       /* host_update, the machine keeps running */
	LF_CHANGE_RESTART = 2,       /* host_update with a stop/start */
	LF_CHANGE_REFUSED = 3        /* cannot be done (a disk shrink): the
					plan is refused with the reason */
};

/* host_update flags */
#define LF_UPDATE_RESTART (1u << 0) /* the plan allowed a restart */

struct lf_driver {
	uint32_t abi_version;   /* LF_DRIVER_ABI_VERSION */
	uint32_t struct_size;   /* sizeof(struct lf_driver) at build time */
	const char *name;       /* unique, [a-z0-9_]+ */
	const char *version;    /* driver's own version string */
	uint32_t roles;         /* LF_ROLE_*, at least one */
	uint32_t caps;          /* LF_CAP_* */

	/* -- every driver -- */

	/* mandatory: open a connection with the provider's config (a view;
	 * nested maps and lists allowed). Credentials are asked for through
	 * call when needed, not here. Returns 0, LF_OPEN_DECLINED or a
	 * negative code with err filled. */
	int (*open)(struct lf_driver_conn **out, const struct lf_kv *config,
		    struct lf_call *call, unsigned int flags,
		    struct lf_err *err);
	/* mandatory */
	void (*close)(struct lf_driver_conn *conn);
	/* optional, at plan time without a connection: check the provider's
	 * config and the size templates this provider's hosts use (sizes is
	 * an object: template name -> {vcpus, memory_mb, disk_gb, image,
	 * per-provider fields}); report each problem with host->call_diag
	 * and return LF_EINVALID, else 0. */
	int (*validate)(const struct lf_kv *config, const struct lf_kv *sizes,
			struct lf_call *call, unsigned int flags,
			struct lf_err *err);

	/* -- LF_ROLE_PROVIDER -- */

	/* optional, at plan time without a connection: how attribute key can
	 * change from old to new (values as strings) for a host of this
	 * provider; the reason (one line) goes to why. NULL: every change is
	 * a replace. */
	enum lf_change_kind (*change_kind)(const struct lf_kv *config,
				      const char *key, const char *old_val,
				      const char *new_val, char *why,
				      size_t why_len);
	/* mandatory: create a machine; outputs (id, machine_address,
	 * host_key_sha256, ...) go to out. Idempotent: a machine carrying this
	 * lineage and resource address is adopted; one with the name but
	 * another (or no) lineage is an LF_ECONFLICT, never touched. On
	 * failure, what is already in out (an instance id whose wait timed
	 * out) is recorded, and handed back as spec->prior next time. */
	int (*host_create)(struct lf_driver_conn *conn,
			   const struct lf_host_spec *spec, struct lf_call *call,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err);
	/* mandatory: the live machine: its outputs plus the live attributes
	 * it can report (vcpus, memory_mb, disk_gb, image, power: running |
	 * stopped); LF_ENOTFOUND when gone (or no longer carrying this
	 * lineage). */
	int (*host_read)(struct lf_driver_conn *conn,
			 const struct lf_host_spec *spec, struct lf_call *call,
			 struct lf_kv_builder *out, unsigned int flags,
			 struct lf_err *err);
	/* optional: make the changes change_kind called in place (flags may
	 * carry LF_UPDATE_RESTART); outputs as for create */
	int (*host_update)(struct lf_driver_conn *conn,
			   const struct lf_host_spec *spec, struct lf_call *call,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err);
	/* mandatory: delete; a missing machine is success; a machine without
	 * this lineage is never touched (LF_ECONFLICT) */
	int (*host_delete)(struct lf_driver_conn *conn,
			   const struct lf_host_spec *spec, struct lf_call *call,
			   unsigned int flags, struct lf_err *err);
	/* optional (LF_CAP_IMPORT): adopt the existing machine `id` as this
	 * host: tag it with lineage and resource address, outputs as for
	 * create. LF_ENOTFOUND when there is no such machine. */
	int (*host_import)(struct lf_driver_conn *conn, const char *id,
			   const struct lf_host_spec *spec, struct lf_call *call,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err);

	/* -- LF_ROLE_TRANSPORT -- (all mandatory for the role) */

	/* make the machine's root and its marker (lineage + resource
	 * address), adopting a root whose marker matches and refusing one
	 * that has none or another; report facts (os, cpus, memory_mb,
	 * disk_free_mb, systemd: true|false) to out */
	int (*machine_prepare)(struct lf_driver_conn *conn,
			       const struct lf_target *t, struct lf_call *call,
			       struct lf_kv_builder *out, unsigned int flags,
			       struct lf_err *err);
	/* remove the root if its marker matches (marker last); a missing
	 * root is success; facts to out as machine_prepare (NULL: skip) */
	int (*machine_release)(struct lf_driver_conn *conn,
			       const struct lf_target *t, struct lf_call *call,
			       unsigned int flags, struct lf_err *err);
	/* is the root there with our marker? facts to out; LF_ENOTFOUND */
	int (*machine_read)(struct lf_driver_conn *conn,
			    const struct lf_target *t, struct lf_call *call,
			    struct lf_kv_builder *out, unsigned int flags,
			    struct lf_err *err);
	int (*put)(struct lf_driver_conn *conn, const struct lf_target *t,
		   const struct lf_file *files, size_t nfiles,
		   struct lf_call *call, unsigned int flags, struct lf_err *err);
	/* read a file back (logs, pids, health), at most max bytes (the
	 * tail when larger); LF_ENOTFOUND when absent */
	int (*get)(struct lf_driver_conn *conn, const struct lf_target *t,
		   const char *path, size_t max, struct lf_blob *out,
		   struct lf_call *call, unsigned int flags, struct lf_err *err);
	int (*mkdir)(struct lf_driver_conn *conn, const struct lf_target *t,
		     const char *path, unsigned int mode, struct lf_call *call,
		     unsigned int flags, struct lf_err *err);
	/* remove a file or a tree; missing is success */
	int (*remove)(struct lf_driver_conn *conn, const struct lf_target *t,
		      const char *path, struct lf_call *call,
		      unsigned int flags, struct lf_err *err);
	int (*exec)(struct lf_driver_conn *conn, const struct lf_target *t,
		    const struct lf_exec_spec *spec, struct lf_exec_result *res,
		    struct lf_call *call, unsigned int flags,
		    struct lf_err *err);

	/* -- added within ABI 2 (check struct_size before use) -- */

	/* optional (transport, LF_CAP_SYSTEMD): run, stop or look at a node
	 * as a service of the machine (struct lf_service above); status
	 * (may be NULL for START and STOP) gets what the init system says
	 * after the operation. LF_EUNSUPPORTED: the machine has no init
	 * system the transport runs services with (use a supervisor). */
	int (*service)(struct lf_driver_conn *conn, const struct lf_target *t,
		       const struct lf_service *svc, int op,
		       struct lf_service_status *status, struct lf_call *call,
		       unsigned int flags, struct lf_err *err);

	/* struct grows only here, with struct_size telling what exists */
};

/* does driver d (a loaded table) have the callback `field`, added within
 * ABI 2 after the first version? (its struct_size covers it, and set) */
#define LF_DRIVER_HAS(d, field) \
	((d)->struct_size >= offsetof(struct lf_driver, field) + sizeof((d)->field) && \
	 (d)->field != NULL)

/* The one exported symbol. */
typedef const struct lf_driver *(*lf_driver_entry_fn)(
	const struct lf_host_api *host);

#ifdef __cplusplus
}
#endif
#endif
