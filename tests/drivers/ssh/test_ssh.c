/*
 * The ssh driver (ABI 2, transport) through the real plugin loader against
 * a real OpenSSH sshd this test starts on 127.0.0.1 (sshd_fixture.c).
 * Host keys: a known host (hashed known_hosts entry) accepted; an unknown
 * key refused with its SHA256 fingerprint, then accepted and recorded with
 * accept-new; a changed key refused; a pinned fingerprint trusted, a wrong
 * one refused; a wrong user key refused with an authentication error.
 * Machines: prepare records facts, roots carry a marker, release removes
 * only what ledgerform made. Files: modes, a 50 MB file by SHA-256, get,
 * mkdir, remove, traversal refused, a put killed mid-transfer leaves no
 * half file and the next put finishes, names with spaces, quotes and
 * newlines (new and replacing). Commands: argv untouched by any
 * shell, envp, exit status, stdout/stderr apart and bounded, a timeout
 * that ends the remote process group. Fabric binaries delivered once per
 * machine; a delivery killed between sending and committing leaves nothing
 * under the final name, and the next one sends only the damaged file. 20 parallel actions on one machine; 20 commands that pass only
 * when all run at once on the one connection (calls taking turns fail
 * after 60 s saying so); parallel puts, checked by SHA-256, while a
 * command waits for them. A killed server gives a transient error and the
 * next call reconnects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "core/plugin/call.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"
#include "sshd_fixture.h"

#define LIN_A "a1a1a1a1-0000-4000-8000-00000000000a"
#define LIN_B "b2b2b2b2-0000-4000-8000-00000000000b"

static struct sshd g_sshd;
static char g_skip[256];
static struct lf_registry *g_reg;
static const struct lf_driver *g_drv;
static const char *g_bin_dir = "bin-remote"; /* config bin_root, in the temp dir */

/* ---- helpers ------------------------------------------------------------ */

static char *path_of(const char *name)
{
	return sshd_path(&g_sshd, name);
}

/* the base config: our user key, our known_hosts, roots in the temp dir */
static json_t *base_cfg(const char *known_hosts)
{
	char *key = path_of("user_key"), *kh = path_of(known_hosts);
	char *root = path_of("remote"), *bin = path_of(g_bin_dir);
	json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i}", "user", g_sshd.user,
				"port", g_sshd.port, "identity", key, "known_hosts", kh,
				"root", root, "bin_root", bin, "connect_timeout", 5);

	free(key);
	free(kh);
	free(root);
	free(bin);
	return cfg;
}

static struct lf_driver_conn *open_cfg(json_t *cfg, int *rc, struct lf_err *err)
{
	return sshd_driver_open(g_drv, cfg, rc, err);
}

static struct lf_target target(const char *name, const char *lineage, char *res, size_t cap)
{
	struct lf_target t;

	memset(&t, 0, sizeof(t));
	snprintf(res, cap, "host.dc1.%s", name);
	t.resource = res;
	t.lineage = lineage;
	t.name = name;
	t.machine_address = "127.0.0.1";
	return t;
}

/* machine_prepare ('p'), machine_read ('r'); outputs returned */
static json_t *machine(struct lf_driver_conn *c, int op, const struct lf_target *t, int *rc,
		       struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_call call;

	lf_call_init(&call, "ssh", "dc1", t->resource);
	lf_err_clear(err);
	if (op == 'p')
		*rc = g_drv->machine_prepare(c, t, &call, b, 0, err);
	else
		*rc = g_drv->machine_read(c, t, &call, b, 0, err);
	return lf_kv_builder_finish(b);
}

static int release(struct lf_driver_conn *c, const struct lf_target *t, struct lf_err *err)
{
	struct lf_call call;

	lf_call_init(&call, "ssh", "dc1", t->resource);
	lf_err_clear(err);
	return g_drv->machine_release(c, t, &call, 0, err);
}

/* prepare the machine for name; fails the test when it cannot */
static void must_prepare(struct lf_driver_conn *c, const struct lf_target *t)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;
	json_t *o = machine(c, 'p', t, &rc, &err);

	if (rc != 0)
		fail_msg("prepare: %s", err.msg);
	json_decref(o);
}

static int put(struct lf_driver_conn *c, const struct lf_target *t, const struct lf_file *f,
	       size_t n, struct lf_err *err)
{
	struct lf_call call;

	lf_call_init(&call, "ssh", "dc1", t->resource);
	lf_err_clear(err);
	return g_drv->put(c, t, f, n, &call, 0, err);
}

struct xr {
	struct lf_blob out, err;
	struct lf_exec_result r;
};

static int run(struct lf_driver_conn *c, const struct lf_target *t,
	       const struct lf_exec_spec *es, unsigned int flags, struct xr *x,
	       struct lf_err *err)
{
	struct lf_call call;

	lf_blob_init(&x->out, 0);
	lf_blob_init(&x->err, 0);
	x->r.exit_status = -1;
	x->r.out = &x->out;
	x->r.err = &x->err;
	lf_call_init(&call, "ssh", "dc1", t->resource);
	lf_err_clear(err);
	return g_drv->exec(c, t, es, &x->r, &call, flags, err);
}

static void xr_free(struct xr *x)
{
	lf_blob_free(&x->out);
	lf_blob_free(&x->err);
}

static const char *txt(const struct lf_blob *b)
{
	return b->data ? b->data : "";
}

/* the root of a target on the (local) machine */
static char *root_of(const char *name)
{
	return lf_xasprintf("%s/remote/%s", g_sshd.dir, name);
}

static char *file_of(const char *name, const char *rel)
{
	return lf_xasprintf("%s/remote/%s/%s", g_sshd.dir, name, rel);
}

static void sha256_file(const char *path, char out[65])
{
	unsigned char md[32], buf[65536];
	unsigned int n = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t k;

	assert_non_null(f);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, k);
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	fclose(f);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void sha256_mem(const void *d, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	EVP_Digest(d, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* a known_hosts file NAME holding the server's key, hashed (-H) */
static void known_hosts_write(const char *name, const char *pubfile, bool hashed)
{
	assert_int_equal(sshd_sh("printf '[127.0.0.1]:%d ' > %s/%s && cut -d' ' -f1,2 %s/%s >> %s/%s",
				 g_sshd.port, g_sshd.dir, name, g_sshd.dir, pubfile, g_sshd.dir, name), 0);
	if (hashed)
		assert_int_equal(sshd_sh("ssh-keygen -q -H -f %s/%s >/dev/null 2>&1 && rm -f %s/%s.old",
					 g_sshd.dir, name, g_sshd.dir, name), 0);
}

static bool on_machine(const char *name, const char *rel)
{
	char *p = file_of(name, rel);
	struct stat st;
	bool there = lstat(p, &st) == 0;

	free(p);
	return there;
}

#define SKIP_WITHOUT_SSHD() SSHD_SKIP(g_skip)

/* a connection trusting the server through a hashed known_hosts entry */
static struct lf_driver_conn *conn_known(void)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	int rc;

	known_hosts_write("kh_ok", "host_key.pub", true);
	c = open_cfg(base_cfg("kh_ok"), &rc, &err);
	assert_int_equal(rc, 0);
	return c;
}

/* ---- host keys ------------------------------------------------------------ */

/* MemTotal of this machine (the test's sshd runs here), in MiB */
static long long local_memory_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long long kb = -1;

	if (f) {
		if (fscanf(f, "MemTotal: %lld kB", &kb) != 1)
			kb = -1;
		fclose(f);
	}
	return kb < 0 ? -1 : kb / 1024;
}

