/*
 * Unit tests of the state backends: the file backend's document format,
 * serial/lineage/backup rules, refusals, file modes, the flock lock between
 * processes, and crash safety of writes (SIGKILL mid-write).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util/util.h"
#include "state/state.h"

struct fx {
	char dir[512];
	char *path;   /* DIR/s.json */
	char *backup; /* DIR/s.json.backup */
	char *lock;   /* DIR/s.json.lock */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "%s/state-test-XXXXXX", LF_BINARY_DIR);
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	f->path = lf_path_join(f->dir, "s.json");
	f->backup = lf_xasprintf("%s.backup", f->path);
	f->lock = lf_xasprintf("%s.lock", f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	lf_rmtree(f->dir, NULL);
	free(f->path);
	free(f->backup);
	free(f->lock);
	free(f);
	return 0;
}

static struct lf_state *open_file(const char *path)
{
	struct lf_state *st = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_state_file_new(&st, path, &err), 0);
	assert_non_null(st);
	return st;
}

static char *slurp(const char *path, size_t *len)
{
	char *data = NULL;

	assert_int_equal(lf_read_file(path, &data, len, NULL), 0);
	return data;
}

static void put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static json_t *resource(const char *type, int i)
{
	return json_pack("{s:s, s:{s:i, s:s}, s:s, s:[]}", "type", type, "attrs",
			 "n", i, "size", "small", "hash", "h", "deps");
}

