/*
 * The `local` driver (embedded default): a host is the directory
 * ROOT/<name> on this machine, marked with a .ledgerform-host file so that
 * delete only ever removes what the driver made. A host directory comes
 * into being, and goes, as one rename (local_hostdir.c), so a kill -9 at
 * any moment leaves nothing a later run refuses. A directory has no size:
 * host_update only records the new attributes in ROOT/<name>/host.json,
 * which host_read returns. put writes below the host directory; exec runs
 * commands in it.
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
#include <sys/stat.h>
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

static int cfg_key_check(const char *key, const char *val, void *payload)
{
	(void)val;
	(void)payload;
	if (strcmp(key, "root") != 0 && strcmp(key, "exec_timeout") != 0)
		local_host->log(2, "local", "ignoring unknown config key '%s'", key);
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
		      const struct lf_kv *creds, unsigned int flags,
		      struct lf_err *err)
{
	const char *root = local_host->kv_get_str(config, "root");
	struct lf_driver_conn *c = NULL;
	char real[PATH_MAX];
	long timeout;
	int rc;

	(void)creds;
	*out = NULL;
	if ((rc = flags_check(flags, LOCAL_OPEN_FLAGS, "open", err)) != 0)
		return rc;
	if (!root || root[0] == '\0')
		return local_host->err_set(err, LF_EINVALID,
					   "local: config 'root' is required (directory under which hosts live)");
	local_host->kv_each(config, cfg_key_check, NULL);
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

/* id, path, address, then what host.json records */
static int emit_attrs(const char *dir, const char *name,
		      struct lf_kv_builder *out, struct lf_err *err)
{
	char *file = NULL;
	json_t *o = NULL, *v;
	const char *key;
	size_t n = strlen(dir) + sizeof(LOCAL_HOST_JSON) + 2;

	local_host->kv_set(out, "id", name);
	local_host->kv_set(out, "path", dir);
	local_host->kv_set(out, "address", "127.0.0.1");
	file = malloc(n);
	if (!file)
		return local_host->err_set(err, LF_ERROR, "local: out of memory");
	snprintf(file, n, "%s/%s", dir, LOCAL_HOST_JSON);
	o = json_load_file(file, 0, NULL);
	free(file);
	json_object_foreach(o, key, v) {
		if (json_is_string(v))
			local_host->kv_set(out, key, json_string_value(v));
	}
	json_decref(o);
	return 0;
}

/* ---- hosts ------------------------------------------------------------- */

static int local_host_create(struct lf_driver_conn *c,
			     const struct lf_host_spec *spec,
			     struct lf_kv_builder *out, unsigned int flags,
			     struct lf_err *err)
{
	char *dir = NULL, *text = NULL;
	int rc, adopted = 0;

	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_create", err)) != 0)
		return rc;
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0 && !(text = attrs_text(spec, err)))
		rc = LF_ERROR;
	if (rc == 0)
		rc = local_host_make(c, spec->name, dir, text, &adopted, err);
	if (rc == 0 && adopted)
		rc = record_attrs(dir, spec, err);
	free(text);
	if (rc == 0)
		rc = emit_attrs(dir, spec->name, out, err);
	free(dir);
	return rc;
}

static int local_host_read(struct lf_driver_conn *c,
			   const struct lf_host_spec *spec,
			   struct lf_kv_builder *out, unsigned int flags,
			   struct lf_err *err)
{
	char *dir = NULL;
	int rc;

	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_read", err)) != 0)
		return rc;
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0)
		rc = local_check_ours(dir, spec->name, err);
	if (rc == 0)
		rc = emit_attrs(dir, spec->name, out, err);
	free(dir);
	return rc;
}

static int local_host_update(struct lf_driver_conn *c,
			     const struct lf_host_spec *spec,
			     struct lf_kv_builder *out, unsigned int flags,
			     struct lf_err *err)
{
	char *dir = NULL;
	int rc;

	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_update", err)) != 0)
		return rc;
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0)
		rc = local_check_ours(dir, spec->name, err);
	if (rc == 0)
		rc = record_attrs(dir, spec, err);
	if (rc == 0)
		rc = emit_attrs(dir, spec->name, out, err);
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

static int local_host_delete(struct lf_driver_conn *c,
			     const struct lf_host_spec *spec,
			     unsigned int flags, struct lf_err *err)
{
	char *dir = NULL;
	int rc;

	if ((rc = flags_check(flags, LOCAL_HOST_FLAGS, "host_delete", err)) != 0)
		return rc;
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0)
		rc = local_check_ours(dir, spec->name, err);
	if (rc == LF_ENOTFOUND) {
		if (err) {
			err->code = 0;
			err->msg[0] = '\0';
		}
		/* deleting what is gone is success; a crashed delete's trash goes */
		rc = local_leftovers_clean(c, spec->name, err);
	} else if (rc == 0) {
		rc = inside_root(c, dir, err);
		if (rc == 0)
			rc = local_host_remove(c, spec->name, dir, err);
	}
	free(dir);
	return rc;
}

/* ---- put/exec ---------------------------------------------------------- */

static int local_put(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     const char *path, const void *data, size_t len,
		     unsigned int mode, unsigned int flags, struct lf_err *err)
{
	char *dir = NULL;
	int rc;

	if ((rc = flags_check(flags, 0, "put", err)) != 0)
		return rc;
	if (mode & ~0777u)
		return local_host->err_set(err, LF_EINVALID,
					   "local: file mode 0%o has bits outside 0777", mode);
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0)
		rc = local_check_ours(dir, spec->name, err);
	if (rc == 0)
		rc = local_put_file(dir, path, data, len, mode, err);
	free(dir);
	return rc;
}

static int local_exec(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		      const char *const *argv, struct lf_exec_result *res,
		      void *(*out_alloc)(size_t), unsigned int flags,
		      struct lf_err *err)
{
	char *dir = NULL;
	int rc;

	if ((rc = flags_check(flags, LOCAL_EXEC_FLAGS, "exec", err)) != 0)
		return rc;
	if (!argv || !argv[0] || argv[0][0] == '\0' || !res || !out_alloc)
		return local_host->err_set(err, LF_EINVALID,
					   "local: exec needs a command, a result and an allocator");
	res->exit_status = 0;
	res->output = NULL;
	res->output_len = 0;
	if (local_host->cancelled())
		return local_host->err_set(err, LF_ECANCELED,
					   "local: not running '%s': cancelled", argv[0]);
	rc = local_host_dir(c, spec->name, &dir, err);
	if (rc == 0)
		rc = local_check_ours(dir, spec->name, err);
	if (rc == 0)
		rc = local_run(c, dir, argv, flags, res, out_alloc, err);
	free(dir);
	return rc;
}

static const struct lf_driver local_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "local",
	.version = "0.1.0",
	.caps = LF_CAP_PUT | LF_CAP_EXEC | LF_CAP_RESIZE_INPLACE |
		LF_CAP_DISK_GROW | LF_CAP_IMAGE_INPLACE,
	.open = local_open,
	.close = local_close,
	.host_create = local_host_create,
	.host_read = local_host_read,
	.host_update = local_host_update,
	.host_delete = local_host_delete,
	.put = local_put,
	.exec = local_exec,
};

LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
{
	if (!host || host->abi_version != LF_DRIVER_ABI_VERSION)
		return NULL;
	local_host = host;
	return &local_driver;
}
