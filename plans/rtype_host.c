/*
 * The `host` and `node` resource types, through driver ABI 2.
 *
 * A host names its provider (the driver that makes the machine) and its
 * transport (the driver that reaches it; the provider itself unless the
 * spec's providers.X.transport names another). A provider driver without
 * the transport role needs a transport; a transport-only driver (ssh)
 * makes no machine: its hosts are existing machines given by address.
 *
 *   create  provider: host_create (+ machine_prepare on a distinct
 *           transport); transport-only: machine_prepare
 *   update  provider: host_update (flags from change_kind)
 *   read    provider: host_read (live attributes); else machine_read
 *   delete  provider: host_delete; transport-only: machine_release
 *
 * node -> put the node's files on its host through the transport, then
 * (when Fabric binaries are configured) start it there; it is created
 * once its operations endpoint's /healthz answers OK (lf_node_probe asks
 * the same for `status`).
 *
 * What a driver returns is all the state keeps of a host (outputs); the
 * provider's config comes from the spec on every call, never from state.
 */
#include <stdlib.h>
#include <string.h>

#include "core/plugin/plugin.h"
#include "core/spec/spec.h"
#include "core/util/ctx.h"
#include "core/util/util.h"
#include "plans/node_config.h"
#include "plans/node_files.h"
#include "plans/provider.h"

/* ---- one driver side of a host ---- */

struct side {
	const char *provider;            /* provider name (borrowed) */
	const struct lf_driver *drv;
	struct lf_driver_conn *conn;
	struct lf_call call;
};

/* the provider's config as the driver sees it (new reference) */
static json_t *side_config(const struct lf_apply_env *env,
			   const struct lf_provider *p)
{
	json_t *cfg = json_is_object(p->config) ? json_deep_copy(p->config) : json_object();

	/* the local driver's hosts live in the work dir unless told */
	if (lf_streq(p->driver, "local") && !json_object_get(cfg, "root")) {
		char *root = lf_path_join(env->workdir, "hosts");

		json_object_set_new(cfg, "root", json_string(root));
		free(root);
	}
	return cfg;
}

static int side_open(const struct lf_apply_env *env, const char *provider,
		     const char *resource, struct side *s, struct lf_err *err)
{
	const struct lf_provider *p = env->spec ? lf_spec_provider(env->spec, provider) : NULL;
	json_t *cfg;
	int rc;

	memset(s, 0, sizeof(*s));
	s->provider = provider;
	if (!p)
		return lf_err_set(err, LF_EINVALID,
				  "%s: provider '%s' is not in the spec; put it back (as it was when the host was made) to change or destroy its hosts",
				  resource, provider);
	cfg = side_config(env, p);
	rc = lf_driver_pool_get(env->drivers, provider, p->driver, cfg, p->credentials,
				&s->drv, &s->conn, err);
	json_decref(cfg);
	if (rc != 0)
		return rc;
	lf_driver_pool_call(env->drivers, provider, resource, &s->call);
	s->call.cancel = env->cancel;
	s->call.progress = env->progress;
	s->call.progress_payload = env->progress_payload;
	return 0;
}

static void side_done(struct side *s)
{
	json_decref(s->call.diags);
	s->call.diags = NULL;
}

/* a host's two sides; tr may be the same connection as prov */
struct hostsides {
	struct side prov, tr;
	bool has_prov;        /* the provider driver makes machines */
	bool has_tr;          /* a transport reaches them */
	bool same;            /* one driver plays both roles for this host */
};

static const char *attr_s(const json_t *a, const char *k)
{
	return json_string_value(json_object_get(a, k));
}

static int hostsides_open(const struct lf_apply_env *env, const struct lf_resource *host,
			  struct hostsides *hs, struct lf_err *err)
{
	const char *prov = attr_s(host->attrs, "provider");
	const char *tr = attr_s(host->attrs, "transport");
	int rc;

	memset(hs, 0, sizeof(*hs));
	if (!prov)
		return lf_err_set(err, LF_EINVALID, "%s: host has no provider attribute", host->addr);
	if (!tr)
		tr = prov;
	rc = side_open(env, prov, host->addr, &hs->prov, err);
	if (rc != 0)
		return rc;
	hs->has_prov = hs->prov.drv->roles & LF_ROLE_PROVIDER;
	hs->same = strcmp(tr, prov) == 0;
	if (hs->same) {
		hs->tr = hs->prov;
		hs->tr.call.diags = NULL;
	} else {
		rc = side_open(env, tr, host->addr, &hs->tr, err);
		if (rc != 0)
			return rc;
	}
	hs->has_tr = hs->tr.drv->roles & LF_ROLE_TRANSPORT;
	if (!hs->has_prov && !hs->has_tr)
		return lf_err_set(err, LF_EINVALID, "%s: provider '%s' neither makes nor reaches machines",
				  host->addr, prov);
	return 0;
}

static void hostsides_done(struct hostsides *hs)
{
	side_done(&hs->prov);
	if (!hs->same)
		side_done(&hs->tr);
}

/* ---- what the drivers are told ---- */

static unsigned long long attr_u(const json_t *a, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(a, k));

	return v > 0 ? (unsigned long long)v : 0;
}

struct hostviews {
	struct lf_kv *attrs, *size, *prior, *outputs;
	json_t *size_obj;
	json_t *attrs_obj;   /* attrs plus node_ports, for a provider call */
};

/* the size template with its per-provider fields, as the driver sees it */
static json_t *size_object(const struct lf_apply_env *env, const json_t *attrs)
{
	const char *name = attr_s(attrs, "size");
	const struct lf_size *sz = env->spec && name ? lf_spec_size(env->spec, name) : NULL;
	json_t *o = json_object();

	json_object_set_new(o, "vcpus", json_integer((json_int_t)attr_u(attrs, "vcpus")));
	json_object_set_new(o, "memory_mb", json_integer((json_int_t)attr_u(attrs, "memory_mb")));
	json_object_set_new(o, "disk_gb", json_integer((json_int_t)attr_u(attrs, "disk_gb")));
	if (attr_s(attrs, "image"))
		json_object_set_new(o, "image", json_string(attr_s(attrs, "image")));
	if (sz && json_is_object(sz->extra))
		json_object_update_missing(o, sz->extra);
	return o;
}

static void hostviews_make(const struct lf_apply_env *env, const struct lf_resource *r,
			   const json_t *prior, const json_t *outputs,
			   struct hostviews *v)
{
	memset(v, 0, sizeof(*v));
	v->size_obj = size_object(env, r->attrs);
	v->attrs = lf_kv_wrap(r->attrs);
	v->size = lf_kv_wrap(v->size_obj);
	v->prior = prior ? lf_kv_wrap(prior) : NULL;
	v->outputs = outputs ? lf_kv_wrap(outputs) : NULL;
}

static void hostviews_free(struct hostviews *v)
{
	lf_kv_unwrap(v->attrs);
	lf_kv_unwrap(v->size);
	lf_kv_unwrap(v->prior);
	lf_kv_unwrap(v->outputs);
	json_decref(v->size_obj);
	json_decref(v->attrs_obj); /* after the view of it */
}

