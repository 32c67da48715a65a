/*
 * Driver plugin loader and the host side of the driver ABI.
 *
 * Drivers are found as ledgerform_driver_NAME.so in a search path:
 *   $LEDGERFORM_DRIVER_PATH (colon-separated, absolute directories only:
 *   a relative entry refuses the whole path), then the build tree's
 *   drivers directory (only for a binary running from that build tree, never
 *   for an installed one), then the install prefix's lib/ledgerform/drivers.
 *   The first match wins. A plugin file (or its directory, unless sticky)
 *   writable by others is refused: anyone could run code as us.
 * A plugin is dlopen'd RTLD_NOW|RTLD_LOCAL and checked (entry symbol,
 * abi_version, struct_size, name, mandatory callbacks) before use. Loaded
 * plugins are never unloaded (unsafe in a threaded process).
 */
#ifndef LF_PLUGIN_H
#define LF_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "ledgerform/driver.h"
#include "core/plugin/call.h"

struct lf_registry;

struct lf_plugin_info {
	char *path;
	char *name;            /* from the table, or from the file name */
	char *version;
	uint32_t abi_version;
	uint32_t roles;        /* LF_ROLE_* */
	uint32_t caps;
	bool ok;               /* passed every check */
	char *error;           /* why refused (NULL when ok) */
};

int lf_registry_new(struct lf_registry **out);
void lf_registry_free(struct lf_registry *reg);
/* directories searched, in order (borrowed, NULL-terminated) */
const char *const *lf_registry_path(const struct lf_registry *reg);
/* The search path for a LEDGERFORM_DRIVER_PATH value (NULL: unset) and the
 * running executable's absolute path (NULL: unknown, taken as installed).
 * NULL-terminated, caller frees each entry and the array; LF_EINVALID
 * naming the entry when one is relative. */
int lf_plugin_path_build(const char *env, const char *exe, char ***out,
			 struct lf_err *err);

/* Find and load driver NAME; LF_ENOTFOUND naming the search path when
 * absent, LF_EINVALID naming the file and reason when refused. */
int lf_registry_get(struct lf_registry *reg, const char *name,
		    const struct lf_driver **out, struct lf_err *err);
/* Load one plugin file and check it. */
int lf_plugin_load_file(const char *path, const struct lf_driver **out,
			struct lf_err *err);
/* Every plugin file (ledgerform_driver_*.so) in every directory of the
 * search path, in path order and sorted by name within a directory, each
 * loaded and checked; refused files are reported with ok = false and the
 * reason (abi_version is filled whenever the entry returned a table). A
 * name found again later in the path is listed too although the first one
 * wins. Caller frees with lf_plugin_info_free_all. */
int lf_registry_list(struct lf_registry *reg, struct lf_plugin_info **out,
		     size_t *n);
void lf_plugin_info_free_all(struct lf_plugin_info *v, size_t n);

/* The host API table handed to drivers. */
const struct lf_host_api *lf_host_api(void);

/* lf_kv: read-only view over a JSON object (values shown as strings:
 * numbers as "%lld"/"%.17g", booleans "true"/"false", objects and arrays
 * as compact JSON, null as absent). A string handed out lives as long as
 * the view (formatted values, cached in it) or the object (JSON strings).
 * Safe to read from several threads; formatted values are wiped on unwrap
 * (views may wrap credentials). */
struct lf_kv *lf_kv_wrap(const json_t *obj);   /* borrowed obj */
void lf_kv_unwrap(struct lf_kv *kv);          /* NULL is fine */
/* lf_kv_builder: collects attributes a driver returns into a JSON object */
struct lf_kv_builder *lf_kv_builder_new(void);
/* take the built object (owned by the caller) and free the builder */
json_t *lf_kv_builder_finish(struct lf_kv_builder *b);

/* Set the process-wide cancellation flag every call context reports. */
void lf_host_set_cancelled(int v);

/* Add an in-process driver table (tests, embedded fakes) under its own
 * name, after the same checks as a plugin file (ABI, struct_size, name,
 * mandatory callbacks). LF_EXISTS when the name is already registered or
 * loaded. The table must outlive the registry. */
int lf_registry_register(struct lf_registry *reg, const struct lf_driver *drv,
			 struct lf_err *err);

/*
 * Connection pool used by the executor: one open connection per provider
 * name, opened on first use and shared by every worker thread (drivers'
 * connections are thread-safe by contract). Thread-safe; concurrent first
 * requests for one provider open it once (the others wait). A driver that
 * declines the config (LF_OPEN_DECLINED) is an LF_EINVALID error. A failed
 * open is remembered (same error for later calls) unless it was LF_ERETRY.
 * The pool keeps the provider's credentials *reference* ({env}/{file}) so
 * that drivers resolve values lazily through their call context; values
 * are never stored or logged.
 */
struct lf_driver_pool;

int lf_driver_pool_new(struct lf_driver_pool **out, struct lf_registry *reg);
/* config: JSON object read during the first call only; credentials: the
 * spec's reference (may be NULL), copied into the pool on first open and
 * handed to every call through lf_driver_pool_call. *drv and *conn are
 * borrowed and live until lf_driver_pool_free. */
int lf_driver_pool_get(struct lf_driver_pool *pool, const char *provider_name,
		       const char *driver_name, const json_t *config,
		       const json_t *credentials, const struct lf_driver **drv,
		       struct lf_driver_conn **conn, struct lf_err *err);
/* A call context for provider_name's driver about resource (borrowed
 * strings; the provider must have been opened with lf_driver_pool_get). */
void lf_driver_pool_call(struct lf_driver_pool *pool, const char *provider_name,
			 const char *resource, struct lf_call *out);
/* close every connection and free the pool (NULL is fine) */
void lf_driver_pool_free(struct lf_driver_pool *pool);

#endif
