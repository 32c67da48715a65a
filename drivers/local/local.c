/*
 * The `local` driver (embedded default), provider and transport at once:
 * a host is the directory ROOT/<name> on this machine, marked with a
 * .ledgerform-host file naming the state's lineage and the host's resource
 * address, so that delete only ever removes what the driver made for this
 * network. A host directory comes into being, and goes, as one rename
 * (local_hostdir.c), so a kill -9 at any moment leaves nothing a later run
 * refuses. A directory has no size: host_update only records the new
 * attributes in ROOT/<name>/host.json, which host_read returns (the live
 * attributes plan compares for drift). put writes below the host
 * directory; exec runs commands in it with a clean environment.
 *
 * Config: root (required; created when missing), exec_timeout (seconds,
 * optional; commands are killed after it).
 */
#include "local.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <jansson.h>

const struct lf_host_api *local_host;

#define LOCAL_OPEN_FLAGS 0u
#define LOCAL_HOST_FLAGS 0u
#define LOCAL_EXEC_FLAGS LF_EXEC_SHELL

static int flags_check(unsigned int flags, unsigned int known, const char *fn,
		       struct lf_err *err)
{
	if (flags & ~known)
		return local_host->err_set(err, LF_EINVALID,
					   "local: unsupported flags (0x%x) in %s",
					   flags & ~known, fn);
	return 0;
}

/* ---- open/close -------------------------------------------------------- */

static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		buf[i] = path[i];
	}
	return 0;
}

struct cfg_check {
	struct lf_call *call;
	int bad;
};

/* every unknown key is reported, not only the first */
static int cfg_key_check(const char *key, const char *val, void *payload)
{
	struct cfg_check *c = payload;

	(void)val;
	if (strcmp(key, "root") != 0 && strcmp(key, "exec_timeout") != 0) {
		char path[128];

		snprintf(path, sizeof(path), "config.%s", key);
		local_host->call_diag(c->call, path, "local: unknown setting '%s' (root, exec_timeout)",
				      key);
		c->bad++;
	}
	return 0;
}

static int cfg_timeout(const struct lf_kv *config, long *out,
		       struct lf_err *err)
{
	const char *s = local_host->kv_get_str(config, "exec_timeout");
	long long v = local_host->kv_get_int(config, "exec_timeout", -1);

	*out = 0;
	if (!s)
		return 0;
	if (v < 0 || v > 7 * 24 * 3600)
		return local_host->err_set(err, LF_EINVALID,
					   "local: config exec_timeout '%s' is not a number of seconds (0..604800)",
					   s);
	*out = (long)v;
	return 0;
}

static int local_open(struct lf_driver_conn **out, const struct lf_kv *config,
		      struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	const char *root = local_host->kv_get_str(config, "root");
	struct lf_driver_conn *c = NULL;
	char real[PATH_MAX];
	long timeout;
	int rc;

	(void)call;
	*out = NULL;
	if ((rc = flags_check(flags, LOCAL_OPEN_FLAGS, "open", err)) != 0)
		return rc;
	if (!root || root[0] == '\0')
		return local_host->err_set(err, LF_EINVALID,
					   "local: config 'root' is required (directory under which hosts live)");
	if ((rc = cfg_timeout(config, &timeout, err)) != 0)
		return rc;
	if (mkdirs(root) != 0 || !realpath(root, real))
		return local_host->err_set(err, LF_EINVALID,
					   "local: cannot create root directory '%s': %s",
					   root, strerror(errno));
	c = calloc(1, sizeof(*c));
	if (c)
		c->root = strdup(real);
	if (!c || !c->root) {
		free(c);
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	}
	c->exec_timeout = timeout;
	*out = c;
	return 0;
}

static void local_close(struct lf_driver_conn *c)
{
	if (!c)
		return;
	free(c->root);
	free(c);
}

/* ---- attributes -------------------------------------------------------- */

/* host.json text for spec (caller frees); NULL with err set */
static char *attrs_text(const struct lf_host_spec *spec, struct lf_err *err)
{
	json_t *o = json_object();
	char *text = NULL;
	char num[32];

	if (!o) {
		local_host->err_set(err, LF_ERROR, "local: out of memory");
		return NULL;
	}
	snprintf(num, sizeof(num), "%u", spec->vcpus);
	json_object_set_new(o, "vcpus", json_string(num));
	snprintf(num, sizeof(num), "%llu", spec->memory_mb);
	json_object_set_new(o, "memory_mb", json_string(num));
	snprintf(num, sizeof(num), "%llu", spec->disk_gb);
	json_object_set_new(o, "disk_gb", json_string(num));
	if (spec->image)
		json_object_set_new(o, "image", json_string(spec->image));
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		local_host->err_set(err, LF_ERROR, "local: cannot encode host.json");
	json_decref(o);
	return text;
}

