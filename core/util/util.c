/*
 * Shared helpers: error records, checked allocation, strings, atomic file
 * writes, hashing and time. See util.h.
 */
#include "core/util/util.h"
#include "core/util/canon.h"
#include "core/util/crashpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

const char *lf_errcode_name(int code)
{
	switch (code) {
	case LF_OK: return "ok";
	case LF_ENOTFOUND: return "not found";
	case LF_ERETRY: return "transient";
	case LF_ECONFLICT: return "conflict";
	case LF_EAUTH: return "auth";
	case LF_EINVALID: return "invalid";
	case LF_EUNSUPPORTED: return "unsupported";
	case LF_ETIMEOUT: return "timeout";
	case LF_ECANCELED: return "canceled";
	case LF_EXISTS: return "exists";
	case LF_EPENDING: return "waiting for signatures";
	default: return "internal";
	}
}

/* The code is the caller's return value, so it always lands in err; the
 * message is the first one recorded (the most specific), never overwritten.
 * Keeping an old code next to a returned new one would let err->code and
 * the rc the caller sees disagree (retry decisions read err->code). */
static int err_vset(struct lf_err *err, int code, const char *suffix,
		    const char *fmt, va_list ap) LF_PRINTF(4, 0);
static int err_vset(struct lf_err *err, int code, const char *suffix,
		    const char *fmt, va_list ap)
{
	size_t n;

	if (!err)
		return code;
	if (err->code != 0 && err->msg[0] != '\0') {
		err->code = code; /* propagate the message, not the stale code */
		return code;
	}
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (suffix) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", suffix);
	}
	return code;
}

int lf_err_set(struct lf_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int lf_err_sys(struct lf_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	err_vset(err, code, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return code;
}

void lf_err_clear(struct lf_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

static void oom(void)
{
	fputs("ledgerform: out of memory\n", stderr);
	abort();
}

void *lf_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *lf_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *lf_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *lf_xstrdup(const char *s)
{
	return s ? lf_xstrndup(s, strlen(s)) : NULL;
}

char *lf_xstrndup(const char *s, size_t n)
{
	char *p;

	if (!s)
		return NULL;
	p = lf_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *lf_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}

char *lf_xconcat(const char *s, ...)
{
	va_list ap;
	const char *a;
	size_t len = 0, n;
	char *p, *w;

	va_start(ap, s);
	for (a = s; a; a = va_arg(ap, const char *))
		len += strlen(a);
	va_end(ap);
	p = w = lf_xmalloc(len + 1);
	va_start(ap, s);
	for (a = s; a; a = va_arg(ap, const char *)) {
		n = strlen(a);
		memcpy(w, a, n);
		w += n;
	}
	va_end(ap);
	*w = '\0';
	return p;
}

void lf_free_secret(void *p, size_t n)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

bool lf_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

bool lf_str_has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool lf_is_dns_label(const char *s)
{
	size_t n, i;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && !(c == '-' && i > 0 && i + 1 < n))
			return false;
	}
	return true;
}

size_t lf_edit_distance(const char *a, const char *b, size_t max)
{
	size_t la = strlen(a), lb = strlen(b), i, j, best, *row, res;

	if ((la > lb ? la - lb : lb - la) > max)
		return max + 1;
	row = lf_xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = diag + cost;

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > max) {
			free(row);
			return max + 1;
		}
	}
	res = row[lb];
	free(row);
	return res > max ? max + 1 : res;
}

int lf_buf_append(struct lf_buf *b, const void *data, size_t n)
{
	size_t need = b->len + n + 1;

	if (b->max && b->len + n > b->max)
		return LF_ERROR;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < need)
			cap *= 2;
		b->data = lf_xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int lf_buf_printf(struct lf_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	rc = lf_buf_append(b, p, (size_t)n);
	free(p);
	return rc;
}

