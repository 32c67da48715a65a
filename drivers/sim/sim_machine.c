/*
 * The sim driver's transport role: a simulated machine. Files put on it
 * are counted, and with `files_dir` written to a directory per machine
 * (files_dir/<name>-<first 8 of the lineage>), modes kept, so tests can
 * read what a node was given; exec counts and echoes argv.
 */
#include "sim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_MAX_PATH 4096

struct mcall {
	struct lf_driver_conn *conn;
	const struct lf_target *t;
	struct lf_kv_builder *out;
	char *key;
	size_t nput;
	int exec;
};

static int target_init(struct mcall *m, struct lf_driver_conn *c,
		       const struct lf_target *t, struct lf_kv_builder *out,
		       unsigned int flags, unsigned int known, struct lf_err *err)
{
	memset(m, 0, sizeof(*m));
	m->conn = c;
	m->t = t;
	m->out = out;
	if (flags & ~known)
		return sim_host->err_set(err, LF_EINVALID, "sim: unsupported flags (0x%x)",
					 flags & ~known);
	if (!t || !t->resource || !t->name || !t->name[0])
		return sim_host->err_set(err, LF_EINVALID, "sim: target without a name");
	m->key = sim_key(t->lineage, t->resource);
	return m->key ? 0 : sim_host->err_set(err, LF_ERROR, "sim: out of memory");
}

static int facts_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct mcall *m = arg;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), m->key);

	if (!rec)
		return sim_host->err_set(err, LF_ENOTFOUND, "sim: machine '%s' not found", m->t->name);
	if (m->nput || m->exec) {
		const char *k = m->exec ? "exec_count" : "put_count";
		json_int_t n = json_integer_value(json_object_get(rec, k));

		json_object_set_new(rec, k, json_integer(n + (json_int_t)(m->exec ? 1 : m->nput)));
	}
	if (m->out) {
		sim_host->kv_set(m->out, "os", "sim");
		sim_host->kv_set_int(m->out, "cpus", (long long)json_integer_value(json_object_get(rec, "vcpus")));
		sim_host->kv_set_int(m->out, "memory_mb",
				     (long long)json_integer_value(json_object_get(rec, "memory_mb")));
		sim_host->kv_set(m->out, "systemd", "false");
	}
	return 0;
}

static int mop(struct mcall *m, struct lf_call *call, enum sim_op op, int write,
	       struct lf_err *err)
{
	int rc = sim_op_begin(m->conn, call, op, m->t->name, err);

	if (rc == 0)
		rc = sim_store_txn(m->conn, write, facts_fn, m, err);
	if (rc == 0)
		sim_op_done(m->conn);
	free(m->key);
	m->key = NULL;
	return rc;
}

int sim_machine_prepare(struct lf_driver_conn *c, const struct lf_target *t,
			struct lf_call *call, struct lf_kv_builder *out,
			unsigned int flags, struct lf_err *err)
{
	struct mcall m;
	int rc = target_init(&m, c, t, out, flags, 0, err);

	return rc ? rc : mop(&m, call, SIM_OP_READ, 0, err);
}

/* a sim machine is its provider record: preparing it is reading it */
int sim_machine_read(struct lf_driver_conn *c, const struct lf_target *t,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err)
{
	return sim_machine_prepare(c, t, call, out, flags, err);
}

/* ---- files ------------------------------------------------------------- */

static int path_check(const char *p, struct lf_err *err)
{
	const char *s;

	if (!p || p[0] == '\0' || p[0] == '/' || strlen(p) > 1024)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: file path '%.64s' must be relative, non-empty and short",
					 p ? p : "");
	for (s = p; (s = strstr(s, "..")) != NULL; s += 2) {
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return sim_host->err_set(err, LF_EINVALID,
						 "sim: file path '%s' has a '..' component", p);
	}
	return 0;
}

/* files_dir/<name>-<lineage8>[/rel] into buf; 0 when there is no disk */
static int disk_path(const struct lf_driver_conn *c, const struct lf_target *t,
		     const char *rel, char *buf, size_t cap)
{
	int n;

	if (!c->cfg.files_dir)
		return 0;
	n = snprintf(buf, cap, "%s/%s-%.8s%s%s", c->cfg.files_dir, t->name,
		     t->lineage ? t->lineage : "", rel ? "/" : "", rel ? rel : "");
	return n > 0 && (size_t)n < cap ? 1 : -1;
}

