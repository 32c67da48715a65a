/*
 * flock(2)-based exclusive lock with a holder record. See lockfile.h.
 *
 * There is no stale-lock problem: an flock lock belongs to the open file
 * description, and the kernel drops it when the last descriptor is closed,
 * which includes the holder being killed or crashing. A holder record left
 * in the file by a dead process is therefore harmless: the record is only
 * read to explain a refusal while the lock is really held.
 *
 * The lock file is never deleted: unlinking it while another process waits
 * on the old inode would let two processes "hold" the lock at once.
 */
#include "state/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/util/util.h"

#define LOCK_POLL_MS 50
#define HOLDER_MAX 4096

/* 0: acquired, 1: held by someone else, -1: error (errno set) */
static int try_flock(int fd)
{
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? 1 : -1;
	}
}

static int wait_flock(int fd, double timeout_s)
{
	double deadline = lf_now_s() + timeout_s;

	for (;;) {
		int rc = try_flock(fd);
		double left = deadline - lf_now_s();

		if (rc != 1 || left <= 0)
			return rc;
		if (left * 1000.0 < LOCK_POLL_MS)
			lf_sleep_ms((uint64_t)(left * 1000.0) + 1);
		else
			lf_sleep_ms(LOCK_POLL_MS);
	}
}

/* one-line JSON record of the holder */
static char *holder_record(const struct lf_state_holder *h)
{
	json_t *o = lf_state_holder_to_json(h);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char *line;

	json_decref(o);
	if (!s)
		return lf_xstrdup("{}\n");
	line = lf_xasprintf("%s\n", s);
	free(s);
	return line;
}

static int write_holder(int fd, const char *lock_path,
			const struct lf_state_holder *who, struct lf_err *err)
{
	char *rec = holder_record(who);
	size_t len = strlen(rec);
	ssize_t w;
	int rc = 0;

	if (ftruncate(fd, 0) != 0) {
		rc = lf_err_sys(err, LF_ERROR, "cannot truncate lock file '%s'", lock_path);
		goto cleanup;
	}
	do {
		w = pwrite(fd, rec, len, 0);
	} while (w < 0 && errno == EINTR);
	if (w < 0 || (size_t)w != len)
		rc = lf_err_sys(err, LF_ERROR, "cannot record the holder in lock file '%s'",
				lock_path);
cleanup:
	free(rec);
	return rc;
}

/* the holder record in the lock file (pid 0 when there is none yet) */
static void read_holder(int fd, struct lf_state_holder *out)
{
	char buf[HOLDER_MAX];
	ssize_t r;
	json_t *o = NULL;

	do {
		r = pread(fd, buf, sizeof(buf) - 1, 0);
	} while (r < 0 && errno == EINTR);
	if (r > 0)
		o = json_loadb(buf, (size_t)r, 0, NULL);
	lf_state_holder_from_json(out, o);
	json_decref(o);
}

static int open_nofollow(const char *lock_path)
{
	return open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

/* the lock file must be ours: a regular file this user owns, no symlink
 * (a planted symlink would make us truncate its target) */
static int check_lock_file(int fd, const char *lock_path, struct lf_err *err)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0)
		return lf_err_sys(err, LF_ERROR, "cannot stat lock file '%s'", lock_path);
	if (!S_ISREG(sb.st_mode))
		return lf_err_set(err, LF_EINVALID,
				  "lock file '%s' is not a regular file; refusing to use it (remove it)",
				  lock_path);
	if (sb.st_uid != geteuid())
		return lf_err_set(err, LF_EINVALID,
				  "lock file '%s' is owned by uid %u, not by this user (uid %u); refusing to use it",
				  lock_path, (unsigned)sb.st_uid, (unsigned)geteuid());
	return 0;
}