void lf_buf_free(struct lf_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int lf_mkdirs(const char *path, mode_t mode, struct lf_err *err)
{
	char *p = lf_xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			rc = lf_err_sys(err, LF_ERROR, "cannot create directory '%s'", p);
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

static int fsync_dir(const char *path)
{
	char *dir = lf_path_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc = 0;

	free(dir);
	if (fd < 0)
		return -1;
	if (fsync(fd) != 0)
		rc = -1;
	close(fd);
	return rc;
}

int lf_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, struct lf_err *err)
{
	char *tmp = NULL;
	const char *p = data;
	int fd = -1, rc = LF_ERROR;
	unsigned char rnd[6];

	lf_random(rnd, sizeof(rnd));
	tmp = lf_xasprintf("%s.tmp%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1],
			   rnd[2], rnd[3], rnd[4], rnd[5]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
	if (fd < 0) {
		lf_err_sys(err, LF_ERROR, "cannot create '%s'", tmp);
		goto cleanup;
	}
	if (fchmod(fd, mode & 0777) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot chmod '%s'", tmp);
		goto cleanup;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			lf_err_sys(err, LF_ERROR, "cannot write '%s'", tmp);
			goto cleanup;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot fsync '%s'", tmp);
		goto cleanup;
	}
	if (close(fd) != 0) {
		fd = -1;
		lf_err_sys(err, LF_ERROR, "cannot close '%s'", tmp);
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot rename '%s' to '%s'", tmp, path);
		goto cleanup;
	}
	if (fsync_dir(path) != 0) {
		lf_err_sys(err, LF_ERROR, "cannot fsync directory of '%s'", path);
		free(tmp);
		return LF_ERROR;
	}
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int lf_read_file(const char *path, char **out, size_t *len, struct lf_err *err)
{
	struct lf_buf b = LF_BUF_INIT;
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*out = NULL;
	if (fd < 0)
		return lf_err_sys(err, errno == ENOENT ? LF_ENOTFOUND : LF_ERROR,
				  "cannot open '%s'", path);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			lf_err_sys(err, LF_ERROR, "cannot read '%s'", path);
			close(fd);
			lf_buf_free(&b);
			return LF_ERROR;
		}
		if (r == 0)
			break;
		lf_buf_append(&b, chunk, (size_t)r);
	}
	close(fd);
	if (!b.data)
		b.data = lf_xcalloc(1, 1);
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

/* remove the entries of directory path; a concurrent remover may race us:
 * what vanished under us is fine */
static int rmtree_entries(const char *path, struct lf_err *err)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 :
		       lf_err_sys(err, LF_ERROR, "cannot open directory '%s'", path);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *child;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		child = lf_path_join(path, e->d_name);
		rc = lf_rmtree(child, err);
		free(child);
	}
	closedir(d);
	return rc;
}

int lf_rmtree(const char *path, struct lf_err *err)
{
	struct stat st;
	int rc, tries;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : lf_err_sys(err, LF_ERROR, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		lf_crash_point("util.rmtree.unlink");
		if (unlink(path) != 0 && errno != ENOENT)
			return lf_err_sys(err, LF_ERROR, "cannot remove '%s'", path);
		return 0;
	}
	/* another thread removing the same tree can leave entries our
	 * listing missed: list again when the directory is not yet empty */
	for (tries = 0; tries < 5; tries++) {
		rc = rmtree_entries(path, err);
		if (rc != 0)
			return rc;
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY && errno != EEXIST)
			break;
	}
	return lf_err_sys(err, LF_ERROR, "cannot remove directory '%s'", path);
}

bool lf_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *lf_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la == 0)
		return lf_xstrdup(b);
	if (b[0] == '/')
		return lf_xstrdup(b);
	if (a[la - 1] == '/')
		return lf_xasprintf("%s%s", a, b);
	return lf_xasprintf("%s/%s", a, b);
}

char *lf_path_dirname(const char *path)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return lf_xstrdup(".");
	if (s == path)
		return lf_xstrdup("/");
	return lf_xstrndup(path, (size_t)(s - path));
}

void lf_sha256(const void *data, size_t len, uint8_t out[32])
{
	if (EVP_Digest(data, len, out, NULL, lf_sha256_md(), NULL) != 1)
		abort(); /* out of memory: the digest itself cannot fail */
}

void lf_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[32];
	size_t i;

	lf_sha256(data, len, h);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[64] = '\0';
}

int lf_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t chunk;

	/* callers use these bytes for key serials, nonces and temp names: a
	 * failed OS RNG must stop the process, never hand back stale bytes */
	while (n > 0) {
		chunk = n > 1u << 20 ? 1u << 20 : n;
		if (RAND_bytes(p, (int)chunk) != 1) {
			fputs("ledgerform: the random number generator failed\n", stderr);
			abort();
		}
		p += chunk;
		n -= chunk;
	}
	return 0;
}

int lf_uuid4(char out[37])
{
	uint8_t b[16];

	if (lf_random(b, sizeof(b)) != 0)
		return LF_ERROR;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

uint64_t lf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

double lf_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lf_sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void lf_heap_prepare(size_t expect)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
	const uintptr_t huge = 2u << 20;
	int pad = expect < (size_t)INT_MAX ? (int)expect : INT_MAX;
	char *before, *after;
	void *blocks[64];
	size_t n;
	uintptr_t from, to;

	/* what is free at the heap's top goes back first, so that the heap
	 * grows where the advice below covers */
	malloc_trim(0);
	/* one arena: the threads' blocks come from the same heap */
	mallopt(M_ARENA_MAX, 1);
	/* grow by pad at the next extension and never shrink; blocks up to
	 * 32 MiB (a state file's text) from the heap rather than mmap */
	mallopt(M_TOP_PAD, pad);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	/* blocks of 1 MiB until the heap grows (its top may have room) */
	before = after = sbrk(0);
	for (n = 0; n < LF_ARRAY_LEN(blocks) && after == before; n++) {
		blocks[n] = malloc(1 << 20);
		after = sbrk(0);
	}
	while (n > 0)
		free(blocks[--n]);
	after = sbrk(0);
	if (before == (char *)-1 || after == (char *)-1 || after <= before)
		return; /* not a brk heap (valgrind, sanitizers): as it is */
	from = ((uintptr_t)before + huge - 1) & ~(huge - 1);
	to = (uintptr_t)after & ~(huge - 1);
	if (to > from)
		madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
	(void)expect;
#endif
}