static int mkdirs(char *path, mode_t mode)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int write_one(const char *path, const struct lf_file *f, struct lf_err *err)
{
	char tmp[SIM_MAX_PATH + 16], dir[SIM_MAX_PATH];
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (mkdirs(dir, (f->mode & 077) ? 0755 : 0700) != 0)
		return sim_host->err_set(err, LF_ERROR, "sim: cannot make the directory of '%s': %s",
					 f->path, strerror(errno));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, f->mode & 0777);
	if (fd < 0)
		return sim_host->err_set(err, LF_ERROR, "sim: cannot write '%s': %s", f->path,
					 strerror(errno));
	if (fchmod(fd, f->mode & 0777) != 0 ||
	    (f->len && write(fd, f->data, f->len) != (ssize_t)f->len))
		rc = sim_host->err_set(err, LF_ERROR, "sim: cannot write '%s': %s", f->path,
				       strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = sim_host->err_set(err, LF_ERROR, "sim: cannot rename '%s': %s", f->path,
				       strerror(errno));
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int sim_put(struct lf_driver_conn *c, const struct lf_target *t,
	    const struct lf_file *files, size_t nfiles, struct lf_call *call,
	    unsigned int flags, struct lf_err *err)
{
	char path[SIM_MAX_PATH];
	struct mcall m;
	size_t i;
	int rc = target_init(&m, c, t, NULL, flags, 0, err);

	for (i = 0; rc == 0 && i < nfiles; i++) {
		rc = path_check(files[i].path, err);
		if (rc == 0 && (files[i].mode & ~0777u))
			rc = sim_host->err_set(err, LF_EINVALID,
					       "sim: file mode 0%o has bits outside 0777", files[i].mode);
	}
	if (rc != 0) {
		free(m.key);
		return rc;
	}
	m.nput = nfiles;
	rc = mop(&m, call, SIM_OP_PUT, 1, err);
	for (i = 0; rc == 0 && i < nfiles; i++) {
		int d = disk_path(c, t, files[i].path, path, sizeof(path));

		if (d < 0)
			rc = sim_host->err_set(err, LF_EINVALID, "sim: path too long");
		else if (d > 0)
			rc = write_one(path, &files[i], err);
	}
	return rc;
}

int sim_get(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
	    size_t max, struct lf_blob *out, struct lf_call *call,
	    unsigned int flags, struct lf_err *err)
{
	char full[SIM_MAX_PATH], buf[8192];
	struct mcall m;
	ssize_t n;
	off_t size;
	int fd, rc = target_init(&m, c, t, NULL, flags, 0, err);

	free(m.key);
	if (rc == 0)
		rc = path_check(path, err);
	if (rc != 0)
		return rc;
	if (disk_path(c, t, path, full, sizeof(full)) <= 0)
		return sim_host->err_set(err, LF_ENOTFOUND, "sim: '%s' not found (no files_dir)", path);
	(void)call;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sim_host->err_set(err, errno == ENOENT ? LF_ENOTFOUND : LF_ERROR,
					 "sim: cannot read '%s': %s", path, strerror(errno));
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, max && size > (off_t)max ? size - (off_t)max : 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sim_host->blob_append(out, buf, (size_t)n);
	close(fd);
	return n < 0 ? sim_host->err_set(err, LF_ERROR, "sim: read error on '%s'", path) : 0;
}

int sim_mkdir(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
	      unsigned int mode, struct lf_call *call, unsigned int flags,
	      struct lf_err *err)
{
	char full[SIM_MAX_PATH];
	struct mcall m;
	int rc = target_init(&m, c, t, NULL, flags, 0, err);

	free(m.key);
	(void)call;
	if (rc == 0)
		rc = path_check(path, err);
	if (rc != 0 || disk_path(c, t, path, full, sizeof(full) - 2) <= 0)
		return rc;
	full[strlen(full) + 1] = '\0';
	full[strlen(full)] = '/'; /* mkdirs makes every component ending in '/' */
	if (mkdirs(full, mode & 0777) != 0)
		return sim_host->err_set(err, LF_ERROR, "sim: mkdir '%s': %s", path, strerror(errno));
	return 0;
}

/* a simulated disk under files_dir: a small recursive remove that never
 * follows a symlink */
static int rm_tree(const char *path)
{
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char sub[SIM_MAX_PATH];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_tree(sub);
	}
	closedir(d);
	return rmdir(path);
}

int sim_remove(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
	       struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	char full[SIM_MAX_PATH];
	struct mcall m;
	int rc = target_init(&m, c, t, NULL, flags, 0, err);

	free(m.key);
	(void)call;
	if (rc == 0)
		rc = path_check(path, err);
	if (rc != 0 || disk_path(c, t, path, full, sizeof(full)) <= 0)
		return rc;
	if (rm_tree(full) != 0)
		return sim_host->err_set(err, LF_ERROR, "sim: remove '%s': %s", path, strerror(errno));
	return 0;
}

int sim_machine_release(struct lf_driver_conn *c, const struct lf_target *t,
			struct lf_call *call, unsigned int flags,
			struct lf_err *err)
{
	char full[SIM_MAX_PATH];
	struct mcall m;
	int rc = target_init(&m, c, t, NULL, flags, 0, err);

	free(m.key);
	(void)call;
	if (rc == 0 && disk_path(c, t, NULL, full, sizeof(full)) > 0 && rm_tree(full) != 0)
		rc = sim_host->err_set(err, LF_ERROR, "sim: cannot remove the disk of '%s'", t->name);
	return rc;
}

/* ---- exec ------------------------------------------------------------------- */

int sim_exec(struct lf_driver_conn *c, const struct lf_target *t,
	     const struct lf_exec_spec *spec, struct lf_exec_result *res,
	     struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct mcall m;
	size_t i;
	int rc = target_init(&m, c, t, NULL, flags, LF_EXEC_SHELL, err);

	if (rc == 0 && (!spec || !spec->argv || !spec->argv[0] || !res)) {
		free(m.key);
		return sim_host->err_set(err, LF_EINVALID, "sim: exec needs a command and a result");
	}
	if (rc != 0)
		return rc;
	m.exec = 1;
	rc = mop(&m, call, SIM_OP_EXEC, 1, err);
	if (rc != 0)
		return rc;
	res->exit_status = 0;
	for (i = 0; spec->argv[i]; i++) {
		if (i)
			sim_host->blob_append(res->out, " ", 1);
		sim_host->blob_append(res->out, spec->argv[i], strlen(spec->argv[i]));
	}
	sim_host->blob_append(res->out, "\n", 1);
	return 0;
}
