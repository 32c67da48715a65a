/*
 * The `host` and `node` resource types: both go through the driver of the
 * host's provider. host -> host_create/read/update/delete; node -> put the
 * node's identity files and its environment on the host, then (when the
 * driver can exec and Fabric binaries are configured) start it.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/plugin/plugin.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/node_files.h"
#include "plans/provider.h"

/* ---- provider resolution ---- */

static json_t *resolve_creds(const struct lf_provider *p, struct lf_err *err)
{
	const char *var, *file;
	char *data = NULL;
	size_t len = 0;
	json_t *out;

	if (!p || !json_is_object(p->credentials))
		return json_object();
	var = json_string_value(json_object_get(p->credentials, "env"));
	file = json_string_value(json_object_get(p->credentials, "file"));
	if (var) {
		const char *v = getenv(var);

		if (!v) {
			lf_err_set(err, LF_EAUTH, "provider '%s': credentials variable '%s' is not set",
				   p->name, var);
			return NULL;
		}
		out = json_object();
		json_object_set_new(out, "secret", json_string(v));
		return out;
	}
	if (file) {
		if (lf_read_file(file, &data, &len, err) != 0)
			return NULL;
		out = json_loadb(data, len, 0, NULL);
		if (!json_is_object(out)) {
			json_decref(out);
			out = json_object();
			json_object_set_new(out, "secret", json_stringn(data, len));
		}
		lf_free_secret(data, len);
		return out;
	}
	return json_object();
}

/* the provider config (new reference), from the spec only: the state
 * never says where a driver works (a host whose provider left the spec is
 * refused at plan time, see host_refuse_delete) */
static json_t *provider_config(const struct lf_apply_env *env,
			       const struct lf_provider *p, const char *driver)
{
	json_t *cfg;

	if (json_is_object(p->config))
		cfg = json_deep_copy(p->config);
	else
		cfg = json_object();
	/* the local driver's hosts live in the work dir unless told */
	if (strcmp(driver, "local") == 0 && !json_object_get(cfg, "root")) {
		char *root = lf_path_join(env->workdir, "hosts");

		json_object_set_new(cfg, "root", json_string(root));
		free(root);
	}
	return cfg;
}

struct hostconn {
	const struct lf_driver *drv;
	struct lf_driver_conn *conn;
	json_t *config;
};

static int host_connect(const struct lf_apply_env *env, const json_t *hattrs,
			struct hostconn *hc, struct lf_err *err)
{
	const char *prov = json_string_value(json_object_get(hattrs, "provider"));
	const char *drv = json_string_value(json_object_get(hattrs, "driver"));
	const struct lf_provider *p;
	json_t *creds;
	int rc;

	memset(hc, 0, sizeof(*hc));
	if (!prov || !drv)
		return lf_err_set(err, LF_EINVALID, "host has no provider/driver attribute");
	p = env->spec ? lf_spec_provider(env->spec, prov) : NULL;
	if (!p)
		return lf_err_set(err, LF_EINVALID, "provider '%s' is not in the spec", prov);
	creds = resolve_creds(p, err);
	if (!creds)
		return err->code ? err->code : LF_EAUTH;
	hc->config = provider_config(env, p, drv);
	rc = lf_driver_pool_get(env->drivers, prov, drv, hc->config, creds,
				&hc->drv, &hc->conn, err);
	json_decref(creds);
	return rc;
}

static void hostconn_done(struct hostconn *hc)
{
	json_decref(hc->config);
}

static unsigned long long attr_u(const json_t *a, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(a, k));

	return v > 0 ? (unsigned long long)v : 0;
}

static void host_spec_fill(struct lf_host_spec *hs, const char *addr,
			   const json_t *attrs, struct lf_kv *kv,
			   struct lf_kv *prior)
{
	memset(hs, 0, sizeof(*hs));
	hs->address = addr;
	hs->name = json_string_value(json_object_get(attrs, "name"));
	hs->hostname = json_string_value(json_object_get(attrs, "hostname"));
	hs->vcpus = (unsigned int)attr_u(attrs, "vcpus");
	hs->memory_mb = attr_u(attrs, "memory_mb");
	hs->disk_gb = attr_u(attrs, "disk_gb");
	hs->image = json_string_value(json_object_get(attrs, "image"));
	hs->attrs = kv;
	hs->prior = prior;
}

