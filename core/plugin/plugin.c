/*
 * Driver plugin loader and registry.
 *
 * A plugin file is dlopen'd (RTLD_NOW|RTLD_LOCAL), its one entry function
 * is called with the host API, and the returned table is checked before
 * anything else in it is used: ABI version, struct_size, name (valid and
 * equal to the file name) and the mandatory callbacks. A refused plugin is
 * dlclose'd; an accepted one is never unloaded (unsafe in a threaded
 * process). The registry caches accepted drivers by name under a mutex.
 */
#include "core/plugin/plugin.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/ctx.h"
#include "core/util/util.h"

#define LF_DRIVER_FILE_PREFIX "ledgerform_driver_"
#define LF_DRIVER_FILE_SUFFIX ".so"
#define LF_DRIVER_NAME_MAX 64

/* size of the version-2 table: the minimum a plugin may declare */
#define LF_DRIVER_V2_SIZE (offsetof(struct lf_driver, exec) + \
			   sizeof(((struct lf_driver *)0)->exec))

struct lf_reg_entry {
	char *name;
	const struct lf_driver *drv;
};

struct lf_registry {
	pthread_mutex_t mu;
	char **path;                 /* NULL-terminated search path */
	struct lf_err path_err;      /* set when the search path is refused */
	struct lf_reg_entry *v;
	size_t n, cap;
};

/* What one load attempt learned, kept even when the plugin is refused. */
struct lf_load_facts {
	bool have_table;
	uint32_t abi_version;
	uint32_t roles;
	uint32_t caps;
	char name[LF_DRIVER_NAME_MAX + 1];
	char version[64];
};

/* ---- checks ------------------------------------------------------------ */

