/*
 * State backends: store the state of one workspace (its resources, a
 * lineage and a serial) and an exclusive lock. They do not plan.
 *
 * Interface v2 (struct lf_state_ops, LF_STATE_OPS_VERSION 2):
 *   read_all        the whole document
 *   commit          a batch of per-resource puts and deletes plus the new
 *                   serial as one compare-and-swap: LF_ECONFLICT when the
 *                   lineage or serial moved since the caller read them, and
 *                   then nothing is written; never a partial write
 *   lock / unlock   with holder info (who, where, what operation, since
 *                   when) and a lease ttl that a remote backend keeps alive
 *                   while the lock is held
 *   lock_lost       polled by the executor: once the lock is lost it starts
 *                   no more actions and says so
 *   holder          who holds the lock now
 *   check_writable  can a commit succeed? asked before the first action
 *
 * The file backend keeps everything in one JSON document, byte-compatible
 * with format version 1:
 *   { "format_version": 1, "lineage": UUID, "serial": N,
 *     "ledgerform_version": "...", "resources": { ADDR: {...}, ... } }
 * Writes are atomic and bump the serial; the previous version is kept as a
 * backup. A document of a newer format_version, or one that does not parse
 * or has the wrong shape, is refused with a clear error and never
 * overwritten.
 *
 * lf_state_read/write/lock/unlock are the v1 calls, kept as thin wrappers.
 */
#ifndef LF_STATE_H
#define LF_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ledgerform/error.h"

#define LF_STATE_FORMAT_VERSION 1
#define LF_STATE_OPS_VERSION 2
/* the lease a remote backend keeps alive while the lock is held */
#define LF_STATE_LEASE_TTL_DEFAULT 30.0

struct lf_state;

struct lf_state_raw;

struct lf_state_doc {
	char lineage[37];     /* "" when no state exists yet */
	uint64_t serial;      /* 0 when no state exists yet */
	json_t *resources;    /* object ADDR -> resource record; never NULL */
	/* optional: the records unparsed (lf_state_read_raw); NULL when a
	 * backend fills only resources, as read_all does */
	struct lf_state_raw *raw;
};

/* ---- the raw read path: records indexed, not parsed (state/raw.c) ---- */

/* one stored record, checked (record_problem's rules) but not parsed */
struct lf_state_rec {
	size_t addr;          /* offset of its address in raw->strings */
	size_t deps, ndeps;   /* offset of ndeps NUL-separated deps in strings */
	char hash[65];        /* "" when absent or not 64 characters */
	bool partial;         /* "partial": true */
	bool tainted;         /* "tainted": true (state taint) */
	bool has_outputs;
	size_t off, len;      /* the record's JSON object text in raw->text */
	size_t out_off, out_len; /* its "outputs" object's text (has_outputs) */
};

struct lf_state_raw {
	char *text;           /* the document's bytes */
	size_t len;
	char *strings;        /* addresses and deps, NUL-terminated */
	size_t strings_len;
	struct lf_state_rec *v;
	size_t n;
};

static inline const char *lf_state_rec_addr(const struct lf_state_raw *raw,
					    const struct lf_state_rec *r)
{
	return raw->strings + r->addr;
}

void lf_state_raw_free(struct lf_state_raw *raw);
/*
 * Index a whole document's text (owned by raw afterwards) without building
 * a JSON tree: 0 and *out with lineage and serial set, or 1 when the text
 * is anything but a plain well-formed state (a syntax error, a wrong
 * shape, escapes, non-ASCII bytes, duplicate keys, deep nesting): the
 * caller then reads it the ordinary way, which accepts or refuses it with
 * the precise error. text is freed on 1.
 */
int lf_state_raw_scan(struct lf_state_raw **out, char *text, size_t len,
		      char lineage[37], uint64_t *serial);
/* parse one record's text: a new reference to the record object, or NULL */
json_t *lf_state_rec_parse(const struct lf_state_raw *raw,
			   const struct lf_state_rec *r);
/* parse only its outputs: a new reference, or NULL when it has none */
json_t *lf_state_rec_outputs(const struct lf_state_raw *raw,
			     const struct lf_state_rec *r);

/* ---- holder records: who holds a lock (shared by all backends) ---- */

struct lf_state_holder {
	long long pid;
	char who[128];        /* user name */
	char where[256];      /* host name */
	char operation[64];   /* "apply", "plan", ... */
	char since[32];       /* ISO 8601 UTC: "2026-01-31T12:00:00Z" */
};

/* this process, now, doing operation (NULL: "unknown") */
void lf_state_holder_self(struct lf_state_holder *out, const char *operation);
/* {"host", "operation", "pid", "started", "user"}: the lock file's record */
json_t *lf_state_holder_to_json(const struct lf_state_holder *h);
/* 0, or LF_EINVALID when o is not a holder record (out is then zeroed) */
int lf_state_holder_from_json(struct lf_state_holder *out, const json_t *o);
/* "pid 1234 (user@host, apply, since 2026-01-31T12:00:00Z)" */
void lf_state_holder_format(const struct lf_state_holder *h, char *out, size_t n);

/* ---- a commit's batch of changes ---- */

enum lf_state_change_kind {
	LF_STATE_PUT,         /* set ADDR to record */
	LF_STATE_DELETE,      /* remove ADDR (absent: no-op) */
	LF_STATE_CHANGE_LAST
};

struct lf_state_change {
	enum lf_state_change_kind kind;
	char *addr;
	json_t *record;       /* a reference; NULL for a delete */
};

struct lf_state_batch {
	/* when set, the whole new resource set (borrowed; not changed), and
	 * the changes apply on top of it; when NULL they apply to the state
	 * as stored */
	json_t *all;
	struct lf_state_change *v;
	size_t n, cap;
};