static void test_ssh_known_host_facts(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m1", LIN_A, res, sizeof(res));
	char *marker, *text, *kh;
	json_t *o;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	/* the entry it trusts is a hashed one (|1|salt|hash) */
	kh = path_of("kh_ok");
	assert_int_equal(lf_read_file(kh, &text, NULL, NULL), 0);
	assert_int_equal(strncmp(text, "|1|", 3), 0);
	assert_null(strstr(text, "127.0.0.1"));
	free(text);
	free(kh);
	o = machine(c, 'p', &t, &rc, &err);
	if (rc != 0)
		fail_msg("prepare: %s", err.msg);
	assert_string_equal(json_string_value(json_object_get(o, "os")), "linux");
	assert_true(json_integer_value(json_object_get(o, "cpus")) >= 1);
	/* the facts come from shell builtins reading /proc: this machine's */
	assert_int_equal(json_integer_value(json_object_get(o, "memory_mb")), local_memory_mb());
	assert_true(json_integer_value(json_object_get(o, "disk_free_mb")) > 0);
	/* no systemd as PID 1 here: the nohup supervisor, recorded */
	assert_string_equal(json_string_value(json_object_get(o, "systemd")),
			    access("/run/systemd/system", F_OK) == 0 ? "true" : "false");
	assert_string_equal(json_string_value(json_object_get(o, "supervisor")), "nohup");
	assert_string_equal(json_string_value(json_object_get(o, "host_key_sha256")), g_sshd.host_fp);
	json_decref(o);
	marker = file_of("m1", ".ledgerform-host");
	assert_int_equal(lf_read_file(marker, &text, NULL, NULL), 0);
	assert_non_null(strstr(text, "lineage " LIN_A "\n"));
	assert_non_null(strstr(text, "resource host.dc1.m1\n"));
	free(text);
	free(marker);
	/* read: ours, facts again */
	o = machine(c, 'r', &t, &rc, &err);
	assert_int_equal(rc, 0);
	assert_non_null(json_object_get(o, "cpus"));
	json_decref(o);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

static void test_ssh_unknown_host_then_accept_new(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], *kh, *text = NULL;
	struct lf_target t = target("m2", LIN_A, res, sizeof(res));
	json_t *cfg, *o;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	kh = path_of("kh_new");
	unlink(kh);
	c = open_cfg(base_cfg("kh_new"), &rc, &err);
	o = machine(c, 'p', &t, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_EAUTH);
	assert_non_null(strstr(err.msg, "unknown"));
	assert_non_null(strstr(err.msg, g_sshd.host_fp));
	assert_int_equal(access(kh, F_OK), -1); /* nothing recorded */
	g_drv->close(c);
	/* accept-new records it */
	cfg = base_cfg("kh_new");
	json_object_set_new(cfg, "host_key_checking", json_string("accept-new"));
	c = open_cfg(cfg, &rc, &err);
	o = machine(c, 'p', &t, &rc, &err);
	json_decref(o);
	if (rc != 0)
		fail_msg("accept-new: %s", err.msg);
	g_drv->close(c);
	assert_int_equal(lf_read_file(kh, &text, NULL, NULL), 0);
	assert_non_null(strstr(text, "[127.0.0.1]:"));
	free(text);
	/* and from then on it is a known host, without accept-new */
	c = open_cfg(base_cfg("kh_new"), &rc, &err);
	o = machine(c, 'r', &t, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, 0);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
	free(kh);
}

static void test_ssh_changed_key_refused(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m3", LIN_A, res, sizeof(res));
	json_t *cfg, *o;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	known_hosts_write("kh_changed", "other_host_key.pub", false);
	cfg = base_cfg("kh_changed");
	/* accept-new never accepts a changed key */
	json_object_set_new(cfg, "host_key_checking", json_string("accept-new"));
	c = open_cfg(cfg, &rc, &err);
	o = machine(c, 'p', &t, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_EAUTH);
	assert_non_null(strstr(err.msg, "CHANGED"));
	assert_non_null(strstr(err.msg, g_sshd.host_fp));
	g_drv->close(c);
	assert_false(on_machine("m3", ".ledgerform-host"));
}