enum host_op { HOST_CREATE, HOST_UPDATE, HOST_READ, HOST_DELETE };

static int host_dispatch(const struct lf_driver *drv, struct lf_driver_conn *conn,
			 const struct lf_host_spec *hs, enum host_op op,
			 struct lf_kv_builder *b, struct lf_err *err)
{
	switch (op) {
	case HOST_CREATE:
		return drv->host_create(conn, hs, b, 0, err);
	case HOST_UPDATE:
		if (!drv->host_update)
			return lf_err_set(err, LF_EUNSUPPORTED,
					  "driver '%s' cannot update hosts in place", drv->name);
		return drv->host_update(conn, hs, b, 0, err);
	case HOST_READ:
		return drv->host_read(conn, hs, b, 0, err);
	default:
		return drv->host_delete(conn, hs, 0, err);
	}
}

/* one driver call for host r (desired for create/update, recorded for
 * read/delete); prior's outputs are what the driver returned before */
static int host_call(const struct lf_apply_env *env, const struct lf_resource *prior,
		     const struct lf_resource *r, enum host_op op,
		     json_t **outputs, struct lf_err *err)
{
	struct hostconn hc;
	struct lf_host_spec hs;
	struct lf_kv *kv = NULL, *pkv = NULL;
	struct lf_kv_builder *b = NULL;
	json_t *built;
	int rc;

	rc = host_connect(env, r->attrs, &hc, err);
	if (rc != 0)
		goto cleanup;
	kv = lf_kv_wrap(r->attrs);
	pkv = prior && prior->outputs ? lf_kv_wrap(prior->outputs) : NULL;
	host_spec_fill(&hs, r->addr, r->attrs, kv, pkv);
	b = lf_kv_builder_new();
	rc = host_dispatch(hc.drv, hc.conn, &hs, op, b, err);
	built = lf_kv_builder_finish(b);
	if (rc == LF_ENOTFOUND && op == HOST_DELETE) {
		lf_err_clear(err); /* already gone */
		rc = 0;
	}
	if (rc == 0 && outputs) {
		*outputs = built; /* what the driver returned, nothing more */
	} else {
		json_decref(built);
	}
cleanup:
	lf_kv_unwrap(kv);
	lf_kv_unwrap(pkv);
	hostconn_done(&hc);
	return rc;
}

static int host_create(const struct lf_apply_env *env, const struct lf_resource *des,
		       json_t **outputs, struct lf_err *err)
{
	return host_call(env, NULL, des, HOST_CREATE, outputs, err);
}

static int host_update(const struct lf_apply_env *env, const struct lf_resource *prior,
		       const struct lf_resource *des, json_t **outputs,
		       struct lf_err *err)
{
	return host_call(env, prior, des, HOST_UPDATE, outputs, err);
}

static int host_delete(const struct lf_apply_env *env, const struct lf_resource *prior,
		       struct lf_err *err)
{
	return host_call(env, prior, prior, HOST_DELETE, NULL, err);
}

/* a host is deleted through the provider that made it: when that
 * provider is no longer in the spec, the plan says how to go on */
static char *host_refuse_delete(const struct lf_apply_env *env,
				const struct lf_resource *prior,
				const struct lf_resource *desired)
{
	const char *prov = json_string_value(json_object_get(prior->attrs, "provider"));

	(void)desired;
	if (!env->spec || (prov && lf_spec_provider(env->spec, prov)))
		return NULL;
	return lf_xasprintf("provider '%s' is not in the spec; put it back to destroy %s "
			    "(or forget the host with `ledgerform state rm %s`)",
			    prov ? prov : "(none)", prior->addr, prior->addr);
}

/* the provider an action on r counts against (its host's, for a node) */
static const char *host_lane(const struct lf_apply_env *env, const struct lf_resource *r)
{
	(void)env;
	return json_string_value(json_object_get(r->attrs, "provider"));
}

/* --refresh: is the host still there? */
static int host_read(const struct lf_apply_env *env, const struct lf_resource *prior,
		     struct lf_err *err)
{
	return host_call(env, prior, prior, HOST_READ, NULL, err);
}