/* read, set resources[addr], write; returns the new serial */
static uint64_t write_one(struct lf_state *st, const char *addr, int i)
{
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	uint64_t serial;

	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	json_object_set_new(doc.resources, addr, resource("host", i));
	if (lf_state_write(st, &doc, &err) != 0)
		fail_msg("write failed: %s", err.msg);
	serial = doc.serial;
	lf_state_doc_clear(&doc);
	return serial;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- document ---- */

static void test_state_roundtrip(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = NULL, *st2;
	struct lf_state_doc doc, doc2;
	struct lf_err err = LF_ERR_INIT;
	json_t *settings = json_pack("{s:s}", "path", "s.json");
	char *text;

	assert_int_equal(lf_state_open(&st, "file", settings, f->dir, NULL, &err), 0);
	assert_string_equal(lf_state_describe(st), f->path);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_string_equal(doc.lineage, "");
	assert_int_equal(doc.serial, 0);
	assert_int_equal(json_object_size(doc.resources), 0);
	json_object_set_new(doc.resources, "host.bank.peer0", resource("host", 7));
	json_object_set_new(doc.resources, "crypto.bank.ca", resource("crypto", 1));
	assert_int_equal(lf_state_write(st, &doc, &err), 0);
	assert_int_equal(doc.serial, 1);
	assert_int_equal(strlen(doc.lineage), 36);

	st2 = open_file(f->path);
	assert_int_equal(lf_state_read(st2, &doc2, &err), 0);
	assert_string_equal(doc2.lineage, doc.lineage);
	assert_int_equal(doc2.serial, 1);
	assert_true(json_equal(doc2.resources, doc.resources));

	/* pretty-printed, sorted keys, envelope present */
	text = slurp(f->path, NULL);
	assert_contains(text, "\n \"format_version\": 1,\n \"ledgerform_version\": \"" LF_VERSION
			"\",\n \"lineage\": \"");
	assert_true(strstr(text, "\"crypto.bank.ca\"") < strstr(text, "\"host.bank.peer0\""));
	assert_true(strstr(text, "\"resources\"") < strstr(text, "\"serial\": 1"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
	lf_state_doc_clear(&doc);
	lf_state_doc_clear(&doc2);
	lf_state_free(st);
	lf_state_free(st2);
	json_decref(settings);
}

static void test_state_serial_and_lineage(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path), *st2;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	char lineage[37];
	uint64_t i;

	assert_int_equal(write_one(st, "host.a", 1), 1);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	memcpy(lineage, doc.lineage, sizeof(lineage));
	/* the same doc written repeatedly, as the executor does */
	for (i = 2; i <= 5; i++) {
		json_object_set_new(doc.resources, "host.b", resource("host", (int)i));
		assert_int_equal(lf_state_write(st, &doc, &err), 0);
		assert_int_equal(doc.serial, i);
		assert_string_equal(doc.lineage, lineage);
	}
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	st2 = open_file(f->path);
	assert_int_equal(write_one(st2, "host.c", 3), 6);
	assert_int_equal(lf_state_read(st2, &doc, &err), 0);
	assert_string_equal(doc.lineage, lineage);
	assert_int_equal(json_object_size(doc.resources), 3);
	lf_state_doc_clear(&doc);
	lf_state_free(st2);
}

static void test_state_backup_is_previous(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path), *bk;
	struct lf_state_doc doc;
	char *v1, *v2, *b;
	size_t l1, l2, lb;

	write_one(st, "host.a", 1);
	assert_false(lf_path_exists(f->backup));
	v1 = slurp(f->path, &l1);
	write_one(st, "host.b", 2);
	b = slurp(f->backup, &lb);
	assert_int_equal(lb, l1);
	assert_memory_equal(b, v1, l1);
	free(b);
	v2 = slurp(f->path, &l2);
	write_one(st, "host.c", 3);
	b = slurp(f->backup, &lb);
	assert_int_equal(lb, l2);
	assert_memory_equal(b, v2, l2);
	/* the backup is a readable state document of the previous serial */
	bk = open_file(f->backup);
	assert_int_equal(lf_state_read(bk, &doc, NULL), 0);
	assert_int_equal(doc.serial, 2);
	assert_int_equal(json_object_size(doc.resources), 2);
	lf_state_doc_clear(&doc);
	lf_state_free(bk);
	free(b);
	free(v1);
	free(v2);
	lf_state_free(st);
}

/* ---- refusals ---- */

/* read must fail with code and msg; the file and a later write too */
static void assert_refused(const char *path, int code, const char *msg_part)
{
	struct lf_state *st = open_file(path), *st2 = open_file(path);
	struct lf_state_doc doc, fresh = { "", 0, json_object() };
	struct lf_err err = LF_ERR_INIT, err2 = LF_ERR_INIT;
	char *before, *after;
	size_t lb, la;

	before = slurp(path, &lb);
	assert_int_equal(lf_state_read(st, &doc, &err), code);
	assert_null(doc.resources);
	assert_contains(err.msg, msg_part);
	assert_contains(err.msg, path);
	/* a write through the refusing handle is refused, with the reason */
	assert_int_equal(lf_state_write(st, &fresh, &err2), code);
	assert_contains(err2.msg, msg_part);
	/* a handle that never read refuses too: it checks before writing */
	lf_err_clear(&err2);
	assert_int_equal(lf_state_write(st2, &fresh, &err2), code);
	after = slurp(path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(before);
	free(after);
	lf_state_doc_clear(&fresh);
	lf_state_free(st);
	lf_state_free(st2);
}

static void test_state_corrupt_refused(void **state)
{
	struct fx *f = *state;
	char *msg;

	put(f->path, "{\n \"format_version\": 1,\n \"serial\": oops\n}\n");
	assert_refused(f->path, LF_EINVALID, "at line 3, column");
	msg = lf_xasprintf("state file '%s' is corrupt: ", f->path);
	assert_refused(f->path, LF_EINVALID, msg);
	free(msg);
	msg = lf_xasprintf("; fix it or restore %s.backup", f->path);
	assert_refused(f->path, LF_EINVALID, msg);
	free(msg);
	/* valid JSON, wrong envelope */
	put(f->path, "{\"format_version\": 1, \"lineage\": \"x\", \"serial\": 1, "
		     "\"ledgerform_version\": \"0\", \"resources\": {}}");
	assert_refused(f->path, LF_EINVALID, "'lineage' is missing or not a UUID");
	put(f->path, "{\"format_version\": 1, \"lineage\": \"0123456789abcdef0123456789abcdef0123\", "
		     "\"ledgerform_version\": \"0\", \"resources\": {}}");
	assert_refused(f->path, LF_EINVALID, "'serial' is missing");
	put(f->path, "{\"format_version\": 1, \"lineage\": \"0123456789abcdef0123456789abcdef0123\", "
		     "\"serial\": 3, \"ledgerform_version\": \"0\", \"resources\": []}");
	assert_refused(f->path, LF_EINVALID, "'resources' is missing or not an object");
	put(f->path, "");
	assert_refused(f->path, LF_EINVALID, "is corrupt");
	put(f->path, "[1]");
	assert_refused(f->path, LF_EINVALID, "not a JSON object");
}

#define LIN "\"lineage\": \"0123456789abcdef0123456789abcdef0123\", "
#define ENV "\"format_version\": 1, " LIN "\"ledgerform_version\": \"0\", "

/* damaged records and envelopes are refused with a message, never crash */
static void test_state_shape_refused(void **state)
{
	struct fx *f = *state;

	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"host.a\": 7}}");
	assert_refused(f->path, LF_EINVALID, "resource 'host.a' is not an object");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"host.a\": {\"attrs\": {}}}}");
	assert_refused(f->path, LF_EINVALID, "resource 'host.a' has no string 'type'");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"host.a\": {\"type\": 1}}}");
	assert_refused(f->path, LF_EINVALID, "resource 'host.a' has no string 'type'");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"\": {\"type\": \"host\"}}}");
	assert_refused(f->path, LF_EINVALID, "resource '' has an empty address");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"h.a\": {\"type\": \"host\", "
		     "\"attrs\": []}}}");
	assert_refused(f->path, LF_EINVALID, "resource 'h.a' has an 'attrs' that is not an object");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"h.a\": {\"type\": \"host\", "
		     "\"deps\": [\"x\", 2]}}}");
	assert_refused(f->path, LF_EINVALID, "resource 'h.a' has a 'deps' entry that is not a string");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"h.a\": {\"type\": \"host\", "
		     "\"outputs\": \"x\"}}}");
	assert_refused(f->path, LF_EINVALID, "resource 'h.a' has an 'outputs' that is not an object");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {\"h.a\": {\"type\": \"host\", "
		     "\"hash\": 5}}}");
	assert_refused(f->path, LF_EINVALID, "resource 'h.a' has a 'hash' that is not a string");
	put(f->path, "{" ENV "\"serial\": 3, \"resources\": {}, \"extra\": 1}");
	assert_refused(f->path, LF_EINVALID, "unknown top-level key 'extra'");
	put(f->path, "{\"format_version\": 1, " LIN "\"ledgerform_version\": 7, "
		     "\"serial\": 3, \"resources\": {}}");
	assert_refused(f->path, LF_EINVALID, "'ledgerform_version' is missing or not a string");
	put(f->path, "{\"format_version\": \"1\", " LIN "\"serial\": 3}");
	assert_refused(f->path, LF_EINVALID, "'format_version' is not an integer");
}

