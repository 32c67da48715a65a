/*
 * Files of the ssh driver over SFTP. A bundle is put in two steps: every
 * file is written (streamed in chunks) to a temporary name next to its
 * target, ".NAME.lf-tmp", given its mode and fsynced; then one remote
 * command renames them all into place (rename(2): atomic per file; plain
 * SFTP cannot rename over an existing file). A transfer cut at any moment
 * leaves the old file or the new one, never half of one; a leftover
 * temporary is overwritten by the next put. Parent directories are made
 * 0755 (0700 for a file without group/other bits); a directory on the way
 * that is a symlink is refused. Each call works on an SFTP channel of its
 * own (ssh_sftp_take), so parallel transfers to one machine interleave.
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util/crashpoint.h"

#define SSH_CHUNK (256 * 1024)
/* a file is streamed in writes this large: libssh2 splits each into SFTP
 * packets and keeps them all in flight (its sftp_write pipelining), so
 * this bounds the bytes on the way; the sshd's channel window (2 MiB for
 * OpenSSH) bounds them anyway (4 MiB writes were no faster on loopback,
 * the first of a file often much slower) */
#define SSH_SEND_CHUNK (2 * 1024 * 1024)
/* before each of those writes a file waits this long at most while bundle
 * puts are under way on the connection (ssh_yield_to_puts): on 20 nodes'
 * first delivery, their puts end first and Fabric's binaries then go at
 * full speed, instead of both crawling */
#define SSH_YIELD_MS 1000