/* which attribute changes the host's driver can make in place */
static bool host_in_place(const struct lf_apply_env *env, const struct lf_resource *prior,
			  const char *key)
{
	const char *drvname = json_string_value(json_object_get(prior->attrs, "driver"));
	const struct lf_driver *drv = NULL;
	struct lf_registry *reg = env->registry;
	struct lf_err err = LF_ERR_INIT;
	uint32_t caps;

	if (strcmp(key, "size") == 0)
		return true; /* the template name; its parts decide */
	if (!drvname || !reg || lf_registry_get(reg, drvname, &drv, &err) != 0)
		return false;
	caps = drv->caps;
	if (strcmp(key, "vcpus") == 0 || strcmp(key, "memory_mb") == 0)
		return caps & LF_CAP_RESIZE_INPLACE;
	if (strcmp(key, "disk_gb") == 0)
		return caps & LF_CAP_DISK_GROW; /* shrinking is refused by the driver */
	if (strcmp(key, "image") == 0)
		return caps & LF_CAP_IMAGE_INPLACE;
	return false;
}

const struct lf_rtype lf_rtype_host = {
	.type = "host",
	.create = host_create,
	.update = host_update,
	.delete = host_delete,
	.in_place = host_in_place,
	.read = host_read,
	.lane = host_lane,
	.refuse_delete = host_refuse_delete,
};

/* ---- node ---- */

static const struct lf_resource *node_host(const struct lf_apply_env *env,
					   const json_t *attrs)
{
	const char *h = json_string_value(json_object_get(attrs, "host"));
	const struct lf_resource *r = NULL;

	if (!h)
		return NULL;
	if (env->desired)
		r = lf_rset_get(env->desired, h);
	if (!r && env->current)
		r = lf_rset_get(env->current, h);
	return r;
}

static int node_put_all(const struct lf_apply_env *env, const struct lf_resource *des,
			struct lf_err *err)
{
	const struct lf_resource *host = node_host(env, des->attrs);
	struct lf_node_files files = { 0 };
	struct hostconn hc;
	struct lf_host_spec hs;
	struct lf_kv *kv = NULL;
	size_t i;
	int rc;

	if (!host)
		return lf_err_set(err, LF_EINVALID, "%s: its host is not in the plan", des->addr);
	rc = host_connect(env, host->attrs, &hc, err);
	if (rc != 0)
		goto cleanup;
	if (!hc.drv->put) {
		rc = lf_err_set(err, LF_EUNSUPPORTED, "driver '%s' cannot put files", hc.drv->name);
		goto cleanup;
	}
	rc = lf_node_files_collect(env, des, &files, err);
	if (rc != 0)
		goto cleanup;
	kv = lf_kv_wrap(host->attrs);
	host_spec_fill(&hs, host->addr, host->attrs, kv, NULL);
	for (i = 0; rc == 0 && i < files.n; i++)
		rc = hc.drv->put(hc.conn, &hs, files.v[i].path, files.v[i].data,
				 files.v[i].len, files.v[i].mode, 0, err);
cleanup:
	lf_node_files_free(&files);
	lf_kv_unwrap(kv);
	hostconn_done(&hc);
	return rc;
}

/* ---- starting and stopping nodes (where Fabric binaries are) ---- */

/* FABRIC_BIN, when set to a plain path: nodes are started from it */
static const char *fabric_bin(void)
{
	const char *b = getenv("FABRIC_BIN");
	const char *c;

	if (!b || !*b)
		return NULL;
	for (c = b; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || strchr("/._-+", *c)))
			return NULL; /* not worth quoting risks: refuse */
	return b;
}

/* run a shell snippet on the node's host; output kept for the message */
static int node_sh(const struct lf_apply_env *env, const struct lf_resource *node,
		   const char *script, char **output, struct lf_err *err)
{
	const struct lf_resource *host = node_host(env, node->attrs);
	const char *argv[] = { script, NULL };
	struct lf_exec_result res = { 0, NULL, 0 };
	struct lf_host_spec hs;
	struct hostconn hc;
	struct lf_kv *kv = NULL;
	int rc;

	if (!host)
		return lf_err_set(err, LF_EINVALID, "%s: its host is not in the plan", node->addr);
	rc = host_connect(env, host->attrs, &hc, err);
	if (rc == 0 && !hc.drv->exec)
		rc = lf_err_set(err, LF_EUNSUPPORTED, "driver '%s' cannot run commands",
				hc.drv->name);
	if (rc == 0) {
		kv = lf_kv_wrap(host->attrs);
		host_spec_fill(&hs, host->addr, host->attrs, kv, NULL);
		rc = hc.drv->exec(hc.conn, &hs, argv, &res, lf_host_out_alloc,
				  LF_EXEC_SHELL, err);
	}
	if (rc == 0 && res.exit_status != 0)
		rc = lf_err_set(err, LF_ERROR, "%s: exit status %d: %.*s", node->addr,
				res.exit_status, (int)(res.output_len > 300 ? 300 : res.output_len),
				res.output ? res.output : "");
	if (output)
		*output = res.output;
	else
		free(res.output);
	lf_kv_unwrap(kv);
	hostconn_done(&hc);
	return rc;
}

