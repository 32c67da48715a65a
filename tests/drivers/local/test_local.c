/*
 * The local driver (ABI 2) through the real plugin loader, in both roles.
 * Provider: hosts as directories carrying a marker with the state's
 * lineage and the resource address (two networks never touch each other's
 * directories; a marker from before ABI 2 is still adopted), create, read,
 * update, delete (only what it made), leftovers of crashes, validate and
 * change_kind. Transport: machine_prepare/read/release, put (many files,
 * modes, atomic, traversal refused), get (tail), mkdir, remove, exec (no
 * shell by default, stdout and stderr apart, exit codes, stdin, a clean
 * environment plus envp, timeouts, cancellation, many arguments).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/util/util.h"

#define LIN_A "a1a1a1a1-0000-4000-8000-00000000000a"
#define LIN_B "b2b2b2b2-0000-4000-8000-00000000000b"

struct fx {
	struct lf_registry *reg;
	const struct lf_driver *drv;
	struct lf_driver_conn *conn;
	char tmp[64];
	char *root;
};

/* a host spec and the target the transport sees; never copied by value
 * (spec.resource points into res) */
struct host {
	struct lf_host_spec s;
	char res[128];
};

static void host_init(struct host *h, const char *name, const char *lineage)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->res, sizeof(h->res), "host.test.%s", name);
	h->s.resource = h->res;
	h->s.lineage = lineage;
	h->s.name = name;
	h->s.hostname = name;
	h->s.vcpus = 2;
	h->s.memory_mb = 4096;
	h->s.disk_gb = 20;
	h->s.image = "debian-12";
}

/* another name (and so resource address) for the same lineage */
static void host_rename(struct host *h, const char *name)
{
	snprintf(h->res, sizeof(h->res), "host.test.%s", name);
	h->s.name = name;
	h->s.hostname = name;
}

static struct lf_target target_of(const struct host *h)
{
	struct lf_target t;

	memset(&t, 0, sizeof(t));
	t.resource = h->s.resource;
	t.lineage = h->s.lineage;
	t.name = h->s.name;
	t.machine_address = "127.0.0.1";
	return t;
}

static void call_of(struct lf_call *call, const char *resource)
{
	lf_call_init(call, "local", "local", resource);
}

static struct lf_driver_conn *open_conn(const struct lf_driver *drv,
					json_t *cfg, int *rc, struct lf_err *err)
{
	struct lf_kv *kv = lf_kv_wrap(cfg);
	struct lf_driver_conn *c = NULL;
	struct lf_call call;

	call_of(&call, NULL);
	*rc = drv->open(&c, kv, &call, 0, err);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	return c;
}

static int setup(void **state)
{
	struct fx *f = lf_xcalloc(1, sizeof(*f));
	struct lf_err err = LF_ERR_INIT;
	int rc;

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/lf-local-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	f->root = lf_xasprintf("%s/hosts/sub", f->tmp);
	assert_int_equal(lf_registry_new(&f->reg), 0);
	assert_int_equal(lf_registry_get(f->reg, "local", &f->drv, &err), 0);
	f->conn = open_conn(f->drv, json_pack("{s:s}", "root", f->root), &rc, &err);
	assert_int_equal(rc, 0);
	assert_non_null(f->conn);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->drv->close(f->conn);
	lf_rmtree(f->tmp, NULL);
	lf_registry_free(f->reg);
	free(f->root);
	free(f);
	return 0;
}

/* ---- call helpers ---------------------------------------------------------- */

/* 'c' create, 'r' read, 'u' update; returns the outputs object */
static json_t *call_host_flags(struct fx *f, int op, const struct host *h,
			       unsigned int flags, int *rc, struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_call call;

	call_of(&call, h->s.resource);
	if (op == 'c')
		*rc = f->drv->host_create(f->conn, &h->s, &call, b, flags, err);
	else if (op == 'r')
		*rc = f->drv->host_read(f->conn, &h->s, &call, b, flags, err);
	else
		*rc = f->drv->host_update(f->conn, &h->s, &call, b, flags, err);
	return lf_kv_builder_finish(b);
}

static json_t *call_host(struct fx *f, int op, const struct host *h, int *rc,
			 struct lf_err *err)
{
	return call_host_flags(f, op, h, 0, rc, err);
}

static void must_create(struct fx *f, const struct host *h)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;

	json_decref(call_host(f, 'c', h, &rc, &err));
	if (rc != 0)
		print_message("create %s: %s\n", h->s.name, err.msg);
	assert_int_equal(rc, 0);
}

static int del(struct fx *f, const struct host *h, unsigned int flags,
	       struct lf_err *err)
{
	struct lf_call call;

	call_of(&call, h->s.resource);
	return f->drv->host_delete(f->conn, &h->s, &call, flags, err);
}

static int put_files(struct fx *f, const struct host *h,
		     const struct lf_file *files, size_t n, unsigned int flags,
		     struct lf_err *err)
{
	struct lf_target t = target_of(h);
	struct lf_call call;

	call_of(&call, h->s.resource);
	return f->drv->put(f->conn, &t, files, n, &call, flags, err);
}

static int put1(struct fx *f, const struct host *h, const char *path,
		const char *data, unsigned int mode, unsigned int flags,
		struct lf_err *err)
{
	struct lf_file one = { path, data, strlen(data), mode, NULL };

	return put_files(f, h, &one, 1, flags, err);
}

static int get(struct fx *f, const struct host *h, const char *path, size_t max,
	       struct lf_blob *out, struct lf_err *err)
{
	struct lf_target t = target_of(h);
	struct lf_call call;

	call_of(&call, h->s.resource);
	lf_blob_init(out, 0);
	return f->drv->get(f->conn, &t, path, max, out, &call, 0, err);
}

/* exec output: two host-owned blobs */
struct xr {
	struct lf_blob out, err;
	struct lf_exec_result r;
};

static const char *txt(const struct lf_blob *b)
{
	return b->data ? b->data : "";
}

static void xr_free(struct xr *x)
{
	lf_blob_free(&x->out);
	lf_blob_free(&x->err);
}