#define LF_STATE_BATCH_INIT { NULL, NULL, 0, 0 }

/* the batch takes a reference to record */
void lf_state_batch_put(struct lf_state_batch *b, const char *addr, json_t *record);
void lf_state_batch_delete(struct lf_state_batch *b, const char *addr);
void lf_state_batch_clear(struct lf_state_batch *b);

/* what a commit expects to replace, and on success what it wrote */
struct lf_state_version {
	char lineage[37];     /* "" before the first commit (then created) */
	uint64_t serial;
};

/* ---- the backend table ---- */

struct lf_state_ops {
	unsigned int version;     /* LF_STATE_OPS_VERSION */
	const char *name;
	/* MUST: the whole document */
	int (*read_all)(struct lf_state *st, struct lf_state_doc *out,
			struct lf_err *err);
	/* MUST: apply batch if the stored state is at *ver (CAS); on success
	 * *ver is the new lineage and serial. LF_ECONFLICT: nothing written */
	int (*commit)(struct lf_state *st, const struct lf_state_batch *batch,
		      struct lf_state_version *ver, struct lf_err *err);
	/* MUST: take the lock as holder, waiting up to wait_s (0: try once);
	 * lease_ttl_s 0 means LF_STATE_LEASE_TTL_DEFAULT. LF_ECONFLICT names
	 * the holder. Taking a lock this handle holds is a no-op */
	int (*lock)(struct lf_state *st, const struct lf_state_holder *holder,
		    double lease_ttl_s, double wait_s, struct lf_err *err);
	int (*unlock)(struct lf_state *st, struct lf_err *err);
	/* MUST: 0 while this handle holds the lock; 1 when it does not (never
	 * taken, released, or lost: err says why) */
	int (*lock_lost)(struct lf_state *st, struct lf_err *err);
	/* MAY: who holds the lock: 0, or LF_ENOTFOUND when nobody does */
	int (*holder)(struct lf_state *st, struct lf_state_holder *out,
		      struct lf_err *err);
	/* MAY: can a commit succeed? probed without changing the state */
	int (*check_writable)(struct lf_state *st, struct lf_err *err);
	/* MUST: human description: path or endpoint */
	const char *(*describe)(struct lf_state *st);
	/* MUST: releases a held lock too */
	void (*free)(struct lf_state *st);
	/* MAY: like read_all, with the records left unparsed in out->raw
	 * (out->resources an empty object) when the backend can; NULL:
	 * lf_state_read_raw calls read_all */
	int (*read_raw)(struct lf_state *st, struct lf_state_doc *out,
			struct lf_err *err);
};

struct lf_state {
	const struct lf_state_ops *ops;
};

/*
 * Open the backend named by backend ("file" or NULL for default) with its
 * settings object (may be NULL). For "file", settings.path is the state file
 * (relative paths are taken from base_dir); default_path is used when none.
 */
int lf_state_open(struct lf_state **out, const char *backend,
		  const json_t *settings, const char *base_dir,
		  const char *default_path, struct lf_err *err);
void lf_state_free(struct lf_state *st);
void lf_state_doc_clear(struct lf_state_doc *doc);
const char *lf_state_describe(struct lf_state *st);

/* ---- v2 calls ---- */

int lf_state_commit(struct lf_state *st, const struct lf_state_batch *batch,
		    struct lf_state_version *ver, struct lf_err *err);
int lf_state_lock_as(struct lf_state *st, const struct lf_state_holder *holder,
		     double lease_ttl_s, double wait_s, struct lf_err *err);
/* 0 while held; 1 when lost (err says why): start no more actions */
int lf_state_lock_lost(struct lf_state *st, struct lf_err *err);
/* 0 and *out, LF_ENOTFOUND when unlocked, LF_EUNSUPPORTED */
int lf_state_holder(struct lf_state *st, struct lf_state_holder *out,
		    struct lf_err *err);
/*
 * Find out before the first action whether the state can be written: for
 * the file backend, a temp file and a backup hard link are made next to the
 * state file and removed (the state's directory is created when missing).
 * Call it after taking the lock and before any action runs.
 */
int lf_state_check_writable(struct lf_state *st, struct lf_err *err);

/* read for a plan: doc->raw set when the backend reads records unparsed,
 * else doc->resources filled as lf_state_read does */
int lf_state_read_raw(struct lf_state *st, struct lf_state_doc *out,
		      struct lf_err *err);

/* ---- v1 calls (wrappers over v2) ---- */

/* lock as this process doing who, with the default lease */
int lf_state_lock(struct lf_state *st, double timeout_s, const char *who,
		  struct lf_err *err);
int lf_state_unlock(struct lf_state *st, struct lf_err *err);
int lf_state_read(struct lf_state *st, struct lf_state_doc *out,
		  struct lf_err *err);
/* commit doc->resources as the whole set, expecting doc's lineage and
 * serial; on success doc->serial/lineage are the new ones */
int lf_state_write(struct lf_state *st, struct lf_state_doc *doc,
		   struct lf_err *err);

/* file backend constructor (used by lf_state_open) */
int lf_state_file_new(struct lf_state **out, const char *path,
		      struct lf_err *err);

/* etcd backend constructor (settings: endpoints, prefix, lease_ttl,
 * ca_cert, cert, key, username, credentials; see docs/state.md) */
int lf_state_etcd_new(struct lf_state **out, const json_t *settings,
		      const char *base_dir, struct lf_err *err);
/* remove the etcd lock whose ID (from the holder message) is id */
int lf_state_etcd_force_unlock(struct lf_state *st, const char *id,
			       struct lf_err *err);

#endif