int ssh_path_check(const char *path, struct lf_err *err)
{
	const char *p = path, *e;

	if (!path || !*path || path[0] == '/')
		return ssh_host->err_set(err, LF_EINVALID,
					 "ssh: path '%.200s' must be relative to the machine's root",
					 path ? path : "");
	while (*p) {
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		if (e == p || (e - p == 2 && p[0] == '.' && p[1] == '.') ||
		    (e - p == 1 && p[0] == '.'))
			return ssh_host->err_set(err, LF_EINVALID,
						 "ssh: path '%.200s' has an empty, '.' or '..' component",
						 path);
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* the libssh2 and SFTP errors of the last call on sf (mu held) */
static int sftp_err(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *what, const char *path,
		    struct lf_err *err)
{
	unsigned long fx = libssh2_sftp_last_error(sf);
	int rc = libssh2_session_last_errno(m->s);

	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL || m->dead)
		return ssh_fail(m, rc, what, err);
	if (fx == LIBSSH2_FX_NO_SUCH_FILE)
		return ssh_host->err_set(err, LF_ENOTFOUND, "ssh: %s '%s' on %s: no such file",
					 what, path, m->address);
	return ssh_host->err_set(err, LF_ERROR, "ssh: %s '%s' on %s: SFTP error %lu", what,
				 path, m->address, fx);
}

/* mkdir one component; an existing directory is fine, a symlink is not */
static int mkdir_one(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *path,
		     unsigned int mode, struct lf_err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	unsigned long fx;
	int rc;

	SSH_INT(m, rc, libssh2_sftp_lstat(sf, path, &a));
	if (rc == 0) {
		if (LIBSSH2_SFTP_S_ISDIR(a.permissions))
			return 0;
		return ssh_host->err_set(err, LF_EINVALID,
					 "ssh: '%s' on %s is not a directory (a symlink is never followed)",
					 path, m->address);
	}
	if (libssh2_session_last_errno(m->s) != LIBSSH2_ERROR_SFTP_PROTOCOL || m->dead)
		return sftp_err(m, sf, "cannot look at", path, err);
	SSH_INT(m, rc, libssh2_sftp_mkdir(sf, path, (long)mode));
	fx = libssh2_sftp_last_error(sf);
	if (rc != 0 && (libssh2_session_last_errno(m->s) != LIBSSH2_ERROR_SFTP_PROTOCOL ||
			(fx != LIBSSH2_FX_FILE_ALREADY_EXISTS && fx != LIBSSH2_FX_FAILURE)))
		return sftp_err(m, sf, "cannot make directory", path, err);
	return 0;
}

/* the directories one put has made or found already (full paths), so
 * its files in one folder look at that folder once */
struct dirset {
	char **v;
	size_t n;
};

static int dirset_has(const struct dirset *ds, const char *path)
{
	size_t i;

	for (i = 0; ds && i < ds->n; i++)
		if (strcmp(ds->v[i], path) == 0)
			return 1;
	return 0;
}

static void dirset_add(struct dirset *ds, const char *path)
{
	char **v = ds ? realloc(ds->v, (ds->n + 1) * sizeof(*v)) : NULL;

	if (!v)
		return; /* only a cache: looked at again next time */
	ds->v = v;
	if ((v[ds->n] = strdup(path)) != NULL)
		ds->n++;
}

static void dirset_free(struct dirset *ds)
{
	size_t i;

	for (i = 0; i < ds->n; i++)
		free(ds->v[i]);
	free(ds->v);
}

/* make dir/rel and its parents (rel: a directory) on sf; dir must exist;
 * the ones in seen (may be NULL) are known already, the others join it */
static int mkdirs_on(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *dir, const char *rel,
		     unsigned int mode, struct dirset *seen, struct lf_err *err)
{
	size_t n = strlen(dir) + strlen(rel) + 2, i, base = strlen(dir) + 1;
	char *p = malloc(n);
	int rc = 0;

	if (!p)
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	snprintf(p, n, "%s/%s", dir, rel);
	for (i = base; rc == 0 && i < n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (!dirset_has(seen, p)) {
			rc = mkdir_one(m, sf, p, mode, err);
			if (rc == 0 && seen)
				dirset_add(seen, p);
		}
		if (i + 1 < n)
			p[i] = '/';
	}
	free(p);
	return rc;
}

int ssh_mkdirs(struct ssh_machine *m, const char *dir, const char *rel,
	       unsigned int mode, struct lf_err *err)
{
	LIBSSH2_SFTP *sf;
	int rc;

	ssh_lock(m);
	sf = ssh_sftp_take(m, err);
	rc = sf ? mkdirs_on(m, sf, dir, rel, mode, NULL, err) : LF_ERETRY;
	ssh_sftp_give(m, sf);
	ssh_unlock(m);
	return rc;
}

/* write len bytes at data to an open handle (mu held) */
static int write_all(struct ssh_machine *m, LIBSSH2_SFTP *sf, LIBSSH2_SFTP_HANDLE *h,
		     const char *data, size_t len, const char *path, struct lf_err *err)
{
	ssize_t n;

	while (len > 0) {
		SSH_INT(m, n, libssh2_sftp_write(h, data, len > SSH_SEND_CHUNK ? SSH_SEND_CHUNK : len));
		if (n < 0)
			return sftp_err(m, sf, "cannot write", path, err);
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static LIBSSH2_SFTP_HANDLE *open_tmp(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *path,
				     unsigned int mode)
{
	LIBSSH2_SFTP_HANDLE *h;

	SSH_PTR(m, h, libssh2_sftp_open(sf, path,
					LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC,
					(long)(mode & 0777)));
	return h;
}

/* the mode exactly (no umask) */
static int set_mode(struct ssh_machine *m, LIBSSH2_SFTP *sf, LIBSSH2_SFTP_HANDLE *h,
		    unsigned int mode, const char *path, struct lf_err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int e;

	memset(&a, 0, sizeof(a));
	a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	a.permissions = mode & 0777;
	SSH_INT(m, e, libssh2_sftp_fsetstat(h, &a));
	return e != 0 ? sftp_err(m, sf, "cannot set the mode of", path, err) : 0;
}

/* the data on disk, then h closed (on a dead session it goes with the
 * session); ok: the file was written whole (else only closed) */
static int sync_close(struct ssh_machine *m, LIBSSH2_SFTP *sf, LIBSSH2_SFTP_HANDLE *h,
		      int ok, const char *path, struct lf_err *err)
{
	int rc = 0, e;

	if (ok)
		SSH_INT(m, e, libssh2_sftp_fsync(h)); /* fsync@openssh.com where offered */
	if (!m->dead) {
		SSH_INT(m, e, libssh2_sftp_close(h));
		if (e != 0 && ok)
			rc = sftp_err(m, sf, "cannot close", path, err);
	}
	return rc;
}

static int close_tmp(struct ssh_machine *m, LIBSSH2_SFTP *sf, LIBSSH2_SFTP_HANDLE *h,
		     unsigned int mode, const char *path, struct lf_err *err)
{
	int rc = set_mode(m, sf, h, mode, path, err), e = sync_close(m, sf, h, rc == 0, path, err);

	return rc ? rc : e;
}

/* close h after an error (mu held) */
static void close_quiet(struct ssh_machine *m, LIBSSH2_SFTP_HANDLE *h)
{
	int e;

	if (h && !m->dead)
		SSH_INT(m, e, libssh2_sftp_close(h));
}

int ssh_send_file(struct ssh_machine *m, const char *src, const char *dst,
		  unsigned int mode, unsigned long long *bytes, struct lf_err *err)
{
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP *sf = NULL;
	char *buf = malloc(SSH_SEND_CHUNK);
	int fd = open(src, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n = 0;

	if (!buf || fd < 0)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: cannot read '%s': %s", src,
				       buf ? strerror(errno) : "out of memory");
	ssh_lock(m);
	if (rc == 0 && !(sf = ssh_sftp_take(m, err)))
		rc = LF_ERETRY;
	if (rc == 0 && !(h = open_tmp(m, sf, dst, mode)))
		rc = sftp_err(m, sf, "cannot create", dst, err);
	ssh_unlock(m);
	while (rc == 0 && (n = read(fd, buf, SSH_SEND_CHUNK)) > 0) {
		ssh_lock(m);
		ssh_yield_to_puts(m, SSH_YIELD_MS);
		rc = write_all(m, sf, h, buf, (size_t)n, dst, err);
		ssh_unlock(m);
		*bytes += (unsigned long long)n;
	}
	if (rc == 0 && n < 0)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: cannot read '%s': %s", src, strerror(errno));
	ssh_lock(m);
	if (h && rc == 0)
		rc = close_tmp(m, sf, h, mode, dst, err);
	else
		close_quiet(m, h);
	ssh_sftp_give(m, sf);
	ssh_unlock(m);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* "PARENT/.BASE.lf-tmp" of rel (relative, malloc'd) */
static char *tmp_name(const char *rel)
{
	const char *slash = strrchr(rel, '/');
	size_t plen = slash ? (size_t)(slash - rel) + 1 : 0;
	size_t n = strlen(rel) + 10;
	char *t = malloc(n);

	if (t)
		snprintf(t, n, "%.*s.%s.lf-tmp", (int)plen, rel, rel + plen);
	return t;
}

/* write one file of a bundle to its temporary name, mode set, and leave
 * it open in *hout (NULL after an error) for put_sync */
static int put_tmp(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *dir,
		   const struct lf_file *f, const char *tmp, struct dirset *seen,
		   LIBSSH2_SFTP_HANDLE **hout, struct lf_err *err)
{
	char *parent = strdup(f->path), *slash, *full = NULL;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	int rc = parent ? 0 : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");

	slash = parent ? strrchr(parent, '/') : NULL;
	if (slash) {
		*slash = '\0';
		rc = mkdirs_on(m, sf, dir, parent, (f->mode & 077) ? 0755 : 0700, seen, err);
	}
	if (rc == 0 && (full = malloc(strlen(dir) + strlen(tmp) + 2)) != NULL)
		snprintf(full, strlen(dir) + strlen(tmp) + 2, "%s/%s", dir, tmp);
	if (rc == 0 && !full)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	if (rc == 0 && !(h = open_tmp(m, sf, full, f->mode)))
		rc = sftp_err(m, sf, "cannot create", full, err);
	if (rc == 0)
		rc = write_all(m, sf, h, f->data, f->len, full, err);
	if (rc == 0)
		rc = set_mode(m, sf, h, f->mode, full, err);
	if (rc != 0) {
		close_quiet(m, h);
		h = NULL;
	}
	*hout = h;
	free(full);
	free(parent);
	return rc;
}

/* a put's temporaries are fsynced together, this many at a time, after
 * they are all written: on a journalling file system (ext4's ordered
 * mode) the first fsync commits them all and the others find nothing
 * left to do, where one fsync after each file paid a journal commit each */
#define SSH_PUT_BATCH 32

/* fsync and close the open temporaries h[0..n) (all closed, even after an
 * error); ok: they were all written */
static int put_sync(struct ssh_machine *m, LIBSSH2_SFTP *sf, LIBSSH2_SFTP_HANDLE **h,
		    size_t n, int ok, const char *dir, struct lf_err *err)
{
	size_t i;
	int rc = ok ? 0 : -1, e;

	for (i = 0; i < n; i++) {
		if (!h[i])
			continue;
		e = sync_close(m, sf, h[i], rc == 0, dir, err);
		if (rc == 0 && e != 0)
			rc = e;
		h[i] = NULL;
	}
	return ok ? rc : 0;
}

/* "mv -f -- TMP PATH && ..." for every file (cd'd into dir) */
static char *rename_script(const struct lf_file *files, char **tmps, size_t n)
{
	size_t cap = 64, i, len = 0;
	char *s = malloc(cap), *a, *b, *p;

	for (i = 0; s && i < n; i++) {
		if (!tmps[i])
			continue;
		a = ssh_quote(tmps[i]);
		b = ssh_quote(files[i].path);
		cap += a && b ? strlen(a) + strlen(b) + 20 : 0;
		p = a && b ? realloc(s, cap) : NULL;
		if (p)
			len += (size_t)snprintf(p + len, cap - len, "mv -f -- %s %s && ", a, b);
		free(a);
		free(b);
		if (!p)
			free(s);
		s = p;
	}
	if (s)
		memcpy(s + len, "true", 5);
	return s;
}

/* SFTP's rename of a temporary onto a new name: atomic (OpenSSH links
 * then unlinks) but refused when the target exists; 1 when done */
static int rename_new(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *dir,
		      const char *tmp, const char *path)
{
	size_t n1 = strlen(dir) + strlen(tmp) + 2, n2 = strlen(dir) + strlen(path) + 2;
	char *a = malloc(n1), *b = malloc(n2);
	int rc = -1;

	if (a && b) {
		snprintf(a, n1, "%s/%s", dir, tmp);
		snprintf(b, n2, "%s/%s", dir, path);
		SSH_INT(m, rc, libssh2_sftp_rename_ex(sf, a, (unsigned int)strlen(a), b,
						      (unsigned int)strlen(b),
						      LIBSSH2_SFTP_RENAME_ATOMIC |
						      LIBSSH2_SFTP_RENAME_NATIVE));
	}
	free(a);
	free(b);
	return rc == 0;
}

/* rename the temporaries left in tmps (the others are NULL) over their
 * targets with one remote command (rename(2) replaces atomically) */
static int rename_over(struct lf_driver_conn *c, struct ssh_machine *m, const char *dir,
		       const struct lf_file *files, char **tmps, size_t n,
		       struct lf_call *call, struct lf_err *err)
{
	char *body = rename_script(files, tmps, n), *qd = ssh_quote(dir), *script = NULL;
	char *out = NULL, *errout = NULL;
	size_t sl = body && qd ? strlen(body) + strlen(qd) + 16 : 0;
	int status = 0, rc;

	script = sl ? malloc(sl) : NULL;
	if (script)
		snprintf(script, sl, "cd %s && %s", qd, body);
	rc = script ? ssh_script(c, m, script, &status, &out, &errout, call, err)
		    : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	if (rc == 0 && status != 0)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: renaming the files into place on %s failed: %.200s",
				       m->address, errout ? errout : "");
	free(body);
	free(qd);
	free(script);
	free(out);
	free(errout);
	return rc;
}

int ssh_put_files(struct lf_driver_conn *c, struct ssh_machine *m, const char *dir,
		  const struct lf_file *files, size_t n, struct lf_call *call,
		  struct lf_err *err)
{
	char **tmps = calloc(n ? n : 1, sizeof(*tmps));
	struct dirset seen = { NULL, 0 };
	LIBSSH2_SFTP_HANDLE *hs[SSH_PUT_BATCH];
	size_t nopen = 0;
	LIBSSH2_SFTP *sf = NULL;
	int rc = tmps ? 0 : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	size_t i, left = 0;

	ssh_lock(m);
	m->putting++;
	if (rc == 0 && !(sf = ssh_sftp_take(m, err)))
		rc = LF_ERETRY;
	for (i = 0; rc == 0 && i < n; i++) {
		tmps[i] = tmp_name(files[i].path);
		rc = tmps[i] ? put_tmp(m, sf, dir, &files[i], tmps[i], &seen, &hs[nopen], err)
			     : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
		nopen += rc == 0;
		lf_crash_point("ssh.put.tmp_written");
		if (rc != 0 || nopen == SSH_PUT_BATCH || i + 1 == n) {
			int e = put_sync(m, sf, hs, nopen, rc == 0, dir, err);

			rc = rc ? rc : e;
			nopen = 0;
		}
	}
	/* new files by SFTP rename; the ones replacing a file in one command */
	for (i = 0; rc == 0 && i < n; i++) {
		if (rename_new(m, sf, dir, tmps[i], files[i].path)) {
			free(tmps[i]);
			tmps[i] = NULL;
		} else if (m->dead) {
			rc = ssh_fail(m, LIBSSH2_ERROR_SOCKET_DISCONNECT, "renaming a file", err);
		} else {
			left++;
		}
	}
	ssh_sftp_give(m, sf);
	m->putting--;
	pthread_cond_broadcast(&m->cv);
	ssh_unlock(m);
	if (rc == 0 && left > 0)
		rc = rename_over(c, m, dir, files, tmps, n, call, err);
	for (i = 0; tmps && i < n; i++)
		free(tmps[i]);
	free(tmps);
	dirset_free(&seen);
	return rc;
}

/* what SFTP's stat (symlinks followed) says of path: 'd' a directory,
 * 'f' something else, 'n' nothing there, '?' it cannot tell (mu held) */
static int stat_kind(struct ssh_machine *m, LIBSSH2_SFTP *sf, const char *path)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	SSH_INT(m, rc, libssh2_sftp_stat(sf, path, &a));
	if (rc == 0)
		return LIBSSH2_SFTP_S_ISDIR(a.permissions) ? 'd' : 'f';
	if (!m->dead && libssh2_session_last_errno(m->s) == LIBSSH2_ERROR_SFTP_PROTOCOL &&
	    libssh2_sftp_last_error(sf) == LIBSSH2_FX_NO_SUCH_FILE)
		return 'n';
	return '?';
}

/* as mkdir -p (symlinks on the way followed; (mu held); 0 when done */
static int mkdir_p(struct ssh_machine *m, LIBSSH2_SFTP *sf, char *path)
{
	size_t i, n = strlen(path);
	int rc = 0, k;

	for (i = 1; rc == 0 && i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		k = stat_kind(m, sf, path);
		if (k == 'n')
			SSH_INT(m, rc, libssh2_sftp_mkdir(sf, path, 0755));
		else if (k != 'd')
			rc = -1;
		if (i < n)
			path[i] = '/';
	}
	return rc;
}

int ssh_bin_fresh(struct ssh_machine *m, const char *base, const char *id, char **abs,
		  struct lf_err *err)
{
	static const char *const sub[] = { "", "/bin", "/config" };
	size_t n = strlen(base) + strlen(id) + 32, i;
	char *p = malloc(n), *real = malloc(4096);
	LIBSSH2_SFTP *sf = NULL;
	int fresh = p && real, rc = 0;

	*abs = NULL;
	ssh_lock(m);
	if (fresh && !(sf = ssh_sftp_take(m, err)))
		rc = LF_ERETRY;
	if (rc == 0 && fresh) {
		snprintf(p, n, "%s/%s", base, id);
		fresh = stat_kind(m, sf, p) == 'n';
		snprintf(p, n, "%s/%s.lf-tmp", base, id);
		fresh = fresh && stat_kind(m, sf, p) == 'n';
		snprintf(p, n, "%s", base);
		fresh = fresh && mkdir_p(m, sf, p) == 0;
		for (i = 0; fresh && i < 3; i++) {
			snprintf(p, n, "%s/%s.lf-tmp%s", base, id, sub[i]);
			SSH_INT(m, rc, libssh2_sftp_mkdir(sf, p, 0755));
			fresh = rc == 0;
			rc = 0;
		}
		if (fresh) {
			SSH_INT(m, rc, libssh2_sftp_realpath(sf, base, real, 4095));
			fresh = rc > 0;
			if (fresh)
				real[rc] = '\0';
			rc = 0;
		}
		if (m->dead)
			rc = ssh_fail(m, LIBSSH2_ERROR_SOCKET_DISCONNECT, "looking at the binaries", err);
	}
	ssh_sftp_give(m, sf);
	ssh_unlock(m);
	free(p);
	if (rc == 0 && fresh)
		*abs = real;
	else
		free(real);
	return rc ? rc : fresh && *abs;
}

/* the tail (at most max bytes) of dir/rel */
int ssh_get_file(struct ssh_machine *m, const char *dir, const char *rel, size_t max,
		 struct lf_blob *out, struct lf_err *err)
{
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;
	LIBSSH2_SFTP *sf = NULL;
	char *full = malloc(strlen(dir) + strlen(rel) + 2), *buf = malloc(SSH_CHUNK);
	int rc = full && buf ? 0 : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory"), e;
	ssize_t n;

	ssh_lock(m);
	if (rc == 0 && !(sf = ssh_sftp_take(m, err)))
		rc = LF_ERETRY;
	if (rc == 0) {
		snprintf(full, strlen(dir) + strlen(rel) + 2, "%s/%s", dir, rel);
		SSH_PTR(m, h, libssh2_sftp_open(sf, full, LIBSSH2_FXF_READ, 0));
		if (!h)
			rc = sftp_err(m, sf, "cannot open", rel, err);
	}
	if (rc == 0) {
		SSH_INT(m, e, libssh2_sftp_fstat(h, &a));
		if (e != 0)
			rc = sftp_err(m, sf, "cannot stat", rel, err);
	}
	if (rc == 0 && max && a.filesize > max)
		libssh2_sftp_seek64(h, a.filesize - max);
	while (rc == 0) {
		SSH_INT(m, n, libssh2_sftp_read(h, buf, SSH_CHUNK));
		if (n == 0)
			break;
		if (n < 0)
			rc = sftp_err(m, sf, "cannot read", rel, err);
		else
			ssh_host->blob_append(out, buf, (size_t)n);
	}
	close_quiet(m, h);
	ssh_sftp_give(m, sf);
	ssh_unlock(m);
	free(full);
	free(buf);
	return rc;
}
