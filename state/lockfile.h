/*
 * Exclusive lock on a lock file with flock(2), and the holder record
 * written into it (pid, user, host, operation, start time), so a refused
 * caller is told who holds the lock. Internal to the state backends.
 */
#ifndef LF_STATE_LOCKFILE_H
#define LF_STATE_LOCKFILE_H

#include "ledgerform/error.h"
#include "state/state.h"

/*
 * Take the lock on lock_path (created 0600 when missing). timeout_s == 0
 * tries once; otherwise polls until timeout_s seconds have passed. On
 * success *fd_out holds the lock and the holder record names who. On
 * failure: LF_ECONFLICT with the holder read from the file; what names the
 * locked object in messages.
 */
int lf_state__lock_acquire(int *fd_out, const char *lock_path,
			   const char *what, double timeout_s,
			   const struct lf_state_holder *who, struct lf_err *err);
/* clear the holder record, release the lock and close fd (-1: no-op) */
int lf_state__lock_release(int fd, const char *lock_path, struct lf_err *err);

/* who holds the lock on lock_path: 0 and *out (pid 0 when the holder has
 * not recorded itself yet), LF_ENOTFOUND when nobody */
int lf_state__lock_holder(const char *lock_path, struct lf_state_holder *out,
			  struct lf_err *err);
/* 0 while fd still holds the lock on lock_path, 1 (err says why) when the
 * lock file was removed or replaced, so another process could lock it */
int lf_state__lock_lost(int fd, const char *lock_path, struct lf_err *err);

#endif
