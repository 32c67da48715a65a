/*
 * Plan-time checks of the spec's providers, before anything is planned:
 * the driver plugin of every provider loads (a missing one fails `plan`,
 * not `apply` half way), its roles fit how the spec uses it (a provider
 * without the transport role needs providers.X.transport naming one with
 * it), its credentials reference resolves (the variable is set, the file
 * is readable), and the driver's own validate callback accepts the
 * provider's config and the size templates, each problem at the position
 * of the key it is about.
 */
#include "plans/plan.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

/* the size templates as a driver sees them: name -> {vcpus, memory_mb,
 * disk_gb, image, that driver's own fields} */
static json_t *sizes_view(const struct lf_spec *spec, const char *driver)
{
	json_t *all = json_object();

	for (size_t i = 0; i < spec->nsizes; i++) {
		const struct lf_size *z = &spec->sizes[i];
		json_t *o = json_pack("{sIsIsI}", "vcpus", (json_int_t)z->vcpus,
				      "memory_mb", (json_int_t)z->memory_mb,
				      "disk_gb", (json_int_t)z->disk_gb);
		const json_t *extra = z->extra ? json_object_get(z->extra, driver) : NULL;

		if (z->image)
			json_object_set_new(o, "image", json_string(z->image));
		if (json_is_object(extra))
			json_object_update(o, (json_t *)extra);
		json_object_set_new(all, z->name, o);
	}
	return all;
}

/* where a driver's key path ("config.region", "sizes.large.zone") is */
static struct lf_pos diag_pos(const struct lf_spec *spec, const struct lf_provider *p,
			      const char *path)
{
	struct lf_pos pos = { 0, 0 };
	char *full = NULL;

	if (lf_str_has_prefix(path, "config")) {
		full = lf_xasprintf("providers.%s.%s", p->name, path);
	} else if (lf_str_has_prefix(path, "sizes.")) {
		const char *name = path + 6, *dot = strchr(name, '.');
		char *size = dot ? lf_xstrndup(name, (size_t)(dot - name)) : lf_xstrdup(name);
		const struct lf_size *z = lf_spec_size(spec, size);

		full = lf_xasprintf("sizes.%s.drivers.%s%s", size, p->driver, dot ? dot : "");
		if (z)
			pos = z->pos;
		free(size);
	}
	if (full) {
		struct lf_pos at = lf_spec_position(spec, full);

		if (at.line)
			pos = at;
		free(full);
	}
	return pos.line ? pos : p->pos;
}

static void creds_check(const struct lf_provider *p, bool applying, struct lf_diags *out)
{
	int sev = applying ? 1 : 0;

	const char *var = json_string_value(json_object_get(p->credentials, "env"));
	const char *file = json_string_value(json_object_get(p->credentials, "file"));

	if (var && !getenv(var))
		lf_diags_add(out, sev, p->pos,
			     "provider '%s': credentials variable '%s' is not set", p->name, var);
	if (file && access(file, R_OK) != 0)
		lf_diags_add(out, sev, p->pos,
			     "provider '%s': credentials file '%s' cannot be read", p->name, file);
}

static void roles_check(const struct lf_spec *spec, struct lf_registry *reg,
			const struct lf_provider *p, const struct lf_driver *drv,
			struct lf_diags *out)
{
	const struct lf_provider *tp = p->transport ? lf_spec_provider(spec, p->transport) : NULL;
	const struct lf_driver *tdrv = NULL;
	struct lf_err err = LF_ERR_INIT;

	if (!p->transport) {
		if (!(drv->roles & LF_ROLE_TRANSPORT))
			lf_diags_add(out, 1, p->pos,
				     "provider '%s': driver '%s' makes machines but cannot reach them; name a transport provider (providers.%s.transport, e.g. one with driver ssh)",
				     p->name, drv->name, p->name);
		return;
	}
	if (!tp || lf_registry_get(reg, tp->driver, &tdrv, &err) != 0)
		return; /* reported for that provider itself */
	if (!(tdrv->roles & LF_ROLE_TRANSPORT))
		lf_diags_add(out, 1, p->pos,
			     "provider '%s': transport '%s' has driver '%s', which cannot reach machines",
			     p->name, tp->name, tdrv->name);
	if (!(drv->roles & LF_ROLE_PROVIDER))
		lf_diags_add(out, 1, p->pos,
			     "provider '%s': driver '%s' makes no machines, so it takes no transport",
			     p->name, drv->name);
}

static void driver_validate(const struct lf_spec *spec, const struct lf_provider *p,
			    const struct lf_driver *drv, struct lf_diags *out)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	json_t *sizes, *d;
	struct lf_kv *cfg, *sz;
	size_t i;
	int rc;

	if (!drv->validate)
		return;
	sizes = sizes_view(spec, drv->name);
	cfg = lf_kv_wrap(p->config);
	sz = lf_kv_wrap(sizes);
	lf_call_init(&call, drv->name, p->name, NULL);
	call.credentials = p->credentials;
	rc = drv->validate(cfg, sz, &call, 0, &err);
	json_array_foreach(call.diags, i, d) {
		const char *path = json_string_value(json_object_get(d, "path"));

		lf_diags_add(out, 1, diag_pos(spec, p, path ? path : ""), "provider '%s': %s",
			     p->name, json_string_value(json_object_get(d, "message")));
	}
	if (rc != 0 && json_array_size(call.diags) == 0)
		lf_diags_add(out, 1, p->pos, "provider '%s': %s", p->name,
			     err.msg[0] ? err.msg : "the driver refused the config");
	json_decref(call.diags);
	lf_kv_unwrap(cfg);
	lf_kv_unwrap(sz);
	json_decref(sizes);
}

int lf_providers_check(const struct lf_spec *spec, struct lf_registry *reg,
		       bool applying, struct lf_diags *out)
{
	size_t before = out->nerrors;

	for (size_t i = 0; spec && i < spec->nproviders; i++) {
		const struct lf_provider *p = &spec->providers[i];
		const struct lf_driver *drv = NULL;
		struct lf_err err = LF_ERR_INIT;

		if (lf_registry_get(reg, p->driver, &drv, &err) != 0) {
			lf_diags_add(out, 1, p->pos, "provider '%s': %s", p->name, err.msg);
			continue;
		}
		roles_check(spec, reg, p, drv, out);
		creds_check(p, applying, out);
		driver_validate(spec, p, drv, out);
	}
	return out->nerrors > before ? LF_EINVALID : 0;
}
