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
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
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

static void user_name(char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	const char *env = getenv("USER");

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, n, "%s", res->pw_name);
	else if (env && env[0])
		snprintf(out, n, "%s", env);
	else
		snprintf(out, n, "uid%u", (unsigned)geteuid());
}

static void now_iso8601(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* one-line JSON record of this process as the holder */
static char *holder_record(const char *who)
{
	char user[256], host[256], when[32];
	json_t *o;
	char *s, *line;

	user_name(user, sizeof(user));
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	now_iso8601(when);
	o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "pid", (json_int_t)getpid(),
		      "user", user, "host", host, "operation", who ? who : "unknown",
		      "started", when);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!s)
		return lf_xstrdup("{}\n");
	line = lf_xasprintf("%s\n", s);
	free(s);
	return line;
}

static int write_holder(int fd, const char *lock_path, const char *who,
			struct lf_err *err)
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

/* "pid 1234 (user@host, apply, since ...)" from the lock file, or a hint */
static void describe_holder(int fd, char *out, size_t n)
{
	char buf[HOLDER_MAX];
	ssize_t r;
	json_t *o = NULL;
	json_int_t pid = 0;
	const char *user = "?", *host = "?", *op = "?", *since = "?";

	do {
		r = pread(fd, buf, sizeof(buf) - 1, 0);
	} while (r < 0 && errno == EINTR);
	if (r > 0)
		o = json_loadb(buf, (size_t)r, 0, NULL);
	if (!o || json_unpack(o, "{s:I, s?s, s?s, s?s, s?s}", "pid", &pid, "user", &user,
			      "host", &host, "operation", &op, "started", &since) != 0) {
		snprintf(out, n, "another process (it has not recorded itself yet)");
		json_decref(o);
		return;
	}
	snprintf(out, n, "pid %lld (%s@%s, %s, since %s)", (long long)pid, user,
		 host, op, since);
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
			   const char *what, double timeout_s, const char *who,
			   struct lf_err *err)
{
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
		describe_holder(fd, holder, sizeof(holder));
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