/* the ports of one node and where they are reached from: listen from the
 * whole network, operations and an orderer's admin from the controller,
 * a peer's chaincode port on its machine only (see docs/drivers.md) */
static void node_ports_add(json_t *arr, const struct lf_resource *node, const json_t *attrs,
			   const char *host)
{
	const char *kind = attr_s(attrs, "kind");
	struct lf_node_net n = lf_node_net(attrs);
	bool orderer = lf_streq(kind, "orderer");
	const char *name[] = { "listen", "operations", orderer ? "admin" : "chaincode" };
	long long port[] = { n.port, n.operations, orderer ? n.admin : n.chaincode };
	const char *from[] = { "network", "controller", orderer ? "controller" : "machine" };

	for (size_t i = 0; i < 3; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "node",
						     node->addr, "host", host, "kind", kind,
						     "name", name[i], "port", (json_int_t)port[i],
						     "from", from[i]));
}

/* node_ports of the provider call context: every peer's and orderer's
 * ports on the hosts of r's provider (the desired set) */
static json_t *node_ports(const struct lf_apply_env *env, const struct lf_resource *r)
{
	const char *prov = attr_s(r->attrs, "provider");
	json_t *arr = json_array();

	for (size_t i = 0; env->desired && prov && i < env->desired->n; i++) {
		const struct lf_resource *nd = &env->desired->v[i];
		const json_t *na = lf_resource_attrs(nd);
		const char *kind = attr_s(na, "kind");
		const char *h = attr_s(na, "host");
		const struct lf_resource *hr;

		if (!lf_streq(nd->type, "node") || !h ||
		    !(lf_streq(kind, "peer") || lf_streq(kind, "orderer")))
			continue;
		hr = lf_rset_get(env->desired, h);
		if (hr && lf_streq(attr_s(hr->attrs, "provider"), prov))
			node_ports_add(arr, nd, na, h);
	}
	return arr;
}

static void host_spec_fill(struct lf_host_spec *hs, const struct lf_apply_env *env,
			   const struct lf_resource *r, struct hostviews *v)
{
	const json_t *a = r->attrs;

	/* a provider learns its nodes' ports through the attrs view only
	 * (never in the resource's attributes, so plans do not change) */
	v->attrs_obj = json_deep_copy(r->attrs);
	json_object_set_new(v->attrs_obj, "node_ports", node_ports(env, r));
	lf_kv_unwrap(v->attrs);
	v->attrs = lf_kv_wrap(v->attrs_obj);

	memset(hs, 0, sizeof(*hs));
	hs->resource = r->addr;
	hs->lineage = env->lineage ? env->lineage : "";
	hs->name = attr_s(a, "name");
	hs->hostname = attr_s(a, "hostname");
	hs->vcpus = (unsigned int)attr_u(a, "vcpus");
	hs->memory_mb = attr_u(a, "memory_mb");
	hs->disk_gb = attr_u(a, "disk_gb");
	hs->image = attr_s(a, "image");
	hs->attrs = v->attrs;
	hs->size = v->size;
	hs->prior = v->prior;
}

/* the machine address: what the provider returned, else the spec's */
static const char *machine_address(const json_t *attrs, const json_t *outputs)
{
	const char *a = outputs ? attr_s(outputs, "machine_address") : NULL;

	return a ? a : attr_s(attrs, "address");
}

static void target_fill(struct lf_target *t, const struct lf_apply_env *env,
			const struct lf_resource *r, const json_t *outputs,
			const struct hostviews *v)
{
	memset(t, 0, sizeof(*t));
	t->resource = r->addr;
	t->lineage = env->lineage ? env->lineage : "";
	t->name = attr_s(r->attrs, "name");
	t->machine_address = machine_address(r->attrs, outputs);
	t->outputs = v->outputs;
}

/* ---- host ---- */

/* a create that did not finish left outputs in the state (partial) */
static const json_t *partial_outputs(const struct lf_apply_env *env, const char *addr)
{
	const struct lf_resource *cur = env->current ? lf_rset_get(env->current, addr) : NULL;

	return cur && cur->partial ? cur->outputs : NULL;
}

/* merge what a transport learned of the machine into the outputs */
static void outputs_add_machine(json_t *outputs, json_t *facts)
{
	if (json_object_size(facts) > 0)
		json_object_set(outputs, "machine", facts);
	json_decref(facts);
}

/* the transport's half of a new host: its root on the machine, facts to
 * out (after the provider made or adopted the machine) */
static int host_prepare_machine(const struct lf_apply_env *env, const struct lf_resource *des,
				struct hostsides *s, json_t *out, struct lf_err *err)
{
	struct lf_kv_builder *b;
	struct hostviews v;
	struct lf_target t;
	int rc;

	hostviews_make(env, des, NULL, out, &v);
	target_fill(&t, env, des, out, &v);
	b = lf_kv_builder_new();
	rc = s->tr.drv->machine_prepare(s->tr.conn, &t, &s->tr.call, b, 0, err);
	outputs_add_machine(out, lf_kv_builder_finish(b));
	hostviews_free(&v);
	return rc;
}

static int host_make(const struct lf_apply_env *env, const struct lf_resource *des,
		     struct hostsides *s, json_t *out, struct lf_err *err)
{
	const json_t *prior = partial_outputs(env, des->addr);
	struct lf_kv_builder *b;
	struct hostviews v;
	struct lf_host_spec hs;
	json_t *built;
	int rc = 0;

	if (s->has_prov) {
		hostviews_make(env, des, prior, NULL, &v);
		host_spec_fill(&hs, env, des, &v);
		b = lf_kv_builder_new();
		rc = s->prov.drv->host_create(s->prov.conn, &hs, &s->prov.call, b, 0, err);
		built = lf_kv_builder_finish(b);
		json_object_update(out, built);
		json_decref(built);
		hostviews_free(&v);
		if (rc != 0 || s->same || !s->has_tr)
			return rc;
	}
	return host_prepare_machine(env, des, s, out, err);
}

static int host_create(const struct lf_apply_env *env, const struct lf_resource *des,
		       json_t **outputs, struct lf_err *err)
{
	struct hostsides s;
	json_t *out = json_object();
	int rc;

	rc = hostsides_open(env, des, &s, err);
	if (rc == 0)
		rc = host_make(env, des, &s, out, err);
	hostsides_done(&s);
	/* on failure, what the driver returned so far is recorded (partial) */
	*outputs = out;
	return rc;
}

/* does some changed key of prior -> desired need a restart? */
static unsigned int update_flags(const struct lf_apply_env *env,
				 const struct lf_resource *prior,
				 const struct lf_resource *des);

static int host_update(const struct lf_apply_env *env, const struct lf_resource *prior,
		       const struct lf_resource *des, json_t **outputs,
		       struct lf_err *err)
{
	struct hostsides s;
	struct hostviews v;
	struct lf_host_spec hs;
	struct lf_kv_builder *b;
	json_t *out, *built;
	int rc;

