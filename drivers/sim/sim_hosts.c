/*
 * Hosts of the sim driver (the provider role). A record, keyed by
 * "<lineage>/<resource address>": name, lineage, resource, id
 * "sim-<8 hex>", machine_address, vcpus, memory_mb, disk_gb, image,
 * power, and counters of put and exec calls (so tests can count them).
 * Two networks sharing a db never see each other's records; a host is
 * adopted only under its own lineage and resource address.
 *
 * Changes: vcpus and memory in place (vcpus past max_vcpus with a
 * restart), disk growth in place, a smaller disk refused at plan, an image
 * change by replace.
 */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_HOST_FLAGS 0u
#define SIM_UPDATE_FLAGS LF_UPDATE_RESTART

struct host_call {
	struct lf_driver_conn *conn;
	const struct lf_host_spec *spec;
	struct lf_kv_builder *out;
	char *key;             /* store key */
	uint64_t rnd;          /* create: random bits for the id */
	const char *id;        /* import */
	unsigned int flags;
};

static int flags_check(unsigned int flags, unsigned int known, const char *fn,
		       struct lf_err *err)
{
	if (flags & ~known)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: unsupported flags (0x%x) in %s",
					 flags & ~known, fn);
	return 0;
}

char *sim_key(const char *lineage, const char *resource)
{
	size_t n = strlen(lineage ? lineage : "") + strlen(resource ? resource : "") + 2;
	char *k = malloc(n);

	if (k)
		snprintf(k, n, "%s/%s", lineage ? lineage : "", resource ? resource : "");
	return k;
}

static int call_init(struct host_call *hc, struct lf_driver_conn *c,
		     const struct lf_host_spec *spec, struct lf_kv_builder *out,
		     struct lf_err *err)
{
	memset(hc, 0, sizeof(*hc));
	hc->conn = c;
	hc->spec = spec;
	hc->out = out;
	if (!spec || !spec->name || !spec->name[0] || !spec->resource || !spec->resource[0])
		return sim_host->err_set(err, LF_EINVALID, "sim: host spec without a name or resource address");
	hc->key = sim_key(spec->lineage, spec->resource);
	if (!hc->key)
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	return 0;
}

static void emit(struct lf_kv_builder *out, const json_t *rec)
{
	static const char *const strs[] = { "id", "machine_address", "image", "power", NULL };
	static const char *const ints[] = { "vcpus", "memory_mb", "disk_gb",
					    "put_count", "exec_count", NULL };
	size_t i;

	if (!out)
		return;
	for (i = 0; strs[i]; i++)
		if (json_is_string(json_object_get(rec, strs[i])))
			sim_host->kv_set(out, strs[i],
					 json_string_value(json_object_get(rec, strs[i])));
	for (i = 0; ints[i]; i++)
		sim_host->kv_set_int(out, ints[i],
				     (long long)json_integer_value(json_object_get(rec, ints[i])));
}

static int not_found(const char *what, struct lf_err *err)
{
	return sim_host->err_set(err, LF_ENOTFOUND, "sim: host '%s' not found", what);
}

/* run one operation: latency and failures, the store, counting */
static int host_op(struct host_call *hc, struct lf_call *call, enum sim_op op,
		   int write, sim_txn_fn fn, struct lf_err *err)
{
	int rc = sim_op_begin(hc->conn, call, op, hc->spec->name, err);

	if (rc == 0)
		rc = sim_store_txn(hc->conn, write, fn, hc, err);
	if (rc == 0)
		sim_op_done(hc->conn);
	free(hc->key);
	hc->key = NULL;
	return rc;
}

/* ---- create ------------------------------------------------------------- */