static void test_ssh_pinned_fingerprint(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m4", LIN_A, res, sizeof(res));
	json_t *cfg, *o;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	char *kh = path_of("kh_none");

	unlink(kh);
	free(kh);
	cfg = base_cfg("kh_none");
	json_object_set_new(cfg, "host_key", json_string(g_sshd.host_fp));
	c = open_cfg(cfg, &rc, &err);
	o = machine(c, 'p', &t, &rc, &err);
	json_decref(o);
	if (rc != 0)
		fail_msg("pinned: %s", err.msg);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
	/* a wrong pin is refused, showing both */
	cfg = base_cfg("kh_none");
	json_object_set_new(cfg, "host_key",
			    json_string("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	c = open_cfg(cfg, &rc, &err);
	o = machine(c, 'p', &t, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_EAUTH);
	assert_non_null(strstr(err.msg, g_sshd.host_fp));
	assert_non_null(strstr(err.msg, "pinned"));
	g_drv->close(c);
}

static void test_ssh_wrong_user_key(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], *other = path_of("other_key");
	struct lf_target t = target("m5", LIN_A, res, sizeof(res));
	json_t *cfg, *o;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	known_hosts_write("kh_ok", "host_key.pub", true);
	cfg = base_cfg("kh_ok");
	json_object_set_new(cfg, "identity", json_string(other));
	c = open_cfg(cfg, &rc, &err);
	o = machine(c, 'p', &t, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_EAUTH);
	assert_non_null(strstr(err.msg, "authentication failed"));
	assert_null(strstr(err.msg, "PRIVATE KEY"));
	g_drv->close(c);
	free(other);
}

static void test_ssh_validate(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	json_t *cfg = json_pack("{s:s, s:s, s:s, s:s, s:i}", "root", "/", "host_key_checking", "no",
				"host_key", "MD5:xx", "jump", "bastion", "port", 70000);
	struct lf_kv *kv = lf_kv_wrap(cfg);
	size_t i;

	(void)state;
	lf_call_init(&call, "ssh", "dc1", NULL);
	call.diags = json_array();
	assert_int_equal(g_drv->validate(kv, NULL, &call, 0, &err), LF_EINVALID);
	assert_int_equal(json_array_size(call.diags), 5);
	for (i = 0; i < json_array_size(call.diags); i++)
		print_message("  %s\n", json_string_value(json_object_get(json_array_get(call.diags, i), "path")));
	json_decref(call.diags);
	lf_kv_unwrap(kv);
	json_decref(cfg);
}

/* ---- machines: marker ------------------------------------------------------ */

static void test_ssh_marker_only_ours(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], resb[64], *dir;
	struct lf_target t = target("m6", LIN_A, res, sizeof(res));
	struct lf_target tb = target("m6", LIN_B, resb, sizeof(resb));
	struct lf_target tu = target("unmarked", LIN_A, resb, sizeof(resb));
	json_t *o;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	must_prepare(c, &t);
	must_prepare(c, &t); /* adopted */
	/* another network's root: read says gone, prepare and release refuse */
	o = machine(c, 'r', &tb, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_ENOTFOUND);
	o = machine(c, 'p', &tb, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_ECONFLICT);
	assert_int_equal(release(c, &tb, &err), LF_ECONFLICT);
	assert_true(on_machine("m6", ".ledgerform-host"));
	/* a directory ledgerform did not make is never touched */
	dir = root_of("unmarked");
	assert_int_equal(sshd_sh("mkdir -p %s && echo keep > %s/data", dir, dir), 0);
	o = machine(c, 'p', &tu, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_ECONFLICT);
	if (!strstr(err.msg, "not made by ledgerform"))
		fail_msg("%s", err.msg);
	assert_int_equal(release(c, &tu, &err), LF_ECONFLICT);
	assert_true(on_machine("unmarked", "data"));
	/* ours goes; a missing root is released too */
	assert_int_equal(release(c, &t, &err), 0);
	assert_false(on_machine("m6", ""));
	assert_int_equal(release(c, &t, &err), 0);
	o = machine(c, 'r', &t, &rc, &err);
	json_decref(o);
	assert_int_equal(rc, LF_ENOTFOUND);
	free(dir);
	g_drv->close(c);
}

/* ---- files ------------------------------------------------------------------ */

static void assert_mode(const char *name, const char *rel, unsigned int mode)
{
	char *p = file_of(name, rel);
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	if ((st.st_mode & 07777) != mode)
		fail_msg("%s: mode 0%o, want 0%o", p, st.st_mode & 07777, mode);
	free(p);
}