	rc = hostsides_open(env, des, &s, err);
	if (rc == 0 && (!s.has_prov || !s.prov.drv->host_update))
		rc = lf_err_set(err, LF_EUNSUPPORTED, "driver '%s' cannot update hosts in place",
				s.prov.drv->name);
	if (rc != 0) {
		hostsides_done(&s);
		return rc;
	}
	hostviews_make(env, des, prior->outputs, NULL, &v);
	host_spec_fill(&hs, env, des, &v);
	b = lf_kv_builder_new();
	rc = s.prov.drv->host_update(s.prov.conn, &hs, &s.prov.call, b,
				     update_flags(env, prior, des), err);
	out = prior->outputs ? json_deep_copy(prior->outputs) : json_object();
	built = lf_kv_builder_finish(b);
	json_object_update(out, built);
	json_decref(built);
	hostviews_free(&v);
	hostsides_done(&s);
	*outputs = out;
	return rc;
}

static int host_delete(const struct lf_apply_env *env, const struct lf_resource *prior,
		       struct lf_err *err)
{
	struct hostsides s;
	struct hostviews v;
	struct lf_host_spec hs;
	struct lf_target t;
	int rc;

	rc = hostsides_open(env, prior, &s, err);
	if (rc != 0) {
		hostsides_done(&s);
		return rc;
	}
	hostviews_make(env, prior, prior->outputs, prior->outputs, &v);
	if (s.has_prov) {
		if (!s.same && s.has_tr) {
			/* what the transport put there goes first; the machine
			 * may be unreachable already, which the delete settles */
			struct lf_err scratch = LF_ERR_INIT;

			target_fill(&t, env, prior, prior->outputs, &v);
			(void)s.tr.drv->machine_release(s.tr.conn, &t, &s.tr.call, 0, &scratch);
		}
		host_spec_fill(&hs, env, prior, &v);
		rc = s.prov.drv->host_delete(s.prov.conn, &hs, &s.prov.call, 0, err);
	} else {
		target_fill(&t, env, prior, prior->outputs, &v);
		rc = s.tr.drv->machine_release(s.tr.conn, &t, &s.tr.call, 0, err);
	}
	if (rc == LF_ENOTFOUND) {
		lf_err_clear(err); /* already gone */
		rc = 0;
	}
	hostviews_free(&v);
	hostsides_done(&s);
	return rc;
}

/* `ledgerform import`: the provider adopts machine id as this host */
static int host_import(const struct lf_apply_env *env, const struct lf_resource *des,
		       const char *id, json_t **outputs, struct lf_err *err)
{
	struct hostsides s;
	struct hostviews v;
	struct lf_host_spec hs;
	struct lf_kv_builder *b;
	int rc;

	*outputs = NULL;
	rc = hostsides_open(env, des, &s, err);
	if (rc == 0 && (!s.has_prov || !(s.prov.drv->caps & LF_CAP_IMPORT)))
		rc = lf_err_set(err, LF_EUNSUPPORTED, "driver '%s' cannot import machines",
				s.prov.drv->name);
	if (rc != 0) {
		hostsides_done(&s);
		return rc;
	}
	hostviews_make(env, des, NULL, NULL, &v);
	host_spec_fill(&hs, env, des, &v);
	b = lf_kv_builder_new();
	rc = s.prov.drv->host_import(s.prov.conn, id, &hs, &s.prov.call, b, 0, err);
	*outputs = lf_kv_builder_finish(b);
	hostviews_free(&v);
	/* as after a create: the transport makes the host's root there */
	if (rc == 0 && !s.same && s.has_tr)
		rc = host_prepare_machine(env, des, &s, *outputs, err);
	hostsides_done(&s);
	if (rc != 0) {
		json_decref(*outputs);
		*outputs = NULL;
	}
	return rc;
}

/* the provider an action on r counts against (its host's, for a node) */
static const char *host_lane(const struct lf_apply_env *env, const struct lf_resource *r)
{
	(void)env;
	return attr_s(r->attrs, "provider");
}

/* refresh: the live machine; *live gets what it reports */
static int host_read(const struct lf_apply_env *env, const struct lf_resource *prior,
		     json_t **live, struct lf_err *err)
{
	struct hostsides s;
	struct hostviews v;
	struct lf_host_spec hs;
	struct lf_target t;
	struct lf_kv_builder *b = lf_kv_builder_new();
	json_t *got;
	int rc;

	rc = hostsides_open(env, prior, &s, err);
	if (rc == 0) {
		hostviews_make(env, prior, prior->outputs, prior->outputs, &v);
		if (s.has_prov) {
			host_spec_fill(&hs, env, prior, &v);
			rc = s.prov.drv->host_read(s.prov.conn, &hs, &s.prov.call, b, 0, err);
		} else {
			target_fill(&t, env, prior, prior->outputs, &v);
			rc = s.tr.drv->machine_read(s.tr.conn, &t, &s.tr.call, b, 0, err);
		}
		hostviews_free(&v);
	}
	hostsides_done(&s);
	got = lf_kv_builder_finish(b);
	if (rc == 0 && live)
		*live = got;
	else
		json_decref(got);
	return rc;
}

/* the driver of a host's provider, without opening it (plan time) */
static const struct lf_driver *plan_driver(const struct lf_apply_env *env,
					   const json_t *attrs,
					   const struct lf_provider **prov)
{
	const char *name = attr_s(attrs, "provider");
	const struct lf_driver *drv = NULL;
	struct lf_err err = LF_ERR_INIT;

	*prov = env->spec && name ? lf_spec_provider(env->spec, name) : NULL;
	if (!*prov || !env->registry ||
	    lf_registry_get(env->registry, (*prov)->driver, &drv, &err) != 0)
		return NULL;
	return drv;
}