/* x is initialised here (blobs of at most blob_max bytes, 0 unbounded) and
 * must be freed with xr_free whatever the result */
static int run_spec_on(struct fx *f, struct lf_driver_conn *c, const struct host *h,
		       const struct lf_exec_spec *es, unsigned int flags,
		       size_t blob_max, struct xr *x, struct lf_err *err)
{
	struct lf_target t = target_of(h);
	struct lf_call call;

	lf_blob_init(&x->out, blob_max);
	lf_blob_init(&x->err, blob_max);
	x->r.exit_status = -1;
	x->r.out = &x->out;
	x->r.err = &x->err;
	call_of(&call, h->s.resource);
	return f->drv->exec(c, &t, es, &x->r, &call, flags, err);
}

static int run(struct fx *f, const struct host *h, const char *const *argv,
	       unsigned int flags, struct xr *x, struct lf_err *err)
{
	struct lf_exec_spec es = { argv, NULL, NULL, 0, 0, 0 };

	return run_spec_on(f, f->conn, h, &es, flags, 0, x, err);
}

static char *marker_text(struct fx *f, const char *name)
{
	char *p = lf_xasprintf("%s/%s/.ledgerform-host", f->root, name), *data = NULL;
	size_t len = 0;

	assert_int_equal(lf_read_file(p, &data, &len, NULL), 0);
	free(p);
	return data;
}

static bool in_root(struct fx *f, const char *name)
{
	char *p = lf_xasprintf("%s/%s", f->root, name);
	bool there = lf_path_exists(p);

	free(p);
	return there;
}

/* ---- provider ---------------------------------------------------------------- */

static void test_local_create_read_update(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/peer0-bank", f->root), *marker;
	struct stat st;
	json_t *a;
	int rc;

	host_init(&h, "peer0-bank", LIN_A);
	a = call_host(f, 'c', &h, &rc, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(a, "id")), "peer0-bank");
	assert_string_equal(json_string_value(json_object_get(a, "path")), dir);
	assert_string_equal(json_string_value(json_object_get(a, "machine_address")),
			    "127.0.0.1");
	assert_null(json_object_get(a, "address"));
	json_decref(a);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0755);
	/* the marker names the network and the resource */
	marker = marker_text(f, "peer0-bank");
	assert_non_null(strstr(marker, "lineage " LIN_A "\n"));
	assert_non_null(strstr(marker, "resource host.test.peer0-bank\n"));
	free(marker);
	/* idempotent: created again, adopted */
	a = call_host(f, 'c', &h, &rc, &err);
	assert_int_equal(rc, 0);
	json_decref(a);
	h.s.vcpus = 8;
	h.s.disk_gb = 100;
	a = call_host(f, 'u', &h, &rc, &err);
	assert_int_equal(rc, 0);
	json_decref(a);
	/* LF_UPDATE_RESTART is accepted (a directory has nothing to restart) */
	a = call_host_flags(f, 'u', &h, LF_UPDATE_RESTART, &rc, &err);
	assert_int_equal(rc, 0);
	json_decref(a);
	a = call_host(f, 'r', &h, &rc, &err);
	assert_int_equal(rc, 0);
	/* numeric live attributes are JSON integers */
	assert_true(json_is_integer(json_object_get(a, "vcpus")));
	assert_int_equal(json_integer_value(json_object_get(a, "vcpus")), 8);
	assert_int_equal(json_integer_value(json_object_get(a, "disk_gb")), 100);
	assert_int_equal(json_integer_value(json_object_get(a, "memory_mb")), 4096);
	assert_string_equal(json_string_value(json_object_get(a, "image")), "debian-12");
	json_decref(a);
	free(dir);
}