static int record_attrs(const char *dir, const struct lf_host_spec *spec,
			struct lf_err *err)
{
	char *text = attrs_text(spec, err);
	int rc;

	if (!text)
		return LF_ERROR;
	rc = local_put_file(dir, LOCAL_HOST_JSON, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

/* ---- hosts ------------------------------------------------------------- */

/* the live attributes host.json records (numbers as numbers), plus id,
 * path and machine address */
static int emit_live(const char *dir, const char *name,
		     struct lf_kv_builder *out, struct lf_err *err)
{
	size_t n = strlen(dir) + sizeof(LOCAL_HOST_JSON) + 2;
	char *file = malloc(n), *end;
	json_t *o, *v;
	const char *key;

	if (!file)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	local_host->kv_set(out, "id", name);
	local_host->kv_set(out, "path", dir);
	local_host->kv_set(out, "machine_address", "127.0.0.1");
	snprintf(file, n, "%s/%s", dir, LOCAL_HOST_JSON);
	o = json_load_file(file, 0, NULL);
	free(file);
	json_object_foreach(o, key, v) {
		const char *sv = json_string_value(v);
		long long num;

		if (!sv)
			continue;
		errno = 0;
		num = strtoll(sv, &end, 10);
		if (strcmp(key, "image") != 0 && sv[0] && *end == '\0' && errno == 0)
			local_host->kv_set_int(out, key, num);
		else
			local_host->kv_set(out, key, sv);
	}
	json_decref(o);
	return 0;
}

static struct local_ident spec_ident(const struct lf_host_spec *spec)
{
	struct local_ident id = { spec->lineage, spec->resource };

	return id;
}

static int local_host_create(struct lf_driver_conn *c,
			     const struct lf_host_spec *spec, struct lf_call *call,
			     struct lf_kv_builder *out, unsigned int flags,
			     struct lf_err *err)
{
	struct local_ident id = spec_ident(spec);
	char *dir = NULL, *text = NULL;
	int rc, adopted = 0;

	(void)call;
	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_create", err)) != 0)
		return rc;
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0 && !(text = attrs_text(spec, err)))
		rc = LF_ERROR;
	if (rc == 0)
		rc = local_host_make(c, spec->name, &id, dir, text, &adopted, err);
	if (rc == 0 && adopted)
		rc = record_attrs(dir, spec, err);
	free(text);
	if (rc == 0)
		rc = emit_live(dir, spec->name, out, err);
	free(dir);
	return rc;
}

/* ROOT/<name> after checking it is this host's */
static int ours(struct lf_driver_conn *c, const char *name,
		const struct local_ident *id, char **dir, struct lf_err *err)
{
	int rc = local_host_dir(c, name, dir, err);

	if (rc == 0)
		rc = local_check_ours(*dir, name, id, err);
	return rc;
}

static int local_host_read(struct lf_driver_conn *c,
			   const struct lf_host_spec *spec, struct lf_call *call,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err)
{
	struct local_ident id = spec_ident(spec);
	char *dir = NULL;
	int rc;

	(void)call;
	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_read", err)) != 0)
		return rc;
	rc = ours(c, spec->name, &id, &dir, err);
	if (rc == LF_ECONFLICT && err) /* another network's: ours is gone */
		err->code = rc = LF_ENOTFOUND;
	/* debris of a delete of this host killed before its rename (an empty
	 * placeholder) goes: nothing else would ever remove it, since the
	 * host itself lives on */
	if (rc == 0)
		rc = local_leftovers_clean(c, spec->name, err);
	if (rc == 0)
		rc = emit_live(dir, spec->name, out, err);
	free(dir);
	return rc;
}

static int local_host_update(struct lf_driver_conn *c,
			     const struct lf_host_spec *spec, struct lf_call *call,
			     struct lf_kv_builder *out, unsigned int flags,
			     struct lf_err *err)
{
	struct local_ident id = spec_ident(spec);
	char *dir = NULL;
	int rc;

	(void)call;
	if ((rc = flags_check(flags, LF_UPDATE_RESTART, "host_update", err)) != 0)
		return rc;
	rc = ours(c, spec->name, &id, &dir, err);
	if (rc == 0)
		rc = record_attrs(dir, spec, err);
	if (rc == 0)
		rc = emit_live(dir, spec->name, out, err);
	free(dir);
	return rc;
}

/* dir must resolve to ROOT/<name> exactly (no symlink escape) */
static int inside_root(const struct lf_driver_conn *c, const char *dir,
		       struct lf_err *err)
{
	char real[PATH_MAX];
	size_t n = strlen(c->root);