static char *json_text(const json_t *v)
{
	if (!v)
		return NULL;
	if (json_is_string(v))
		return lf_xstrdup(json_string_value(v));
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* how the host's driver can make key's change */
static enum lf_change_kind host_change_kind(const struct lf_apply_env *env,
					    const struct lf_resource *prior,
					    const struct lf_resource *des,
					    const char *key, char **why)
{
	const struct lf_provider *p = NULL;
	const struct lf_driver *drv;
	enum lf_change_kind k;
	struct lf_kv *cfg;
	char *o, *n, buf[LF_ERR_MSG_MAX] = "";

	*why = NULL;
	if (strcmp(key, "size") == 0)
		return LF_CHANGE_INPLACE; /* the template name; its parts decide */
	drv = plan_driver(env, prior->attrs, &p);
	if (!drv || !(drv->roles & LF_ROLE_PROVIDER) || !drv->change_kind || !drv->host_update)
		return LF_CHANGE_REPLACE;
	o = json_text(json_object_get(prior->attrs, key));
	n = json_text(des ? json_object_get(des->attrs, key) : NULL);
	cfg = lf_kv_wrap(p->config);
	k = drv->change_kind(cfg, key, o, n, buf, sizeof(buf));
	lf_kv_unwrap(cfg);
	free(o);
	free(n);
	if (k > LF_CHANGE_REFUSED)
		k = LF_CHANGE_REPLACE;
	if (buf[0])
		*why = lf_xstrdup(buf);
	return k;
}

static unsigned int update_flags(const struct lf_apply_env *env,
				 const struct lf_resource *prior,
				 const struct lf_resource *des)
{
	const char *key;
	json_t *nv;
	unsigned int flags = 0;

	json_object_foreach(des->attrs, key, nv) {
		char *why = NULL;

		if (json_equal(json_object_get(prior->attrs, key), nv))
			continue;
		if (host_change_kind(env, prior, des, key, &why) == LF_CHANGE_RESTART)
			flags |= LF_UPDATE_RESTART;
		free(why);
	}
	return flags;
}

/* a host is deleted through the provider that made it: when that
 * provider is no longer in the spec, the plan says how to go on */
static char *host_refuse_delete(const struct lf_apply_env *env,
				const struct lf_resource *prior,
				const struct lf_resource *desired)
{
	const char *prov = attr_s(prior->attrs, "provider");
	const char *tr = attr_s(prior->attrs, "transport");

	(void)desired;
	if (!env->spec)
		return NULL;
	if (prov && !lf_spec_provider(env->spec, prov))
		return lf_xasprintf("provider '%s' is not in the spec; put it back to destroy %s "
				    "(or forget the host with `ledgerform state rm %s`)",
				    prov, prior->addr, prior->addr);
	if (tr && !lf_spec_provider(env->spec, tr))
		return lf_xasprintf("transport provider '%s' is not in the spec; put it back to destroy %s "
				    "(or forget the host with `ledgerform state rm %s`)",
				    tr, prior->addr, prior->addr);
	return NULL;
}

/* the host's reads cost nothing worth counting (its provider's driver,
 * or the transport's for a machine no provider made, says so) */
static bool host_read_cheap(const struct lf_apply_env *env, const struct lf_resource *r)
{
	const struct lf_provider *p = NULL;
	const struct lf_driver *drv = plan_driver(env, r->attrs, &p);

	return drv && (drv->caps & LF_CAP_READ_CHEAP);
}

const struct lf_rtype lf_rtype_host = {
	.type = "host",
	.create = host_create,
	.update = host_update,
	.delete = host_delete,
	.change_kind = host_change_kind,
	.refuse_delete = host_refuse_delete,
	.read = host_read,
	.import = host_import,
	.read_cheap = host_read_cheap,
	.lane = host_lane,
};

/* ---- node ---- */

/* the node's host, with the freshest outputs: this apply's, else the
 * state's */
static const struct lf_resource *node_host(const struct lf_apply_env *env,
					   const json_t *attrs, const json_t **outputs)
{
	const char *h = attr_s(attrs, "host");
	const struct lf_resource *r = NULL, *cur = NULL;

	*outputs = NULL;
	if (!h)
		return NULL;
	if (env->desired)
		r = lf_rset_get(env->desired, h);
	if (env->current)
		cur = lf_rset_get(env->current, h);
	if (!r)
		r = cur;
	if (r)
		*outputs = r->outputs ? r->outputs : cur ? cur->outputs : NULL;
	return r;
}

/* the transport side of a node's host, and its target */
struct nodeconn {
	struct hostsides s;
	struct hostviews v;
	struct lf_target t;
	const struct lf_resource *host;
	const json_t *outputs;
};

static int nodeconn_open(const struct lf_apply_env *env, const struct lf_resource *node,
			 struct nodeconn *nc, struct lf_err *err)
{
	int rc;

	memset(nc, 0, sizeof(*nc));
	nc->host = node_host(env, node->attrs, &nc->outputs);
	if (!nc->host)
		return lf_err_set(err, LF_EINVALID, "%s: its host is not in the plan", node->addr);
	rc = hostsides_open(env, nc->host, &nc->s, err);
	if (rc == 0 && !nc->s.has_tr)
		rc = lf_err_set(err, LF_EUNSUPPORTED,
				"%s: provider '%s' has no transport to reach its machines (set providers.%s.transport)",
				node->addr, nc->s.prov.provider, nc->s.prov.provider);
	if (rc != 0)
		return rc;
	hostviews_make(env, nc->host, NULL, nc->outputs, &nc->v);
	target_fill(&nc->t, env, nc->host, nc->outputs, &nc->v);
	nc->s.tr.call.resource = node->addr;
	return 0;
}

static void nodeconn_done(struct nodeconn *nc)
{
	if (nc->host && nc->v.attrs)
		hostviews_free(&nc->v);
	hostsides_done(&nc->s);
}

static int node_put_all(const struct lf_apply_env *env, const struct lf_resource *des,
			struct lf_err *err)
{
	struct lf_node_files files = { 0 };
	struct nodeconn nc;
	struct lf_file *fv = NULL;
	size_t i;
	int rc;

	rc = nodeconn_open(env, des, &nc, err);
	if (rc == 0)
		rc = lf_node_files_collect(env, des, nc.outputs, &files, err);
	if (rc == 0) {
		fv = lf_xcalloc(files.n ? files.n : 1, sizeof(*fv));
		for (i = 0; i < files.n; i++) {
			fv[i].path = files.v[i].path;
			fv[i].data = files.v[i].data;
			fv[i].len = files.v[i].len;
			fv[i].mode = files.v[i].mode;
		}
		rc = nc.s.tr.drv->put(nc.s.tr.conn, &nc.t, fv, files.n, &nc.s.tr.call, 0, err);
	}
	free(fv);
	lf_node_files_free(&files);
	nodeconn_done(&nc);
	return rc;
}

/* ---- starting and stopping nodes (where Fabric binaries are) ---- */

/* where Fabric's binaries are (FABRIC_BIN, checked when the context was
 * made); NULL: nodes are delivered but not started */
static const char *fabric_bin(void)
{
	return lf_ctx_current()->fabric_bin;
}

#define NODE_OUTPUT_MAX 4096

/* run a shell snippet on the node's host with only envp (plus PATH);
 * *output and *errout (when asked) get the tails of stdout and stderr;
 * timeout_ms 0: the call's deadline only */
static int node_sh_full(const struct lf_apply_env *env, const struct lf_resource *node,
			const char *script, const char *const *envp, char **output,
			char **errout, unsigned int timeout_ms, struct lf_err *err)
{
	const char *argv[] = { script, NULL };
	const char *const no_env[] = { NULL };
	struct lf_blob out, errb;
	struct lf_exec_result res = { 0, &out, &errb };
	struct lf_exec_spec es = { argv, envp ? envp : no_env, NULL, 0, timeout_ms,
				   NODE_OUTPUT_MAX };
	struct nodeconn nc;
	int rc;

	lf_blob_init(&out, NODE_OUTPUT_MAX);
	lf_blob_init(&errb, NODE_OUTPUT_MAX);
	rc = nodeconn_open(env, node, &nc, err);
	if (rc == 0)
		rc = nc.s.tr.drv->exec(nc.s.tr.conn, &nc.t, &es, &res, &nc.s.tr.call,
				       LF_EXEC_SHELL, err);
	if (rc == 0 && res.exit_status != 0)
		rc = lf_err_set(err, LF_ERROR, "%s: exit status %d: %.300s%s", node->addr,
				res.exit_status, errb.len ? errb.data : out.data ? out.data : "",
				(errb.len ? errb.len : out.len) > 300 ? " ..." : "");
	if (output)
		*output = out.data ? lf_xstrdup(out.data) : NULL;
	if (errout)
		*errout = errb.data ? lf_xstrdup(errb.data) : NULL;
	lf_blob_free(&out);
	lf_blob_free(&errb);
	nodeconn_done(&nc);
	return rc;
}

static int node_sh(const struct lf_apply_env *env, const struct lf_resource *node,
		   const char *script, const char *const *envp, char **output,
		   struct lf_err *err)
{
	return node_sh_full(env, node, script, envp, output, NULL, 0, err);
}

/* stop the node and wait until its process is gone (a zombie counts as
 * gone), at most 30 s, then SIGKILL it */
#define NODE_STOP \
	"if [ -f fabric/node.pid ]; then p=$(cat fabric/node.pid); kill \"$p\" 2>/dev/null; " \
	"i=0; while [ $i -lt 300 ] && kill -0 \"$p\" 2>/dev/null && " \
	"[ \"$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)\" != Z ]; do sleep 0.1; i=$((i+1)); done; " \
	"kill -9 \"$p\" 2>/dev/null; rm -f fabric/node.pid; fi; "

/* the node's health, on its machine: the operations endpoint's /healthz
 * body (curl, else wget); nothing when it does not answer. listening: a
 * connection to the node's service port is accepted (curl's "could not
 * connect" and "timed out" are the only no; the TLS answer is not used) */
#define NODE_HEALTH_FN \
	"opsget() { if command -v curl >/dev/null 2>&1; then " \
	"curl -s --max-time 2 \"http://$LF_OPS/$1\"; " \
	"else wget -q -O - -T 2 \"http://$LF_OPS/$1\"; fi; }; " \
	"health() { opsget healthz; }; " \
	"listening() { command -v curl >/dev/null 2>&1 || return 0; " \
	"curl -s -o /dev/null --max-time 2 \"https://$LF_LISTEN/\"; r=$?; " \
	"[ $r -ne 7 ] && [ $r -ne 28 ]; }; "

/* is the process $p there (a zombie is not)? */
#define NODE_ALIVE \
	"kill -0 \"$p\" 2>/dev/null && [ \"$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)\" != Z ]"

/* which processes hold a listening TCP socket on a port (Linux /proc):
 * portino N prints the sockets' inodes, ownsport N says whether $p holds
 * one of them (yes when none is seen: /proc tells nothing there),
 * portpids N lists the holders' pids (those this user may look at) */
#define NODE_PORT_FN \
	"portino() { hx=$(printf ':%04X' \"$1\"); awk -v p=\"$hx\" " \
	"'FNR>1 && $4==\"0A\" && substr($2, length($2)-4)==p {print $10}' " \
	"/proc/net/tcp /proc/net/tcp6 2>/dev/null; }; " \
	"ownsport() { ino=$(portino \"$1\"); [ -z \"$ino\" ] && return 0; " \
	"fds=$(ls -l /proc/$p/fd 2>/dev/null); for i in $ino; do " \
	"case \"$fds\" in *\"socket:[$i]\"*) return 0 ;; esac; done; return 1; }; " \
	"portpids() { for i in $(portino \"$1\"); do for d in /proc/[0-9]*; do " \
	"case \"$(ls -l \"$d/fd\" 2>/dev/null)\" in *\"socket:[$i]\"*) echo \"${d#/proc/}\" ;; esac; " \
	"done; done | sort -u | paste -sd, -; }; " \
	"portothers() { for a in \"$LF_OPS\" \"$LF_LISTEN\"; do n=${a##*:}; o=$(portpids \"$n\"); " \
	"[ -n \"$o\" ] && printf 'port %s is held by another process (pid %s); ' \"$n\" \"$o\"; " \
	"done; }; " \
	"portsours() { for a in \"$LF_OPS\" \"$LF_LISTEN\"; do n=${a##*:}; ownsport \"$n\" && continue; " \
	"o=$(portpids \"$n\"); echo \"port $n answers, but another process holds it " \
	"(pid ${o:-not visible to $(id -un)}), not the node (pid $p)\"; return 1; done; }; "

/* the node's log: the journal of its unit ($LF_UNIT) when it has lines,
 * else fabric/node.log */
#define NODE_LOG_FN \
	"injournal() { [ -n \"$LF_UNIT\" ] && command -v journalctl >/dev/null 2>&1 && " \
	"[ -n \"$(journalctl -q -n 1 --no-pager -u \"$LF_UNIT\" 2>/dev/null)\" ]; }; " \
	"logtail() { if injournal; then journalctl -q -n 12 --no-pager -u \"$LF_UNIT\"; " \
	"else tail -n 12 fabric/node.log 2>/dev/null; fi; }; " \
	"logname() { if injournal; then echo \"the journal of $LF_UNIT\"; " \
	"else echo fabric/node.log; fi; }; " \
	"logall() { if injournal; then journalctl -q --no-pager -u \"$LF_UNIT\"; " \
	"else cat fabric/node.log 2>/dev/null; fi; }; " \
	"logcause() { c=$(logall | tr -d '\\033' | sed 's/\\[[0-9;]*m//g' | " \
	"grep -m 1 -E 'PANI|FATA|^panic:|^Error:' | cut -c 1-240); " \
	"[ -n \"$c\" ] && printf 'its log says: %s; ' \"$c\"; }; "

/* the checks before a start */
#define NODE_PRECHECK \
	"if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then " \
	"echo \"the node's health cannot be checked: neither curl nor wget is on the machine\" >&2; " \
	"exit 1; fi; " \
	"k=$(cat fabric/kind); if [ ! -x \"$FABRIC_BIN/$k\" ] || [ -d \"$FABRIC_BIN/$k\" ]; then " \
	"echo \"the node cannot start: $FABRIC_BIN/$k is not an executable file\" >&2; exit 1; fi; "

/* poll the /healthz of the started process $p (every 0.05 s at first,
 * then every 0.2 s, at most LF_POLLS times) until it answers OK, its
 * service port takes connections (a peer's operations endpoint answers
 * before the rest of it has started) and both ports are held by $p
 * itself (a node that failed to bind, with another process answering on
 * its port, is not healthy); when it exits or the wait ends, the last
 * lines of its log go to stderr, and the process is killed unless a unit
 * runs it ($LF_UNIT: the caller stops that), so a failed create leaves no
 * process behind */
#define NODE_WAIT \
	NODE_HEALTH_FN NODE_PORT_FN NODE_LOG_FN \
	"n=0; " \
	"while :; do " \
	"if ! { " NODE_ALIVE "; }; then " \
	"echo \"the node exited before it was healthy: $(portothers)$(logcause)the last lines of $(logname):\" >&2; " \
	"logtail >&2; rm -f fabric/node.pid; exit 1; fi; " \
	"h=$(health 2>/dev/null || true); " \
	"case \"$h\" in *'\"status\":\"OK\"'*) if listening; then " \
	"if m=$(portsours); then break; fi; " \
	"echo \"not healthy: $m\" >&2; " \
	"[ -n \"$LF_UNIT\" ] || kill -9 \"$p\" 2>/dev/null; rm -f fabric/node.pid; exit 1; fi ;; esac; " \
	"n=$((n+1)); if [ \"$n\" -ge \"$LF_POLLS\" ]; then " \
	"echo \"not healthy after ${LF_WAIT}s (http://$LF_OPS/healthz answered: ${h:-nothing}); " \
	"the last lines of $(logname):\" >&2; logtail >&2; " \
	"[ -n \"$LF_UNIT\" ] || kill -9 \"$p\" 2>/dev/null; rm -f fabric/node.pid; exit 1; fi; " \
	"if [ \"$n\" -le 8 ]; then sleep 0.05; else sleep 0.2; fi; done; echo \"$p\""

/* start the node from its bundle under the nohup supervisor and wait */
#define NODE_START_AND_WAIT \
	NODE_STOP NODE_PRECHECK \
	"nohup sh fabric/run.sh >fabric/node.log 2>&1 </dev/null & echo $! >fabric/node.pid; " \
	"p=$(cat fabric/node.pid); " NODE_WAIT

/* wait for the node a unit started ($LF_PID, its MainPID) */
#define NODE_UNIT_WAIT "p=$LF_PID; " NODE_WAIT

/* where the node's operations endpoint (or service port) is reached
 * from its own machine */
static char *node_ops_addr(const json_t *attrs, bool service)
{
	struct lf_node_net n = lf_node_net(attrs);
	const char *h = strcmp(n.listen, "0.0.0.0") == 0 || !*n.listen ? "127.0.0.1" : n.listen;

	return lf_xasprintf("%s:%lld", h, service ? n.port : n.operations);
}

/* a script's stderr on one line for an error message: its first line,
 * (up to 360 bytes) then the other lines joined by " | ", of which the
 * tail is kept when they are long (the last lines of a log say most) */
static void one_line_tail(const char *s, char *out, size_t max)
{
	struct lf_buf b = LF_BUF_INIT;
	const char *nl = strchr(s, '\n'), *p;
	size_t head = nl ? (size_t)(nl - s) : strlen(s);
	size_t keep;

	if (head > 360) /* the first line says why: it may be long */
		head = 360;
	keep = max > head + 60 ? max - head - 20 : 40;

	for (p = nl ? nl + 1 : ""; *p; p++)
		if (*p != '\n')
			lf_buf_append(&b, p, 1);
		else if (p[1])
			lf_buf_append(&b, " | ", 3);
	snprintf(out, max, "%.*s%s%s%s", (int)head, s,
		 b.len ? " " : "", b.len > keep ? "..." : "",
		 b.len > keep ? b.data + b.len - keep : b.len ? b.data : "");
	lf_buf_free(&b);
}

/* run a start script (NODE_START_AND_WAIT, or NODE_UNIT_WAIT for the
 * process unit runs: its MainPID and unit name given) and wait until the
 * node is healthy; *pid gets the process that is */
static int node_run_wait(const struct lf_apply_env *env, const struct lf_resource *node,
			 const char *bin, const char *script, long long main_pid,
			 const char *unit, long long *pid, struct lf_err *err)
{
	unsigned int wait = lf_ctx_current()->node_health_wait_s;
	char *ops = node_ops_addr(node->attrs, false);
	char *listen = node_ops_addr(node->attrs, true);
	char *vars[7] = {
		lf_xasprintf("FABRIC_BIN=%s", bin), lf_xasprintf("LF_OPS=%s", ops),
		lf_xasprintf("LF_WAIT=%u", wait), lf_xasprintf("LF_POLLS=%u", wait * 5 + 6),
		lf_xasprintf("LF_LISTEN=%s", listen), lf_xasprintf("LF_PID=%lld", main_pid),
		lf_xasprintf("LF_UNIT=%s", unit ? unit : ""),
	};
	const char *envp[] = { vars[0], vars[1], vars[2], vars[3], vars[4], vars[5], vars[6],
			       NULL };
	struct lf_err e = LF_ERR_INIT;
	char *out = NULL, *errtext = NULL, msg[LF_ERR_MSG_MAX];
	int rc = node_sh_full(env, node, script, envp, &out, &errtext, (wait + 60) * 1000u, &e);

	*pid = rc == 0 && out ? strtoll(out, NULL, 10) : 0;
	if (rc == LF_ERROR && errtext && *errtext) {
		one_line_tail(errtext, msg, sizeof(msg) - strlen(node->addr) - 8);
		lf_err_set(err, LF_ERROR, "%s: %s", node->addr, msg);
	} else if (rc != 0) {
		*err = e;
	}
	free(out);
	free(errtext);
	free(ops);
	free(listen);
	for (size_t i = 0; i < LF_ARRAY_LEN(vars); i++)
		free(vars[i]);
	return rc;
}

/* ---- nodes as services of the machine's init system (systemd) ---- */

#define SUP_SYSTEMD "systemd"
#define SUP_NOHUP   "nohup"

/* the node's service name, unique per machine: the state's lineage (its
 * first 8 characters) and the node's address (malloc'd) */
static char *node_unit_name(const struct lf_apply_env *env, const struct lf_resource *node)
{
	const char *lin = env->lineage && *env->lineage ? env->lineage : "nolineage";
	char *name = lf_xasprintf("%.8s-%s", lin, node->addr);

	for (char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-' || *c == '_'))
			*c = '_';
	return name;
}

/* has the transport of the node's host the service callback? (its
 * driver, without a connection) */
static bool node_tr_has_service(const struct lf_apply_env *env, const struct lf_resource *node)
{
	const json_t *outputs;
	const struct lf_resource *h = node_host(env, node->attrs, &outputs);
	const char *tr = h ? attr_s(h->attrs, "transport") : NULL;
	const struct lf_provider *p;
	const struct lf_driver *drv = NULL;
	struct lf_err e = LF_ERR_INIT;

	if (h && !tr)
		tr = attr_s(h->attrs, "provider");
	p = env->spec && tr ? lf_spec_provider(env->spec, tr) : NULL;
	if (!p || !env->registry || lf_registry_get(env->registry, p->driver, &drv, &e) != 0)
		return false;
	return LF_DRIVER_HAS(drv, service);
}

/* what ran a started node (state outputs; nohup before it was recorded) */
static const char *node_sup_recorded(const struct lf_resource *prior)
{
	const char *s = attr_s(prior->outputs, "supervisor");

	return s ? s : SUP_NOHUP;
}

/* op on the node's unit through its transport's service callback;
 * LF_EUNSUPPORTED when the transport has none or the machine no systemd */
static int node_svc(const struct lf_apply_env *env, const struct lf_resource *node, int op,
		    const char *bin, struct lf_service_status *st, struct lf_err *err)
{
	char *fb = bin ? lf_xasprintf("FABRIC_BIN=%s", bin) : NULL;
	const char *envp[] = { fb, NULL };
	char *name = node_unit_name(env, node);
	struct lf_service svc = { name, node->addr, "fabric/run.sh", envp };
	struct nodeconn nc;
	int rc = nodeconn_open(env, node, &nc, err);

	memset(st, 0, sizeof(*st));
	if (rc == 0 && !LF_DRIVER_HAS(nc.s.tr.drv, service))
		rc = lf_err_set(err, LF_EUNSUPPORTED, "%s: transport '%s' runs no services",
				node->addr, nc.s.tr.drv->name);
	if (rc == 0)
		rc = nc.s.tr.drv->service(nc.s.tr.conn, &nc.t, &svc, op, st, &nc.s.tr.call, 0, err);
	nodeconn_done(&nc);
	free(name);
	free(fb);
	return rc;
}

/* start the node as a unit and wait until its MainPID is healthy; a unit
 * that does not get healthy is stopped and removed again */
static int node_start_unit(const struct lf_apply_env *env, const struct lf_resource *node,
			   const char *bin, long long *pid, struct lf_err *err)
{
	struct lf_service_status st;
	struct lf_err scratch = LF_ERR_INIT;
	char *name = node_unit_name(env, node), *unit = lf_xasprintf("ledgerform-%s.service", name);
	int rc = node_svc(env, node, LF_SVC_START, bin, &st, err);

	*pid = 0;
	if (rc == 0 && (!st.active || st.main_pid <= 0))
		rc = lf_err_set(err, LF_ERROR, "%s: %s is not running after its start (ActiveState=%s, MainPID=%lld)",
				node->addr, unit, st.state, st.main_pid);
	else if (rc == 0)
		rc = node_run_wait(env, node, bin, NODE_PRECHECK NODE_UNIT_WAIT, st.main_pid, unit,
				   pid, err);
	if (rc != 0 && rc != LF_EUNSUPPORTED)
		(void)node_svc(env, node, LF_SVC_STOP, NULL, &st, &scratch);
	free(unit);
	free(name);
	return rc;
}

/* start the node: as a unit where its transport runs services, else
 * (LF_EUNSUPPORTED) under the nohup supervisor, after the unit that ran it
 * before (was: the recorded supervisor, NULL for none) is stopped and
 * removed; *used gets what runs it now */
static int node_start(const struct lf_apply_env *env, const struct lf_resource *node,
		      const char *bin, const char *was, long long *pid, const char **used,
		      struct lf_err *err)
{
	struct lf_service_status st;
	int rc = node_start_unit(env, node, bin, pid, err);

	*used = SUP_SYSTEMD;
	if (rc != LF_EUNSUPPORTED)
		return rc;
	lf_err_clear(err);
	*used = SUP_NOHUP;
	if (lf_streq(was, SUP_SYSTEMD)) {
		rc = node_svc(env, node, LF_SVC_STOP, NULL, &st, err);
		if (rc != 0 && rc != LF_EUNSUPPORTED)
			return rc;
		lf_err_clear(err);
	}
	return node_run_wait(env, node, bin, NODE_START_AND_WAIT, 0, NULL, pid, err);
}

/* stop a started node through what runs it (recorded in its outputs) and
 * wait until its process is gone; a unit is disabled and removed */
static int node_stop(const struct lf_apply_env *env, const struct lf_resource *prior,
		     struct lf_err *err)
{
	struct lf_service_status st;
	int rc;

	if (lf_streq(node_sup_recorded(prior), SUP_SYSTEMD))
		rc = node_svc(env, prior, LF_SVC_STOP, NULL, &st, err);
	else
		rc = node_sh(env, prior, NODE_STOP "true", NULL, NULL, err);
	if (rc == LF_ENOTFOUND) { /* its host is gone already */
		lf_err_clear(err);
		rc = 0;
	}
	return rc;
}

static bool node_startable(const struct lf_resource *r)
{
	const char *kind = attr_s(r->attrs, "kind");

	return lf_streq(kind, "peer") || lf_streq(kind, "orderer") || lf_streq(kind, "ca");
}

/* deliver the node's files and (where Fabric binaries are) start it;
 * was: what ran it before (NULL for a new node) */
static int node_deliver_start(const struct lf_apply_env *env, const struct lf_resource *des,
			      const char *was, json_t **outputs, struct lf_err *err)
{
	const char *bin = lf_streq(attr_s(des->attrs, "kind"), "ca")
			  ? lf_ctx_current()->fabric_ca_bin : fabric_bin();
	const char *used = NULL;
	long long pid = 0;
	int rc = node_put_all(env, des, err);

	if (rc == 0 && bin && node_startable(des))
		rc = node_start(env, des, bin, was, &pid, &used, err);
	if (rc == 0) {
		*outputs = json_object();
		json_object_set_new(*outputs, "bundle", json_string("fabric/"));
		json_object_set_new(*outputs, "started", json_boolean(pid > 0));
		if (pid > 0) {
			json_object_set_new(*outputs, "pid", json_integer(pid));
			json_object_set_new(*outputs, "supervisor", json_string(used));
		}
		if (pid > 0 && lf_streq(used, SUP_SYSTEMD)) {
			char *name = node_unit_name(env, des);

			json_object_set_new(*outputs, "unit",
					    json_sprintf("ledgerform-%s.service", name));
			free(name);
		}
	}
	return rc;
}

static int node_create(const struct lf_apply_env *env, const struct lf_resource *des,
		       json_t **outputs, struct lf_err *err)
{
	return node_deliver_start(env, des, NULL, outputs, err);
}

static int node_update(const struct lf_apply_env *env, const struct lf_resource *prior,
		       const struct lf_resource *des, json_t **outputs,
		       struct lf_err *err)
{
	const char *was = json_is_true(json_object_get(prior->outputs, "started"))
			  ? node_sup_recorded(prior) : NULL;
	int rc;

	/* a node nohup ran stops first where a unit may start now: it would
	 * find its ports taken (a nohup start stops it anyway) */
	if (lf_streq(was, SUP_NOHUP) && node_tr_has_service(env, des)) {
		rc = node_stop(env, prior, err);
		if (rc != 0)
			return rc;
	}
	/* files re-delivered; a started node is restarted on them */
	return node_deliver_start(env, des, was, outputs, err);
}

static int node_delete(const struct lf_apply_env *env, const struct lf_resource *prior,
		       struct lf_err *err)
{
	/* the files live on the host and go with it; a started node stops */
	if (!json_is_true(json_object_get(prior->outputs, "started")))
		return 0;
	return node_stop(env, prior, err);
}

static enum lf_change_kind node_change_kind(const struct lf_apply_env *env,
					    const struct lf_resource *prior,
					    const struct lf_resource *des,
					    const char *key, char **why)
{
	(void)env;
	(void)prior;
	(void)des;
	*why = NULL;
	/* files are re-delivered; moving to another host is a replace */
	return strcmp(key, "host") != 0 && strcmp(key, "kind") != 0 ? LF_CHANGE_INPLACE
								    : LF_CHANGE_REPLACE;
}

/* is the started node's process there (through what runs it)? 1 yes,
 * 0 no, or a negative code when that cannot be told; *now gets what its
 * machine runs nodes under today (the transport decides) */
static int node_alive(const struct lf_apply_env *env, const struct lf_resource *prior,
		      const char **now, struct lf_err *err)
{
	bool unit = lf_streq(node_sup_recorded(prior), SUP_SYSTEMD);
	struct lf_service_status st;
	struct lf_err e = LF_ERR_INIT;
	int rc, alive = 1;

	/* a unit's status; for a nohup node, whether a unit could run it */
	rc = node_svc(env, prior, LF_SVC_STATUS, NULL, &st, &e);
	*now = rc == LF_EUNSUPPORTED ? SUP_NOHUP : SUP_SYSTEMD;
	if (rc != 0 && rc != LF_EUNSUPPORTED)
		return lf_err_set(err, rc, "%s", e.msg);
	if (unit)
		return rc == 0 && st.active && st.main_pid > 0;
	lf_err_clear(&e);
	rc = node_sh(env, prior, "p=$(cat fabric/node.pid) && " NODE_ALIVE, NULL, NULL, &e);
	if (rc == LF_ERROR) /* the check ran: the process is not there */
		alive = 0;
	else if (rc != 0)
		return lf_err_set(err, rc, "%s", e.msg);
	return alive;
}

/* refresh: a started node whose process is gone has drifted, and so has
 * one whose machine now runs nodes under another supervisor */
static int node_read(const struct lf_apply_env *env, const struct lf_resource *prior,
		     json_t **live, struct lf_err *err)
{
	const char *was = node_sup_recorded(prior), *now = NULL;
	int alive;

	*live = NULL;
	if (!json_is_true(json_object_get(prior->outputs, "started")))
		return 0;
	alive = node_alive(env, prior, &now, err);
	if (alive < 0)
		return alive;
	if (!alive || !lf_streq(was, now))
		*live = json_pack("{sb}", "running", alive);
	if (!lf_streq(was, now))
		json_object_set_new(*live, "drift",
				    json_sprintf("the node runs under %s, its machine now under %s",
						 was, now));
	return 0;
}

/* what the probe prints: key=value lines (ps from procps) */
#define NODE_PROBE \
	NODE_HEALTH_FN \
	"p=${LF_PID:-$(cat fabric/node.pid 2>/dev/null || true)}; " \
	"if [ -n \"$p\" ] && " NODE_ALIVE "; then echo running=1; echo pid=$p; " \
	"set -- $(ps -o %cpu=,rss=,etimes= -p \"$p\" 2>/dev/null); " \
	"[ $# -eq 3 ] && { echo cpu=$1; echo rss_kb=$2; echo uptime_s=$3; }; " \
	"else echo running=0; fi; " \
	"h=$(health 2>/dev/null | head -c 300 | tr '\\n' ' ' || true); " \
	"case \"$h\" in *'\"status\":\"OK\"'*) echo health=OK ;; '') echo health=unreachable ;; " \
	"*) echo health=failing; echo \"detail=$h\" ;; esac; " \
	"opsget version 2>/dev/null | sed -n 's/.*\"Version\":\"\\([^\"]*\\)\".*/version=\\1/p'"

static void probe_line(json_t *o, const char *line)
{
	const char *eq = strchr(line, '=');
	char key[32];

	if (!eq || (size_t)(eq - line) >= sizeof(key))
		return;
	snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
	eq++;
	if (strcmp(key, "running") == 0)
		json_object_set_new(o, "running", json_boolean(*eq == '1'));
	else if (strcmp(key, "pid") == 0 || strcmp(key, "rss_kb") == 0 ||
		 strcmp(key, "uptime_s") == 0)
		json_object_set_new(o, key, json_integer(strtoll(eq, NULL, 10)));
	else if (strcmp(key, "cpu") == 0)
		json_object_set_new(o, "cpu_percent", json_real(strtod(eq, NULL)));
	else if (strcmp(key, "health") == 0)
		json_object_set_new(o, "health", json_string(eq));
	else if (strcmp(key, "version") == 0)
		json_object_set_new(o, "version", json_string(eq));
	else if (strcmp(key, "detail") == 0)
		json_object_set_new(o, "health_detail", json_string(eq));
}

int lf_node_probe(const struct lf_apply_env *env, const struct lf_resource *node,
		  json_t **out, struct lf_err *err)
{
	char *ops = node_ops_addr(node->attrs, false);
	char *var = lf_xasprintf("LF_OPS=%s", ops), *pidvar = NULL;
	const char *envp[] = { var, NULL, NULL };
	struct lf_service_status st;
	char *text = NULL, *line, *nl;
	int rc = 0;

	*out = NULL;
	/* a unit's process is its MainPID (no pid file) */
	if (lf_streq(node_sup_recorded(node), SUP_SYSTEMD)) {
		rc = node_svc(env, node, LF_SVC_STATUS, NULL, &st, err);
		envp[1] = pidvar = rc == 0 && st.main_pid > 0
					   ? lf_xasprintf("LF_PID=%lld", st.main_pid)
					   : lf_xstrdup("LF_PID=none");
	}
	if (rc == 0)
		rc = node_sh_full(env, node, NODE_PROBE, envp, &text, NULL, 30000, err);
	if (rc == 0) {
		*out = json_pack("{sb}", "running", 0);
		for (line = text; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			probe_line(*out, line);
		}
	}
	free(text);
	free(var);
	free(pidvar);
	free(ops);
	return rc;
}

static bool node_read_cheap(const struct lf_apply_env *env, const struct lf_resource *r)
{
	const json_t *outputs;
	const struct lf_resource *h = node_host(env, r->attrs, &outputs);

	return h && host_read_cheap(env, h);
}

static const char *node_lane(const struct lf_apply_env *env, const struct lf_resource *r)
{
	const json_t *outputs;
	const struct lf_resource *h = node_host(env, r->attrs, &outputs);

	return h ? host_lane(env, h) : NULL;
}

/* a node carries its identity's hash ("crypto", see plans/expand.c): the
 * hash once the identity took its host's addresses (crypto's resolve), so
 * that a re-issued certificate re-delivers the node's files */
static json_t *node_resolve(const struct lf_apply_env *env, const struct lf_resource *r,
			    const json_t *fresh)
{
	const char *have = attr_s(r->attrs, "crypto");
	const struct lf_resource *id = NULL;
	const char *want;
	json_t *a;

	(void)fresh;
	for (size_t i = 0; have && !id && env->desired && i < r->ndeps; i++)
		if (strncmp(r->deps[i], "crypto.", 7) == 0)
			id = lf_rset_get(env->desired, r->deps[i]);
	if (!id)
		return NULL;
	/* an identity whose SANs are known after apply has no hash yet */
	want = lf_streq(attr_s(id->attrs, "host_sans"), LF_KNOWN_AFTER_APPLY)
	       ? LF_KNOWN_AFTER_APPLY : id->hash;
	if (strcmp(want, have) == 0)
		return NULL;
	a = json_copy(r->attrs);
	json_object_set_new(a, "crypto", json_string(want));
	return a;
}

const struct lf_rtype lf_rtype_node = {
	.type = "node",
	.create = node_create,
	.update = node_update,
	.delete = node_delete,
	.change_kind = node_change_kind,
	.read = node_read,
	.read_cheap = node_read_cheap,
	.lane = node_lane,
	.resolve = node_resolve,
};