/* a bad record is not written either: the file keeps the last good state */
static void test_state_bad_record_not_written(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	char *before, *after;
	size_t lb, la;

	write_one(st, "host.a", 1);
	before = slurp(f->path, &lb);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	json_object_set_new(doc.resources, "host.b", json_integer(3));
	assert_int_equal(lf_state_write(st, &doc, &err), LF_EINVALID);
	assert_contains(err.msg, "cannot write state file '");
	assert_contains(err.msg, "resource 'host.b' is not an object");
	after = slurp(f->path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(before);
	free(after);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
}

/* the largest serial reads back; one more is refused, nothing is written */
static void test_state_serial_overflow(void **state)
{
	struct fx *f = *state;
	struct lf_state *st;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	char *before, *after;
	size_t lb, la;

	put(f->path, "{" ENV "\"serial\": 9223372036854775807, \"resources\": {}}\n");
	before = slurp(f->path, &lb);
	st = open_file(f->path);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_true(doc.serial == (uint64_t)INT64_MAX);
	json_object_set_new(doc.resources, "host.a", resource("host", 1));
	assert_int_equal(lf_state_write(st, &doc, &err), LF_EINVALID);
	assert_contains(err.msg, "is at serial 9223372036854775807, the largest a state can "
			"hold; not writing serial 9223372036854775808");
	after = slurp(f->path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	assert_false(lf_path_exists(f->backup));
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	/* a serial past the largest does not read back: refused, not wrapped */
	put(f->path, "{" ENV "\"serial\": 9223372036854775808, \"resources\": {}}\n");
	assert_refused(f->path, LF_EINVALID, "is corrupt");
	/* nor from a caller's document when there is no file yet */
	assert_int_equal(unlink(f->path), 0);
	st = open_file(f->path);
	doc.serial = (uint64_t)INT64_MAX;
	memcpy(doc.lineage, "0123456789abcdef0123456789abcdef0123", 37);
	doc.resources = json_object();
	lf_err_clear(&err);
	assert_int_equal(lf_state_write(st, &doc, &err), LF_EINVALID);
	assert_contains(err.msg, "the largest a state can hold");
	assert_false(lf_path_exists(f->path));
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	free(before);
	free(after);
}

static void test_state_newer_format_refused(void **state)
{
	struct fx *f = *state;
	char *msg;

	put(f->path, "{\"format_version\": 2, \"something_new\": true}\n");
	msg = lf_xasprintf("state file '%s' has format version 2, this ledgerform reads up "
			   "to 1; upgrade ledgerform", f->path);
	assert_refused(f->path, LF_EUNSUPPORTED, msg);
	free(msg);
}

static void test_state_lineage_mismatch(void **state)
{
	struct fx *f = *state;
	struct lf_state *a = open_file(f->path), *b;
	struct lf_state_doc doc, other = { "", 0, json_object() };
	struct lf_err err = LF_ERR_INIT;
	char *other_path = lf_xasprintf("%s/other.json", f->dir), *before;
	size_t lb, la;
	char *after;

	write_one(a, "host.a", 1);
	assert_int_equal(lf_state_read(a, &doc, &err), 0);
	/* someone replaces the state with another workspace's state */
	b = open_file(other_path);
	assert_int_equal(lf_state_write(b, &other, &err), 0);
	assert_int_equal(rename(other_path, f->path), 0);
	before = slurp(f->path, &lb);
	json_object_set_new(doc.resources, "host.z", resource("host", 9));
	assert_int_equal(lf_state_write(a, &doc, &err), LF_ECONFLICT);
	assert_contains(err.msg, f->path);
	assert_contains(err.msg, other.lineage);
	assert_contains(err.msg, doc.lineage);
	assert_contains(err.msg, "was replaced");
	after = slurp(f->path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(before);
	free(after);
	lf_state_doc_clear(&doc);
	lf_state_doc_clear(&other);
	free(other_path);
	lf_state_free(a);
	lf_state_free(b);
}

static void test_state_stale_serial_refused(void **state)
{
	struct fx *f = *state;
	struct lf_state *a = open_file(f->path), *b = open_file(f->path);
	struct lf_state_doc da, db;
	struct lf_err err = LF_ERR_INIT;

	write_one(a, "host.a", 1);
	assert_int_equal(lf_state_read(a, &da, &err), 0);
	assert_int_equal(lf_state_read(b, &db, &err), 0);
	assert_int_equal(lf_state_write(a, &da, &err), 0);
	assert_int_equal(da.serial, 2);
	/* b read serial 1; writing it would drop a's change */
	assert_int_equal(lf_state_write(b, &db, &err), LF_ECONFLICT);
	assert_contains(err.msg, "is at serial 2");
	assert_contains(err.msg, "read at serial 1");
	assert_contains(err.msg, f->path);
	lf_state_doc_clear(&da);
	lf_state_doc_clear(&db);
	lf_state_free(a);
	lf_state_free(b);
}

static void assert_mode(const char *path, mode_t mode)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, mode);
}

static void test_state_file_modes(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	mode_t old = umask(0); /* modes must not depend on the umask */

	assert_int_equal(lf_state_lock(st, 0, "test", NULL), 0);
	write_one(st, "host.a", 1);
	write_one(st, "host.b", 2);
	umask(old);
	assert_mode(f->path, 0600);
	assert_mode(f->backup, 0600);
	assert_mode(f->lock, 0600);
	lf_state_free(st);
}

static void test_state_open_backends(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = NULL;
	struct lf_err err = LF_ERR_INIT;
	json_t *bad = json_pack("{s:s}", "pth", "x.json");
	json_t *num = json_pack("{s:i}", "path", 3);
	json_t *abs = json_pack("{s:s}", "path", f->path);

	assert_int_equal(lf_state_open(&st, "etcd", NULL, NULL, "x", &err), LF_EINVALID);
	assert_contains(err.msg, "'endpoints' must list at least one URL");
	assert_null(st);
	lf_err_clear(&err);
	assert_int_equal(lf_state_open(&st, "s3", NULL, NULL, "x", &err), LF_EINVALID);
	assert_contains(err.msg, "unknown state backend 's3'");
	lf_err_clear(&err);
	assert_int_equal(lf_state_open(&st, "file", bad, f->dir, "x", &err), LF_EINVALID);
	assert_contains(err.msg, "no setting 'pth'");
	lf_err_clear(&err);
	assert_int_equal(lf_state_open(&st, NULL, num, f->dir, "x", &err), LF_EINVALID);
	lf_err_clear(&err);
	assert_int_equal(lf_state_open(&st, NULL, NULL, f->dir, NULL, &err), LF_EINVALID);
	/* default path; absolute path not joined to base_dir */
	assert_int_equal(lf_state_open(&st, NULL, NULL, "/nowhere", "dflt.json", NULL), 0);
	assert_string_equal(lf_state_describe(st), "dflt.json");
	lf_state_free(st);
	assert_int_equal(lf_state_open(&st, "file", abs, "/nowhere", NULL, NULL), 0);
	assert_string_equal(lf_state_describe(st), f->path);
	lf_state_free(st);
	lf_state_free(NULL);
	lf_state_doc_clear(NULL);
	json_decref(bad);
	json_decref(num);
	json_decref(abs);
}

static void test_state_missing_dir_created(void **state)
{
	struct fx *f = *state;
	char *p = lf_xasprintf("%s/sub/dir/s.json", f->dir);
	struct lf_state *st = open_file(p);

	assert_int_equal(write_one(st, "host.a", 1), 1);
	assert_true(lf_path_exists(p));
	lf_state_free(st);
	free(p);
}

static uint64_t check_complete(const char *path, size_t nres, uint64_t new_serial);
static size_t count_temps(const char *dir);

/* ---- the writable probe ---- */

/* probe path as uid 65534 in a child (root writes everywhere); the
 * child's rc and message come back through a pipe */
static int probe_as_nobody(const char *path, char *msg, size_t n)
{
	int fds[2], status, rc = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct lf_state *st = NULL;
		struct lf_err err = LF_ERR_INIT;

		close(fds[0]);
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		if (lf_state_file_new(&st, path, NULL) != 0)
			_exit(3);
		rc = lf_state_check_writable(st, &err);
		if (write(fds[1], err.msg, strlen(err.msg)) < 0)
			_exit(4);
		_exit(rc == 0 ? 0 : 1);
	}
	close(fds[1]);
	r = read(fds[0], msg, n - 1);
	msg[r > 0 ? r : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	rc = WEXITSTATUS(status);
	assert_true(rc == 0 || rc == 1);
	return rc;
}

static void test_state_check_writable(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_err err = LF_ERR_INIT;
	char *sub = lf_xasprintf("%s/new/dir/s.json", f->dir), *file_dir;
	char msg[LF_ERR_MSG_MAX];

	/* a writable directory: yes, and nothing is left behind */
	assert_int_equal(lf_state_check_writable(st, &err), 0);
	write_one(st, "host.a", 1);
	assert_int_equal(lf_state_check_writable(st, &err), 0);
	assert_int_equal(count_temps(f->dir), 0);
	assert_false(lf_path_exists(f->backup));
	lf_state_free(st);
	/* a missing directory is made, as the first write would */
	st = open_file(sub);
	assert_int_equal(lf_state_check_writable(st, &err), 0);
	lf_state_free(st);
	/* a "directory" that is a file */
	file_dir = lf_xasprintf("%s/s.json/x.json", f->dir);
	st = open_file(file_dir);
	assert_int_equal(lf_state_check_writable(st, &err), LF_ERROR);
	assert_contains(err.msg, "state file '");
	assert_contains(err.msg, "cannot be written");
	lf_state_free(st);
	/* a directory this user cannot write */
	assert_int_equal(chmod(f->dir, 0755), 0);
	if (geteuid() != 0) {
		assert_int_equal(chmod(f->dir, 0555), 0);
		st = open_file(f->path);
		lf_err_clear(&err);
		assert_int_equal(lf_state_check_writable(st, &err), LF_ERROR);
		snprintf(msg, sizeof(msg), "%s", err.msg);
		lf_state_free(st);
		assert_int_equal(chmod(f->dir, 0700), 0);
	} else {
		assert_int_equal(probe_as_nobody(f->path, msg, sizeof(msg)), 1);
	}
	assert_contains(msg, "cannot be written: cannot create '");
	assert_contains(msg, "Permission denied");
	assert_contains(msg, f->path);
	free(sub);
	free(file_dir);
}

/* ---- locking ---- */

static void test_state_lock_in_process(void **state)
{
	struct fx *f = *state;
	struct lf_state *a = open_file(f->path), *b = open_file(f->path);
	struct lf_err err = LF_ERR_INIT;
	char *pid = lf_xasprintf("is locked by pid %ld (", (long)getpid());
	struct stat sb;

	assert_int_equal(lf_state_lock(a, 0, "plan", &err), 0);
	assert_int_equal(lf_state_lock(a, 0, "plan", &err), 0); /* held: no-op */
	assert_int_equal(lf_state_lock(b, 0.2, "apply", &err), LF_ECONFLICT);
	assert_contains(err.msg, f->path);
	assert_contains(err.msg, pid);
	assert_contains(err.msg, ", plan, since 20");
	assert_contains(err.msg, "Z); waited 0.2s; retry later or pass --lock-timeout");
	assert_int_equal(lf_state_unlock(a, &err), 0);
	assert_int_equal(stat(f->lock, &sb), 0);
	assert_int_equal(sb.st_size, 0); /* holder record cleared */
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(b, 0, "apply", &err), 0);
	assert_int_equal(lf_state_lock(a, -1, "x", &err), LF_EINVALID);
	lf_state_free(b); /* free releases the lock */
	assert_int_equal(lf_state_lock(a, 0, "apply", NULL), 0);
	free(pid);
	lf_state_free(a);
}

