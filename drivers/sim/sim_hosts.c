/*
 * Hosts of the sim driver. A record: id "sim-<8 hex>", address, vcpus,
 * memory_mb, disk_gb, image, state, and counters of put and exec calls
 * (so tests can count them). Resizing vcpus/memory and growing the disk
 * happen in place; a shrinking disk is refused and an image change needs
 * a replace.
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_HOST_FLAGS 0u
#define SIM_EXEC_FLAGS LF_EXEC_SHELL

struct host_call {
	struct lf_driver_conn *conn;
	const struct lf_host_spec *spec;
	struct lf_kv_builder *out;
	uint64_t rnd;          /* create: random bits for the id */
	const char *path;      /* put */
	const char *const *argv; /* exec */
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

static int spec_check(const struct lf_host_spec *spec, struct lf_err *err)
{
	if (!spec || !spec->name || spec->name[0] == '\0')
		return sim_host->err_set(err, LF_EINVALID, "sim: host spec without a name");
	return 0;
}

static void emit_int(struct lf_kv_builder *out, const char *key,
		     const json_t *rec)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld",
		 (long long)json_integer_value(json_object_get(rec, key)));
	sim_host->kv_set(out, key, num);
}

static void emit(struct lf_kv_builder *out, const char *name, const json_t *rec)
{
	static const char *const strs[] = { "id", "address", "image", "state", NULL };
	static const char *const ints[] = { "vcpus", "memory_mb", "disk_gb",
					    "put_count", "exec_count", NULL };
	size_t i;

	if (!out)
		return;
	sim_host->kv_set(out, "name", name);
	for (i = 0; strs[i]; i++)
		if (json_is_string(json_object_get(rec, strs[i])))
			sim_host->kv_set(out, strs[i],
					 json_string_value(json_object_get(rec, strs[i])));
	for (i = 0; ints[i]; i++)
		emit_int(out, ints[i], rec);
}

static int not_found(const char *name, struct lf_err *err)
{
	return sim_host->err_set(err, LF_ENOTFOUND, "sim: host '%s' not found", name);
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
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s?,s:s,s:I,s:I}", "id", id,
			 "address", addr, "hostname", s->hostname ? s->hostname : s->name,
			 "vcpus", (json_int_t)s->vcpus, "memory_mb", (json_int_t)s->memory_mb,
			 "disk_gb", (json_int_t)s->disk_gb, "image", s->image,
			 "state", "running", "put_count", (json_int_t)0,
			 "exec_count", (json_int_t)0);
}

static int create_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	const char *name = hc->spec->name;
	json_t *hosts = json_object_get(store, "hosts");
	json_t *ids = json_object_get(store, "ids");
	json_t *rec = json_object_get(hosts, name);
	long quota = hc->conn->cfg.quota;

	if (rec) {
		emit(hc->out, name, rec); /* ours already: adopt */
		return 0;
	}
	if (quota >= 0 && json_object_size(hosts) >= (size_t)quota)
		return sim_host->err_set(err, LF_ECONFLICT,
					 "sim: quota exceeded: %ld hosts (creating '%s')",
					 quota, name);
	rec = new_record(ids, hc->spec, hc->rnd);
	if (!rec || json_object_set_new(hosts, name, rec) != 0 ||
	    json_object_set_new(ids, json_string_value(json_object_get(rec, "id")),
				json_string(name)) != 0)
		return sim_host->err_set(err, LF_ERROR, "sim: cannot record host '%s'", name);
	emit(hc->out, name, rec);
	return 0;
}

/* run one operation: flags, latency and failures, the store, counting */
static int host_op(struct host_call *hc, enum sim_op op, int write,
		   sim_txn_fn fn, struct lf_err *err)
{
	int rc = sim_op_begin(hc->conn, op, hc->spec->name, err);

	if (rc == 0)
		rc = sim_store_txn(hc->conn, write, fn, hc, err);
	if (rc == 0)
		sim_op_done(hc->conn);
	return rc;
}

int sim_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_kv_builder *out, unsigned int flags,
		    struct lf_err *err)
{
	struct host_call hc = { c, spec, out, 0, NULL, NULL };
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_create", err)) != 0 ||
	    (rc = spec_check(spec, err)) != 0)
		return rc;
	pthread_mutex_lock(&c->mu);
	hc.rnd = sim_rand(c);
	pthread_mutex_unlock(&c->mu);
	return host_op(&hc, SIM_OP_CREATE, 1, create_fn, err);
}

/* ---- read/update/delete --------------------------------------------------- */

static int read_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	const char *name = hc->spec->name;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), name);
	const char *was = hc->spec->prior ?
		sim_host->kv_get_str(hc->spec->prior, "id") : NULL;
	const char *id;

	if (!rec)
		return not_found(name, err);
	id = json_string_value(json_object_get(rec, "id"));
	if (was && id && strcmp(was, id) != 0)
		return sim_host->err_set(err, LF_ENOTFOUND,
					 "sim: host '%s' is now '%s', not '%s' (replaced outside ledgerform)",
					 name, id, was);
	emit(hc->out, name, rec);
	return 0;
}

int sim_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		  struct lf_kv_builder *out, unsigned int flags,
		  struct lf_err *err)
{
	struct host_call hc = { c, spec, out, 0, NULL, NULL };
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_read", err)) != 0 ||
	    (rc = spec_check(spec, err)) != 0)
		return rc;
	return host_op(&hc, SIM_OP_READ, 0, read_fn, err);
}

