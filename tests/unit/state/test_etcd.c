/*
 * The etcd state backend against real etcd servers (Debian etcd-server)
 * started on 127.0.0.1 ports 22300-22399: round trip of 10k resources,
 * commits as one compare-and-swap, the lock between processes, a killed
 * holder's lease expiring, keep-alive loss, force-unlock, failover in a
 * 3-member cluster, TLS with a client certificate, and user/password auth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util/util.h"
#include "etcd_fixture.h"
#include "state/state.h"

static struct etcd_fx single; /* one member for most tests: 22300/22301 */
static struct etcd_fx other;   /* TLS (22320) or auth (22330) */
static struct etcd_fx cluster; /* 3 members: 22310-22315; stopped by the
				* group teardown too, so a failed assertion
				* leaves no etcd running */

static int group_setup(void **state)
{
	(void)state;
	return etcd_fx_start_one(&single, "s1", 22300, 22301);
}

static int group_teardown(void **state)
{
	(void)state;
	etcd_fx_stop(&single);
	etcd_fx_stop(&cluster);
	etcd_fx_stop(&other);
	return 0;
}

static void need_etcd(void)
{
	etcd_need(&single);
}

static struct lf_state *open_st(json_t *settings)
{
	struct lf_state *st = NULL;
	struct lf_err err = LF_ERR_INIT;

	if (lf_state_etcd_new(&st, settings, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	return st;
}

static struct lf_state *open_single(const char *prefix)
{
	json_t *s = etcd_settings(&single, prefix);
	struct lf_state *st = open_st(s);

	json_decref(s);
	return st;
}

static json_t *record(const char *id, int i)
{
	return json_pack("{s:s, s:{s:s, s:i}, s:{s:s}}", "type", "peer", "attrs",
			 "driver", "sim", "n", i, "outputs", "id", id);
}

static void lock_ok(struct lf_state *st, const char *op)
{
	struct lf_err err = LF_ERR_INIT;

	if (lf_state_lock(st, 0, op, &err) != 0)
		fail_msg("lock: %s", err.msg);
}

/* commit n resources r0..r(n-1) as the whole set */
static void put_n(struct lf_state *st, struct lf_state_version *v, int n, const char *tag)
{
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_err err = LF_ERR_INIT;
	char addr[64];
	json_t *all = json_object();

	for (int i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "org%d.peer%d", i / 50, i % 50);
		json_object_set_new(all, addr, record(tag, i));
	}
	b.all = all;
	if (lf_state_commit(st, &b, v, &err) != 0)
		fail_msg("commit: %s", err.msg);
	json_decref(all);
}

/* ---- round trip and value sizes at 10k resources ---- */

static void test_etcd_roundtrip_10k(void **state)
{
	struct lf_state *st;
	struct lf_state_version v = { "", 0 };
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	size_t maxv = 0, total = 0;
	const char *k;
	json_t *rec;

	(void)state;
	need_etcd();
	st = open_single("/rt10k/");
	lock_ok(st, "apply");
	put_n(st, &v, 10000, "first");
	assert_int_equal(v.serial, 1);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(json_object_size(doc.resources), 10000);
	assert_string_equal(doc.lineage, v.lineage);
	assert_int_equal(doc.serial, 1);
	json_object_foreach(doc.resources, k, rec) {
		char *t = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
		size_t n = strlen(t);

		total += n;
		maxv = n > maxv ? n : maxv;
		free(t);
	}
	assert_true(json_equal(json_object_get(doc.resources, "org199.peer49"),
			       json_object_get(doc.resources, "org199.peer49")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		json_object_get(doc.resources, "org199.peer49"), "attrs"), "n")), 9999);
	print_message("etcd 10k resources: largest value %zu bytes, all values %zu bytes "
		      "(etcd request limit 1.5 MiB per txn)\n", maxv, total);
	assert_true(maxv < 1024 * 1024);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
}

/* ---- commit is one compare-and-swap ---- */

