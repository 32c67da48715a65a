/*
 * Host directories come and go as one step each, so a kill -9 at any
 * moment leaves nothing a later run refuses:
 *
 *   create  ROOT/.NAME.tmp-XXXXXX (mkdtemp), the marker first (written and
 *           fsynced), then host.json, fsync it, rename it to ROOT/NAME
 *           without replacing anything (RENAME_NOREPLACE), fsync ROOT.
 *   delete  ROOT/.NAME.trash-XXXXXX (an empty mkdtemp placeholder), rename
 *           ROOT/NAME onto it (atomic), fsync ROOT, then remove the trash
 *           tree with its marker last.
 *
 * So ROOT/NAME either does not exist or is complete with its marker, and a
 * leftover temp or trash directory from a crash is either empty or still
 * carries the marker: it is known to be ours and is removed by the next
 * create or delete of NAME. A leftover with anything else in it is left
 * alone (never ours to judge), and ROOT/NAME without the marker is still
 * refused.
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/crashpoint.h"

#define LEFTOVER_TOKEN_LEN 6 /* mkdtemp's XXXXXX */

static int sys_err(struct lf_err *err, const char *what, const char *path)
{
	return local_host->err_set(err, LF_ERROR, "local: %s '%s': %s", what, path,
				   strerror(errno));
}

/* ROOT/.NAME.KIND-XXXXXX made by mkdtemp (0700); NULL with err set */
static char *leftover_make(const struct lf_driver_conn *c, const char *name,
			   const char *kind, struct lf_err *err)
{
	size_t n = strlen(c->root) + strlen(name) + strlen(kind) + 16;
	char *p = malloc(n);

	if (!p) {
		local_host->err_set(err, LF_ERROR, "local: out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/.%s.%s-XXXXXX", c->root, name, kind);
	if (!mkdtemp(p)) {
		sys_err(err, "cannot create", p);
		free(p);
		return NULL;
	}
	return p;
}

/* ".NAME.tmp-XXXXXX" or ".NAME.trash-XXXXXX" for exactly this NAME */
static int leftover_match(const char *entry, const char *name)
{
	size_t n = strlen(name), i;
	const char *p;

	if (entry[0] != '.' || strncmp(entry + 1, name, n) != 0 || entry[n + 1] != '.')
		return 0;
	p = entry + n + 2;
	if (strncmp(p, "tmp-", 4) == 0)
		p += 4;
	else if (strncmp(p, "trash-", 6) == 0)
		p += 6;
	else
		return 0;
	for (i = 0; p[i]; i++) {
		char ch = p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9')))
			return 0;
	}
	return i == LEFTOVER_TOKEN_LEN;
}

/* 1 when path is a real directory that is empty or carries the marker */
static int leftover_ours(const char *path)
{
	struct stat st;
	struct dirent *e;
	int marked = 0, other = 0;
	DIR *d;

	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strcmp(e->d_name, LOCAL_MARKER) == 0)
			marked = 1;
		else
			other = 1;
	}
	closedir(d);
	return marked || !other;
}

int local_leftovers_clean(const struct lf_driver_conn *c, const char *name,
			  struct lf_err *err)
{
	DIR *d = opendir(c->root);
	struct dirent *e;
	char *path;
	size_t n;
	int rc = 0;

	if (!d)
		return sys_err(err, "cannot list root directory", c->root);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!leftover_match(e->d_name, name))
			continue;
		n = strlen(c->root) + strlen(e->d_name) + 2;
		path = malloc(n);
		if (!path) {
			rc = local_host->err_set(err, LF_ERROR, "local: out of memory");
			break;
		}
		snprintf(path, n, "%s/%s", c->root, e->d_name);
		if (leftover_ours(path))
			rc = local_rmhost(path, err);
		else
			local_host->call_log(NULL, 2,
					"leaving '%s' alone: neither empty nor marked as ours",
					path);
		free(path);
	}
	closedir(d);
	return rc;
}

