/*
 * The file state backend: one pretty-printed JSON document (sorted keys, so
 * diffs of state are readable), written atomically with the previous
 * version kept as PATH.backup, and an exclusive lock on PATH.lock. PATH is
 * the real path of the state file (symlinks followed), so every name of one
 * state file shares its lock, backup and writes.
 *
 * The handle remembers what it last saw on disk (inode identity, lineage,
 * serial, and the resources it last committed). A commit first stats the
 * file: when it is unchanged nothing is re-read; when it changed the file
 * is re-read and checked, so a commit never overwrites a document it would
 * refuse to read, nor one that another writer replaced or advanced (the
 * compare-and-swap of interface v2). A batch of changes is applied to the
 * remembered resources, or to the file's when none are remembered; a batch
 * carrying the whole set (the v1 write) is rendered as it is.
 *
 * A handle is not thread-safe: one thread at a time (the executor commits
 * from its scheduler thread only).
 */
#include "state/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/crashpoint.h"
#include "core/util/util.h"
#include "state/lockfile.h"
#include "state/render.h"

#define UUID_LEN 36
#define TMP_HEX_LEN 12 /* lf_write_file_atomic: PATH.tmp + 12 hex digits */

struct file_state {
	struct lf_state base;    /* first: what callers hold */
	char *path;              /* as named by the user (in messages) */
	char *io;                /* resolved: symlinks followed (all I/O) */
	char *backup, *lock_path;/* next to io: one lock per state file */
	bool resolved;           /* io is final (its directory existed) */
	int lock_fd;             /* -1 when not locked */
	int refused;             /* 0, or the code a refused document got */
	char refused_msg[LF_ERR_MSG_MAX];
	/* what this handle last saw on disk (read or written) */
	bool known;              /* the fields below are valid */
	bool exists;
	struct stat id;          /* dev, ino, size, mtime, ctime */
	char lineage[UUID_LEN + 1];
	uint64_t serial;
	char *bytes;             /* the file's bytes (for a copied backup) */
	json_t *cur;             /* its resources when a commit wrote them */
	size_t len;
};

static struct file_state *fs_of(struct lf_state *st)
{
	return (struct file_state *)st;
}

/* ---- which file: the state file itself, not the name it was given ---- */

/* io becomes p (owned); the backup and lock file sit next to it */
static void set_io(struct file_state *fs, char *p)
{
	free(fs->io);
	free(fs->backup);
	free(fs->lock_path);
	fs->io = p;
	fs->backup = lf_xasprintf("%s.backup", p);
	fs->lock_path = lf_xasprintf("%s.lock", p);
}

/* p (owned) with a symlink in its last component followed one hop */
static char *follow_link(char *p)
{
	char buf[4096], *dir, *next;
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	if (n <= 0)
		return p;
	buf[n] = '\0';
	dir = lf_path_dirname(p);
	next = buf[0] == '/' ? lf_xstrdup(buf) : lf_path_join(dir, buf);
	free(dir);
	free(p);
	return next;
}

/*
 * The real path of the state file: symlinks followed (also a dangling one,
 * to where the file will be), so that every name for one state file locks,
 * writes and backs up the same file. NULL while its directory is missing.
 */
static char *real_state_path(const char *path)
{
	char *p = lf_xstrdup(path), *dir, *rdir, *out = NULL;
	const char *base;
	int hops;

	for (hops = 0; hops < 40 && !out; hops++) {
		struct stat sb;

		out = realpath(p, NULL);
		if (out || lstat(p, &sb) != 0 || !S_ISLNK(sb.st_mode))
			break;
		p = follow_link(p);
	}
	if (!out) {
		/* the file does not exist (yet): its real directory + name */
		dir = lf_path_dirname(p);
		rdir = realpath(dir, NULL);
		base = strrchr(p, '/');
		if (rdir)
			out = lf_path_join(rdir, base ? base + 1 : p);
		free(dir);
		free(rdir);
	}
	free(p);
	return out;
}