/* open (creating) the lock file into *fd_out; 0 or an LF_E* code */
static int open_lock_file(int *fd_out, const char *lock_path, struct lf_err *err)
{
	int fd = open_nofollow(lock_path), rc;
	char *dir;

	*fd_out = -1;
	if (fd < 0 && errno == ENOENT) {
		/* first use of a state directory that does not exist yet */
		dir = lf_path_dirname(lock_path);
		rc = lf_mkdirs(dir, 0700, err);
		free(dir);
		if (rc != 0)
			return rc;
		fd = open_nofollow(lock_path);
	}
	if (fd < 0 && errno == ELOOP)
		return lf_err_set(err, LF_EINVALID,
				  "lock file '%s' is a symbolic link; refusing to use it (remove it)",
				  lock_path);
	if (fd < 0 && errno == EISDIR)
		return lf_err_set(err, LF_EINVALID,
				  "lock file '%s' is not a regular file; refusing to use it (remove it)",
				  lock_path);
	if (fd < 0)
		return lf_err_sys(err, LF_ERROR, "cannot open lock file '%s'", lock_path);
	rc = check_lock_file(fd, lock_path, err);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

int lf_state__lock_acquire(int *fd_out, const char *lock_path,
			   const char *what, double timeout_s,
			   const struct lf_state_holder *who, struct lf_err *err)
{
	struct lf_state_holder h;
	char holder[512];
	int fd, rc;

	*fd_out = -1;
	if (isnan(timeout_s) || timeout_s < 0)
		return lf_err_set(err, LF_EINVALID, "lock timeout for state '%s' must be >= 0",
				  what);
	rc = open_lock_file(&fd, lock_path, err);
	if (rc != 0)
		return rc;
	rc = wait_flock(fd, timeout_s);
	if (rc < 0) {
		rc = lf_err_sys(err, LF_ERROR, "cannot lock '%s'", lock_path);
	} else if (rc > 0) {
		read_holder(fd, &h);
		lf_state_holder_format(&h, holder, sizeof(holder));
		rc = lf_err_set(err, LF_ECONFLICT,
				"state '%s' is locked by %s; waited %gs; retry later or pass --lock-timeout",
				what, holder, timeout_s);
	} else {
		rc = write_holder(fd, lock_path, who, err);
	}
	if (rc != 0) {
		close(fd); /* also drops the lock if we got it */
		return rc;
	}
	*fd_out = fd;
	return 0;
}

int lf_state__lock_release(int fd, const char *lock_path, struct lf_err *err)
{
	int rc = 0;

	if (fd < 0)
		return 0;
	if (ftruncate(fd, 0) != 0)
		rc = lf_err_sys(err, LF_ERROR, "cannot clear lock file '%s'", lock_path);
	if (flock(fd, LOCK_UN) != 0 && rc == 0)
		rc = lf_err_sys(err, LF_ERROR, "cannot unlock '%s'", lock_path);
	close(fd);
	return rc;
}

int lf_state__lock_holder(const char *lock_path, struct lf_state_holder *out,
			  struct lf_err *err)
{
	int fd = open(lock_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	memset(out, 0, sizeof(*out));
	if (fd < 0 && errno == ENOENT)
		return LF_ENOTFOUND; /* never locked */
	if (fd < 0)
		return lf_err_sys(err, LF_ERROR, "cannot open lock file '%s'", lock_path);
	/* a shared lock is granted only when nobody holds the exclusive one */
	do {
		rc = flock(fd, LOCK_SH | LOCK_NB);
	} while (rc != 0 && errno == EINTR);
	if (rc == 0) {
		rc = LF_ENOTFOUND;
	} else if (errno == EWOULDBLOCK) {
		read_holder(fd, out);
		rc = 0;
	} else {
		rc = lf_err_sys(err, LF_ERROR, "cannot query lock '%s'", lock_path);
	}
	close(fd);
	return rc;
}

int lf_state__lock_lost(int fd, const char *lock_path, struct lf_err *err)
{
	struct stat held, now;

	if (fd < 0) {
		lf_err_set(err, LF_ECONFLICT, "the lock on '%s' is not held", lock_path);
		return 1;
	}
	if (fstat(fd, &held) != 0 || held.st_nlink == 0 || lstat(lock_path, &now) != 0 ||
	    held.st_dev != now.st_dev || held.st_ino != now.st_ino) {
		lf_err_set(err, LF_ECONFLICT,
			   "lock file '%s' was removed or replaced while the lock was held: another process can take the lock",
			   lock_path);
		return 1;
	}
	return 0;
}