static void test_state_lock_holder_unknown(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_err err = LF_ERR_INIT;
	int fd = open(f->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	/* a holder that has not written its record yet */
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(lf_state_lock(st, 0, "plan", &err), LF_ECONFLICT);
	assert_contains(err.msg, "is locked by another process (it has not recorded itself yet)");
	close(fd);
	assert_int_equal(lf_state_lock(st, 0, "plan", NULL), 0);
	lf_state_free(st);
}

/* a child process holding the lock as "apply" until told to let go */
struct holder_proc {
	pid_t pid;
	int go;   /* write a byte here: the child unlocks and exits */
};

static struct holder_proc spawn_holder(const char *path)
{
	int up[2], down[2];
	struct holder_proc h;
	char c;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	h.pid = fork();
	assert_true(h.pid >= 0);
	if (h.pid == 0) {
		struct lf_state *st = NULL;

		close(up[0]);
		close(down[1]);
		if (lf_state_file_new(&st, path, NULL) != 0 ||
		    lf_state_lock(st, 0, "apply", NULL) != 0)
			_exit(2);
		if (write(up[1], "L", 1) != 1)
			_exit(3);
		/* hold until the parent writes or goes away */
		if (read(down[0], &c, 1) < 0)
			_exit(4);
		lf_state_free(st);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	close(up[0]);
	h.go = down[1];
	return h;
}

static void release_holder(struct holder_proc *h)
{
	int status;

	assert_int_equal(write(h->go, "U", 1), 1);
	close(h->go);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_state_lock_two_processes(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_err err = LF_ERR_INIT;
	struct holder_proc h = spawn_holder(f->path);
	char *who = lf_xasprintf("is locked by pid %ld (", (long)h.pid);

	assert_int_equal(lf_state_lock(st, 0, "plan", &err), LF_ECONFLICT);
	assert_contains(err.msg, who);
	assert_contains(err.msg, ", apply, since ");
	assert_contains(err.msg, "waited 0s");
	/* the holder lets go: the lock is free at once, no stale lock */
	release_holder(&h);
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(st, 0, "plan", &err), 0);
	free(who);
	lf_state_free(st);
}

static void test_state_lock_dead_holder(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct holder_proc h = spawn_holder(f->path);
	int status;

	assert_int_equal(lf_state_lock(st, 0, "plan", NULL), LF_ECONFLICT);
	kill(h.pid, SIGKILL);
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
	close(h.go);
	/* the kernel dropped the dead holder's flock: no stale lock */
	assert_int_equal(lf_state_lock(st, 0, "plan", NULL), 0);
	lf_state_free(st);
}


static void assert_is_symlink(const char *path)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
}

/* one state file, three names (itself, a symlink, a symlinked dir): one
 * lock, and writes through the symlink land in the file itself */
static void test_state_lock_follows_symlink(void **state)
{
	struct fx *f = *state;
	char *link = lf_xasprintf("%s/link.json", f->dir);
	char *d2 = lf_xasprintf("%s/d2", f->dir), *via_dir = lf_path_join(d2, "s.json");
	char *link_lock = lf_xasprintf("%s.lock", link);
	struct lf_state *a, *b, *c;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(symlink("s.json", link), 0);
	assert_int_equal(symlink(".", d2), 0);
	a = open_file(link);
	b = open_file(f->path);
	c = open_file(via_dir);
	/* before the file exists (a dangling symlink) */
	assert_int_equal(lf_state_lock(a, 0, "apply", &err), 0);
	assert_int_equal(lf_state_lock(b, 0, "plan", &err), LF_ECONFLICT);
	assert_contains(err.msg, ", apply, since ");
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(c, 0, "plan", &err), LF_ECONFLICT);
	assert_false(lf_path_exists(link_lock));
	assert_int_equal(write_one(a, "host.a", 1), 1);
	assert_int_equal(write_one(a, "host.b", 2), 2);
	assert_is_symlink(link);
	assert_true(lf_path_exists(f->backup));
	assert_int_equal(check_complete(f->path, 2, 0), 2);
	/* and after it exists */
	assert_int_equal(lf_state_unlock(a, &err), 0);
	assert_int_equal(lf_state_lock(c, 0, "plan", &err), 0);
	assert_int_equal(lf_state_lock(a, 0, "apply", &err), LF_ECONFLICT);
	assert_int_equal(write_one(c, "host.c", 3), 3);
	assert_is_symlink(link);
	assert_false(lf_path_exists(link_lock));
	lf_state_free(a);
	lf_state_free(b);
	lf_state_free(c);
	free(link);
	free(link_lock);
	free(d2);
	free(via_dir);
}