static bool driver_name_valid(const char *s)
{
	size_t i;

	if (!s || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= LF_DRIVER_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* Driver name encoded in a file name ledgerform_driver_NAME.so; caller
 * frees; NULL when the file name does not have that shape. */
static char *name_from_file(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t lp = strlen(LF_DRIVER_FILE_PREFIX);
	size_t ls = strlen(LF_DRIVER_FILE_SUFFIX);
	size_t lb;

	base = base ? base + 1 : path;
	lb = strlen(base);
	if (lb <= lp + ls || strncmp(base, LF_DRIVER_FILE_PREFIX, lp) != 0 ||
	    strcmp(base + lb - ls, LF_DRIVER_FILE_SUFFIX) != 0)
		return NULL;
	return lf_xstrndup(base + lp, lb - lp - ls);
}

static int check_callbacks(const char *what, const struct lf_driver *d,
			   struct lf_err *err)
{
	const char *missing = NULL;
	bool prov = d->roles & LF_ROLE_PROVIDER, tr = d->roles & LF_ROLE_TRANSPORT;

	if (!prov && !tr)
		return lf_err_set(err, LF_EINVALID,
				  "%s: declares no role (provider or transport)", what);
	if (d->roles & ~(uint32_t)(LF_ROLE_PROVIDER | LF_ROLE_TRANSPORT))
		return lf_err_set(err, LF_EINVALID, "%s: unknown role bits 0x%x", what,
				  (unsigned)(d->roles & ~(uint32_t)(LF_ROLE_PROVIDER | LF_ROLE_TRANSPORT)));
	if (!d->open)
		missing = "open";
	else if (!d->close)
		missing = "close";
	else if (prov && !d->host_create)
		missing = "host_create";
	else if (prov && !d->host_read)
		missing = "host_read";
	else if (prov && !d->host_delete)
		missing = "host_delete";
	else if ((d->caps & LF_CAP_IMPORT) && !d->host_import)
		missing = "host_import";
	else if (tr && !d->machine_prepare)
		missing = "machine_prepare";
	else if (tr && !d->machine_release)
		missing = "machine_release";
	else if (tr && !d->machine_read)
		missing = "machine_read";
	else if (tr && !d->put)
		missing = "put";
	else if (tr && !d->get)
		missing = "get";
	else if (tr && !d->mkdir)
		missing = "mkdir";
	else if (tr && !d->remove)
		missing = "remove";
	else if (tr && !d->exec)
		missing = "exec";
	if (missing)
		return lf_err_set(err, LF_EINVALID,
				  "%s: mandatory callback '%s' is NULL", what, missing);
	return 0;
}

/* Check a driver table. what: "driver '<file>'" for messages; expect: the
 * name the table must carry (NULL: any valid name). */
static int driver_check(const char *what, const struct lf_driver *d,
			const char *expect, struct lf_err *err)
{
	if (d->abi_version != LF_DRIVER_ABI_VERSION)
		return lf_err_set(err, LF_EINVALID,
				  "%s: ABI version %u, this ledgerform speaks %u",
				  what, (unsigned)d->abi_version,
				  (unsigned)LF_DRIVER_ABI_VERSION);
	if (d->struct_size < LF_DRIVER_V2_SIZE)
		return lf_err_set(err, LF_EINVALID,
				  "%s: driver table of %u bytes is smaller than the ABI 2 table (%zu bytes)",
				  what, (unsigned)d->struct_size, (size_t)LF_DRIVER_V2_SIZE);
	if (!driver_name_valid(d->name))
		return lf_err_set(err, LF_EINVALID,
				  "%s: driver name %s%s%s is not [a-z0-9_]{1,64}", what,
				  d->name ? "'" : "", d->name ? d->name : "missing",
				  d->name ? "'" : "");
	if (expect && strcmp(d->name, expect) != 0)
		return lf_err_set(err, LF_EINVALID,
				  "%s: driver calls itself '%s' but the file name says '%s'",
				  what, d->name, expect);
	return check_callbacks(what, d, err);
}

static void facts_record(struct lf_load_facts *f, const struct lf_driver *d)
{
	f->have_table = true;
	f->abi_version = d->abi_version;
	if (d->abi_version != LF_DRIVER_ABI_VERSION)
		return; /* do not read fields of an unknown layout */
	f->caps = d->caps;
	f->roles = d->roles;
	if (d->name)
		snprintf(f->name, sizeof(f->name), "%s", d->name);
	if (d->version)
		snprintf(f->version, sizeof(f->version), "%s", d->version);
}

/* ---- loading ----------------------------------------------------------- */

/* a plugin anyone may rewrite (or replace, through its directory) would run
 * their code as us: refuse it */
static int plugin_perms(const char *path, const char *what, const struct stat *st,
			struct lf_err *err)
{
	char *dir = lf_path_dirname(path);
	struct stat dst;
	int rc = 0;

	if (st->st_mode & S_IWOTH)
		rc = lf_err_set(err, LF_EINVALID, "%s: refused: the file is writable "
				"by others (mode %03o); chmod o-w it",
				what, (unsigned)(st->st_mode & 0777));
	else if (stat(dir, &dst) == 0 && (dst.st_mode & S_IWOTH) &&
		 !(dst.st_mode & S_ISVTX))
		rc = lf_err_set(err, LF_EINVALID, "%s: refused: its directory '%s' "
				"is writable by others (mode %03o)", what, dir,
				(unsigned)(dst.st_mode & 0777));
	free(dir);
	return rc;
}

/* dlopen + dlsym + entry call; *handle set when the library is open. */
static int plugin_open(const char *path, const char *what, void **handle,
		       const struct lf_driver **out, struct lf_err *err)
{
	lf_driver_entry_fn entry;
	void *sym;
	struct stat st;

	if (stat(path, &st) != 0)
		return lf_err_sys(err, errno == ENOENT ? LF_ENOTFOUND : LF_EINVALID,
				  "%s: cannot load", what);
	if (plugin_perms(path, what, &st, err) != 0)
		return LF_EINVALID;
	*handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*handle)
		return lf_err_set(err, LF_EINVALID, "%s: cannot load: %s", what,
				  dlerror());
	dlerror();
	sym = dlsym(*handle, LF_DRIVER_ENTRY_SYMBOL);
	if (!sym)
		return lf_err_set(err, LF_EINVALID,
				  "%s: missing entry symbol '%s' (not a ledgerform driver?)",
				  what, LF_DRIVER_ENTRY_SYMBOL);
	/* POSIX guarantees a function pointer round-trips through void * */
	memcpy(&entry, &sym, sizeof(entry));
	*out = entry(lf_host_api());
	if (!*out)
		return lf_err_set(err, LF_EINVALID, "%s: entry '%s' returned NULL",
				  what, LF_DRIVER_ENTRY_SYMBOL);
	return 0;
}

static int plugin_load(const char *path, struct lf_load_facts *facts,
		       const struct lf_driver **out, struct lf_err *err)
{
	char *what = lf_xasprintf("driver '%s'", path);
	char *expect = NULL;
	const struct lf_driver *d = NULL;
	void *handle = NULL;
	int rc;

	*out = NULL;
	rc = plugin_open(path, what, &handle, &d, err);
	if (rc != 0)
		goto cleanup;
	facts_record(facts, d);
	expect = name_from_file(path);
	if (!expect) {
		rc = lf_err_set(err, LF_EINVALID,
				"%s: file name is not " LF_DRIVER_FILE_PREFIX "<name>"
				LF_DRIVER_FILE_SUFFIX, what);
		goto cleanup;
	}
	rc = driver_check(what, d, expect, err);
	if (rc == 0)
		*out = d;
cleanup:
	if (rc != 0 && handle)
		dlclose(handle);
	free(expect);
	free(what);
	return rc;
}

int lf_plugin_load_file(const char *path, const struct lf_driver **out,
			struct lf_err *err)
{
	struct lf_load_facts facts;

	memset(&facts, 0, sizeof(facts));
	if (!path || path[0] == '\0' || !out)
		return lf_err_set(err, LF_EINVALID, "driver file path is empty");
	return plugin_load(path, &facts, out, err);
}

/* ---- registry ---------------------------------------------------------- */

static void path_add(char ***v, size_t *n, const char *dir)
{
	size_t i;

	if (!dir || dir[0] == '\0')
		return;
	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], dir) == 0)
			return; /* searched already */
	*v = lf_xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = lf_xstrdup(dir);
	(*v)[*n] = NULL;
}