#define NODE_STOP \
	"if [ -f fabric/node.pid ]; then kill \"$(cat fabric/node.pid)\" 2>/dev/null; " \
	"rm -f fabric/node.pid; fi; "

/* start the node from its bundle; it must still run a moment later */
static int node_start(const struct lf_apply_env *env, const struct lf_resource *node,
		      const char *bin, long long *pid, struct lf_err *err)
{
	char *out = NULL;
	char *script = lf_xasprintf(
		NODE_STOP "FABRIC_BIN=%s nohup sh fabric/run.sh >fabric/node.log 2>&1 "
		"</dev/null & echo $! >fabric/node.pid; sleep 0.3; "
		"if ! kill -0 \"$(cat fabric/node.pid)\" 2>/dev/null; then "
		"echo 'the node exited at once:'; tail -5 fabric/node.log; exit 1; fi; "
		"cat fabric/node.pid", bin);
	int rc = node_sh(env, node, script, &out, err);

	*pid = rc == 0 && out ? strtoll(out, NULL, 10) : 0;
	free(out);
	free(script);
	return rc;
}

static bool node_startable(const struct lf_resource *r)
{
	const char *kind = json_string_value(json_object_get(r->attrs, "kind"));

	return lf_streq(kind, "peer") || lf_streq(kind, "orderer");
}

static int node_create(const struct lf_apply_env *env, const struct lf_resource *des,
		       json_t **outputs, struct lf_err *err)
{
	const char *bin = fabric_bin();
	long long pid = 0;
	int rc = node_put_all(env, des, err);

	if (rc == 0 && bin && node_startable(des))
		rc = node_start(env, des, bin, &pid, err);
	if (rc == 0) {
		*outputs = json_object();
		json_object_set_new(*outputs, "bundle", json_string("fabric/"));
		json_object_set_new(*outputs, "started", json_boolean(pid > 0));
		if (pid > 0)
			json_object_set_new(*outputs, "pid", json_integer(pid));
	}
	return rc;
}

static int node_update(const struct lf_apply_env *env, const struct lf_resource *prior,
		       const struct lf_resource *des, json_t **outputs,
		       struct lf_err *err)
{
	(void)prior;
	/* files re-delivered; a started node is restarted on them */
	return node_create(env, des, outputs, err);
}

static int node_delete(const struct lf_apply_env *env, const struct lf_resource *prior,
		       struct lf_err *err)
{
	int rc;

	/* the files live on the host and go with it; a started node stops */
	if (!json_is_true(json_object_get(prior->outputs, "started")))
		return 0;
	rc = node_sh(env, prior, NODE_STOP "true", NULL, err);
	if (rc == LF_ENOTFOUND) { /* its host is gone already */
		lf_err_clear(err);
		rc = 0;
	}
	return rc;
}

static bool node_in_place(const struct lf_apply_env *env, const struct lf_resource *prior,
			  const char *key)
{
	(void)env;
	(void)prior;
	/* files are re-delivered; moving to another host is a replace */
	return strcmp(key, "host") != 0 && strcmp(key, "kind") != 0;
}

static const char *node_lane(const struct lf_apply_env *env, const struct lf_resource *r)
{
	const struct lf_resource *h = node_host(env, r->attrs);

	return h ? host_lane(env, h) : NULL;
}

const struct lf_rtype lf_rtype_node = {
	.type = "node",
	.create = node_create,
	.update = node_update,
	.delete = node_delete,
	.in_place = node_in_place,
	.lane = node_lane,
};
