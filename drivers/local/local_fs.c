/*
 * Files of the local driver: host directory names, the ownership marker,
 * atomic writes below a host directory that never leave it (no absolute
 * paths, no "..", no symlink followed), and removal without following
 * symlinks.
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/crashpoint.h"

#define LOCAL_RM_DEPTH_MAX 256

static atomic_uint local_tmp_counter;

static int sys_err(struct lf_err *err, int code, const char *what,
		   const char *path)
{
	return local_host->err_set(err, code, "local: %s '%s': %s", what, path,
				   strerror(errno));
}

static int name_valid(const char *s)
{
	size_t i;

	if (!s || s[0] == '\0' || s[0] == '.' || strlen(s) > 255)
		return 0;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return 1;
}

int local_host_dir(const struct lf_driver_conn *c, const char *name,
		   char **out, struct lf_err *err)
{
	size_t n;

	*out = NULL;
	if (!name_valid(name))
		return local_host->err_set(err, LF_EINVALID,
					   "local: host name '%s' is not a plain directory name ([A-Za-z0-9._-], not starting with '.')",
					   name ? name : "");
	n = strlen(c->root) + strlen(name) + 2;
	*out = malloc(n);
	if (!*out)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	snprintf(*out, n, "%s/%s", c->root, name);
	return 0;
}

/* the value of "KEY value" line in marker text, or NULL (caller frees) */
static char *marker_field(const char *text, const char *key)
{
	size_t k = strlen(key);
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > k && strncmp(p, key, k) == 0 && p[k] == ' ')
			return strndup(p + k + 1, len - k - 1);
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* the marker names ident's lineage and resource (or no lineage: older) */
static int marker_matches(const char *marker, const char *dir,
			  const struct local_ident *ident, struct lf_err *err)
{
	char text[4096], *lin = NULL, *res = NULL;
	int fd = open(marker, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0)
		return sys_err(err, LF_ERROR, "cannot read", marker);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	lin = marker_field(text, "lineage");
	res = marker_field(text, "resource");
	if (lin && lin[0] && strcmp(lin, ident->lineage) != 0)
		rc = local_host->err_set(err, LF_ECONFLICT,
					 "local: directory '%s' belongs to another network (lineage %s, not %s), not touching it",
					 dir, lin, ident->lineage);
	else if (lin && lin[0] && res && ident->resource && strcmp(res, ident->resource) != 0)
		rc = local_host->err_set(err, LF_ECONFLICT,
					 "local: directory '%s' is %s's host, not %s's, not touching it",
					 dir, res, ident->resource);
	free(lin);
	free(res);
	return rc;
}

int local_check_ours(const char *dir, const char *name,
		     const struct local_ident *ident, struct lf_err *err)
{
	struct stat st;
	char *marker;
	size_t n;
	int rc = 0;

	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return local_host->err_set(err, LF_ENOTFOUND,
						   "local: host '%s' not found: '%s' does not exist",
						   name, dir);
		return sys_err(err, LF_ERROR, "cannot stat", dir);
	}
	if (!S_ISDIR(st.st_mode))
		return local_host->err_set(err, LF_ECONFLICT,
					   "local: '%s' is not a directory (symlink or file), not touching it",
					   dir);
	n = strlen(dir) + sizeof(LOCAL_MARKER) + 1;
	marker = malloc(n);
	if (!marker)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	snprintf(marker, n, "%s/%s", dir, LOCAL_MARKER);
	if (lstat(marker, &st) != 0 || !S_ISREG(st.st_mode))
		rc = local_host->err_set(err, LF_ECONFLICT,
					 "local: directory '%s' was not made by ledgerform (no %s marker), not touching it",
					 dir, LOCAL_MARKER);
	else if (ident && ident->lineage && ident->lineage[0])
		rc = marker_matches(marker, dir, ident, err);
	free(marker);
	return rc;
}

/* ---- put ------------------------------------------------------------- */

/* Refuse absolute paths, ".." components and a path naming no file. */
static int rel_check(const char *rel, struct lf_err *err)
{
	const char *p = rel, *slash;
	size_t len = 0;

	if (!rel || rel[0] == '\0')
		return local_host->err_set(err, LF_EINVALID, "local: empty file path");
	if (rel[0] == '/')
		return local_host->err_set(err, LF_EINVALID,
					   "local: file path '%s' is absolute; paths are relative to the host directory",
					   rel);
	for (; ; p = slash + 1) {
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return local_host->err_set(err, LF_EINVALID,
						   "local: file path '%s' has a '..' component",
						   rel);
		if (!slash)
			break;
	}
	if (len == 0 || (len == 1 && p[0] == '.'))
		return local_host->err_set(err, LF_EINVALID,
					   "local: file path '%s' names a directory", rel);
	return 0;
}