static void test_local_delete(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/gone", f->root);
	int rc;

	host_init(&h, "gone", LIN_A);
	must_create(f, &h);
	assert_int_equal(put1(f, &h, "a/b/c.txt", "x", 0600, 0, &err), 0);
	assert_int_equal(del(f, &h, 0, &err), 0);
	assert_false(lf_path_exists(dir));
	json_decref(call_host(f, 'r', &h, &rc, &err));
	assert_int_equal(rc, LF_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not found"));
	lf_err_clear(&err);
	/* deleting what is gone is success */
	assert_int_equal(del(f, &h, 0, &err), 0);
	assert_int_equal(del(f, &h, 0x4, &err), LF_EINVALID);
	free(dir);
}

static void test_local_refuses_unmarked(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/foreign", f->root);
	char *file = lf_xasprintf("%s/keep.txt", dir);
	char *other = lf_xasprintf("%s/other", f->tmp);
	char *link = lf_xasprintf("%s/evil", f->root);
	int rc;

	host_init(&h, "foreign", LIN_A);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(lf_write_file_atomic(file, "mine", 4, 0644, NULL), 0);
	assert_int_equal(del(f, &h, 0, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "not made by ledgerform"));
	assert_true(lf_path_exists(file));
	lf_err_clear(&err);
	json_decref(call_host(f, 'c', &h, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	assert_true(lf_path_exists(file));
	/* a symlink to a marked directory elsewhere is not followed */
	lf_err_clear(&err);
	assert_int_equal(mkdir(other, 0755), 0);
	free(file);
	file = lf_xasprintf("%s/.ledgerform-host", other);
	assert_int_equal(lf_write_file_atomic(file, "x", 1, 0644, NULL), 0);
	assert_int_equal(symlink(other, link), 0);
	host_rename(&h, "evil");
	assert_int_equal(del(f, &h, 0, &err), LF_ECONFLICT);
	assert_true(lf_path_exists(file));
	lf_err_clear(&err);
	h.s.name = "../escape";
	assert_int_equal(del(f, &h, 0, &err), LF_EINVALID);
	free(link);
	free(other);
	free(file);
	free(dir);
}

/* leftovers of a crashed create (.NAME.tmp-XXXXXX) or delete
 * (.NAME.trash-XXXXXX) that are empty or carry the marker are removed by
 * the next create/delete of NAME; anything else is left alone */
static void put_leftover(struct fx *f, const char *name, int marked,
			 const char *extra)
{
	char *dir = lf_xasprintf("%s/%s", f->root, name), *p;

	assert_int_equal(mkdir(dir, 0700), 0);
	if (marked) {
		p = lf_xasprintf("%s/.ledgerform-host", dir);
		assert_int_equal(lf_write_file_atomic(p, "", 0, 0644, NULL), 0);
		free(p);
	}
	if (extra) {
		p = lf_xasprintf("%s/%s", dir, extra);
		assert_int_equal(lf_write_file_atomic(p, "k", 1, 0600, NULL), 0);
		free(p);
	}
	free(dir);
}

static void test_local_leftovers(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	host_init(&h, "p0", LIN_A);
	put_leftover(f, ".p0.tmp-a1B2c3", 1, "host.json");
	put_leftover(f, ".p0.tmp-Zz9Zz9", 0, NULL);
	put_leftover(f, ".p0.trash-q1q1q1", 1, "key.pem");
	put_leftover(f, ".p0.tmp-f0f0f0", 0, "notours.txt");
	put_leftover(f, ".p0.x.tmp-a1B2c3", 1, NULL); /* host "p0.x"'s */
	must_create(f, &h);
	assert_true(in_root(f, "p0/.ledgerform-host"));
	assert_true(in_root(f, "p0/host.json"));
	assert_false(in_root(f, ".p0.tmp-a1B2c3"));
	assert_false(in_root(f, ".p0.tmp-Zz9Zz9"));
	assert_false(in_root(f, ".p0.trash-q1q1q1"));
	assert_true(in_root(f, ".p0.tmp-f0f0f0/notours.txt"));
	assert_true(in_root(f, ".p0.x.tmp-a1B2c3"));
	/* delete: the host goes, then a crashed delete's trash on a re-run */
	assert_int_equal(del(f, &h, 0, &err), 0);
	assert_false(in_root(f, "p0"));
	put_leftover(f, ".p0.trash-r2r2r2", 1, "a");
	assert_int_equal(del(f, &h, 0, &err), 0);
	assert_false(in_root(f, ".p0.trash-r2r2r2"));
	assert_true(in_root(f, ".p0.tmp-f0f0f0/notours.txt"));
	/* an unmarked directory at the host's own name is still refused */
	put_leftover(f, "p0", 0, "keep");
	json_decref(call_host(f, 'c', &h, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	assert_true(in_root(f, "p0/keep"));
}

/* two networks (lineages) share one root: neither touches the other's */
static void test_local_two_lineages(void **state)
{
	struct fx *f = *state;
	struct host a, b;
	struct lf_err err = LF_ERR_INIT;
	struct lf_blob blob;
	struct xr x;
	const char *echo[] = { "echo", "hi", NULL };
	json_t *o;
	int rc;

	host_init(&a, "shared", LIN_A);
	host_init(&b, "shared", LIN_B);
	must_create(f, &a);
	assert_int_equal(put1(f, &a, "data/a.txt", "from A", 0644, 0, &err), 0);

	/* B's create is refused, saying why */
	json_decref(call_host(f, 'c', &b, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "another network"));
	lf_err_clear(&err);
	/* B's delete is refused and leaves everything */
	assert_int_equal(del(f, &b, 0, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "another network"));
	assert_true(in_root(f, "shared/data/a.txt"));
	assert_true(in_root(f, "shared/.ledgerform-host"));
	lf_err_clear(&err);
	/* B's put is refused and writes nothing */
	assert_int_equal(put1(f, &b, "data/b.txt", "from B", 0644, 0, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "another network"));
	assert_false(in_root(f, "shared/data/b.txt"));
	lf_err_clear(&err);
	/* nor can B read (see test_local_read_other_lineage), get, exec or
	 * update there */
	json_decref(call_host(f, 'r', &b, &rc, &err));
	assert_int_not_equal(rc, 0);
	lf_err_clear(&err);
	json_decref(call_host(f, 'u', &b, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	lf_err_clear(&err);
	assert_int_equal(get(f, &b, "data/a.txt", 0, &blob, &err), LF_ECONFLICT);
	assert_int_equal(blob.len, 0);
	lf_blob_free(&blob);
	lf_err_clear(&err);
	assert_int_equal(run(f, &b, echo, 0, &x, &err), LF_ECONFLICT);
	assert_int_equal(x.out.len, 0);
	xr_free(&x);
	lf_err_clear(&err);

	/* A adopts its own directory: create again, read, put */
	o = call_host(f, 'c', &a, &rc, &err);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "shared");
	json_decref(o);
	assert_true(in_root(f, "shared/data/a.txt"));
	assert_int_equal(put1(f, &a, "data/c.txt", "again", 0644, 0, &err), 0);
	assert_int_equal(get(f, &a, "data/a.txt", 0, &blob, &err), 0);
	assert_string_equal(txt(&blob), "from A");
	lf_blob_free(&blob);

	/* the same network, another resource at the same name: refused too */
	snprintf(a.res, sizeof(a.res), "host.other.shared");
	json_decref(call_host(f, 'c', &a, &rc, &err));
	assert_int_equal(rc, LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "host.test.shared"));
	lf_err_clear(&err);
	snprintf(a.res, sizeof(a.res), "host.test.shared");

	/* A's delete removes it; then B may make its own */
	assert_int_equal(del(f, &a, 0, &err), 0);
	assert_false(in_root(f, "shared"));
	must_create(f, &b);
	{
		char *m = marker_text(f, "shared");

		assert_non_null(strstr(m, "lineage " LIN_B "\n"));
		free(m);
	}
}

/* driver.h, host_read: "LF_ENOTFOUND when gone (or no longer carrying
 * this lineage)": for another network a directory at the name is not its
 * machine */
static void test_local_read_other_lineage(void **state)
{
	struct fx *f = *state;
	struct host a, b;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	host_init(&a, "theirs", LIN_A);
	host_init(&b, "theirs", LIN_B);
	must_create(f, &a);
	json_decref(call_host(f, 'r', &b, &rc, &err));
	assert_int_equal(rc, LF_ENOTFOUND);
	assert_true(in_root(f, "theirs/.ledgerform-host"));
}

/* a directory made before ABI 2 has a marker of one line, no lineage: it
 * is still ours and adopted, its contents kept */
static void test_local_old_marker_adopted(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	char *dir = lf_xasprintf("%s/legacy", f->root);
	char *p;
	json_t *o;
	int rc;

	host_init(&h, "legacy", LIN_A);
	assert_int_equal(lf_mkdirs(dir, 0755, NULL), 0);
	p = lf_xasprintf("%s/.ledgerform-host", dir);
	assert_int_equal(lf_write_file_atomic(p, "ledgerform local host 'legacy'\n",
					      strlen("ledgerform local host 'legacy'\n"), 0644,
					      NULL), 0);
	free(p);
	p = lf_xasprintf("%s/keep.txt", dir);
	assert_int_equal(lf_write_file_atomic(p, "old", 3, 0644, NULL), 0);
	o = call_host(f, 'c', &h, &rc, &err);
	if (rc != 0)
		print_message("create over an old marker: %s\n", err.msg);
	assert_int_equal(rc, 0);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "legacy");
	json_decref(o);
	assert_true(lf_path_exists(p));
	/* recorded attributes are read back */
	o = call_host(f, 'r', &h, &rc, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "vcpus")), 2);
	json_decref(o);
	/* transport calls work there too */
	assert_int_equal(put1(f, &h, "new.txt", "n", 0644, 0, &err), 0);
	/* and it can be deleted by its owner */
	assert_int_equal(del(f, &h, 0, &err), 0);
	assert_false(lf_path_exists(dir));
	free(p);
	free(dir);
}

static void test_local_validate(void **state)
{
	struct fx *f = *state;
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	json_t *cfg, *d;
	struct lf_kv *kv;
	size_t i;
	bool seen = false;

	/* a good config: no diagnostics */
	cfg = json_pack("{s:s,s:i}", "root", f->root, "exec_timeout", 30);
	kv = lf_kv_wrap(cfg);
	call_of(&call, NULL);
	assert_int_equal(f->drv->validate(kv, NULL, &call, 0, &err), 0);
	assert_true(call.diags == NULL || json_array_size(call.diags) == 0);
	json_decref(call.diags);
	lf_kv_unwrap(kv);
	json_decref(cfg);

	/* an unknown key: a diagnostic at config.bogus */
	cfg = json_pack("{s:s,s:i}", "root", f->root, "bogus", 1);
	kv = lf_kv_wrap(cfg);
	call_of(&call, NULL);
	assert_int_equal(f->drv->validate(kv, NULL, &call, 0, &err), LF_EINVALID);
	assert_true(json_is_array(call.diags));
	json_array_foreach(call.diags, i, d) {
		if (lf_streq(json_string_value(json_object_get(d, "path")), "config.bogus")) {
			seen = true;
			assert_non_null(strstr(json_string_value(json_object_get(d, "message")),
					       "bogus"));
		}
	}
	assert_true(seen);
	json_decref(call.diags);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	lf_err_clear(&err);

	/* a bad value: a diagnostic at its key */
	cfg = json_pack("{s:s,s:s}", "root", f->root, "exec_timeout", "soon");
	kv = lf_kv_wrap(cfg);
	call_of(&call, NULL);
	assert_int_equal(f->drv->validate(kv, NULL, &call, 0, &err), LF_EINVALID);
	assert_int_equal(json_array_size(call.diags), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(call.diags, 0),
							      "path")),
			    "config.exec_timeout");
	json_decref(call.diags);
	lf_kv_unwrap(kv);
	json_decref(cfg);
}