	if (!realpath(dir, real) || strncmp(real, c->root, n) != 0 ||
	    real[n] != '/' || strchr(real + n + 1, '/'))
		return local_host->err_set(err, LF_ECONFLICT,
					   "local: refusing to delete '%s': not a directory directly under root '%s'",
					   dir, c->root);
	return 0;
}

static int remove_host(struct lf_driver_conn *c, const char *name,
		       const struct local_ident *id, struct lf_err *err)
{
	char *dir = NULL;
	int rc = ours(c, name, id, &dir, err);

	if (rc == LF_ENOTFOUND) {
		if (err) {
			err->code = 0;
			err->msg[0] = '\0';
		}
		/* deleting what is gone is success; a crashed delete's trash goes */
		rc = local_leftovers_clean(c, name, err);
	} else if (rc == 0) {
		rc = inside_root(c, dir, err);
		if (rc == 0)
			rc = local_host_remove(c, name, dir, err);
	}
	free(dir);
	return rc;
}

static int local_host_delete(struct lf_driver_conn *c,
			     const struct lf_host_spec *spec, struct lf_call *call,
			     unsigned int flags, struct lf_err *err)
{
	struct local_ident id = spec_ident(spec);
	int rc;

	(void)call;
	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_delete", err)) != 0)
		return rc;
	return remove_host(c, spec->name, &id, err);
}

/* plan time: a directory has no size, so everything that is a size
 * changes in place (recorded); the rest is a new host */
static enum lf_change_kind local_change_kind(const struct lf_kv *config, const char *key,
					     const char *old_val, const char *new_val,
					     char *why, size_t why_len)
{
	(void)config;
	(void)old_val;
	(void)new_val;
	(void)why;
	(void)why_len;
	if (!strcmp(key, "vcpus") || !strcmp(key, "memory_mb") || !strcmp(key, "disk_gb") ||
	    !strcmp(key, "image"))
		return LF_CHANGE_INPLACE;
	return LF_CHANGE_REPLACE;
}

static int local_validate(const struct lf_kv *config, const struct lf_kv *sizes,
			  struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct cfg_check cc = { call, 0 };
	long timeout;

	(void)sizes;
	if (flags != 0)
		return local_host->err_set(err, LF_EINVALID, "local: unsupported flags in validate");
	local_host->kv_each(config, cfg_key_check, &cc);
	if (cfg_timeout(config, &timeout, err) != 0) {
		local_host->call_diag(call, "config.exec_timeout", "%s", err->msg);
		err->code = 0;
		err->msg[0] = '\0';
		cc.bad++;
	}
	if (cc.bad)
		return local_host->err_set(err, LF_EINVALID, "local: the provider's config has problems");
	return 0;
}

/* ---- the transport role ------------------------------------------------- */

static struct local_ident target_ident(const struct lf_target *t)
{
	struct local_ident id = { t->lineage, t->resource };