/* Open (creating with dmode; 0: never create) subdirectory comp of dfd,
 * no symlinks. */
static int subdir_open(int dfd, const char *comp, mode_t dmode,
		       const char *rel, struct lf_err *err)
{
	int created = dmode != 0 && mkdirat(dfd, comp, dmode) == 0;
	int fd;

	if (dmode != 0 && !created && errno != EEXIST) {
		local_host->err_set(err, LF_ERROR,
				    "local: cannot create directory '%s' for '%s': %s",
				    comp, rel, strerror(errno));
		return -1;
	}
	fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		local_host->err_set(err, errno == ENOENT ? LF_ENOTFOUND : LF_EINVALID,
				    "local: '%s' in path '%s' is not a directory (symlinks are not followed)",
				    comp, rel);
		return -1;
	}
	if (created)
		(void)fchmod(fd, dmode); /* exact mode despite the umask */
	return fd;
}

/* Walk rel's parent directories below dfd; returns the last dir's fd
 * (or -1) and points *leaf at the file name inside buf. */
static int parents_open(int dfd, char *buf, mode_t dmode, const char *rel,
			char **leaf, struct lf_err *err)
{
	char *p = buf, *slash;
	int fd = dup(dfd), nfd;

	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (strcmp(p, "..") == 0) { /* rel_check refuses it; belt and braces */
			close(fd);
			fd = -1;
			local_host->err_set(err, LF_EINVALID, "local: '..' in '%s'", rel);
			break;
		}
		if (p[0] != '\0' && strcmp(p, ".") != 0) {
			nfd = subdir_open(fd, p, dmode, rel, err);
			close(fd);
			fd = nfd;
		}
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* temp file + fsync + rename + fsync(dir), all relative to dfd */
static int write_at(int dfd, const char *leaf, const void *data, size_t len,
		    mode_t mode, const char *rel, struct lf_err *err)
{
	char tmp[300];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), ".%.200s.tmp.%ld.%u", leaf, (long)getpid(),
		 atomic_fetch_add(&local_tmp_counter, 1u));
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return sys_err(err, LF_ERROR, "cannot create temporary file for", rel);
	if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0)
		rc = sys_err(err, LF_ERROR, "cannot write", rel);
	if (close(fd) != 0 && rc == 0)
		rc = sys_err(err, LF_ERROR, "cannot close", rel);
	lf_crash_point("local.fs.put_written");
	if (rc == 0 && renameat(dfd, tmp, dfd, leaf) != 0)
		rc = sys_err(err, LF_ERROR, "cannot rename into place", rel);
	if (rc != 0)
		(void)unlinkat(dfd, tmp, 0);
	else
		(void)fsync(dfd);
	lf_crash_point("local.fs.put_renamed");
	return rc;
}

int local_put_file(const char *dir, const char *rel, const void *data,
		   size_t len, unsigned int mode, struct lf_err *err)
{
	mode_t fmode = (mode_t)(mode & 0777);
	mode_t dmode = (fmode & 077) ? 0755 : 0700;
	char *buf = NULL, *leaf = NULL;
	int dfd = -1, pfd = -1, rc;

	rc = rel_check(rel, err);
	if (rc != 0)
		return rc;
	buf = strdup(rel);
	if (!buf)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		rc = sys_err(err, LF_ERROR, "cannot open host directory", dir);
		goto cleanup;
	}
	pfd = parents_open(dfd, buf, dmode, rel, &leaf, err);
	if (pfd < 0) {
		rc = local_host->err_set(err, LF_ERROR,
					 "local: cannot open parent of '%s'", rel);
		goto cleanup;
	}
	rc = write_at(pfd, leaf, data, len, fmode, rel, err);
cleanup:
	if (pfd >= 0)
		close(pfd);
	if (dfd >= 0)
		close(dfd);
	free(buf);
	return rc;
}

/* ---- removal ----------------------------------------------------------- */

static int rm_at(int dfd, const char *name, int depth, struct lf_err *err);

/* remove the entries of directory fd (closed here) except one named skip */
static int rm_children(int fd, int depth, const char *skip, struct lf_err *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		close(fd);
		return local_host->err_set(err, LF_ERROR, "local: cannot list directory: %s",
					   strerror(errno));
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (skip && strcmp(e->d_name, skip) == 0))
			continue;
		rc = rm_at(dirfd(d), e->d_name, depth + 1, err);
	}
	closedir(d);
	return rc;
}