static void test_local_change_kind(void **state)
{
	struct fx *f = *state;
	char why[256] = "";

	assert_non_null(f->drv->change_kind);
	assert_int_equal(f->drv->change_kind(NULL, "vcpus", "2", "8", why, sizeof(why)),
			 LF_CHANGE_INPLACE);
	assert_int_equal(f->drv->change_kind(NULL, "memory_mb", "4096", "8192", why,
					     sizeof(why)),
			 LF_CHANGE_INPLACE);
	assert_int_equal(f->drv->change_kind(NULL, "name", "peer0", "peer1", why, sizeof(why)),
			 LF_CHANGE_REPLACE);
}

/* ---- transport ------------------------------------------------------------- */

static void test_local_machine_prepare_read_release(void **state)
{
	struct fx *f = *state;
	struct host h, other;
	struct lf_err err = LF_ERR_INIT;
	struct lf_target t, tb;
	struct lf_call call;
	struct lf_kv_builder *b;
	const char *sd;
	json_t *o;

	host_init(&h, "m0", LIN_A);
	host_init(&other, "m0", LIN_B);
	t = target_of(&h);
	tb = target_of(&other);
	call_of(&call, h.s.resource);
	/* not there yet */
	b = lf_kv_builder_new();
	assert_int_equal(f->drv->machine_read(f->conn, &t, &call, b, 0, &err), LF_ENOTFOUND);
	json_decref(lf_kv_builder_finish(b));
	lf_err_clear(&err);
	/* prepare: the root with our marker, and facts */
	b = lf_kv_builder_new();
	assert_int_equal(f->drv->machine_prepare(f->conn, &t, &call, b, 0, &err), 0);
	o = lf_kv_builder_finish(b);
	assert_string_equal(json_string_value(json_object_get(o, "os")), "linux");
	assert_true(json_is_integer(json_object_get(o, "cpus")));
	assert_true(json_integer_value(json_object_get(o, "cpus")) > 0);
	assert_true(json_integer_value(json_object_get(o, "memory_mb")) > 0);
	assert_true(json_is_integer(json_object_get(o, "disk_free_mb")));
	sd = json_string_value(json_object_get(o, "systemd"));
	assert_true(lf_streq(sd, "true") || lf_streq(sd, "false"));
	json_decref(o);
	assert_true(in_root(f, "m0/.ledgerform-host"));
	{
		char *m = marker_text(f, "m0");

		assert_non_null(strstr(m, "lineage " LIN_A "\n"));
		assert_non_null(strstr(m, "resource host.test.m0\n"));
		free(m);
	}
	/* again: adopted, files kept */
	assert_int_equal(put1(f, &h, "etc/x", "1", 0644, 0, &err), 0);
	assert_int_equal(f->drv->machine_prepare(f->conn, &t, &call, NULL, 0, &err), 0);
	assert_true(in_root(f, "m0/etc/x"));
	/* read: there, facts */
	b = lf_kv_builder_new();
	assert_int_equal(f->drv->machine_read(f->conn, &t, &call, b, 0, &err), 0);
	o = lf_kv_builder_finish(b);
	assert_string_equal(json_string_value(json_object_get(o, "os")), "linux");
	json_decref(o);
	/* another network: prepare, read and release are refused */
	assert_int_equal(f->drv->machine_prepare(f->conn, &tb, &call, NULL, 0, &err),
			 LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "another network"));
	lf_err_clear(&err);
	assert_int_equal(f->drv->machine_read(f->conn, &tb, &call, NULL, 0, &err),
			 LF_ECONFLICT);
	lf_err_clear(&err);
	assert_int_equal(f->drv->machine_release(f->conn, &tb, &call, 0, &err), LF_ECONFLICT);
	assert_true(in_root(f, "m0/etc/x"));
	lf_err_clear(&err);
	/* release: gone; again is success; read says not found */
	assert_int_equal(f->drv->machine_release(f->conn, &t, &call, 0, &err), 0);
	assert_false(in_root(f, "m0"));
	assert_int_equal(f->drv->machine_release(f->conn, &t, &call, 0, &err), 0);
	assert_int_equal(f->drv->machine_read(f->conn, &t, &call, NULL, 0, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	/* unknown flags */
	assert_int_equal(f->drv->machine_prepare(f->conn, &t, &call, NULL, 0x8, &err),
			 LF_EINVALID);
}

static void assert_mode(const char *path, unsigned int mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	if ((st.st_mode & 0777) != mode)
		print_message("%s: mode 0%o, expected 0%o\n", path,
			      (unsigned)(st.st_mode & 0777), mode);
	assert_int_equal(st.st_mode & 0777, mode);
}

static void test_local_put_modes(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	const struct lf_file two[] = {
		{ "etc/fabric/core.yaml", "a: 1\n", 5, 0644, NULL },
		{ "msp/keystore/key.pem", "SECRET", 6, 0600, NULL },
	};
	char *p, *data = NULL;
	size_t len = 0;

	host_init(&h, "orderer0", LIN_A);
	must_create(f, &h);
	/* many files in one call */
	assert_int_equal(put_files(f, &h, two, 2, 0, &err), 0);
	/* overwrite is atomic and takes the new mode */
	assert_int_equal(put1(f, &h, "etc/fabric/core.yaml", "a: 2\n", 0640, 0, &err), 0);
	p = lf_xasprintf("%s/orderer0/etc/fabric/core.yaml", f->root);
	assert_mode(p, 0640);
	assert_int_equal(lf_read_file(p, &data, &len, NULL), 0);
	assert_string_equal(data, "a: 2\n");
	free(data);
	free(p);
	p = lf_xasprintf("%s/orderer0/etc/fabric", f->root);
	assert_mode(p, 0755);
	free(p);
	p = lf_xasprintf("%s/orderer0/msp/keystore/key.pem", f->root);
	assert_mode(p, 0600);
	assert_int_equal(lf_read_file(p, &data, &len, NULL), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "SECRET", 6);
	free(data);
	free(p);
	p = lf_xasprintf("%s/orderer0/msp/keystore", f->root);
	assert_mode(p, 0700);
	free(p);
	p = lf_xasprintf("%s/orderer0/msp", f->root);
	assert_mode(p, 0700);
	free(p);
	/* a mode with bits outside 0777 is refused before anything is written */
	{
		const struct lf_file bad[] = {
			{ "ok.txt", "1", 1, 0644, NULL },
			{ "suid", "1", 1, 04755, NULL },
		};

		assert_int_equal(put_files(f, &h, bad, 2, 0, &err), LF_EINVALID);
		assert_false(in_root(f, "orderer0/ok.txt"));
		lf_err_clear(&err);
	}
	/* on a host that does not exist */
	host_rename(&h, "ghost");
	assert_int_equal(put1(f, &h, "x", "1", 0644, 0, &err), LF_ENOTFOUND);
}

static void expect_put_refused(struct fx *f, const struct host *h,
			       const char *path, int code, const char *why)
{
	struct lf_err err = LF_ERR_INIT;
	int rc = put1(f, h, path, "x", 0644, 0, &err);

	if (rc != code || !strstr(err.msg, why))
		print_message("put '%s': rc %d: %s\n", path, rc, err.msg);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err.msg, why));
}