static void test_ssh_put_modes_get_mkdir_remove(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m7", LIN_A, res, sizeof(res));
	struct lf_file files[] = {
		{ "fabric/msp/keystore/key.pem", "secret-ish\n", 11, 0600, NULL },
		{ "fabric/node.env", "A=1\n", 4, 0644, NULL },
		{ "fabric/run.sh", "#!/bin/sh\necho run\n", 19, 0755, NULL },
	};
	struct lf_file bad[] = { { "../escape", "x", 1, 0644, NULL } };
	struct lf_file abs[] = { { "/etc/x", "x", 1, 0644, NULL } };
	struct lf_call call;
	struct lf_blob b;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	must_prepare(c, &t);
	rc = put(c, &t, files, 3, &err);
	if (rc != 0)
		fail_msg("put: %s", err.msg);
	assert_mode("m7", "fabric/msp/keystore/key.pem", 0600);
	assert_mode("m7", "fabric/msp/keystore", 0700);
	assert_mode("m7", "fabric/node.env", 0644);
	assert_mode("m7", "fabric/run.sh", 0755);
	assert_false(on_machine("m7", "fabric/.node.env.lf-tmp"));
	/* replaced in place */
	files[1].data = "A=2\n";
	assert_int_equal(put(c, &t, &files[1], 1, &err), 0);
	lf_call_init(&call, "ssh", "dc1", t.resource);
	lf_blob_init(&b, 0);
	assert_int_equal(g_drv->get(c, &t, "fabric/node.env", 0, &b, &call, 0, &err), 0);
	assert_string_equal(txt(&b), "A=2\n");
	lf_blob_free(&b);
	/* the tail */
	lf_blob_init(&b, 0);
	assert_int_equal(g_drv->get(c, &t, "fabric/run.sh", 4, &b, &call, 0, &err), 0);
	assert_string_equal(txt(&b), "run\n");
	lf_blob_free(&b);
	lf_blob_init(&b, 0);
	assert_int_equal(g_drv->get(c, &t, "fabric/nope", 0, &b, &call, 0, &err), LF_ENOTFOUND);
	lf_blob_free(&b);
	/* traversal and absolute paths refused */
	assert_int_equal(put(c, &t, bad, 1, &err), LF_EINVALID);
	assert_int_equal(put(c, &t, abs, 1, &err), LF_EINVALID);
	assert_int_equal(g_drv->mkdir(c, &t, "a/../../b", 0755, &call, 0, &err), LF_EINVALID);
	/* mkdir, remove */
	assert_int_equal(g_drv->mkdir(c, &t, "data/ledger", 0750, &call, 0, &err), 0);
	assert_mode("m7", "data/ledger", 0750);
	assert_int_equal(g_drv->remove(c, &t, "fabric", &call, 0, &err), 0);
	assert_false(on_machine("m7", "fabric"));
	assert_int_equal(g_drv->remove(c, &t, "fabric", &call, 0, &err), 0); /* missing: fine */
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

static void test_ssh_put_large(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], want[65], got[65], *p;
	struct lf_target t = target("m8", LIN_A, res, sizeof(res));
	size_t len = 50u * 1024 * 1024, i;
	unsigned char *data = malloc(len);
	struct lf_file f = { "big/blob.bin", data, len, 0644, NULL };
	uint32_t x = 12345;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	for (i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (unsigned char)(x >> 16);
	}
	sha256_mem(data, len, want);
	c = conn_known();
	must_prepare(c, &t);
	rc = put(c, &t, &f, 1, &err);
	if (rc != 0)
		fail_msg("put: %s", err.msg);
	p = file_of("m8", "big/blob.bin");
	sha256_file(p, got);
	assert_string_equal(got, want);
	free(p);
	free(data);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* names a shell would split, expand or end: delivered as they are, new
 * (SFTP renames) and then replacing (the one mv command, every path
 * quoted); many files in a few folders, each folder made once */
static void test_ssh_put_odd_names(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], names[40][64], *text = NULL, *p;
	struct lf_target t = target("m10", LIN_A, res, sizeof(res));
	struct lf_file f[40];
	const char *odd[] = { "a dir/with space.txt", "a dir/it's \"quoted\" $HOME `id`.txt",
			      "new\nline/x\ny", "-rf", "semi;colon&amp|pipe>out" };
	size_t i, n = 0, k;
	int round;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	must_prepare(c, &t);
	for (i = 0; i < 5; i++, n++)
		f[n] = (struct lf_file){ odd[i], odd[i], strlen(odd[i]), 0644, NULL };
	for (i = 0; n < 40; i++, n++) {
		snprintf(names[i], sizeof(names[i]), "fabric/msp/%s/f%zu.pem",
			 i % 3 == 0 ? "keystore" : i % 3 == 1 ? "signcerts" : "cacerts", i);
		f[n] = (struct lf_file){ names[i], names[i], strlen(names[i]),
					 i % 3 == 0 ? 0600 : 0644, NULL };
	}
	for (round = 0; round < 2; round++) { /* new, then replacing */
		if (put(c, &t, f, n, &err) != 0)
			fail_msg("put (round %d): %s", round, err.msg);
		for (k = 0; k < n; k++) {
			p = file_of("m10", f[k].path);
			if (lf_read_file(p, &text, NULL, NULL) != 0)
				fail_msg("'%s' is not on the machine (round %d)", f[k].path, round);
			assert_string_equal(text, f[k].data);
			free(text);
			free(p);
			assert_mode("m10", f[k].path, f[k].mode);
		}
	}
	assert_mode("m10", "fabric/msp/keystore", 0700);
	assert_mode("m10", "fabric/msp/signcerts", 0755);
	assert_false(on_machine("m10", "a dir/.with space.txt.lf-tmp"));
	assert_false(on_machine("m10", ".-rf.lf-tmp"));
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* the child of test_ssh_put_killed: puts three files, and is killed after
 * the second is written to its temporary name */
static int crash_child(const char *name)
{
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target(name, LIN_A, res, sizeof(res));
	struct lf_file files[] = {
		{ "f/one", "new-1\n", 6, 0644, NULL },
		{ "f/two", "new-2\n", 6, 0644, NULL },
		{ "f/three", "new-3\n", 6, 0644, NULL },
	};
	struct lf_driver_conn *c;
	int rc;

	c = conn_known();
	rc = put(c, &t, files, 3, &err);
	fprintf(stderr, "crash child: put returned %d (%s)\n", rc, err.msg);
	return 3;
}

/* the child of test_ssh_fabric_bin_cut: starts a command with
 * FABRIC_BIN, and is killed after the binaries are sent, before they are
 * checked and renamed into place */
static int crash_bin_child(const char *name)
{
	struct lf_err err = LF_ERR_INIT;
	char res[64], envv[512];
	struct lf_target t = target(name, LIN_A, res, sizeof(res));
	const char *cmd[] = { "true", NULL };
	const char *envp[] = { envv, NULL };
	struct lf_exec_spec es = { cmd, envp, NULL, 0, 0, 0 };
	struct xr x;
	int rc;

	snprintf(envv, sizeof(envv), "FABRIC_BIN=%s/fab2/bin", g_sshd.dir);
	rc = run(conn_known(), &t, &es, 0, &x, &err);
	fprintf(stderr, "crash child: exec returned %d (%s)\n", rc, err.msg);
	return 3;
}

static char g_self[4096];

/* run this test binary again as child WHICH on host NAME with
 * LEDGERFORM_CRASH_AT=CRASH_AT; it must die there by SIGKILL */
static void run_killed_child(const char *which, const char *name, const char *crash_at)
{
	char env[1024];
	pid_t pid;
	int st;

	snprintf(env, sizeof(env), "%d %s %s %s", g_sshd.port, g_sshd.dir, g_sshd.host_fp, g_sshd.user);
	pid = fork();
	if (pid == 0) {
		setenv("LF_TEST_SSHD", env, 1);
		setenv("LEDGERFORM_CRASH_AT", crash_at, 1);
		execl(g_self, g_self, which, name, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_ssh_put_killed(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], *one = file_of("m9", "f/one"), *text = NULL;
	struct lf_target t = target("m9", LIN_A, res, sizeof(res));
	struct lf_file old[] = {
		{ "f/one", "old-1\n", 6, 0644, NULL },
		{ "f/two", "old-2\n", 6, 0644, NULL },
	};
	struct lf_file files[] = {
		{ "f/one", "new-1\n", 6, 0644, NULL },
		{ "f/two", "new-2\n", 6, 0644, NULL },
		{ "f/three", "new-3\n", 6, 0644, NULL },
	};

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	must_prepare(c, &t);
	assert_int_equal(put(c, &t, old, 2, &err), 0);
	run_killed_child("crash-put", "m9", "ssh.put.tmp_written:2");
	/* killed after writing temporaries: the old files, whole */
	assert_int_equal(lf_read_file(one, &text, NULL, NULL), 0);
	assert_string_equal(text, "old-1\n");
	free(text);
	assert_false(on_machine("m9", "f/three"));
	assert_true(on_machine("m9", "f/.one.lf-tmp")); /* the cut transfer's */
	/* the next put finishes and leaves no temporary */
	assert_int_equal(put(c, &t, files, 3, &err), 0);
	assert_int_equal(lf_read_file(one, &text, NULL, NULL), 0);
	assert_string_equal(text, "new-1\n");
	free(text);
	assert_true(on_machine("m9", "f/three"));
	assert_false(on_machine("m9", "f/.one.lf-tmp"));
	assert_false(on_machine("m9", "f/.two.lf-tmp"));
	assert_int_equal(release(c, &t, &err), 0);
	free(one);
	g_drv->close(c);
}

/* ---- commands --------------------------------------------------------------- */

static void test_ssh_exec(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m10", LIN_A, res, sizeof(res));
	const char *echo[] = { "printf", "%s|%s|%s", "a b", "it's $HOME", "`x`;*", NULL };
	const char *envp[] = { "GREETING=hello world", NULL };
	const char *envcmd[] = { "sh", "-c", "echo \"$GREETING\"; echo \"${SECRET_TOKEN:-unset}\"; pwd", NULL };
	const char *fail[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *missing[] = { "no-such-command-here", NULL };
	const char *big[] = { "seq", "1", "100000", NULL };
	const char *script[] = { "echo \"$1-$2\"", "x", "y z", NULL };
	const char *cat[] = { "cat", NULL };
	struct lf_exec_spec es = { echo, NULL, NULL, 0, 0, 0 };
	struct xr x;
	char *root = root_of("m10"), *want;

	(void)state;
	SKIP_WITHOUT_SSHD();
	setenv("SECRET_TOKEN", "leak", 1); /* the controller's env never reaches a command */
	c = conn_known();
	must_prepare(c, &t);
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 0);
	assert_string_equal(txt(&x.out), "a b|it's $HOME|`x`;*");
	assert_string_equal(txt(&x.err), "");
	xr_free(&x);
	es.argv = envcmd;
	es.envp = envp;
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	want = lf_xasprintf("hello world\nunset\n%s\n", root);
	assert_string_equal(txt(&x.out), want);
	free(want);
	xr_free(&x);
	es.envp = NULL;
	es.argv = fail;
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 3);
	assert_string_equal(txt(&x.out), "out\n");
	assert_string_equal(txt(&x.err), "err\n");
	xr_free(&x);
	es.argv = missing;
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 127);
	xr_free(&x);
	es.argv = big;
	es.out_max = 12;
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_string_equal(txt(&x.out), "99999\n100000\n" + 1);
	xr_free(&x);
	es.out_max = 0;
	es.argv = script;
	assert_int_equal(run(c, &t, &es, LF_EXEC_SHELL, &x, &err), 0);
	assert_string_equal(txt(&x.out), "x-y z\n");
	xr_free(&x);
	es.argv = cat;
	es.stdin_data = "from stdin";
	es.stdin_len = 10;
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_string_equal(txt(&x.out), "from stdin");
	xr_free(&x);
	assert_int_equal(release(c, &t, &err), 0);
	unsetenv("SECRET_TOKEN");
	free(root);
	g_drv->close(c);
}

/* bounded wait until no process carries word */
static bool procs_gone(const char *word)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int i;

	for (i = 0; i < 200 && sshd_proc_running(word); i++)
		nanosleep(&ts, NULL);
	return !sshd_proc_running(word);
}

