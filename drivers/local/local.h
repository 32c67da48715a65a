/*
 * The `local` driver: hosts are directories under a root directory on this
 * machine. Internal header shared by the driver's files only.
 */
#ifndef LF_DRIVER_LOCAL_H
#define LF_DRIVER_LOCAL_H

#include <stddef.h>
#include "ledgerform/driver.h"

#define LOCAL_MARKER ".ledgerform-host"
#define LOCAL_HOST_JSON "host.json"

struct lf_driver_conn {
	char *root;          /* absolute, resolved */
	long exec_timeout;   /* seconds, 0 = none */
};

/* the host API given to lf_driver_entry (process lifetime) */
extern const struct lf_host_api *local_host;

/* local_fs.c */
/* Host directory ROOT/NAME after validating NAME; caller frees. */
int local_host_dir(const struct lf_driver_conn *c, const char *name,
		   char **out, struct lf_err *err);
/* Who a host directory belongs to: the state's lineage and the host's
 * resource address, written into the marker. */
struct local_ident {
	const char *lineage;
	const char *resource;
};

/* 0 when dir is a real directory (not a symlink) carrying the marker, and
 * (ident given, with a lineage) the marker names this lineage and resource
 * or none (a host made before ABI 2); LF_ENOTFOUND when missing;
 * LF_ECONFLICT when not ours or another network's. */
int local_check_ours(const char *dir, const char *name,
		     const struct local_ident *ident, struct lf_err *err);
/* write rel (relative, no "..") under dir atomically with mode */
int local_put_file(const char *dir, const char *rel, const void *data,
		   size_t len, unsigned int mode, struct lf_err *err);
/* rm -rf (no symlink followed) of a host directory, its marker last (a kill midway leaves the
 * marker, so the rest is still known to be ours) */
int local_rmhost(const char *dir, struct lf_err *err);

/* get / mkdir / remove of rel below dir, no component a symlink */
int local_get_file(const char *dir, const char *rel, size_t max,
		   struct lf_blob *out, struct lf_err *err);
int local_mkdir_at(const char *dir, const char *rel, unsigned int mode,
		   struct lf_err *err);
int local_remove_at(const char *dir, const char *rel, struct lf_err *err);

/* local_hostdir.c: host directories made and removed as one step */
/* Make dir (= ROOT/NAME) with the marker and host.json (attrs) inside as
 * one rename; an existing dir carrying the marker is adopted (*adopted =
 * 1, attrs not written), one without it is LF_ECONFLICT. Leftovers of a
 * crashed create/delete of NAME are removed first. */
int local_host_make(const struct lf_driver_conn *c, const char *name,
		    const struct local_ident *ident, const char *dir,
		    const char *attrs, int *adopted, struct lf_err *err);
/* Rename dir (checked ours) away to a trash name, then remove it. */
int local_host_remove(const struct lf_driver_conn *c, const char *name,
		      const char *dir, struct lf_err *err);
/* Remove ROOT/.NAME.tmp-* and .NAME.trash-* that are empty or marked. */
int local_leftovers_clean(const struct lf_driver_conn *c, const char *name,
			  struct lf_err *err);

/* local_exec.c */
int local_run(const struct lf_driver_conn *c, const char *dir,
	      const struct lf_exec_spec *spec, unsigned int flags,
	      struct lf_call *call, struct lf_exec_result *res,
	      struct lf_err *err);

#endif