static void test_etcd_commit_conflict_writes_nothing(void **state)
{
	struct lf_state *a, *b;
	struct lf_state_version va = { "", 0 }, vb;
	struct lf_state_batch batch = LF_STATE_BATCH_INIT;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	need_etcd();
	a = open_single("/cas/");
	b = open_single("/cas/");
	put_n(a, &va, 10, "a");
	vb = va;
	put_n(a, &va, 12, "a2");           /* A moves on: serial 2 */
	lf_state_batch_put(&batch, "x.new", json_pack("{s:s}", "type", "peer"));
	json_decref(batch.v[0].record);
	lf_state_batch_delete(&batch, "org0.peer0");
	assert_int_equal(lf_state_commit(b, &batch, &vb, &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "another writer"));
	assert_int_equal(lf_state_read(b, &doc, &err), 0);
	assert_int_equal(doc.serial, 2);
	assert_int_equal(json_object_size(doc.resources), 12);
	assert_null(json_object_get(doc.resources, "x.new"));
	assert_non_null(json_object_get(doc.resources, "org0.peer0"));
	lf_state_doc_clear(&doc);
	lf_state_batch_clear(&batch);
	lf_state_free(a);
	lf_state_free(b);
}

/* a holder whose lock was taken away fails the txn's lease compare even
 * with the right serial: nothing is written */
static void test_etcd_commit_after_lock_lost_refused(void **state)
{
	struct lf_state *a, *b;
	struct lf_state_version va = { "", 0 }, vb;
	struct lf_state_holder h;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	char id[32];

	(void)state;
	need_etcd();
	a = open_single("/lease-cmp/");
	b = open_single("/lease-cmp/");
	lock_ok(a, "apply");
	put_n(a, &va, 5, "a");
	vb = va;
	/* B learns A's lock ID from the refusal, forces it and takes it */
	assert_int_equal(lf_state_lock(b, 0, "apply", &err), LF_ECONFLICT);
	assert_non_null(strstr(err.msg, "force-unlock "));
	snprintf(id, sizeof(id), "%s", strstr(err.msg, "force-unlock ") + 13);
	lf_err_clear(&err);
	assert_int_equal(lf_state_etcd_force_unlock(b, id, &err), 0);
	assert_int_equal(lf_state_holder(b, &h, &err), LF_ENOTFOUND);
	lf_err_clear(&err);
	lock_ok(b, "apply");
	assert_int_equal(lf_state_commit(a, &(struct lf_state_batch)LF_STATE_BATCH_INIT,
					 &va, &err), LF_ECONFLICT);
	lf_err_clear(&err);
	put_n(b, &vb, 7, "b");
	assert_int_equal(lf_state_read(a, &doc, &err), 0);
	assert_int_equal(json_object_size(doc.resources), 7);
	assert_int_equal(doc.serial, 2);
	lf_state_doc_clear(&doc);
	lf_state_free(a);
	lf_state_free(b);
}

/* ---- the lock between processes ---- */

/* this test binary run again as a lock taker: exit 0 locked (then
 * unlocks), 3 refused (message on stdout) */
static int child_lock(const char *settings_txt, const char *wait_s)
{
	json_t *s = json_loads(settings_txt, 0, NULL);
	struct lf_state *st = NULL;
	struct lf_err err = LF_ERR_INIT;
	int rc = lf_state_etcd_new(&st, s, NULL, &err);

	if (rc == 0)
		rc = lf_state_lock(st, strtod(wait_s, NULL), "apply", &err);
	if (rc != 0)
		printf("%s\n", err.msg);
	lf_state_free(st);
	json_decref(s);
	return rc == 0 ? 0 : rc == LF_ECONFLICT ? 3 : 1;
}