/* the marker, written in place (the directory is not visible yet) */
static int marker_write(const char *tmp, const char *name,
			const struct local_ident *ident, struct lf_err *err)
{
	size_t n = strlen(tmp) + sizeof(LOCAL_MARKER) + 2;
	char *path = malloc(n), *text = NULL;
	int fd = -1, rc = 0;

	if (!path || asprintf(&text, "ledgerform local host '%s'\nlineage %s\nresource %s\n",
			      name, ident && ident->lineage ? ident->lineage : "",
			      ident && ident->resource ? ident->resource : "") < 0) {
		free(path);
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	}
	snprintf(path, n, "%s/%s", tmp, LOCAL_MARKER);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = sys_err(err, "cannot create", path);
		goto cleanup;
	}
	lf_crash_point("local.create.marker_open");
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		rc = sys_err(err, "cannot write", path);
	lf_crash_point("local.create.marker_written");
	if (rc == 0 && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = sys_err(err, "cannot sync", path);
	lf_crash_point("local.create.marker_synced");
cleanup:
	if (fd >= 0)
		close(fd);
	free(path);
	free(text);
	return rc;
}

static int dir_sync(const char *path, struct lf_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return sys_err(err, "cannot open directory", path);
	if (fsync(fd) != 0)
		rc = sys_err(err, "cannot sync directory", path);
	close(fd);
	return rc;
}

/* marker, host.json and a synced directory under the temporary name */
static int stage_fill(const char *tmp, const char *name,
		      const struct local_ident *ident, const char *attrs,
		      struct lf_err *err)
{
	int rc;

	lf_crash_point("local.create.tmp_made");
	if (chmod(tmp, 0755) != 0)
		return sys_err(err, "cannot set mode of", tmp);
	rc = marker_write(tmp, name, ident, err);
	if (rc == 0)
		rc = local_put_file(tmp, LOCAL_HOST_JSON, attrs, strlen(attrs), 0644, err);
	lf_crash_point("local.create.attrs_written");
	if (rc == 0)
		rc = dir_sync(tmp, err);
	lf_crash_point("local.create.tmp_synced");
	return rc;
}

int local_host_make(const struct lf_driver_conn *c, const char *name,
		    const struct local_ident *ident, const char *dir,
		    const char *attrs, int *adopted, struct lf_err *err)
{
	struct lf_err scratch = LF_ERR_INIT;
	struct stat st;
	char *tmp = NULL;
	int rc;

	*adopted = 0;
	rc = local_leftovers_clean(c, name, err);
	if (rc == 0 && lstat(dir, &st) == 0) {
		*adopted = 1;
		return local_check_ours(dir, name, ident, err);
	}
	if (rc == 0 && !(tmp = leftover_make(c, name, "tmp", err)))
		rc = LF_ERROR;
	if (rc == 0)
		rc = stage_fill(tmp, name, ident, attrs, err);
	if (rc == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_NOREPLACE) != 0) {
		if (errno != EEXIST)
			rc = sys_err(err, "cannot rename into place", dir);
		else /* made meanwhile: adopt it if ours */
			*adopted = 1;
	}
	lf_crash_point("local.create.renamed");
	if (rc == 0 && !*adopted)
		rc = dir_sync(c->root, err);
	lf_crash_point("local.create.root_synced");
	if (tmp && (rc != 0 || *adopted))
		(void)local_rmhost(tmp, &scratch);
	if (rc == 0 && *adopted)
		rc = local_check_ours(dir, name, ident, err);
	free(tmp);
	return rc;
}

int local_host_remove(const struct lf_driver_conn *c, const char *name,
		      const char *dir, struct lf_err *err)
{
	char *trash = leftover_make(c, name, "trash", err);
	int rc = 0;

	if (!trash)
		return LF_ERROR;
	lf_crash_point("local.delete.trash_made");
	/* onto the empty placeholder: one atomic step */
	if (rename(dir, trash) != 0) {
		rc = sys_err(err, "cannot move away", dir);
		(void)rmdir(trash);
		goto cleanup;
	}
	lf_crash_point("local.delete.renamed");
	rc = dir_sync(c->root, err);
	lf_crash_point("local.delete.root_synced");
	if (rc == 0)
		rc = local_rmhost(trash, err);
	lf_crash_point("local.delete.removed");
	if (rc == 0)
		rc = local_leftovers_clean(c, name, err);
cleanup:
	free(trash);
	return rc;
}