static void test_local_put_traversal_refused(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	char *out = lf_xasprintf("%s/outside", f->tmp), *link, *p;

	host_init(&h, "peer1", LIN_A);
	must_create(f, &h);
	expect_put_refused(f, &h, "../escape", LF_EINVALID, "'..' component");
	expect_put_refused(f, &h, "a/../../escape", LF_EINVALID, "'..' component");
	expect_put_refused(f, &h, "a/..", LF_EINVALID, "'..' component");
	expect_put_refused(f, &h, "/etc/passwd", LF_EINVALID, "is absolute");
	expect_put_refused(f, &h, "", LF_EINVALID, "empty file path");
	expect_put_refused(f, &h, "dir/", LF_EINVALID, "names a directory");
	/* a symlinked directory inside the host is not followed */
	assert_int_equal(mkdir(out, 0755), 0);
	link = lf_xasprintf("%s/peer1/link", f->root);
	assert_int_equal(symlink(out, link), 0);
	expect_put_refused(f, &h, "link/x", LF_ERROR, "not a directory");
	p = lf_xasprintf("%s/x", out);
	assert_false(lf_path_exists(p));
	free(p);
	p = lf_xasprintf("%s/escape", f->root);
	assert_false(lf_path_exists(p));
	free(p);
	/* unknown flags */
	assert_int_equal(put1(f, &h, "ok", "1", 0644, 0x100, &err), LF_EINVALID);
	free(link);
	free(out);
}