/* a planted symlink, a directory or another user's file as the lock file
 * is refused; the symlink's target is untouched */
static void test_state_lock_file_refused(void **state)
{
	struct fx *f = *state;
	char *victim = lf_xasprintf("%s/victim", f->dir), *text;
	struct lf_state *st = open_file(f->path);
	struct lf_err err = LF_ERR_INIT;

	put(victim, "precious\n");
	assert_int_equal(symlink(victim, f->lock), 0);
	assert_int_equal(lf_state_lock(st, 0, "plan", &err), LF_EINVALID);
	assert_contains(err.msg, "is a symbolic link; refusing to use it");
	assert_contains(err.msg, f->lock);
	text = slurp(victim, NULL);
	assert_string_equal(text, "precious\n");
	free(text);
	assert_int_equal(unlink(f->lock), 0);
	assert_int_equal(mkdir(f->lock, 0700), 0);
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(st, 0, "plan", &err), LF_EINVALID);
	assert_contains(err.msg, "is not a regular file; refusing to use it");
	assert_int_equal(rmdir(f->lock), 0);
	if (geteuid() == 0) {
		put(f->lock, "");
		assert_int_equal(chown(f->lock, 12345, 12345), 0);
		lf_err_clear(&err);
		assert_int_equal(lf_state_lock(st, 0, "plan", &err), LF_EINVALID);
		assert_contains(err.msg, "is owned by uid 12345, not by this user (uid 0)");
		assert_int_equal(unlink(f->lock), 0);
	}
	assert_int_equal(lf_state_lock(st, 0, "plan", &err), 0);
	lf_state_free(st);
	free(victim);
}

/* ---- interface v2 ---- */

static json_t *read_resources(struct lf_state *st, struct lf_state_version *ver)
{
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	json_t *res;

	if (lf_state_read(st, &doc, &err) != 0)
		fail_msg("read failed: %s", err.msg);
	res = json_incref(doc.resources);
	if (ver) {
		memcpy(ver->lineage, doc.lineage, sizeof(ver->lineage));
		ver->serial = doc.serial;
	}
	lf_state_doc_clear(&doc);
	return res;
}

