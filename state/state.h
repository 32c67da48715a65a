/*
 * State backends: store one JSON state document per workspace and an
 * exclusive lock. They do not plan. The document envelope is theirs:
 *   { "format_version": 1, "lineage": UUID, "serial": N,
 *     "ledgerform_version": "...", "resources": { ADDR: {...}, ... } }
 * Writes are atomic and bump the serial; the previous version is kept as a
 * backup. A document of a newer format_version, or one that does not parse,
 * is refused with a clear error and never overwritten.
 */
#ifndef LF_STATE_H
#define LF_STATE_H

#include <stdint.h>
#include <jansson.h>
#include "ledgerform/error.h"

#define LF_STATE_FORMAT_VERSION 1

struct lf_state;

struct lf_state_doc {
	char lineage[37];     /* "" when no state exists yet */
	uint64_t serial;      /* 0 when no state exists yet */
	json_t *resources;    /* object ADDR -> resource record; never NULL */
};

struct lf_state_ops {
	const char *name;
	int (*lock)(struct lf_state *st, double timeout_s, const char *who,
		    struct lf_err *err);
	int (*unlock)(struct lf_state *st, struct lf_err *err);
	int (*read)(struct lf_state *st, struct lf_state_doc *out,
		    struct lf_err *err);
	/* write doc->resources; on success doc->serial is the new serial and
	 * doc->lineage is set (created on first write) */
	int (*write)(struct lf_state *st, struct lf_state_doc *doc,
		     struct lf_err *err);
	void (*free)(struct lf_state *st);
	/* human description: path or endpoint */
	const char *(*describe)(struct lf_state *st);
	/* can a write succeed? probed without changing the state */
	int (*check_writable)(struct lf_state *st, struct lf_err *err);
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

static inline int lf_state_lock(struct lf_state *st, double timeout_s,
				const char *who, struct lf_err *err)
{ return st->ops->lock(st, timeout_s, who, err); }
static inline int lf_state_unlock(struct lf_state *st, struct lf_err *err)
{ return st->ops->unlock(st, err); }
static inline int lf_state_read(struct lf_state *st, struct lf_state_doc *out,
				struct lf_err *err)
{ return st->ops->read(st, out, err); }
static inline int lf_state_write(struct lf_state *st, struct lf_state_doc *doc,
				 struct lf_err *err)
{ return st->ops->write(st, doc, err); }
/*
 * Find out before the first action whether the state can be written: for
 * the file backend, a temp file and a backup hard link are made next to the
 * state file and removed (the state's directory is created when missing).
 * Call it after lf_state_lock and before any action runs.
 */
int lf_state_check_writable(struct lf_state *st, struct lf_err *err);
void lf_state_free(struct lf_state *st);
void lf_state_doc_clear(struct lf_state_doc *doc);

/* file backend constructor (used by lf_state_open) */
int lf_state_file_new(struct lf_state **out, const char *path,
		      struct lf_err *err);

#endif