static int update_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	const struct lf_host_spec *s = hc->spec;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), s->name);
	const char *img;
	json_int_t disk;

	if (!rec)
		return not_found(s->name, err);
	disk = json_integer_value(json_object_get(rec, "disk_gb"));
	img = json_string_value(json_object_get(rec, "image"));
	if (s->disk_gb && (json_int_t)s->disk_gb < disk)
		return sim_host->err_set(err, LF_EINVALID,
					 "disk cannot shrink: %lld -> %llu GB",
					 (long long)disk, s->disk_gb);
	if (s->image && (!img || strcmp(img, s->image) != 0))
		return sim_host->err_set(err, LF_EUNSUPPORTED,
					 "sim: image change needs a replace: '%s' -> '%s'",
					 img ? img : "", s->image);
	if (s->vcpus)
		json_object_set_new(rec, "vcpus", json_integer((json_int_t)s->vcpus));
	if (s->memory_mb)
		json_object_set_new(rec, "memory_mb", json_integer((json_int_t)s->memory_mb));
	if (s->disk_gb)
		json_object_set_new(rec, "disk_gb", json_integer((json_int_t)s->disk_gb));
	emit(hc->out, s->name, rec);
	return 0;
}

int sim_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_kv_builder *out, unsigned int flags,
		    struct lf_err *err)
{
	struct host_call hc = { c, spec, out, 0, NULL, NULL };
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_update", err)) != 0 ||
	    (rc = spec_check(spec, err)) != 0)
		return rc;
	return host_op(&hc, SIM_OP_UPDATE, 1, update_fn, err);
}

static int delete_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *hosts = json_object_get(store, "hosts");
	const char *id = json_string_value(json_object_get(
		json_object_get(hosts, hc->spec->name), "id"));

	(void)err;
	if (id)
		json_object_del(json_object_get(store, "ids"), id);
	json_object_del(hosts, hc->spec->name); /* gone already is fine */
	return 0;
}

int sim_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    unsigned int flags, struct lf_err *err)
{
	struct host_call hc = { c, spec, NULL, 0, NULL, NULL };
	int rc;

	if ((rc = flags_check(flags, SIM_HOST_FLAGS, "host_delete", err)) != 0 ||
	    (rc = spec_check(spec, err)) != 0)
		return rc;
	return host_op(&hc, SIM_OP_DELETE, 1, delete_fn, err);
}

/* ---- put/exec --------------------------------------------------------- */

static int count_fn(json_t *rec, const char *key)
{
	json_int_t n = json_integer_value(json_object_get(rec, key));

	return json_object_set_new(rec, key, json_integer(n + 1));
}

static int put_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), hc->spec->name);

	if (!rec)
		return not_found(hc->spec->name, err);
	count_fn(rec, "put_count");
	json_object_set_new(rec, "last_put", json_string(hc->path));
	return 0;
}

static int path_check(const char *p, struct lf_err *err)
{
	const char *s;

	if (!p || p[0] == '\0' || p[0] == '/')
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: file path '%s' must be relative and non-empty",
					 p ? p : "");
	for (s = p; (s = strstr(s, "..")) != NULL; s += 2) {
		if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
			return sim_host->err_set(err, LF_EINVALID,
						 "sim: file path '%s' has a '..' component", p);
	}
	return 0;
}

int sim_put(struct lf_driver_conn *c, const struct lf_host_spec *spec,
	    const char *path, const void *data, size_t len, unsigned int mode,
	    unsigned int flags, struct lf_err *err)
{
	struct host_call hc = { c, spec, NULL, 0, path, NULL };
	int rc;

	(void)data;
	(void)len;
	if ((rc = flags_check(flags, 0, "put", err)) != 0 ||
	    (rc = spec_check(spec, err)) != 0 || (rc = path_check(path, err)) != 0)
		return rc;
	if (mode & ~0777u)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: file mode 0%o has bits outside 0777", mode);
	return host_op(&hc, SIM_OP_PUT, 1, put_fn, err);
}

static int exec_fn(json_t *store, void *arg, struct lf_err *err)
{
	struct host_call *hc = arg;
	json_t *rec = json_object_get(json_object_get(store, "hosts"), hc->spec->name);

	if (!rec)
		return not_found(hc->spec->name, err);
	count_fn(rec, "exec_count");
	return 0;
}

/* the echo of argv, joined by spaces, with a newline */
static int echo_argv(const char *const *argv, struct lf_exec_result *res,
		     void *(*out_alloc)(size_t), struct lf_err *err)
{
	size_t i, n = 1, off = 0;
	char *p;

	for (i = 0; argv[i]; i++)
		n += strlen(argv[i]) + 1;
	p = out_alloc(n);
	if (!p)
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	for (i = 0; argv[i]; i++)
		off += (size_t)snprintf(p + off, n - off, "%s%s", i ? " " : "", argv[i]);
	off += (size_t)snprintf(p + off, n - off, "\n");
	res->exit_status = 0;
	res->output = p;
	res->output_len = off;
	return 0;
}

int sim_exec(struct lf_driver_conn *c, const struct lf_host_spec *spec,
	     const char *const *argv, struct lf_exec_result *res,
	     void *(*out_alloc)(size_t), unsigned int flags,
	     struct lf_err *err)
{
	struct host_call hc = { c, spec, NULL, 0, NULL, argv };
	int rc;

	if ((rc = flags_check(flags, SIM_EXEC_FLAGS, "exec", err)) != 0 ||
	    (rc = spec_check(spec, err)) != 0)
		return rc;
	if (!argv || !argv[0] || !res || !out_alloc)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: exec needs a command, a result and an allocator");
	res->output = NULL;
	res->output_len = 0;
	rc = host_op(&hc, SIM_OP_EXEC, 1, exec_fn, err);
	if (rc == 0)
		rc = echo_argv(argv, res, out_alloc, err);
	return rc;
}