/* run child_lock in a new process; its stdout into out */
static int run_child(const char *prefix, const char *wait_s, const char *crash_at,
		     char *out, size_t n)
{
	json_t *s = etcd_settings(&single, prefix);
	char *txt, *file = lf_xasprintf("%s/child.out", single.dir), *data = NULL;
	size_t len = 0;
	int status = 0;
	pid_t pid;

	json_object_set_new(s, "lease_ttl", json_integer(2));
	txt = json_dumps(s, JSON_COMPACT);
	pid = fork();
	if (pid == 0) {
		if (!freopen(file, "w", stdout))
			_exit(1);
		if (crash_at)
			setenv("LEDGERFORM_CRASH_AT", crash_at, 1);
		execl("/proc/self/exe", "test_state_etcd", "--lock-child", txt, wait_s,
		      (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	out[0] = '\0';
	if (lf_read_file(file, &data, &len, NULL) == 0)
		snprintf(out, n, "%s", data);
	free(data);
	free(file);
	free(txt);
	json_decref(s);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void test_etcd_lock_exclusive_between_processes(void **state)
{
	struct lf_state *st;
	struct lf_err err = LF_ERR_INIT;
	char out[1024], pid[32];

	(void)state;
	need_etcd();
	st = open_single("/excl/");
	lock_ok(st, "apply");
	assert_int_equal(run_child("/excl/", "0", NULL, out, sizeof(out)), 3);
	snprintf(pid, sizeof(pid), "pid %d ", (int)getpid());
	assert_non_null(strstr(out, pid));
	assert_non_null(strstr(out, "apply"));
	assert_non_null(strstr(out, "force-unlock"));
	assert_int_equal(lf_state_lock_lost(st, &err), 0);
	assert_int_equal(lf_state_unlock(st, &err), 0);
	assert_int_equal(run_child("/excl/", "0", NULL, out, sizeof(out)), 0);
	lf_state_free(st);
}

static void test_etcd_killed_holder_lease_expires(void **state)
{
	struct lf_state *st;
	struct lf_state_holder h;
	struct lf_err err = LF_ERR_INIT;
	uint64_t deadline;
	char out[1024];
	int rc;

	(void)state;
	need_etcd();
	assert_int_equal(run_child("/killed/", "0", "etcd.lock.held:1", out, sizeof(out)),
			 128 + SIGKILL);
	st = open_single("/killed/");
	assert_int_equal(lf_state_holder(st, &h, &err), 0); /* still held */
	assert_int_equal(lf_state_lock(st, 0, "apply", &err), LF_ECONFLICT);
	deadline = lf_now_ms() + 30000;
	do {
		lf_err_clear(&err);
		rc = lf_state_holder(st, &h, &err);
		if (rc == 0)
			lf_sleep_ms(200);
	} while (rc == 0 && lf_now_ms() < deadline);
	assert_int_equal(rc, LF_ENOTFOUND);
	lf_err_clear(&err);
	lock_ok(st, "apply");
	lf_state_free(st);
}

static void test_etcd_keepalive_loss_reported(void **state)
{
	json_t *s = NULL;
	struct lf_state *a, *b;
	struct lf_err err = LF_ERR_INIT;
	struct lf_state_version v = { "", 0 };
	uint64_t deadline;
	char id[32];
	int lost;

	(void)state;
	need_etcd();
	s = etcd_settings(&single, "/ka/");
	json_object_set_new(s, "lease_ttl", json_integer(3));
	a = open_st(s);
	b = open_st(s);
	lock_ok(a, "apply");
	/* the lease stays alive past several TTLs while held */
	put_n(a, &v, 3, "a");
	assert_int_equal(lf_state_lock(b, 0, "apply", &err), LF_ECONFLICT);
	snprintf(id, sizeof(id), "%s", strstr(err.msg, "force-unlock ") + 13);
	lf_err_clear(&err);
	/* wrong ID: refused, names the holder */
	assert_int_equal(lf_state_etcd_force_unlock(b, "1234", &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "apply"));
	lf_err_clear(&err);
	assert_int_equal(lf_state_etcd_force_unlock(b, id, &err), 0);
	deadline = lf_now_ms() + 30000;
	do {
		lf_err_clear(&err);
		lost = lf_state_lock_lost(a, &err);
		if (!lost)
			lf_sleep_ms(100);
	} while (!lost && lf_now_ms() < deadline);
	assert_int_equal(lost, 1);
	assert_non_null(strstr(err.msg, "lock on etcd state"));
	assert_non_null(strstr(err.msg, "revoked"));
	lf_state_free(a);
	lf_state_free(b);
	json_decref(s);
}

/* ---- endpoints: failover in a 3-member cluster ---- */

static void test_etcd_cluster_member_killed(void **state)
{
	static const char cl[] = "c1=http://127.0.0.1:22311,c2=http://127.0.0.1:22313,"
				 "c3=http://127.0.0.1:22315";
	struct etcd_fx *fx = &cluster;
	struct lf_state *st;
	struct lf_state_version v = { "", 0 };
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	json_t *s;

	(void)state;
	need_etcd();
	assert_int_equal(etcd_fx_init(fx, "cluster"), 0);
	assert_int_equal(etcd_start(fx, "c1", 22310, 22311, cl, false, NULL), 0);
	assert_int_equal(etcd_start(fx, "c2", 22312, 22313, cl, false, NULL), 0);
	assert_int_equal(etcd_start(fx, "c3", 22314, 22315, cl, false, NULL), 0);
	s = etcd_settings(fx, "/cluster/");
	assert_int_equal(etcd_wait_ready(s, NULL), 0);
	st = open_st(s);
	lock_ok(st, "apply");
	put_n(st, &v, 20, "one");
	etcd_kill(fx, 0);                /* the member in use dies mid-apply */
	put_n(st, &v, 30, "two");
	assert_int_equal(lf_state_lock_lost(st, &err), 0);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(json_object_size(doc.resources), 30);
	assert_int_equal(doc.serial, 2);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	json_decref(s);
	etcd_fx_stop(fx);
}

static void test_etcd_failover_dead_first_endpoint(void **state)
{
	json_t *s;
	struct lf_state *st;
	struct lf_state_version v = { "", 0 };

	(void)state;
	need_etcd();
	s = json_pack("{s:[s, s], s:s}", "endpoints", "http://127.0.0.1:22399",
		      single.p[0].url, "prefix", "/failover/");
	st = open_st(s);
	put_n(st, &v, 3, "x");
	assert_int_equal(v.serial, 1);
	lf_state_free(st);
	json_decref(s);
}


/* ---- TLS with a CA and a client certificate ---- */

static void sh(const char *dir, const char *cmd)
{
	char *full = lf_xasprintf("cd '%s' && (%s) >/dev/null 2>&1", dir, cmd);

	if (system(full) != 0)
		fail_msg("failed: %s", cmd);
	free(full);
}

/* ca.pem, server.pem/-key.pem (IP 127.0.0.1), client.pem/-key.pem */
static void make_pki(const char *dir)
{
	sh(dir, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout ca-key.pem -out ca.pem -days 2 -subj /CN=test-ca");
	sh(dir, "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout server-key.pem -out server.csr -subj /CN=etcd "
		"-addext subjectAltName=IP:127.0.0.1");
	sh(dir, "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem "
		"-CAcreateserial -out server.pem -days 2 -copy_extensions copy");
	sh(dir, "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout client-key.pem -out client.csr -subj /CN=root");
	sh(dir, "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem "
		"-CAcreateserial -out client.pem -days 2");
}

static void test_etcd_tls_client_cert(void **state)
{
	struct etcd_fx *fx = &other;
	struct lf_state *st;
	struct lf_state_version v = { "", 0 };
	struct lf_state_holder h;
	struct lf_err err = LF_ERR_INIT;
	char *f[5];
	json_t *s, *bare;
	int rc;

	(void)state;
	need_etcd();
	assert_int_equal(etcd_fx_init(fx, "tls"), 0);
	make_pki(fx->dir);
	f[0] = lf_xasprintf("%s/server.pem", fx->dir);
	f[1] = lf_xasprintf("%s/server-key.pem", fx->dir);
	f[2] = lf_xasprintf("%s/ca.pem", fx->dir);
	f[3] = NULL;
	{
		const char *extra[] = { "--cert-file", f[0], "--key-file", f[1],
					"--trusted-ca-file", f[2], "--client-cert-auth", NULL };

		assert_int_equal(etcd_start(fx, "t1", 22320, 22321, NULL, true, extra), 0);
	}
	s = etcd_settings(fx, "/tls/");
	bare = json_deep_copy(s);
	json_object_set_new(s, "ca_cert", json_string("ca.pem"));
	json_object_set_new(s, "cert", json_string("client.pem"));
	json_object_set_new(s, "key", json_string("client-key.pem"));
	assert_int_equal(etcd_wait_ready(s, fx->dir), 0);
	/* relative paths are taken from the base dir (the spec's) */
	assert_int_equal(lf_state_etcd_new(&st, s, fx->dir, &err), 0);
	put_n(st, &v, 4, "tls");
	lf_state_free(st);
	/* without a client certificate, or without the CA: refused */
	json_object_set_new(bare, "ca_cert", json_string("ca.pem"));
	assert_int_equal(lf_state_etcd_new(&st, bare, fx->dir, &err), 0);
	rc = lf_state_holder(st, &h, &err);
	print_message("without a client certificate: %s\n", err.msg);
	assert_int_not_equal(rc, 0);
	assert_int_not_equal(rc, LF_ENOTFOUND);
	lf_state_free(st);
	for (int i = 0; i < 3; i++)
		free(f[i]);
	json_decref(s);
	json_decref(bare);
	etcd_fx_stop(fx);
}

/* ---- user/password auth, token refreshed after it expires ---- */

static void test_etcd_auth_password_and_token_refresh(void **state)
{
	struct etcd_fx *fx = &other;
	const char *extra[] = { "--auth-token-ttl", "1", NULL };
	struct lf_state *st;
	struct lf_state_version v = { "", 0 };
	struct lf_state_holder h;
	struct lf_err err = LF_ERR_INIT;
	char *cmd;
	json_t *s;

	(void)state;
	need_etcd();
	assert_int_equal(etcd_fx_init(fx, "auth"), 0);
	assert_int_equal(etcd_start(fx, "a1", 22330, 22331, NULL, false, extra), 0);
	s = etcd_settings(fx, "/auth/");
	assert_int_equal(etcd_wait_ready(s, NULL), 0);
	cmd = lf_xasprintf("etcdctl --endpoints=%s user add root:s3cret-pw && "
			   "etcdctl --endpoints=%s auth enable", fx->p[0].url, fx->p[0].url);
	sh(fx->dir, cmd);
	free(cmd);
	json_object_set_new(s, "username", json_string("root"));
	json_object_set_new(s, "credentials", json_pack("{s:s}", "env", "LF_TEST_ETCD_PW"));
	setenv("LF_TEST_ETCD_PW", "s3cret-pw", 1);
	st = open_st(s);
	lock_ok(st, "apply");
	put_n(st, &v, 3, "auth");
	lf_sleep_ms(2500); /* let the 1 s token expire: the next call re-authenticates */
	put_n(st, &v, 4, "auth");
	assert_int_equal(v.serial, 2);
	assert_int_equal(lf_state_lock_lost(st, &err), 0);
	lf_state_free(st);
	/* a wrong password: LF_EAUTH naming the user, never the password */
	setenv("LF_TEST_ETCD_PW", "wrong-pw", 1);
	st = open_st(s);
	assert_int_equal(lf_state_holder(st, &h, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "'root'"));
	assert_null(strstr(err.msg, "wrong-pw"));
	lf_state_free(st);
	/* no password: refused at open, naming the variable */
	unsetenv("LF_TEST_ETCD_PW");
	lf_err_clear(&err);
	assert_int_equal(lf_state_etcd_new(&st, s, NULL, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "LF_TEST_ETCD_PW"));
	json_decref(s);
	etcd_fx_stop(fx);
}

/* etcd compacted away the header's revision: the read still works */
static void test_etcd_read_after_compaction(void **state)
{
	struct lf_state *st;
	struct lf_state_version v = { "", 0 };
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	char *cmd;

	(void)state;
	need_etcd();
	st = open_single("/compact/");
	put_n(st, &v, 5, "old");
	/* later writes elsewhere, then compaction past the header's revision */
	{
		struct lf_state *o = open_single("/compact-other/");
		struct lf_state_version ov = { "", 0 };

		put_n(o, &ov, 3, "x");
		put_n(o, &ov, 4, "y");
		lf_state_free(o);
	}
	cmd = lf_xasprintf("etcdctl --endpoints=%s compact "
			   "$(etcdctl --endpoints=%s endpoint status -w json | "
			   "sed 's/.*\"revision\":\\([0-9]*\\).*/\\1/')",
			   single.p[0].url, single.p[0].url);
	sh(single.dir, cmd);
	free(cmd);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(json_object_size(doc.resources), 5);
	assert_int_equal(doc.serial, 1);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etcd_roundtrip_10k),
		cmocka_unit_test(test_etcd_commit_conflict_writes_nothing),
		cmocka_unit_test(test_etcd_commit_after_lock_lost_refused),
		cmocka_unit_test(test_etcd_lock_exclusive_between_processes),
		cmocka_unit_test(test_etcd_killed_holder_lease_expires),
		cmocka_unit_test(test_etcd_keepalive_loss_reported),
		cmocka_unit_test(test_etcd_failover_dead_first_endpoint),
		cmocka_unit_test(test_etcd_cluster_member_killed),
		cmocka_unit_test(test_etcd_tls_client_cert),
		cmocka_unit_test(test_etcd_auth_password_and_token_refresh),
		cmocka_unit_test(test_etcd_read_after_compaction),
	};

	if (argc == 4 && strcmp(argv[1], "--lock-child") == 0)
		return child_lock(argv[2], argv[3]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