/* puts, deletes and the serial in one commit; the file is the same bytes
 * a v1 write makes */
static void test_state_v2_commit_batch(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version ver = { "", 0 };
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	json_t *rec = resource("host", 1), *rec2 = resource("host", 2), *res;
	struct lf_state *other;
	char *v2 = NULL, *v3 = NULL, *p;
	size_t l2, l3, off;

	lf_state_batch_put(&b, "host.a", rec);
	lf_state_batch_put(&b, "host.b", rec);
	assert_int_equal(lf_state_commit(st, &b, &ver, &err), 0);
	assert_int_equal(ver.serial, 1);
	assert_int_equal(strlen(ver.lineage), 36);
	lf_state_batch_clear(&b);
	lf_state_batch_put(&b, "host.c", rec);
	lf_state_batch_delete(&b, "host.a");
	lf_state_batch_delete(&b, "host.never");
	lf_state_batch_put(&b, "host.b", rec2);
	assert_int_equal(lf_state_commit(st, &b, &ver, &err), 0);
	assert_int_equal(ver.serial, 2);
	lf_state_batch_clear(&b);
	other = open_file(f->path);
	res = read_resources(other, NULL);
	lf_state_free(other);
	assert_int_equal(json_object_size(res), 2);
	assert_null(json_object_get(res, "host.a"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
		res, "host.b"), "attrs"), "n")), 2);
	assert_non_null(json_object_get(res, "host.c"));
	json_decref(res);
	/* byte-compatible: a v1 write of what was read differs only in serial */
	assert_int_equal(lf_read_file(f->path, &v2, &l2, NULL), 0);
	assert_int_equal(lf_state_read(st, &doc, &err), 0);
	assert_int_equal(lf_state_write(st, &doc, &err), 0);
	assert_int_equal(lf_read_file(f->path, &v3, &l3, NULL), 0);
	assert_int_equal(l2, l3);
	p = strstr(v2, "\"serial\": 2");
	assert_non_null(p);
	off = (size_t)(p - v2) + 10;
	assert_memory_equal(v2, v3, off);
	assert_int_equal(v3[off], '3');
	assert_memory_equal(v2 + off + 1, v3 + off + 1, l2 - off - 1);
	free(v2);
	free(v3);
	lf_state_doc_clear(&doc);
	json_decref(rec);
	json_decref(rec2);
	lf_state_free(st);
}

/* a commit on a moved serial or lineage writes nothing */
static void test_state_v2_commit_conflict(void **state)
{
	struct fx *f = *state;
	struct lf_state *a = open_file(f->path), *b = open_file(f->path);
	struct lf_state_batch ba = LF_STATE_BATCH_INIT, bb = LF_STATE_BATCH_INIT;
	struct lf_state_version va, vb;
	struct lf_err err = LF_ERR_INIT;
	json_t *rec = resource("host", 1), *res;
	char *before, *bbefore, *after;
	size_t lb, lbb, la;

	write_one(a, "host.a", 1);
	write_one(a, "host.b", 1);
	json_decref(read_resources(a, &va));
	json_decref(read_resources(b, &vb));
	lf_state_batch_put(&ba, "host.x", rec);
	assert_int_equal(lf_state_commit(a, &ba, &va, &err), 0);
	assert_int_equal(va.serial, 3);
	before = slurp(f->path, &lb);
	bbefore = slurp(f->backup, &lbb);
	lf_state_batch_put(&bb, "host.y", rec);
	lf_state_batch_delete(&bb, "host.a");
	assert_int_equal(lf_state_commit(b, &bb, &vb, &err), LF_ECONFLICT);
	assert_contains(err.msg, "is at serial 3 but the state being written was read at serial 2");
	assert_int_equal(vb.serial, 2);
	after = slurp(f->path, &la);
	assert_int_equal(la, lb);
	assert_memory_equal(after, before, lb);
	free(after);
	after = slurp(f->backup, &la);
	assert_int_equal(la, lbb);
	assert_memory_equal(after, bbefore, lbb);
	free(after);
	/* b catches up and commits; a's next commit sees b's change */
	vb.serial = 3;
	assert_int_equal(lf_state_commit(b, &bb, &vb, &err), 0);
	lf_state_batch_clear(&ba);
	lf_state_batch_put(&ba, "host.z", rec);
	assert_int_equal(lf_state_commit(a, &ba, &va, &err), LF_ECONFLICT);
	va.serial = 4;
	assert_int_equal(lf_state_commit(a, &ba, &va, &err), 0);
	res = read_resources(a, NULL);
	assert_null(json_object_get(res, "host.a"));
	assert_non_null(json_object_get(res, "host.y"));
	assert_non_null(json_object_get(res, "host.z"));
	assert_non_null(json_object_get(res, "host.x"));
	json_decref(res);
	/* a lineage from elsewhere conflicts too */
	memcpy(va.lineage, "0123456789abcdef0123456789abcdef0123", 37);
	lf_err_clear(&err);
	assert_int_equal(lf_state_commit(a, &ba, &va, &err), LF_ECONFLICT);
	assert_contains(err.msg, "was replaced since it was read");
	lf_state_batch_clear(&ba);
	lf_state_batch_clear(&bb);
	json_decref(rec);
	free(before);
	free(bbefore);
	lf_state_free(a);
	lf_state_free(b);
}

/* a batch with a bad record or address is refused whole */
static void test_state_v2_commit_refused(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version ver;
	struct lf_err err = LF_ERR_INIT;
	json_t *rec = resource("host", 1), *bad = json_pack("{s:i}", "type", 3), *res;

	write_one(st, "host.a", 1);
	json_decref(read_resources(st, &ver));
	lf_state_batch_delete(&b, "host.a");
	lf_state_batch_put(&b, "host.bad", bad);
	assert_int_equal(lf_state_commit(st, &b, &ver, &err), LF_EINVALID);
	assert_contains(err.msg, "resource 'host.bad' has no string 'type'");
	lf_state_batch_clear(&b);
	lf_state_batch_put(&b, "", rec);
	lf_err_clear(&err);
	assert_int_equal(lf_state_commit(st, &b, &ver, &err), LF_EINVALID);
	assert_contains(err.msg, "resource '' has an empty address");
	assert_int_equal(ver.serial, 1);
	res = read_resources(st, &ver);
	assert_int_equal(ver.serial, 1);
	assert_non_null(json_object_get(res, "host.a"));
	json_decref(res);
	lf_state_batch_clear(&b);
	json_decref(rec);
	json_decref(bad);
	lf_state_free(st);
}