static json_t *new_record(json_t *ids, const struct lf_host_spec *s,
			  uint64_t rnd)
{
	char id[16], addr[32];
	uint32_t v;

	do {
		v = (uint32_t)(rnd >> 32);
		snprintf(id, sizeof(id), "sim-%08x", (unsigned)v);
		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
	} while (json_object_get(ids, id));
	snprintf(addr, sizeof(addr), "10.%u.%u.%u", (v >> 16) & 0xff, (v >> 8) & 0xff,
		 (v & 0xfe) + 1u);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s?,s:s,s:I,s:I}",
			 "id", id, "name", s->name, "lineage", s->lineage ? s->lineage : "",
			 "resource", s->resource, "machine_address", addr,
			 "hostname", s->hostname ? s->hostname : s->name,
			 "vcpus", (json_int_t)s->vcpus, "memory_mb", (json_int_t)s->memory_mb,
			 "disk_gb", (json_int_t)s->disk_gb, "image", s->image,
			 "power", "running", "put_count", (json_int_t)0,
			 "exec_count", (json_int_t)0);
}

static int create_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *hosts = json_object_get(store, "hosts");
	json_t *ids = json_object_get(store, "ids");
	json_t *rec = json_object_get(hosts, hc->key);
	long quota = hc->conn->cfg.quota;

	if (rec) {
		emit(hc->out, rec); /* ours already (lineage and address): adopt */
		return 0;
	}
	if (quota >= 0 && json_object_size(hosts) >= (size_t)quota)
		return sim_host->err_set(err, LF_ECONFLICT,
					 "sim: quota exceeded: %ld hosts (creating '%s')",
					 quota, hc->spec->name);
	rec = new_record(ids, hc->spec, hc->rnd);
	if (!rec || json_object_set_new(hosts, hc->key, rec) != 0 ||
	    json_object_set_new(ids, json_string_value(json_object_get(rec, "id")),
				json_string(hc->key)) != 0)
		return sim_host->err_set(err, LF_ERROR, "sim: cannot record host '%s'",
					 hc->spec->name);
	emit(hc->out, rec);
	return 0;
}

int sim_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err)
{
	struct host_call hc;
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_create", err)) != 0 ||
	    (rc = call_init(&hc, c, spec, out, err)) != 0)
		return rc;
	pthread_mutex_lock(&c->mu);
	hc.rnd = sim_rand(c);
	pthread_mutex_unlock(&c->mu);
	return host_op(&hc, call, SIM_OP_CREATE, 1, create_fn, err);
}

/* ---- read/update/delete --------------------------------------------------- */

static int read_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), hc->key);
	const char *was = hc->spec->prior ?
		sim_host->kv_get_str(hc->spec->prior, "id") : NULL;
	const char *id;

	if (!rec)
		return not_found(hc->spec->name, err);
	id = json_string_value(json_object_get(rec, "id"));
	if (was && id && strcmp(was, id) != 0)
		return sim_host->err_set(err, LF_ENOTFOUND,
					 "sim: host '%s' is now '%s', not '%s' (replaced outside ledgerform)",
					 hc->spec->name, id, was);
	emit(hc->out, rec);
	return 0;
}

int sim_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		  struct lf_call *call, struct lf_kv_builder *out,
		  unsigned int flags, struct lf_err *err)
{
	struct host_call hc;
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_read", err)) != 0 ||
	    (rc = call_init(&hc, c, spec, out, err)) != 0)
		return rc;
	return host_op(&hc, call, SIM_OP_READ, 0, read_fn, err);
}

static int update_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	const struct lf_host_spec *s = hc->spec;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), hc->key);
	long max = hc->conn->cfg.max_vcpus;
	const char *img;
	json_int_t disk;

	if (!rec)
		return not_found(s->name, err);
	disk = json_integer_value(json_object_get(rec, "disk_gb"));
	img = json_string_value(json_object_get(rec, "image"));
	if (s->disk_gb && (json_int_t)s->disk_gb < disk)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: disk cannot shrink: %lld -> %llu GB",
					 (long long)disk, s->disk_gb);
	if (s->image && (!img || strcmp(img, s->image) != 0))
		return sim_host->err_set(err, LF_EUNSUPPORTED,
					 "sim: image change needs a replace: '%s' -> '%s'",
					 img ? img : "", s->image);
	if (max > 0 && s->vcpus > (unsigned long)max && !(hc->flags & LF_UPDATE_RESTART))
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: %u vCPUs is past max_vcpus %ld: needs a restart",
					 s->vcpus, max);
	if (s->vcpus)
		json_object_set_new(rec, "vcpus", json_integer((json_int_t)s->vcpus));
	if (s->memory_mb)
		json_object_set_new(rec, "memory_mb", json_integer((json_int_t)s->memory_mb));
	if (s->disk_gb)
		json_object_set_new(rec, "disk_gb", json_integer((json_int_t)s->disk_gb));
	if (hc->flags & LF_UPDATE_RESTART) {
		json_int_t n = json_integer_value(json_object_get(rec, "restarts"));

		json_object_set_new(rec, "restarts", json_integer(n + 1));
	}
	emit(hc->out, rec);
	return 0;
}

