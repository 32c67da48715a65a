/*
 * Shared helpers: names, edit distance, atomic writes and their modes,
 * removal of one tree by several threads at once, error records, a failing
 * random number generator.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method fakes a dead RNG */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/rand.h>

#include "core/util/util.h"

/* lf_xconcat joins its strings up to the NULL, empty ones included */
static void test_util_xconcat(void **state)
{
	char *s;

	(void)state;
	s = lf_xconcat("host.", "bank", ".", "peer0", NULL);
	assert_string_equal(s, "host.bank.peer0");
	free(s);
	s = lf_xconcat("", "a", "", NULL);
	assert_string_equal(s, "a");
	free(s);
	s = lf_xconcat("", NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_util_dns_label(void **state)
{
	char long64[65];

	(void)state;
	memset(long64, 'a', 64);
	long64[64] = '\0';
	assert_true(lf_is_dns_label("peer0"));
	assert_true(lf_is_dns_label("a-b"));
	assert_false(lf_is_dns_label(""));
	assert_false(lf_is_dns_label("../x"));
	assert_false(lf_is_dns_label("a/b"));
	assert_false(lf_is_dns_label("Bank"));
	assert_false(lf_is_dns_label("-a"));
	assert_false(lf_is_dns_label("a-"));
	assert_false(lf_is_dns_label(long64));
	long64[63] = '\0';
	assert_true(lf_is_dns_label(long64));
}

static void test_util_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(lf_edit_distance("peers", "peers", 2), 0);
	assert_int_equal(lf_edit_distance("peers", "pers", 2), 1);
	assert_int_equal(lf_edit_distance("orderers", "ordrers", 2), 1);
	assert_int_equal(lf_edit_distance("peers", "pear", 2), 2);
	assert_int_equal(lf_edit_distance("channels", "sizes", 2), 3); /* capped */
}

static void test_util_atomic_write(void **state)
{
	char dir[] = "/tmp/lf-util-XXXXXX", *p, *data = NULL;
	struct lf_err err = LF_ERR_INIT;
	struct stat st;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = lf_path_join(dir, "secret");
	assert_int_equal(lf_write_file_atomic(p, "key", 3, 0600, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(lf_write_file_atomic(p, "other", 5, 0644, &err), 0);
	assert_int_equal(lf_read_file(p, &data, &len, &err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "other", 5);
	free(data);
	free(p);
	p = lf_path_join(dir, "missing/dir/file");
	assert_int_not_equal(lf_write_file_atomic(p, "x", 1, 0600, &err), 0);
	assert_non_null(strstr(err.msg, "missing/dir/file"));
	free(p);
	assert_int_equal(lf_rmtree(dir, &err), 0);
	assert_false(lf_path_exists(dir));
}

static void make_tree(const char *root, int width, int depth)
{
	struct lf_err err = LF_ERR_INIT;
	int i;

	lf_mkdirs(root, 0700, &err);
	for (i = 0; i < width; i++) {
		char *p = lf_xasprintf("%s/f%d", root, i);

		lf_write_file_atomic(p, "x", 1, 0600, &err);
		free(p);
		if (depth > 0) {
			p = lf_xasprintf("%s/d%d", root, i);
			make_tree(p, width, depth - 1);
			free(p);
		}
	}
}

static void *remove_tree(void *arg)
{
	struct lf_err err = LF_ERR_INIT;

	return (void *)(intptr_t)lf_rmtree(arg, &err);
}

/* several removers of one tree (as an org's CA and MSP resources deleted at
 * once) both succeed and leave nothing */
static void test_util_rmtree_concurrent(void **state)
{
	char dir[] = "/tmp/lf-rm-XXXXXX";
	int round;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (round = 0; round < 6; round++) {
		char *root = lf_xasprintf("%s/t%d", dir, round), *sub;
		pthread_t th[4];
		void *r;
		int k;

		make_tree(root, 12, 2);
		sub = lf_xasprintf("%s/d1", root);
		for (k = 0; k < 4; k++)
			pthread_create(&th[k], NULL, remove_tree, k == 3 && round % 2 ? sub : root);
		for (k = 0; k < 4; k++) {
			pthread_join(th[k], &r);
			assert_int_equal((intptr_t)r, 0);
		}
		assert_false(lf_path_exists(root));
		free(sub);
		free(root);
	}
	rmdir(dir);
}

/* The code returned is the code recorded: an error propagated through a
 * caller that reclassifies it keeps the first message, takes the new code. */
static void test_util_err_code_follows_rc(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	int rc;

	(void)state;
	assert_int_equal(lf_err_set(&err, LF_ENOTFOUND, "no file '%s'", "a"), LF_ENOTFOUND);
	assert_int_equal(err.code, LF_ENOTFOUND);
	rc = lf_err_set(&err, LF_ERETRY, "outer");
	assert_int_equal(rc, LF_ERETRY);
	assert_int_equal(err.code, rc);
	assert_string_equal(err.msg, "no file 'a'");
	errno = ENOENT;
	rc = lf_err_sys(&err, LF_EINVALID, "sys");
	assert_int_equal(err.code, rc);
	assert_string_equal(err.msg, "no file 'a'");
	/* a code without a message is not a record yet: both are written */
	lf_err_clear(&err);
	err.code = LF_ERROR;
	assert_int_equal(lf_err_set(&err, LF_EAUTH, "denied"), LF_EAUTH);
	assert_int_equal(err.code, LF_EAUTH);
	assert_string_equal(err.msg, "denied");
	assert_int_equal(lf_err_set(NULL, LF_EAUTH, "x"), LF_EAUTH);
}

static int dead_rng_bytes(unsigned char *buf, int num)
{
	(void)buf;
	(void)num;
	return 0;
}

static int dead_rng_status(void)
{
	return 0;
}

/* A failing OS RNG stops the process with a message instead of leaving
 * callers (temp names, nonces, serials) with unset bytes. */
static void test_util_random_fails_loudly(void **state)
{
	static RAND_METHOD dead = { NULL, dead_rng_bytes, NULL, NULL,
				    dead_rng_bytes, dead_rng_status };
	unsigned char b[16];
	int fds[2], status = 0;
	char msg[256] = { 0 };
	ssize_t r;
	pid_t pid;

	(void)state;
	assert_int_equal(lf_random(b, sizeof(b)), 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		RAND_set_rand_method(&dead);
		lf_random(b, sizeof(b));
		_exit(0); /* returned: the contract is broken */
	}
	close(fds[1]);
	r = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_true(r > 0);
	assert_non_null(strstr(msg, "random number generator failed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_util_xconcat),
		cmocka_unit_test(test_util_dns_label),
		cmocka_unit_test(test_util_edit_distance),
		cmocka_unit_test(test_util_atomic_write),
		cmocka_unit_test(test_util_rmtree_concurrent),
		cmocka_unit_test(test_util_err_code_follows_rc),
		cmocka_unit_test(test_util_random_fails_loudly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