static void test_state_v2_lock_holder(void **state)
{
	struct fx *f = *state;
	struct lf_state *a = open_file(f->path), *b = open_file(f->path);
	struct lf_state_holder me, seen;
	struct lf_err err = LF_ERR_INIT;
	char text[512], *want;

	assert_int_equal(lf_state_holder(b, &seen, &err), LF_ENOTFOUND);
	lf_state_holder_self(&me, "apply");
	assert_int_equal(lf_state_lock_as(a, &me, -1, 0, &err), LF_EINVALID);
	assert_contains(err.msg, "lock lease for state '");
	assert_int_equal(lf_state_lock_as(a, &me, 10, 0, &err), 0);
	assert_int_equal(lf_state_holder(b, &seen, &err), 0);
	assert_int_equal(seen.pid, (long long)getpid());
	assert_string_equal(seen.who, me.who);
	assert_string_equal(seen.where, me.where);
	assert_string_equal(seen.operation, "apply");
	assert_string_equal(seen.since, me.since);
	lf_state_holder_format(&seen, text, sizeof(text));
	want = lf_xasprintf("pid %ld (%s@%s, apply, since %s)", (long)getpid(), me.who,
			    me.where, me.since);
	assert_string_equal(text, want);
	/* the refusal names the holder in the same words */
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock(b, 0, "plan", &err), LF_ECONFLICT);
	assert_contains(err.msg, want);
	assert_int_equal(lf_state_unlock(a, &err), 0);
	assert_int_equal(lf_state_holder(b, &seen, &err), LF_ENOTFOUND);
	/* a holder that has not written its record yet */
	memset(&seen, 0, sizeof(seen));
	lf_state_holder_format(&seen, text, sizeof(text));
	assert_string_equal(text, "another process (it has not recorded itself yet)");
	assert_int_equal(lf_state_holder_from_json(&seen, NULL), LF_EINVALID);
	free(want);
	lf_state_free(a);
	lf_state_free(b);
}

static void test_state_v2_lock_lost(void **state)
{
	struct fx *f = *state;
	struct lf_state *a = open_file(f->path), *b = open_file(f->path);
	struct lf_err err = LF_ERR_INIT;
	char *other = lf_xasprintf("%s/other", f->dir);

	assert_int_equal(lf_state_lock_lost(a, &err), 1);
	assert_contains(err.msg, "is not held");
	assert_int_equal(lf_state_lock(a, 0, "apply", &err), 0);
	lf_err_clear(&err);
	assert_int_equal(lf_state_lock_lost(a, &err), 0);
	assert_string_equal(err.msg, "");
	/* someone removes the lock file: b could now lock a new one */
	assert_int_equal(unlink(f->lock), 0);
	assert_int_equal(lf_state_lock_lost(a, &err), 1);
	assert_contains(err.msg, "was removed or replaced while the lock was held");
	assert_contains(err.msg, f->lock);
	assert_int_equal(lf_state_lock(b, 0, "apply", NULL), 0);
	assert_int_equal(lf_state_lock_lost(a, NULL), 1);
	assert_int_equal(lf_state_lock_lost(b, NULL), 0);
	/* or replaces it */
	put(other, "");
	assert_int_equal(rename(other, f->lock), 0);
	assert_int_equal(lf_state_lock_lost(b, NULL), 1);
	assert_int_equal(lf_state_unlock(a, NULL), 0);
	assert_int_equal(lf_state_lock_lost(a, NULL), 1);
	free(other);
	lf_state_free(a);
	lf_state_free(b);
}

/* ---- crash safety ---- */

static size_t count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp"))
			n++;
	closedir(d);
	return n;
}

static const char *self_exe; /* argv[0], re-executed as a crashing writer */

/* writer mode of this binary: lock, read, add host.crash and drop
 * host.org0.peer0, by a v1 write or (batch) a v2 commit */
static int crash_writer(const char *path, bool batch)
{
	struct lf_state *st = NULL;
	struct lf_state_doc doc;
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version ver;
	json_t *rec = resource("host", 99);
	int rc;

	if (lf_state_file_new(&st, path, NULL) != 0 || lf_state_lock(st, 0, "w", NULL) != 0 ||
	    lf_state_read(st, &doc, NULL) != 0)
		return 2;
	memcpy(ver.lineage, doc.lineage, sizeof(ver.lineage));
	ver.serial = doc.serial;
	json_object_set(doc.resources, "host.crash", rec);
	json_object_del(doc.resources, "host.org0.peer0");
	lf_state_batch_put(&b, "host.crash", rec);
	lf_state_batch_delete(&b, "host.org0.peer0");
	rc = batch ? lf_state_commit(st, &b, &ver, NULL) : lf_state_write(st, &doc, NULL);
	lf_state_batch_clear(&b);
	json_decref(rec);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	return rc == 0 ? 0 : 3;
}

/* run the writer with LEDGERFORM_CRASH_AT=point:1; return its wait status */
static int run_crashing_writer(const char *path, const char *point, bool batch)
{
	char *env = lf_xasprintf("%s:1", point);
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("LEDGERFORM_CRASH_AT", env, 1);
		execl(self_exe, self_exe, batch ? "--crash-committer" : "--crash-writer", path,
		      (char *)NULL);
		_exit(127);
	}
	free(env);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void seed_state(const char *path, int n)
{
	struct lf_state *st = open_file(path);
	struct lf_state_doc doc;
	char addr[64];
	int i;

	assert_int_equal(lf_state_read(st, &doc, NULL), 0);
	for (i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "host.org%d.peer%d", i % 10, i);
		json_object_set_new(doc.resources, addr, resource("host", i));
	}
	assert_int_equal(lf_state_write(st, &doc, NULL), 0);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
}