static int rm_at(int dfd, const char *name, int depth, struct lf_err *err)
{
	struct stat st;
	int fd;

	if (depth > LOCAL_RM_DEPTH_MAX)
		return local_host->err_set(err, LF_ERROR,
					   "local: directory tree too deep at '%s'", name);
	lf_crash_point("local.fs.rm_entry");
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : sys_err(err, LF_ERROR, "cannot stat", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
			return sys_err(err, LF_ERROR, "cannot remove", name);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sys_err(err, LF_ERROR, "cannot open directory", name);
	if (rm_children(fd, depth, NULL, err) != 0)
		return LF_ERROR;
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return sys_err(err, LF_ERROR, "cannot remove directory", name);
	return 0;
}

int local_rmhost(const char *dir, struct lf_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : sys_err(err, LF_ERROR, "cannot open directory", dir);
	if (rm_children(fd, 0, LOCAL_MARKER, err) != 0)
		return LF_ERROR;
	lf_crash_point("local.fs.rm_before_marker");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sys_err(err, LF_ERROR, "cannot open directory", dir);
	if (unlinkat(fd, LOCAL_MARKER, 0) != 0 && errno != ENOENT) {
		close(fd);
		return sys_err(err, LF_ERROR, "cannot remove marker in", dir);
	}
	close(fd);
	lf_crash_point("local.fs.rm_after_marker");
	if (rmdir(dir) != 0 && errno != ENOENT)
		return sys_err(err, LF_ERROR, "cannot remove directory", dir);
	return 0;
}

/* ---- get, mkdir, remove: every component below dir without symlinks ---- */

/* dir's fd and the fd of rel's parent (created with 0755 when create);
 * *leaf points into *buf (caller frees *buf and closes the fd) */
static int parent_of(const char *dir, const char *rel, int create, char **buf,
		     char **leaf, int *pfd, struct lf_err *err)
{
	int dfd, rc = rel_check(rel, err);

	*buf = NULL;
	*pfd = -1;
	if (rc != 0)
		return rc;
	*buf = strdup(rel);
	if (!*buf)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return sys_err(err, LF_ERROR, "cannot open host directory", dir);
	*pfd = parents_open(dfd, *buf, create ? 0755 : 0, rel, leaf, err);
	close(dfd);
	if (*pfd < 0)
		return err && err->code ? err->code : LF_ERROR;
	return 0;
}

int local_get_file(const char *dir, const char *rel, size_t max,
		   struct lf_blob *out, struct lf_err *err)
{
	char *buf = NULL, *leaf = NULL, chunk[65536];
	struct stat st;
	int pfd = -1, fd = -1, rc;
	ssize_t n = 0;

	rc = parent_of(dir, rel, 0, &buf, &leaf, &pfd, err);
	if (rc == 0 && (fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		rc = local_host->err_set(err, errno == ENOENT ? LF_ENOTFOUND : LF_ERROR,
					 "local: cannot read '%s': %s", rel, strerror(errno));
	if (rc == 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		rc = local_host->err_set(err, LF_EINVALID, "local: '%s' is not a file", rel);
	if (rc == 0 && max && (size_t)st.st_size > max)
		lseek(fd, st.st_size - (off_t)max, SEEK_SET);
	while (rc == 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
		local_host->blob_append(out, chunk, (size_t)n);
	if (rc == 0 && n < 0)
		rc = local_host->err_set(err, LF_ERROR, "local: read error on '%s'", rel);
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	free(buf);
	return rc;
}

int local_mkdir_at(const char *dir, const char *rel, unsigned int mode,
		   struct lf_err *err)
{
	char *buf = NULL, *leaf = NULL;
	int pfd = -1, rc = parent_of(dir, rel, 1, &buf, &leaf, &pfd, err);

	if (rc == 0 && mkdirat(pfd, leaf, (mode_t)(mode & 0777)) != 0 && errno != EEXIST)
		rc = local_host->err_set(err, LF_ERROR, "local: mkdir '%s': %s", rel, strerror(errno));
	if (pfd >= 0)
		close(pfd);
	free(buf);
	return rc;
}

int local_remove_at(const char *dir, const char *rel, struct lf_err *err)
{
	char *buf = NULL, *leaf = NULL;
	int pfd = -1, rc = parent_of(dir, rel, 0, &buf, &leaf, &pfd, err);

	if (rc == LF_ENOTFOUND) { /* a parent is missing: so is rel */
		if (err) {
			err->code = 0;
			err->msg[0] = '\0';
		}
		rc = 0;
	} else if (rc == 0) {
		rc = rm_at(pfd, leaf, 0, err);
	}
	if (pfd >= 0)
		close(pfd);
	free(buf);
	return rc;
}