	return id;
}

/* what a machine is: this one */
static void emit_facts(const char *dir, struct lf_kv_builder *out)
{
	struct statvfs vs;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	struct stat st;

	if (!out)
		return;
	local_host->kv_set(out, "os", "linux");
	local_host->kv_set_int(out, "cpus", cpus > 0 ? cpus : 0);
	if (pages > 0 && psize > 0)
		local_host->kv_set_int(out, "memory_mb", (long long)pages * psize / (1024 * 1024));
	if (statvfs(dir, &vs) == 0)
		local_host->kv_set_int(out, "disk_free_mb",
				       (long long)(vs.f_bavail * (unsigned long long)vs.f_frsize / (1024 * 1024)));
	/* systemd runs as PID 1 where /run/systemd/system exists */
	local_host->kv_set(out, "systemd", stat("/run/systemd/system", &st) == 0 ? "true" : "false");
}

static int local_machine_prepare(struct lf_driver_conn *c, const struct lf_target *t,
				 struct lf_call *call, struct lf_kv_builder *out,
				 unsigned int flags, struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	int rc, adopted = 0;

	(void)call;
	if ((rc = flags_check(flags, 0, "machine_prepare", err)) != 0)
		return rc;
	rc = local_host_dir(c, t->name, &dir, err);
	if (rc == 0)
		rc = local_host_make(c, t->name, &id, dir, "{}\n", &adopted, err);
	if (rc == 0)
		emit_facts(dir, out);
	free(dir);
	return rc;
}

static int local_machine_release(struct lf_driver_conn *c, const struct lf_target *t,
				 struct lf_call *call, unsigned int flags,
				 struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	int rc;

	(void)call;
	if ((rc = flags_check(flags, 0, "machine_release", err)) != 0)
		return rc;
	return remove_host(c, t->name, &id, err);
}

static int local_machine_read(struct lf_driver_conn *c, const struct lf_target *t,
			      struct lf_call *call, struct lf_kv_builder *out,
			      unsigned int flags, struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	int rc;

	(void)call;
	if ((rc = flags_check(flags, 0, "machine_read", err)) != 0)
		return rc;
	rc = ours(c, t->name, &id, &dir, err);
	if (rc == 0)
		emit_facts(dir, out);
	free(dir);
	return rc;
}

static int local_put(struct lf_driver_conn *c, const struct lf_target *t,
		     const struct lf_file *files, size_t nfiles, struct lf_call *call,
		     unsigned int flags, struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	size_t i;
	int rc;

	if ((rc = flags_check(flags, 0, "put", err)) != 0)
		return rc;
	for (i = 0; i < nfiles; i++)
		if (files[i].mode & ~0777u)
			return local_host->err_set(err, LF_EINVALID,
						   "local: file mode 0%o of '%s' has bits outside 0777",
						   files[i].mode, files[i].path);
	rc = ours(c, t->name, &id, &dir, err);
	for (i = 0; rc == 0 && i < nfiles; i++) {
		if (local_host->call_cancelled(call))
			rc = local_host->err_set(err, LF_ECANCELED, "local: put cancelled");
		else
			rc = local_put_file(dir, files[i].path, files[i].data, files[i].len,
					    files[i].mode, err);
	}
	free(dir);
	return rc;
}

static int local_get(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
		     size_t max, struct lf_blob *out, struct lf_call *call,
		     unsigned int flags, struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	int rc;

	(void)call;
	if ((rc = flags_check(flags, 0, "get", err)) != 0)
		return rc;
	rc = ours(c, t->name, &id, &dir, err);
	if (rc == 0)
		rc = local_get_file(dir, path, max, out, err);
	free(dir);
	return rc;
}

static int local_mkdir(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
		       unsigned int mode, struct lf_call *call, unsigned int flags,
		       struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	int rc;

	(void)call;
	if ((rc = flags_check(flags, 0, "mkdir", err)) != 0)
		return rc;
	rc = ours(c, t->name, &id, &dir, err);
	if (rc == 0)
		rc = local_mkdir_at(dir, path, mode, err);
	free(dir);
	return rc;
}

static int local_remove(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
			struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	int rc;

	(void)call;
	if ((rc = flags_check(flags, 0, "remove", err)) != 0)
		return rc;
	rc = ours(c, t->name, &id, &dir, err);
	if (rc == 0)
		rc = local_remove_at(dir, path, err);
	free(dir);
	return rc;
}

static int local_exec(struct lf_driver_conn *c, const struct lf_target *t,
		      const struct lf_exec_spec *spec, struct lf_exec_result *res,
		      struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct local_ident id = target_ident(t);
	char *dir = NULL;
	int rc;

	if ((rc = flags_check(flags, LOCAL_EXEC_FLAGS, "exec", err)) != 0)
		return rc;
	if (!spec || !spec->argv || !spec->argv[0] || spec->argv[0][0] == '\0' || !res ||
	    !res->out || !res->err)
		return local_host->err_set(err, LF_EINVALID,
					   "local: exec needs a command and result buffers");
	res->exit_status = 0;
	if (local_host->call_cancelled(call))
		return local_host->err_set(err, LF_ECANCELED, "local: not running a command: cancelled");
	rc = ours(c, t->name, &id, &dir, err);
	if (rc == 0)
		rc = local_run(c, dir, spec, flags, call, res, err);
	free(dir);
	return rc;
}

static const struct lf_driver local_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "local",
	.version = "0.2.0",
	.roles = LF_ROLE_PROVIDER | LF_ROLE_TRANSPORT,
	.caps = LF_CAP_READ_CHEAP | LF_CAP_CONN_SHARED,
	.open = local_open,
	.close = local_close,
	.validate = local_validate,
	.change_kind = local_change_kind,
	.host_create = local_host_create,
	.host_read = local_host_read,
	.host_update = local_host_update,
	.host_delete = local_host_delete,
	.machine_prepare = local_machine_prepare,
	.machine_release = local_machine_release,
	.machine_read = local_machine_read,
	.put = local_put,
	.get = local_get,
	.mkdir = local_mkdir,
	.remove = local_remove,
	.exec = local_exec,
};

LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host);
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
{
	if (!host || host->abi_version != LF_DRIVER_ABI_VERSION)
		return NULL;
	local_host = host;
	return &local_driver;
}