/* the document at path reads back whole; returns its serial, and checks
 * that host.crash is there exactly when the serial is the new one */
static uint64_t check_complete(const char *path, size_t nres, uint64_t new_serial)
{
	struct lf_state *st = open_file(path);
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	uint64_t serial;

	if (lf_state_read(st, &doc, &err) != 0)
		fail_msg("torn state after SIGKILL: %s", err.msg);
	assert_true(json_object_size(doc.resources) >= nres);
	serial = doc.serial;
	assert_int_equal(json_object_get(doc.resources, "host.crash") != NULL,
			 serial == new_serial);
	if (nres >= 500) /* a seeded document: the writer dropped host.org0.peer0 */
		assert_int_equal(json_object_get(doc.resources, "host.org0.peer0") == NULL,
				 serial == new_serial);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	return serial;
}

struct crash_case {
	const char *point;
	uint64_t serial;   /* the state's serial after the crash: 2 old, 3 new */
	uint64_t backup;   /* the backup's serial after the crash */
};

static const struct crash_case CRASHES[] = {
	{ "state.backup.after_link", 2, 1 },
	{ "state.write.after_backup", 2, 2 },
	{ "state.write.after_temp", 2, 2 },
	{ "state.write.after_fsync", 2, 2 },
	{ "state.write.after_rename", 3, 2 },
	{ "state.write.after_dirsync", 3, 2 },
};

/* a writer (v1 write, then v2 batch commit) killed at each step of a
 * write leaves the old or the new document (and a readable backup), never
 * a torn one; the next lock sweeps its temp files */
static void test_state_crash_at_each_step(void **state)
{
	struct fx *f = *state;
	struct lf_state *st;
	size_t i;
	int status;

	for (i = 0; i < 2 * LF_ARRAY_LEN(CRASHES); i++) {
		const struct crash_case *c = &CRASHES[i % LF_ARRAY_LEN(CRASHES)];
		bool batch = i >= LF_ARRAY_LEN(CRASHES);

		lf_rmtree(f->dir, NULL);
		assert_int_equal(mkdir(f->dir, 0700), 0);
		seed_state(f->path, 500);   /* serial 1 */
		seed_state(f->path, 500);   /* serial 2, backup 1 */
		status = run_crashing_writer(f->path, c->point, batch);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("%s did not die at '%s' (status 0x%x)",
				 batch ? "committer" : "writer", c->point, status);
		assert_int_equal(check_complete(f->path, 500, 3), c->serial);
		assert_int_equal(check_complete(f->backup, 500, 3), c->backup);
		st = open_file(f->path);
		assert_int_equal(lf_state_lock(st, 0, "test", NULL), 0);
		assert_int_equal(count_temps(f->dir), 0);
		lf_state_free(st);
	}
	/* without a crash point the same writer finishes: serial 3 */
	assert_int_equal(run_crashing_writer(f->path, "state.no.such.point", true), 0);
	assert_int_equal(check_complete(f->path, 500, 4), 4);
}

/* ---- speed ---- */

static json_t *big_resource(int i)
{
	char id[32];

	snprintf(id, sizeof(id), "i-%08x", i * 2654435761u);
	return json_pack("{s:s, s:{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:b}, s:s, s:[s], "
			 "s:{s:s, s:s}}",
			 "type", "host", "attrs", "provider", "aws", "size", "small",
			 "image", "ubuntu-22.04", "vcpus", 2, "memory_mb", 4096,
			 "disk_gb", 40, "org", "bank", "public", i % 2, "hash",
			 "3f7a9c1e5b2d4f6a8c0e1b3d5f7a9c1e5b2d4f6a8c0e1b3d5f7a9c1e5b2d4f6a",
			 "deps", "provider.aws", "outputs", "id", id, "address", "10.0.0.1");
}

/* 10,000 resources write and read back whole (timing is in bench/) */
static void test_state_write_10k(void **state)
{
	struct fx *f = *state;
	struct lf_state *st = open_file(f->path);
	struct lf_state_doc doc;
	char addr[64];
	size_t i;

	assert_int_equal(lf_state_read(st, &doc, NULL), 0);
	for (i = 0; i < 10000; i++) {
		snprintf(addr, sizeof(addr), "host.org%zu.peer%zu", i % 50, i);
		json_object_set_new(doc.resources, addr, big_resource((int)i));
	}
	for (i = 0; i < 2; i++) {
		json_object_set_new(doc.resources, "host.org0.peer0", big_resource((int)i));
		assert_int_equal(lf_state_write(st, &doc, NULL), 0);
	}
	lf_state_doc_clear(&doc);
	assert_int_equal(lf_state_read(st, &doc, NULL), 0);
	assert_int_equal(json_object_size(doc.resources), 10000);
	assert_int_equal(doc.serial, 2);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_serial_and_lineage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_backup_is_previous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_corrupt_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_newer_format_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_shape_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_bad_record_not_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_serial_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lineage_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_stale_serial_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_file_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_open_backends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_missing_dir_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_check_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock_in_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock_holder_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock_two_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock_dead_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock_follows_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_lock_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_v2_commit_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_v2_commit_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_v2_commit_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_v2_lock_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_v2_lock_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_crash_at_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_write_10k, setup, teardown),
	};

	if (argc == 3 && strcmp(argv[1], "--crash-writer") == 0)
		return crash_writer(argv[2], false);
	if (argc == 3 && strcmp(argv[1], "--crash-committer") == 0)
		return crash_writer(argv[2], true);
	self_exe = argv[0];

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