/* settle io once its directory exists; kept fixed while the lock is held */
static void resolve(struct file_state *fs)
{
	char *real;

	if (fs->resolved || fs->lock_fd >= 0)
		return;
	real = real_state_path(fs->path);
	if (!real)
		return;
	set_io(fs, real);
	fs->resolved = true;
}

/* ---- reading and checking a document ---- */

static int corrupt(const char *path, struct lf_err *err, const char *fmt, ...)
	LF_PRINTF(3, 4);

/* LF_EINVALID "state file 'PATH' is corrupt: WHY; fix it or restore ..." */
static int corrupt(const char *path, struct lf_err *err, const char *fmt, ...)
{
	char why[LF_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return lf_err_set(err, LF_EINVALID,
			  "state file '%s' is corrupt: %s; fix it or restore %s.backup",
			  path, why, path);
}

static int check_version(const char *path, json_t *root, struct lf_err *err)
{
	json_t *v = json_object_get(root, "format_version");
	json_int_t fv;

	if (!v)
		return corrupt(path, err, "missing key '%s'", "format_version");
	if (!json_is_integer(v))
		return corrupt(path, err, "'%s' is not an integer", "format_version");
	fv = json_integer_value(v);
	if (fv > LF_STATE_FORMAT_VERSION)
		return lf_err_set(err, LF_EUNSUPPORTED,
				  "state file '%s' has format version %lld, this ledgerform reads up to %d; upgrade ledgerform",
				  path, (long long)fv, LF_STATE_FORMAT_VERSION);
	if (fv < 1)
		return corrupt(path, err, "'%s' is not a positive integer", "format_version");
	return 0;
}

static const char *const TOP_KEYS[] = { "format_version", "lineage", "serial",
					 "ledgerform_version", "resources" };

static int check_top_keys(const char *path, json_t *root, struct lf_err *err)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(root, k, v) {
		for (i = 0; i < LF_ARRAY_LEN(TOP_KEYS); i++)
			if (strcmp(k, TOP_KEYS[i]) == 0)
				break;
		if (i == LF_ARRAY_LEN(TOP_KEYS))
			return corrupt(path, err, "unknown top-level key '%s'", k);
	}
	return 0;
}

/* NULL when rec is a well-formed resource record, else what is wrong */
static const char *record_problem(json_t *rec)
{
	json_t *v, *d;
	size_t i;

	if (!json_is_object(rec))
		return "is not an object";
	v = json_object_get(rec, "type");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return "has no string 'type'";
	v = json_object_get(rec, "attrs");
	if (v && !json_is_object(v))
		return "has an 'attrs' that is not an object";
	v = json_object_get(rec, "outputs");
	if (v && !json_is_object(v))
		return "has an 'outputs' that is not an object";
	v = json_object_get(rec, "hash");
	if (v && !json_is_string(v))
		return "has a 'hash' that is not a string";
	v = json_object_get(rec, "deps");
	if (v && !json_is_array(v))
		return "has a 'deps' that is not an array";
	json_array_foreach(v, i, d)
		if (!json_is_string(d))
			return "has a 'deps' entry that is not a string";
	return NULL;
}

/* the first malformed record of resources: 0, or LF_EINVALID naming it */
static int find_bad_record(json_t *res, const char **addr_out,
			   const char **why_out)
{
	const char *addr;
	json_t *rec;

	json_object_foreach(res, addr, rec) {
		const char *why = addr[0] ? record_problem(rec) : "has an empty address";

		if (why) {
			*addr_out = addr;
			*why_out = why;
			return LF_EINVALID;
		}
	}
	return 0;
}

/* the envelope of a parsed document: keys present with the right types */
static int check_envelope(const char *path, json_t *root, struct lf_err *err)
{
	json_t *lin, *ser, *ver, *res;
	const char *bad, *why;

	if (!json_is_object(root))
		return corrupt(path, err, "%s", "the document is not a JSON object");
	if (check_version(path, root, err) != 0)
		return err ? err->code : LF_EINVALID;
	lin = json_object_get(root, "lineage");
	ser = json_object_get(root, "serial");
	ver = json_object_get(root, "ledgerform_version");
	res = json_object_get(root, "resources");
	if (!json_is_string(lin) || json_string_length(lin) != UUID_LEN)
		return corrupt(path, err, "'%s' is missing or not a UUID string", "lineage");
	if (!json_is_integer(ser) || json_integer_value(ser) < 0)
		return corrupt(path, err, "'%s' is missing or not a non-negative integer",
			       "serial");
	if (!json_is_string(ver))
		return corrupt(path, err, "'%s' is missing or not a string",
			       "ledgerform_version");
	if (!json_is_object(res))
		return corrupt(path, err, "'%s' is missing or not an object", "resources");
	if (find_bad_record(res, &bad, &why) != 0)
		return corrupt(path, err, "resource '%s' %s", bad, why);
	return check_top_keys(path, root, err);
}