static void test_ssh_exec_timeout(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m11", LIN_A, res, sizeof(res));
	/* a background child and a foreground one, both marked */
	const char *cmd[] = { "sh", "-c", "sleep 987651 & sleep 987652; wait", NULL };
	struct lf_exec_spec es = { cmd, NULL, NULL, 0, 700, 0 };
	struct xr x;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	must_prepare(c, &t);
	assert_int_equal(run(c, &t, &es, 0, &x, &err), LF_ETIMEOUT);
	assert_non_null(strstr(err.msg, "timed out"));
	xr_free(&x);
	/* the remote command and what it started are gone */
	assert_true(procs_gone("sleep 98765"));
	/* the connection still works */
	es.argv = (const char *[]){ "true", NULL };
	es.timeout_ms = 0;
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_int_equal(x.r.exit_status, 0);
	xr_free(&x);
	assert_false(sshd_proc_running("sleep 98765"));
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* ---- Fabric binaries once per machine ------------------------------------------ */

static void test_ssh_fabric_bin_once(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], envv[512], *out = NULL, path[600];
	struct lf_target t = target("m12", LIN_A, res, sizeof(res));
	const char *cmd[] = { "sh", "-c", "\"$FABRIC_BIN/peer\" version; echo \"$FABRIC_BIN\"", NULL };
	const char *envp[] = { envv, NULL };
	struct lf_exec_spec es = { cmd, envp, NULL, 0, 0, 0 };
	struct stat st1, st2;
	struct xr x;
	char want[65], got[65];
	int i;

	(void)state;
	SKIP_WITHOUT_SSHD();
	/* a folder laid out like Fabric's releases: bin/ and config/ */
	assert_int_equal(sshd_sh("mkdir -p %s/fab/bin %s/fab/config && "
				 "printf '#!/bin/sh\\necho peer-fake-$1\\n' > %s/fab/bin/peer && "
				 "chmod 755 %s/fab/bin/peer && echo 'peer: {}' > %s/fab/config/core.yaml",
				 g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.dir), 0);
	snprintf(envv, sizeof(envv), "FABRIC_BIN=%s/fab/bin", g_sshd.dir);
	for (i = 0; i < 2; i++) { /* a new connection each time: no cache in this process */
		c = conn_known();
		must_prepare(c, &t);
		assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
		if (x.r.exit_status != 0)
			fail_msg("exit %d: %s", x.r.exit_status, txt(&x.err));
		out = strchr(txt(&x.out), '\n');
		assert_non_null(out);
		assert_int_equal(strncmp(txt(&x.out), "peer-fake-version\n", 18), 0);
		/* the remote copy, not the controller's folder */
		assert_non_null(strstr(out + 1, "/bin-remote/"));
		snprintf(path, sizeof(path), "%.*s/peer", (int)strcspn(out + 1, "\n"), out + 1);
		assert_int_equal(stat(path, i == 0 ? &st1 : &st2), 0);
		if (i == 0) {
			snprintf(path, sizeof(path), "%s/fab/bin/peer", g_sshd.dir);
			sha256_file(path, want);
			snprintf(path, sizeof(path), "%.*s/peer", (int)strcspn(out + 1, "\n"), out + 1);
			sha256_file(path, got);
			assert_string_equal(got, want);
			snprintf(path, sizeof(path), "%.*s/../config/core.yaml", (int)strcspn(out + 1, "\n"), out + 1);
			assert_int_equal(access(path, R_OK), 0);
		}
		xr_free(&x);
		g_drv->close(c);
	}
	/* not sent again: the same file, untouched */
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtime, st2.st_mtime);
	c = conn_known();
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* the one folder in g_bin_dir whose name ends in suffix ("": the one
 * that is not a temporary), or NULL */
static char *bin_remote_dir(const char *suffix)
{
	char *dir = path_of(g_bin_dir), *found = NULL;
	struct dirent *e;
	DIR *d = opendir(dir);
	size_t sl = strlen(suffix);

	while (d && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.' || n < sl || strcmp(e->d_name + n - sl, suffix) != 0 ||
		    (!*suffix && strstr(e->d_name, ".lf-tmp")))
			continue;
		assert_null(found);
		found = lf_xasprintf("%s/%s", dir, e->d_name);
	}
	if (d)
		closedir(d);
	free(dir);
	return found;
}