int sim_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err)
{
	struct host_call hc;
	int rc;

	if ((rc = flags_check(flags, SIM_UPDATE_FLAGS, "host_update", err)) != 0 ||
	    (rc = call_init(&hc, c, spec, out, err)) != 0)
		return rc;
	hc.flags = flags;
	return host_op(&hc, call, SIM_OP_UPDATE, 1, update_fn, err);
}

static int delete_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *hosts = json_object_get(store, "hosts");
	const char *id = json_string_value(json_object_get(
		json_object_get(hosts, hc->key), "id"));

	(void)err;
	if (id)
		json_object_del(json_object_get(store, "ids"), id);
	json_object_del(hosts, hc->key); /* gone already is fine */
	return 0;
}

int sim_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct host_call hc;
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_delete", err)) != 0 ||
	    (rc = call_init(&hc, c, spec, NULL, err)) != 0)
		return rc;
	return host_op(&hc, call, SIM_OP_DELETE, 1, delete_fn, err);
}

/* ---- import ---------------------------------------------------------------- */

/* adopt record `id` under this lineage and resource address; a record that
 * already belongs to another network (another lineage) is refused */
static int import_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *hosts = json_object_get(store, "hosts");
	json_t *ids = json_object_get(store, "ids");
	const char *old = json_string_value(json_object_get(ids, hc->id));
	json_t *rec = old ? json_object_get(hosts, old) : NULL;
	const char *lin;

	if (!rec)
		return sim_host->err_set(err, LF_ENOTFOUND, "sim: no host with id '%s'", hc->id);
	lin = json_string_value(json_object_get(rec, "lineage"));
	if (lin && lin[0] && strcmp(lin, hc->spec->lineage ? hc->spec->lineage : "") != 0)
		return sim_host->err_set(err, LF_ECONFLICT,
					 "sim: host '%s' belongs to another network (lineage %s); not adopting it",
					 hc->id, lin);
	if (strcmp(old, hc->key) != 0 && json_object_get(hosts, hc->key))
		return sim_host->err_set(err, LF_EXISTS, "sim: %s already has a host",
					 hc->spec->resource);
	json_incref(rec);
	json_object_del(hosts, old);
	json_object_set_new(rec, "lineage", json_string(hc->spec->lineage ? hc->spec->lineage : ""));
	json_object_set_new(rec, "resource", json_string(hc->spec->resource));
	json_object_set_new(hosts, hc->key, rec);
	json_object_set_new(ids, hc->id, json_string(hc->key));
	emit(hc->out, rec);
	return 0;
}

int sim_host_import(struct lf_driver_conn *c, const char *id,
		    const struct lf_host_spec *spec, struct lf_call *call,
		    struct lf_kv_builder *out, unsigned int flags,
		    struct lf_err *err)
{
	struct host_call hc;
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_import", err)) != 0 ||
	    (rc = call_init(&hc, c, spec, out, err)) != 0)
		return rc;
	if (!id || !id[0]) {
		free(hc.key);
		return sim_host->err_set(err, LF_EINVALID, "sim: import needs an id");
	}
	hc.id = id;
	return host_op(&hc, call, SIM_OP_UPDATE, 1, import_fn, err);
}

/* ---- plan time ---------------------------------------------------------------- */