/* true when exe lives in the build tree this library was compiled for */
static bool exe_in_build_tree(const char *exe)
{
	char *root = realpath(LF_BUILD_DIR, NULL);
	bool in;

	in = exe && root && lf_str_has_prefix(exe, root) && exe[strlen(root)] == '/';
	free(root);
	return in;
}

int lf_plugin_path_build(const char *env, const char *exe, char ***out,
			 struct lf_err *err)
{
	char **v = lf_xcalloc(1, sizeof(*v));
	size_t n = 0, i;
	char *copy = lf_xstrdup(env), *p, *colon;
	int rc = 0;

	for (p = copy; rc == 0 && p; p = colon) {
		colon = strchr(p, ':');
		if (colon)
			*colon++ = '\0';
		if (p[0] != '\0' && p[0] != '/')
			rc = lf_err_set(err, LF_EINVALID, "LEDGERFORM_DRIVER_PATH entry "
					"'%s' is relative: a driver would be loaded from "
					"whatever directory ledgerform runs in; use absolute "
					"directories", p);
		else
			path_add(&v, &n, p);
	}
	free(copy);
	if (exe_in_build_tree(exe))
		path_add(&v, &n, LF_DRIVER_BUILD_DIR);
	path_add(&v, &n, LF_DRIVER_INSTALL_DIR);
	if (rc != 0) {
		for (i = 0; i < n; i++)
			free(v[i]);
		free(v);
		v = NULL;
	}
	*out = v;
	return rc;
}

int lf_registry_new(struct lf_registry **out)
{
	struct lf_registry *reg = lf_xcalloc(1, sizeof(*reg));
	char *exe = realpath("/proc/self/exe", NULL);

	pthread_mutex_init(&reg->mu, NULL);
	if (lf_plugin_path_build(lf_ctx_current()->driver_path, exe, &reg->path,
				 &reg->path_err) != 0)
		reg->path = lf_xcalloc(1, sizeof(*reg->path)); /* search nothing */
	free(exe);
	*out = reg;
	return 0;
}

void lf_registry_free(struct lf_registry *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = 0; reg->path[i]; i++)
		free(reg->path[i]);
	free(reg->path);
	for (i = 0; i < reg->n; i++)
		free(reg->v[i].name);
	free(reg->v);
	pthread_mutex_destroy(&reg->mu);
	free(reg);
}

const char *const *lf_registry_path(const struct lf_registry *reg)
{
	return (const char *const *)reg->path;
}

/* caller holds reg->mu */
static const struct lf_driver *reg_find(struct lf_registry *reg,
					const char *name)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		if (strcmp(reg->v[i].name, name) == 0)
			return reg->v[i].drv;
	return NULL;
}

/* caller holds reg->mu */
static void reg_add(struct lf_registry *reg, const struct lf_driver *drv)
{
	if (reg->n == reg->cap) {
		reg->cap = reg->cap ? reg->cap * 2 : 8;
		reg->v = lf_xrealloc(reg->v, reg->cap * sizeof(*reg->v));
	}
	reg->v[reg->n].name = lf_xstrdup(drv->name);
	reg->v[reg->n].drv = drv;
	reg->n++;
}