static void test_ssh_fabric_bin_cut(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], envv[512], *tmp, *fin, *p, *text = NULL;
	struct lf_target t = target("m13", LIN_A, res, sizeof(res));
	const char *cmd[] = { "sh", "-c", "\"$FABRIC_BIN/peer\"; cat \"$FABRIC_BIN/../config/core.yaml\"", NULL };
	const char *envp[] = { envv, NULL };
	struct lf_exec_spec es = { cmd, envp, NULL, 0, 0, 0 };
	struct stat st1, st2;
	struct xr x;

	(void)state;
	SKIP_WITHOUT_SSHD();
	g_bin_dir = "bin-cut"; /* a bin_root of its own: nothing delivered there yet */
	assert_int_equal(sshd_sh("mkdir -p %s/fab2/bin %s/fab2/config && "
				 "printf '#!/bin/sh\\necho peer-two\\n' > %s/fab2/bin/peer && "
				 "head -c 3000000 /dev/urandom > %s/fab2/bin/orderer && "
				 "chmod 755 %s/fab2/bin/* && echo 'peer: {two: 2}' > %s/fab2/config/core.yaml",
				 g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.dir), 0);
	c = conn_known();
	must_prepare(c, &t);
	g_drv->close(c);
	run_killed_child("crash-bin", "m13", "ssh.bin.sent:1");
	/* sent, never committed: only the temporary folder, nothing under the
	 * final name */
	tmp = bin_remote_dir(".lf-tmp");
	assert_non_null(tmp);
	assert_null(bin_remote_dir(""));
	p = lf_xasprintf("%s/bin/orderer", tmp);
	assert_int_equal(stat(p, &st1), 0);
	free(p);
	/* a file the cut left damaged */
	assert_int_equal(sshd_sh("echo half > %s/config/core.yaml", tmp), 0);
	/* the next delivery sends only that file, checks all, commits */
	snprintf(envv, sizeof(envv), "FABRIC_BIN=%s/fab2/bin", g_sshd.dir);
	c = conn_known();
	if (run(c, &t, &es, 0, &x, &err) != 0)
		fail_msg("exec after the cut: %s", err.msg);
	if (x.r.exit_status != 0)
		fail_msg("exit %d: %s", x.r.exit_status, txt(&x.err));
	assert_string_equal(txt(&x.out), "peer-two\npeer: {two: 2}\n");
	xr_free(&x);
	fin = bin_remote_dir("");
	assert_non_null(fin);
	assert_null(bin_remote_dir(".lf-tmp"));
	p = lf_xasprintf("%s/bin/orderer", fin);
	assert_int_equal(stat(p, &st2), 0);
	/* the whole one was kept, not written again (a rewrite keeps the inode
	 * but not the modification time) */
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	free(p);
	p = lf_xasprintf("%s/config/core.yaml", fin);
	assert_int_equal(lf_read_file(p, &text, NULL, NULL), 0);
	assert_string_equal(text, "peer: {two: 2}\n");
	free(text);
	free(p);
	free(fin);
	free(tmp);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
	g_bin_dir = "bin-remote";
}

/* ---- 20 parallel actions on one machine ----------------------------------------- */

struct par {
	struct lf_driver_conn *c;
	int i, rc;
	char msg[256];
};

static void *par_worker(void *arg)
{
	struct par *p = arg;
	struct lf_err err = LF_ERR_INIT;
	char res[64], name[32], body[32];
	struct lf_target t;
	struct lf_file f = { "fabric/node.env", body, 0, 0644, NULL };
	const char *cmd[] = { "cat", "fabric/node.env", NULL };
	struct lf_exec_spec es = { cmd, NULL, NULL, 0, 0, 0 };
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_call call;
	struct xr x;

	snprintf(name, sizeof(name), "par%d", p->i);
	snprintf(body, sizeof(body), "NODE=%d\n", p->i);
	f.len = strlen(body);
	t = target(name, LIN_A, res, sizeof(res));
	lf_call_init(&call, "ssh", "dc1", t.resource);
	p->rc = g_drv->machine_prepare(p->c, &t, &call, b, 0, &err);
	json_decref(lf_kv_builder_finish(b));
	if (p->rc == 0)
		p->rc = put(p->c, &t, &f, 1, &err);
	if (p->rc == 0) {
		p->rc = run(p->c, &t, &es, 0, &x, &err);
		if (p->rc == 0 && strcmp(txt(&x.out), body) != 0)
			p->rc = -100;
		xr_free(&x);
	}
	if (p->rc == 0)
		p->rc = release(p->c, &t, &err);
	snprintf(p->msg, sizeof(p->msg), "%.200s", err.msg);
	return NULL;
}

static void test_ssh_parallel(void **state)
{
	struct par p[20];
	pthread_t th[20];
	struct lf_driver_conn *c;
	int i;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	assert_true(g_drv->caps & LF_CAP_CONN_SHARED);
	for (i = 0; i < 20; i++) {
		p[i].c = c;
		p[i].i = i;
		assert_int_equal(pthread_create(&th[i], NULL, par_worker, &p[i]), 0);
	}
	for (i = 0; i < 20; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 20; i++)
		if (p[i].rc != 0)
			fail_msg("worker %d: %d %s", i, p[i].rc, p[i].msg);
	g_drv->close(c);
}

/* ---- channels at once on the one connection ---------------------------------------- */

#define TOGETHER 20

/* each command marks itself started, then waits (bounded) until all
 * TOGETHER have: only calls running at the same time on the connection can
 * pass; calls that take turns give up after 60 s with a clear message */
static const char together_sh[] =
	"touch \"gate/started.$1\"; n=0\n"
	"while :; do\n"
	"  set -- gate/started.*; [ $# -ge 20 ] && break\n"
	"  [ -e gate/abort ] && { echo 'gave up: another command waited in vain'; exit 4; }\n"
	"  n=$((n+1))\n"
	"  if [ $n -gt 600 ]; then touch gate/abort;\n"
	"    echo \"only $# of 20 commands were running at once after 60 s: calls on one connection take turns\"; exit 3; fi\n"
	"  sleep 0.1\n"
	"done\necho together\n";

struct tog {
	struct lf_driver_conn *c;
	const struct lf_target *t;
	const char *script;     /* together_sh unless set */
	int i, rc, status;
	char out[256], msg[256];
};

static void *tog_worker(void *arg)
{
	struct tog *p = arg;
	struct lf_err err = LF_ERR_INIT;
	char idx[16];
	const char *argv[] = { p->script ? p->script : together_sh, idx, NULL };
	struct lf_exec_spec es = { argv, NULL, NULL, 0, 120000, 0 };
	struct xr x;

	snprintf(idx, sizeof(idx), "%d", p->i);
	p->rc = run(p->c, p->t, &es, LF_EXEC_SHELL, &x, &err);
	p->status = x.r.exit_status;
	snprintf(p->out, sizeof(p->out), "%.200s", txt(&x.out));
	snprintf(p->msg, sizeof(p->msg), "%.200s", err.msg);
	xr_free(&x);
	return NULL;
}

/* a connection allowing max channels at once */
static struct lf_driver_conn *conn_channels(int max)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_driver_conn *c;
	json_t *cfg;
	int rc;

	known_hosts_write("kh_ok", "host_key.pub", true);
	cfg = base_cfg("kh_ok");
	json_object_set_new(cfg, "max_channels", json_integer(max));
	c = open_cfg(cfg, &rc, &err);
	if (rc != 0)
		fail_msg("open: %s", err.msg);
	return c;
}