/* parse the file from fd (streamed: the text is never held whole, which
 * matters for a state of tens of megabytes); on success fill
 * lineage/serial and, if res, the resources */
struct chunk_reader {
	int fd;
	int err;
};

/* jansson load callback: read(2) in 64 KiB chunks (json_loadfd reads a
 * byte per call) */
static size_t read_chunk(void *buf, size_t len, void *arg)
{
	struct chunk_reader *cr = arg;

	for (;;) {
		ssize_t r = read(cr->fd, buf, len > 65536 ? 65536 : len);

		if (r >= 0)
			return (size_t)r;
		if (errno != EINTR) {
			cr->err = errno;
			return (size_t)-1;
		}
	}
}

static int parse_doc(struct file_state *fs, int fd, json_t **res,
		     struct lf_err *err)
{
	json_error_t jerr;
	struct chunk_reader cr = { fd, 0 };
	json_t *root = json_load_callback(read_chunk, &cr, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!root && cr.err) {
		errno = cr.err;
		return lf_err_sys(err, LF_ERROR, "cannot read state file '%s'", fs->path);
	}

	if (!root)
		return corrupt(fs->path, err, "%s at line %d, column %d", jerr.text,
			       jerr.line, jerr.column);
	rc = check_envelope(fs->path, root, err);
	if (rc == 0) {
		snprintf(fs->lineage, sizeof(fs->lineage), "%s",
			 json_string_value(json_object_get(root, "lineage")));
		fs->serial = (uint64_t)json_integer_value(json_object_get(root, "serial"));
		if (res)
			*res = json_incref(json_object_get(root, "resources"));
	}
	json_decref(root);
	return rc;
}

/* remember a refused document: no write through this handle after that */
static int refuse(struct file_state *fs, int code, struct lf_err *err)
{
	fs->refused = code;
	snprintf(fs->refused_msg, sizeof(fs->refused_msg), "%s",
		 err && err->msg[0] ? err->msg : "the state file was refused");
	fs->known = false;
	return code;
}

static void forget_bytes(struct file_state *fs)
{
	json_decref(fs->cur);
	fs->cur = NULL;
	free(fs->bytes);
	fs->bytes = NULL;
	fs->len = 0;
}

static void set_missing(struct file_state *fs)
{
	forget_bytes(fs);
	fs->known = true;
	fs->exists = false;
	fs->lineage[0] = '\0';
	fs->serial = 0;
}

/*
 * Load the file on disk into the handle's view. A missing file is an empty
 * state. res (may be NULL) receives the resources.
 */