static void test_local_get_mkdir_remove(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_target t;
	struct lf_call call;
	struct lf_blob blob;
	struct stat st;
	char *p;

	host_init(&h, "gm", LIN_A);
	must_create(f, &h);
	t = target_of(&h);
	call_of(&call, h.s.resource);
	assert_int_equal(put1(f, &h, "logs/node.log", "line1\nline2\nline3\n", 0644, 0, &err), 0);
	/* whole file, and its tail with max */
	assert_int_equal(get(f, &h, "logs/node.log", 0, &blob, &err), 0);
	assert_string_equal(txt(&blob), "line1\nline2\nline3\n");
	lf_blob_free(&blob);
	assert_int_equal(get(f, &h, "logs/node.log", 6, &blob, &err), 0);
	assert_int_equal(blob.len, 6);
	assert_string_equal(txt(&blob), "line3\n");
	lf_blob_free(&blob);
	/* max larger than the file: all of it */
	assert_int_equal(get(f, &h, "logs/node.log", 1000, &blob, &err), 0);
	assert_int_equal(blob.len, 18);
	lf_blob_free(&blob);
	/* absent, escaping */
	assert_int_equal(get(f, &h, "logs/none.log", 0, &blob, &err), LF_ENOTFOUND);
	lf_blob_free(&blob);
	lf_err_clear(&err);
	assert_int_equal(get(f, &h, "../gm/logs/node.log", 0, &blob, &err), LF_EINVALID);
	assert_int_equal(blob.len, 0);
	lf_blob_free(&blob);
	lf_err_clear(&err);
	assert_int_equal(get(f, &h, "/etc/passwd", 0, &blob, &err), LF_EINVALID);
	lf_blob_free(&blob);
	lf_err_clear(&err);

	/* mkdir: made (again is fine), a directory */
	assert_int_equal(f->drv->mkdir(f->conn, &t, "data", 0750, &call, 0, &err), 0);
	assert_int_equal(f->drv->mkdir(f->conn, &t, "data", 0750, &call, 0, &err), 0);
	p = lf_xasprintf("%s/gm/data", f->root);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0007, 0); /* nothing for others */
	assert_int_equal(f->drv->mkdir(f->conn, &t, "../up", 0755, &call, 0, &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_false(in_root(f, "up"));

	/* remove: a tree, a file, something missing */
	assert_int_equal(put1(f, &h, "data/ledger/blk0", "b", 0644, 0, &err), 0);
	assert_int_equal(f->drv->remove(f->conn, &t, "data", &call, 0, &err), 0);
	assert_false(lf_path_exists(p));
	assert_int_equal(f->drv->remove(f->conn, &t, "logs/node.log", &call, 0, &err), 0);
	assert_false(in_root(f, "gm/logs/node.log"));
	assert_true(in_root(f, "gm/logs"));
	assert_int_equal(f->drv->remove(f->conn, &t, "logs/nothing", &call, 0, &err), 0);
	assert_int_equal(f->drv->remove(f->conn, &t, "../gm", &call, 0, &err), LF_EINVALID);
	assert_true(in_root(f, "gm/.ledgerform-host"));
	free(p);
}

/* get, mkdir and remove must not leave the root through a symlinked
 * directory (driver.h: "never leaving the root through a symlink") */
static void test_local_fs_symlink_escape(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_target t;
	struct lf_call call;
	struct lf_blob blob;
	char *out, *secret, *link, *made;

	out = lf_xasprintf("%s/outside", f->tmp);
	secret = lf_xasprintf("%s/secret", out);
	host_init(&h, "sl", LIN_A);
	must_create(f, &h);
	t = target_of(&h);
	call_of(&call, h.s.resource);
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(lf_write_file_atomic(secret, "outside", 7, 0600, NULL), 0);
	link = lf_xasprintf("%s/sl/link", f->root);
	assert_int_equal(symlink(out, link), 0);
	made = lf_xasprintf("%s/made", out);

	lf_blob_init(&blob, 0);
	assert_int_not_equal(f->drv->get(f->conn, &t, "link/secret", 0, &blob, &call, 0, &err), 0);
	assert_null(blob.data ? strstr(blob.data, "outside") : NULL);
	lf_blob_free(&blob);
	lf_err_clear(&err);
	assert_int_not_equal(f->drv->mkdir(f->conn, &t, "link/made", 0755, &call, 0, &err), 0);
	assert_false(lf_path_exists(made));
	lf_err_clear(&err);
	(void)f->drv->remove(f->conn, &t, "link/secret", &call, 0, &err);
	assert_true(lf_path_exists(secret));
	free(made);
	free(link);
	free(secret);
	free(out);
}

static void test_local_exec(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *echo_home[] = { "echo", "$HOME", NULL };
	const char *sh_home[] = { "echo $HOME", NULL };
	const char *code3[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
	const char *pwd[] = { "pwd", NULL };
	const char *missing[] = { "ledgerform-no-such-command", NULL };
	const char *args[] = { "echo \"$1-$2\"", "a b", "c", NULL };
	char *want, *dir = lf_xasprintf("%s/ca0", f->root);

	host_init(&h, "ca0", LIN_A);
	must_create(f, &h);
	/* no shell unless asked */
	assert_int_equal(run(f, &h, echo_home, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 0);
	assert_string_equal(txt(&x.out), "$HOME\n");
	assert_int_equal(x.out.len, 6);
	assert_int_equal(x.err.len, 0);
	xr_free(&x);
	assert_int_equal(run(f, &h, sh_home, LF_EXEC_SHELL, &x, &err), 0);
	want = lf_xasprintf("%s\n", getenv("HOME") ? getenv("HOME") : "");
	assert_string_equal(txt(&x.out), want);
	free(want);
	xr_free(&x);
	assert_int_equal(run(f, &h, args, LF_EXEC_SHELL, &x, &err), 0);
	assert_string_equal(txt(&x.out), "a b-c\n");
	xr_free(&x);
	/* exit status; stdout and stderr kept apart */
	assert_int_equal(run(f, &h, code3, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 3);
	assert_string_equal(txt(&x.out), "out\n");
	assert_string_equal(txt(&x.err), "err\n");
	xr_free(&x);
	assert_int_equal(run(f, &h, killed, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 128 + 9);
	xr_free(&x);
	/* runs in the host directory */
	assert_int_equal(run(f, &h, pwd, 0, &x, &err), 0);
	want = lf_xasprintf("%s\n", dir);
	assert_string_equal(txt(&x.out), want);
	free(want);
	xr_free(&x);
	/* a missing command: 127, as a shell would, the reason on stderr */
	assert_int_equal(run(f, &h, missing, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 127);
	assert_non_null(strstr(txt(&x.err), "ledgerform-no-such-command"));
	xr_free(&x);
	assert_int_equal(run(f, &h, pwd, 0x2, &x, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "unsupported flags (0x2)"));
	xr_free(&x);
	free(dir);
}

/* stderr alone goes to res->err */
static void test_local_exec_stderr(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *oops[] = { "echo oops >&2; exit 1", NULL };

	host_init(&h, "se", LIN_A);
	must_create(f, &h);
	assert_int_equal(run(f, &h, oops, LF_EXEC_SHELL, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 1);
	assert_string_equal(txt(&x.err), "oops\n");
	assert_int_equal(x.out.len, 0);
	xr_free(&x);
}

/* the host's blobs bound what is kept (the tail) */
static void test_local_exec_bounded_output(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *big[] = { "head -c 3000000 /dev/zero; printf END", NULL };
	struct lf_exec_spec es = { big, NULL, NULL, 0, 0, 1048576 };

	host_init(&h, "big", LIN_A);
	must_create(f, &h);
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, LF_EXEC_SHELL, 1048576, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 0);
	assert_int_equal(x.out.len, 1048576); /* the driver kept the tail */
	assert_memory_equal(x.out.data + x.out.len - 3, "END", 3);
	xr_free(&x);
}

/* driver.h: "stdout and stderr are kept up to out_max bytes each (the
 * tail)", also when the host's blob itself is unbounded */
static void test_local_exec_out_max(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *big[] = { "head -c 100000 /dev/zero; printf END; "
			      "head -c 100000 /dev/zero >&2; printf ERR >&2", NULL };
	struct lf_exec_spec es = { big, NULL, NULL, 0, 0, 1000 };

	host_init(&h, "om", LIN_A);
	must_create(f, &h);
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, LF_EXEC_SHELL, 0, &x, &err), 0);
	assert_true(x.out.len <= 1000);
	assert_true(x.err.len <= 1000);
	assert_memory_equal(x.out.data + x.out.len - 3, "END", 3);
	assert_memory_equal(x.err.data + x.err.len - 3, "ERR", 3);
	xr_free(&x);
}

static void test_local_exec_timeout(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	struct xr x;
	const char *sleeper[] = { "sleep", "600", NULL };
	struct lf_exec_spec es = { sleeper, NULL, NULL, 0, 0, 0 };
	int rc;

	host_init(&h, "slow", LIN_A);
	must_create(f, &h);
	/* the connection's exec_timeout: killed (not left to run its 600 s) */
	c = open_conn(f->drv, json_pack("{s:s,s:i}", "root", f->root, "exec_timeout", 1),
		      &rc, &err);
	assert_int_equal(rc, 0);
	rc = run_spec_on(f, c, &h, &es, 0, 0, &x, &err);
	assert_int_equal(rc, LF_ETIMEOUT);
	assert_non_null(strstr(err.msg, "timeout of 1000 ms"));
	assert_int_equal(x.out.len, 0);
	xr_free(&x);
	f->drv->close(c);
	lf_err_clear(&err);
	c = open_conn(f->drv, json_pack("{s:s,s:s}", "root", f->root, "exec_timeout", "soon"),
		      &rc, &err);
	assert_int_equal(rc, LF_EINVALID);
	assert_null(c);
	assert_non_null(strstr(err.msg, "exec_timeout 'soon'"));
	lf_err_clear(&err);
	c = open_conn(f->drv, json_object(), &rc, &err);
	assert_int_equal(rc, LF_EINVALID);
	assert_non_null(strstr(err.msg, "'root' is required"));
}

/* the spec's own timeout_ms ends a command (only the code is checked) */
static void test_local_exec_timeout_ms(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *sleeper[] = { "sleep", "30", NULL };
	struct lf_exec_spec es = { sleeper, NULL, NULL, 0, 200, 0 };

	host_init(&h, "tms", LIN_A);
	must_create(f, &h);
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, 0, 0, &x, &err), LF_ETIMEOUT);
	assert_int_equal(err.code, LF_ETIMEOUT);
	xr_free(&x);
}

struct bg_exec {
	struct fx *f;
	const struct host *h;
	int rc;
	struct lf_err err;
};

static void *bg_sleep(void *arg)
{
	struct bg_exec *b = arg;
	const char *sleeper[] = { "sh", "-c", "echo x >started; sleep 600; echo never", NULL };
	struct xr x;

	b->rc = run(b->f, b->h, sleeper, 0, &x, &b->err);
	xr_free(&x);
	return NULL;
}

static void test_local_exec_cancel(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct bg_exec b = { f, &h, -99, LF_ERR_INIT };
	char *started = lf_xasprintf("%s/cancel/started", f->root);
	pthread_t t;

	host_init(&h, "cancel", LIN_A);
	must_create(f, &h);
	assert_int_equal(pthread_create(&t, NULL, bg_sleep, &b), 0);
	/* wait for a condition (the command runs), not for a time */
	while (!lf_path_exists(started))
		lf_sleep_ms(10);
	lf_host_set_cancelled(1);
	pthread_join(t, NULL);
	lf_host_set_cancelled(0);
	/* the running command was killed (not refused before it started) */
	assert_int_equal(b.rc, LF_ECANCELED);
	assert_non_null(strstr(b.err.msg, "killed: cancelled"));
	free(started);
}

/* more arguments than any fixed array: all reach the command (shell and
 * not); above the driver's bound a clear refusal, never an overflow */
static void test_local_exec_many_args(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char **argv = lf_xcalloc(4100, sizeof(*argv));
	size_t i;

	host_init(&h, "args", LIN_A);
	must_create(f, &h);
	argv[0] = "echo \"$#\" \"${200}\"";
	for (i = 1; i <= 200; i++)
		argv[i] = i == 200 ? "last" : "a";
	assert_int_equal(run(f, &h, argv, LF_EXEC_SHELL, &x, &err), 0);
	assert_string_equal(txt(&x.out), "200 last\n");
	xr_free(&x);
	argv[0] = "echo";
	assert_int_equal(run(f, &h, argv, 0, &x, &err), 0);
	assert_int_equal(x.out.len, 199 * 2 + 4 + 1);
	xr_free(&x);
	for (i = 1; i < 4099; i++)
		argv[i] = "a";
	assert_int_equal(run(f, &h, argv, LF_EXEC_SHELL, &x, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "more than 4096 arguments"));
	assert_int_equal(x.out.len, 0);
	xr_free(&x);
	free(argv);
}

/* the child sees PATH, HOME, LANG=C and the caller's envp, nothing else of
 * ours */
static void test_local_exec_clean_env(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *env_argv[] = { "env", NULL };
	const char *envp[] = { "FABRIC_CFG_PATH=/etc/hyperledger fabric", "LF_X=1", NULL };
	struct lf_exec_spec es = { env_argv, envp, NULL, 0, 0, 0 };

	host_init(&h, "env", LIN_A);
	must_create(f, &h);
	setenv("LF_TEST_CLOUD_SECRET", "tok-5ec7e7", 1);
	setenv("LF_TEST_SECRET", "s3cr3t-v4lue", 1);
	assert_int_equal(run(f, &h, env_argv, 0, &x, &err), 0);
	assert_null(strstr(txt(&x.out), "tok-5ec7e7"));
	assert_null(strstr(txt(&x.out), "LF_TEST_CLOUD_SECRET"));
	assert_non_null(strstr(txt(&x.out), "PATH="));
	assert_non_null(strstr(txt(&x.out), "LANG=C\n"));
	xr_free(&x);
	assert_int_equal(run(f, &h, env_argv, LF_EXEC_SHELL, &x, &err), 0);
	assert_null(strstr(txt(&x.out), "tok-5ec7e7"));
	assert_non_null(strstr(txt(&x.out), "PATH="));
	xr_free(&x);
	/* envp reaches the child; the test process's own variables do not */
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, 0, 0, &x, &err), 0);
	assert_non_null(strstr(txt(&x.out), "FABRIC_CFG_PATH=/etc/hyperledger fabric\n"));
	assert_non_null(strstr(txt(&x.out), "LF_X=1\n"));
	assert_null(strstr(txt(&x.out), "LF_TEST_SECRET"));
	assert_null(strstr(txt(&x.out), "s3cr3t-v4lue"));
	assert_non_null(strstr(txt(&x.out), "PATH="));
	xr_free(&x);
	/* through the shell, too */
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, LF_EXEC_SHELL, 0, &x, &err), 0);
	assert_non_null(strstr(txt(&x.out), "LF_X=1\n"));
	assert_null(strstr(txt(&x.out), "s3cr3t-v4lue"));
	xr_free(&x);
	unsetenv("LF_TEST_CLOUD_SECRET");
	unsetenv("LF_TEST_SECRET");
}