static void test_ssh_channels_together(void **state)
{
	struct tog p[TOGETHER];
	pthread_t th[TOGETHER];
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("tog", LIN_A, res, sizeof(res));
	struct lf_call call;
	int i;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_channels(TOGETHER + 4);
	must_prepare(c, &t);
	lf_call_init(&call, "ssh", "dc1", t.resource);
	assert_int_equal(g_drv->mkdir(c, &t, "gate", 0755, &call, 0, &err), 0);
	for (i = 0; i < TOGETHER; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].c = c;
		p[i].t = &t;
		p[i].i = i;
		assert_int_equal(pthread_create(&th[i], NULL, tog_worker, &p[i]), 0);
	}
	for (i = 0; i < TOGETHER; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < TOGETHER; i++) {
		if (p[i].rc != 0)
			fail_msg("command %d: %d %s", i, p[i].rc, p[i].msg);
		if (p[i].status != 0 || strcmp(p[i].out, "together\n") != 0)
			fail_msg("command %d: exit %d: %s", i, p[i].status, p[i].out);
	}
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* parallel puts of distinct files while a command waits for all of them:
 * transfers are not held up by a running command, nor by each other */
#define NPUTS 8
#define PUT_LEN (3u * 1024 * 1024)

struct pput {
	struct lf_driver_conn *c;
	const struct lf_target *t;
	unsigned char *data;
	char path[32];
	int rc;
	char msg[256];
};

static void *pput_worker(void *arg)
{
	struct pput *p = arg;
	struct lf_err err = LF_ERR_INIT;
	struct lf_file f = { p->path, p->data, PUT_LEN, 0640, NULL };

	p->rc = put(p->c, p->t, &f, 1, &err);
	snprintf(p->msg, sizeof(p->msg), "%.200s", err.msg);
	return NULL;
}

static const char wait_puts_sh[] =
	"touch waiting; n=0; while :; do\n"
	"  set -- puts/f*.bin; [ -e \"$1\" ] && [ $# -ge 8 ] && break\n"
	"  n=$((n+1)); [ $n -gt 600 ] && { echo \"only $# of 8 files arrived while this command ran (60 s)\"; exit 3; }\n"
	"  sleep 0.1\n"
	"done; echo arrived\n";

static void test_ssh_puts_in_parallel(void **state)
{
	struct pput p[NPUTS];
	pthread_t th[NPUTS], wt;
	struct tog w;
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64], want[65], got[65], *path;
	struct lf_target t = target("pp", LIN_A, res, sizeof(res));
	uint32_t x = 777;
	size_t i, k;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_channels(16);
	must_prepare(c, &t);
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.t = &t;
	for (i = 0; i < NPUTS; i++) {
		p[i].c = c;
		p[i].t = &t;
		p[i].data = malloc(PUT_LEN);
		assert_non_null(p[i].data);
		for (k = 0; k < PUT_LEN; k++) {
			x = x * 1103515245u + 12345u;
			p[i].data[k] = (unsigned char)(x >> 16);
		}
		snprintf(p[i].path, sizeof(p[i].path), "puts/f%zu.bin", i);
	}
	/* the waiting command first, on a thread of its own; the puts start
	 * once it runs */
	w.script = wait_puts_sh;
	assert_int_equal(pthread_create(&wt, NULL, tog_worker, &w), 0);
	path = file_of("pp", "waiting");
	for (k = 0; k < 600 && access(path, F_OK) != 0; k++)
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	free(path);
	if (k == 600)
		fail_msg("the waiting command did not start within 60 s");
	for (i = 0; i < NPUTS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, pput_worker, &p[i]), 0);
	for (i = 0; i < NPUTS; i++)
		pthread_join(th[i], NULL);
	pthread_join(wt, NULL);
	for (i = 0; i < NPUTS; i++) {
		if (p[i].rc != 0)
			fail_msg("put %zu: %d %s", i, p[i].rc, p[i].msg);
		sha256_mem(p[i].data, PUT_LEN, want);
		path = file_of("pp", p[i].path);
		sha256_file(path, got);
		assert_string_equal(got, want);
		free(path);
		free(p[i].data);
	}
	if (w.rc != 0 || w.status != 0 || strcmp(w.out, "arrived\n") != 0)
		fail_msg("the waiting command: %d exit %d: %s %s", w.rc, w.status, w.out, w.msg);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* ---- a killed server: transient, then reconnected ---------------------------------- */

static void test_ssh_server_killed(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	char res[64];
	struct lf_target t = target("m13", LIN_A, res, sizeof(res));
	const char *cmd[] = { "echo", "back", NULL };
	struct lf_exec_spec es = { cmd, NULL, NULL, 0, 0, 0 };
	struct xr x;
	int rc;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = conn_known();
	must_prepare(c, &t);
	sshd_kill(&g_sshd);
	rc = run(c, &t, &es, 0, &x, &err);
	xr_free(&x);
	assert_int_equal(rc, LF_ERETRY);
	/* and while it is down: still transient (connection refused) */
	rc = run(c, &t, &es, 0, &x, &err);
	xr_free(&x);
	assert_int_equal(rc, LF_ERETRY);
	assert_int_equal(sshd_restart(&g_sshd), 0);
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	assert_string_equal(txt(&x.out), "back\n");
	xr_free(&x);
	assert_int_equal(release(c, &t, &err), 0);
	g_drv->close(c);
}

/* ---- benchmark (LF_SSH_BENCH=1): 20 bundles plus binaries, against scp -r ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a node-like bundle: 12 files of 1 KiB (certs, keys) and a 2 KiB env */
#define BENCH_FILES 13

static void bench_bundle(struct lf_file *f, char names[][64], char *data)
{
	int i;

	memset(data, 'c', 2048);
	for (i = 0; i < BENCH_FILES; i++) {
		snprintf(names[i], 64, i < 12 ? "fabric/msp/d%d/f%d.pem" : "fabric/node.env", i % 4, i);
		f[i].path = names[i];
		f[i].data = data;
		f[i].len = i < 12 ? 1024 : 2048;
		f[i].mode = i % 4 == 0 ? 0600 : 0644;
		f[i].owner = NULL;
	}
}

