/*
 * Jump hosts of the ssh driver (config `jump:`), through the real plugin
 * loader against two real OpenSSH servers this test starts on 127.0.0.1
 * (ports 33500-33599): J, the jump host, and T, the machine.
 *
 * Loopback cannot be firewalled, so T is reachable directly too; what the
 * test proves instead: T's authorized key is given only for the machine
 * and J's only for the hop (each server accepts only its own), and, while
 * the driver's connection is open, the TCP connection to T's port is held
 * by a process of J's sshd (found through /proc/net/tcp and /proc/PID/fd),
 * none by this process, and T's own log says it authenticated a client
 * from exactly that socket's port. Also: a file of 8 MB through the
 * tunnel by SHA-256, a wrong jump host key refused with its fingerprint
 * (LF_EAUTH, nothing reached), an unknown one accepted with accept-new and
 * recorded, J killed giving a transient error and the next call
 * reconnecting, validate's checks of `jump`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "core/plugin/call.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"
#include "sshd_fixture.h"

#define LIN "c3c3c3c3-0000-4000-8000-00000000000c"

static struct sshd g_jump, g_tgt;
static char g_skip[256];
static struct lf_registry *g_reg;
static const struct lf_driver *g_drv;

#define SKIP_WITHOUT_SSHD() SSHD_SKIP(g_skip)

/* the machine T reached through J; hop pinned to pin (NULL: known_hosts) */
static json_t *jump_cfg(const char *pin)
{
	char *tkey = sshd_path(&g_tgt, "user_key"), *jkey = sshd_path(&g_jump, "user_key");
	char *root = sshd_path(&g_tgt, "remote"), *bin = sshd_path(&g_tgt, "bin-remote");
	char *kh = sshd_path(&g_tgt, "known_hosts");
	json_t *hop = json_pack("{s:s, s:i, s:s}", "address", "127.0.0.1", "port", g_jump.port,
				"identity", jkey);
	json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:[o]}", "user",
				g_tgt.user, "port", g_tgt.port, "identity", tkey, "known_hosts", kh,
				"host_key", g_tgt.host_fp, "root", root, "bin_root", bin,
				"connect_timeout", 5, "jump", hop);

	if (pin)
		json_object_set_new(hop, "host_key", json_string(pin));
	free(tkey);
	free(jkey);
	free(root);
	free(bin);
	free(kh);
	return cfg;
}

static struct lf_driver_conn *open_cfg(json_t *cfg, int *rc, struct lf_err *err)
{
	return sshd_driver_open(g_drv, cfg, rc, err);
}

static struct lf_target target(void)
{
	struct lf_target t;

	memset(&t, 0, sizeof(t));
	t.resource = "host.dc1.behind";
	t.lineage = LIN;
	t.name = "behind";
	t.machine_address = "127.0.0.1";
	return t;
}

static int prepare(struct lf_driver_conn *c, struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_target t = target();
	struct lf_call call;
	int rc;

	lf_call_init(&call, "ssh", "dc1", t.resource);
	lf_err_clear(err);
	rc = g_drv->machine_prepare(c, &t, &call, b, 0, err);
	json_decref(lf_kv_builder_finish(b));
	return rc;
}

/* exec argv on T; stdout into out (malloc'd) */
static int run(struct lf_driver_conn *c, const char *const *argv, char **out,
	       struct lf_err *err)
{
	struct lf_exec_spec es = { 0 };
	struct lf_exec_result r = { 0 };
	struct lf_blob bo, be;
	struct lf_target t = target();
	struct lf_call call;
	int rc;

	es.argv = argv;
	es.out_max = 1 << 16;
	lf_blob_init(&bo, 0);
	lf_blob_init(&be, 0);
	r.out = &bo;
	r.err = &be;
	lf_call_init(&call, "ssh", "dc1", t.resource);
	lf_err_clear(err);
	rc = g_drv->exec(c, &t, &es, &r, &call, 0, err);
	if (rc == 0 && r.exit_status != 0)
		rc = -1;
	*out = strdup(bo.data ? bo.data : "");
	lf_blob_free(&bo);
	lf_blob_free(&be);
	return rc;
}

/* ---- who holds the connection to T ------------------------------------------- */

/* the inode and local port of the established TCP connection to port */
static bool tcp_to_port(int port, unsigned long *inode, int *lport)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned int lp, rp, st;
	unsigned long ino;
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*d: %*8x:%x %*8x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lp, &rp,
			   &st, &ino) == 4 && (int)rp == port && st == 1 && ino != 0) {
			*inode = ino;
			*lport = (int)lp;
			found = true;
		}
	if (f)
		fclose(f);
	return found;
}

struct owner {
	char want[64];
	long pid;
};