static int load_disk(struct file_state *fs, json_t **res, struct lf_err *err)
{
	struct stat st;
	int fd, rc;

	fs->known = false;
	forget_bytes(fs);
	fd = open(fs->io, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		set_missing(fs);
		if (res)
			*res = json_object();
		return 0;
	}
	if (fd < 0)
		return lf_err_sys(err, LF_ERROR, "cannot open state file '%s'", fs->path);
	rc = fstat(fd, &st) != 0 ?
		lf_err_sys(err, LF_ERROR, "cannot stat state file '%s'", fs->path) :
		parse_doc(fs, fd, res, err);
	close(fd);
	if (rc == LF_EINVALID || rc == LF_EUNSUPPORTED)
		refuse(fs, rc, err);
	if (rc != 0)
		return rc;
	/* keep only the size (to size the next write's buffer) */
	forget_bytes(fs);
	fs->len = (size_t)st.st_size;
	fs->id = st;
	fs->exists = fs->known = true;
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* make the handle's view match the disk, re-reading only on change */
static int sync_disk(struct file_state *fs, struct lf_err *err)
{
	struct stat st;

	if (stat(fs->io, &st) != 0) {
		if (errno != ENOENT)
			return lf_err_sys(err, LF_ERROR, "cannot stat state file '%s'", fs->path);
		set_missing(fs);
		return 0;
	}
	if (fs->known && fs->exists && same_file(&fs->id, &st))
		return 0;
	return load_disk(fs, NULL, err);
}

static int file_read(struct lf_state *st, struct lf_state_doc *out,
		     struct lf_err *err)
{
	struct file_state *fs = fs_of(st);
	json_t *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	resolve(fs);
	rc = load_disk(fs, &res, err);
	if (rc != 0)
		return rc;
	snprintf(out->lineage, sizeof(out->lineage), "%s", fs->lineage);
	out->serial = fs->serial;
	out->resources = res;
	return 0;
}

/* the whole file into a buffer, with its identity; *text NULL when the
 * file is missing */
static int slurp(struct file_state *fs, char **text, size_t *len,
		 struct stat *sb, struct lf_err *err)
{
	int fd = open(fs->io, O_RDONLY | O_CLOEXEC), rc = 0;
	size_t got = 0;

	*text = NULL;
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return lf_err_sys(err, LF_ERROR, "cannot open state file '%s'", fs->path);
	if (fstat(fd, sb) != 0) {
		rc = lf_err_sys(err, LF_ERROR, "cannot stat state file '%s'", fs->path);
		goto cleanup;
	}
	*text = lf_xmalloc((size_t)sb->st_size + 1);
	while (got < (size_t)sb->st_size) {
		ssize_t r = read(fd, *text + got, (size_t)sb->st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = lf_err_sys(err, LF_ERROR, "cannot read state file '%s'", fs->path);
			goto cleanup;
		}
		got += (size_t)r;
	}
	(*text)[got] = '\0';
	*len = got;
cleanup:
	close(fd);
	if (rc != 0) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

/*
 * The plan's read: the records indexed, not parsed (state/raw.c). A
 * document the scan declines is read the ordinary way, which accepts it
 * or refuses it with the precise error.
 */
static int file_read_raw(struct lf_state *st, struct lf_state_doc *out,
			 struct lf_err *err)
{
	struct file_state *fs = fs_of(st);
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	resolve(fs);
	fs->known = false;
	forget_bytes(fs);
	rc = slurp(fs, &text, &len, &sb, err);
	if (rc != 0)
		return rc;
	if (!text || lf_state_raw_scan(&out->raw, text, len, fs->lineage,
					 &fs->serial) != 0)
		return file_read(st, out, err);
	fs->len = len;
	fs->id = sb;
	fs->exists = fs->known = true;
	snprintf(out->lineage, sizeof(out->lineage), "%s", fs->lineage);
	out->serial = fs->serial;
	out->resources = json_object();
	return 0;
}

/* ---- writing ---- */

/* the document text: envelope + resources, sorted keys, final newline */
static int render(json_t *resources, const char *lineage, uint64_t serial,
		  size_t hint, struct lf_buf *out)
{
	json_t *root = json_object();
	int rc;

	if (hint > 0) {
		/* about the last size: no regrowth of a multi-megabyte buffer */
		out->cap = hint + hint / 8 + 4096;
		out->data = lf_xmalloc(out->cap);
	}

	json_object_set_new(root, "format_version", json_integer(LF_STATE_FORMAT_VERSION));
	json_object_set_new(root, "lineage", json_string(lineage));
	json_object_set_new(root, "serial", json_integer((json_int_t)serial));
	json_object_set_new(root, "ledgerform_version", json_string(LF_VERSION));
	json_object_set(root, "resources", resources);
	rc = lf_state__render(out, root);
	json_decref(root);
	if (rc == 0)
		rc = lf_buf_append(out, "\n", 1);
	return rc == 0 ? 0 : LF_ERROR;
}

/* why a write of doc over the file on disk would lose someone's work */
static int check_conflict(struct file_state *fs, const struct lf_state_version *ver,
			  struct lf_err *err)
{
	if (!fs->exists)
		return 0;
	if (strcmp(ver->lineage, fs->lineage) != 0)
		return lf_err_set(err, LF_ECONFLICT,
				  "state file '%s' has lineage %s but the state being written has lineage %s: the file was replaced since it was read; not overwriting it",
				  fs->path, fs->lineage, ver->lineage[0] ? ver->lineage : "(none)");
	if (ver->serial != fs->serial)
		return lf_err_set(err, LF_ECONFLICT,
				  "state file '%s' is at serial %llu but the state being written was read at serial %llu: another writer changed it; not overwriting it",
				  fs->path, (unsigned long long)fs->serial,
				  (unsigned long long)ver->serial);
	return 0;
}

/* PATH.tmp + 12 random hex digits (the names sweep_temps removes) */
static char *temp_name(const char *path)
{
	unsigned char r[TMP_HEX_LEN / 2] = { 0 };

	lf_random(r, sizeof(r));
	return lf_xasprintf("%s.tmp%02x%02x%02x%02x%02x%02x", path, r[0], r[1], r[2],
			    r[3], r[4], r[5]);
}

static bool link_unsupported(int e)
{
	return e == EPERM || e == EXDEV || e == EOPNOTSUPP || e == EMLINK ||
	       e == ENOSYS;
}

/*
 * Keep the current file as PATH.backup, atomically: hard-link it under a
 * temp name and rename that over the backup (no copy; the current file's
 * data is already durable). Where hard links are not supported, write the
 * remembered bytes of the current file with lf_write_file_atomic. The
 * directory fsync of the following state write makes the rename durable.
 */
static int make_backup(struct file_state *fs, struct lf_err *err)
{
	char *tmp = temp_name(fs->backup);
	int rc = 0;

	if (link(fs->io, tmp) == 0) {
		lf_crash_point("state.backup.after_link");
		if (rename(tmp, fs->backup) != 0) {
			rc = lf_err_sys(err, LF_ERROR, "cannot rename '%s' to '%s'", tmp,
					fs->backup);
			unlink(tmp);
		}
	} else if (link_unsupported(errno)) {
		char *bytes = NULL;
		size_t len = 0;

		rc = lf_read_file(fs->io, &bytes, &len, err);
		if (rc == 0)
			rc = lf_write_file_atomic(fs->backup, bytes, len, 0600, err);
		free(bytes);
	} else {
		rc = lf_err_sys(err, LF_ERROR, "cannot keep '%s' as backup '%s'", fs->path,
				fs->backup);
	}
	free(tmp);
	return rc;
}

/* fsync the directory holding path, so a rename in it is durable */
static int fsync_parent(const char *path)
{
	char *dir = lf_path_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;

	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Write text to PATH.tmpXXXXXXXXXXXX (0600), fsync, rename over path,
 * fsync the directory. Named crash points between the steps let tests kill
 * a writer at each one (LEDGERFORM_CRASH_AT=state.write.after_fsync:1).
 */
static int write_atomic(const char *path, const struct lf_buf *text,
			struct lf_err *err)
{
	char *tmp = temp_name(path);
	int fd = -1, rc = LF_ERROR;
	bool renamed = false;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write_all(fd, text->data, text->len) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot write '%s'", tmp);
		goto cleanup;
	}
	lf_crash_point("state.write.after_temp");
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		lf_err_sys(err, LF_ERROR, "cannot fsync '%s'", tmp);
		goto cleanup;
	}
	fd = -1;
	lf_crash_point("state.write.after_fsync");
	if (rename(tmp, path) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot rename '%s' to '%s'", tmp, path);
		goto cleanup;
	}
	renamed = true;
	lf_crash_point("state.write.after_rename");
	if (fsync_parent(path) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot fsync the directory of '%s'", path);
		goto cleanup;
	}
	lf_crash_point("state.write.after_dirsync");
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (!renamed)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* the state file's directory, created 0700 on first write when missing */
static int ensure_dir(struct file_state *fs, struct lf_err *err)
{
	char *dir = lf_path_dirname(fs->io);
	int rc = lf_path_exists(dir) ? 0 : lf_mkdirs(dir, 0700, err);

	free(dir);
	return rc;
}

/* replace the file with text and remember it as the handle's view */
static int put_file(struct file_state *fs, struct lf_buf *text,
		    const char *lineage, uint64_t serial, struct lf_err *err)
{
	struct lf_err e = LF_ERR_INIT;

	fs->known = false;
	forget_bytes(fs);
	if (!fs->exists && ensure_dir(fs, &e) != 0)
		return lf_err_set(err, e.code, "%s", e.msg);
	resolve(fs);
	if (fs->exists && make_backup(fs, &e) != 0)
		return lf_err_set(err, e.code, "cannot back up state file '%s': %s",
				  fs->path, e.msg);
	lf_crash_point("state.write.after_backup");
	if (write_atomic(fs->io, text, &e) != 0)
		return lf_err_set(err, e.code, "cannot write state file '%s': %s",
				  fs->path, e.msg);
	if (stat(fs->io, &fs->id) != 0)
		return lf_err_sys(err, LF_ERROR, "cannot stat state file '%s'", fs->path);
	forget_bytes(fs);
	fs->len = text->len;
	snprintf(fs->lineage, sizeof(fs->lineage), "%s", lineage);
	fs->serial = serial;
	fs->exists = fs->known = true;
	return 0;
}

/* a batch that would make a document read refuses is not written */
static int check_batch(struct file_state *fs, const struct lf_state_batch *b,
		       const struct lf_state_version *ver, struct lf_err *err)
{
	size_t n = strnlen(ver->lineage, sizeof(ver->lineage)), i;
	const char *bad = NULL, *why = NULL;

	if (b->all && !json_is_object(b->all))
		return lf_err_set(err, LF_EINVALID,
				  "cannot write state file '%s': resources is not a JSON object",
				  fs->path);
	if (n != 0 && n != UUID_LEN)
		return lf_err_set(err, LF_EINVALID,
				  "cannot write state file '%s': lineage is not a UUID", fs->path);
	if (b->all)
		find_bad_record(b->all, &bad, &why);
	for (i = 0; !bad && i < b->n; i++) {
		const struct lf_state_change *c = &b->v[i];

		if (c->kind != LF_STATE_PUT && c->kind != LF_STATE_DELETE)
			why = "has an unknown change kind";
		else if (!c->addr || !c->addr[0])
			why = "has an empty address";
		else if (c->kind == LF_STATE_PUT)
			why = record_problem(c->record);
		bad = why ? (c->addr ? c->addr : "") : NULL;
	}
	if (bad)
		return lf_err_set(err, LF_EINVALID,
				  "cannot write state file '%s': resource '%s' %s", fs->path,
				  bad, why);
	return 0;
}

/* the stored resources, from the cache or the file (a new reference) */
static int stored_resources(struct file_state *fs, json_t **out,
			    struct lf_err *err)
{
	*out = NULL;
	if (!fs->exists) {
		*out = json_object();
		return 0;
	}
	if (!fs->cur) {
		json_t *res = NULL;
		int rc = load_disk(fs, &res, err);

		if (rc != 0)
			return rc;
		fs->cur = res;
	}
	*out = json_incref(fs->cur);
	return 0;
}

/* the resources a commit writes: all or the stored set, with the changes
 * applied to a copy (shallow: records are shared, never changed) */
static int apply_batch(struct file_state *fs, const struct lf_state_batch *b,
		       json_t **out, struct lf_err *err)
{
	json_t *base = NULL;
	size_t i;
	int rc = 0;

	if (b->all && b->n == 0) {
		*out = json_incref(b->all);
		return 0;
	}
	if (b->all)
		base = json_incref(b->all);
	else
		rc = stored_resources(fs, &base, err);
	if (rc != 0)
		return rc;
	*out = json_copy(base);
	json_decref(base);
	for (i = 0; i < b->n; i++) {
		if (b->v[i].kind == LF_STATE_PUT)
			json_object_set(*out, b->v[i].addr, b->v[i].record);
		else
			json_object_del(*out, b->v[i].addr);
	}
	return 0;
}

/* the lineage and serial a commit writes */
static int next_version(struct file_state *fs, const struct lf_state_version *ver,
			struct lf_state_version *next, struct lf_err *err)
{
	uint64_t serial = fs->exists ? fs->serial : ver->serial;

	snprintf(next->lineage, sizeof(next->lineage), "%s", ver->lineage);
	if (!next->lineage[0] && lf_uuid4(next->lineage) != 0)
		return lf_err_set(err, LF_ERROR, "cannot create a lineage for '%s'", fs->path);
	if (serial >= (uint64_t)INT64_MAX)
		return lf_err_set(err, LF_EINVALID,
				  "state file '%s' is at serial %llu, the largest a state can hold; not writing serial %llu",
				  fs->path, (unsigned long long)serial,
				  (unsigned long long)serial + 1);
	next->serial = serial + 1;
	return 0;
}

static int file_commit(struct lf_state *st, const struct lf_state_batch *batch,
		       struct lf_state_version *ver, struct lf_err *err)
{
	struct file_state *fs = fs_of(st);
	struct lf_buf text = LF_BUF_INIT;
	struct lf_state_version next;
	json_t *res = NULL;
	int rc;

	if (fs->refused)
		return lf_err_set(err, fs->refused, "%s", fs->refused_msg);
	rc = check_batch(fs, batch, ver, err);
	resolve(fs);
	if (rc == 0)
		rc = sync_disk(fs, err);
	if (rc == 0)
		rc = check_conflict(fs, ver, err);
	if (rc == 0)
		rc = next_version(fs, ver, &next, err);
	if (rc == 0)
		rc = apply_batch(fs, batch, &res, err);
	if (rc != 0)
		goto cleanup;
	if (render(res, next.lineage, next.serial, fs->len, &text) != 0) {
		rc = lf_err_set(err, LF_ERROR, "cannot encode state for '%s'", fs->path);
		goto cleanup;
	}
	rc = put_file(fs, &text, next.lineage, next.serial, err);
	if (rc == 0) {
		*ver = next;
		/* cache what was written, unless it is the caller's object */
		if (res != batch->all)
			fs->cur = json_incref(res);
	}
cleanup:
	json_decref(res);
	lf_buf_free(&text);
	return rc;
}

/* ---- the writable probe ---- */

/* create a temp file next to the state file and hard-link it the way a
 * backup is made; both removed again */
static int probe_dir(struct file_state *fs, struct lf_err *err)
{
	char *tmp = temp_name(fs->io), *btmp = temp_name(fs->backup);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0 || write_all(fd, "{}\n", 3) != 0 || fsync(fd) != 0) {
		rc = lf_err_sys(err, LF_ERROR, "state file '%s' cannot be written: cannot create '%s'",
				fs->path, tmp);
	} else if (link(tmp, btmp) != 0 && !link_unsupported(errno)) {
		rc = lf_err_sys(err, LF_ERROR,
				"state file '%s' cannot be written: cannot link its backup '%s'",
				fs->path, btmp);
	}
	if (fd >= 0)
		close(fd);
	unlink(btmp);
	unlink(tmp);
	free(tmp);
	free(btmp);
	return rc;
}

static int file_check_writable(struct lf_state *st, struct lf_err *err)
{
	struct file_state *fs = fs_of(st);
	struct lf_err e = LF_ERR_INIT;
	int rc;

	if (fs->refused)
		return lf_err_set(err, fs->refused, "%s", fs->refused_msg);
	resolve(fs);
	if (!fs->resolved && ensure_dir(fs, &e) != 0)
		return lf_err_set(err, e.code, "state file '%s' cannot be written: %s",
				  fs->path, e.msg);
	resolve(fs);
	rc = probe_dir(fs, err);
	return rc;
}

/* ---- locking ---- */

/* is name "<base>.tmp" or "<base>.backup.tmp" followed by 12 hex digits? */
static bool is_stray_temp(const char *name, const char *base)
{
	size_t n = strlen(base), i;
	const char *p;

	if (strncmp(name, base, n) != 0)
		return false;
	p = name + n;
	if (strncmp(p, ".backup", 7) == 0)
		p += 7;
	if (strncmp(p, ".tmp", 4) != 0)
		return false;
	p += 4;
	for (i = 0; i < TMP_HEX_LEN; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return p[TMP_HEX_LEN] == '\0';
}

/*
 * Remove temp files that writers killed mid-write left behind. Only done
 * under the lock, when no other writer can be between create and rename.
 * Best effort: reads never look at temp files anyway.
 */
static void sweep_temps(struct file_state *fs)
{
	char *dir = lf_path_dirname(fs->io);
	const char *base = strrchr(fs->io, '/');
	DIR *d = opendir(dir);
	struct dirent *e;

	base = base ? base + 1 : fs->io;
	while (d && (e = readdir(d)) != NULL) {
		char *p;

		if (!is_stray_temp(e->d_name, base))
			continue;
		p = lf_path_join(dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	free(dir);
}

/*
 * flock(2) on the lock file next to the real state file. The lease ttl is
 * not needed here: the kernel keeps the lock exactly as long as this
 * process has the descriptor open, and drops it when the process dies.
 */
static int file_lock(struct lf_state *st, const struct lf_state_holder *holder,
		     double lease_ttl_s, double wait_s, struct lf_err *err)
{
	struct file_state *fs = fs_of(st);
	int rc;

	(void)lease_ttl_s;
	if (fs->lock_fd >= 0)
		return 0; /* this handle holds it already */
	resolve(fs);
	if (!fs->resolved) {
		rc = ensure_dir(fs, err);
		if (rc != 0)
			return rc;
		resolve(fs);
	}
	rc = lf_state__lock_acquire(&fs->lock_fd, fs->lock_path, fs->path, wait_s,
				    holder, err);
	if (rc == 0)
		sweep_temps(fs);
	return rc;
}

static int file_unlock(struct lf_state *st, struct lf_err *err)
{
	struct file_state *fs = fs_of(st);
	int rc = lf_state__lock_release(fs->lock_fd, fs->lock_path, err);

	fs->lock_fd = -1;
	return rc;
}

/* lost when the lock file this handle locked is no longer the one named
 * by the lock path: another process could lock the new one */
static int file_lock_lost(struct lf_state *st, struct lf_err *err)
{
	struct file_state *fs = fs_of(st);

	return lf_state__lock_lost(fs->lock_fd, fs->lock_path, err);
}

static int file_holder(struct lf_state *st, struct lf_state_holder *out,
		       struct lf_err *err)
{
	struct file_state *fs = fs_of(st);

	resolve(fs);
	return lf_state__lock_holder(fs->lock_path, out, err);
}

static const char *file_describe(struct lf_state *st)
{
	return fs_of(st)->path;
}

static void file_free(struct lf_state *st)
{
	struct file_state *fs = fs_of(st);

	if (!fs)
		return;
	lf_state__lock_release(fs->lock_fd, fs->lock_path, NULL);
	free(fs->path);
	free(fs->io);
	free(fs->backup);
	free(fs->lock_path);
	free(fs->bytes);
	json_decref(fs->cur);
	free(fs);
}

static const struct lf_state_ops file_ops = {
	.version = LF_STATE_OPS_VERSION,
	.name = "file",
	.read_all = file_read,
	.commit = file_commit,
	.lock = file_lock,
	.unlock = file_unlock,
	.lock_lost = file_lock_lost,
	.holder = file_holder,
	.check_writable = file_check_writable,
	.describe = file_describe,
	.free = file_free,
	.read_raw = file_read_raw,
};

int lf_state_file_new(struct lf_state **out, const char *path,
		      struct lf_err *err)
{
	struct file_state *fs;

	*out = NULL;
	if (!path || !path[0])
		return lf_err_set(err, LF_EINVALID, "state file path is empty");
	fs = lf_xcalloc(1, sizeof(*fs));
	fs->base.ops = &file_ops;
	fs->path = lf_xstrdup(path);
	set_io(fs, lf_xstrdup(path));
	fs->lock_fd = -1;
	*out = &fs->base;
	return 0;
}