/* stdin bytes reach the child, binary-safe, larger than a pipe buffer */
static void test_local_exec_stdin(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	const char *cat[] = { "cat", NULL };
	const char small[] = "hello\0world\n";
	struct lf_exec_spec es = { cat, NULL, small, sizeof(small) - 1, 0, 0 };
	size_t big_len = 300000, i;
	char *big = lf_xmalloc(big_len);

	host_init(&h, "in", LIN_A);
	must_create(f, &h);
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, 0, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 0);
	assert_int_equal(x.out.len, sizeof(small) - 1);
	assert_memory_equal(x.out.data, small, sizeof(small) - 1);
	xr_free(&x);
	for (i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	es.stdin_data = big;
	es.stdin_len = big_len;
	es.out_max = big_len; /* more than the 64 KiB default */
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, 0, 0, &x, &err), 0);
	assert_int_equal(x.out.len, big_len);
	assert_memory_equal(x.out.data, big, big_len);
	xr_free(&x);
	/* no stdin: /dev/null, cat ends at once */
	es.stdin_data = NULL;
	es.stdin_len = 0;
	assert_int_equal(run_spec_on(f, f->conn, &h, &es, 0, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 0);
	assert_int_equal(x.out.len, 0);
	xr_free(&x);
	free(big);
}

/* a long command (a script may carry values) is cut in messages */
static void test_local_exec_bounded_messages(void **state)
{
	struct fx *f = *state;
	struct host h;
	struct lf_err err = LF_ERR_INIT;
	struct xr x;
	char name[301];
	const char *argv[] = { name, NULL };
	size_t i;

	host_init(&h, "msg", LIN_A);
	must_create(f, &h);
	for (i = 0; i < 29; i++)
		memcpy(name + i * 10, "lf-none-x/", 10);
	memcpy(name + 290, "TAILSECRET", 11);
	assert_int_equal(run(f, &h, argv, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 127);
	assert_null(strstr(txt(&x.err), "TAILSECRET"));
	assert_non_null(strstr(txt(&x.err), "...[300 bytes]"));
	assert_true(x.err.len < 200);
	xr_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_create_read_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_refuses_unmarked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_two_lineages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_read_other_lineage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_old_marker_adopted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_validate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_change_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_machine_prepare_read_release, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_local_put_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_put_traversal_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_get_mkdir_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_fs_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_stderr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_bounded_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_out_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_timeout_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_many_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_clean_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_stdin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_exec_bounded_messages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