static void test_ssh_bench(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct lf_file f[BENCH_FILES];
	char names[BENCH_FILES][64], data[2048], res[64], name[32], envv[600];
	const char *bin = getenv("FABRIC_BIN");
	const char *cmd[] = { "true", NULL };
	const char *envp[] = { envv, NULL };
	struct lf_exec_spec es = { cmd, envp, NULL, 0, 0, 0 };
	struct lf_target t;
	struct xr x;
	double tp, t0, t1, t2;
	int i;

	(void)state;
	SKIP_WITHOUT_SSHD();
	if (!getenv("LF_SSH_BENCH")) {
		print_message("skipped: set LF_SSH_BENCH=1 (and FABRIC_BIN) to run the benchmark\n");
		skip();
	}
	bench_bundle(f, names, data);
	snprintf(envv, sizeof(envv), "FABRIC_BIN=%s", bin ? bin : "/nonexistent");
	tp = now_s();
	c = conn_known();
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		t = target(name, LIN_A, res, sizeof(res));
		must_prepare(c, &t);
	}
	t0 = now_s();
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		t = target(name, LIN_A, res, sizeof(res));
		assert_int_equal(put(c, &t, f, BENCH_FILES, &err), 0);
	}
	t1 = now_s();
	assert_int_equal(run(c, &t, &es, 0, &x, &err), 0);
	xr_free(&x);
	t2 = now_s();
	g_drv->close(c);
	print_message("ledgerform ssh: connect + 20 machine roots (prepare, facts) %.2f s; 20 bundles (%d files, %d bytes) %.2f s; binaries (%s) %.2f s; total %.2f s\n",
		      t0 - tp, 20 * BENCH_FILES, 20 * (12 * 1024 + 2048), t1 - t0, bin ? bin : "none",
		      t2 - t1, t2 - tp);
	/* the same files with scp -r, the same key and known_hosts */
	assert_int_equal(sshd_sh("d=%s; rm -rf $d/bsrc && mkdir -p $d/bsrc && for i in $(seq 0 19); do "
				 "for j in 0 1 2 3; do mkdir -p $d/bsrc/b$i/fabric/msp/d$j; done; "
				 "for j in $(seq 0 11); do head -c 1024 /dev/zero > $d/bsrc/b$i/fabric/msp/d$((j%%4))/f$j.pem; done; "
				 "head -c 2048 /dev/zero > $d/bsrc/b$i/fabric/node.env; done; "
				 "%s%s%s",
				 g_sshd.dir, bin ? "cp -r " : "", bin ? bin : "", bin ? " $d/bsrc/bin" : ""), 0);
	t0 = now_s();
	assert_int_equal(sshd_sh("scp -q -r -P %d -i %s/user_key -o UserKnownHostsFile=%s/kh_ok "
				 "-o StrictHostKeyChecking=yes %s/bsrc %s@127.0.0.1:%s/scp-dst",
				 g_sshd.port, g_sshd.dir, g_sshd.dir, g_sshd.dir, g_sshd.user, g_sshd.dir), 0);
	t1 = now_s();
	print_message("scp -r of the same files: %.2f s\n", t1 - t0);
	c = conn_known();
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		t = target(name, LIN_A, res, sizeof(res));
		assert_int_equal(release(c, &t, &err), 0);
	}
	g_drv->close(c);
}

/* ---- the systemd unit a node runs as where the machine has systemd ---------------- */

static void test_ssh_systemd_unit_renders(void **state)
{
	char dir[] = "/tmp/lf-unit-XXXXXX", *unit, *text = NULL;

	(void)state;
	if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
		print_message("skipped: no systemd-analyze\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	unit = lf_xasprintf("%s/lf-peer0-bank.service", dir);
	assert_int_equal(sshd_sh("mkdir -p %s/root/fabric && sed -e 's|@NAME@|peer0-bank|; "
				 "s|@RESOURCE@|host.bank.peer0|; s|@USER@|root|; s|@ROOT@|%s/root|g; "
				 "s|@EXEC@|fabric/run.sh|' %s/templates/systemd/ledgerform-node.service.in > %s",
				 dir, dir, LF_SOURCE_DIR, unit), 0);
	assert_int_equal(lf_read_file(unit, &text, NULL, NULL), 0);
	assert_non_null(strstr(text, "\nRestart=on-failure\n"));
	assert_non_null(strstr(text, "\nWantedBy=multi-user.target\n"));
	assert_null(strstr(text, "@ROOT@"));
	/* systemd's own checker accepts it (never started: no systemd here) */
	assert_int_equal(sshd_sh("systemd-analyze verify %s", unit), 0);
	free(text);
	free(unit);
	lf_rmtree(dir, NULL);
}

/* ---- fixture -------------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	g_drv = sshd_ssh_driver(&g_reg);
	(void)sshd_start(&g_sshd, 22200, g_skip, sizeof(g_skip));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sshd_stop(&g_sshd);
	lf_registry_free(g_reg);
	return 0;
}

/* re-executed as the killed child of test_ssh_put_killed */
static int child_main(const char *which, const char *name)
{
	const char *env = getenv("LF_TEST_SSHD");
	struct lf_err err = LF_ERR_INIT;
	char user[64];

	if (!env || sscanf(env, "%d %199s %95s %63s", &g_sshd.port, g_sshd.dir, g_sshd.host_fp, user) != 4)
		return 2;
	g_sshd.user = user;
	if (lf_registry_new(&g_reg) != 0 || lf_registry_get(g_reg, "ssh", &g_drv, &err) != 0)
		return 2;
	if (strcmp(which, "crash-bin") == 0) {
		g_bin_dir = "bin-cut";
		return crash_bin_child(name);
	}
	return crash_child(name);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_validate),
		cmocka_unit_test(test_ssh_systemd_unit_renders),
		cmocka_unit_test(test_ssh_known_host_facts),
		cmocka_unit_test(test_ssh_unknown_host_then_accept_new),
		cmocka_unit_test(test_ssh_changed_key_refused),
		cmocka_unit_test(test_ssh_pinned_fingerprint),
		cmocka_unit_test(test_ssh_wrong_user_key),
		cmocka_unit_test(test_ssh_marker_only_ours),
		cmocka_unit_test(test_ssh_put_modes_get_mkdir_remove),
		cmocka_unit_test(test_ssh_put_large),
		cmocka_unit_test(test_ssh_put_odd_names),
		cmocka_unit_test(test_ssh_put_killed),
		cmocka_unit_test(test_ssh_exec),
		cmocka_unit_test(test_ssh_exec_timeout),
		cmocka_unit_test(test_ssh_fabric_bin_once),
		cmocka_unit_test(test_ssh_fabric_bin_cut),
		cmocka_unit_test(test_ssh_parallel),
		cmocka_unit_test(test_ssh_channels_together),
		cmocka_unit_test(test_ssh_puts_in_parallel),
		cmocka_unit_test(test_ssh_server_killed),
		cmocka_unit_test(test_ssh_bench),
	};

	if (argc == 3 && (strcmp(argv[1], "crash-put") == 0 || strcmp(argv[1], "crash-bin") == 0))
		return child_main(argv[1], argv[2]);
	if (!realpath("/proc/self/exe", g_self))
		return 1;
	return sshd_run_group(tests, sizeof(tests) / sizeof(tests[0]), group_setup, group_teardown);
}