static void find_owner(long pid, void *payload)
{
	struct owner *o = payload;
	char dir[64], link[64], path[400];
	struct dirent *e;
	DIR *d;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	d = o->pid ? NULL : opendir(dir);
	while (d && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = '\0', strcmp(link, o->want) == 0))
			o->pid = pid;
	}
	if (d)
		closedir(d);
}

static long parent_of(long pid)
{
	char path[64], buf[512], *p;
	long pp = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	p = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 2, "%*c %ld", &pp) != 1)
		pp = 0;
	if (f)
		fclose(f);
	return pp;
}

static bool descends_from(long pid, long ancestor)
{
	int i;

	for (i = 0; i < 64 && pid > 1; i++, pid = parent_of(pid))
		if (pid == ancestor)
			return true;
	return false;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_jump_reaches_machine(void **state)
{
	const char *hello[] = { "sh", "-c", "echo via-$((40+2))", NULL };
	struct lf_err err = LF_ERR_INIT;
	struct owner o = { "", 0 };
	unsigned long inode = 0;
	int rc, lport = 0;
	char *out = NULL, *log = NULL, *logp, want[96];
	struct lf_driver_conn *c;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = open_cfg(jump_cfg(g_jump.host_fp), &rc, &err);
	assert_int_equal(rc, 0);
	if (prepare(c, &err) != 0)
		fail_msg("prepare through the jump host: %s", err.msg);
	assert_int_equal(run(c, hello, &out, &err), 0);
	assert_string_equal(out, "via-42\n");
	free(out);
	/* the connection is open: who holds its client end? */
	assert_true(tcp_to_port(g_tgt.port, &inode, &lport));
	snprintf(o.want, sizeof(o.want), "socket:[%lu]", inode);
	sshd_proc_each(find_owner, &o);
	print_message("  connection to T: client port %d held by pid %ld (J's sshd is %d)\n",
		      lport, o.pid, (int)g_jump.pid);
	assert_true(o.pid > 0);
	assert_true(o.pid != (long)getpid());
	assert_true(descends_from(o.pid, (long)g_jump.pid));
	/* and T authenticated the client that came from that port */
	logp = sshd_path(&g_tgt, "sshd.log");
	assert_int_equal(lf_read_file(logp, &log, NULL, NULL), 0);
	snprintf(want, sizeof(want), "Accepted publickey for %s from 127.0.0.1 port %d ", g_tgt.user,
		 lport);
	assert_non_null(strstr(log, want));
	free(log);
	free(logp);
	g_drv->close(c);
}

/* put data as big.bin (with the root prepared) and check its SHA-256 on
 * the machine; the seconds the put took */
static double put_checked(struct lf_driver_conn *c, const unsigned char *data, size_t size,
			  const char *hex)
{
	const char *sum[] = { "sha256sum", "big.bin", NULL };
	struct lf_file f = { "big.bin", data, size, 0640, NULL };
	struct lf_err err = LF_ERR_INIT;
	struct lf_target t = target();
	struct lf_call call;
	struct timespec a, b;
	char *out = NULL;

	assert_int_equal(prepare(c, &err), 0);
	lf_call_init(&call, "ssh", "dc1", t.resource);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (g_drv->put(c, &t, &f, 1, &call, 0, &err) != 0)
		fail_msg("put: %s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(run(c, sum, &out, &err), 0);
	assert_int_equal(strncmp(out, hex, 64), 0);
	free(out);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

/* 8 MB through the tunnel arrive whole (SHA-256 on the machine); the time
 * against a direct connection is printed (not asserted) */
static void test_jump_large_file(void **state)
{
	const size_t size = 8u << 20;
	unsigned char *data, md[32];
	char hex[65];
	struct lf_err err = LF_ERR_INIT;
	unsigned int i, n = 0;
	double via, direct;
	int rc;
	struct lf_driver_conn *c;
	json_t *cfg;

	(void)state;
	SKIP_WITHOUT_SSHD();
	data = malloc(size);
	for (i = 0; i < size; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	EVP_Digest(data, size, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	c = open_cfg(jump_cfg(g_jump.host_fp), &rc, &err);
	via = put_checked(c, data, size, hex);
	g_drv->close(c);
	cfg = jump_cfg(g_jump.host_fp);
	json_object_del(cfg, "jump");
	c = open_cfg(cfg, &rc, &err);
	direct = put_checked(c, data, size, hex);
	g_drv->close(c);
	print_message("  8 MiB put: %.2f s through the jump host, %.2f s direct\n", via, direct);
	free(data);
}

static void test_jump_wrong_key_refused(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;
	struct lf_driver_conn *c;

	(void)state;
	SKIP_WITHOUT_SSHD();
	/* T's fingerprint pinned for J: J presents its own, refused */
	c = open_cfg(jump_cfg(g_tgt.host_fp), &rc, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(prepare(c, &err), LF_EAUTH);
	print_message("  %s\n", err.msg);
	assert_non_null(strstr(err.msg, "jump host key of 127.0.0.1 port"));
	assert_non_null(strstr(err.msg, g_jump.host_fp));
	assert_non_null(strstr(err.msg, "refused"));
	g_drv->close(c);
}

static void test_jump_unknown_then_accept_new(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	char *kh, *text = NULL, want[64];
	json_t *cfg;
	int rc;
	struct lf_driver_conn *c;

	(void)state;
	SKIP_WITHOUT_SSHD();
	kh = sshd_path(&g_tgt, "known_hosts");
	unlink(kh);
	c = open_cfg(jump_cfg(NULL), &rc, &err);
	assert_int_equal(prepare(c, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "jump host key of 127.0.0.1 port"));
	assert_non_null(strstr(err.msg, "is unknown"));
	assert_non_null(strstr(err.msg, g_jump.host_fp));
	g_drv->close(c);
	cfg = jump_cfg(NULL);
	json_object_set_new(cfg, "host_key_checking", json_string("accept-new"));
	c = open_cfg(cfg, &rc, &err);
	if (prepare(c, &err) != 0)
		fail_msg("accept-new: %s", err.msg);
	g_drv->close(c);
	assert_int_equal(lf_read_file(kh, &text, NULL, NULL), 0);
	snprintf(want, sizeof(want), "[127.0.0.1]:%d ", g_jump.port);
	assert_non_null(strstr(text, want));
	free(text);
	/* recorded: trusted through known_hosts alone now */
	c = open_cfg(jump_cfg(NULL), &rc, &err);
	assert_int_equal(prepare(c, &err), 0);
	g_drv->close(c);
	free(kh);
}

static void test_jump_host_killed(void **state)
{
	const char *echo[] = { "echo", "ok", NULL };
	struct lf_err err = LF_ERR_INIT;
	char *out = NULL;
	int rc;
	struct lf_driver_conn *c;

	(void)state;
	SKIP_WITHOUT_SSHD();
	c = open_cfg(jump_cfg(g_jump.host_fp), &rc, &err);
	assert_int_equal(prepare(c, &err), 0);
	sshd_kill(&g_jump);
	rc = run(c, echo, &out, &err);
	free(out);
	print_message("  J killed: %d %s\n", rc, err.msg);
	assert_int_equal(rc, LF_ERETRY);
	assert_int_equal(sshd_restart(&g_jump), 0);
	assert_int_equal(run(c, echo, &out, &err), 0);
	assert_string_equal(out, "ok\n");
	free(out);
	g_drv->close(c);
}

static void test_jump_validate(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	json_t *bad = json_pack("{s:[{s:i}, {s:s, s:s, s:i, s:s}]}", "jump", "port", 22,
				"address", "b", "host_key", "MD5:x", "port", 0, "proxy", "x");
	json_t *good = json_pack("{s:[{s:s}, {s:s, s:i, s:s}]}", "jump", "address", "bastion",
				 "address", "inner", "port", 2222, "user", "ops");
	struct lf_kv *kv = lf_kv_wrap(bad);

	(void)state;
	lf_call_init(&call, "ssh", "dc1", NULL);
	call.diags = json_array();
	assert_int_equal(g_drv->validate(kv, NULL, &call, 0, &err), LF_EINVALID);
	/* jump.0 has no address; jump.1: host_key, port, unknown key */
	assert_int_equal(json_array_size(call.diags), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(call.diags, 0), "path")),
			    "config.jump.0");
	json_decref(call.diags);
	lf_kv_unwrap(kv);
	kv = lf_kv_wrap(good);
	call.diags = json_array();
	lf_err_clear(&err);
	assert_int_equal(g_drv->validate(kv, NULL, &call, 0, &err), 0);
	assert_int_equal(json_array_size(call.diags), 0);
	json_decref(call.diags);
	lf_kv_unwrap(kv);
	json_decref(bad);
	json_decref(good);
}

/* ---- fixture ---------------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	g_drv = sshd_ssh_driver(&g_reg);
	sshd_log_level = "INFO"; /* T logs "Accepted publickey ... port N" */
	if (sshd_start(&g_jump, 33500, g_skip, sizeof(g_skip)) == 0)
		(void)sshd_start(&g_tgt, 33550, g_skip, sizeof(g_skip));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sshd_stop(&g_tgt);
	sshd_stop(&g_jump);
	lf_registry_free(g_reg);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jump_validate),
		cmocka_unit_test(test_jump_reaches_machine),
		cmocka_unit_test(test_jump_large_file),
		cmocka_unit_test(test_jump_wrong_key_refused),
		cmocka_unit_test(test_jump_unknown_then_accept_new),
		cmocka_unit_test(test_jump_host_killed),
	};

	return sshd_run_group(tests, sizeof(tests) / sizeof(tests[0]), group_setup, group_teardown);
}