static bool parse_ull(const char *s, unsigned long long *out)
{
	char *end = NULL;

	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

enum lf_change_kind sim_change_kind(const struct lf_kv *config, const char *key,
				    const char *old_val, const char *new_val,
				    char *why, size_t why_len)
{
	unsigned long long o = 0, n = 0;
	long long max = sim_host->kv_get_int(config, "max_vcpus", 0);
	bool nums = parse_ull(old_val, &o) && parse_ull(new_val, &n);

	if (strcmp(key, "vcpus") == 0 && nums) {
		if (max > 0 && n > (unsigned long long)max) {
			snprintf(why, why_len, "%llu vCPUs is past the live maximum of %lld: the machine restarts",
				 n, max);
			return LF_CHANGE_RESTART;
		}
		return LF_CHANGE_INPLACE;
	}
	if (strcmp(key, "memory_mb") == 0 && nums)
		return LF_CHANGE_INPLACE;
	if (strcmp(key, "disk_gb") == 0 && nums) {
		if (n < o) {
			snprintf(why, why_len, "a disk cannot shrink (%llu GB -> %llu GB); replace the host to get a smaller one",
				 o, n);
			return LF_CHANGE_REFUSED;
		}
		return LF_CHANGE_INPLACE;
	}
	if (strcmp(key, "image") == 0)
		snprintf(why, why_len, "a new image means a new machine");
	return LF_CHANGE_REPLACE;
}

struct vctx {
	struct lf_call *call;
	const char *size;
	int bad;
};

static int config_key(const char *key, const char *val, void *payload)
{
	struct vctx *v = payload;
	char path[160];

	(void)val;
	if (sim_config_key_known(key))
		return 0;
	snprintf(path, sizeof(path), "config.%s", key);
	sim_host->call_diag(v->call, path, "sim: unknown setting '%s'", key);
	v->bad++;
	return 0;
}

/* the sim takes one per-driver size field: zone (a string) */
static int size_field(const char *key, const char *val, void *payload)
{
	struct vctx *v = payload;
	char path[200];

	snprintf(path, sizeof(path), "sizes.%s.%s", v->size, key);
	if (strcmp(key, "zone") == 0 && val && val[0] && val[0] != '{' && val[0] != '[')
		return 0;
	if (strcmp(key, "zone") == 0)
		sim_host->call_diag(v->call, path, "sim: zone must be a non-empty string");
	else if (strcmp(key, "vcpus") && strcmp(key, "memory_mb") && strcmp(key, "disk_gb") &&
		 strcmp(key, "image"))
		sim_host->call_diag(v->call, path, "sim: unknown size field '%s' (the sim knows 'zone')",
				    key);
	else
		return 0;
	v->bad++;
	return 0;
}

struct sizes_walk {
	struct vctx *v;
	const struct lf_kv *sizes;
};

static int size_one(const char *key, const char *val, void *payload)
{
	struct sizes_walk *w = payload;
	const struct lf_kv *one = sim_host->kv_get_kv(w->sizes, key);

	(void)val;
	w->v->size = key;
	if (one)
		sim_host->kv_each(one, size_field, w->v);
	return 0;
}

int sim_validate(const struct lf_kv *config, const struct lf_kv *sizes,
		 struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct vctx v = { call, NULL, 0 };
	struct sizes_walk w = { &v, sizes };
	struct sim_config cfg;
	struct lf_err perr = { 0, { 0 }, 0 };

	if (flags != 0)
		return sim_host->err_set(err, LF_EINVALID, "sim: unsupported flags in validate");
	sim_host->kv_each(config, config_key, &v);
	if (sim_config_parse(&cfg, config, &perr) != 0) {
		sim_host->call_diag(call, "config", "%s", perr.msg);
		v.bad++;
	}
	sim_config_clear(&cfg);
	if (sizes)
		sim_host->kv_each(sizes, size_one, &w);
	if (v.bad)
		return sim_host->err_set(err, LF_EINVALID, "sim: %d problem%s in the provider's config or sizes",
					 v.bad, v.bad == 1 ? "" : "s");
	return 0;
}
