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
#define LOCAL_OUTPUT_MAX (1024u * 1024u)

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
/* 0 when dir is a real directory (not a symlink) carrying the marker;
 * LF_ENOTFOUND when missing; LF_ECONFLICT when not ours. */
int local_check_ours(const char *dir, const char *name, struct lf_err *err);
/* write rel (relative, no "..") under dir atomically with mode */
int local_put_file(const char *dir, const char *rel, const void *data,
		   size_t len, unsigned int mode, struct lf_err *err);
/* rm -rf without following symlinks */
int local_rmtree(const char *dir, struct lf_err *err);

/* local_exec.c */
int local_run(const struct lf_driver_conn *c, const char *dir,
	      const char *const *argv, unsigned int flags,
	      struct lf_exec_result *res, void *(*out_alloc)(size_t),
	      struct lf_err *err);

#endif