static char *path_joined(const struct lf_registry *reg)
{
	struct lf_buf b = LF_BUF_INIT;
	size_t i;
	char *s;

	for (i = 0; reg->path[i]; i++)
		lf_buf_printf(&b, "%s%s", i ? ":" : "", reg->path[i]);
	s = lf_xstrndup(b.data ? b.data : "", b.len);
	lf_buf_free(&b);
	return s;
}

/* caller holds reg->mu: search the path; first file found wins */
static int reg_load(struct lf_registry *reg, const char *name,
		    const struct lf_driver **out, struct lf_err *err)
{
	struct lf_load_facts facts;
	char *file, *where;
	size_t i;
	int rc;

	for (i = 0; reg->path[i]; i++) {
		file = lf_xasprintf("%s/" LF_DRIVER_FILE_PREFIX "%s" LF_DRIVER_FILE_SUFFIX,
				    reg->path[i], name);
		if (!lf_path_exists(file)) {
			free(file);
			continue;
		}
		memset(&facts, 0, sizeof(facts));
		rc = plugin_load(file, &facts, out, err);
		free(file);
		if (rc == 0)
			reg_add(reg, *out);
		return rc;
	}
	where = path_joined(reg);
	rc = lf_err_set(err, LF_ENOTFOUND, "no driver '%s' in %s", name, where);
	free(where);
	return rc;
}

int lf_registry_get(struct lf_registry *reg, const char *name,
		    const struct lf_driver **out, struct lf_err *err)
{
	int rc = 0;

	*out = NULL;
	if (!driver_name_valid(name))
		return lf_err_set(err, LF_EINVALID,
				  "driver name '%s' is not [a-z0-9_]{1,64}",
				  name ? name : "");
	pthread_mutex_lock(&reg->mu);
	*out = reg_find(reg, name);
	if (!*out && reg->path_err.code != 0)
		rc = lf_err_set(err, reg->path_err.code, "%s", reg->path_err.msg);
	else if (!*out)
		rc = reg_load(reg, name, out, err);
	pthread_mutex_unlock(&reg->mu);
	return rc;
}

int lf_registry_register(struct lf_registry *reg, const struct lf_driver *drv,
			 struct lf_err *err)
{
	int rc;

	if (!drv)
		return lf_err_set(err, LF_EINVALID, "driver table is NULL");
	rc = driver_check("in-process driver", drv, NULL, err);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&reg->mu);
	if (reg_find(reg, drv->name))
		rc = lf_err_set(err, LF_EXISTS, "driver '%s' is already registered",
				drv->name);
	else
		reg_add(reg, drv);
	pthread_mutex_unlock(&reg->mu);
	return rc;
}

/* ---- listing ----------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted plugin file names in dir (caller frees each and the array). */
static char **dir_plugins(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, *name;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		name = name_from_file(e->d_name);
		if (!name)
			continue;
		free(name);
		v = lf_xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = lf_xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static void info_fill(struct lf_plugin_info *info, const char *path)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_load_facts facts;
	const struct lf_driver *d = NULL;

	memset(&facts, 0, sizeof(facts));
	memset(info, 0, sizeof(*info));
	info->path = lf_xstrdup(path);
	info->ok = plugin_load(path, &facts, &d, &err) == 0;
	info->error = info->ok ? NULL : lf_xstrdup(err.msg);
	info->abi_version = facts.abi_version;
	info->caps = facts.caps;
	info->roles = facts.roles;
	info->name = facts.name[0] ? lf_xstrdup(facts.name) : name_from_file(path);
	info->version = facts.version[0] ? lf_xstrdup(facts.version) : NULL;
}

int lf_registry_list(struct lf_registry *reg, struct lf_plugin_info **out,
		     size_t *n)
{
	struct lf_plugin_info *v = NULL;
	size_t i, j, k, cnt = 0;
	char **files, *path;

	for (i = 0; reg->path[i]; i++) {
		files = dir_plugins(reg->path[i], &k);
		for (j = 0; j < k; j++) {
			path = lf_path_join(reg->path[i], files[j]);
			v = lf_xrealloc(v, (cnt + 1) * sizeof(*v));
			info_fill(&v[cnt++], path);
			free(path);
			free(files[j]);
		}
		free(files);
	}
	*out = v;
	*n = cnt;
	return 0;
}

void lf_plugin_info_free_all(struct lf_plugin_info *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].name);
		free(v[i].version);
		free(v[i].error);
	}
	free(v);
}
