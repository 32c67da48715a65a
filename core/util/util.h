/*
 * Small shared helpers: error records, allocation that aborts on OOM,
 * strings, files written atomically, directories, hashing, time.
 */
#ifndef LF_UTIL_H
#define LF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ledgerform/error.h"

#define LF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LF_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Fill err (may be NULL) and return code. err->code always becomes code
 * (the caller's rc and err agree); an existing message is kept (propagate,
 * never overwrite). */
int lf_err_set(struct lf_err *err, int code, const char *fmt, ...) LF_PRINTF(3, 4);
/* like lf_err_set, appending ": strerror(errno)" */
int lf_err_sys(struct lf_err *err, int code, const char *fmt, ...) LF_PRINTF(3, 4);
void lf_err_clear(struct lf_err *err);

/* allocation: abort with a message on OOM (the CLI cannot recover) */
void *lf_xmalloc(size_t n);
void *lf_xcalloc(size_t n, size_t size);
void *lf_xrealloc(void *p, size_t n);
char *lf_xstrdup(const char *s);          /* NULL in, NULL out */
char *lf_xstrndup(const char *s, size_t n);
char *lf_xasprintf(const char *fmt, ...) LF_PRINTF(1, 2);
/* the strings up to a NULL, joined: lf_xconcat("host.", org, ".", name, NULL)
 * (no format to parse: for the many addresses of a large expansion) */
char *lf_xconcat(const char *s, ...) __attribute__((sentinel));
/* wipe then free (secrets) */
void lf_free_secret(void *p, size_t n);

bool lf_streq(const char *a, const char *b);    /* NULL-safe */
bool lf_str_has_prefix(const char *s, const char *prefix);
/* DNS label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])? (lower case only) */
bool lf_is_dns_label(const char *s);
/* Levenshtein distance, capped at max+1 */
size_t lf_edit_distance(const char *a, const char *b, size_t max);

/* growable byte buffer with a hard maximum (0: none) */
struct lf_buf {
	char *data;
	size_t len, cap, max;
};
#define LF_BUF_INIT { NULL, 0, 0, 0 }
int lf_buf_append(struct lf_buf *b, const void *data, size_t n);
int lf_buf_printf(struct lf_buf *b, const char *fmt, ...) LF_PRINTF(2, 3);
void lf_buf_free(struct lf_buf *b);

/* files */
int lf_mkdirs(const char *path, mode_t mode, struct lf_err *err);
/* write via temp file + fsync + rename + fsync(dir); mode applied before
 * the data is written so a secret is never readable by others */
int lf_write_file_atomic(const char *path, const void *data, size_t len,
			 mode_t mode, struct lf_err *err);
/* read whole file; *out NUL-terminated, caller frees */
int lf_read_file(const char *path, char **out, size_t *len, struct lf_err *err);
/* rm -rf; missing path is success */
int lf_rmtree(const char *path, struct lf_err *err);
bool lf_path_exists(const char *path);
/* join two path parts with one '/' */
char *lf_path_join(const char *a, const char *b);
/* directory part of a path ("." when none) */
char *lf_path_dirname(const char *path);

/* hashing */
void lf_sha256(const void *data, size_t len, uint8_t out[32]);
/* lower-case hex of sha256(data): 64 chars + NUL */
void lf_sha256_hex(const void *data, size_t len, char out[65]);
/* random bytes from the OS / OpenSSL; always 0: when the RNG fails the
 * process aborts with a message (no caller may go on with unset bytes) */
int lf_random(void *buf, size_t n);
/* RFC 4122 version-4 UUID text (36 chars + NUL) */
int lf_uuid4(char out[37]);

/* time */
uint64_t lf_now_ms(void);      /* monotonic */
double lf_now_s(void);         /* monotonic, seconds */
void lf_sleep_ms(uint64_t ms);

/* memory */
/* Before a command builds a large heap (the desired and current sets of
 * a plan or apply): let malloc's heap grow in one step of `expect` bytes
 * of address space that the kernel may back with transparent huge pages
 * (madvise), keep threads on that one heap and never shrink it. Page
 * faults and TLB misses on 4 KiB pages were a third of a 10,000-node
 * plan's time; what is never touched costs nothing. Nothing happens
 * where glibc's malloc or MADV_HUGEPAGE is missing. */
void lf_heap_prepare(size_t expect);

#endif
